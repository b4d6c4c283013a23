// The Filters view's A/B mode: B's filter bank beside A's and B's activations of the selected
// probe image beside A's, both pairs on one colour scale (SharedScale; the legend line says which),
// with the matched units (A's filter, B's filter, their similarity) and the layer similarity heat
// map below. B is the state's `runB` at `stepB` (or at A's step); the shared picker sets them.
// B's bank pins B's unit (`unitB`), which the matched units panel sets together with A's.

import type { AppContext } from "../../core/context";
import { SIDE_B } from "../../core/derived";
import type { Part } from "../../core/part";
import type { State } from "../../core/state";
import { SharedScale } from "../../panels/ab_scale";
import { ActivationsPanel } from "../../panels/activations";
import { FilterBank, type FilterPin } from "../../panels/filter_bank";
import { LayerSimilarity } from "../../panels/layer_similarity";
import { MatchedUnits } from "../../panels/matched_units";
import { UnitPanel } from "../../panels/unit_panel";
import { h, Status } from "../../ui/dom";
import type { Zoom } from "../../ui/sprite";
import { ensureStyles } from "../../ui/styles";
import { BPicker } from "../confusion/ab";

const CSS = `
.dv-filters-b { flex: 1; min-width: 0; overflow: auto; border-left: 2px solid #cfd8dc; padding-left: 12px; }
.dv-filters-ab-row { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; margin-top: 8px; }
.dv-filters-ab-row > * { flex: 1; min-width: 300px; }
.dv-filters-ab-activations { display: flex; gap: 16px; align-items: flex-start; }
.dv-filters-ab-activations > * { flex: 1; min-width: 0; max-width: 520px; }
.dv-filters-ab-activations .dv-sprite-stage img { max-width: 100%; }
`;

/** B's pin: B's own unit, `unitB` (B's filter i is B's unit i, which need not be A's unit i). */
export const PIN_B: FilterPin = {
  get: (state) => state.unitB,
  set: (filter) => ({ unitB: filter }),
  keys: ["unitB"],
};

export class FiltersAB {
  /** The "compare with B" checkbox (the view's toolbar). */
  readonly toggle: HTMLLabelElement;
  /** B's run and checkpoint (under the toolbar). */
  readonly picker: HTMLElement;
  /** B's filter bank, beside A's. */
  readonly column: HTMLElement;
  /** A's and B's activations side by side (A's panel is moved in here while A/B is on). */
  readonly activations: HTMLElement;
  /** The matched units and the layer similarity, under the banks. */
  readonly below: HTMLElement;
  /** The colour scales A and B share; A's panels take their range from it too. */
  readonly scale: SharedScale;
  private readonly bank: FilterBank;
  private readonly parts: Part[];
  private readonly activationsA: HTMLElement;
  /** Whether B's side is on screen. */
  private shown = false;

  constructor(ctx: AppContext) {
    ensureStyles("filters-ab", CSS);
    const picker = new BPicker(ctx, { kind: "weights", toggleTestid: "filters-ab-toggle", prefix: "filters-" });
    this.toggle = picker.toggle;
    this.picker = picker.element;
    this.scale = new SharedScale(ctx);
    const status = new Status("filters-status-b");
    const info = h("div", { testid: "filter-info-b", class: "dv-panel dv-info", attrs: { "aria-live": "polite" } });
    this.column = h("div", { testid: "filters-b", class: "dv-filters-b" }, h("h3", { text: "B" }), status.element);
    this.bank = new FilterBank(this.column, ctx, {
      status,
      info,
      side: SIDE_B,
      testidSuffix: "-b",
      range: (state) => this.scale.filters(state),
      pin: PIN_B,
    });
    this.column.append(info);
    // B's unit (picked in B's bank or as a matched pair) gets its own panel: B's unit i is not A's.
    const unitB = new UnitPanel(this.column, ctx, {
      side: SIDE_B,
      unitKey: "unitB",
      testidSuffix: "-b",
      hideWhenNone: true,
    });
    this.activationsA = h("div", { testid: "ab-activations-a" });
    const activationsB = h("div", { testid: "ab-activations-b" });
    this.activations = h(
      "div",
      { testid: "ab-activations", class: "dv-filters-ab-activations" },
      this.activationsA,
      activationsB,
    );
    const activations = new ActivationsPanel(activationsB, ctx, {
      side: SIDE_B,
      title: "B's activations",
      testidSuffix: "-b",
      range: (state) => this.scale.activations(state),
    });
    this.below = h("div", { class: "dv-filters-ab-row" });
    const matched = new MatchedUnits(this.below, ctx, { scale: this.scale });
    const similarity = new LayerSimilarity(this.below, ctx);
    this.parts = [this.bank, unitB, activations, matched, similarity];
    // While playing: the layouts the coming steps' shared scales are worked out from.
    ctx.prefetcher.register((step) => {
      const state = ctx.store.get();
      if (!this.shown || state.runB === null) return [];
      return this.scale.layoutUrls({ ...state, step }).map((url) => ({ kind: "json" as const, url }));
    });
  }

  /** Whether A/B is on in `state`. */
  static on(state: Readonly<State>): boolean {
    return state.runB !== null;
  }

  /** Where A's activations panel goes while A/B is on (beside B's). */
  get activationsSlot(): HTMLElement {
    return this.activationsA;
  }

  /** Show or hide B's side; its panels draw only while shown. `weights`: the bank shows weights (not feature visualizations). */
  show(on: boolean, weights: boolean): void {
    this.shown = on;
    this.column.hidden = !on || !weights;
    this.activations.hidden = !on;
    this.below.hidden = !on;
    const [bank, unitB, ...others] = this.parts;
    bank.setActive(on && weights);
    unitB.setActive(on && weights);
    for (const part of others) part.setActive(on);
  }

  setZoom(zoom: Zoom): void {
    this.bank.setZoom(zoom);
  }
}
