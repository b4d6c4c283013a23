// Direct Compare (deepViz): a grid with checkpoints in rows and layers in columns showing the
// chosen filters (or a probe image's activations) of each, as returned by `compare`.

import { describe, type CompareResponse, type RunSummary } from "../../api/client";
import type { AppContext, View } from "../../core/context";
import { SelectionError, selectIndices, selectNames, selectValues, spread } from "../../lib/selection";
import { currentRun, type CompareSpec } from "../../core/store";
import { h, replaceChildren, Status } from "../../ui/dom";

const MAX_CELLS = 400; // plugin.MAX_COMPARE_CELLS
const MAX_FILTERS = 4096; // plugin.MAX_SELECTED_FILTERS

export interface ResolvedCompare {
  steps: number[];
  layers: string[];
  filters: string;
  image: number | null;
}

/** Check a compare request against the run's listing; throws SelectionError explaining what is wrong. */
export function resolveCompare(
  run: RunSummary,
  spec: CompareSpec,
  probes: ReadonlySet<number> | null,
): ResolvedCompare {
  const imageText = spec.image.trim();
  let image: number | null = null;
  if (imageText) {
    const text = imageText.replace(/^#/, "");
    if (!/^\d+$/.test(text)) throw new SelectionError(`image: ${JSON.stringify(spec.image)} is not an image index`);
    image = Number(text);
    if (probes && !probes.has(image)) {
      throw new SelectionError(
        `image #${image} is not a probe image; activations exist for ${[...probes].map((i) => `#${i}`).join(", ")}`,
      );
    }
  }
  const candidates = run.layers.filter((layer) => (image === null ? layer.has_weights : layer.has_activations));
  const layers = selectNames(
    spec.layers,
    candidates.map((layer) => layer.name),
    "layers",
  );
  if (!layers.length) throw new SelectionError("no layers selected");
  const available = run.steps_by_kind[image === null ? "weights" : "activations"] ?? [];
  const steps = selectValues(spec.steps, available, "steps");
  if (!steps.length) throw new SelectionError("no checkpoints selected");
  if (steps.length * layers.length > MAX_CELLS) {
    throw new SelectionError(
      `${steps.length} checkpoints × ${layers.length} layers = ${steps.length * layers.length} cells; at most ${MAX_CELLS}: choose fewer checkpoints or layers`,
    );
  }
  let filters = spec.filters.replace(/\s+/g, "");
  if (filters && image === null) {
    const counts = layers.map(
      (name) => run.layers.find((layer) => layer.name === name)?.parameter_shapes.weight?.[0] ?? MAX_FILTERS,
    );
    const fewest = Math.min(...counts);
    const chosen = selectIndices(filters, fewest, "filters", MAX_FILTERS);
    if (!filters.includes(":")) filters = chosen.join(",");
  }
  return { steps, layers, filters: image === null ? filters : "", image };
}

/** What the form shows before the user has chosen: a few checkpoints, the first layers, all filters. */
export function defaultCompare(run: RunSummary): CompareSpec {
  const steps = spread(run.steps_by_kind.weights ?? run.checkpoints, 6);
  const layers = run.layers.filter((layer) => layer.has_weights).map((layer) => layer.name);
  const shown = layers.slice(0, 6);
  return {
    steps: steps.join(","),
    layers: shown.length > 1 ? `${shown[0]}:${shown[shown.length - 1]}` : shown.join(","),
    filters: "",
    image: "",
  };
}

export class CompareView implements View {
  readonly root: HTMLElement;
  private active = false;
  private readonly status = new Status();
  private readonly inputs: Record<keyof CompareSpec, HTMLInputElement>;
  private readonly grid: HTMLElement;
  private token = 0;
  private shownFor = "";

  constructor(private readonly ctx: AppContext) {
    const { store } = ctx;
    const input = (key: keyof CompareSpec, placeholder: string, label: string) => {
      const element = h("input", {
        testid: `compare-${key}`,
        attrs: { type: "text", placeholder, "aria-label": label, spellcheck: "false" },
      });
      element.addEventListener("keydown", (event) => {
        if (event.key === "Enter") this.submit();
      });
      return element;
    };
    this.inputs = {
      steps: input("steps", "all, or 0,500 or 100:900", "Checkpoints"),
      layers: input("layers", "all, or conv1,fc1 or conv1:fc1", "Layers"),
      filters: input("filters", "all, or 0:7 or 1,4,9", "Filters"),
      image: input("image", "none (weights)", "Probe image for activations"),
    };
    const runButton = h("button", {
      testid: "compare-run",
      class: "dv-button",
      text: "Compare",
      attrs: { type: "button" },
      on: { click: () => this.submit() },
    });
    this.grid = h("table", { testid: "compare-grid", class: "dv-compare-grid" });
    this.root = h(
      "section",
      { testid: "view-compare", class: "dv-view", attrs: { role: "tabpanel", "aria-label": "Direct compare" } },
      h(
        "div",
        { class: "dv-compare-form" },
        h("label", {}, "checkpoints (steps)", this.inputs.steps),
        h("label", {}, "layers", this.inputs.layers),
        h("label", {}, "filters", this.inputs.filters),
        h("label", {}, "probe image (activations instead of weights)", this.inputs.image),
        runButton,
      ),
      this.status.element,
      h("div", { style: { overflow: "auto" } }, this.grid),
    );
    this.root.hidden = true;
    store.subscribe(() => this.markCurrent(), ["step"]);
    store.subscribe(() => this.active && this.ensureShown(), ["runs", "run", "loaded"]);
    store.subscribe((s) => this.fill(s.compare), ["compare"]);
  }

  setActive(active: boolean): void {
    this.active = active;
    this.root.hidden = !active;
    if (active) this.ensureShown();
  }

  private fill(spec: CompareSpec): void {
    for (const key of Object.keys(this.inputs) as (keyof CompareSpec)[]) {
      if (this.inputs[key].value !== spec[key]) this.inputs[key].value = spec[key];
    }
  }

  private readForm(): CompareSpec {
    return {
      steps: this.inputs.steps.value.trim(),
      layers: this.inputs.layers.value.trim(),
      filters: this.inputs.filters.value.trim(),
      image: this.inputs.image.value.trim(),
    };
  }

  /** On opening the tab: fill the form with defaults (first time) and show that grid. */
  private ensureShown(): void {
    const state = this.ctx.store.get();
    const run = currentRun(state);
    if (!state.loaded) return this.status.set("loading", "Loading the list of runs…");
    if (!run) {
      replaceChildren(this.grid);
      return this.status.set("empty", state.runs.length ? "Select a run." : "No run has deepviz data yet.");
    }
    const spec = state.compare;
    const blank = !spec.steps && !spec.layers && !spec.filters && !spec.image;
    const chosen = blank ? defaultCompare(run) : spec;
    this.fill(chosen);
    const key = `${run.run}|${JSON.stringify(chosen)}|${run.checkpoints.length}`;
    if (key !== this.shownFor) void this.run(chosen);
  }

  private submit(): void {
    const spec = this.readForm();
    this.ctx.store.set({ compare: spec });
    void this.run(spec);
  }

  private async probes(run: RunSummary): Promise<Set<number> | null> {
    const steps = run.steps_by_kind.predictions ?? [];
    if (!steps.length) return null;
    try {
      return new Set((await this.ctx.api.predictions(run.run, steps[steps.length - 1])).probe_images);
    } catch {
      return null;
    }
  }

  private async run(spec: CompareSpec): Promise<void> {
    const token = ++this.token;
    const run = currentRun(this.ctx.store.get());
    if (!run) return;
    this.shownFor = `${run.run}|${JSON.stringify(spec)}|${run.checkpoints.length}`;
    let resolved: ResolvedCompare;
    try {
      resolved = resolveCompare(run, spec, spec.image ? await this.probes(run) : null);
    } catch (error) {
      if (token !== this.token) return;
      this.status.set(
        "error",
        error instanceof SelectionError ? describe(error) : `Compare failed: ${describe(error)}`,
      );
      replaceChildren(this.grid);
      return;
    }
    this.status.set("loading", `Loading ${resolved.steps.length} × ${resolved.layers.length} sprites…`);
    let result: CompareResponse;
    try {
      result = await this.ctx.api.compare(run.run, {
        steps: resolved.steps.join(","),
        layers: resolved.layers.join(","),
        filters: resolved.filters || undefined,
        image: resolved.image,
      });
    } catch (error) {
      if (token !== this.token) return;
      this.status.set("error", `Compare failed: ${describe(error)}`);
      replaceChildren(this.grid);
      return;
    }
    if (token !== this.token) return;
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
        result.kind === "activations"
          ? `activations of image #${result.image}`
          : `weights${result.filters ? `, filters ${result.filters}` : ""}`;
      const text = `${result.steps.length} checkpoints × ${result.layers.length} layers · ${what} · click a cell to select its step and layer`;
      if (failed) this.status.set("error", `${failed} sprite${failed === 1 ? "" : "s"} did not load. ${text}`);
      else this.status.set("ready", text);
    };
    const rows = result.steps.map((step) => {
      const cells = result.layers.map((layer) => {
        const cell = byKey.get(`${step}\u0000${layer}`);
        if (!cell || !cell.available || !cell.url) {
          return h("td", {}, h("span", { class: "dv-muted dv-small", testid: "compare-missing", text: "not logged" }));
        }
        pending += 1;
        const image = h("img", {
          testid: "compare-cell",
          class: "dv-compare-cell",
          title: `${layer} at step ${step}`,
          attrs: { alt: `${layer} at step ${step}`, "data-step": step, "data-layer": layer },
        });
        const settle = (ok: boolean) => {
          pending -= 1;
          if (!ok) failed += 1;
          done();
        };
        image.addEventListener("load", () => settle(true), { once: true });
        image.addEventListener("error", () => settle(false), { once: true });
        image.addEventListener("click", () => this.ctx.store.set({ step, layer, filter: null }));
        image.src = cell.url;
        return h("td", {}, image);
      });
      return h("tr", { attrs: { "data-step": step } }, h("th", { text: String(step) }), ...cells);
    });
    replaceChildren(this.grid, h("thead", {}, head), h("tbody", {}, ...rows));
    this.markCurrent();
    if (!rows.length) this.status.set("empty", `No checkpoints of ${run.run} match.`);
    else done();
  }

  private markCurrent(): void {
    const step = this.ctx.store.get().step;
    for (const row of Array.from(this.grid.querySelectorAll("tbody tr"))) {
      row.classList.toggle("dv-current", row.getAttribute("data-step") === String(step));
    }
  }
}
