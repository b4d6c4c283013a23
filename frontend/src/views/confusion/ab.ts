// The Confusion view's A/B mode: B's matrix beside A's (one colour scale for both), B minus A
// as a heat map (counts, or row shares when rows are normalized) with both accuracies, and the
// eval images whose correctness flipped, each selecting the image on click. B is the state's
// `runB` (A's run or another over the same eval set) at `stepB`, or at A's step when `stepB` is
// null; the picker sets them. Two runs over different eval sets answer a 4xx, shown as status.

import { errorText } from "../../api/client";
import type { ConfusionDiffResponse, Kind } from "../../api/types";
import { toNumber } from "../../api/types";
import { HeatMap, shade } from "../../charts/heatmap";
import type { AppContext } from "../../core/context";
import { currentRun, kindSteps, nearestCheckpoint, previousStep, SIDE_B } from "../../core/derived";
import { Latest } from "../../core/guards";
import type { State } from "../../core/state";
import { percent } from "../../lib/format";
import { className } from "../../lib/search";
import { checkbox, h, replaceChildren, Status, setOptions } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { thumbnailsFor } from "../../ui/thumbnails";
import { ABCells } from "./ab_cells";

const CSS = `
.dv-ab-picker { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.dv-ab-below { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; margin-top: 8px; }
.dv-ab-flips { flex: 1; min-width: 260px; }
.dv-ab-flip-grid { display: flex; flex-wrap: wrap; gap: 3px; margin: 4px 0 8px; }
`;

const COUNTS: [number, number, number] = [8, 69, 148];
const BETTER: [number, number, number] = [33, 113, 181];
const WORSE: [number, number, number] = [203, 24, 29];
/** The most thumbnails one flips list shows. */
export const FLIPS_SHOWN = 60;

function shares(counts: readonly (readonly number[])[]): number[][] {
  return counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((value) => (total ? value / total : 0));
  });
}

function largest(values: readonly (readonly number[])[]): number {
  let top = 0;
  for (const row of values) for (const value of row) if (Number.isFinite(value)) top = Math.max(top, Math.abs(value));
  return top;
}

function signed(value: number, share: boolean): string {
  const body = share ? Math.abs(value).toFixed(2) : String(Math.abs(Math.round(value)));
  if (body === "0" || body === "0.00") return body;
  return `${value > 0 ? "+" : "-"}${body}`;
}

/** How a view places the A/B picker. */
export interface BPickerSettings {
  /** The record kind whose runs the run menu offers and whose checkpoints the step menu lists. */
  kind: Kind;
  /** The "compare with B" checkbox's test id. */
  toggleTestid: string;
  /** Before the menus' test ids: `${prefix}ab-run`, `${prefix}ab-step`, `${prefix}ab-same-step`. */
  prefix?: string;
  /**
   * Only B's run matters (a view over every step, such as the training dynamics): no step menu,
   * and turning A/B on picks another run when there is one.
   */
  runOnly?: boolean;
}

/**
 * The A/B mode's picker, one per view (the state's `runB` and `stepB` are shared, so every view
 * shows the same B): a "compare with B" checkbox, and B's run, B's checkpoint and "same step as
 * A". Turning A/B on compares A with its own previous checkpoint (or, with `runOnly`, with another run).
 */
export class BPicker {
  /** The "compare with B" checkbox (for the view's toolbar). */
  readonly toggle: HTMLLabelElement;
  /** "B:" and the menus (hidden while A/B is off). */
  readonly element: HTMLElement;
  private readonly toggleInput: HTMLInputElement;
  private readonly runSelect: HTMLSelectElement;
  private readonly stepSelect: HTMLSelectElement;
  private readonly back: HTMLButtonElement;
  private readonly forward: HTMLButtonElement;
  private readonly sameStep: HTMLInputElement;

  constructor(
    ctx: AppContext,
    private readonly settings: BPickerSettings,
  ) {
    ensureStyles("confusion-ab", CSS);
    const { store } = ctx;
    const { kind, prefix = "" } = settings;
    const state = store.get();
    const toggle = checkbox(settings.toggleTestid, "compare with B", state.runB !== null, (on) => {
      const now = store.get();
      if (!on) store.set({ runB: null, stepB: null });
      else if (settings.runOnly) {
        const other = now.runs.find((run) => run.run !== now.run && run.kinds.includes(kind));
        store.set({ runB: other?.run ?? now.run, stepB: null });
      } else if (now.step !== null)
        store.set({ runB: now.run, stepB: previousStep(currentRun(now), kind, now.step) ?? now.step });
      else store.set({ runB: now.run, stepB: null });
    });
    this.toggle = toggle.label;
    this.toggleInput = toggle.input;
    this.runSelect = h("select", { testid: `${prefix}ab-run`, attrs: { "aria-label": "B's run" } });
    this.runSelect.addEventListener("change", () => {
      const now = store.get();
      const run = now.runs.find((entry) => entry.run === this.runSelect.value);
      if (!run) return;
      const stepB = now.stepB === null ? null : nearestCheckpoint(kindSteps(run, kind), now.stepB);
      store.set({ runB: run.run, stepB });
    });
    this.stepSelect = h("select", { testid: `${prefix}ab-step`, attrs: { "aria-label": "B's checkpoint" } });
    this.stepSelect.addEventListener("change", () => store.set({ stepB: Number(this.stepSelect.value) }));
    const same = checkbox(`${prefix}ab-same-step`, "same step as A", state.stepB === null, (on) =>
      store.set({ stepB: on ? null : SIDE_B.step(store.get()) }),
    );
    this.sameStep = same.input;
    same.label.title =
      "Checked: the timeline moves A and B together. Unchecked: B moves alone (its menu and arrows), A with the timeline.";
    // B alone: one checkpoint back or forward among B's, A staying where the timeline has it.
    const arrow = (name: string, text: string, title: string, delta: number) =>
      h("button", {
        testid: `${prefix}ab-step-${name}`,
        text,
        title,
        attrs: { type: "button" },
        on: {
          click: () => {
            const now = store.get();
            const steps = kindSteps(SIDE_B.run(now), kind);
            const at = steps.indexOf(SIDE_B.step(now) ?? Number.NaN);
            const next = steps[Math.min(steps.length - 1, Math.max(0, at + delta))];
            if (at >= 0 && next !== undefined) store.set({ stepB: next, playing: false });
          },
        },
      });
    this.back = arrow("back", "‹", "B's previous checkpoint (A stays)", -1);
    this.forward = arrow("forward", "›", "B's next checkpoint (A stays)", 1);
    this.element = h(
      "div",
      { class: "dv-ab-picker" },
      h("strong", { text: "B:" }),
      this.runSelect,
      settings.runOnly ? null : this.back,
      settings.runOnly ? null : this.stepSelect,
      settings.runOnly ? null : this.forward,
      settings.runOnly ? null : same.label,
    );
    store.subscribe((s) => this.sync(s), ["runs", "run", "step", "runB", "stepB", "loaded"]);
    this.sync(state);
  }

  private sync(state: Readonly<State>): void {
    const on = state.runB !== null;
    this.toggleInput.checked = on;
    this.element.hidden = !on;
    if (!on) return;
    const { kind } = this.settings;
    const runs = state.runs.filter((run) => run.kinds.includes(kind));
    const runB = state.runB ?? "";
    const runOptions: [string, string][] = runs.map((run) => [run.run, run.run]);
    if (!runs.some((run) => run.run === runB)) runOptions.push([runB, `${runB} (not listed)`]);
    setOptions(this.runSelect, runOptions, runB);
    if (this.settings.runOnly) return;
    const steps = kindSteps(SIDE_B.run(state), kind);
    const stepB = SIDE_B.step(state);
    setOptions(
      this.stepSelect,
      steps.map((step) => [String(step), `step ${step}`]),
      stepB === null ? "" : String(stepB),
    );
    this.sameStep.checked = state.stepB === null;
    this.stepSelect.disabled = state.stepB === null;
    const at = stepB === null ? -1 : steps.indexOf(stepB);
    this.back.disabled = state.stepB === null || at <= 0;
    this.forward.disabled = state.stepB === null || at < 0 || at >= steps.length - 1;
  }
}

export class ConfusionAB {
  /** The "compare with B" checkbox (the view's toolbar). */
  readonly toggle: HTMLLabelElement;
  /** B's picker and matrix (beside A's). */
  readonly side: HTMLElement;
  /** The difference and the flips (under the matrices). */
  readonly below: HTMLElement;
  private readonly status = new Status("confusion-ab-status");
  private readonly matrixB: HeatMap;
  /** Hover read-outs, pinning from B's cells, B's images of the pinned cell, the selected image's predictions. */
  private readonly cells: ABCells;
  private readonly titleB: HTMLElement;
  private readonly diff: HeatMap;
  private readonly accuracy: HTMLElement;
  private readonly flips: HTMLElement;
  private readonly loads = new Latest();
  private data: ConfusionDiffResponse | null = null;
  private key = "";

  constructor(
    private readonly ctx: AppContext,
    /** Called when B's answer arrives or goes (the view redraws A's matrix on the shared scale). */
    private readonly changed: () => void,
  ) {
    ensureStyles("confusion-ab", CSS);
    const picker = new BPicker(ctx, { kind: "confusion", toggleTestid: "confusion-ab-toggle" });
    this.toggle = picker.toggle;
    this.cells = new ABCells(ctx);
    this.titleB = h("div", { class: "dv-small dv-muted" });
    const matrixBox = h("div", { testid: "confusion-b" }, this.titleB);
    this.matrixB = new HeatMap(matrixBox, {
      testid: "confusion-matrix-b",
      cellTestid: "confusion-cell-b",
      ariaLabel: "Confusion matrix of B",
      rowAttribute: "data-true",
      columnAttribute: "data-pred",
      onHover: (cell) => this.cells.hover(cell),
      onClick: (cell) => this.cells.click(cell),
    });
    this.side = h("div", {}, picker.element, matrixBox, this.cells.readout, this.cells.examples);
    this.accuracy = h("div", { testid: "confusion-ab-accuracy", class: "dv-accuracy" });
    const diffBox = h(
      "div",
      {},
      h("strong", { text: "B minus A" }),
      h("div", { class: "dv-small dv-muted", text: "blue: B better · red: B worse" }),
    );
    this.diff = new HeatMap(diffBox, {
      testid: "confusion-diff",
      cellTestid: "confusion-diff-cell",
      ariaLabel: "B minus A",
      rowAttribute: "data-true",
      columnAttribute: "data-pred",
      onHover: (cell) => this.cells.hover(cell),
      onClick: (cell) => this.cells.click(cell),
    });
    this.cells.attach([this.matrixB, this.diff]);
    this.flips = h("div", { testid: "confusion-flips", class: "dv-ab-flips dv-panel" });
    this.below = h(
      "div",
      { testid: "confusion-ab" },
      this.status.element,
      this.accuracy,
      this.cells.image,
      h("div", { class: "dv-ab-below" }, diffBox, this.flips),
    );
    ctx.store.subscribe((s) => this.showSide(s), ["runB"]);
    this.showSide(ctx.store.get());
  }

  /** Whether A/B is on. */
  get on(): boolean {
    return this.ctx.store.get().runB !== null;
  }

  private showSide(state: Readonly<State>): void {
    this.side.hidden = state.runB === null;
    this.below.hidden = state.runB === null;
  }

  /** Load B minus A for the state's selection (nothing when A/B is off). */
  async load(): Promise<void> {
    const current = this.loads.start();
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const runB = SIDE_B.run(state);
    const stepB = SIDE_B.step(state);
    const off = (text: string, kind: "empty" | "error" = "empty") => {
      const had = this.data !== null;
      this.data = null;
      this.key = "";
      this.status.set(kind, text);
      this.matrixB.clear();
      this.diff.clear();
      this.accuracy.textContent = "";
      this.titleB.textContent = "";
      replaceChildren(this.flips);
      this.cells.render(null, false, []);
      if (had) this.changed();
    };
    if (state.runB === null) return off("");
    if (!run || state.step === null) return off("Select A's run and checkpoint.");
    if (!runB) return off(`B's run ${state.runB} is not listed.`);
    if (stepB === null) return off(`B's run ${runB.run} has no checkpoints yet.`);
    const key = `${run.run}|${state.step}|${runB.run}|${stepB}`;
    if (key === this.key && this.data) return;
    if (!this.data) this.status.set("loading", "Loading B minus A…");
    let answer: ConfusionDiffResponse;
    try {
      answer = await this.ctx.api.confusionDiff(run.run, state.step, runB.run, stepB);
    } catch (error) {
      if (current()) off(`Cannot compare A and B: ${errorText(error)}`, "error");
      return;
    }
    if (!current()) return;
    this.data = answer;
    this.key = key;
    this.status.set("ready", `A: ${answer.run} at step ${answer.step} · B: ${answer.run_b} at step ${answer.step_b}`);
    this.changed();
  }

  /** The largest value of B's matrix as shown (counts, or row shares), for the scale shared with A. */
  maximum(share: boolean): number {
    if (!this.data) return 0;
    return largest(share ? shares(this.data.counts_b) : this.data.counts_b);
  }

  /** Draw B's matrix on `scale` (A's and B's largest value), the difference and the flips. */
  render(share: boolean, scale: number, names: readonly string[]): void {
    const data = this.data;
    if (!data || !this.on) return;
    const counts = data.counts_b;
    const values = share ? shares(counts) : counts;
    const top = Math.max(scale, largest(values));
    const headings = (prefix: string) =>
      counts.map((_, i) => ({ label: className(names, i), title: `${prefix} ${className(names, i)}` }));
    this.titleB.textContent = `B: ${data.run_b} at step ${data.step_b} (same colour scale as A)`;
    this.matrixB.draw({
      rows: headings("true"),
      columns: headings("predicted"),
      cell: (t, p) => {
        const value = values[t][p];
        const { background, dark } = shade(COUNTS, top ? Math.abs(value) / top : 0);
        const count = counts[t][p];
        return {
          text: share ? value.toFixed(2) : String(value),
          background,
          dark,
          title: `B: true ${className(names, t)}, predicted ${className(names, p)}: ${count} image${count === 1 ? "" : "s"}`,
          className: t === p ? "dv-cell-diagonal" : undefined,
          attrs: { "data-count": count },
        };
      },
    });
    const diff = share ? data.row_shares_diff.map((row) => row.map(toNumber)) : data.diff;
    const span = largest(diff);
    this.diff.draw({
      rows: headings("true"),
      columns: headings("predicted"),
      cell: (t, p) => {
        const value = diff[t][p];
        const good = t === p ? value > 0 : value < 0;
        const { background, dark } = shade(good ? BETTER : WORSE, span ? Math.abs(value) / span : 0);
        return {
          text: Number.isFinite(value) ? signed(value, share) : "–",
          background,
          dark,
          title: `true ${className(names, t)}, predicted ${className(names, p)}: B minus A ${Number.isFinite(value) ? signed(value, share) : "unknown"}${share ? " of the row" : ""}`,
          className: t === p ? "dv-cell-diagonal" : undefined,
          attrs: { "data-diff": Number.isFinite(value) ? value : "NaN" },
        };
      },
    });
    const { accuracy_a: a, accuracy_b: b } = data;
    let text = `accuracy A ${percent(a)} · B ${percent(b)}`;
    if (a !== null && b !== null) {
      const change = (b - a) * 100;
      text += ` (${change >= 0 ? "+" : "-"}${Math.abs(change).toFixed(1)} points)`;
    }
    this.accuracy.textContent = text;
    this.renderFlips(data);
    this.cells.render(data, share, names);
  }

  private renderFlips(data: ConfusionDiffResponse): void {
    const thumbnails = thumbnailsFor(this.ctx, currentRun(this.ctx.store.get()));
    const list = (testid: string, heading: string, indices: readonly number[]) => {
      const grid = h("div", { class: "dv-ab-flip-grid" });
      if (thumbnails) {
        for (const index of indices.slice(0, FLIPS_SHOWN)) {
          if (index >= thumbnails.count) continue;
          const canvas = thumbnails.canvas(index, 40, {
            testid: "flip-image",
            title: `image #${index}; click to select it`,
          });
          canvas.addEventListener("click", () => this.ctx.store.set({ image: index }));
          grid.appendChild(canvas);
        }
      }
      const shown = indices.length > FLIPS_SHOWN ? ` (showing ${FLIPS_SHOWN})` : "";
      return h(
        "div",
        { testid },
        h("strong", { text: `${heading}: ${indices.length} image${indices.length === 1 ? "" : "s"}${shown}` }),
        indices.length ? grid : null,
      );
    };
    replaceChildren(
      this.flips,
      list("flips-right-to-wrong", "right in A, wrong in B", data.flips.right_to_wrong),
      list("flips-wrong-to-right", "wrong in A, right in B", data.flips.wrong_to_right),
      thumbnails ? null : h("div", { class: "dv-muted", text: "This run logged no thumbnails." }),
    );
  }
}
