// Confusion matrix at the selected checkpoint: cells shaded by count (or by share of the row),
// accuracy, the change since the previous checkpoint, and small multiples of the images in a
// cell on hover (click pins them; click an image to select it). The pinned cell is the state's
// `cell`, so a link (a finding's "cell=true,predicted") pins it too. For a pinned cell off the
// diagonal (true a, predicted b) of a run with unit records: the units with high class means for
// both classes, each opening the unit panel.

import { errorText } from "../../api/client";
import type { ClassPairUnitsResponse, ConfusionResponse } from "../../api/types";
import { toNumber } from "../../api/types";
import { classPairUnitsUrl, confusionDiffUrl, confusionUrl } from "../../api/urls";
import { type Cell, HeatMap, shade } from "../../charts/heatmap";
import type { AppContext } from "../../core/context";
import { currentRun, hasStep, nearestCheckpoint, previousStep, SIDE_B } from "../../core/derived";
import { checkpointGate, Latest } from "../../core/guards";
import { formatNumber, percent } from "../../lib/format";
import { className } from "../../lib/search";
import { UnitPanel } from "../../panels/unit_panel";
import { checkbox, h, replaceChildren, Status } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { thumbnailsFor } from "../../ui/thumbnails";
import { TabView } from "../common";
import { ConfusionAB } from "./ab";

const CSS = `
.dv-confusion-layout { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.dv-examples { flex: 1; min-width: 260px; }
.dv-examples-grid { display: flex; flex-wrap: wrap; gap: 3px; }
.dv-pair-units { margin-top: 8px; }
.dv-pair-units ol { margin: 4px 0; padding-left: 20px; }
.dv-pair-units li { margin: 2px 0; }
.dv-pair-units li.dv-selected button { font-weight: 600; }
`;

const COUNTS: [number, number, number] = [8, 69, 148];
const BETTER: [number, number, number] = [33, 113, 181];
const WORSE: [number, number, number] = [203, 24, 29];

/** Row shares of a count matrix (a row without images stays 0). */
export function rowShares(counts: readonly (readonly number[])[]): number[][] {
  return counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((value) => (total ? value / total : 0));
  });
}

/** How a cell's value is written: a count, a share with two decimals, a signed change. */
export function cellText(value: number, share: boolean, delta: boolean): string {
  const body = share ? Math.abs(value).toFixed(2) : String(Math.abs(Math.round(value)));
  if (!delta) return share ? value.toFixed(2) : String(Math.round(value));
  if (body === "0" || body === "0.00") return body;
  return `${value > 0 ? "+" : "-"}${body}`;
}

interface Loaded {
  run: string;
  current: ConfusionResponse;
  previous: ConfusionResponse | null;
  names: string[];
}

export class ConfusionView extends TabView {
  private readonly status = new Status();
  private readonly matrix: HeatMap;
  private readonly accuracy: HTMLElement;
  private readonly rowNormalize: HTMLInputElement;
  private readonly delta: HTMLInputElement;
  private readonly examples: HTMLElement;
  private readonly pairs: HTMLElement;
  private readonly unitPanel: UnitPanel;
  private readonly ab: ConfusionAB;
  private readonly loads = new Latest();
  private readonly pairLoads = new Latest();
  private pairsKey = "";
  private data: Loaded | null = null;
  private hovered: Cell | null = null;
  private examplesKey = "";

  constructor(ctx: AppContext, root: HTMLElement) {
    super(ctx, root);
    ensureStyles("confusion", CSS);
    const { store } = ctx;
    const state = store.get();
    const rowNormalize = checkbox("confusion-row-normalize", "normalize rows", state.rowNormalize, (checked) =>
      store.set({ rowNormalize: checked }),
    );
    const delta = checkbox("confusion-delta", "change since previous checkpoint", state.delta, (checked) =>
      store.set({ delta: checked }),
    );
    this.rowNormalize = rowNormalize.input;
    this.delta = delta.input;
    this.accuracy = h("span", { testid: "confusion-accuracy", class: "dv-accuracy" });
    this.examples = h("div", {
      testid: "confusion-examples",
      class: "dv-examples dv-panel",
      attrs: { "aria-live": "polite" },
    });
    this.pairs = h("div", {
      testid: "confusion-pair-units",
      class: "dv-pair-units dv-panel",
      attrs: { "aria-live": "polite" },
    });
    this.pairs.hidden = true;
    const matrixBox = h(
      "div",
      {},
      h("div", { class: "dv-small dv-muted", text: "rows: true class · columns: predicted class" }),
    );
    this.matrix = new HeatMap(matrixBox, {
      testid: "confusion-matrix",
      cellTestid: "confusion-cell",
      ariaLabel: "Confusion matrix",
      rowAttribute: "data-true",
      columnAttribute: "data-pred",
      onHover: (cell) => {
        this.hovered = cell;
        if (!this.pinned) this.renderExamples();
      },
      onClick: (cell) => {
        const same = this.pinned && this.pinned.row === cell.row && this.pinned.column === cell.column;
        this.pin(same ? null : cell);
      },
    });
    const side = h("div", { class: "dv-examples" }, this.examples, this.pairs);
    this.ab = new ConfusionAB(ctx, () => this.renderMatrix());
    root.append(
      h("div", { class: "dv-toolbar" }, this.accuracy, rowNormalize.label, delta.label, this.ab.toggle),
      this.status.element,
      h("div", { class: "dv-confusion-layout" }, matrixBox, this.ab.side, side),
      this.ab.below,
    );
    this.unitPanel = new UnitPanel(root, ctx, { hideWhenNone: true });
    this.watchFrame(["runs", "run", "step", "loaded", "delta"], () => this.load());
    this.watch(["rowNormalize"], () => this.renderMatrix());
    this.watchFrame(["runs", "run", "step", "loaded", "runB", "stepB"], () => this.ab.load());
    store.subscribe(
      (s) => {
        this.rowNormalize.checked = s.rowNormalize;
        this.delta.checked = s.delta;
      },
      ["rowNormalize", "delta"],
    );
    // Another run's matrix: unpin, unless what changed the run pinned a cell of the new one (a link).
    let shownRun = store.get().run;
    store.subscribe(
      (s, changed) => {
        this.hovered = null;
        if (shownRun !== null && !changed.has("cell") && s.cell !== null) store.set({ cell: null });
        shownRun = s.run;
      },
      ["run"],
    );
    this.watch(["cell"], () => this.showPinned());
    this.watch(["layer", "unit"], () => this.markPairs());
    ctx.prefetcher.register((step) => {
      const run = currentRun(store.get());
      if (!this.active || !run || !hasStep(run, "confusion", step)) return [];
      const items = [{ kind: "json" as const, url: confusionUrl(run.run, step) }];
      const state = store.get();
      const runB = SIDE_B.run(state);
      // A/B with B following A's step: B minus A at the next checkpoint too.
      const stepB = state.stepB ?? (runB ? nearestCheckpoint(runB.checkpoints, step) : null);
      if (runB && stepB !== null && hasStep(runB, "confusion", stepB))
        items.push({ kind: "json", url: confusionDiffUrl(run.run, step, runB.run, stepB) });
      const pair = this.pinned;
      if (pair && pair.row !== pair.column && hasStep(run, "units", step))
        items.push({ kind: "json", url: classPairUnitsUrl(run.run, step, pair.row, pair.column) });
      return items;
    });
  }

  protected override activeChanged(active: boolean): void {
    super.activeChanged(active);
    this.unitPanel.setActive(active);
  }

  protected refresh(): void {
    void this.load();
    void this.ab.load();
  }

  /** The pinned cell (the state's `cell`: true class, predicted class), or null. */
  private get pinned(): Cell | null {
    const cell = this.store.get().cell;
    return cell ? { row: cell[0], column: cell[1] } : null;
  }

  private pin(cell: Cell | null): void {
    this.store.set({ cell: cell ? [cell.row, cell.column] : null });
  }

  private showPinned(): void {
    const cell = this.pinned;
    this.matrix.mark("dv-cell-pinned", cell ? [cell] : []);
    this.renderExamples();
    void this.renderPairs();
  }

  /**
   * The units (of every layer) with high class means for both classes of the pinned cell off the
   * diagonal: the true class and the one it is mistaken for. Each opens the unit panel.
   */
  private async renderPairs(): Promise<void> {
    const current = this.pairLoads.start();
    const data = this.data;
    const cell = this.pinned;
    const run = currentRun(this.store.get());
    const step = data?.current.step ?? null;
    const hide = () => {
      this.pairsKey = "";
      this.pairs.hidden = true;
      replaceChildren(this.pairs);
    };
    if (!data || !cell || cell.row === cell.column || !run?.kinds.includes("units") || step === null) return hide();
    if (!hasStep(run, "units", step)) return hide();
    const { row: a, column: b } = cell;
    const key = `${data.run}|${step}|${a}|${b}`;
    if (key === this.pairsKey) return;
    const names = data.names;
    const heading = h("strong", {
      text: `Units active for both true ${className(names, a)} and predicted ${className(names, b)}`,
    });
    const note = h("div", {
      class: "dv-small dv-muted",
      text: "Mean rectified output for each class, and how much more than the unit's average over all classes (a unit that responds to both may carry what the two share).",
    });
    this.pairs.hidden = false;
    if (!this.pairsKey) replaceChildren(this.pairs, heading, h("div", { class: "dv-muted", text: "Loading…" }));
    let answer: ClassPairUnitsResponse;
    try {
      answer = await this.ctx.api.classPairUnits(data.run, step, a, b);
    } catch (error) {
      if (!current()) return;
      this.pairsKey = "";
      replaceChildren(this.pairs, heading, h("div", { class: "dv-status-error", text: errorText(error) }));
      return;
    }
    if (!current()) return;
    this.pairsKey = key;
    const items = answer.units.map((unit) =>
      h(
        "li",
        { attrs: { "data-layer": unit.layer, "data-unit": unit.unit } },
        h("button", {
          testid: "pair-unit",
          class: "dv-link",
          text: `${unit.layer} · unit ${unit.unit}`,
          title: "Open this unit's panel",
          attrs: { type: "button", "data-layer": unit.layer, "data-unit": unit.unit },
          on: {
            click: () => {
              const state = this.store.get();
              this.store.set(
                state.layer === unit.layer ? { unit: unit.unit } : { layer: unit.layer, filter: null, unit: unit.unit },
              );
            },
          },
        }),
        h("span", {
          class: "dv-small",
          text: ` · ${className(names, a)} ${formatNumber(toNumber(unit.mean_a), 3)}, ${className(names, b)} ${formatNumber(toNumber(unit.mean_b), 3)} · ×${formatNumber(toNumber(unit.score), 3)} its average`,
        }),
      ),
    );
    replaceChildren(
      this.pairs,
      heading,
      items.length
        ? h("ol", {}, ...items)
        : h("div", {
            class: "dv-muted",
            text: `No unit responds to both more than to its average class at step ${answer.step}.`,
          }),
      items.length ? note : null,
    );
    this.markPairs();
  }

  private markPairs(): void {
    const { layer, unit } = this.store.get();
    for (const item of Array.from(this.pairs.querySelectorAll("li"))) {
      item.classList.toggle(
        "dv-selected",
        item.getAttribute("data-layer") === layer && item.getAttribute("data-unit") === String(unit),
      );
    }
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const { store, api } = this.ctx;
    const state = store.get();
    const empty = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.data = null;
      this.status.set(kind, text);
      this.matrix.clear();
      this.accuracy.textContent = "";
      this.renderExamples();
      void this.renderPairs();
    };
    const gate = checkpointGate(state, "confusion", "confusion matrix");
    if (!gate.ok) return empty(gate.text, gate.state);
    const { run, step } = gate;
    const before = state.delta ? previousStep(run, "confusion", step) : null;
    if (!this.data) this.status.set("loading", `Loading the confusion matrix at step ${step}…`);
    try {
      const [matrix, previous, corpus] = await Promise.all([
        api.confusion(run.run, step),
        before === null ? Promise.resolve(null) : api.confusion(run.run, before),
        run.kinds.includes("corpus") ? api.corpus(run.run).catch(() => null) : Promise.resolve(null),
      ]);
      if (!current()) return;
      const names = corpus?.class_names?.length ? corpus.class_names : run.class_names;
      this.data = { run: run.run, current: matrix, previous, names };
    } catch (error) {
      if (current()) empty(`Could not load the confusion matrix: ${errorText(error)}`, "error");
      return;
    }
    this.renderMatrix();
    this.renderExamples();
    void this.renderPairs();
  }

  private renderMatrix(): void {
    const state = this.store.get();
    const data = this.data;
    if (!data) {
      this.ab.render(state.rowNormalize, 0, currentRun(state)?.class_names ?? []);
      return;
    }
    const { current, previous, names } = data;
    const classes = current.counts.length;
    const share = state.rowNormalize;
    const showDelta = state.delta && previous !== null && previous.counts.length === classes;
    const values = share ? rowShares(current.counts) : current.counts.map((row) => [...row]);
    const before = showDelta && previous ? (share ? rowShares(previous.counts) : previous.counts) : null;
    const shown = before ? values.map((row, t) => row.map((value, p) => value - before[t][p])) : values;
    const total = current.counts.flat().reduce((a, b) => a + b, 0);
    let scale = 0;
    for (const row of shown) for (const value of row) scale = Math.max(scale, Math.abs(value));
    // A/B: one colour scale for A's and B's matrices (not for the change since the previous checkpoint).
    if (!before && this.ab.on) scale = Math.max(scale, this.ab.maximum(share));
    const headings = (prefix: string) =>
      current.counts.map((_, i) => ({ label: className(names, i), title: `${prefix} ${className(names, i)}` }));

    this.matrix.draw({
      rows: headings("true"),
      columns: headings("predicted"),
      cell: (t, p) => {
        const value = shown[t][p];
        const magnitude = scale ? Math.abs(value) / scale : 0;
        const good = t === p ? value > 0 : value < 0;
        const { background, dark } = shade(before ? (good ? BETTER : WORSE) : COUNTS, magnitude);
        const count = current.counts[t][p];
        return {
          text: cellText(value, share, Boolean(before)),
          background,
          dark,
          title: `true ${className(names, t)}, predicted ${className(names, p)}: ${count} image${count === 1 ? "" : "s"}${share ? ` (${percent(values[t][p])} of the row)` : ""}${before ? `; change ${cellText(value, share, true)} since step ${previous?.step}` : ""}`,
          className: t === p ? "dv-cell-diagonal" : undefined,
          attrs: { "data-count": count },
        };
      },
    });
    this.matrix.mark("dv-cell-pinned", this.pinned ? [this.pinned] : []);
    const accuracy = current.accuracy;
    let accuracyText = `accuracy ${percent(accuracy)} at step ${current.step}`;
    if (previous && previous.accuracy !== null && accuracy !== null && state.delta) {
      const change = (accuracy - previous.accuracy) * 100;
      accuracyText += ` (${change >= 0 ? "+" : "-"}${Math.abs(change).toFixed(1)} points since step ${previous.step})`;
    }
    this.accuracy.textContent = accuracyText;
    const notes: string[] = [`${total} eval images, ${classes} classes, step ${current.step}`];
    if (state.delta && !previous) notes.push("no earlier checkpoint to compare with, so counts are shown");
    else if (before) notes.push(`change since step ${previous?.step}: blue better, red worse`);
    this.status.set("ready", notes.join(" · "));
    this.ab.render(share, before ? 0 : scale, names);
  }

  private renderExamples(): void {
    const data = this.data;
    const cell = this.pinned ?? this.hovered;
    const thumbnails = thumbnailsFor(this.ctx, currentRun(this.store.get()));
    const classes = data?.current.counts.length ?? 0;
    if (!data || !cell || cell.row >= classes || cell.column >= classes) {
      const key = data ? "hint" : "none";
      if (this.examplesKey === key) return;
      this.examplesKey = key;
      replaceChildren(
        this.examples,
        h("div", {
          class: "dv-muted",
          text: data ? "Point at a cell to see its images; click a cell to pin them." : "",
        }),
      );
      return;
    }
    const { row: t, column: p } = cell;
    const images = data.current.cell_images[t]?.[p] ?? [];
    const count = data.current.counts[t][p];
    const key = `${data.run}|${data.current.step}|${t}|${p}|${this.pinned ? "pinned" : "hover"}`;
    if (key === this.examplesKey) return;
    this.examplesKey = key;
    const heading = `true ${className(data.names, t)} → predicted ${className(data.names, p)}: ${count} image${count === 1 ? "" : "s"}${images.length < count ? ` (showing ${images.length})` : ""}`;
    const grid = h("div", { class: "dv-examples-grid" });
    if (thumbnails) {
      for (const index of images) {
        if (index >= thumbnails.count) continue;
        const canvas = thumbnails.canvas(index, 48, {
          testid: "confusion-example",
          title: `image #${index}; click to select it`,
        });
        canvas.addEventListener("click", () => this.store.set({ image: index }));
        grid.appendChild(canvas);
      }
    }
    replaceChildren(
      this.examples,
      h(
        "div",
        { class: "dv-toolbar" },
        h("strong", { text: heading }),
        this.pinned
          ? h("button", {
              class: "dv-link",
              text: "unpin",
              attrs: { type: "button" },
              on: { click: () => this.pin(null) },
            })
          : h("span", { class: "dv-small dv-muted", text: "click the cell to pin" }),
      ),
      images.length ? grid : h("div", { class: "dv-muted", text: "No images in this cell." }),
      thumbnails ? null : h("div", { class: "dv-muted", text: "This run logged no thumbnails." }),
    );
  }
}
