// Layer similarity (A/B mode): linear CKA between every logged layer of A and every logged layer
// of B over the same eval images (`layer_similarity`), as a heat map on one 0..1 sequential scale
// (1: the same representation up to rotation and scale). Rows are A's layers, columns B's, both in
// forward order, so two runs that learned alike show a bright diagonal and the layers where they
// diverge show as a dim stretch of it; each row's most similar B layer is outlined. Pointing at a
// cell gives its value; clicking one selects its A layer (the views then show that layer on both
// sides) and names the B layer that was clicked.

import { errorText } from "../api/client";
import type { JsonNumber, LayerSimilarityResponse, RunSummary } from "../api/types";
import { toNumber } from "../api/types";
import { layerSimilarityUrl } from "../api/urls";
import { type Cell, HeatMap } from "../charts/heatmap";
import type { AppContext } from "../core/context";
import { MAIN, SIDE_B } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import type { State } from "../core/state";
import { gradient, rgb, sequentialColour } from "../lib/colours";
import { formatNumber } from "../lib/format";
import { h, Status } from "../ui/dom";
import { colourKey } from "../ui/legend";
import { ensureStyles } from "../ui/styles";

const CSS = `
.dv-cka .dv-cell-best { box-shadow: inset 0 0 0 2px #fff, inset 0 0 0 3px #212121; }
.dv-cka .dv-cell-selected { outline: 2px solid var(--dv-select); outline-offset: -2px; }
.dv-cka-readout { min-height: 1.4em; font-variant-numeric: tabular-nums; }
`;

/** The record kind a run needs for this panel (the route answers 404 without it). */
export const SIMILARITY_KIND = "similarity";

/** For each row, the column of its largest finite value (-1 for a row without one). */
export function bestColumns(values: readonly (readonly (JsonNumber | null)[])[]): number[] {
  return values.map((row) => {
    let best = -1;
    let top = Number.NEGATIVE_INFINITY;
    row.forEach((value, column) => {
      const number = value === null ? Number.NaN : toNumber(value);
      if (Number.isFinite(number) && number > top) {
        top = number;
        best = column;
      }
    });
    return best;
  });
}

/** A cell's colour on the 0..1 sequential scale, and whether its text should be white. */
export function ckaShade(value: number): { background: string; dark: boolean } {
  if (!Number.isFinite(value)) return { background: "#eceff1", dark: false };
  const colour = sequentialColour(Math.max(0, Math.min(1, value)));
  const luminance = (0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2]) / 255;
  return { background: rgb(colour), dark: luminance < 0.5 };
}

function hasSimilarity(run: RunSummary): boolean {
  return (run.kinds as readonly string[]).includes(SIMILARITY_KIND);
}

/** The `layer_similarity` URL of the state's A/B selection, or why there is none. */
export function similarityRequest(state: Readonly<State>): { url: string } | { reason: string } {
  if (state.runB === null) return { reason: "Turn on A/B mode to compare A's layers with B's." };
  const runA = MAIN.run(state);
  const runB = SIDE_B.run(state);
  const stepA = MAIN.step(state);
  const stepB = SIDE_B.step(state);
  if (!runA || stepA === null) return { reason: "Select A's run and checkpoint." };
  if (!runB || stepB === null) return { reason: "Select B's run and checkpoint." };
  const missing = [runA, runB].filter((run) => !hasSimilarity(run)).map((run) => run.run);
  if (missing.length)
    return {
      reason: `Layer similarity needs similarity records, which ${[...new Set(missing)].join(" and ")} did not log (logs written with similarity_images > 0).`,
    };
  return { url: layerSimilarityUrl(runA.run, stepA, runB.run, stepB) };
}

export class LayerSimilarity extends Part {
  readonly element: HTMLElement;
  private readonly status = new Status("cka-status");
  private readonly map: HeatMap;
  private readonly readout: HTMLElement;
  private readonly loads = new Latest();
  private data: { url: string; answer: LayerSimilarityResponse } | null = null;
  /** The B layer of the last clicked cell (the state has one layer; this names B's side of the click). */
  private clicked: Cell | null = null;

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
  ) {
    super(ctx.store);
    ensureStyles("layer-similarity", CSS);
    this.readout = h("div", {
      testid: "cka-readout",
      class: "dv-cka-readout dv-small",
      attrs: { "aria-live": "polite" },
    });
    this.element = h(
      "div",
      { testid: "layer-similarity", class: "dv-panel dv-cka" },
      h("h3", { text: "Layer similarity (linear CKA)" }),
      h("div", {
        class: "dv-small dv-muted",
        text: "Rows: A's layers · columns: B's layers. 1: the same representation up to rotation and scale; a dim diagonal is where A and B diverge. Click a cell to select its layer.",
      }),
      this.status.element,
    );
    this.map = new HeatMap(this.element, {
      testid: "cka-matrix",
      cellTestid: "cka-cell",
      ariaLabel: "Linear CKA between A's layers (rows) and B's layers (columns)",
      rowAttribute: "data-a",
      columnAttribute: "data-b",
      onHover: (cell) => this.describe(cell),
      onClick: (cell) => this.pick(cell),
    });
    this.element.append(
      this.readout,
      colourKey([[gradient([sequentialColour(0), sequentialColour(1)]), "0 · CKA · 1"]]),
    );
    container.appendChild(this.element);
    this.watch(["runs", "run", "step", "runB", "stepB", "loaded"]);
    this.watch(["layer"], () => this.markSelected());
  }

  protected refresh(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    this.element.hidden = state.runB === null;
    const request = similarityRequest(state);
    const clear = (kind: "empty" | "error", text: string) => {
      this.data = null;
      this.map.clear();
      this.readout.textContent = "";
      this.status.set(kind, text);
    };
    if ("reason" in request) return clear("empty", request.reason);
    if (this.data?.url === request.url) return;
    if (!this.data) this.status.set("loading", "Comparing A's layers with B's…");
    let answer: LayerSimilarityResponse;
    try {
      answer = await this.ctx.api.getJson<LayerSimilarityResponse>(request.url, true);
    } catch (error) {
      if (current()) clear("error", `Cannot compare the layers: ${errorText(error)}`);
      return;
    }
    if (!current()) return;
    this.data = { url: request.url, answer };
    this.draw(answer);
  }

  /** Draw `answer` (public for the tests' fixtures and for views that hold an answer already). */
  draw(answer: LayerSimilarityResponse): void {
    const best = bestColumns(answer.cka);
    this.map.draw({
      rows: answer.layers_a.map((layer) => ({ label: layer, title: `A: ${layer}` })),
      columns: answer.layers_b.map((layer) => ({ label: layer, title: `B: ${layer}` })),
      cell: (row, column) => {
        const raw = answer.cka[row]?.[column] ?? null;
        const value = raw === null ? Number.NaN : toNumber(raw);
        const finite = Number.isFinite(value);
        return {
          text: finite ? value.toFixed(2) : "–",
          ...ckaShade(value),
          title: `A ${answer.layers_a[row]} × B ${answer.layers_b[column]}: ${finite ? `CKA ${formatNumber(value, 3)}` : "not computable (non-finite or constant features)"}${best[row] === column ? " · B's most similar layer" : ""}`,
          className: best[row] === column ? "dv-cell-best" : undefined,
          attrs: { "data-value": finite ? value : "NaN" },
        };
      },
    });
    this.status.set(
      "ready",
      `A: ${answer.run} at step ${answer.step} · B: ${answer.run_b} at step ${answer.step_b} · over ${answer.images} eval images`,
    );
    this.markSelected();
  }

  private describe(cell: Cell | null): void {
    const answer = this.data?.answer;
    if (!answer || !cell) {
      this.readout.textContent = this.clickedText();
      return;
    }
    const raw = answer.cka[cell.row]?.[cell.column] ?? null;
    const value = raw === null ? Number.NaN : toNumber(raw);
    this.readout.textContent = `A ${answer.layers_a[cell.row]} × B ${answer.layers_b[cell.column]}: ${Number.isFinite(value) ? `CKA ${formatNumber(value, 3)}` : "not computable"}`;
  }

  private pick(cell: Cell): void {
    const answer = this.data?.answer;
    const layer = answer?.layers_a[cell.row];
    const state = this.store.get();
    // Only a layer A's run lists (the answer is of the selection, so it should; a late answer may not be).
    if (!answer || layer === undefined || !MAIN.run(state)?.layers.some((entry) => entry.name === layer)) return;
    this.clicked = cell;
    if (layer !== state.layer) this.store.set({ layer, filter: null, unit: null, unitB: null });
    this.markSelected();
    this.readout.textContent = this.clickedText();
  }

  private clickedText(): string {
    const answer = this.data?.answer;
    const cell = this.clicked;
    if (!answer || !cell) return "";
    const a = answer.layers_a[cell.row];
    const b = answer.layers_b[cell.column];
    if (a !== this.store.get().layer) return "";
    return a === b
      ? `selected layer ${a} on both sides`
      : `selected A's layer ${a}; B's ${b} was clicked, and the views show layer ${a} of B as well`;
  }

  private markSelected(): void {
    const answer = this.data?.answer;
    const layer = this.store.get().layer;
    if (!answer) return;
    const row = answer.layers_a.indexOf(layer ?? "");
    const clicked =
      this.clicked && this.clicked.row === row ? this.clicked.column : answer.layers_b.indexOf(layer ?? "");
    this.map.mark("dv-cell-selected", row >= 0 && clicked >= 0 ? [{ row, column: clicked }] : []);
  }
}
