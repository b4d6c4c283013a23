// The feature visualization bank: the selected layer's rendered units at the selected checkpoint
// (the latest render at or before it: renders happen at some checkpoints only), one image per unit
// drawn from the layer's sprite, "no signal" where a unit's objective stayed near zero. Pointing at
// a unit shows its facts; clicking it selects the unit (the layout's `units` map cells to units), which
// opens its unit panel. The Filters view shows it instead of the filter bank. Every checkpoint
// between two renders asks for the same sprite and layout, so playback loads each render once;
// what is on screen stays until the next render is drawn.

import { errorText } from "../api/client";
import type { FeatureVisLayout, RunSummary } from "../api/types";
import { toNumber } from "../api/types";
import { featureVisLayoutUrl, featureVisSpriteUrl } from "../api/urls";
import type { AppContext } from "../core/context";
import { featureVisLayer, featureVisStep, MAIN, type Side } from "../core/derived";
import { Latest, runGate } from "../core/guards";
import { Part } from "../core/part";
import { methodText, noFeatureVisText, notRenderedYetText, renderedAtText } from "../lib/feature_vis";
import { formatNumber } from "../lib/format";
import { h, replaceChildren, type Status, testids } from "../ui/dom";
import { drawFeatureVisCell } from "../ui/feature_vis";
import type { Zoom } from "../ui/sprite";
import { ensureStyles } from "../ui/styles";

const CSS = `
.dv-fv-grid { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-start; }
.dv-fv-cell { display: flex; flex-direction: column; align-items: center; gap: 1px; cursor: pointer; padding: 2px; border-radius: 3px; }
.dv-fv-cell:hover { outline: 2px solid var(--dv-accent); }
.dv-fv-cell.dv-selected { outline: 3px solid var(--dv-select); }
.dv-fv-image { image-rendering: pixelated; display: block; background: #ddd; }
.dv-fv-nosignal { display: flex; align-items: center; justify-content: center; text-align: center; font-size: 11px; font-weight: 600; color: var(--dv-muted); background: repeating-linear-gradient(45deg, #eee, #eee 6px, #e0e0e0 6px, #e0e0e0 12px); border: 1px dashed #bdbdbd; box-sizing: border-box; }
.dv-fv-label { font-size: 10px; color: var(--dv-muted); font-variant-numeric: tabular-nums; line-height: 12px; }
`;

/** Largest cell drawn when fitting (CSS pixels), and the most a fitted image is magnified. */
const FIT_MAX = 112;
const FIT_MAX_FACTOR = 8;
const GAP = 10;

export interface FeatureVisBankSettings {
  /** The status line: what is loading, what is shown, what went wrong. */
  status: Status;
  /** Where the facts of the unit pointed at (or selected) go. */
  info: HTMLElement;
  /** Which run and checkpoint (default: the main selection). */
  side?: Side;
  /** Appended to every test id of the panel (when it is shown twice on a page). */
  testidSuffix?: string;
}

/** Pixels per image side on screen: the zoom's factor, or for "fit" the largest that fits the width. */
export function cellSize(thumb: number, zoom: Zoom, available: number, count: number): number {
  if (zoom !== "fit") return thumb * Number(zoom);
  const perRow = Math.max(1, Math.min(count, 8));
  const room = Math.min(FIT_MAX, Math.floor(available / perRow) - GAP);
  const factor = Math.max(1, Math.min(FIT_MAX_FACTOR, Math.floor(room / thumb)));
  return thumb * factor;
}

interface Shown {
  run: string;
  layer: string;
  /** The selected checkpoint it stands for. */
  step: number;
  layout: FeatureVisLayout;
  sprite: HTMLImageElement;
}

export class FeatureVisBank extends Part {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly side: Side;
  private readonly status: Status;
  private readonly info: HTMLElement;
  private readonly id: (name: string) => string;
  private readonly loads = new Latest();
  private shown: Shown | null = null;
  private hovered: number | null = null;
  private zoom: Zoom = "fit";

  constructor(
    container: HTMLElement,
    private readonly ctx: AppContext,
    settings: FeatureVisBankSettings,
  ) {
    super(ctx.store);
    ensureStyles("feature-vis-bank", CSS);
    this.side = settings.side ?? MAIN;
    this.status = settings.status;
    this.info = settings.info;
    this.id = testids(settings.testidSuffix);
    this.grid = h("div", {
      testid: this.id("fv-grid"),
      class: "dv-fv-grid",
      attrs: { role: "list", "aria-label": "Feature visualizations of the layer's units" },
    });
    this.grid.addEventListener("mouseleave", () => this.hover(null));
    this.element = h("div", { testid: this.id("fv-bank"), class: "dv-fv-bank" }, this.grid);
    container.appendChild(this.element);

    this.watch([...this.side.runKeys, ...this.side.stepKeys, "layer"], () => void ctx.gate.track(this.render()));
    this.watch(["unit"], () => {
      this.markSelected();
      this.renderInfo();
    });
    window.addEventListener("resize", () => {
      if (this.active) this.draw(false);
    });
    ctx.prefetcher.register((step) => {
      const state = this.store.get();
      const run = this.side.run(state);
      const layer = featureVisLayer(run, state.layer);
      const rendered = layer ? featureVisStep(run, step) : null;
      if (!this.active || !run || !layer || rendered === null) return [];
      return [
        { kind: "json", url: featureVisLayoutUrl(run.run, layer.name, rendered) },
        { kind: "image", url: featureVisSpriteUrl(run.run, layer.name, rendered) },
      ];
    });
  }

  setZoom(zoom: Zoom): void {
    this.zoom = zoom;
    this.draw(false);
  }

  /** The layout on screen (null before one has come, or when nothing is shown). */
  get layout(): FeatureVisLayout | null {
    return this.shown?.layout ?? null;
  }

  protected override activeChanged(active: boolean): void {
    if (!active) this.loads.cancel();
  }

  protected refresh(): void {
    void this.render();
  }

  /** Show the render of the selection; resolves once it is drawn (what playback waits for). */
  private async render(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    const fail = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.shown = null;
      replaceChildren(this.grid);
      this.element.removeAttribute("data-step");
      this.element.removeAttribute("data-requested-step");
      this.status.set(kind, text);
      this.renderInfo();
    };
    const gate = runGate(state, this.side);
    if (!gate.ok) return fail(gate.text, gate.state);
    const run = gate.run;
    const step = this.side.step(state);
    const layer = featureVisLayer(run, state.layer);
    if (!layer) return fail(noFeatureVisText(run, state.layer));
    if (step === null) return fail(`Run ${run.run} has no checkpoints yet.`);
    const rendered = featureVisStep(run, step);
    if (rendered === null) return fail(notRenderedYetText(run, step));
    const { api, images } = this.ctx;
    if (!this.shown || this.shown.run !== run.run || this.shown.layer !== layer.name)
      this.status.set("loading", `Loading the feature visualizations of ${layer.name} at step ${rendered}…`);
    const early = images.load(featureVisSpriteUrl(run.run, layer.name, rendered));
    early.catch(() => undefined);
    let layout: FeatureVisLayout;
    let sprite: HTMLImageElement;
    try {
      layout = await api.featureVisLayout(run.run, layer.name, rendered);
      // The sprite of the render the layout names (the same URL unless the route fell back further).
      sprite =
        layout.step === rendered
          ? await early
          : await images.load(featureVisSpriteUrl(run.run, layer.name, layout.step));
    } catch (error) {
      if (current()) fail(`Could not load the feature visualizations of ${layer.name}: ${errorText(error)}`, "error");
      return;
    }
    if (!current()) return;
    const previous = this.shown;
    this.shown = { run: run.run, layer: layer.name, step, layout, sprite };
    const same =
      previous?.run === run.run &&
      previous.layer === layer.name &&
      previous.layout.step === layout.step &&
      previous.sprite === sprite;
    if (!same) this.draw(true);
    this.element.setAttribute("data-step", String(layout.step));
    this.element.setAttribute("data-requested-step", String(step));
    this.status.set("ready", this.describe(run, layout, step));
    this.renderInfo();
  }

  private describe(run: RunSummary, layout: FeatureVisLayout, step: number): string {
    const silent = layout.no_signal.filter(Boolean).length;
    const of = layerOf(run, layout.layer);
    return [
      `${layout.layer}${of?.kind ? ` · ${of.kind}` : ""}`,
      `feature visualization of ${layout.units.length} units${silent ? ` (${silent} without signal)` : ""}`,
      renderedAtText(layout.step, step),
      methodText(layout),
      "click a unit to open it",
    ].join(" · ");
  }

  /** Build (or, for the same units, redraw) the cells of the render on screen. */
  private draw(images: boolean): void {
    const shown = this.shown;
    if (!shown) return;
    const { layout, sprite } = shown;
    const [thumbH, thumbW] = layout.thumb;
    const available = this.element.parentElement?.clientWidth || 640;
    const size = cellSize(Math.max(thumbH, thumbW), this.zoom, available, layout.units.length);
    const width = `${Math.round((size * thumbW) / Math.max(thumbH, thumbW))}px`;
    const height = `${Math.round((size * thumbH) / Math.max(thumbH, thumbW))}px`;
    const cells = Array.from(this.grid.children) as HTMLElement[];
    const reuse =
      cells.length === layout.units.length &&
      cells.every(
        (cell, i) =>
          cell.getAttribute("data-unit") === String(layout.units[i]) &&
          cell.getAttribute("data-no-signal") === String(layout.no_signal[i]),
      );
    if (!reuse) {
      const built = layout.units.map((unit, position) => {
        const silent = Boolean(layout.no_signal[position]);
        const picture = silent
          ? h("div", {
              testid: this.id("fv-no-signal"),
              class: "dv-fv-nosignal",
              text: "no signal",
              title: `unit ${unit}: its objective stayed near zero, so its image would be plain grey`,
            })
          : h("canvas", { testid: this.id("fv-image"), class: "dv-fv-image" });
        const cell = h(
          "div",
          {
            testid: this.id("fv-cell"),
            class: "dv-fv-cell",
            title: `unit ${unit}; click to open it`,
            attrs: { role: "listitem", "data-unit": unit, "data-position": position, "data-no-signal": silent },
          },
          picture,
          h("span", { class: "dv-fv-label", text: `unit ${unit}` }),
        );
        cell.addEventListener("mouseenter", () => this.hover(position));
        cell.addEventListener("click", () => this.select(position));
        return cell;
      });
      replaceChildren(this.grid, ...built);
      images = true;
    }
    for (const [position, cell] of (Array.from(this.grid.children) as HTMLElement[]).entries()) {
      const picture = cell.firstElementChild as HTMLElement;
      picture.style.width = width;
      picture.style.height = height;
      if (images && picture instanceof HTMLCanvasElement) drawFeatureVisCell(picture, sprite, layout, position);
      cell.setAttribute("data-step", String(layout.step));
    }
    this.markSelected();
  }

  /** The unit of the cell clicked becomes the selected unit (clicking it again deselects). */
  private select(position: number): void {
    const unit = this.shown?.layout.units[position];
    if (unit === undefined) return;
    const state = this.store.get();
    const chosen = state.unit === unit ? null : unit;
    // A unit is its filter too (the layer's output channel), as a click on the filter bank has it.
    this.store.set({ unit: chosen, filter: chosen });
  }

  private hover(position: number | null): void {
    if (position === this.hovered) return;
    this.hovered = position;
    this.renderInfo();
  }

  private markSelected(): void {
    const unit = String(this.store.get().unit);
    for (const cell of Array.from(this.grid.children)) {
      cell.classList.toggle("dv-selected", cell.getAttribute("data-unit") === unit);
    }
  }

  /** The facts of the unit pointed at, else of the selected one, else a hint. */
  private renderInfo(): void {
    const shown = this.shown;
    const hint = (text: string) => replaceChildren(this.info, h("span", { class: "dv-muted", text }));
    if (!shown) {
      hint("Point at a unit's image to see its facts; click it to open the unit.");
      return;
    }
    const { layout } = shown;
    const selected = this.store.get().unit;
    const position = this.hovered ?? (selected === null ? -1 : layout.units.indexOf(selected));
    const unit = layout.units[position];
    if (unit === undefined) {
      hint(
        `${layout.units.length} units rendered at step ${layout.step}. Point at one to see its facts; click it to open the unit.`,
      );
      return;
    }
    const rows: [string, string][] = [
      ["unit", `${unit}${unit === selected ? " (selected)" : ""}`],
      ["objective", formatNumber(toNumber(layout.objective[position]))],
      ["signal", layout.no_signal[position] ? "none: the objective stayed near zero" : "yes"],
      ["warm start", layout.warm[position] ? `from step ${layout.warm_from ?? "–"}` : "no"],
      ["rendered at", `step ${layout.step}${layout.step !== shown.step ? ` (shown for step ${shown.step})` : ""}`],
      ["method", methodText(layout)],
    ];
    if (layout.seconds !== null && layout.seconds !== undefined)
      rows.push(["render time", `${formatNumber(layout.seconds, 3)} s for the layer`]);
    const table = h("dl", { class: "dv-facts" });
    for (const [name, value] of rows)
      table.append(h("dt", { text: name }), h("dd", { text: value, attrs: { "data-fact": name } }));
    replaceChildren(this.info, table);
  }
}

function layerOf(run: RunSummary, name: string) {
  return run.layers.find((entry) => entry.name === name) ?? null;
}
