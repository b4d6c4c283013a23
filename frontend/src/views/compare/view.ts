// Direct Compare (deepViz): a grid with checkpoints in rows and layers in columns showing the
// chosen filters (or a probe image's activations) of each, as returned by `compare`, or the
// layers' feature visualizations at the rendered checkpoints (the film laid out; built from the
// listing's rendered steps, since the route does not offer them). The row of the selected
// checkpoint (for feature visualizations, of the render it shows) is marked as the timeline moves.

import { errorText } from "../../api/client";
import type { CompareResponse, RunSummary } from "../../api/types";
import type { AppContext } from "../../core/context";
import { currentRun, featureVisStep, layersWithFeatureVis } from "../../core/derived";
import { Latest, runGate } from "../../core/guards";
import type { CompareContent, CompareSpec } from "../../core/state";
import { unitsText } from "../../lib/feature_vis";
import { SelectionError } from "../../lib/selection";
import { h, replaceChildren, Status, setOptions } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { TabView } from "../common";
import { compareContent, defaultCompare, featureVisCompare, type ResolvedCompare, resolveCompare } from "./resolve";

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
      const defaults = defaultCompare(run, content);
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
    root.append(
      h(
        "div",
        { class: "dv-compare-form" },
        h("label", {}, "show", this.content),
        h("label", {}, "checkpoints (steps)", this.inputs.steps),
        h("label", {}, "layers", this.inputs.layers),
        h("label", {}, "filters (weights)", this.inputs.filters),
        h("label", {}, "probe image (activations)", this.inputs.image),
        runButton,
      ),
      this.status.element,
      h("div", { style: { overflow: "auto" } }, this.grid),
    );
    store.subscribe(() => this.markCurrent(), ["step"]);
    this.watch(["runs", "run", "loaded"]);
    store.subscribe((s) => this.fill(s.compare), ["compare"]);
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
    const chosen = blank ? defaultCompare(run) : spec;
    this.fill(chosen);
    const key = `${run.run}|${JSON.stringify(chosen)}|${run.checkpoints.length}`;
    if (key !== this.shownFor) void this.run(chosen);
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
    const run = currentRun(this.store.get());
    if (!run) return;
    this.shownFor = `${run.run}|${JSON.stringify(spec)}|${run.checkpoints.length}`;
    let resolved: ResolvedCompare;
    try {
      // Unknown probe images (no predictions logged, or the request failed): the server checks.
      const known = spec.image && compareContent(spec) === "activations" && run.steps_by_kind.predictions?.length;
      const probes = known ? await this.ctx.probes.load(run).catch(() => null) : null;
      resolved = resolveCompare(run, spec, probes);
    } catch (error) {
      if (!current()) return;
      this.status.set(
        "error",
        error instanceof SelectionError ? errorText(error) : `Compare failed: ${errorText(error)}`,
      );
      replaceChildren(this.grid);
      return;
    }
    this.status.set("loading", `Loading ${resolved.steps.length} × ${resolved.layers.length} sprites…`);
    if (resolved.content === "feature_vis") {
      this.renderGrid(run, featureVisCompare(run, resolved));
      return;
    }
    let result: CompareResponse;
    try {
      result = await this.ctx.api.compare(run.run, {
        steps: resolved.steps.join(","),
        layers: resolved.layers.join(","),
        filters: resolved.filters || undefined,
        image: resolved.image,
      });
    } catch (error) {
      if (!current()) return;
      this.status.set("error", `Compare failed: ${errorText(error)}`);
      replaceChildren(this.grid);
      return;
    }
    if (!current()) return;
    this.renderGrid(run, result);
  }

  private renderGrid(run: RunSummary, result: CompareResponse): void {
    const head = h(
      "tr",
      {},
      h("th", { text: "step" }),
      ...result.layers.map((layer) => h("th", { text: layer, title: layer })),
    );
    const byKey = new Map(result.cells.map((cell) => [`${cell.step}\u0000${cell.layer}`, cell]));
    let pending = 0;
    let failed = 0;
    const done = () => {
      if (pending > 0) return;
      const what =
        result.kind === "feature_vis"
          ? "feature visualizations (one row per rendered checkpoint)"
          : result.kind === "activations"
            ? `activations of image #${result.image}`
            : `weights${result.filters ? `, filters ${result.filters}` : ""}`;
      const text = `${result.steps.length} checkpoints × ${result.layers.length} layers · ${what} · click a cell to select its step and layer`;
      if (failed) this.status.set("error", `${failed} sprite${failed === 1 ? "" : "s"} did not load. ${text}`);
      else this.status.set("ready", text);
    };
    const rows = result.steps.map((step) => {
      const cells = result.layers.map((layer) => {
        const cell = byKey.get(`${step}\u0000${layer}`);
        if (!cell?.available || !cell.url) {
          return h("td", {}, h("span", { class: "dv-muted dv-small", testid: "compare-missing", text: "not logged" }));
        }
        pending += 1;
        const featureVis = result.kind === "feature_vis";
        const title = featureVis
          ? `feature visualization of ${layer} rendered at step ${step}`
          : `${layer} at step ${step}`;
        const image = h("img", {
          testid: "compare-cell",
          class: featureVis ? "dv-compare-cell dv-compare-fv" : "dv-compare-cell",
          title,
          attrs: { alt: title, "data-step": step, "data-layer": layer, "data-kind": result.kind },
        });
        const settle = (ok: boolean) => {
          pending -= 1;
          if (!ok) failed += 1;
          done();
        };
        image.addEventListener("load", () => settle(true), { once: true });
        image.addEventListener("error", () => settle(false), { once: true });
        // A feature visualization cell opens the Filters view's feature visualizations at its step.
        image.addEventListener("click", () =>
          this.store.set(
            featureVis
              ? { step: this.checkpointOf(run, step), layer, filter: null, unit: null, filtersShow: "feature_vis" }
              : { step, layer, filter: null, unit: null },
          ),
        );
        image.src = cell.url;
        if (featureVis) return h("td", {}, this.featureVisCell(run, image, step, layer));
        return h("td", {}, image);
      });
      return h("tr", { attrs: { "data-step": step } }, h("th", { text: String(step) }), ...cells);
    });
    replaceChildren(this.grid, h("thead", {}, head), h("tbody", {}, ...rows));
    this.gridKind = result.kind;
    this.grid.setAttribute("data-kind", result.kind);
    this.markCurrent();
    if (!rows.length) this.status.set("empty", `No checkpoints of ${run.run} match.`);
    else done();
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

  /** Mark the selected checkpoint's row; for feature visualizations, the row of the render it shows. */
  private markCurrent(): void {
    const state = this.store.get();
    const step = this.gridKind === "feature_vis" ? featureVisStep(currentRun(state), state.step) : state.step;
    for (const row of Array.from(this.grid.querySelectorAll("tbody tr"))) {
      row.classList.toggle("dv-current", row.getAttribute("data-step") === String(step));
    }
  }
}
