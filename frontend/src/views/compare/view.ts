// Direct Compare (deepViz): a grid with checkpoints in rows and layers in columns showing the
// chosen filters (or a probe image's activations) of each, as returned by `compare`.

import { errorText } from "../../api/client";
import type { CompareResponse, RunSummary } from "../../api/types";
import type { AppContext } from "../../core/context";
import { currentRun } from "../../core/derived";
import { Latest, runGate } from "../../core/guards";
import type { CompareSpec } from "../../core/state";
import { SelectionError } from "../../lib/selection";
import { h, replaceChildren, Status } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { TabView } from "../common";
import { defaultCompare, type ResolvedCompare, resolveCompare } from "./resolve";

const CSS = `
.dv-compare-form { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: flex-end; }
.dv-compare-form label { display: flex; flex-direction: column; gap: 2px; font-size: 11px; color: var(--dv-muted); }
.dv-compare-form input { width: 150px; }
.dv-compare-grid { border-collapse: collapse; margin-top: 8px; }
.dv-compare-grid th { font-weight: 500; font-size: 11px; color: var(--dv-muted); padding: 4px; text-align: left; }
.dv-compare-grid td { padding: 3px; vertical-align: top; border: 1px solid #eee; }
.dv-compare-grid tr.dv-current th, .dv-compare-grid tr.dv-current td { background: #fff3e0; }
.dv-compare-cell { image-rendering: pixelated; max-width: 220px; max-height: 220px; display: block; cursor: pointer; background: #404040; }
`;

export class CompareView extends TabView {
  private readonly status = new Status();
  private readonly inputs: Record<keyof CompareSpec, HTMLInputElement>;
  private readonly grid: HTMLElement;
  private readonly loads = new Latest();
  private shownFor = "";

  constructor(ctx: AppContext, root: HTMLElement) {
    super(ctx, root);
    ensureStyles("compare", CSS);
    const { store } = ctx;
    const input = (key: keyof CompareSpec, placeholder: string, label: string) =>
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
    root.append(
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
    const blank = !spec.steps && !spec.layers && !spec.filters && !spec.image;
    const chosen = blank ? defaultCompare(run) : spec;
    this.fill(chosen);
    const key = `${run.run}|${JSON.stringify(chosen)}|${run.checkpoints.length}`;
    if (key !== this.shownFor) void this.run(chosen);
  }

  private fill(spec: CompareSpec): void {
    for (const key of Object.keys(this.inputs) as (keyof CompareSpec)[]) {
      if (this.inputs[key].value !== spec[key]) this.inputs[key].value = spec[key];
    }
  }

  private submit(): void {
    const spec: CompareSpec = {
      steps: this.inputs.steps.value.trim(),
      layers: this.inputs.layers.value.trim(),
      filters: this.inputs.filters.value.trim(),
      image: this.inputs.image.value.trim(),
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
      const known = spec.image && run.steps_by_kind.predictions?.length;
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
        if (!cell?.available || !cell.url) {
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
        image.addEventListener("click", () => this.store.set({ step, layer, filter: null, unit: null }));
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
    const step = this.store.get().step;
    for (const row of Array.from(this.grid.querySelectorAll("tbody tr"))) {
      row.classList.toggle("dv-current", row.getAttribute("data-step") === String(step));
    }
  }
}
