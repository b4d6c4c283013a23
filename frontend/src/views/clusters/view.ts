// Clusters at the selected checkpoint: K-Means clusters of the eval images' features, each with
// its nearest images, majority class and purity; and a scatter of the 2-D projection coloured
// by class or cluster (hover shows the image, click selects it).

import { errorText } from "../../api/client";
import type { ClustersResponse, CorpusResponse } from "../../api/types";
import { toNumber } from "../../api/types";
import { clustersUrl } from "../../api/urls";
import { ScatterChart } from "../../charts/scatter";
import type { AppContext } from "../../core/context";
import { currentRun, hasStep } from "../../core/derived";
import { checkpointGate, Latest } from "../../core/guards";
import type { ColourBy } from "../../core/state";
import { categoricalColor } from "../../lib/colours";
import { percent } from "../../lib/format";
import { className } from "../../lib/search";
import { h, replaceChildren, Status, select } from "../../ui/dom";
import { categoryLegend } from "../../ui/legend";
import { ensureStyles } from "../../ui/styles";
import { thumbnailsFor } from "../../ui/thumbnails";
import { TabView } from "../common";

const CSS = `
.dv-cluster-layout { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.dv-cards { flex: 1; min-width: 320px; display: flex; flex-direction: column; gap: 6px; max-height: 640px; overflow: auto; }
.dv-card { border: 1px solid var(--dv-border); border-radius: 4px; padding: 4px 6px; }
.dv-card-head { display: flex; gap: 8px; align-items: center; font-size: 12px; margin-bottom: 3px; }
.dv-strip { display: flex; flex-wrap: wrap; gap: 2px; }
`;

interface Loaded {
  run: string;
  clusters: ClustersResponse;
  corpus: CorpusResponse | null;
  names: string[];
}

export class ClustersView extends TabView {
  private readonly status = new Status();
  private readonly colorBy: HTMLSelectElement;
  private readonly scatter: ScatterChart;
  private readonly legend: HTMLElement;
  private readonly cards: HTMLElement;
  private readonly loads = new Latest();
  private data: Loaded | null = null;
  private highlightCluster: number | null = null;
  private cardsKey = "";

  constructor(ctx: AppContext, root: HTMLElement) {
    super(ctx, root);
    ensureStyles("clusters", CSS);
    const { store } = ctx;
    this.colorBy = select(
      "clusters-color-by",
      [
        ["class", "colour by true class"],
        ["cluster", "colour by cluster"],
      ],
      store.get().colorBy,
      (value) => store.set({ colorBy: value as ColourBy }),
      "Colour of the points",
    );
    this.legend = h("div", { class: "dv-legend" });
    this.cards = h("div", { class: "dv-cards" });
    const plot = h("div", {});
    this.scatter = new ScatterChart(plot, {
      testid: "clusters-scatter",
      tooltipTestid: "clusters-tooltip",
      ariaLabel: "2-D projection of the eval images' features",
      tooltip: (index) => this.tooltip(index),
      onClick: (index) => store.set({ image: index }),
    });
    plot.appendChild(this.legend);
    root.append(
      h("div", { class: "dv-toolbar" }, this.colorBy),
      this.status.element,
      h("div", { class: "dv-cluster-layout" }, plot, this.cards),
    );
    this.watchFrame(["runs", "run", "step", "loaded"], () => this.load());
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
    this.watch(["image"], () => {
      this.draw();
      this.markSelected();
    });
    ctx.prefetcher.register((step) => {
      const run = currentRun(store.get());
      if (!this.active || !run || !hasStep(run, "clusters", step)) return [];
      return [{ kind: "json", url: clustersUrl(run.run, step) }];
    });
  }

  protected refresh(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const { store, api } = this.ctx;
    const empty = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.data = null;
      this.scatter.setPoints(null);
      this.status.set(kind, text);
      replaceChildren(this.cards);
      replaceChildren(this.legend);
      this.cardsKey = "";
      this.draw();
    };
    const gate = checkpointGate(store.get(), "clusters", "clusters");
    if (!gate.ok) return empty(gate.text, gate.state);
    const { run, step } = gate;
    if (!this.data) this.status.set("loading", `Loading the clusters at step ${step}…`);
    try {
      const [clusters, corpus] = await Promise.all([
        api.clusters(run.run, step),
        run.kinds.includes("corpus") ? api.corpus(run.run).catch(() => null) : Promise.resolve(null),
      ]);
      if (!current()) return;
      const names = corpus?.class_names?.length ? corpus.class_names : run.class_names;
      this.data = { run: run.run, clusters, corpus, names };
    } catch (error) {
      if (current()) empty(`Could not load the clusters: ${errorText(error)}`, "error");
      return;
    }
    const { clusters } = this.data;
    this.scatter.setPoints(clusters.projection);
    const notes = [
      `${clusters.sizes.length} clusters of ${clusters.assignment.length} eval images`,
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

  private draw(): void {
    const data = this.data;
    if (!data) {
      this.scatter.draw(null);
      return;
    }
    const byCluster = this.store.get().colorBy === "cluster";
    const highlight = this.highlightCluster;
    this.scatter.draw({
      colour: (index) =>
        categoricalColor(
          byCluster ? (data.clusters.assignment[index] ?? -1) : data.corpus ? (data.corpus.labels[index] ?? -1) : -1,
        ),
      faded: (index) => highlight !== null && data.clusters.assignment[index] !== highlight,
      selected: this.store.get().image,
    });
  }

  private tooltip(index: number): Node[] {
    const data = this.data;
    if (!data) return [];
    const thumbnails = thumbnailsFor(this.ctx, currentRun(this.store.get()));
    const label = data.corpus?.labels[index];
    const text = [
      h("div", { text: `#${index}${label !== undefined ? ` · ${className(data.names, label)}` : ""}` }),
      h("div", { class: "dv-muted", text: `cluster ${data.clusters.assignment[index]}` }),
    ];
    return thumbnails && index < thumbnails.count ? [thumbnails.canvas(index, 64), ...text] : text;
  }

  private renderLegend(): void {
    const data = this.data;
    if (!data) {
      replaceChildren(this.legend);
      return;
    }
    const byCluster = this.store.get().colorBy === "cluster";
    categoryLegend(this.legend, byCluster ? data.clusters.sizes.map((_, k) => `cluster ${k}`) : data.names);
  }

  private renderCards(): void {
    const data = this.data;
    if (!data) return;
    const { clusters, names } = data;
    const thumbnails = thumbnailsFor(this.ctx, currentRun(this.store.get()));
    const key = `${data.run}|${clusters.step}`;
    if (key === this.cardsKey) return;
    this.cardsKey = key;
    const cards = clusters.sizes.map((size, k) => {
      const majority = clusters.majority_class[k];
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
        item.addEventListener("click", () => this.store.set({ image: index }));
        strip.appendChild(item);
      }
      return h(
        "div",
        {
          testid: "cluster-card",
          class: "dv-card",
          attrs: { "data-cluster": k },
          on: { mouseenter: () => this.highlight(k), mouseleave: () => this.highlight(null) },
        },
        h(
          "div",
          { class: "dv-card-head" },
          h("span", { class: "dv-swatch", style: { background: categoricalColor(k) } }),
          h("strong", { text: `cluster ${k}` }),
          h("span", { class: "dv-muted", text: `${size} image${size === 1 ? "" : "s"}` }),
          h("span", { text: `majority ${majority >= 0 ? className(names, majority) : "–"}` }),
          h("span", { class: "dv-muted", text: `purity ${percent(toNumber(clusters.purity[k]), 0)}` }),
        ),
        strip,
      );
    });
    replaceChildren(this.cards, ...cards);
    this.markSelected();
  }

  private highlight(cluster: number | null): void {
    this.highlightCluster = cluster;
    this.draw();
  }

  private markSelected(): void {
    const image = String(this.store.get().image);
    for (const item of Array.from(this.cards.querySelectorAll("[data-testid=cluster-image]"))) {
      item.classList.toggle("dv-selected", item.getAttribute("data-index") === image);
    }
  }
}
