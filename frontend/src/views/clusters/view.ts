// Clusters at the selected checkpoint: K-Means clusters of the eval images' features, each with
// its nearest images, majority class and purity; and a scatter of the 2-D projection coloured
// by class or cluster (hover shows the image, click selects it).
//
// A/B mode: B's scatter and clusters beside A's, both scatters on one pair of axes (the range of
// both projections) and one colour key: by class the same colours; by cluster each B cluster in
// the colour of the A cluster it shares the most eval images with (ab.ts). Pointing at an image
// rings it on the other side too, the selected image is ringed on both, and pointing at a
// cluster's card fades, on both sides, every image outside that cluster (pointing at a legend
// entry, every image of another class, or of another cluster colour).

import { errorText } from "../../api/client";
import type { ClustersResponse, CorpusResponse, RunSummary } from "../../api/types";
import { toNumber } from "../../api/types";
import { clustersUrl } from "../../api/urls";
import { projectionBounds, ScatterChart } from "../../charts/scatter";
import type { AppContext } from "../../core/context";
import { currentRun, hasStep, nearestCheckpoint, SIDE_B } from "../../core/derived";
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
import { BPicker } from "../confusion/ab";
import { type ClusterPairing, evalSetDifference, pairClusters } from "./ab";

const CSS = `
.dv-cluster-layout { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.dv-cards { flex: 1; min-width: 320px; display: flex; flex-direction: column; gap: 6px; max-height: 640px; overflow: auto; }
.dv-card { border: 1px solid var(--dv-border); border-radius: 4px; padding: 4px 6px; }
.dv-card-head { display: flex; gap: 8px; align-items: center; font-size: 12px; margin-bottom: 3px; flex-wrap: wrap; }
.dv-strip { display: flex; flex-wrap: wrap; gap: 2px; }
`;

interface Loaded {
  run: RunSummary;
  clusters: ClustersResponse;
  corpus: CorpusResponse | null;
  names: string[];
}

type SideName = "a" | "b";

/** What the pointer is on (a cluster's card, a legend entry): the images each side keeps bright. */
interface Highlight {
  kept(side: SideName, index: number): boolean;
}

async function loadSide(ctx: AppContext, run: RunSummary, step: number): Promise<Loaded> {
  const [clusters, corpus] = await Promise.all([
    ctx.api.clusters(run.run, step),
    run.kinds.includes("corpus") ? ctx.api.corpus(run.run).catch(() => null) : Promise.resolve(null),
  ]);
  const names = corpus?.class_names?.length ? corpus.class_names : run.class_names;
  return { run, clusters, corpus, names };
}

export class ClustersView extends TabView {
  private readonly status = new Status();
  private readonly statusB = new Status("clusters-ab-status");
  private readonly colorBy: HTMLSelectElement;
  private readonly picker: BPicker;
  private readonly scatter: ScatterChart;
  private readonly scatterB: ScatterChart;
  private readonly titleA: HTMLElement;
  private readonly titleB: HTMLElement;
  private readonly plotB: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly cards: HTMLElement;
  private readonly cardsB: HTMLElement;
  private readonly loads = new Latest();
  private readonly loadsB = new Latest();
  private data: Loaded | null = null;
  private dataB: Loaded | null = null;
  private pairing: ClusterPairing | null = null;
  private highlighted: Highlight | null = null;
  private cardsKey = "";
  private cardsKeyB = "";

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
    this.picker = new BPicker(ctx, { kind: "clusters", toggleTestid: "clusters-ab-toggle", prefix: "clusters-" });
    this.legend = h("div", { class: "dv-legend" });
    this.cards = h("div", { class: "dv-cards", testid: "cluster-cards" });
    this.cardsB = h("div", { class: "dv-cards", testid: "cluster-cards-b" });
    this.titleA = h("div", { class: "dv-small dv-muted", testid: "clusters-title" });
    this.titleB = h("div", { class: "dv-small dv-muted", testid: "clusters-title-b" });
    const plot = h("div", {}, this.titleA);
    this.scatter = new ScatterChart(plot, {
      testid: "clusters-scatter",
      tooltipTestid: "clusters-tooltip",
      ariaLabel: "2-D projection of the eval images' features",
      tooltip: (index) => this.tooltip("a", index),
      onClick: (index) => store.set({ image: index }),
      onHover: (index) => this.scatterB.setPartner(this.linked() ? index : null),
    });
    plot.appendChild(this.legend);
    this.plotB = h("div", { testid: "clusters-b" }, this.titleB);
    this.scatterB = new ScatterChart(this.plotB, {
      testid: "clusters-scatter-b",
      tooltipTestid: "clusters-tooltip-b",
      ariaLabel: "2-D projection of the eval images' features in B",
      tooltip: (index) => this.tooltip("b", index),
      onClick: (index) => store.set({ image: index }),
      onHover: (index) => this.scatter.setPartner(this.linked() ? index : null),
    });
    root.append(
      h("div", { class: "dv-toolbar" }, this.colorBy, this.picker.toggle),
      this.picker.element,
      this.status.element,
      this.statusB.element,
      h("div", { class: "dv-cluster-layout" }, plot, this.plotB, this.cards, this.cardsB),
    );
    this.showSideB();
    this.watchFrame(["runs", "run", "step", "loaded"], () => this.load());
    this.watchFrame(["runs", "run", "step", "loaded", "runB", "stepB"], () => this.loadB());
    store.subscribe(() => this.showSideB(), ["runB"]);
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
      const state = store.get();
      const run = currentRun(state);
      if (!this.active || !run || !hasStep(run, "clusters", step)) return [];
      const items = [{ kind: "json" as const, url: clustersUrl(run.run, step) }];
      // A/B with B following A's step: B's clusters at the next checkpoint too.
      const runB = SIDE_B.run(state);
      const stepB = state.stepB ?? (runB ? nearestCheckpoint(runB.checkpoints, step) : null);
      if (runB && stepB !== null && hasStep(runB, "clusters", stepB))
        items.push({ kind: "json", url: clustersUrl(runB.run, stepB) });
      return items;
    });
  }

  protected refresh(): void {
    void this.load();
    void this.loadB();
  }

  /** Whether A's and B's points are the same eval images (pointing at one rings the other). */
  private linked(): boolean {
    return this.data !== null && this.dataB !== null;
  }

  private showSideB(): void {
    const on = this.store.get().runB !== null;
    this.plotB.hidden = !on;
    this.cardsB.hidden = !on;
    this.statusB.element.hidden = !on;
    this.titleA.hidden = !on;
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const empty = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.data = null;
      this.status.set(kind, text);
      replaceChildren(this.cards);
      replaceChildren(this.legend);
      this.cardsKey = "";
      this.placePoints();
      this.renderCardsB();
    };
    const gate = checkpointGate(this.store.get(), "clusters", "clusters");
    if (!gate.ok) return empty(gate.text, gate.state);
    const { run, step } = gate;
    if (!this.data) this.status.set("loading", `Loading the clusters at step ${step}…`);
    try {
      const loaded = await loadSide(this.ctx, run, step);
      if (!current()) return;
      this.data = loaded;
    } catch (error) {
      if (current()) empty(`Could not load the clusters: ${errorText(error)}`, "error");
      return;
    }
    const { clusters } = this.data;
    const notes = [
      `${clusters.sizes.length} clusters of ${clusters.assignment.length} eval images`,
      clusters.layer ? `features: ${clusters.layer}` : "",
      clusters.metric ? `${clusters.metric} distance` : "",
      `step ${clusters.step}`,
    ];
    if (clusters.nonfinite_images) notes.push(`${clusters.nonfinite_images} images with NaN/Inf features left out`);
    this.status.set("ready", notes.filter(Boolean).join(" · "));
    this.placePoints();
    this.renderLegend();
    this.renderCards();
    this.renderCardsB(); // B's cards name their partners in A
  }

  /** A/B: B's clusters at B's checkpoint (nothing while A/B is off). */
  private async loadB(): Promise<void> {
    const current = this.loadsB.start();
    const state = this.store.get();
    const none = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.dataB = null;
      this.statusB.set(kind, text);
      replaceChildren(this.cardsB);
      this.cardsKeyB = "";
      this.titleB.textContent = "";
      this.placePoints();
    };
    if (state.runB === null) return none("");
    const gate = checkpointGate(state, "clusters", "clusters", SIDE_B);
    if (!gate.ok) return none(`B: ${gate.text}`, gate.state);
    const { run, step } = gate;
    if (!this.dataB) this.statusB.set("loading", `Loading B's clusters at step ${step}…`);
    let loaded: Loaded;
    try {
      loaded = await loadSide(this.ctx, run, step);
    } catch (error) {
      if (current()) none(`Could not load B's clusters: ${errorText(error)}`, "error");
      return;
    }
    if (!current()) return;
    const a = currentRun(state);
    if (a && a.run !== run.run) {
      const labelsA =
        this.data?.corpus?.labels ??
        (a.kinds.includes("corpus") ? (await this.ctx.api.corpus(a.run).catch(() => null))?.labels : null);
      const labelsB = loaded.corpus?.labels;
      if (!current()) return;
      const difference = labelsA && labelsB ? evalSetDifference(labelsA, labelsB) : null;
      if (difference)
        return none(
          `Runs ${a.run} and ${run.run} have different eval sets (${difference}): their clusters cannot be compared image by image.`,
          "error",
        );
    }
    this.dataB = loaded;
    this.statusB.set(
      "ready",
      `B: ${run.run} at step ${loaded.clusters.step} · ${loaded.clusters.sizes.length} clusters`,
    );
    this.placePoints();
    this.renderCardsB();
  }

  /** Both scatters' points, on one pair of axes while B is shown; then draw. */
  private placePoints(): void {
    const a = this.data?.clusters.projection ?? null;
    const b = this.dataB?.clusters.projection ?? null;
    const bounds = a && b ? projectionBounds([a, b]) : null;
    this.scatter.setPoints(a, bounds);
    this.scatterB.setPoints(b, bounds);
    this.pairing =
      this.data && this.dataB
        ? pairClusters(
            this.data.clusters.assignment,
            this.dataB.clusters.assignment,
            this.data.clusters.sizes.length,
            this.dataB.clusters.sizes.length,
          )
        : null;
    this.titleA.textContent = this.data ? `A: ${this.data.run.run} at step ${this.data.clusters.step}` : "";
    this.titleB.textContent = this.dataB
      ? `B: ${this.dataB.run.run} at step ${this.dataB.clusters.step} (same axes and colours as A)`
      : "";
    this.draw();
  }

  /** The colour index of B's cluster `k`: its partner's in A, when A is shown. */
  private colourB(k: number): number {
    return this.pairing?.colour[k] ?? k;
  }

  private draw(): void {
    const state = this.store.get();
    const byCluster = state.colorBy === "cluster";
    const highlight = this.highlighted;
    const faded = (side: SideName) => (index: number) => highlight !== null && !highlight.kept(side, index);
    const labels = this.data?.corpus?.labels ?? this.dataB?.corpus?.labels ?? null;
    const classColour = (index: number) => categoricalColor(labels ? (labels[index] ?? -1) : -1);
    const data = this.data;
    if (!data) this.scatter.draw(null);
    else
      this.scatter.draw({
        colour: (index) => (byCluster ? categoricalColor(data.clusters.assignment[index] ?? -1) : classColour(index)),
        faded: faded("a"),
        selected: state.image,
      });
    const dataB = this.dataB;
    if (!dataB) this.scatterB.draw(null);
    else
      this.scatterB.draw({
        colour: (index) => {
          if (!byCluster) return classColour(index);
          const k = dataB.clusters.assignment[index] ?? -1;
          return categoricalColor(k < 0 ? -1 : this.colourB(k));
        },
        faded: faded("b"),
        selected: state.image,
      });
  }

  private tooltip(side: SideName, index: number): Node[] {
    const data = side === "a" ? this.data : this.dataB;
    if (!data) return [];
    const thumbnails = thumbnailsFor(this.ctx, data.run);
    const label = (this.data?.corpus ?? data.corpus)?.labels[index];
    const text = [
      h("div", { text: `#${index}${label !== undefined ? ` · ${className(data.names, label)}` : ""}` }),
      h("div", {
        class: "dv-muted",
        text: `${this.dataB ? `${side.toUpperCase()}: ` : ""}cluster ${data.clusters.assignment[index]}`,
      }),
    ];
    const other = side === "a" ? this.dataB : this.data;
    if (other)
      text.push(
        h("div", {
          class: "dv-muted",
          text: `${side === "a" ? "B" : "A"}: cluster ${other.clusters.assignment[index]}`,
        }),
      );
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
    // Pointing at an entry keeps its colour bright on both sides (a class; a cluster of A and B's paired one).
    Array.from(this.legend.querySelectorAll<HTMLElement>(".dv-legend-item")).forEach((item, k) => {
      item.setAttribute("data-entry", String(k));
      item.addEventListener("mouseenter", () => this.highlight(byCluster ? this.clusterColour(k) : this.labelled(k)));
      item.addEventListener("mouseleave", () => this.highlight(null));
    });
  }

  /** The images of class `label`, on both sides. */
  private labelled(label: number): Highlight {
    const labels = this.data?.corpus?.labels ?? this.dataB?.corpus?.labels ?? [];
    return { kept: (_side, index) => labels[index] === label };
  }

  /** The images drawn in cluster colour `k`: A's cluster k, and B's cluster paired with it. */
  private clusterColour(k: number): Highlight {
    const a = this.data?.clusters.assignment ?? [];
    const b = this.dataB?.clusters.assignment ?? [];
    return {
      kept: (side, index) => (side === "a" ? a[index] === k : b[index] >= 0 && this.colourB(b[index]) === k),
    };
  }

  /** The images of cluster `k` of `side`, on both sides (where A's cluster went in B, or B's came from in A). */
  private inCluster(side: SideName, k: number): Highlight {
    const assignment = (side === "a" ? this.data : this.dataB)?.clusters.assignment ?? [];
    return { kept: (_side, index) => assignment[index] === k };
  }

  private renderCards(): void {
    const data = this.data;
    if (!data) return;
    const key = `${data.run.run}|${data.clusters.step}`;
    if (key === this.cardsKey) return;
    this.cardsKey = key;
    replaceChildren(this.cards, ...this.cardsOf("a", data));
    this.markSelected();
  }

  private renderCardsB(): void {
    const data = this.dataB;
    if (!data) return;
    const key = `${data.run.run}|${data.clusters.step}|${this.data?.run.run}|${this.data?.clusters.step}`;
    if (key === this.cardsKeyB) return;
    this.cardsKeyB = key;
    replaceChildren(this.cardsB, ...this.cardsOf("b", data));
    this.markSelected();
  }

  /** One card per cluster of a side: size, majority class, purity and its nearest images; B's name their partner in A. */
  private cardsOf(side: SideName, data: Loaded): HTMLElement[] {
    const { clusters, names } = data;
    const thumbnails = thumbnailsFor(this.ctx, data.run);
    const suffix = side === "b" ? "-b" : "";
    return clusters.sizes.map((size, k) => {
      const majority = clusters.majority_class[k];
      const strip = h("div", { class: "dv-strip" });
      for (const index of clusters.nearest[k] ?? []) {
        if (index < 0) continue;
        const item =
          thumbnails && index < thumbnails.count
            ? thumbnails.canvas(index, 36, {
                testid: `cluster-image${suffix}`,
                title: `image #${index}; click to select it`,
              })
            : h("span", {
                testid: `cluster-image${suffix}`,
                class: "dv-chip",
                text: `#${index}`,
                attrs: { "data-index": index },
              });
        item.addEventListener("click", () => this.store.set({ image: index }));
        strip.appendChild(item);
      }
      const colour = side === "b" ? this.colourB(k) : k;
      const partner = side === "b" && this.pairing ? this.pairing.partner[k] : undefined;
      const paired =
        partner === undefined
          ? null
          : h("span", {
              class: "dv-small dv-muted",
              testid: "cluster-partner",
              text:
                partner === null
                  ? "no A cluster shares its images"
                  : `≈ A's cluster ${partner} (${this.pairing?.shared[k]} shared images)`,
            });
      return h(
        "div",
        {
          testid: `cluster-card${suffix}`,
          class: "dv-card",
          attrs: {
            "data-cluster": k,
            ...(partner !== undefined && partner !== null ? { "data-partner": partner } : {}),
          },
          on: {
            mouseenter: () => this.highlight(this.inCluster(side, k)),
            mouseleave: () => this.highlight(null),
          },
        },
        h(
          "div",
          { class: "dv-card-head" },
          h("span", { class: "dv-swatch", style: { background: categoricalColor(colour) } }),
          h("strong", { text: `${side === "b" ? "B: " : ""}cluster ${k}` }),
          h("span", { class: "dv-muted", text: `${size} image${size === 1 ? "" : "s"}` }),
          h("span", { text: `majority ${majority >= 0 ? className(names, majority) : "–"}` }),
          h("span", { class: "dv-muted", text: `purity ${percent(toNumber(clusters.purity[k]), 0)}` }),
          paired,
        ),
        strip,
      );
    });
  }

  private highlight(highlight: Highlight | null): void {
    this.highlighted = highlight;
    this.draw();
  }

  private markSelected(): void {
    const image = String(this.store.get().image);
    for (const cards of [this.cards, this.cardsB])
      for (const item of Array.from(cards.querySelectorAll("[data-testid^=cluster-image]"))) {
        item.classList.toggle("dv-selected", item.getAttribute("data-index") === image);
      }
  }
}
