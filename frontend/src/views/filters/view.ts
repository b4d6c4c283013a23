// Filters view (deepViz's main screen): the selected layer's filter bank at the selected
// checkpoint with the facts of the filter pointed at (optionally coloured by what each unit
// responds to; clicking a filter of a layer with unit records opens its unit panel below the
// bank); beside it the selected image (facts, predicted classes, Grad-CAM), its activations at
// that layer and the probe images; below, the corpus browser. For a run with feature
// visualizations, "show" swaps the filter bank for the layer's units' feature visualizations (the
// latest render at or before the checkpoint; clicking one opens its unit panel likewise). The
// view is the toolbar and the layout; the panels do the drawing.

import type { AppContext } from "../../core/context";
import { currentRun, layersWithFeatureVis } from "../../core/derived";
import type { Part } from "../../core/part";
import type { FiltersShow, State } from "../../core/state";
import { ActivationsPanel } from "../../panels/activations";
import { CorpusBrowser } from "../../panels/corpus_browser";
import { FeatureVisBank } from "../../panels/feature_vis_bank";
import { FilterBank } from "../../panels/filter_bank";
import { ProbeChips } from "../../panels/probe_chips";
import { SelectedImage } from "../../panels/selected_image";
import { UnitColours } from "../../panels/unit_colours";
import { UnitPanel } from "../../panels/unit_panel";
import { checkbox, h, Status, select, setOptions } from "../../ui/dom";
import type { Zoom } from "../../ui/sprite";
import { ensureStyles } from "../../ui/styles";
import { TabView } from "../common";
import { FiltersAB } from "./ab";

const CSS = `
.dv-filters-main { display: flex; gap: 16px; align-items: flex-start; }
.dv-filters-sprite { flex: 1; min-width: 0; overflow: auto; }
.dv-filters-side { width: 330px; flex: none; }
.dv-filters-side .dv-sprite-stage img { max-width: 100%; }
@media (max-width: 1100px) {
  .dv-filters-main { flex-direction: column; }
  .dv-filters-side { width: 100%; }
}
`;

export class FiltersView extends TabView {
  private readonly status = new Status();
  private readonly layerSelect: HTMLSelectElement;
  private readonly normSelect: HTMLSelectElement;
  private readonly showSelect: HTMLSelectElement;
  private readonly showLabel: HTMLElement;
  private readonly unitColours: { label: HTMLLabelElement; input: HTMLInputElement };
  /** Panels shown whatever the bank shows. */
  private readonly panels: Part[];
  /** The filter bank and its unit colours (weights), and the feature visualization bank. */
  private readonly weightsParts: Part[];
  private readonly featureVis: FeatureVisBank;
  private readonly weightsBox: HTMLElement;
  private readonly filterHeading: HTMLElement;
  private readonly filterInfo: HTMLElement;
  private readonly unitInfo: HTMLElement;
  /** What the bank shows now (the state's choice, for a run that has feature visualizations). */
  private showing: FiltersShow = "weights";
  private readonly ab: FiltersAB;
  /** A's activations (moved beside B's in A/B mode) and its place in the side column. */
  private readonly activationsBox = h("div", {});
  private readonly activationsHome = h("div", {});

  constructor(ctx: AppContext, root: HTMLElement) {
    super(ctx, root);
    ensureStyles("filters", CSS);
    root.classList.add("dv-filters");
    const { store } = ctx;
    this.layerSelect = select(
      "filters-layer",
      [],
      "",
      (layer) => store.set({ layer, filter: null, unit: null, unitB: null }),
      "Layer",
    );
    this.normSelect = select(
      "filters-norm",
      [
        ["filter", "per filter"],
        ["layer", "per layer"],
        ["global", "global over time"],
      ],
      store.get().norm,
      (norm) => store.set({ norm: norm as State["norm"] }),
      "Colour scale of the weights",
    );
    this.showSelect = select(
      "filters-show",
      [
        ["weights", "weights"],
        ["feature_vis", "feature visualization"],
      ],
      store.get().filtersShow,
      (show) => store.set({ filtersShow: show as FiltersShow }),
      "What the bank shows: the layer's weights, or an image that excites each unit (rendered at some checkpoints)",
    );
    this.showLabel = h("label", { class: "dv-inline" }, "show ", this.showSelect);
    const sprite = h("div", { class: "dv-filters-sprite" });
    this.weightsBox = h("div", { class: "dv-filters-weights" });
    const info = h("div", { testid: "filter-info", class: "dv-panel dv-info", attrs: { "aria-live": "polite" } });
    this.filterInfo = info;
    this.unitInfo = h("div", { testid: "fv-info", class: "dv-panel dv-info", attrs: { "aria-live": "polite" } });
    this.filterHeading = h("h3", { text: "Filter" });
    const side = h(
      "div",
      { class: "dv-filters-side" },
      this.filterHeading,
      info,
      this.unitInfo,
      h("h3", { text: "Selected image" }),
    );
    sprite.appendChild(this.weightsBox);
    this.ab = new FiltersAB(ctx);
    const scale = this.ab.scale;
    let colours: UnitColours | null = null;
    const bank = new FilterBank(this.weightsBox, ctx, {
      status: this.status,
      info,
      onDrawn: () => colours?.update(),
      range: (state) => scale.filters(state),
    });
    colours = new UnitColours(bank, ctx);
    this.weightsBox.appendChild(colours.legend);
    this.featureVis = new FeatureVisBank(sprite, ctx, { status: this.status, info: this.unitInfo });
    this.unitColours = checkbox("filters-unit-colours", "colour by unit", store.get().unitColours, (checked) =>
      store.set({ unitColours: checked }),
    );
    this.unitColours.label.title =
      "Colour each filter by its unit: hue = the class it responds to most, saturation = how selective it is; dead units crossed";
    const unitPanel = new UnitPanel(sprite, ctx, { hideWhenNone: true });
    const zoom = select(
      "filters-zoom",
      [
        ["fit", "fit"],
        ["1", "1×"],
        ["2", "2×"],
        ["3", "3×"],
      ],
      "fit",
      (value) => {
        bank.setZoom(value as Zoom);
        this.ab.setZoom(value as Zoom);
        this.featureVis.setZoom(value as Zoom);
      },
      "Zoom",
    );
    root.append(
      h(
        "div",
        { class: "dv-toolbar" },
        h("label", { class: "dv-inline" }, "layer ", this.layerSelect),
        this.showLabel,
        h("label", { class: "dv-inline" }, "colour scale ", this.normSelect),
        h("label", { class: "dv-inline" }, "zoom ", zoom),
        this.unitColours.label,
        this.ab.toggle,
      ),
      this.ab.picker,
      this.status.element,
      h("div", { class: "dv-filters-main" }, sprite, this.ab.column, side),
      this.ab.activations,
      this.ab.below,
    );
    this.weightsParts = [bank, colours];
    this.panels = [
      unitPanel,
      new SelectedImage(side, ctx, { gradcam: true, thumbnailSize: 128 }),
      new ActivationsPanel(this.placeActivations(side), ctx, { range: (state) => scale.activations(state) }),
      new ProbeChips(side, ctx),
      new CorpusBrowser(root, ctx),
    ];
    this.watch(["runs", "run", "layer", "filtersShow"]);
    store.subscribe((s) => (this.normSelect.value = s.norm), ["norm"]);
    store.subscribe((s) => (this.showSelect.value = s.filtersShow), ["filtersShow"]);
    store.subscribe((s) => (this.unitColours.input.checked = s.unitColours), ["unitColours"]);
    store.subscribe(() => this.applyAB(), ["runB"]);
  }

  /** A's activations panel's box, in the side column until A/B mode moves it beside B's. */
  private placeActivations(side: HTMLElement): HTMLElement {
    side.append(this.activationsHome);
    this.activationsHome.append(this.activationsBox);
    return this.activationsBox;
  }

  /** A/B mode: B's bank beside A's (when the bank shows weights), A's activations beside B's. */
  private applyAB(): void {
    const on = this.store.get().runB !== null;
    (on ? this.ab.activationsSlot : this.activationsHome).append(this.activationsBox);
    this.root.setAttribute("data-ab", on ? "on" : "off");
    this.ab.show(this.active && on, this.showing === "weights");
  }

  protected override activeChanged(active: boolean): void {
    super.activeChanged(active);
    this.showing = this.chosenShow();
    this.applyShow();
    for (const panel of this.panels) panel.setActive(active);
    this.applyAB();
  }

  /** Feature visualizations when chosen and the run has any (an old link elsewhere shows weights). */
  private chosenShow(): FiltersShow {
    const state = this.store.get();
    const run = currentRun(state);
    return state.filtersShow === "feature_vis" && (!run || layersWithFeatureVis(run).length > 0)
      ? "feature_vis"
      : "weights";
  }

  /** One bank on screen (the other draws and prefetches nothing), with its controls and facts. */
  private applyShow(): void {
    const featureVis = this.showing === "feature_vis";
    this.weightsBox.hidden = featureVis;
    this.featureVis.element.hidden = !featureVis;
    this.filterInfo.hidden = featureVis;
    this.unitInfo.hidden = !featureVis;
    this.filterHeading.textContent = featureVis ? "Unit" : "Filter";
    this.normSelect.disabled = featureVis;
    this.root.setAttribute("data-show", this.showing);
    for (const part of this.weightsParts) part.setActive(this.active && !featureVis);
    this.featureVis.setActive(this.active && featureVis);
    this.applyAB();
  }

  /** The layer menu: the run's logged layers, the selected one chosen. */
  protected refresh(): void {
    const state = this.store.get();
    const layers = currentRun(state)?.layers ?? [];
    setOptions(
      this.layerSelect,
      layers.map((layer) => [layer.name, layer.kind ? `${layer.name} (${layer.kind})` : layer.name]),
      state.layer ?? "",
    );
    this.layerSelect.disabled = layers.length === 0;
    // The unit colours need unit records of the layer.
    const hasUnits = Boolean(layers.find((layer) => layer.name === state.layer)?.has_units);
    this.unitColours.label.hidden = !layers.some((layer) => layer.has_units);
    // "show" for a run with feature visualizations (and while chosen, so that it can be switched back).
    const run = currentRun(state);
    this.showLabel.hidden = !layersWithFeatureVis(run).length && state.filtersShow === "weights";
    this.showSelect.value = state.filtersShow;
    const showing = this.chosenShow();
    if (showing !== this.showing) {
      this.showing = showing;
      this.applyShow();
    }
    this.unitColours.input.disabled = !hasUnits || showing === "feature_vis";
  }
}
