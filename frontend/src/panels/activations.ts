// The selected image's activations at the selected layer and checkpoint, as one sprite (a cell
// per channel) with its colour scale menu, status line, colour key and a readout of the channel
// pointed at. Activations are logged for probe images only; for any other image it says so.

import type { ActivationLayout } from "../api/types";
import { toNumber } from "../api/types";
import { activationsUrl, type ValueRange } from "../api/urls";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, type Side } from "../core/derived";
import { Latest } from "../core/guards";
import { Part } from "../core/part";
import type { Key, State } from "../core/state";
import { ACTIVATION_KEY } from "../lib/colours";
import { formatNumber } from "../lib/format";
import { locateActivationPixel } from "../lib/layout";
import { h, Status, select, testids } from "../ui/dom";
import { colourKey } from "../ui/legend";
import { imageErrorText, SpriteStage } from "../ui/sprite";
import { describeSharedRange } from "./ab_scale";

export interface ActivationsSettings {
  /** Which run and checkpoint (default: the main selection). */
  side?: Side;
  /** The heading before the colour scale menu. */
  title?: string;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
  /** A/B mode: the layer colour range shared with the other side (null: the state's `activationNorm`). */
  range?: (state: Readonly<State>) => Promise<ValueRange | null>;
}

export class ActivationsPanel extends Part {
  readonly stage: SpriteStage;
  private readonly side: Side;
  private readonly status: Status;
  private readonly info: HTMLElement;
  private readonly norm: HTMLSelectElement;
  private readonly loads = new Latest();
  private geometry: { key: string; layout: ActivationLayout } | null = null;
  private readonly range: ((state: Readonly<State>) => Promise<ValueRange | null>) | null;

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    settings: ActivationsSettings = {},
  ) {
    super(ctx.store);
    const { store } = ctx;
    this.side = settings.side ?? MAIN;
    this.range = settings.range ?? null;
    const id = testids(settings.testidSuffix);
    this.status = new Status(id("activations-status"));
    this.norm = select(
      id("activations-norm"),
      [
        ["channel", "per channel"],
        ["layer", "per layer"],
      ],
      store.get().activationNorm,
      (value) => store.set({ activationNorm: value as State["activationNorm"] }),
      "Colour scale of the activations",
    );
    this.stage = new SpriteStage(
      id("activations-sprite"),
      "Activations of the selected image",
      (url) => ctx.images.load(url),
      () => undefined,
      (error, url) =>
        void imageErrorText((u) => ctx.api.getJson(u), error, url).then((text) => this.status.set("error", text)),
    );
    this.info = h("div", { class: "dv-info dv-muted", testid: id("activation-info") });
    this.stage.image.addEventListener("mousemove", (event) => this.onMove(event));
    this.stage.image.addEventListener("mouseleave", () => {
      this.info.textContent = "";
      this.stage.outline("hover", null);
    });
    container.append(
      h("h3", {}, `${settings.title ?? "Activations"} `, h("label", { class: "dv-inline dv-small" }, this.norm)),
      this.status.element,
      this.stage.element,
      this.info,
      colourKey(ACTIVATION_KEY),
    );
    // On a shared range, the other side's selection changes the scale too.
    const rangeKeys: Key[] = this.range ? ["runB", "stepB"] : [];
    this.watch(
      [...this.side.runKeys, ...this.side.stepKeys, "image", "layer", "activationNorm", ...rangeKeys],
      () => void ctx.gate.track(this.render()),
    );
    // While playing, the layout (for the readout) waits; it comes on pause.
    this.watch(["playing"], () => {
      if (!store.get().playing) void this.render();
    });
    store.subscribe((s) => (this.norm.value = s.activationNorm), ["activationNorm"]);
    ctx.prefetcher.register((step) => {
      const state = store.get();
      const run = this.side.run(state);
      const layer = run?.layers.find((entry) => entry.name === state.layer);
      const image = state.image;
      if (!this.active || !run || !layer?.has_activations || image === null) return [];
      if (this.range && state.runB !== null) return []; // the shared range needs both layouts first
      if (!hasStep(run, "activations", step) || !ctx.probes.peek(run).has(image)) return [];
      return [{ kind: "image", url: activationsUrl(run.run, layer.name, step, image, state.activationNorm) }];
    });
  }

  protected refresh(): void {
    void this.render();
  }

  /** Resolves once the sprite is on screen (or there is nothing to show). */
  private async render(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    const run = this.side.run(state);
    const empty = (text: string) => {
      this.stage.clear();
      this.status.set("empty", text);
      this.info.textContent = "";
    };
    if (!run) return empty("No run selected.");
    let probes: ReadonlySet<number> = new Set();
    try {
      probes = await this.ctx.probes.load(run, this.side.step(state));
    } catch {
      // no probe images known: say so below
    }
    if (!current()) return;
    const image = state.image;
    const layer = run.layers.find((entry) => entry.name === state.layer);
    const step = this.side.step(state);
    if (image === null) return empty("Select a probe image to see its activations at this layer.");
    if (!layer) return empty("No layer selected.");
    if (!layer.has_activations)
      return empty(
        `Activations not logged for layer ${layer.name}: add it to activation_layers (DeepViz(..., activation_layers=[...])) to log them.`,
      );
    if (!probes.has(image)) {
      const list = [...probes]
        .slice(0, 20)
        .map((i) => `#${i}`)
        .join(", ");
      return empty(
        `Activations are logged for probe images only; image #${image} is not one. Probe images: ${list || "none"}.`,
      );
    }
    if (step === null || !hasStep(run, "activations", step))
      return empty(`No activations were logged at step ${step ?? "–"}.`);
    const range = this.range ? await this.range(state) : null;
    if (!current()) return;
    const norm = range ? "layer" : state.activationNorm;
    const url = activationsUrl(run.run, layer.name, step, image, norm, range);
    const key = `${run.run}\u0000${layer.name}\u0000${image}\u0000${norm}\u0000${range ?? ""}`;
    if (this.stage.current !== url)
      this.status.set("loading", `Loading the activations of image #${image} at ${layer.name}…`);
    // As for the filters: no layout request per frame while playing; it comes on pause.
    if (!state.playing) {
      this.ctx.api.activationsLayout(run.run, layer.name, step, image, norm, range).then(
        (layout) => {
          if (current()) this.geometry = { key, layout };
        },
        () => undefined, // no readout until a later layout loads
      );
    }
    const ok = await this.stage.show(url, { step, key });
    if (!ok || !current()) return;
    const shape = layer.output_shape.slice(1).join("×");
    this.status.set(
      "ready",
      `image #${image} at ${layer.name}${shape ? ` (${shape})` : ""} · step ${step} · ${range ? describeSharedRange("activations", range) : norm === "layer" ? "one colour scale for the layer" : "colour scale per channel"}`,
    );
  }

  private onMove(event: MouseEvent): void {
    const meta = this.stage.shown;
    const geometry = this.geometry;
    if (!meta || !geometry || geometry.key !== meta.key) return;
    const layout = geometry.layout;
    const pixel = this.stage.pixelAt(event, layout);
    const at = pixel ? locateActivationPixel(layout, pixel.x, pixel.y) : null;
    if (!at) {
      this.info.textContent = "";
      this.stage.outline("hover", null);
      return;
    }
    const [cellRow, cellCol] = [Math.floor(at.channel / layout.channel_grid[1]), at.channel % layout.channel_grid[1]];
    this.stage.outline(
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
    this.info.textContent = `${where}${range ? ` · channel range ${formatNumber(toNumber(range[0]))} … ${formatNumber(toNumber(range[1]))}` : ""}`;
  }
}
