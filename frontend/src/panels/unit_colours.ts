// Unit colours over a filter bank: each filter's tile framed and lightly washed with the colour
// of its unit (the filter's output channel): hue = the unit's top class (the colour that class has everywhere on
// the dashboard), saturation = its selectivity; dead units dark with a cross. It draws for the
// checkpoint of the sprite on screen, so it changes with the sprite while the timeline plays.

import { errorText } from "../api/client";
import type { FilterLayout, UnitsResponse } from "../api/types";
import { toNumber } from "../api/types";
import { unitsUrl } from "../api/urls";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, type Side, unitsLayer } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import { rgb, rgba, unitRgb } from "../lib/colours";
import { formatNumber } from "../lib/format";
import { filterIndex, filterTileOrigin } from "../lib/layout";
import { className } from "../lib/search";
import { h, replaceChildren, testids } from "../ui/dom";
import { categoryLegend } from "../ui/legend";
import { ensureStyles } from "../ui/styles";
import type { FilterBank } from "./filter_bank";

const CSS = `
.dv-unit-tints { position: absolute; left: 0; top: 0; pointer-events: none; }
.dv-unit-tint { position: absolute; box-sizing: border-box; }
.dv-unit-tint.dv-unit-dead {
  opacity: .88;
  background: linear-gradient(to top right, transparent calc(50% - 1.5px), #fff calc(50% - 1.5px), #fff calc(50% + 1.5px), transparent calc(50% + 1.5px)),
    linear-gradient(to top left, transparent calc(50% - 1.5px), #fff calc(50% - 1.5px), #fff calc(50% + 1.5px), transparent calc(50% + 1.5px)),
    #212121 !important;
}
.dv-unit-legend .dv-legend { margin: 2px 0; }
`;

export interface UnitColoursSettings {
  /** Which run (default: the main selection); the checkpoint is the sprite's. */
  side?: Side;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
}

/** A tile's box as shares of the sprite (CSS percentages, so the wash scales with the sprite). */
export function tileBox(
  layout: FilterLayout,
  tile: number,
): { left: string; top: string; width: string; height: string } {
  const { x, y } = filterTileOrigin(layout, tile);
  const share = (value: number, of: number) => `${((value / of) * 100).toFixed(4)}%`;
  return {
    left: share(x, layout.width),
    top: share(y, layout.height),
    width: share(layout.tile[1], layout.width),
    height: share(layout.tile[0], layout.height),
  };
}

export class UnitColours extends Part {
  /** The wash over the sprite (inside the bank's sprite stage). */
  readonly tints: HTMLElement;
  /** What the colours mean (the view places it). */
  readonly legend: HTMLElement;
  private readonly side: Side;
  private readonly loads = new Latest();
  private readonly classes: HTMLElement;
  private readonly note: HTMLElement;

  constructor(
    private readonly bank: FilterBank,
    private readonly ctx: AppContext,
    settings: UnitColoursSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("unit-colours", CSS);
    this.side = settings.side ?? MAIN;
    const id = testids(settings.testidSuffix);
    this.tints = h("div", { testid: id("unit-colours"), class: "dv-unit-tints", attrs: { "aria-hidden": "true" } });
    this.tints.hidden = true;
    bank.stage.element.appendChild(this.tints);
    this.classes = h("div", { class: "dv-legend" });
    this.note = h("div", { class: "dv-small dv-muted" });
    this.legend = h("div", { testid: id("unit-colours-legend"), class: "dv-unit-legend" }, this.classes, this.note);
    this.legend.hidden = true;
    this.watch([...this.side.runKeys, "layer", "unitColours"]);
    ctx.prefetcher.register((step) => {
      const state = ctx.store.get();
      const run = this.side.run(state);
      const layer = unitsLayer(run, state.layer);
      if (!this.active || !state.unitColours || !run || !layer || !hasStep(run, "units", step)) return [];
      return [{ kind: "json", url: unitsUrl(run.run, layer.name, step) }];
    });
  }

  /** Follow the bank's sprite (a new checkpoint, layout, zoom or size). */
  update(): void {
    if (this.active) void this.render();
  }

  protected override activeChanged(active: boolean): void {
    if (!active) this.loads.cancel();
  }

  protected refresh(): void {
    void this.render();
  }

  private async render(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    const run = this.side.run(state);
    const layer = unitsLayer(run, state.layer);
    const layout = this.bank.layout;
    const step = this.bank.stage.shown?.step ?? null;
    const off = (note = "") => {
      this.tints.hidden = true;
      this.legend.hidden = !note;
      replaceChildren(this.classes);
      this.note.textContent = note;
    };
    if (!state.unitColours || !run) return off();
    if (!layer) return off(`Layer ${state.layer ?? "–"} has no unit records to colour its filters by.`);
    if (!layout || step === null) return off();
    if (!hasStep(run, "units", step)) return off(`No unit summary was logged at step ${step}.`);
    let units: UnitsResponse;
    let names: readonly string[] = run.class_names;
    try {
      [units, names] = await Promise.all([
        this.ctx.api.units(run.run, layer.name, step),
        run.kinds.includes("corpus")
          ? this.ctx.api.corpus(run.run).then(
              (corpus) => (corpus.class_names?.length ? corpus.class_names : run.class_names),
              () => run.class_names,
            )
          : Promise.resolve(run.class_names),
      ]);
    } catch (error) {
      if (current()) off(`Could not load the units of ${layer.name}: ${errorText(error)}`);
      return;
    }
    if (!current() || this.bank.layout !== layout) return;
    const tiles: HTMLElement[] = [];
    for (let tile = 0; tile < layout.filters; tile += 1) {
      const unit = filterIndex(layout, tile);
      const info = units.units[unit];
      if (!info) continue;
      const selectivity = toNumber(info.selectivity);
      const colour = unitRgb(info.top_class, selectivity);
      tiles.push(
        h("div", {
          class: info.dead ? "dv-unit-tint dv-unit-dead" : "dv-unit-tint",
          title: info.dead
            ? `unit ${unit}: dead (never positive on an eval image)`
            : `unit ${unit}: top class ${className(names, info.top_class)}, selectivity ${formatNumber(selectivity, 2)}`,
          attrs: {
            "data-unit": unit,
            "data-top-class": info.top_class,
            "data-selectivity": selectivity,
            "data-dead": info.dead ? "true" : "false",
            "data-colour": rgb(colour),
          },
          // A frame in the unit's colour and a light wash of it: the weights stay readable beneath.
          style: {
            ...tileBox(layout, tile),
            background: rgba(colour, 0.45),
            boxShadow: `inset 0 0 0 3px ${rgb(colour)}`,
          },
        }),
      );
    }
    // The wash has the sprite's size: its width as drawn, its height by the sprite's proportions.
    this.tints.style.width = this.bank.stage.image.style.width || `${layout.width}px`;
    this.tints.style.aspectRatio = `${layout.width} / ${layout.height}`;
    this.tints.setAttribute("data-step", String(step));
    replaceChildren(this.tints, ...tiles);
    this.tints.hidden = false;
    this.legend.hidden = false;
    categoryLegend(this.classes, names);
    const dead = units.units.filter((unit) => unit.dead).length;
    this.note.textContent = `Filters coloured by their unit at step ${step}: hue = top class, vivid = selective for it, grey = responds to every class alike; dark with a cross = dead (${dead} of ${units.units.length}).`;
  }
}
