// Direct Compare (deepViz): a grid with checkpoints in rows and layers in columns showing the
// chosen filters (or a probe image's activations) of each, as returned by `compare`, or the
// layers' feature visualizations at the rendered checkpoints (the film laid out; built from the
// listing's rendered steps, since the route does not offer them). The row of the selected
// checkpoint (for feature visualizations, of the render it shows) is marked as the timeline moves.
//
// A runs axis (runs x checkpoints x layers): further runs chosen in the form (the state's
// `compareRuns`, so links keep them) add their rows under the selected run's, each group headed by
// its run, from one `compare?runs=` request. A cell of another run opens it as B of the A/B mode.

import { errorText } from "../../api/client";
import type { CompareResponse, RunSummary } from "../../api/types";
import type { AppContext } from "../../core/context";
import { currentRun, featureVisStep, layersWithFeatureVis, SIDE_B } from "../../core/derived";
import { Latest, runGate } from "../../core/guards";
import type { CompareContent, CompareSpec } from "../../core/state";
import { unitsText } from "../../lib/feature_vis";
import { SelectionError } from "../../lib/selection";
import { checkbox, h, replaceChildren, Status, setOptions } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { TabView } from "../common";
import { compareContent, featureVisCompare, type ResolvedCompare } from "./resolve";
import {
  type CompareRunsResponse,
  chosenRuns,
  compareRunsUrl,
  defaultCompareRuns,
  gridRuns,
  type RunGrid,
  resolveCompareRuns,
  runsText,
  splitRuns,
} from "./runs";

/** The form's text fields (what the cells show is a menu). */
type TextField = Exclude<keyof CompareSpec, "content">;

const CONTENT_LABELS: Record<CompareContent, string> = {
  weights: "weights",
  activations: "activations of a probe image",
  feature_vis: "feature visualization",
};

const CSS = `
.dv-compare-form { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: flex-end; }
.dv-compare-form label { display: flex; flex-direction: column; gap: 2px; font-size: 11px; color: var(--dv-muted); }
.dv-compare-form input { width: 150px; }
.dv-compare-grid { border-collapse: collapse; margin-top: 8px; }
.dv-compare-grid th { font-weight: 500; font-size: 11px; color: var(--dv-muted); padding: 4px; text-align: left; }
.dv-compare-grid td { padding: 3px; vertical-align: top; border: 1px solid #eee; }
.dv-compare-grid tr.dv-current th, .dv-compare-grid tr.dv-current td { background: #fff3e0; }
.dv-compare-grid tr.dv-compare-run-row th { color: var(--dv-text, #212121); font-weight: 600; font-size: 12px; padding-top: 8px; border-bottom: 1px solid var(--dv-border); }
.dv-compare-runs { display: flex; flex-wrap: wrap; gap: 2px 10px; align-items: center; max-width: 420px; }
.dv-compare-form .dv-compare-runs label { flex-direction: row; align-items: center; gap: 3px; font-size: 12px; color: inherit; }
.dv-compare-form .dv-compare-runs input { width: auto; }
.dv-compare-cell { image-rendering: pixelated; max-width: 220px; max-height: 220px; display: block; cursor: pointer; background: #404040; }
.dv-compare-cell.dv-compare-fv { min-width: 96px; }
.dv-compare-fv-wrap { position: relative; display: inline-block; line-height: 0; }
.dv-compare-fv-lines { position: absolute; left: 0; top: 0; right: 0; bottom: 0; pointer-events: none;
  background-image: linear-gradient(to right, rgba(255, 255, 255, .85) 1px, transparent 1px),
    linear-gradient(to bottom, rgba(255, 255, 255, .85) 1px, transparent 1px); }
[data-testid=compare-fv-note] { display: block; }
`;

export class CompareView extends TabView {
  private readonly status = new Status();
  private readonly inputs: Record<TextField, HTMLInputElement>;
  private readonly content: HTMLSelectElement;
  private readonly grid: HTMLElement;
  /** The form's runs: a checkbox per other run (the selected run is always shown). */
  private readonly runsBox: HTMLElement;
  private readonly loads = new Latest();
  private shownFor = "";
  /** What the grid on screen shows (its rows are rendered steps for feature visualizations). */
  private gridKind: CompareResponse["kind"] | null = null;

  constructor(ctx: AppContext, root: HTMLElement) {
    super(ctx, root);
    ensureStyles("compare", CSS);
    const { store } = ctx;
    const input = (key: TextField, placeholder: string, label: string) =>
      h("input", {
        testid: `compare-${key}`,
        attrs: { type: "text", placeholder, "aria-label": label, spellcheck: "false" },
        on: {
          keydown: (event) => {
            if ((event as KeyboardEvent).key === "Enter") this.submit();
          },
        },
      });
    this.inputs = {
      steps: input("steps", "all, or 0,500 or 100:900", "Checkpoints"),
      layers: input("layers", "all, or conv1,fc1 or conv1:fc1", "Layers"),
      filters: input("filters", "all, or 0:7 or 1,4,9", "Filters"),
      image: input("image", "e.g. 3", "Probe image for activations"),
    };
    this.content = h("select", {
      testid: "compare-content",
      title: "What the cells show",
      attrs: { "aria-label": "What the cells show" },
    });
    setOptions(this.content, this.contentOptions(null), "weights");
    // Another content: its own defaults (feature visualizations exist at rendered checkpoints only), shown at once.
    this.content.addEventListener("change", () => {
      const run = currentRun(this.store.get());
      const content = this.content.value as CompareContent;
      this.inputs.image.disabled = content !== "activations";
      if (!run) return;
      let runs = [run];
      try {
        runs = gridRuns(this.store.get().runs, run, this.store.get().compareRuns);
      } catch {
        // submit() explains it
      }
      const defaults = defaultCompareRuns(runs, content);
      this.inputs.steps.value = defaults.steps;
      this.inputs.layers.value = defaults.layers;
      if (content === "activations" && !this.inputs.image.value.trim()) {
        this.inputs.image.focus();
        this.status.set("empty", "Type the index of a probe image, then Compare.");
        return;
      }
      this.submit();
    });
    // Typing a probe image means its activations (as before the menu existed).
    this.inputs.image.addEventListener("input", () => {
      if (this.inputs.image.value.trim() && this.content.value === "weights") this.content.value = "activations";
    });
    const runButton = h("button", {
      testid: "compare-run",
      class: "dv-button",
      text: "Compare",
      attrs: { type: "button" },
      on: { click: () => this.submit() },
    });
    this.grid = h("table", { testid: "compare-grid", class: "dv-compare-grid" });
    this.runsBox = h("div", { testid: "compare-runs", class: "dv-compare-runs" });
    root.append(
      h(
        "div",
        { class: "dv-compare-form" },
        h("label", {}, "show", this.content),
        h("label", {}, "checkpoints (steps)", this.inputs.steps),
        h("label", {}, "layers", this.inputs.layers),
        h("label", {}, "filters (weights)", this.inputs.filters),
        h("label", {}, "probe image (activations)", this.inputs.image),
        h(
          "div",
          { class: "dv-compare-runs-field" },
          h("div", { class: "dv-small dv-muted", text: "also runs" }),
          this.runsBox,
        ),
        runButton,
      ),
      this.status.element,
      h("div", { style: { overflow: "auto" } }, this.grid),
    );
    store.subscribe(() => this.markCurrent(), ["step", "runB", "stepB"]);
    this.watch(["runs", "run", "loaded", "compareRuns"]);
    store.subscribe((s) => this.fill(s.compare), ["compare"]);
    store.subscribe(() => this.fillRuns(), ["runs", "run", "compareRuns"]);
    this.fillRuns();
  }

  /** On opening the tab (and on a new listing): fill the form with defaults (first time) and show that grid. */
  protected refresh(): void {
    const state = this.store.get();
    const gate = runGate(state);
    if (!gate.ok) {
      if (gate.state === "empty") replaceChildren(this.grid);
      this.status.set(gate.state, gate.text);
      return;
    }
    const run = gate.run;
    const spec = state.compare;
    const blank = !spec.steps && !spec.layers && !spec.filters && !spec.image && !spec.content;
    setOptions(this.content, this.contentOptions(run), this.content.value);
    let chosen = spec;
    if (blank) {
      let runs = [run];
      try {
        runs = gridRuns(state.runs, run, state.compareRuns);
      } catch {
        // run() explains it
      }
      chosen = defaultCompareRuns(runs);
    }
    this.fill(chosen);
    if (this.shownKey(chosen) !== this.shownFor) void this.run(chosen);
  }

  /** What the grid on screen was made for: the runs, the form and how many checkpoints they had. */
  private shownKey(spec: CompareSpec): string {
    const state = this.store.get();
    const names = [state.run, ...chosenRuns(state.compareRuns)];
    const sizes = names.map((name) => state.runs.find((entry) => entry.run === name)?.checkpoints.length ?? -1);
    return `${names.join("\u0000")}|${JSON.stringify(spec)}|${sizes.join(",")}`;
  }

  /** The runs checkboxes: every other listed run that has weights or activations, and any chosen one. */
  private fillRuns(): void {
    const state = this.store.get();
    const chosen = chosenRuns(state.compareRuns);
    const names = state.runs
      .filter((run) => run.run !== state.run && (run.kinds.includes("weights") || run.kinds.includes("activations")))
      .map((run) => run.run);
    for (const name of chosen) if (name !== state.run && !names.includes(name)) names.push(name);
    const key = JSON.stringify([names, chosen]);
    if (this.runsBox.getAttribute("data-key") === key) return;
    this.runsBox.setAttribute("data-key", key);
    const boxes = names.map((name) => {
      const box = checkbox("compare-run-option", name, chosen.includes(name), (on) => this.chooseRun(name, on));
      box.input.setAttribute("data-run", name);
      return box.label;
    });
    replaceChildren(
      this.runsBox,
      ...(boxes.length ? boxes : [h("span", { class: "dv-small dv-muted", text: "no other run" })]),
    );
  }

  /** Add or drop a run: the form starts again from what every chosen run has, and the grid is shown. */
  private chooseRun(name: string, on: boolean): void {
    const state = this.store.get();
    const run = currentRun(state);
    const chosen = chosenRuns(state.compareRuns).filter((entry) => entry !== name);
    if (on) chosen.push(name);
    this.store.set({ compareRuns: runsText(chosen) });
    if (!run) return;
    let runs = [run];
    try {
      runs = gridRuns(this.store.get().runs, run, runsText(chosen));
    } catch {
      // submit() explains it
    }
    const defaults = defaultCompareRuns(runs, this.content.value as CompareContent);
    this.inputs.steps.value = defaults.steps;
    this.inputs.layers.value = defaults.layers;
    this.submit();
  }

  /** The menu's choices: feature visualization only for a run that has some (or while chosen). */
  private contentOptions(run: RunSummary | null): [string, string][] {
    const withFeatureVis = !run || layersWithFeatureVis(run).length > 0 || this.content?.value === "feature_vis";
    return (Object.entries(CONTENT_LABELS) as [CompareContent, string][]).filter(
      ([content]) => content !== "feature_vis" || withFeatureVis,
    );
  }

  private fill(spec: CompareSpec): void {
    for (const key of Object.keys(this.inputs) as TextField[]) {
      if (this.inputs[key].value !== spec[key]) this.inputs[key].value = spec[key];
    }
    let content: CompareContent = "weights";
    try {
      content = compareContent(spec);
    } catch {
      // a hand-edited link: run() explains it
    }
    if (![...this.content.options].some((option) => option.value === content))
      this.content.appendChild(h("option", { text: CONTENT_LABELS[content], attrs: { value: content } }));
    this.content.value = content;
    this.inputs.image.disabled = content !== "activations";
  }

  private submit(): void {
    const content = this.content.value as CompareContent;
    const image = content === "activations" ? this.inputs.image.value.trim() : "";
    const spec: CompareSpec = {
      steps: this.inputs.steps.value.trim(),
      layers: this.inputs.layers.value.trim(),
      filters: content === "weights" ? this.inputs.filters.value.trim() : "",
      image,
      // Weights, and activations of a given image, are written as links made before the menu wrote them.
      content: content === "feature_vis" || (content === "activations" && !image) ? content : "",
    };
    this.store.set({ compare: spec });
    void this.run(spec);
  }

  private async run(spec: CompareSpec): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    const run = currentRun(state);
    if (!run) return;
    this.shownFor = this.shownKey(spec);
    let runs: RunSummary[];
    let resolved: ResolvedCompare[];
    const failed = (error: unknown) => {
      this.status.set(
        "error",
        error instanceof SelectionError ? errorText(error) : `Compare failed: ${errorText(error)}`,
      );
      replaceChildren(this.grid);
    };
    try {
      runs = gridRuns(state.runs, run, state.compareRuns);
      // Unknown probe images (no predictions logged, or the request failed): the server checks.
      const activations = spec.image && compareContent(spec) === "activations";
      const probes = await Promise.all(
        runs.map((each) =>
          activations && each.steps_by_kind.predictions?.length
            ? this.ctx.probes.load(each).catch(() => null)
            : Promise.resolve(null),
        ),
      );
      resolved = resolveCompareRuns(runs, spec, probes);
    } catch (error) {
      if (current()) failed(error);
      return;
    }
    if (!current()) return;
    const cells = resolved.reduce((sum, each) => sum + each.steps.length * each.layers.length, 0);
    this.status.set("loading", `Loading ${cells} sprites…`);
    if (resolved[0].content === "feature_vis") {
      this.renderGrid(runs.map((each, i) => ({ run: each, result: featureVisCompare(each, resolved[i]) })));
      return;
    }
    let grids: RunGrid[];
    try {
      if (runs.length === 1) {
        const [only] = resolved;
        const result = await this.ctx.api.compare(run.run, {
          steps: only.steps.join(","),
          layers: only.layers.join(","),
          filters: only.filters || undefined,
          image: only.image,
        });
        grids = [{ run, result }];
      } else {
        const url = compareRunsUrl(
          runs.map((each) => each.run),
          spec,
          resolved[0],
        );
        const answer = await this.ctx.api.getJson<CompareRunsResponse>(url);
        grids = splitRuns(answer, runs);
      }
    } catch (error) {
      if (current()) failed(error);
      return;
    }
    if (!current()) return;
    this.renderGrid(grids);
  }

  private renderGrid(grids: readonly RunGrid[]): void {
    const selected = this.store.get().run;
    const several = grids.length > 1;
    const kind = grids[0]?.result.kind ?? "weights";
    const layers: string[] = [];
    for (const { result } of grids) for (const layer of result.layers) if (!layers.includes(layer)) layers.push(layer);
    const head = h(
      "tr",
      {},
      h("th", { text: "step" }),
      ...layers.map((layer) => h("th", { text: layer, title: layer })),
    );
    let pending = 0;
    let failed = 0;
    const rowCount = grids.reduce((sum, { result }) => sum + result.steps.length, 0);
    const done = () => {
      if (pending > 0) return;
      const first = grids[0]?.result;
      const what =
        kind === "feature_vis"
          ? "feature visualizations (one row per rendered checkpoint)"
          : kind === "activations"
            ? `activations of image #${first?.image}`
            : `weights${first?.filters ? `, filters ${first.filters}` : ""}`;
      const shape = several
        ? `${grids.length} runs × ${rowCount} checkpoints in all × ${layers.length} layers`
        : `${rowCount} checkpoints × ${layers.length} layers`;
      const text = `${shape} · ${what} · click a cell to select its step and layer${several ? " (another run's cell opens it as B)" : ""}`;
      if (failed) this.status.set("error", `${failed} sprite${failed === 1 ? "" : "s"} did not load. ${text}`);
      else this.status.set("ready", text);
    };
    const rows: HTMLElement[] = [];
    for (const { run, result } of grids) {
      const mine = run.run === selected;
      if (several)
        rows.push(
          h(
            "tr",
            { class: "dv-compare-run-row", attrs: { "data-run": run.run } },
            h("th", {
              testid: "compare-run-heading",
              text: mine ? `${run.run} (selected run)` : run.run,
              attrs: { colspan: layers.length + 1, "data-run": run.run },
            }),
          ),
        );
      const byKey = new Map(result.cells.map((cell) => [`${cell.step}\u0000${cell.layer}`, cell]));
      for (const step of result.steps) {
        const cells = layers.map((layer) => {
          const cell = byKey.get(`${step}\u0000${layer}`);
          if (!cell?.available || !cell.url) {
            return h(
              "td",
              {},
              h("span", { class: "dv-muted dv-small", testid: "compare-missing", text: "not logged" }),
            );
          }
          pending += 1;
          const featureVis = kind === "feature_vis";
          const where = several ? `${run.run}: ` : "";
          const title = featureVis
            ? `${where}feature visualization of ${layer} rendered at step ${step}`
            : `${where}${layer} at step ${step}`;
          const image = h("img", {
            testid: "compare-cell",
            class: featureVis ? "dv-compare-cell dv-compare-fv" : "dv-compare-cell",
            title,
            attrs: { alt: title, "data-step": step, "data-layer": layer, "data-kind": kind, "data-run": run.run },
          });
          const settle = (ok: boolean) => {
            pending -= 1;
            if (!ok) failed += 1;
            done();
          };
          image.addEventListener("load", () => settle(true), { once: true });
          image.addEventListener("error", () => settle(false), { once: true });
          image.addEventListener("click", () => this.open(run, step, layer, featureVis));
          image.src = cell.url;
          if (featureVis) return h("td", {}, this.featureVisCell(run, image, step, layer));
          return h("td", {}, image);
        });
        rows.push(
          h("tr", { attrs: { "data-step": step, "data-run": run.run } }, h("th", { text: String(step) }), ...cells),
        );
      }
    }
    replaceChildren(this.grid, h("thead", {}, head), h("tbody", {}, ...rows));
    this.gridKind = kind;
    this.grid.setAttribute("data-kind", kind);
    this.markCurrent();
    if (!rowCount) this.status.set("empty", `No checkpoints of ${grids.map(({ run }) => run.run).join(", ")} match.`);
    else done();
  }

  /**
   * A cell's click: the selected run's cell selects its step and layer (a feature visualization
   * cell opens the Filters view's feature visualizations at its step); another run's cell opens
   * that run at that checkpoint as B of the A/B mode.
   */
  private open(run: RunSummary, step: number, layer: string, featureVis: boolean): void {
    const checkpoint = featureVis ? this.checkpointOf(run, step) : step;
    const where = run.run === this.store.get().run ? { step: checkpoint } : { runB: run.run, stepB: checkpoint };
    this.store.set({
      ...where,
      layer,
      filter: null,
      unit: null,
      ...(featureVis ? { filtersShow: "feature_vis" as const } : {}),
    });
  }

  /**
   * A feature visualization cell: its sprite with a line between units (the sprite has none), and
   * the render it shows named when the layer has none of its own at the row's step.
   */
  private featureVisCell(run: RunSummary, image: HTMLImageElement, step: number, layer: string): HTMLElement {
    const lines = h("span", { class: "dv-compare-fv-lines", attrs: { "aria-hidden": "true" } });
    lines.hidden = true;
    const note = h("span", { testid: "compare-fv-note", class: "dv-small dv-muted" });
    void this.ctx.api.featureVisLayout(run.run, layer, step).then(
      (layout) => {
        if (!image.isConnected) return;
        image.setAttribute("data-rendered-step", String(layout.step));
        image.setAttribute("data-units", layout.units.join(","));
        image.title = `feature visualization of ${layer}, units ${unitsText(layout.units)}, rendered at step ${layout.step}`;
        lines.style.backgroundSize = `${100 / layout.columns}% ${100 / layout.rows}%`;
        lines.hidden = false;
        if (layout.step !== step) note.textContent = `from step ${layout.step}`;
      },
      () => undefined,
    );
    return h("div", {}, h("span", { class: "dv-compare-fv-wrap" }, image, lines), note);
  }

  /** The checkpoint a rendered step belongs to (itself; the nearest later one for a step the listing lacks). */
  private checkpointOf(run: RunSummary, step: number): number {
    if (run.checkpoints.includes(step)) return step;
    return run.checkpoints.find((checkpoint) => checkpoint >= step) ?? step;
  }

  /**
   * Mark the selected checkpoint's rows: the selected run's at A's step, B's run at B's step, any
   * other run's at A's step; for feature visualizations, the row of the render each shows.
   */
  private markCurrent(): void {
    const state = this.store.get();
    const runB = SIDE_B.run(state);
    for (const row of Array.from(this.grid.querySelectorAll("tbody tr[data-step]"))) {
      const name = row.getAttribute("data-run");
      const run = state.runs.find((entry) => entry.run === name) ?? currentRun(state);
      const isB = runB !== null && name === runB.run && name !== state.run;
      const at = isB ? SIDE_B.step(state) : state.step;
      const step = this.gridKind === "feature_vis" ? featureVisStep(run, at) : at;
      row.classList.toggle("dv-current", row.getAttribute("data-step") === String(step));
    }
  }
}
