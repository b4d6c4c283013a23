// The filter bank: the selected layer's filters at the selected checkpoint as one sprite (with
// its colour key), pointing at a filter outlines it and shows its values, clicking pins it (the
// `filter` selection). While playing, only the image is asked for per frame; the layout (for
// pointing) comes on pause. Reports to the status line it is given.

import { errorText } from "../api/client";
import type { FilterLayout, FilterValues, LayerSummary, NestedNumbers } from "../api/types";
import { toNumber } from "../api/types";
import { filtersUrl, type ValueRange } from "../api/urls";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, type Side } from "../core/derived";
import { Latest, runGate } from "../core/guards";
import { Part } from "../core/part";
import type { Key, State } from "../core/state";
import { WEIGHT_KEY } from "../lib/colours";
import { formatNumber } from "../lib/format";
import { describeFilterPixel, type FilterPixel, filterIndex, filterTileOrigin, locateFilterPixel } from "../lib/layout";
import { h, replaceChildren, type Status, testids } from "../ui/dom";
import { colourKey } from "../ui/legend";
import { imageErrorText, type SpriteMeta, SpriteStage, type Zoom } from "../ui/sprite";
import { describeSharedRange } from "./ab_scale";

export interface FilterBankSettings {
  /** The status line: what is loading, what is shown, what went wrong. */
  status: Status;
  /** Where the facts of the filter pointed at (or pinned) go. */
  info: HTMLElement;
  /** Which run and checkpoint (default: the main selection). */
  side?: Side;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
  /** Called whenever what is drawn over the sprite must follow it (a new sprite, layout, zoom or size). */
  onDrawn?: () => void;
  /** A/B mode: the colour range shared with the other side (null: the bank's own scale, `norm`). */
  range?: (state: Readonly<State>) => Promise<ValueRange | null>;
  /** Which filter is pinned and what a click sets (default: `filter`, and `unit` for a layer with unit records). */
  pin?: FilterPin;
}

/** The state field a bank pins its filter in (A's `filter` and `unit`; B's `unitB`). */
export interface FilterPin {
  /** The pinned filter, or null. */
  get(state: Readonly<State>): number | null;
  /** The state change that pins `filter` (null: unpin). */
  set(filter: number | null, state: Readonly<State>): Partial<State>;
  /** The fields get() reads. */
  readonly keys: readonly Key[];
}

/** A's pin: the `filter`; of a layer with unit records, also that unit (its output channel), so the unit panel opens. */
export const PIN_A: FilterPin = {
  get: (state) => state.filter,
  set: (filter, state) => {
    const hasUnits = MAIN.run(state)?.layers.find((layer) => layer.name === state.layer)?.has_units;
    return hasUnits ? { filter, unit: filter } : { filter };
  },
  keys: ["filter"],
};

/** The weights at a pointed-at pixel (three for an RGB-drawn first layer). */
export function valueAt(values: NestedNumbers[], layout: FilterLayout, at: FilterPixel): number[] {
  if (layout.kind === "linear") return [toNumber(values[at.row * layout.cell_values[1] + at.col] as number)];
  const pick = (channel: number) => {
    const plane = values[channel] as NestedNumbers[][] | undefined;
    return toNumber((plane?.[at.row]?.[at.col] ?? Number.NaN) as number);
  };
  if (layout.kind === "conv_rgb") return [0, 1, 2].map(pick);
  return [pick(at.channel)];
}

const SCALES = {
  filter: "colour scale per filter",
  layer: "colour scale per layer",
  global: "colour scale over all checkpoints",
} as const;

export class FilterBank extends Part {
  readonly stage: SpriteStage;
  private readonly side: Side;
  private readonly status: Status;
  private readonly info: HTMLElement;
  private readonly sprites = new Latest();
  private readonly infos = new Latest();
  private geometry: { key: string; layout: FilterLayout } | null = null;
  private hover: FilterPixel | null = null;
  private hoverTimer: number | null = null;
  private readonly onDrawn: () => void;
  private readonly range: ((state: Readonly<State>) => Promise<ValueRange | null>) | null;
  private readonly pin: FilterPin;

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    settings: FilterBankSettings,
  ) {
    super(ctx.store);
    this.side = settings.side ?? MAIN;
    this.status = settings.status;
    this.info = settings.info;
    this.onDrawn = settings.onDrawn ?? (() => undefined);
    this.range = settings.range ?? null;
    this.pin = settings.pin ?? PIN_A;
    this.stage = new SpriteStage(
      testids(settings.testidSuffix)("filters-sprite"),
      "Filters of the selected layer",
      (url) => ctx.images.load(url),
      () => this.renderPinned(),
      (error, url) =>
        void imageErrorText((u) => ctx.api.getJson(u), error, url).then((text) => this.status.set("error", text)),
    );
    const image = this.stage.image;
    image.addEventListener("mousemove", (event) => this.onMove(event));
    image.addEventListener("mouseleave", () => this.setHover(null));
    image.addEventListener("click", (event) => this.onClick(event));
    container.append(this.stage.element, colourKey(WEIGHT_KEY));

    // On a shared range, the other side's selection changes the scale too.
    const rangeKeys: Key[] = this.range ? ["runB", "stepB"] : [];
    this.watch(
      [...this.side.runKeys, ...this.side.stepKeys, "layer", "norm", ...rangeKeys],
      () => void ctx.gate.track(this.render()),
    );
    // While playing, the layout waits; it comes on pause.
    this.watch(["playing"], () => {
      if (!this.store.get().playing) void this.render();
    });
    this.watch(this.pin.keys, () => this.renderPinned());
    window.addEventListener("resize", () => {
      this.stage.applyZoom();
      this.renderPinned();
    });
    ctx.prefetcher.register((step) => {
      const state = this.store.get();
      const run = this.side.run(state);
      const layer = run?.layers.find((entry) => entry.name === state.layer);
      // A/B mode: the shared range is known per step only once both layouts have come; no prefetch.
      if (this.range && state.runB !== null) return [];
      if (!this.active || !run || !layer?.has_weights || !hasStep(run, "weights", step)) return [];
      return [{ kind: "image", url: filtersUrl(run.run, layer.name, step, state.norm) }];
    });
  }

  setZoom(zoom: Zoom): void {
    this.stage.setZoom(zoom);
    this.renderPinned();
  }

  /** The layout of the sprite on screen (null before it has come, or when nothing is shown). */
  get layout(): FilterLayout | null {
    return this.layoutFor(this.stage.shown);
  }

  protected refresh(): void {
    void this.render();
  }

  /** Show the sprite of the selection; resolves once it is on screen (what playback waits for). */
  private render(): Promise<unknown> {
    const current = this.sprites.start();
    const state = this.store.get();
    const fail = (text: string, kind: "empty" | "loading" = "empty") => {
      this.stage.clear();
      this.onDrawn();
      this.status.set(kind, text);
      void this.renderInfo();
      return Promise.resolve();
    };
    const gate = runGate(state, this.side);
    if (!gate.ok) return fail(gate.text, gate.state);
    const run = gate.run;
    const layer = run.layers.find((entry) => entry.name === state.layer);
    const step = this.side.step(state);
    if (!layer) return fail(`Run ${run.run} has no logged layers.`);
    if (!layer.has_weights)
      return fail(
        `Layer ${layer.name} has no logged weights (it has ${layer.has_activations ? "activations" : "statistics"} only).`,
      );
    if (step === null) return fail(`Run ${run.run} has no checkpoints yet.`);
    if (!hasStep(run, "weights", step)) return fail(`No weights were logged at step ${step}.`);
    if (!this.range) return this.show(current, run.run, layer, step, null);
    return this.range(state).then((range) => (current() ? this.show(current, run.run, layer, step, range) : undefined));
  }

  /** Show the sprite of `layer` at `step`, on `range` when given (A/B mode) else on the state's `norm`. */
  private show(
    current: () => boolean,
    runName: string,
    layer: LayerSummary,
    step: number,
    range: ValueRange | null,
  ): Promise<unknown> {
    const { api } = this.ctx;
    const state = this.store.get();
    const url = filtersUrl(runName, layer.name, step, state.norm, undefined, range);
    const key = `${runName}\u0000${layer.name}\u0000${state.norm}\u0000${range ?? ""}`;
    const scaleText = range ? describeSharedRange("weights", range) : SCALES[state.norm];
    if (this.stage.current !== url) {
      this.status.set("loading", `Loading the filters of ${layer.name} at step ${step}…`);
    }
    const describe = (layout: FilterLayout | null) => {
      const shape = layer.parameter_shapes.weight ?? [];
      const count = layout ? `${layout.filters} filters` : shape.length ? `${shape[0]} filters` : "filters";
      // A deep model's log keeps the first filters of its deeper layers (the writer's byte budget).
      const total = shape[0] ?? 0;
      const kept =
        layout && total > layout.filters
          ? ` · filters 0–${layout.filters - 1} of ${total} kept (a larger checkpoint_bytes logs more)`
          : "";
      return `${layer.name} · ${layer.kind || "layer"} · ${count}${shape.length ? ` of ${shape.slice(1).join("×")}` : ""}${kept} · step ${step} · ${scaleText}`;
    };
    // Not while playing: one request less per frame; pointing meanwhile uses the last layout of
    // the same layer and scale (the tiles do not move between checkpoints).
    const layoutPromise = state.playing
      ? Promise.resolve(null)
      : api.filtersLayout(runName, layer.name, step, state.norm, undefined, range).then(
          (layout) => {
            if (current()) this.geometry = { key, layout };
            return layout;
          },
          () => null,
        );
    // The returned promise ends when the image is on screen; the layout follows on its own.
    return this.stage.show(url, { step, key }).then((ok) => {
      if (!ok || !current()) return;
      this.status.set("ready", describe(null));
      this.renderPinned();
      void layoutPromise.then((layout) => {
        if (!current() || !layout) return;
        this.status.set("ready", describe(layout));
        this.renderPinned();
      });
    });
  }

  private layoutFor(meta: SpriteMeta | null): FilterLayout | null {
    if (!meta || !this.geometry || this.geometry.key !== meta.key) return null;
    return this.geometry.layout;
  }

  private onMove(event: MouseEvent): void {
    const layout = this.layoutFor(this.stage.shown);
    if (!layout) return;
    const pixel = this.stage.pixelAt(event, layout);
    this.setHover(pixel ? locateFilterPixel(layout, pixel.x, pixel.y) : null);
  }

  private onClick(event: MouseEvent): void {
    const layout = this.layoutFor(this.stage.shown);
    const pixel = layout ? this.stage.pixelAt(event, layout) : null;
    const at = layout && pixel ? locateFilterPixel(layout, pixel.x, pixel.y) : null;
    if (!layout || !at) return;
    const index = filterIndex(layout, at.filter);
    const state = this.store.get();
    this.store.set(this.pin.set(this.pin.get(state) === index ? null : index, state));
  }

  private setHover(at: FilterPixel | null): void {
    const same = JSON.stringify(at) === JSON.stringify(this.hover);
    this.hover = at;
    const layout = this.layoutFor(this.stage.shown);
    if (layout && at) {
      const tile = filterTileOrigin(layout, at.filter);
      this.stage.outline("hover", { ...tile, width: layout.tile[1], height: layout.tile[0] }, layout);
    } else {
      this.stage.outline("hover", null);
    }
    if (same) return;
    if (this.hoverTimer !== null) window.clearTimeout(this.hoverTimer);
    this.hoverTimer = window.setTimeout(() => void this.renderInfo(), 40);
  }

  private renderPinned(): void {
    const state = this.store.get();
    const layout = this.layoutFor(this.stage.shown);
    const pinned = this.pin.get(state);
    const rendered =
      layout && pinned !== null ? (layout.filter_indices ? layout.filter_indices.indexOf(pinned) : pinned) : -1;
    if (!layout || rendered < 0 || rendered >= layout.filters) {
      this.stage.outline("pinned", null);
    } else {
      const tile = filterTileOrigin(layout, rendered);
      this.stage.outline("pinned", { ...tile, width: layout.tile[1], height: layout.tile[0] }, layout);
    }
    this.onDrawn();
    void this.renderInfo();
  }

  /** The facts of the filter pointed at, else of the pinned one, else a hint. */
  private async renderInfo(): Promise<void> {
    const current = this.infos.start();
    const state: Readonly<State> = this.store.get();
    const run = this.side.run(state);
    const layout = this.layoutFor(this.stage.shown);
    const step = this.stage.shown?.step ?? null;
    const hint = (text: string) => replaceChildren(this.info, h("span", { class: "dv-muted", text }));
    if (!run || !layout || step === null || !state.layer) {
      hint("Point at a filter to see its values; click to pin it.");
      return;
    }
    const hover = this.hover;
    const pinned = this.pin.get(state);
    const focus = hover ? filterIndex(layout, hover.filter) : pinned;
    if (focus === null) {
      hint(`${layout.filters} filters. Point at one to see its values; click to pin it.`);
      return;
    }
    let values: FilterValues | null = null;
    let error: string | null = null;
    try {
      values = await this.ctx.api.filterValues(run.run, state.layer, step, focus);
    } catch (caught) {
      error = errorText(caught);
    }
    if (!current()) return;
    const rows: [string, string][] = [["filter", `${focus}${pinned === focus ? " (pinned)" : ""}`]];
    if (hover) {
      rows.push(...describeFilterPixel(layout, hover));
      if (values) {
        const at = valueAt(values.values, layout, hover);
        rows.push([at.length > 1 ? "values" : "value", at.map((v) => formatNumber(v, 5)).join(", ")]);
      }
    }
    if (values) {
      const shape = values.weight_shape ?? values.shape;
      rows.push(["shape", shape.length ? shape.join(" × ") : "one value"]);
      rows.push(["min / max", `${formatNumber(values.min)} / ${formatNumber(values.max)}`]);
      rows.push(["mean", formatNumber(values.mean)]);
      rows.push(["L2 norm", formatNumber(values.norm)]);
      if (values.nan_count || values.inf_count)
        rows.push(["non-finite", `${values.nan_count} NaN, ${values.inf_count} Inf`]);
      rows.push(["colour scale", `±${formatNumber(layout.scales[hover ? hover.filter : focus] ?? null)}`]);
    }
    const table = h("dl", { class: "dv-facts" });
    for (const [name, value] of rows) table.append(h("dt", { text: name }), h("dd", { text: value }));
    replaceChildren(
      this.info,
      table,
      error ? h("div", { class: "dv-status-error", text: error }) : null,
      pinned !== null
        ? h("button", {
            class: "dv-link",
            text: "unpin",
            attrs: { type: "button" },
            on: { click: () => this.store.set(this.pin.set(null, this.store.get())) },
          })
        : null,
    );
  }
}
