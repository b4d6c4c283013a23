// The unit panel: what one unit of the selected layer responds to at the selected checkpoint.
// Its top-9 eval images as crops of their receptive-field boxes (pointing at one shows the whole
// image with the box drawn on it; clicking selects the image), its class means as bars, its
// selectivity and top class, and over all checkpoints the stability of its top images (overlap
// with the previous checkpoint's: units whose examples never settle stand out) and its
// selectivity. Beside the top images, its feature visualization (an image rendered to excite
// it, from the latest render at or before the checkpoint: renders happen at some checkpoints
// only), or "no signal" for a unit whose objective stayed near zero. It follows the timeline; the
// Filters, Units and Confusion views open it.

import { errorText } from "../api/client";
import type { CorpusResponse, FeatureVisLayout, TopImagesResponse, UnitsHistoryResponse } from "../api/types";
import { toNumber } from "../api/types";
import { featureVisLayoutUrl, featureVisSpriteUrl, topImagesSpriteUrl, topImagesUrl } from "../api/urls";
import { BarChart } from "../charts/bars";
import { LineChart } from "../charts/line_chart";
import type { AppContext } from "../core/context";
import {
  featureVisLayer,
  featureVisStep,
  hasStep,
  layersWithUnits,
  MAIN,
  nearestCheckpoint,
  type Side,
  unitsLayer,
  unitsVersion,
} from "../core/derived";
import { Latest, runGate } from "../core/guards";
import { Part } from "../core/part";
import type { PrefetchItem } from "../core/timeline";
import { categoricalColor } from "../lib/colours";
import {
  featureVisPosition,
  methodText,
  noFeatureVisText,
  notRenderedYetText,
  renderedAtText,
  unitsText,
} from "../lib/feature_vis";
import { formatNumber } from "../lib/format";
import { className } from "../lib/search";
import { boxOnImage, CROP_SIZE, cropX, TOP_SHOWN, unitSeries } from "../lib/units";
import { h, replaceChildren, Status, testids } from "../ui/dom";
import { drawFeatureVisCell } from "../ui/feature_vis";
import { ensureStyles } from "../ui/styles";
import { thumbnailsFor } from "../ui/thumbnails";
import { UnitsHistory } from "./units_history";

const CSS = `
.dv-unit-panel { margin-top: 8px; }
.dv-unit-head { display: flex; align-items: baseline; gap: 10px; }
.dv-unit-head strong { font-size: 13px; }
.dv-unit-body { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.dv-unit-crops { display: grid; grid-template-columns: repeat(3, 52px); gap: 3px; }
.dv-unit-crop { width: 52px; height: 52px; image-rendering: pixelated; cursor: pointer; background: #ddd; display: block; }
.dv-unit-crop:hover, .dv-unit-crop.dv-hovered { outline: 2px solid var(--dv-accent); }
.dv-unit-crop.dv-selected { outline: 3px solid var(--dv-select); }
.dv-unit-preview { position: relative; display: inline-block; line-height: 0; }
.dv-unit-box { position: absolute; border: 2px solid var(--dv-accent); box-shadow: 0 0 0 1px #fff; pointer-events: none; box-sizing: border-box; }
.dv-unit-side { min-width: 220px; flex: 1; max-width: 360px; }
.dv-unit-bars { margin-top: 8px; }
.dv-unit-top .dv-bar { background: var(--dv-accent); }
.dv-unit-top .dv-bar-label { font-weight: 600; }
.dv-unit-charts { display: flex; flex-wrap: wrap; gap: 8px; }
.dv-unit-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.dv-unit-fv { width: 132px; }
.dv-unit-fv-image { width: 132px; height: 132px; image-rendering: pixelated; display: block; background: #ddd; }
.dv-unit-fv-nosignal { width: 132px; height: 132px; display: flex; align-items: center; justify-content: center; background: repeating-linear-gradient(45deg, #eee, #eee 6px, #e0e0e0 6px, #e0e0e0 12px); color: var(--dv-muted); font-weight: 600; border: 1px dashed #bdbdbd; }
.dv-unit-fv-caption { margin-top: 2px; }
.dv-unit-fv[data-state=earlier] .dv-unit-fv-caption { color: #8d6e00; }
`;

/** More classes than this and only the 10 largest class means are drawn. */
const ALL_CLASSES_UP_TO = 12;
const PREVIEW_SIZE = 132;
const CHART_WIDTH = 300;

export interface UnitPanelSettings {
  /** Which run and checkpoint (default: the main selection). */
  side?: Side;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
  /** Hidden while no unit is selected (else it says how to pick one). */
  hideWhenNone?: boolean;
  /** The hint shown while no unit is selected. */
  hint?: string;
  /** The state field holding the unit shown (default `unit`; B's side of the A/B mode: `unitB`). */
  unitKey?: "unit" | "unitB";
}

interface Shown {
  run: string;
  layer: string;
  step: number;
  answer: TopImagesResponse;
  names: readonly string[];
  /** The crops (null for a unit without top images). */
  sprite: HTMLImageElement | null;
}

/** What the feature visualization block shows (its `data-state`). */
export type FeatureVisState = "ready" | "earlier" | "no-signal" | "none" | "loading" | "error";

/** A number for the facts: NaN/Inf as words, else `digits` significant digits. */
function fact(value: unknown, digits = 3): string {
  return formatNumber(toNumber(value as number), digits);
}

export class UnitPanel extends Part {
  readonly element: HTMLElement;
  private readonly side: Side;
  private readonly unitKey: "unit" | "unitB";
  private readonly id: (name: string) => string;
  private readonly heading: HTMLElement;
  private readonly status: Status;
  private readonly body: HTMLElement;
  /** The parts of the body about the unit records (hidden for a layer with a feature visualization only). */
  private readonly unitParts: HTMLElement[];
  private readonly fv: HTMLElement;
  private readonly fvImage: HTMLCanvasElement;
  private readonly fvNoSignal: HTMLElement;
  private readonly fvCaption: HTMLElement;
  private readonly fvLoads = new Latest();
  private readonly crops: HTMLElement;
  private readonly preview: HTMLElement;
  private readonly box: HTMLElement;
  private readonly previewCaption: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly bars: BarChart;
  private readonly stabilityChart: LineChart;
  private readonly selectivityChart: LineChart;
  private readonly loads = new Latest();
  private shown: Shown | null = null;
  private readonly histories: UnitsHistory;
  private hovered: number | null = null;
  private previewThumb: HTMLCanvasElement | null = null;

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    private readonly settings: UnitPanelSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("unit-panel", CSS);
    this.side = settings.side ?? MAIN;
    this.histories = new UnitsHistory(ctx.api);
    this.unitKey = settings.unitKey ?? "unit";
    const id = testids(settings.testidSuffix);
    this.id = id;
    this.heading = h("strong", { testid: id("unit-title") });
    this.status = new Status(id("unit-status"));
    this.crops = h("div", {
      testid: id("unit-crops"),
      class: "dv-unit-crops",
      attrs: { role: "list", "aria-label": "Top images of the unit" },
    });
    this.crops.addEventListener("mouseleave", () => this.hover(null));
    this.box = h("div", { testid: id("unit-box"), class: "dv-unit-box" });
    this.box.hidden = true;
    this.preview = h("div", { testid: id("unit-preview"), class: "dv-unit-preview" }, this.box);
    this.previewCaption = h("div", { testid: id("unit-preview-caption"), class: "dv-small dv-muted" });
    this.facts = h("dl", { testid: id("unit-facts"), class: "dv-facts" });
    const side = h("div", { class: "dv-unit-side" }, this.facts);
    this.bars = new BarChart(side, { testid: id("unit-class-means"), className: "dv-unit-bars" });
    const charts = h("div", { class: "dv-unit-charts" });
    const chart = (testid: string) =>
      new LineChart(charts, {
        testid,
        height: 120,
        width: () => CHART_WIDTH,
        onClick: (x) => this.moveTimeline(x),
      });
    this.stabilityChart = chart(id("unit-stability"));
    this.selectivityChart = chart(id("unit-selectivity-history"));
    this.fvImage = h("canvas", {
      testid: id("unit-fv-image"),
      class: "dv-unit-fv-image",
      attrs: { role: "img", "aria-label": "Feature visualization of the unit" },
    });
    this.fvNoSignal = h("div", { testid: id("unit-fv-no-signal"), class: "dv-unit-fv-nosignal", text: "no signal" });
    this.fvCaption = h("div", { testid: id("unit-fv-caption"), class: "dv-small dv-muted dv-unit-fv-caption" });
    this.fv = h(
      "div",
      { testid: id("unit-fv"), class: "dv-unit-fv", attrs: { "data-state": "none" } },
      h("div", { class: "dv-small dv-muted", text: "feature visualization" }),
      this.fvImage,
      this.fvNoSignal,
      this.fvCaption,
    );
    this.fv.hidden = true;
    const cropsColumn = h(
      "div",
      {},
      h("div", { class: "dv-small dv-muted", text: "top images (receptive fields)" }),
      this.crops,
    );
    const previewColumn = h("div", {}, this.preview, this.previewCaption);
    const note = h("div", {
      class: "dv-small dv-muted",
      text: "Selectivity compares the unit's mean response to its top class with its other classes'; it does not say whether the network relies on the unit. Class means are of the rectified output (ReLU of what the module outputs, usually the pre-activation).",
    });
    this.unitParts = [cropsColumn, previewColumn, side, charts, note];
    this.body = h(
      "div",
      {},
      h("div", { class: "dv-unit-body" }, cropsColumn, this.fv, previewColumn, side),
      charts,
      note,
    );
    this.element = h(
      "div",
      { testid: id("unit-panel"), class: "dv-unit-panel dv-panel", attrs: { "aria-live": "polite" } },
      h(
        "div",
        { class: "dv-unit-head" },
        this.heading,
        h("button", {
          testid: id("unit-panel-close"),
          class: "dv-link",
          text: "close",
          attrs: { type: "button" },
          on: { click: () => this.store.set({ [this.unitKey]: null }) },
        }),
      ),
      this.status.element,
      this.body,
    );
    this.element.hidden = Boolean(settings.hideWhenNone);
    container.appendChild(this.element);

    this.watch([...this.side.runKeys, ...this.side.stepKeys, "layer", this.unitKey], () => {
      void ctx.gate.track(this.render());
      void ctx.gate.track(this.renderFeatureVis());
    });
    this.watch(["image"], () => this.markSelected());
    ctx.prefetcher.register((step) => {
      const state = ctx.store.get();
      const run = this.side.run(state);
      const unit = state[this.unitKey];
      if (!this.active || !run || unit === null) return [];
      const items: PrefetchItem[] = [];
      const layer = unitsLayer(run, state.layer);
      if (layer && hasStep(run, "units", step)) {
        items.push(
          { kind: "json", url: topImagesUrl(run.run, layer.name, unit, step) },
          { kind: "image", url: topImagesSpriteUrl(run.run, layer.name, unit, step) },
        );
      }
      // The render the step shows: the same URLs for every checkpoint up to the next render.
      const visualized = featureVisLayer(run, state.layer);
      const rendered = visualized ? featureVisStep(run, step) : null;
      if (visualized && rendered !== null) {
        items.push(
          { kind: "json", url: featureVisLayoutUrl(run.run, visualized.name, rendered) },
          { kind: "image", url: featureVisSpriteUrl(run.run, visualized.name, rendered) },
        );
      }
      return items;
    });
  }

  protected override activeChanged(active: boolean): void {
    if (!active) {
      this.loads.cancel();
      this.fvLoads.cancel();
    }
  }

  protected refresh(): void {
    void this.render();
    void this.renderFeatureVis();
  }

  /** The body shows while the unit records or the feature visualization have something to show. */
  private updateBody(): void {
    for (const part of this.unitParts) part.hidden = !this.shown;
    this.body.hidden = !this.shown && this.fv.hidden;
  }

  /** Draw the selection; resolves once the crops are on screen (what playback waits for). */
  private async render(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    // B's side with A/B off (no B run) shows nothing, as with no unit selected.
    const unit = this.side !== MAIN && state.runB === null ? null : state[this.unitKey];
    const empty = (state: "loading" | "empty" | "error", text: string) => {
      this.shown = null;
      this.status.set(state, text);
      this.updateBody();
      this.element.removeAttribute("data-unit");
      this.element.removeAttribute("data-step");
    };
    if (unit === null) {
      this.element.hidden = Boolean(this.settings.hideWhenNone);
      this.heading.textContent = "Unit";
      return empty("empty", this.settings.hint ?? "Click a unit to see what it responds to.");
    }
    this.element.hidden = false;
    const gate = runGate(state, this.side);
    if (!gate.ok) return empty(gate.state, gate.text);
    const run = gate.run;
    const layer = unitsLayer(run, state.layer);
    this.heading.textContent = `Unit ${unit} of ${state.layer ?? "–"}`;
    if (!layer) {
      const names = layersWithUnits(run).map((entry) => entry.name);
      return empty(
        "empty",
        names.length
          ? `Layer ${state.layer ?? "–"} has no unit records; layers with them: ${names.join(", ")}.`
          : `Run ${run.run} has no unit records (what each unit responds to).`,
      );
    }
    const step = this.side.step(state);
    if (step === null) return empty("empty", `Run ${run.run} has no checkpoints yet.`);
    if (!hasStep(run, "units", step)) return empty("empty", `No unit summary was logged at step ${step}.`);
    void this.loadHistory(run.run, layer.name, unitsVersion(run));
    if (!this.shown) this.status.set("loading", `Loading unit ${unit} of ${layer.name} at step ${step}…`);
    const { api, images } = this.ctx;
    // The sprite is asked for at once, beside its JSON (the URL the answer names; prefetched alike).
    const spriteUrl = topImagesSpriteUrl(run.run, layer.name, unit, step);
    const early = images.load(spriteUrl).catch(() => null);
    let answer: TopImagesResponse;
    let corpus: CorpusResponse | null;
    let sprite: HTMLImageElement | null = null;
    let spriteError: unknown = null;
    try {
      [answer, corpus] = await Promise.all([
        api.topImages(run.run, layer.name, unit, step),
        run.kinds.includes("corpus") ? api.corpus(run.run).catch(() => null) : Promise.resolve(null),
      ]);
    } catch (error) {
      if (current()) empty("error", `Could not load unit ${unit} of ${layer.name}: ${errorText(error)}`);
      return;
    }
    if (answer.images.length && answer.sprite) {
      // Without its crops the unit's facts still show; the status says what went wrong.
      try {
        sprite = (answer.sprite === spriteUrl ? await early : null) ?? (await images.load(answer.sprite));
      } catch (error) {
        spriteError = error;
      }
    }
    if (!current()) return;
    const names = corpus?.class_names?.length ? corpus.class_names : run.class_names;
    this.shown = { run: run.run, layer: layer.name, step, answer, names, sprite };
    this.updateBody();
    this.drawCrops();
    this.drawPreview();
    this.drawFacts();
    this.drawBars();
    this.drawHistory();
    const top = className(names, answer.top_class);
    if (spriteError) this.status.set("error", `Could not load the top images' crops: ${errorText(spriteError)}`);
    else
      this.status.set(
        "ready",
        `${layer.name} · unit ${unit} · step ${answer.step} · ${answer.dead ? "dead: never positive on an eval image" : `top class ${top}, selectivity ${fact(answer.selectivity, 2)}`}`,
      );
    this.element.setAttribute("data-unit", String(unit));
    this.element.setAttribute("data-layer", layer.name);
    this.element.setAttribute("data-step", String(answer.step));
  }

  /**
   * The unit's feature visualization beside its top images: the latest render at or before the
   * checkpoint, drawn from the layer's sprite (the one playback prefetches), or "no signal", or
   * why there is none. Resolves once it is drawn (what playback waits for).
   */
  private async renderFeatureVis(): Promise<void> {
    const current = this.fvLoads.start();
    const state = this.store.get();
    const unit = state[this.unitKey];
    const run = runGate(state, this.side).ok ? this.side.run(state) : null;
    const fv = this.fv;
    const show = (mode: FeatureVisState, caption: string, rendered: number | null = null) => {
      fv.hidden = false;
      fv.setAttribute("data-state", mode);
      if (rendered === null) fv.removeAttribute("data-step");
      else fv.setAttribute("data-step", String(rendered));
      this.fvImage.hidden = mode !== "ready" && mode !== "earlier";
      this.fvNoSignal.hidden = mode !== "no-signal";
      this.fvCaption.textContent = caption;
      this.updateBody();
    };
    // A run without any feature visualization: nothing to say about it in every unit panel.
    if (unit === null || !run || !run.kinds.includes("feature_vis")) {
      fv.hidden = true;
      fv.setAttribute("data-state", "none");
      fv.removeAttribute("data-step");
      this.updateBody();
      return;
    }
    fv.setAttribute("data-unit", String(unit));
    const layer = featureVisLayer(run, state.layer);
    const step = this.side.step(state);
    if (!layer) return show("none", noFeatureVisText(run, state.layer));
    if (step === null) return show("none", `Run ${run.run} has no checkpoints yet.`);
    const rendered = featureVisStep(run, step);
    if (rendered === null) return show("none", notRenderedYetText(run, step));
    const { api, images } = this.ctx;
    const spriteUrl = featureVisSpriteUrl(run.run, layer.name, rendered);
    // What is on screen stays until the next render is drawn (no blank frame while playing).
    if (fv.getAttribute("data-state") !== "ready" && fv.getAttribute("data-state") !== "earlier")
      show("loading", `Loading the feature visualization of unit ${unit}…`);
    const early = images.load(spriteUrl).catch(() => null);
    let layout: FeatureVisLayout;
    let sprite: HTMLImageElement | null;
    try {
      layout = await api.featureVisLayout(run.run, layer.name, rendered);
      // The sprite of the step the layout names (the same URL unless the route fell back further).
      sprite =
        layout.step === rendered
          ? await early
          : await images.load(featureVisSpriteUrl(run.run, layer.name, layout.step)).catch(() => null);
    } catch (error) {
      if (current()) show("error", `Could not load the feature visualization: ${errorText(error)}`);
      return;
    }
    if (!current()) return;
    const position = featureVisPosition(layout, unit);
    if (position < 0) {
      return show(
        "none",
        `Unit ${unit} was not rendered at step ${layout.step} (units rendered: ${unitsText(layout.units)}).`,
        layout.step,
      );
    }
    const when = renderedAtText(layout.step, step);
    const objective = fact(layout.objective[position]);
    if (layout.no_signal[position]) {
      return show(
        "no-signal",
        `No signal: the unit's objective stayed near zero (${objective}), so its image would be plain grey; ${when}.`,
        layout.step,
      );
    }
    if (!sprite) {
      return show("error", `Could not load the feature visualization's image (${when}).`, layout.step);
    }
    drawFeatureVisCell(this.fvImage, sprite, layout, position);
    this.fvImage.title = `unit ${unit}: objective ${objective} · ${methodText(layout)}`;
    show(
      layout.step === step ? "ready" : "earlier",
      `${when[0].toUpperCase()}${when.slice(1)} · objective ${objective}`,
      layout.step,
    );
  }

  private drawCrops(): void {
    const shown = this.shown;
    if (!shown) return;
    const { answer, sprite } = shown;
    const count = Math.min(TOP_SHOWN, answer.images.length);
    const size = answer.cell || CROP_SIZE;
    const crops: HTMLElement[] = [];
    for (let rank = 0; rank < count; rank += 1) {
      const image = answer.images[rank];
      const canvas = h("canvas", {
        testid: this.id("unit-crop"),
        class: "dv-unit-crop",
        title: `image #${image} · score ${fact(answer.values[rank])}; click to select it`,
        attrs: { role: "listitem", "data-index": image, "data-rank": rank },
      });
      canvas.width = size;
      canvas.height = size;
      if (!sprite) canvas.classList.add("dv-thumb-missing");
      const context = canvas.getContext("2d");
      if (context && sprite) {
        context.imageSmoothingEnabled = false;
        context.drawImage(sprite, cropX(rank, size), 0, size, size, 0, 0, size, size);
      }
      canvas.addEventListener("mouseenter", () => this.hover(rank));
      canvas.addEventListener("click", () => this.store.set({ image }));
      crops.push(canvas);
    }
    replaceChildren(
      this.crops,
      ...(crops.length ? crops : [h("span", { class: "dv-muted dv-small", text: "No top images." })]),
    );
    if (this.hovered !== null && this.hovered >= count) this.hovered = null;
    this.markSelected();
  }

  private hover(rank: number | null): void {
    this.hovered = rank;
    for (const crop of Array.from(this.crops.querySelectorAll(".dv-unit-crop"))) {
      crop.classList.toggle("dv-hovered", rank !== null && crop.getAttribute("data-rank") === String(rank));
    }
    this.drawPreview();
  }

  private markSelected(): void {
    const image = String(this.store.get().image);
    for (const crop of Array.from(this.crops.querySelectorAll(".dv-unit-crop"))) {
      crop.classList.toggle("dv-selected", crop.getAttribute("data-index") === image);
    }
  }

  /** The whole image of the crop pointed at (else of the best one) with the unit's box on it. */
  private drawPreview(): void {
    const shown = this.shown;
    const run = this.side.run(this.store.get());
    const thumbnails = thumbnailsFor(this.ctx, run);
    const rank = this.hovered ?? 0;
    const image = shown?.answer.images[rank];
    if (!shown || image === undefined || !thumbnails || image >= thumbnails.count) {
      this.previewThumb?.remove();
      this.previewThumb = null;
      this.box.hidden = true;
      this.preview.removeAttribute("data-index");
      this.previewCaption.textContent = shown && !thumbnails ? "This run logged no thumbnails." : "";
      return;
    }
    const key = `${thumbnails.run}#${image}`;
    if (this.previewThumb?.getAttribute("data-key") !== key) {
      this.previewThumb?.remove();
      this.previewThumb = thumbnails.canvas(image, PREVIEW_SIZE, { attrs: { "data-key": key } });
      this.previewThumb.addEventListener("click", () => this.store.set({ image }));
      this.preview.insertBefore(this.previewThumb, this.box);
    }
    const [height, width] = thumbnails.thumb;
    const ratio = PREVIEW_SIZE / Math.max(width, height);
    const display = { width: Math.round(width * ratio), height: Math.round(height * ratio) };
    const box = shown.answer.boxes[rank];
    this.preview.setAttribute("data-index", String(image));
    if (box) {
      const at = boxOnImage(box, shown.answer.input_shape, display);
      Object.assign(this.box.style, {
        left: `${at.left}px`,
        top: `${at.top}px`,
        width: `${at.width}px`,
        height: `${at.height}px`,
      });
      this.box.setAttribute("data-box", box.join(","));
      this.box.hidden = false;
    } else {
      this.box.hidden = true;
    }
    const position = shown.answer.positions[rank];
    this.previewCaption.textContent = `image #${image} · rank ${rank + 1} · score ${fact(shown.answer.values[rank])}${position ? ` at row ${position[0]}, col ${position[1]}` : ""}`;
  }

  private drawFacts(): void {
    const shown = this.shown;
    if (!shown) return;
    const { answer, names } = shown;
    const rows: [string, string | Node][] = [
      ["unit", `${answer.unit} of ${shown.layer}`],
      [
        "top class",
        h(
          "span",
          {},
          h("span", { class: "dv-unit-swatch", style: { background: categoricalColor(answer.top_class) } }),
          className(names, answer.top_class),
        ),
      ],
      ["selectivity", fact(answer.selectivity, 2)],
      ["best score", answer.values.length ? fact(answer.values[0]) : "–"],
      ["dead", answer.dead ? "yes: never positive on an eval image" : "no"],
    ];
    const stability = this.stabilityAt(answer.step, answer.unit);
    if (stability) rows.push(["top-image stability", stability]);
    const facts = rows.flatMap(([name, value]) => [
      h("dt", { text: name }),
      h("dd", { attrs: { "data-fact": name } }, value),
    ]);
    replaceChildren(this.facts, ...facts);
    this.facts.setAttribute("data-selectivity", String(toNumber(answer.selectivity)));
    this.facts.setAttribute("data-top-class", String(answer.top_class));
    this.facts.setAttribute("data-dead", String(answer.dead));
  }

  /** "0.80 (overlap with step 4)" from the loaded history, or null. */
  private stabilityAt(step: number, unit: number): string | null {
    const history = this.historyShown();
    if (!history) return null;
    const index = history.steps.indexOf(step);
    if (index < 0) return null;
    const value = fact(history.stability[index]?.[unit], 2);
    return index === 0 ? `${value} (first checkpoint)` : `${value} (overlap with step ${history.steps[index - 1]})`;
  }

  private drawBars(): void {
    const shown = this.shown;
    if (!shown) return;
    const { answer, names } = shown;
    const means = answer.class_means.map((value, cls) => ({ cls, value: toNumber(value) }));
    const largest = Math.max(0, ...means.map(({ value }) => (Number.isFinite(value) ? value : 0)));
    const drawn = means.length > ALL_CLASSES_UP_TO ? [...means].sort((a, b) => b.value - a.value).slice(0, 10) : means;
    this.bars.draw({
      caption: `class means of the rectified output at step ${answer.step}${means.length > drawn.length ? " (largest 10)" : ""}`,
      bars: drawn.map(({ cls, value }) => ({
        label: className(names, cls),
        fraction: largest > 0 ? value / largest : 0,
        text: fact(value),
        title: `${className(names, cls)}: mean ${formatNumber(value, 5)}`,
        classes: cls === answer.top_class ? ["dv-unit-top"] : [],
        attrs: { "data-class": cls },
      })),
      note: answer.dead ? "A dead unit: every class mean is 0." : null,
    });
  }

  /** The history of the shown unit's layer, once loaded. */
  private historyShown(): UnitsHistoryResponse | null {
    const shown = this.shown;
    const run = this.side.run(this.store.get());
    return shown && run ? this.histories.answer(shown.run, shown.layer, unitsVersion(run)) : null;
  }

  private async loadHistory(run: string, layer: string, version: string): Promise<void> {
    if (!(await this.histories.load(run, layer, version))) return;
    this.drawHistory();
    this.drawFacts();
  }

  /** The unit's stability and selectivity over the checkpoints, the selected one marked. */
  private drawHistory(): void {
    const shown = this.shown;
    const answer = this.historyShown();
    if (!shown || !answer) {
      this.stabilityChart.draw(null, "no history");
      this.selectivityChart.draw(null, "no history");
      return;
    }
    const unit = shown.answer.unit;
    const draw = (chart: LineChart, name: string, title: string, table: UnitsHistoryResponse["stability"]) =>
      chart.draw({
        series: [{ name, points: unitSeries(answer, table, unit), colour: "#1565c0", attrs: { "data-unit": unit } }],
        xExtent: answer.steps,
        rule: shown.step,
        title,
        xLabel: "step",
        yDomain: [0, 1],
        ariaLabel: `${title} of unit ${unit} of ${shown.layer}`,
      });
    draw(this.stabilityChart, "stability", "top-image stability vs previous checkpoint", answer.stability);
    draw(this.selectivityChart, "selectivity", "selectivity over checkpoints", answer.selectivity);
  }

  private moveTimeline(x: number): void {
    if (this.side !== MAIN) return;
    const run = this.side.run(this.store.get());
    const step = run ? nearestCheckpoint(run.checkpoints, x) : null;
    if (step !== null) this.store.set({ step, playing: false });
  }
}
