// Grad-CAM of the selected probe image: where the layer's features pushed the predicted class,
// drawn smoothly over the image (the map at the layer's resolution, stretched by the browser's
// smoothing) in the sequential colour map, as opaque as it is strong. One colour scale per probe
// across every checkpoint (the route's `scale`), so scrubbing the timeline shows the map grow.
// A toggle turns it off; a caption says which layer and which class it explains. The owner
// places `overlay` over its picture of the image and `controls` below it.

import { errorText } from "../api/client";
import type { AttributionResponse, RunSummary } from "../api/types";
import { toNumber } from "../api/types";
import { attributionUrl } from "../api/urls";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, type Side } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import type { State } from "../core/state";
import { COLOURS } from "../generated/contract";
import { gradient } from "../lib/colours";
import { formatNumber } from "../lib/format";
import { className } from "../lib/search";
import { gradcamPixels } from "../lib/units";
import { checkbox, h, testids } from "../ui/dom";
import { ensureStyles } from "../ui/styles";

const CSS = `
.dv-gradcam-overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; pointer-events: none; image-rendering: auto; }
.dv-gradcam { display: flex; flex-wrap: wrap; align-items: center; gap: 2px 8px; margin-top: 4px; font-size: 11px; }
.dv-gradcam-key { display: inline-block; width: 48px; height: 8px; border-radius: 2px; }
`;

export interface GradCamSettings {
  /** Which run and checkpoint (default: the main selection). */
  side?: Side;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
}

/** The layer to ask for: the selected one when it has Grad-CAM maps, else the route's default (null). */
export function attributionLayer(run: RunSummary, layer: string | null): string | null {
  return run.layers.find((entry) => entry.name === layer)?.has_attribution ? layer : null;
}

export class GradCam extends Part {
  /** The map, to lie over a picture of the image (its owner sizes that picture). */
  readonly overlay: HTMLCanvasElement;
  /** The toggle and the caption. */
  readonly controls: HTMLElement;
  private readonly side: Side;
  private readonly toggle: HTMLInputElement;
  private readonly caption: HTMLElement;
  private readonly key: HTMLElement;
  private readonly loads = new Latest();

  constructor(
    private readonly ctx: AppContext,
    settings: GradCamSettings = {},
  ) {
    super(ctx.store);
    ensureStyles("gradcam", CSS);
    const { store } = ctx;
    this.side = settings.side ?? MAIN;
    const id = testids(settings.testidSuffix);
    this.overlay = h("canvas", { testid: id("gradcam-overlay"), class: "dv-gradcam-overlay" });
    this.overlay.hidden = true;
    const toggle = checkbox(id("gradcam-toggle"), "Grad-CAM", store.get().gradcam, (checked) =>
      store.set({ gradcam: checked }),
    );
    toggle.label.title = "Show where the layer's features raised the predicted class's score";
    this.toggle = toggle.input;
    this.caption = h("span", { testid: id("gradcam-caption"), class: "dv-muted" });
    this.key = h("span", {
      class: "dv-gradcam-key",
      title: "Grad-CAM: transparent where nothing, opaque where strongest",
      style: { background: gradient(COLOURS.sequential) },
    });
    this.controls = h("div", { class: "dv-gradcam", testid: id("gradcam") }, toggle.label, this.key, this.caption);
    this.controls.hidden = true;
    this.watch(
      [...this.side.runKeys, ...this.side.stepKeys, "image", "layer", "gradcam"],
      () => void ctx.gate.track(this.render()),
    );
    store.subscribe((s) => (this.toggle.checked = s.gradcam), ["gradcam"]);
    ctx.prefetcher.register((step) => {
      const state = store.get();
      const run = this.side.run(state);
      const image = state.image;
      if (!this.active || !state.gradcam || !run || image === null || !hasStep(run, "attribution", step)) return [];
      if (!ctx.probes.peek(run).has(image)) return [];
      return [{ kind: "json", url: attributionUrl(run.run, image, step, attributionLayer(run, state.layer)) }];
    });
  }

  protected override activeChanged(active: boolean): void {
    if (!active) this.loads.cancel();
  }

  protected refresh(): void {
    void this.render();
  }

  /** Resolves once the map is drawn (or there is none to draw). */
  private async render(): Promise<void> {
    const current = this.loads.start();
    const state: Readonly<State> = this.store.get();
    const run = this.side.run(state);
    const hide = (caption: string) => {
      this.overlay.hidden = true;
      this.overlay.removeAttribute("data-step");
      this.caption.textContent = caption;
      this.caption.classList.remove("dv-status-error");
    };
    this.controls.hidden = !run?.kinds.includes("attribution");
    const image = state.image;
    if (!run || this.controls.hidden || image === null) return hide("");
    const step = this.side.step(state);
    let probes: ReadonlySet<number> = new Set();
    try {
      probes = await this.ctx.probes.load(run, step);
    } catch {
      // unknown: said below
    }
    if (!current()) return;
    if (!probes.has(image)) return hide("Grad-CAM is logged for probe images only.");
    if (!state.gradcam) return hide("off");
    if (step === null || !hasStep(run, "attribution", step))
      return hide(`No Grad-CAM was logged at step ${step ?? "–"}.`);
    let answer: AttributionResponse;
    let names: readonly string[] = run.class_names;
    try {
      [answer, names] = await Promise.all([
        this.ctx.api.attribution(run.run, image, step, attributionLayer(run, state.layer)),
        run.kinds.includes("corpus")
          ? this.ctx.api.corpus(run.run).then(
              (corpus) => (corpus.class_names?.length ? corpus.class_names : run.class_names),
              () => run.class_names,
            )
          : Promise.resolve(run.class_names),
      ]);
    } catch (error) {
      if (!current()) return;
      hide(`Could not load Grad-CAM: ${errorText(error)}`);
      this.caption.classList.add("dv-status-error");
      return;
    }
    if (!current()) return;
    this.draw(answer);
    const top = toNumber(answer.scale[1]);
    this.caption.textContent = `at ${answer.layer} for class ${className(names, answer.target)} (predicted) · step ${answer.step} · scale 0–${formatNumber(top, 3)} over all checkpoints`;
  }

  private draw(answer: AttributionResponse): void {
    const [height, width] = answer.shape;
    const overlay = this.overlay;
    if (overlay.width !== width) overlay.width = width;
    if (overlay.height !== height) overlay.height = height;
    const context = overlay.getContext("2d");
    if (context && width > 0 && height > 0 && answer.values.length === width * height) {
      const pixels = gradcamPixels(answer.values, answer.scale);
      context.clearRect(0, 0, width, height);
      context.putImageData(new ImageData(new Uint8ClampedArray(pixels), width, height), 0, 0);
    }
    const values = answer.values.map(toNumber).filter(Number.isFinite);
    overlay.setAttribute("data-step", String(answer.step));
    overlay.setAttribute("data-layer", answer.layer);
    overlay.setAttribute("data-target", String(answer.target));
    overlay.setAttribute("data-scale", String(toNumber(answer.scale[1])));
    overlay.setAttribute("data-max", String(values.length ? Math.max(...values) : 0));
    overlay.hidden = false;
  }
}
