// Filters view (deepViz's main screen): the selected layer's filter bank at the selected
// checkpoint with a filter-info panel, the corpus browser, and the selected image's
// activations at that layer and its predicted-class histogram.

import {
  buildQuery,
  describe,
  toNumber,
  type ActivationLayout,
  type CorpusResponse,
  type FilterLayout,
  type FilterValues,
  type NestedNumbers,
  type PredictionResponse,
} from "../../api/client";
import { hasStep, selectedLayer, thumbnailsFor, type AppContext, type View } from "../../core/context";
import {
  describeFilterPixel,
  filterIndex,
  filterTileOrigin,
  locateActivationPixel,
  locateFilterPixel,
  type FilterPixel,
} from "../../lib/layout";
import { className, searchCorpus } from "../../lib/search";
import { SpriteStage, type SpriteMeta, type Zoom } from "../../ui/sprite";
import { currentRun, type State } from "../../core/store";
import type { PrefetchItem } from "../../core/timeline";
import { checkbox, colourKey, formatNumber, h, percent, replaceChildren, select, setOptions, Status } from "../../ui/dom";

// render.DIVERGING (Moreland's cool-warm) and render.SEQUENTIAL (viridis), with the colours of non-finite values.
const WEIGHT_KEY: [string, string][] = [
  ["linear-gradient(to right, rgb(59,76,192), rgb(221,221,221), rgb(180,4,38))", "negative · 0 · positive"],
  ["rgb(0,255,0)", "NaN"],
  ["rgb(255,0,255)", "+Inf"],
  ["rgb(0,255,255)", "-Inf"],
];
const ACTIVATION_KEY: [string, string][] = [
  ["linear-gradient(to right, #440154, #3b528b, #21918c, #5ec962, #fde725)", "low · high"],
  ["rgb(0,255,0)", "NaN"],
  ["rgb(255,0,255)", "+Inf"],
  ["rgb(0,255,255)", "-Inf"],
];

const PAGE = 240;

function valueAt(values: NestedNumbers[], layout: FilterLayout, at: FilterPixel): number[] {
  if (layout.kind === "linear") return [toNumber(values[at.row * layout.cell_values[1] + at.col] as number)];
  const pick = (channel: number) => {
    const plane = values[channel] as NestedNumbers[][] | undefined;
    return toNumber((plane?.[at.row]?.[at.col] ?? Number.NaN) as number);
  };
  if (layout.kind === "conv_rgb") return [0, 1, 2].map(pick);
  return [pick(at.channel)];
}

export class FiltersView implements View {
  readonly root: HTMLElement;
  private active = false;
  private readonly status = new Status();
  private readonly layerSelect: HTMLSelectElement;
  private readonly normSelect: HTMLSelectElement;
  private readonly filterStage: SpriteStage;
  private readonly filterInfo: HTMLElement;
  private readonly activationStage: SpriteStage;
  private readonly activationStatus = new Status("activations-status");
  private readonly activationInfo: HTMLElement;
  private readonly activationNorm: HTMLSelectElement;
  private readonly probeChips: HTMLElement;
  private readonly selectedImage: HTMLElement;
  private readonly histogram: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly misclassified: HTMLInputElement;
  private readonly probesOnly: HTMLInputElement;
  private readonly corpusGrid: HTMLElement;
  private readonly corpusStatus = new Status("corpus-status");
  private readonly more: HTMLButtonElement;

  private geometry: { key: string; layout: FilterLayout } | null = null;
  private activationGeometry: { key: string; layout: ActivationLayout } | null = null;
  private hover: FilterPixel | null = null;
  private hoverTimer: number | null = null;
  private shownCount = PAGE;
  private corpusKey = "";
  private tokens = { sprite: 0, image: 0, activations: 0, corpus: 0, info: 0 };

  constructor(private readonly ctx: AppContext) {
    const { store } = ctx;
    const state = store.get();
    this.layerSelect = select("filters-layer", [], "", (layer) => store.set({ layer, filter: null }), "Layer");
    this.normSelect = select(
      "filters-norm",
      [
        ["filter", "per filter"],
        ["layer", "per layer"],
        ["global", "global over time"],
      ],
      state.norm,
      (norm) => store.set({ norm: norm as State["norm"] }),
      "Colour scale of the weights",
    );
    const zoom = select(
      "filters-zoom",
      [
        ["fit", "fit"],
        ["1", "1×"],
        ["2", "2×"],
        ["3", "3×"],
      ],
      "fit",
      (value) => this.filterStage.setZoom(value as Zoom),
      "Zoom",
    );

    this.filterStage = new SpriteStage(
      "filters-sprite",
      "Filters of the selected layer",
      (url) => ctx.images.load(url),
      () => this.renderPinned(),
      (error, url) => void this.reportImageError(this.status, error, url),
    );
    this.filterInfo = h("div", { testid: "filter-info", class: "dv-panel dv-info", attrs: { "aria-live": "polite" } });
    const spriteImage = this.filterStage.image;
    spriteImage.addEventListener("mousemove", (event) => this.onSpriteMove(event));
    spriteImage.addEventListener("mouseleave", () => this.setHover(null));
    spriteImage.addEventListener("click", (event) => this.onSpriteClick(event));

    // Selected image: thumbnail, prediction histogram, activations.
    this.selectedImage = h("div", { testid: "selected-image", class: "dv-selected-image" });
    this.histogram = h("div", { testid: "prediction-histogram", class: "dv-histogram" });
    this.activationNorm = select(
      "activations-norm",
      [
        ["channel", "per channel"],
        ["layer", "per layer"],
      ],
      state.activationNorm,
      (value) => store.set({ activationNorm: value as State["activationNorm"] }),
      "Colour scale of the activations",
    );
    this.activationStage = new SpriteStage(
      "activations-sprite",
      "Activations of the selected image",
      (url) => ctx.images.load(url),
      () => undefined,
      (error, url) => void this.reportImageError(this.activationStatus, error, url),
    );
    this.activationInfo = h("div", { class: "dv-info dv-muted", testid: "activation-info" });
    this.activationStage.image.addEventListener("mousemove", (event) => this.onActivationMove(event));
    this.activationStage.image.addEventListener("mouseleave", () => {
      this.activationInfo.textContent = "";
      this.activationStage.outline("hover", null);
    });
    this.probeChips = h("div", { class: "dv-chips", testid: "probe-images" });

    // Corpus browser.
    this.search = h("input", {
      testid: "corpus-search",
      class: "dv-search",
      attrs: {
        type: "search",
        placeholder: "class, label, id, caption or #index",
        "aria-label": "Search the eval images",
      },
    });
    let searchTimer: number | null = null;
    this.search.addEventListener("input", () => {
      if (searchTimer !== null) window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(() => {
        this.shownCount = PAGE;
        void this.renderCorpus();
      }, 150);
    });
    this.misclassified = checkbox("corpus-misclassified", "misclassified at this step", false, () => {
      this.shownCount = PAGE;
      void this.renderCorpus();
    }).input;
    this.probesOnly = checkbox("corpus-probes", "probe images only", false, () => {
      this.shownCount = PAGE;
      void this.renderCorpus();
    }).input;
    this.corpusGrid = h("div", {
      testid: "corpus-grid",
      class: "dv-corpus-grid",
      attrs: { role: "listbox", "aria-label": "Eval images" },
    });
    this.more = h("button", { class: "dv-button", text: "Show more", attrs: { type: "button" } });
    this.more.hidden = true;
    this.more.addEventListener("click", () => {
      this.shownCount += PAGE;
      void this.renderCorpus();
    });

    this.root = h(
      "section",
      { testid: "view-filters", class: "dv-view dv-filters", attrs: { role: "tabpanel", "aria-label": "Filters" } },
      h(
        "div",
        { class: "dv-toolbar" },
        h("label", { class: "dv-inline" }, "layer ", this.layerSelect),
        h("label", { class: "dv-inline" }, "colour scale ", this.normSelect),
        h("label", { class: "dv-inline" }, "zoom ", zoom),
      ),
      this.status.element,
      h(
        "div",
        { class: "dv-filters-main" },
        h("div", { class: "dv-filters-sprite" }, this.filterStage.element, colourKey(WEIGHT_KEY)),
        h(
          "div",
          { class: "dv-filters-side" },
          h("h3", { text: "Filter" }),
          this.filterInfo,
          h("h3", { text: "Selected image" }),
          this.selectedImage,
          this.histogram,
          h("h3", {}, "Activations ", h("label", { class: "dv-inline dv-small" }, this.activationNorm)),
          this.activationStatus.element,
          this.activationStage.element,
          this.activationInfo,
          colourKey(ACTIVATION_KEY),
          this.probeChips,
        ),
      ),
      h(
        "div",
        { class: "dv-corpus" },
        h(
          "div",
          { class: "dv-toolbar" },
          h("h3", { text: "Eval images" }),
          this.search,
          this.misclassified.parentElement as HTMLElement,
          this.probesOnly.parentElement as HTMLElement,
        ),
        this.corpusStatus.element,
        this.corpusGrid,
        this.more,
      ),
    );
    this.root.hidden = true;

    store.subscribe(
      () => this.active && ctx.gate.track(this.renderSprite()),
      ["runs", "run", "layer", "step", "norm", "loaded"],
    );
    // While playing, the layouts (for pointing at filters and channels) wait; they come on pause.
    store.subscribe(
      (s) => {
        if (!this.active || s.playing) return;
        void this.renderSprite();
        void this.renderImage();
      },
      ["playing"],
    );
    store.subscribe(() => this.active && this.renderPinned(), ["filter"]);
    store.subscribe(() => this.active && this.renderLayerOptions(), ["runs", "run", "layer"]);
    store.subscribe(
      () => this.active && ctx.gate.track(this.renderImage()),
      ["runs", "run", "image", "step", "layer", "activationNorm"],
    );
    store.subscribe(() => this.active && this.renderCorpus(), ["runs", "run"]);
    store.subscribe(() => this.active && this.misclassified.checked && this.renderCorpus(), ["step"]);
    store.subscribe(() => this.active && this.highlightCorpus(), ["image"]);
    // The selection shows in data-index at once, also while another view is open.
    store.subscribe(
      (s) => {
        if (s.image === null) this.selectedImage.removeAttribute("data-index");
        else this.selectedImage.setAttribute("data-index", String(s.image));
      },
      ["image"],
    );
    store.subscribe((s) => (this.normSelect.value = s.norm), ["norm"]);
    store.subscribe((s) => (this.activationNorm.value = s.activationNorm), ["activationNorm"]);
    window.addEventListener("resize", () => {
      this.filterStage.applyZoom();
      this.renderPinned();
    });
    ctx.prefetcher.register((step) => this.prefetch(step));
  }

  setActive(active: boolean): void {
    this.active = active;
    this.root.hidden = !active;
    if (active) {
      this.renderLayerOptions();
      void this.renderSprite();
      void this.renderImage();
      void this.renderCorpus();
    }
  }

  private prefetch(step: number): PrefetchItem[] {
    if (!this.active) return [];
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const layer = selectedLayer(state);
    const items: PrefetchItem[] = [];
    if (!run || !layer) return items;
    if (layer.has_weights && hasStep(run, "weights", step)) {
      items.push({ kind: "image", url: this.ctx.api.filtersUrl(run.run, layer.name, step, state.norm) });
    }
    if (
      state.image !== null &&
      layer.has_activations &&
      hasStep(run, "activations", step) &&
      this.probes.has(state.image)
    ) {
      items.push({
        kind: "image",
        url: this.ctx.api.activationsUrl(run.run, layer.name, step, state.image, state.activationNorm),
      });
    }
    if (state.image !== null && hasStep(run, "predictions", step)) {
      items.push({ kind: "json", url: buildQuery("predictions", { run: run.run, step, image: state.image }) });
    }
    return items;
  }

  // ---------------------------------------------------------------- filter sprite

  private renderLayerOptions(): void {
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const layers = run?.layers ?? [];
    setOptions(
      this.layerSelect,
      layers.map((layer) => [layer.name, layer.kind ? `${layer.name} (${layer.kind})` : layer.name]),
      state.layer ?? "",
    );
    this.layerSelect.disabled = layers.length === 0;
  }

  private renderSprite(): Promise<unknown> {
    const token = ++this.tokens.sprite;
    const { store, api } = this.ctx;
    const state = store.get();
    const run = currentRun(state);
    const layer = selectedLayer(state);
    const fail = (text: string, kind: "empty" | "loading" = "empty") => {
      this.filterStage.clear();
      this.status.set(kind, text);
      void this.renderFilterInfo();
      return Promise.resolve();
    };
    if (!state.loaded) return fail("Loading the list of runs…", "loading");
    if (!run)
      return fail(
        state.runs.length
          ? "Select a run."
          : "No run has deepviz data yet. Log some with DeepViz, then wait for the next update.",
      );
    if (!layer) return fail(`Run ${run.run} has no logged layers.`);
    if (!layer.has_weights)
      return fail(
        `Layer ${layer.name} has no logged weights (it has ${layer.has_activations ? "activations" : "statistics"} only).`,
      );
    if (state.step === null) return fail(`Run ${run.run} has no checkpoints yet.`);
    if (!hasStep(run, "weights", state.step)) return fail(`No weights were logged at step ${state.step}.`);
    const step = state.step;
    const url = api.filtersUrl(run.run, layer.name, step, state.norm);
    const key = `${run.run}\u0000${layer.name}\u0000${state.norm}`;
    if (this.filterStage.current !== url) {
      this.status.set("loading", `Loading the filters of ${layer.name} at step ${step}…`);
    }
    const describeLayout = (layout: FilterLayout | null) => {
      const shape = layer.parameter_shapes.weight ?? [];
      const scale = {
        filter: "colour scale per filter",
        layer: "colour scale per layer",
        global: "colour scale over all checkpoints",
      }[state.norm];
      const count = layout ? `${layout.filters} filters` : shape.length ? `${shape[0]} filters` : "filters";
      return `${layer.name} · ${layer.kind || "layer"} · ${count}${shape.length ? ` of ${shape.slice(1).join("×")}` : ""} · step ${step} · ${scale}`;
    };
    // Not while playing: one request less per frame; pointing meanwhile uses the last layout of
    // the same layer and scale (the tiles do not move between checkpoints).
    const layoutPromise = state.playing
      ? Promise.resolve(null)
      : api.filtersLayout(run.run, layer.name, step, state.norm).then(
          (layout) => {
            if (token === this.tokens.sprite) this.geometry = { key, layout };
            return layout;
          },
          () => null,
        );
    // The returned promise (what playback waits for) ends when the image is on screen; the
    // layout (for pointing at filters) follows on its own.
    return this.filterStage.show(url, { step, key }).then((ok) => {
      if (!ok || token !== this.tokens.sprite) return;
      this.status.set("ready", describeLayout(null));
      this.renderPinned();
      void layoutPromise.then((layout) => {
        if (token !== this.tokens.sprite || !layout) return;
        this.status.set("ready", describeLayout(layout));
        this.renderPinned();
      });
    });
  }

  private layoutFor(meta: SpriteMeta | null): FilterLayout | null {
    if (!meta || !this.geometry || this.geometry.key !== meta.key) return null;
    return this.geometry.layout;
  }

  private onSpriteMove(event: MouseEvent): void {
    const layout = this.layoutFor(this.filterStage.shown);
    if (!layout) return;
    const pixel = this.filterStage.pixelAt(event, layout);
    this.setHover(pixel ? locateFilterPixel(layout, pixel.x, pixel.y) : null);
  }

  private onSpriteClick(event: MouseEvent): void {
    const layout = this.layoutFor(this.filterStage.shown);
    if (!layout) return;
    const pixel = this.filterStage.pixelAt(event, layout);
    const at = pixel ? locateFilterPixel(layout, pixel.x, pixel.y) : null;
    if (!at) return;
    const index = filterIndex(layout, at.filter);
    this.ctx.store.set({ filter: this.ctx.store.get().filter === index ? null : index });
  }

  private setHover(at: FilterPixel | null): void {
    const same = JSON.stringify(at) === JSON.stringify(this.hover);
    this.hover = at;
    const layout = this.layoutFor(this.filterStage.shown);
    if (layout && at) {
      const tile = filterTileOrigin(layout, at.filter);
      this.filterStage.outline("hover", { ...tile, width: layout.tile[1], height: layout.tile[0] }, layout);
    } else {
      this.filterStage.outline("hover", null);
    }
    if (same) return;
    if (this.hoverTimer !== null) window.clearTimeout(this.hoverTimer);
    this.hoverTimer = window.setTimeout(() => void this.renderFilterInfo(), 40);
  }

  private renderPinned(): void {
    const state = this.ctx.store.get();
    const layout = this.layoutFor(this.filterStage.shown);
    if (!layout || state.filter === null) {
      this.filterStage.outline("pinned", null);
    } else {
      const rendered = layout.filter_indices ? layout.filter_indices.indexOf(state.filter) : state.filter;
      if (rendered < 0 || rendered >= layout.filters) this.filterStage.outline("pinned", null);
      else {
        const tile = filterTileOrigin(layout, rendered);
        this.filterStage.outline("pinned", { ...tile, width: layout.tile[1], height: layout.tile[0] }, layout);
      }
    }
    void this.renderFilterInfo();
  }

  private async renderFilterInfo(): Promise<void> {
    const token = ++this.tokens.info;
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const layout = this.layoutFor(this.filterStage.shown);
    const step = this.filterStage.shown?.step ?? null;
    if (!run || !layout || step === null || !state.layer) {
      replaceChildren(
        this.filterInfo,
        h("span", { class: "dv-muted", text: "Point at a filter to see its values; click to pin it." }),
      );
      return;
    }
    const hover = this.hover;
    const pinned = state.filter;
    const focus = hover ? filterIndex(layout, hover.filter) : pinned;
    if (focus === null) {
      replaceChildren(
        this.filterInfo,
        h("span", {
          class: "dv-muted",
          text: `${layout.filters} filters. Point at one to see its values; click to pin it.`,
        }),
      );
      return;
    }
    let values: FilterValues | null = null;
    let error: string | null = null;
    try {
      values = await this.ctx.api.filterValues(run.run, state.layer, step, focus);
    } catch (caught) {
      error = describe(caught);
    }
    if (token !== this.tokens.info) return;
    const rows: [string, string][] = [];
    rows.push(["filter", `${focus}${pinned === focus ? " (pinned)" : ""}`]);
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
      this.filterInfo,
      table,
      error ? h("div", { class: "dv-status-error", text: error }) : null,
      pinned !== null
        ? h("button", {
            class: "dv-link",
            text: "unpin",
            attrs: { type: "button" },
            on: { click: () => this.ctx.store.set({ filter: null }) },
          })
        : null,
    );
  }

  // ---------------------------------------------------------------- selected image

  private probes = new Set<number>();
  private selectedThumb: HTMLCanvasElement | null = null;
  private probesRun: string | null = null;

  /** The run's probe images, from one `predictions` answer per run (not one per step: playing needs none). */
  private async loadProbes(state: Readonly<State>): Promise<void> {
    const run = currentRun(state);
    const steps = run?.steps_by_kind.predictions ?? [];
    if (!run || !steps.length || this.probesRun === run.run) return;
    const step = state.step !== null && steps.includes(state.step) ? state.step : steps[steps.length - 1];
    const predictions = await this.ctx.api.predictions(run.run, step);
    if (this.probesRun !== run.run) {
      this.probes = new Set(predictions.probe_images);
      this.probesRun = run.run;
    }
  }

  private async renderImage(): Promise<void> {
    const token = ++this.tokens.image;
    const { store, api } = this.ctx;
    const state = store.get();
    const run = currentRun(state);
    const thumbnails = thumbnailsFor(this.ctx, run);
    if (!run) {
      replaceChildren(this.selectedImage, h("span", { class: "dv-muted", text: "No run selected." }));
      this.selectedImage.removeAttribute("data-index");
      replaceChildren(this.histogram);
      this.activationStage.clear();
      this.activationStatus.set("empty", "No run selected.");
      return;
    }
    try {
      await this.loadProbes(state);
    } catch {
      // no probe images known: the chips stay empty and activations say so
    }
    if (token !== this.tokens.image) return;
    this.renderProbeChips(run.run, thumbnails);
    const image = state.image;
    if (image === null) {
      this.selectedImage.removeAttribute("data-index");
      replaceChildren(
        this.selectedImage,
        h("span", { class: "dv-muted", text: "No image selected: pick one below or among the probe images." }),
      );
      replaceChildren(this.histogram);
      this.activationStage.clear();
      this.activationStatus.set("empty", "Select a probe image to see its activations at this layer.");
      this.highlightCorpus();
      return;
    }
    this.selectedImage.setAttribute("data-index", String(image));
    let corpus: CorpusResponse | null = null;
    try {
      corpus = run.kinds.includes("corpus") ? await api.corpus(run.run) : null;
    } catch {
      corpus = null;
    }
    if (token !== this.tokens.image) return;
    const label = corpus ? corpus.labels[image] : undefined;
    const names = corpus?.class_names ?? run.class_names;
    const facts = h("dl", { class: "dv-facts" });
    const fact = (name: string, value: string) => facts.append(h("dt", { text: name }), h("dd", { text: value }));
    fact("image", `#${image}`);
    if (label !== undefined) fact("label", className(names, label));
    if (corpus?.ids && corpus.ids[image] !== undefined && corpus.ids[image] !== null)
      fact("id", String(corpus.ids[image]));
    if (corpus?.captions && corpus.captions[image]) fact("caption", String(corpus.captions[image]));
    // The same image keeps its canvas (no redraw, no flicker while playing).
    const thumbKey = `${run.run}#${image}`;
    if (!this.selectedThumb || this.selectedThumb.getAttribute("data-key") !== thumbKey) {
      this.selectedThumb =
        thumbnails && image < thumbnails.count
          ? thumbnails.canvas(image, 96, { class: "dv-selected-thumb", attrs: { "data-key": thumbKey } })
          : null;
    }
    replaceChildren(
      this.selectedImage,
      this.selectedThumb,
      facts,
      h("button", {
        class: "dv-link",
        text: "clear",
        attrs: { type: "button" },
        on: { click: () => store.set({ image: null }) },
      }),
    );
    this.highlightCorpus();
    // The prediction for this image (one small answer, prefetched while playing) fills in the
    // predicted class among the facts and the histogram.
    void this.renderHistogram(token, run.run, state, image, label ?? null, names, (prediction) => {
      const predicted = prediction.predicted;
      fact(
        `predicted at ${prediction.step}`,
        `${className(names, predicted)} (${percent(toNumber(prediction.confidence))})${label !== undefined && predicted !== label ? " ✗" : label !== undefined ? " ✓" : ""}`,
      );
    });
    await this.renderActivations(state, image);
  }

  private async renderHistogram(
    token: number,
    run: string,
    state: Readonly<State>,
    image: number,
    label: number | null,
    names: readonly string[],
    onPrediction: (prediction: PredictionResponse) => void,
  ): Promise<void> {
    const runSummary = currentRun(state);
    if (state.step === null || !hasStep(runSummary, "predictions", state.step)) {
      replaceChildren(
        this.histogram,
        h("span", { class: "dv-muted", text: "No predictions were logged at this step." }),
      );
      return;
    }
    let prediction;
    try {
      prediction = await this.ctx.api.prediction(run, state.step, image);
    } catch (error) {
      if (token === this.tokens.image)
        replaceChildren(this.histogram, h("span", { class: "dv-status-error", text: describe(error) }));
      return;
    }
    if (token !== this.tokens.image) return;
    onPrediction(prediction);
    const bars: { cls: number; p: number }[] = prediction.probabilities
      ? prediction.probabilities.map((p, cls) => ({ cls, p: toNumber(p) }))
      : [{ cls: prediction.predicted, p: toNumber(prediction.confidence) }];
    let shown = bars;
    if (bars.length > 12) shown = [...bars].sort((a, b) => b.p - a.p).slice(0, 10);
    const rows = shown.map(({ cls, p }) => {
      const width = Number.isFinite(p) ? Math.max(0, Math.min(1, p)) * 100 : 0;
      const classes = ["dv-bar-row", cls === prediction.predicted ? "dv-predicted" : "", cls === label ? "dv-true" : ""]
        .join(" ")
        .trim();
      return h(
        "div",
        { class: classes, attrs: { "data-class": cls }, title: `${className(names, cls)}: ${percent(p, 2)}` },
        h("span", { class: "dv-bar-label", text: className(names, cls) }),
        h("span", { class: "dv-bar-track" }, h("span", { class: "dv-bar", style: { width: `${width}%` } })),
        h("span", { class: "dv-bar-value", text: percent(p) }),
      );
    });
    replaceChildren(
      this.histogram,
      h("div", {
        class: "dv-small dv-muted",
        text: `predicted class probabilities at step ${prediction.step}${bars.length > shown.length ? " (top 10)" : ""}`,
      }),
      ...rows,
      prediction.probabilities
        ? null
        : h("div", {
            class: "dv-small dv-muted",
            text: "Only the predicted class's confidence is logged for this image; full probabilities are logged for probe images.",
          }),
    );
  }

  private renderProbeChips(run: string, thumbnails: ReturnType<typeof thumbnailsFor>): void {
    const key = `${run}:${[...this.probes].join(",")}`;
    if (this.probeChips.getAttribute("data-key") === key) return;
    this.probeChips.setAttribute("data-key", key);
    if (!this.probes.size) {
      replaceChildren(this.probeChips);
      return;
    }
    replaceChildren(
      this.probeChips,
      h("span", { class: "dv-small dv-muted", text: "probe images: " }),
      ...[...this.probes].map((index) => {
        const chip = h("button", {
          class: "dv-chip",
          title: `image #${index}`,
          attrs: { type: "button", "data-index": index },
          on: { click: () => this.ctx.store.set({ image: index }) },
        });
        if (thumbnails && index < thumbnails.count) chip.append(thumbnails.canvas(index, 28));
        else chip.textContent = `#${index}`;
        return chip;
      }),
    );
  }

  private async renderActivations(state: Readonly<State>, image: number): Promise<void> {
    const token = ++this.tokens.activations;
    const run = currentRun(state);
    const layer = selectedLayer(state);
    const empty = (text: string) => {
      this.activationStage.clear();
      this.activationStatus.set("empty", text);
      this.activationInfo.textContent = "";
    };
    if (!run || !layer) return empty("No layer selected.");
    if (!layer.has_activations) return empty(`Layer ${layer.name} has no logged activations.`);
    if (!this.probes.has(image)) {
      const list = [...this.probes]
        .slice(0, 20)
        .map((i) => `#${i}`)
        .join(", ");
      return empty(
        `Activations are logged for probe images only; image #${image} is not one. Probe images: ${list || "none"}.`,
      );
    }
    if (state.step === null || !hasStep(run, "activations", state.step))
      return empty(`No activations were logged at step ${state.step ?? "–"}.`);
    const step = state.step;
    const url = this.ctx.api.activationsUrl(run.run, layer.name, step, image, state.activationNorm);
    const key = `${run.run}\u0000${layer.name}\u0000${image}\u0000${state.activationNorm}`;
    if (this.activationStage.current !== url)
      this.activationStatus.set("loading", `Loading the activations of image #${image} at ${layer.name}…`);
    // As for the filters: no layout request per frame while playing; it comes on pause.
    const layout = state.playing
      ? Promise.resolve(null)
      : this.ctx.api.activationsLayout(run.run, layer.name, step, image, state.activationNorm).then(
          (value) => {
            if (token === this.tokens.activations) this.activationGeometry = { key, layout: value };
            return value;
          },
          () => null,
        );
    const ok = await this.activationStage.show(url, { step, key });
    if (!ok || token !== this.tokens.activations) return;
    const shape = layer.output_shape.slice(1).join("×");
    this.activationStatus.set(
      "ready",
      `image #${image} at ${layer.name}${shape ? ` (${shape})` : ""} · step ${step} · ${state.activationNorm === "layer" ? "one colour scale for the layer" : "colour scale per channel"}`,
    );
    void layout;
  }

  private onActivationMove(event: MouseEvent): void {
    const meta = this.activationStage.shown;
    const geometry = this.activationGeometry;
    if (!meta || !geometry || geometry.key !== meta.key) return;
    const layout = geometry.layout;
    const pixel = this.activationStage.pixelAt(event, layout);
    const at = pixel ? locateActivationPixel(layout, pixel.x, pixel.y) : null;
    if (!at) {
      this.activationInfo.textContent = "";
      this.activationStage.outline("hover", null);
      return;
    }
    const [cellRow, cellCol] = [Math.floor(at.channel / layout.channel_grid[1]), at.channel % layout.channel_grid[1]];
    this.activationStage.outline(
      "hover",
      {
        x: cellCol * (layout.cell[1] + layout.cell_gap),
        y: cellRow * (layout.cell[0] + layout.cell_gap),
        width: layout.cell[1],
        height: layout.cell[0],
      },
      layout,
    );
    const range = layout.ranges?.[layout.kind === "linear" ? 0 : at.channel];
    const where =
      layout.kind === "linear"
        ? `feature ${at.row * layout.cell_values[1] + at.col}`
        : `channel ${at.channel} · row ${at.row}, col ${at.col}`;
    this.activationInfo.textContent = `${where}${range ? ` · channel range ${formatNumber(toNumber(range[0]))} … ${formatNumber(toNumber(range[1]))}` : ""}`;
  }

  // ---------------------------------------------------------------- corpus browser

  private async renderCorpus(): Promise<void> {
    const token = ++this.tokens.corpus;
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const thumbnails = thumbnailsFor(this.ctx, run);
    if (!run || !run.kinds.includes("corpus") || !thumbnails) {
      replaceChildren(this.corpusGrid);
      this.more.hidden = true;
      this.corpusStatus.set("empty", run ? `Run ${run.run} logged no eval images.` : "No run selected.");
      return;
    }
    let corpus: CorpusResponse;
    let predicted: number[] | null = null;
    try {
      if (this.corpusGrid.childElementCount === 0) this.corpusStatus.set("loading", "Loading the eval images…");
      corpus = await this.ctx.api.corpus(run.run);
      if (this.misclassified.checked) {
        if (state.step === null || !hasStep(run, "predictions", state.step)) {
          if (token !== this.tokens.corpus) return;
          replaceChildren(this.corpusGrid);
          this.more.hidden = true;
          this.corpusStatus.set(
            "empty",
            `No predictions were logged at step ${state.step ?? "–"}, so misclassified images are unknown.`,
          );
          return;
        }
        predicted = (await this.ctx.api.predictions(run.run, state.step)).predicted;
      }
      if (this.probesOnly.checked && this.probesRun !== run.run) await this.loadProbes(state);
    } catch (error) {
      if (token !== this.tokens.corpus) return;
      this.corpusStatus.set("error", `Could not load the eval images: ${describe(error)}`);
      return;
    }
    if (token !== this.tokens.corpus) return;
    const query = this.search.value;
    const matches = searchCorpus(corpus, query, {
      misclassifiedBy: predicted,
      only: this.probesOnly.checked ? this.probes : null,
    });
    const shown = matches.slice(0, this.shownCount);
    const key = `${run.run}|${shown.join(",")}`;
    const what = [
      query.trim() ? `matching “${query.trim()}”` : "",
      predicted ? `misclassified at step ${state.step}` : "",
      this.probesOnly.checked ? "probe images" : "",
    ]
      .filter(Boolean)
      .join(", ");
    if (!matches.length) {
      this.corpusStatus.set("empty", `No eval image${what ? ` ${what}` : ""}.`);
    } else {
      this.corpusStatus.set(
        "ready",
        `${matches.length} of ${corpus.count} eval images${what ? ` (${what})` : ""}${shown.length < matches.length ? `; showing ${shown.length}` : ""}. Click one to select it.`,
      );
    }
    this.more.hidden = shown.length >= matches.length;
    if (key === this.corpusKey) return this.highlightCorpus();
    this.corpusKey = key;
    const names = corpus.class_names;
    const items = shown.map((index) => {
      const label = corpus.labels[index];
      const id = corpus.ids?.[index];
      const title = `#${index} · ${className(names, label)}${id !== undefined && id !== null ? ` · ${id}` : ""}${predicted ? ` · predicted ${className(names, predicted[index])}` : ""}`;
      const item = thumbnails.canvas(index, 44, {
        testid: "corpus-item",
        title,
        attrs: { role: "option", tabindex: 0 },
      });
      item.addEventListener("click", () => this.ctx.store.set({ image: index }));
      item.addEventListener("keydown", (event) => {
        if (event.key === "Enter") this.ctx.store.set({ image: index });
      });
      return item;
    });
    replaceChildren(this.corpusGrid, ...items);
    this.highlightCorpus();
  }

  private highlightCorpus(): void {
    const image = this.ctx.store.get().image;
    for (const item of Array.from(this.corpusGrid.children)) {
      const selected = item.getAttribute("data-index") === String(image);
      item.classList.toggle("dv-selected", selected);
      item.setAttribute("aria-selected", selected ? "true" : "false");
    }
    for (const chip of Array.from(this.probeChips.querySelectorAll("button"))) {
      chip.classList.toggle("dv-selected", chip.getAttribute("data-index") === String(image));
    }
  }

  // ---------------------------------------------------------------- errors

  /** An image failed: ask the route again as JSON for its error message. */
  private async reportImageError(status: Status, error: unknown, url: string): Promise<void> {
    let message = describe(error);
    try {
      await this.ctx.api.getJson(url);
    } catch (caught) {
      message = describe(caught);
    }
    status.set("error", `Could not load the image: ${message}`);
  }
}
