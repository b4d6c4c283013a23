// The selected eval image: its thumbnail (with its Grad-CAM map over it, when asked for and
// logged), what the corpus says of it (label, id, caption), the class predicted at the selected
// checkpoint, and the predicted class probabilities as bars. `data-index` names the selected
// image at once, also while the panel is hidden.

import { errorText } from "../api/client";
import type { CorpusResponse, PredictionResponse } from "../api/types";
import { toNumber } from "../api/types";
import { predictionsUrl } from "../api/urls";
import { BarChart } from "../charts/bars";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, type Side } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import { percent } from "../lib/format";
import { className } from "../lib/search";
import { h, replaceChildren, testids } from "../ui/dom";
import { ensureStyles } from "../ui/styles";
import { thumbnailsFor } from "../ui/thumbnails";
import { GradCam } from "./gradcam";

const CSS = `
.dv-selected-image { display: flex; gap: 8px; align-items: flex-start; }
.dv-histogram { margin-top: 6px; }
.dv-overlay-holder { position: relative; line-height: 0; flex: none; }
`;

/** More classes than this and only the 10 most probable are drawn. */
const ALL_CLASSES_UP_TO = 12;

export interface SelectedImageSettings {
  /** Which run and checkpoint (default: the main selection). */
  side?: Side;
  /** Side of the thumbnail in CSS pixels. */
  thumbnailSize?: number;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
  /** Draw the image's Grad-CAM map over its thumbnail (for runs that logged them), with its toggle. */
  gradcam?: boolean;
}

export class SelectedImage extends Part {
  readonly element: HTMLElement;
  private readonly histogram: BarChart;
  private readonly side: Side;
  private readonly loads = new Latest();
  private readonly holder: HTMLElement;
  private readonly gradcam: GradCam | null;
  private thumb: HTMLCanvasElement | null = null;

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    private readonly settings: SelectedImageSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("selected-image", CSS);
    this.side = settings.side ?? MAIN;
    const id = testids(settings.testidSuffix);
    this.element = h("div", { testid: id("selected-image"), class: "dv-selected-image" });
    this.holder = h("div", { class: "dv-overlay-holder" });
    container.appendChild(this.element);
    this.gradcam = settings.gradcam ? new GradCam(ctx, { side: this.side, testidSuffix: settings.testidSuffix }) : null;
    if (this.gradcam) container.appendChild(this.gradcam.controls);
    this.histogram = new BarChart(container, { testid: id("prediction-histogram"), className: "dv-histogram" });
    this.watch([...this.side.runKeys, ...this.side.stepKeys, "image"], () => void ctx.gate.track(this.render()));
    ctx.store.subscribe((state) => this.markIndex(state.image), ["image"]);
    ctx.prefetcher.register((step) => {
      const state = ctx.store.get();
      const run = this.side.run(state);
      if (!this.active || !run || state.image === null || !hasStep(run, "predictions", step)) return [];
      return [{ kind: "json", url: predictionsUrl(run.run, step, state.image) }];
    });
  }

  protected override activeChanged(active: boolean): void {
    this.gradcam?.setActive(active);
  }

  protected refresh(): void {
    void this.render();
  }

  private markIndex(image: number | null): void {
    if (image === null) this.element.removeAttribute("data-index");
    else this.element.setAttribute("data-index", String(image));
  }

  private async render(): Promise<void> {
    const current = this.loads.start();
    const { api } = this.ctx;
    const state = this.store.get();
    const run = this.side.run(state);
    const image = state.image;
    this.markIndex(run ? image : null);
    const hint = (text: string) => {
      replaceChildren(this.element, h("span", { class: "dv-muted", text }));
      this.histogram.clear();
    };
    if (!run) return hint("No run selected.");
    if (image === null) return hint("No image selected: pick one below or among the probe images.");
    let corpus: CorpusResponse | null = null;
    try {
      corpus = run.kinds.includes("corpus") ? await api.corpus(run.run) : null;
    } catch {
      corpus = null;
    }
    if (!current()) return;
    const label = corpus ? corpus.labels[image] : undefined;
    const names = corpus?.class_names ?? run.class_names;
    const facts = h("dl", { class: "dv-facts" });
    const fact = (name: string, value: string) => facts.append(h("dt", { text: name }), h("dd", { text: value }));
    fact("image", `#${image}`);
    if (label !== undefined) fact("label", className(names, label));
    const id = corpus?.ids?.[image];
    if (id !== undefined && id !== null) fact("id", String(id));
    const caption = corpus?.captions?.[image];
    if (caption) fact("caption", String(caption));
    // The same image keeps its canvas (no redraw, no flicker while playing).
    const thumbnails = thumbnailsFor(this.ctx, run);
    const key = `${run.run}#${image}`;
    if (this.thumb?.getAttribute("data-key") !== key) {
      this.thumb =
        thumbnails && image < thumbnails.count
          ? thumbnails.canvas(image, this.settings.thumbnailSize ?? 96, {
              class: "dv-selected-thumb",
              attrs: { "data-key": key },
            })
          : null;
    }
    if (this.holder.firstChild !== this.thumb) replaceChildren(this.holder, this.thumb, this.gradcam?.overlay);
    replaceChildren(
      this.element,
      this.thumb ? this.holder : null,
      facts,
      h("button", {
        class: "dv-link",
        text: "clear",
        attrs: { type: "button" },
        on: { click: () => this.store.set({ image: null }) },
      }),
    );
    // The prediction (one small answer, prefetched while playing) adds the predicted class to
    // the facts, and the bars.
    const step = this.side.step(state);
    if (step === null || !hasStep(run, "predictions", step)) {
      this.histogram.message("No predictions were logged at this step.");
      return;
    }
    let prediction: PredictionResponse;
    try {
      prediction = await api.prediction(run.run, step, image);
    } catch (error) {
      if (current()) this.histogram.message(errorText(error), true);
      return;
    }
    if (!current()) return;
    const predicted = prediction.predicted;
    const verdict = label === undefined ? "" : predicted !== label ? " ✗" : " ✓";
    fact(
      `predicted at ${prediction.step}`,
      `${className(names, predicted)} (${percent(toNumber(prediction.confidence))})${verdict}`,
    );
    this.drawBars(prediction, label ?? null, names);
  }

  private drawBars(prediction: PredictionResponse, label: number | null, names: readonly string[]): void {
    const all = prediction.probabilities
      ? prediction.probabilities.map((p, cls) => ({ cls, p: toNumber(p) }))
      : [{ cls: prediction.predicted, p: toNumber(prediction.confidence) }];
    const shown = all.length > ALL_CLASSES_UP_TO ? [...all].sort((a, b) => b.p - a.p).slice(0, 10) : all;
    this.histogram.draw({
      caption: `predicted class probabilities at step ${prediction.step}${all.length > shown.length ? " (top 10)" : ""}`,
      bars: shown.map(({ cls, p }) => ({
        label: className(names, cls),
        fraction: p,
        text: percent(p),
        title: `${className(names, cls)}: ${percent(p, 2)}`,
        classes: [cls === prediction.predicted ? "dv-predicted" : "", cls === label ? "dv-true" : ""].filter(Boolean),
        attrs: { "data-class": cls },
      })),
      note: prediction.probabilities
        ? null
        : "Only the predicted class's confidence is logged for this image; full probabilities are logged for probe images.",
    });
  }
}
