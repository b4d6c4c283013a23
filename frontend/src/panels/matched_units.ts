// Matched units (A/B mode): unit i of run A is not unit i of run B, so `filter_match` pairs a
// layer's units between A and B (optimal assignment on the correlation of their activations over
// the probe images, or of their weights). This panel lists the pairs side by side, A's filter,
// B's filter and their similarity, most similar first, then the leftovers: the units only B
// learned and the units only A had. Clicking a pair selects the unit on each side (`unit` and
// `filter` for A, `unitB` for B); clicking a leftover selects it on its side.

import { errorText } from "../api/client";
import type { FilterLayout } from "../api/types";
import { filterMatchUrl, filtersUrl } from "../api/urls";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, SIDE_B } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import type { State } from "../core/state";
import { formatNumber } from "../lib/format";
import { filterTileOrigin } from "../lib/layout";
import { h, replaceChildren, Status, testids } from "../ui/dom";
import { ensureStyles } from "../ui/styles";
import type { SharedScale } from "./ab_scale";

const CSS = `
.dv-matched { max-height: 420px; overflow: auto; }
.dv-match-row { display: flex; gap: 8px; align-items: center; padding: 2px 4px; cursor: pointer; border-radius: 3px; }
.dv-match-row:hover { background: #eceff1; }
.dv-match-row.dv-selected { outline: 2px solid var(--dv-select); }
.dv-match-unit { min-width: 44px; font-variant-numeric: tabular-nums; }
.dv-match-bar { display: inline-block; height: 6px; background: #546e7a; vertical-align: middle; margin-right: 4px; }
.dv-match-tile { image-rendering: pixelated; border: 1px solid #cfd8dc; }
.dv-match-leftovers { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0 8px; }
.dv-match-leftovers button { display: inline-flex; gap: 3px; align-items: center; }
`;

/** The `filter_match` answer. */
export interface FilterMatchResponse {
  layer: string;
  step: number;
  step_b: number;
  /** What the units were matched on: their activations over the probe images, or their weights. */
  basis: "activations" | "weights";
  /** Matched units, A's unit `a` with B's unit `b`, and the correlation of their responses. */
  pairs: { a: number; b: number; similarity: number }[];
  unmatched_a: number[];
  unmatched_b: number[];
  /** The least similarity of a pair. */
  threshold?: number;
}

/** The most pairs listed (a layer may have hundreds of units). */
export const PAIRS_SHOWN = 64;
/** Side of a filter's tile in the list, in CSS pixels. */
const TILE_PX = 36;

/** The pairs, most similar first (then by A's unit, so that the order is stable). */
export function sortPairs(pairs: FilterMatchResponse["pairs"]): FilterMatchResponse["pairs"] {
  return [...pairs].sort((x, y) => y.similarity - x.similarity || x.a - y.a);
}

/** The `filter_match` URL of the state's A/B selection at `layer`, or why there is none. */
export function matchRequest(state: Readonly<State>): { url: string } | { reason: string } {
  if (state.runB === null) return { reason: "Turn on A/B mode to match units between A and B." };
  const runA = MAIN.run(state);
  const runB = SIDE_B.run(state);
  const stepA = MAIN.step(state);
  const stepB = SIDE_B.step(state);
  if (!runA || stepA === null) return { reason: "Select A's run and checkpoint." };
  if (!runB) return { reason: `B's run ${state.runB} is not listed.` };
  if (stepB === null) return { reason: `B's run ${runB.run} has no checkpoints yet.` };
  if (state.layer === null) return { reason: "Select a layer." };
  return { url: filterMatchUrl(runA.run, runB.run, state.layer, stepA, stepB) };
}

/** A sprite and its layout: where each filter's tile is. */
interface Bank {
  image: HTMLImageElement;
  layout: FilterLayout;
}

export interface MatchedUnitsSettings {
  /** The colour range shared with the filter banks (so the tiles look as they do there). */
  scale?: SharedScale;
  /** Appended to the test ids (when two views show the panel). */
  testidSuffix?: string;
}

export class MatchedUnits extends Part {
  readonly element: HTMLElement;
  private readonly status: Status;
  private readonly list: HTMLElement;
  private readonly loads = new Latest();
  /** Test ids with the panel's suffix (every view is in the page at once). */
  private readonly id: (name: string) => string;
  private shown: { key: string; match: FilterMatchResponse; banks: [Bank | null, Bank | null] } | null = null;

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    private readonly settings: MatchedUnitsSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("matched-units", CSS);
    this.id = testids(settings.testidSuffix);
    this.status = new Status(this.id("matched-status"));
    this.list = h("div", { class: "dv-matched" });
    this.element = h(
      "div",
      { testid: this.id("matched-units"), class: "dv-panel" },
      h("h3", { text: "Matched units" }),
      h("div", {
        class: "dv-small dv-muted",
        text: "Unit i of A is not unit i of B: units are paired by their responses (correlation, optimal one-to-one assignment). Click a pair to select both.",
      }),
      this.status.element,
      this.list,
    );
    container.appendChild(this.element);
    this.watch(["runs", "run", "step", "runB", "stepB", "layer", "norm", "loaded"]);
    this.watch(["unit", "unitB"], () => this.markSelected());
  }

  protected refresh(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    this.element.hidden = state.runB === null;
    const request = matchRequest(state);
    if ("reason" in request) {
      this.shown = null;
      this.status.set("empty", request.reason);
      replaceChildren(this.list);
      return;
    }
    const key = request.url;
    if (this.shown?.key === key) return this.markSelected();
    if (!this.shown) this.status.set("loading", `Matching the units of ${state.layer}…`);
    let match: FilterMatchResponse;
    try {
      match = await this.ctx.api.getJson<FilterMatchResponse>(request.url, true);
    } catch (error) {
      if (!current()) return;
      this.shown = null;
      replaceChildren(this.list);
      this.status.set("error", `Cannot match the units of ${state.layer}: ${errorText(error)}`);
      return;
    }
    const banks = await this.banks(state);
    if (!current()) return;
    this.shown = { key, match, banks };
    this.render();
  }

  /** A's and B's filter sprites at the selection (on the shared range), for the tiles; null where a side has none. */
  private async banks(state: Readonly<State>): Promise<[Bank | null, Bank | null]> {
    const layer = state.layer;
    if (layer === null) return [null, null];
    const range = this.settings.scale ? await this.settings.scale.filters(state) : null;
    const one = async (run: ReturnType<typeof MAIN.run>, step: number | null): Promise<Bank | null> => {
      if (!run || step === null || !hasStep(run, "weights", step)) return null;
      if (!run.layers.some((entry) => entry.name === layer && entry.has_weights)) return null;
      const norm = state.norm;
      try {
        const [layout, image] = await Promise.all([
          this.ctx.api.filtersLayout(run.run, layer, step, norm, undefined, range),
          this.ctx.images.load(filtersUrl(run.run, layer, step, norm, undefined, range)),
        ]);
        return { layout, image };
      } catch {
        return null; // the list still names the units
      }
    };
    return Promise.all([one(MAIN.run(state), MAIN.step(state)), one(SIDE_B.run(state), SIDE_B.step(state))]);
  }

  private render(): void {
    const shown = this.shown;
    if (!shown) return;
    const { match, banks } = shown;
    const pairs = sortPairs(match.pairs);
    const basis =
      match.basis === "activations"
        ? "their activations over the probe images"
        : "their weights (no activations logged)";
    const cut = pairs.length > PAIRS_SHOWN ? ` (the ${PAIRS_SHOWN} most similar shown)` : "";
    this.status.set(
      "ready",
      `${match.layer}: ${pairs.length} pair${pairs.length === 1 ? "" : "s"}${cut}, matched on ${basis} · A at step ${match.step}, B at step ${match.step_b}`,
    );
    const rows = pairs.slice(0, PAIRS_SHOWN).map((pair) =>
      h(
        "div",
        {
          testid: this.id("match-pair"),
          class: "dv-match-row",
          title: `A's unit ${pair.a} and B's unit ${pair.b}: similarity ${formatNumber(pair.similarity, 3)}. Click to select both.`,
          attrs: {
            "data-a": pair.a,
            "data-b": pair.b,
            "data-similarity": pair.similarity,
            role: "button",
            tabindex: 0,
          },
          on: {
            click: () => this.store.set({ unit: pair.a, filter: pair.a, unitB: pair.b }),
            keydown: (event: Event) => {
              if ((event as KeyboardEvent).key === "Enter")
                this.store.set({ unit: pair.a, filter: pair.a, unitB: pair.b });
            },
          },
        },
        tile(banks[0], pair.a),
        h("span", { class: "dv-match-unit", text: `A ${pair.a}` }),
        tile(banks[1], pair.b),
        h("span", { class: "dv-match-unit", text: `B ${pair.b}` }),
        h(
          "span",
          { class: "dv-small" },
          h("span", { class: "dv-match-bar", style: { width: `${Math.round(Math.max(0, pair.similarity) * 60)}px` } }),
          formatNumber(pair.similarity, 2),
        ),
      ),
    );
    const leftovers = (testid: string, heading: string, side: 0 | 1, units: readonly number[]) =>
      h(
        "div",
        { testid },
        h("strong", { text: `${heading}: ${units.length}` }),
        units.length
          ? h(
              "div",
              { class: "dv-match-leftovers" },
              ...units.map((unit) =>
                h(
                  "button",
                  {
                    testid: this.id("match-leftover"),
                    class: "dv-link",
                    title: `${side === 0 ? "A" : "B"}'s unit ${unit}: no unit of ${side === 0 ? "B" : "A"} responds like it. Click to select it.`,
                    attrs: { type: "button", "data-unit": unit },
                    on: {
                      click: () => this.store.set(side === 0 ? { unit, filter: unit } : { unitB: unit }),
                    },
                  },
                  tile(banks[side], unit),
                  `${side === 0 ? "A" : "B"} ${unit}`,
                ),
              ),
            )
          : null,
      );
    replaceChildren(
      this.list,
      rows.length ? null : h("div", { class: "dv-muted", text: "No unit of A responds like a unit of B." }),
      ...rows,
      leftovers(this.id("matched-only-b"), "units only B learned", 1, match.unmatched_b),
      leftovers(this.id("matched-only-a"), "units only A had", 0, match.unmatched_a),
    );
    this.markSelected();
  }

  private markSelected(): void {
    const { unit, unitB } = this.store.get();
    for (const row of Array.from(this.list.querySelectorAll<HTMLElement>(".dv-match-row"))) {
      const selected = row.getAttribute("data-a") === String(unit) && row.getAttribute("data-b") === String(unitB);
      row.classList.toggle("dv-selected", selected);
    }
  }
}

/** One filter's tile cut from its bank's sprite (an empty box when the bank or the filter is not drawn). */
function tile(bank: Bank | null, filter: number): HTMLCanvasElement {
  const canvas = h("canvas", { class: "dv-match-tile", attrs: { width: TILE_PX, height: TILE_PX } });
  if (!bank) return canvas;
  const { layout, image } = bank;
  const at = layout.filter_indices ? layout.filter_indices.indexOf(filter) : filter;
  if (at < 0 || at >= layout.filters) return canvas;
  const { x, y } = filterTileOrigin(layout, at);
  const [height, width] = layout.tile;
  const fit = Math.min(TILE_PX / width, TILE_PX / height);
  canvas.width = Math.max(1, Math.round(width * fit));
  canvas.height = Math.max(1, Math.round(height * fit));
  const context = canvas.getContext("2d");
  if (!context) return canvas;
  context.imageSmoothingEnabled = false;
  context.drawImage(image, x, y, width, height, 0, 0, canvas.width, canvas.height);
  return canvas;
}
