// Clusters at the selected checkpoint: K-Means clusters of the eval images' features, each with
// its nearest images, majority class and purity; and a scatter of the 2-D projection coloured
// by class or cluster (hover shows the image, click selects it).

import { buildQuery, describe, toNumber, type ClustersResponse, type CorpusResponse } from "../../api/client";
import { hasStep, thumbnailsFor, type AppContext, type View } from "../../core/context";
import { className } from "../../lib/search";
import { currentRun, type State } from "../../core/store";
import type { PrefetchItem } from "../../core/timeline";
import { categoricalColor, h, percent, replaceChildren, select, Status } from "../../ui/dom";

const SIZE = 440;
const PAD = 12;

export interface ScatterPoint {
  index: number;
  x: number;
  y: number;
}

/** Canvas positions (in a size x size box with `pad` margin) of the finite projected points. */
export function scatterPoints(
  projection: readonly (readonly (number | string)[])[],
  size: number,
  pad: number,
): ScatterPoint[] {
  const finite: { index: number; px: number; py: number }[] = [];
  projection.forEach((pair, index) => {
    const px = toNumber(pair[0] as number);
    const py = toNumber(pair[1] as number);
    if (Number.isFinite(px) && Number.isFinite(py)) finite.push({ index, px, py });
  });
  if (!finite.length) return [];
  const xs = finite.map((p) => p.px);
  const ys = finite.map((p) => p.py);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const inner = size - 2 * pad;
  const offsetX = pad + (inner - ((maxX - minX) / span) * inner) / 2;
  const offsetY = pad + (inner - ((maxY - minY) / span) * inner) / 2;
  return finite.map(({ index, px, py }) => ({
    index,
    x: offsetX + ((px - minX) / span) * inner,
    // y up, as in a plot
    y: size - (offsetY + ((py - minY) / span) * inner),
  }));
}

/** The point nearest (x, y) within `radius`, or null. */
export function nearestPoint(
  points: readonly ScatterPoint[],
  x: number,
  y: number,
  radius: number,
): ScatterPoint | null {
  let best: ScatterPoint | null = null;
  let bestDistance = radius * radius;
  for (const point of points) {
    const distance = (point.x - x) ** 2 + (point.y - y) ** 2;
    if (distance <= bestDistance) {
      best = point;
      bestDistance = distance;
    }
  }
  return best;
}

export class ClustersView implements View {
  readonly root: HTMLElement;
  private active = false;
  private readonly status = new Status();
  private readonly colorBy: HTMLSelectElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly cards: HTMLElement;
  private token = 0;
  private data: { run: string; clusters: ClustersResponse; corpus: CorpusResponse | null; names: string[] } | null =
    null;
  private points: ScatterPoint[] = [];
  private hovered: ScatterPoint | null = null;
  private highlightCluster: number | null = null;
  private cardsKey = "";

  constructor(private readonly ctx: AppContext) {
    const { store } = ctx;
    this.colorBy = select(
      "clusters-color-by",
      [
        ["class", "colour by true class"],
        ["cluster", "colour by cluster"],
      ],
      store.get().colorBy,
      (value) => store.set({ colorBy: value as State["colorBy"] }),
      "Colour of the points",
    );
    this.canvas = h("canvas", {
      testid: "clusters-scatter",
      class: "dv-scatter",
      attrs: { role: "img", "aria-label": "2-D projection of the eval images' features" },
    });
    this.canvas.style.width = `${SIZE}px`;
    this.canvas.style.height = `${SIZE}px`;
    this.tooltip = h("div", { class: "dv-tooltip", testid: "clusters-tooltip" });
    this.tooltip.hidden = true;
    this.legend = h("div", { class: "dv-legend" });
    this.cards = h("div", { class: "dv-cards" });
    this.canvas.addEventListener("mousemove", (event) => this.onMove(event));
    this.canvas.addEventListener("mouseleave", () => {
      this.hovered = null;
      this.tooltip.hidden = true;
      this.draw();
    });
    this.canvas.addEventListener("click", (event) => {
      const point = this.pointAt(event);
      if (point) store.set({ image: point.index });
    });
    this.root = h(
      "section",
      { testid: "view-clusters", class: "dv-view", attrs: { role: "tabpanel", "aria-label": "Clusters" } },
      h("div", { class: "dv-toolbar" }, this.colorBy),
      this.status.element,
      h(
        "div",
        { class: "dv-cluster-layout" },
        h("div", {}, h("div", { class: "dv-scatter-box" }, this.canvas, this.tooltip), this.legend),
        this.cards,
      ),
    );
    this.root.hidden = true;
    store.subscribe(() => this.active && ctx.gate.track(this.load()), ["runs", "run", "step", "loaded"]);
    store.subscribe(
      (s) => {
        this.colorBy.value = s.colorBy;
        if (this.active) {
          this.draw();
          this.renderLegend();
        }
      },
      ["colorBy"],
    );
    store.subscribe(() => this.active && (this.draw(), this.markSelected()), ["image"]);
    ctx.prefetcher.register((step) => this.prefetch(step));
  }

  setActive(active: boolean): void {
    this.active = active;
    this.root.hidden = !active;
    if (active) void this.load();
  }

  private prefetch(step: number): PrefetchItem[] {
    const run = currentRun(this.ctx.store.get());
    if (!this.active || !run || !hasStep(run, "clusters", step)) return [];
    return [{ kind: "json", url: buildQuery("clusters", { run: run.run, step }) }];
  }

  private async load(): Promise<void> {
    const token = ++this.token;
    const { store, api } = this.ctx;
    const state = store.get();
    const run = currentRun(state);
    const empty = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.data = null;
      this.points = [];
      this.status.set(kind, text);
      replaceChildren(this.cards);
      replaceChildren(this.legend);
      this.cardsKey = "";
      this.draw();
    };
    if (!state.loaded) return empty("Loading the list of runs…", "loading");
    if (!run) return empty(state.runs.length ? "Select a run." : "No run has deepviz data yet.");
    if (state.step === null) return empty(`Run ${run.run} has no checkpoints yet.`);
    if (!hasStep(run, "clusters", state.step)) return empty(`No clusters were logged at step ${state.step}.`);
    const step = state.step;
    if (!this.data) this.status.set("loading", `Loading the clusters at step ${step}…`);
    try {
      const [clusters, corpus] = await Promise.all([
        api.clusters(run.run, step),
        run.kinds.includes("corpus") ? api.corpus(run.run).catch(() => null) : Promise.resolve(null),
      ]);
      if (token !== this.token) return;
      const names = corpus?.class_names?.length ? corpus.class_names : run.class_names;
      this.data = { run: run.run, clusters, corpus, names };
    } catch (error) {
      if (token !== this.token) return;
      return empty(`Could not load the clusters: ${describe(error)}`, "error");
    }
    const { clusters } = this.data;
    this.points = scatterPoints(clusters.projection, SIZE, PAD);
    const k = clusters.sizes.length;
    const notes = [
      `${k} clusters of ${clusters.assignment.length} eval images`,
      clusters.layer ? `features: ${clusters.layer}` : "",
      clusters.metric ? `${clusters.metric} distance` : "",
      `step ${clusters.step}`,
    ];
    if (clusters.nonfinite_images) notes.push(`${clusters.nonfinite_images} images with NaN/Inf features left out`);
    this.status.set("ready", notes.filter(Boolean).join(" · "));
    this.renderLegend();
    this.renderCards();
    this.draw();
  }

  private colorOf(index: number): string {
    const data = this.data;
    if (!data) return "#999";
    if (this.ctx.store.get().colorBy === "cluster") return categoricalColor(data.clusters.assignment[index] ?? -1);
    return categoricalColor(data.corpus ? (data.corpus.labels[index] ?? -1) : -1);
  }

  private draw(): void {
    const ratio = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(SIZE * ratio)) {
      this.canvas.width = Math.round(SIZE * ratio);
      this.canvas.height = Math.round(SIZE * ratio);
    }
    const context = this.canvas.getContext("2d");
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, SIZE, SIZE);
    const data = this.data;
    if (!data) return;
    const highlight = this.highlightCluster;
    const selected = this.ctx.store.get().image;
    for (const point of this.points) {
      const faded = highlight !== null && data.clusters.assignment[point.index] !== highlight;
      context.globalAlpha = faded ? 0.12 : 0.85;
      context.fillStyle = this.colorOf(point.index);
      context.beginPath();
      context.arc(point.x, point.y, 3, 0, Math.PI * 2);
      context.fill();
    }
    context.globalAlpha = 1;
    for (const point of this.points) {
      if (point.index !== selected && point !== this.hovered) continue;
      context.strokeStyle = point.index === selected ? "#1565c0" : "#212121";
      context.lineWidth = 2;
      context.beginPath();
      context.arc(point.x, point.y, 6, 0, Math.PI * 2);
      context.stroke();
    }
  }

  private pointAt(event: MouseEvent): ScatterPoint | null {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * SIZE) / Math.max(rect.width, 1);
    const y = ((event.clientY - rect.top) * SIZE) / Math.max(rect.height, 1);
    return nearestPoint(this.points, x, y, 8);
  }

  private onMove(event: MouseEvent): void {
    const point = this.pointAt(event);
    if (point === this.hovered) return;
    this.hovered = point;
    this.draw();
    const data = this.data;
    if (!point || !data) {
      this.tooltip.hidden = true;
      return;
    }
    const thumbnails = thumbnailsFor(this.ctx);
    const label = data.corpus?.labels[point.index];
    const cluster = data.clusters.assignment[point.index];
    replaceChildren(
      this.tooltip,
      thumbnails && point.index < thumbnails.count ? thumbnails.canvas(point.index, 64) : null,
      h("div", { text: `#${point.index}${label !== undefined ? ` · ${className(data.names, label)}` : ""}` }),
      h("div", { class: "dv-muted", text: `cluster ${cluster}` }),
    );
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${Math.min(point.x + 12, SIZE - 90)}px`;
    this.tooltip.style.top = `${Math.min(point.y + 12, SIZE - 110)}px`;
  }

  private renderLegend(): void {
    const data = this.data;
    if (!data) return replaceChildren(this.legend);
    const byCluster = this.ctx.store.get().colorBy === "cluster";
    const count = byCluster ? data.clusters.sizes.length : data.names.length || 0;
    const items: HTMLElement[] = [];
    for (let i = 0; i < Math.min(count, 40); i += 1) {
      items.push(
        h(
          "span",
          { class: "dv-legend-item" },
          h("span", { class: "dv-swatch", style: { background: categoricalColor(i) } }),
          byCluster ? `cluster ${i}` : className(data.names, i),
        ),
      );
    }
    if (count > 40) items.push(h("span", { class: "dv-muted", text: `… ${count - 40} more` }));
    replaceChildren(this.legend, ...items);
  }

  private renderCards(): void {
    const data = this.data;
    if (!data) return;
    const { clusters, names } = data;
    const thumbnails = thumbnailsFor(this.ctx);
    const key = `${data.run}|${clusters.step}`;
    if (key === this.cardsKey) return;
    this.cardsKey = key;
    const cards = clusters.sizes.map((size, k) => {
      const majority = clusters.majority_class[k];
      const purity = toNumber(clusters.purity[k]);
      const strip = h("div", { class: "dv-strip" });
      for (const index of clusters.nearest[k] ?? []) {
        if (index < 0) continue;
        const item =
          thumbnails && index < thumbnails.count
            ? thumbnails.canvas(index, 36, { testid: "cluster-image", title: `image #${index}; click to select it` })
            : h("span", {
                testid: "cluster-image",
                class: "dv-chip",
                text: `#${index}`,
                attrs: { "data-index": index },
              });
        item.addEventListener("click", () => this.ctx.store.set({ image: index }));
        strip.appendChild(item);
      }
      const card = h(
        "div",
        { testid: "cluster-card", class: "dv-card", attrs: { "data-cluster": k } },
        h(
          "div",
          { class: "dv-card-head" },
          h("span", { class: "dv-swatch", style: { background: categoricalColor(k) } }),
          h("strong", { text: `cluster ${k}` }),
          h("span", { class: "dv-muted", text: `${size} image${size === 1 ? "" : "s"}` }),
          h("span", { text: `majority ${majority >= 0 ? className(names, majority) : "–"}` }),
          h("span", { class: "dv-muted", text: `purity ${percent(purity, 0)}` }),
        ),
        strip,
      );
      card.addEventListener("mouseenter", () => {
        this.highlightCluster = k;
        this.draw();
      });
      card.addEventListener("mouseleave", () => {
        this.highlightCluster = null;
        this.draw();
      });
      return card;
    });
    replaceChildren(this.cards, ...cards);
    this.markSelected();
  }

  private markSelected(): void {
    const image = String(this.ctx.store.get().image);
    for (const item of Array.from(this.cards.querySelectorAll("[data-testid=cluster-image]"))) {
      item.classList.toggle("dv-selected", item.getAttribute("data-index") === image);
    }
  }
}
