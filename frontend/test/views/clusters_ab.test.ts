// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { projectionBounds, type ScatterChart, type ScatterStyle, scatterPoints } from "../../src/charts/scatter";
import type { State } from "../../src/core/state";
import { categoricalColor } from "../../src/lib/colours";
import { evalSetDifference, pairClusters } from "../../src/views/clusters/ab";
import { ClustersView } from "../../src/views/clusters/view";
import { allByTestId, byTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, SECOND_RUN } from "../fake_server";
import { runSummary } from "../helpers";

describe("clusters A/B: pairing B's clusters with A's", () => {
  it("pairs the clusters sharing the most images, each once, whatever their numbers", () => {
    // B numbers A's clusters 0, 1, 2 as 2, 0, 1; image 5 moved from A's 2 to B's 0
    const a = [0, 0, 1, 1, 2, 2];
    const b = [2, 2, 0, 0, 1, 0];
    const pairing = pairClusters(a, b, 3, 3);
    expect(pairing.partner).toEqual([1, 2, 0]);
    expect(pairing.shared).toEqual([2, 1, 2]);
    expect(pairing.colour).toEqual([1, 2, 0]);
  });

  it("leaves a B cluster that shares no image unpaired, in a colour after A's", () => {
    const pairing = pairClusters([0, 0, 1, 1], [0, 0, 0, 1], 2, 3);
    expect(pairing.partner).toEqual([0, 1, null]);
    expect(pairing.colour).toEqual([0, 1, 2]);
    // more B clusters than A: the one that loses the contest for A's cluster is unpaired
    const more = pairClusters([0, 0, 0, 0], [0, 0, 0, 1], 1, 2);
    expect(more.partner).toEqual([0, null]);
    expect(more.colour).toEqual([0, 1]);
  });

  it("skips images left out of either clustering", () => {
    const pairing = pairClusters([-1, 0, 0], [0, -1, 1], 1, 2);
    expect(pairing.partner).toEqual([null, 0]);
    expect(pairing.shared).toEqual([0, 1]);
  });

  it("names how two eval sets differ", () => {
    expect(evalSetDifference([0, 1, 2], [0, 1, 2])).toBeNull();
    expect(evalSetDifference([0, 1, 2], [0, 1])).toBe("3 and 2 eval images");
    expect(evalSetDifference([0, 1, 2], [0, 2, 2])).toBe("1 eval image has other labels");
  });

  it("fits two projections on one pair of axes", () => {
    const a = [
      [0, 0],
      [1, 1],
    ];
    const b = [
      [0, 0],
      [2, "NaN"],
      [4, 2],
    ];
    const bounds = projectionBounds([a, b]);
    expect(bounds).toEqual({ minX: 0, maxX: 4, minY: 0, maxY: 2 });
    // A's (1, 1) is a quarter of the way along x in the shared box, not at its edge
    const [, one] = scatterPoints(a, 100, 10, bounds);
    expect(one.x).toBe(30);
    expect(scatterPoints(a, 100, 10)[1].x).toBe(90);
  });
});

// B: another run over the same eval set, with clusters; its clusters are A's renumbered.
const RUN_B = runSummary({ run: "b-run", class_names: FAKE_RUN.class_names });

function answer(url: string): unknown {
  const answerA = fakeServer(url) as Record<string, unknown>;
  if (!url.startsWith("clusters") || !url.includes("run=b-run")) return answerA;
  return {
    ...answerA,
    assignment: (answerA.assignment as number[]).map((k) => 1 - k),
    nearest: [
      [1, 3],
      [0, 2, 4],
    ],
    sizes: [24, 24],
    majority_class: [1, 0],
    purity: [0.5, 0.5],
    projection: Array.from({ length: 48 }, (_, i) => [2 * i, i % 7]),
  };
}

async function clusters(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext(
    { view: "clusters", runs: [FAKE_RUN, SECOND_RUN, RUN_B], ...state },
    answer,
  );
  const root = place();
  const view = new ClustersView(ctx, root);
  view.setActive(true);
  await settle();
  return { ctx, store, fetch, root, view };
}

describe("Clusters view: A/B mode", () => {
  it("is off by default: one scatter, B hidden", async () => {
    const { root } = await clusters();
    expect(byTestId(root, "clusters-b").hidden).toBe(true);
    expect(byTestId(root, "cluster-cards-b").hidden).toBe(true);
    expect(allByTestId(root, "cluster-card").length).toBe(2);
    expect(allByTestId(root, "cluster-card-b")).toEqual([]);
  });

  it("shows B's clusters beside A's, each B cluster naming and coloured as its partner in A", async () => {
    const { root, fetch } = await clusters({ runB: RUN_B.run });
    expect(fetch.mock.calls.map(([url]) => String(url))).toContain("clusters?run=b-run&step=6");
    expect(byTestId(root, "clusters-b").hidden).toBe(false);
    expect(byTestId(root, "clusters-title").textContent).toContain(`A: ${FAKE_RUN.run} at step 6`);
    expect(byTestId(root, "clusters-title-b").textContent).toContain("B: b-run at step 6");
    const cardsB = allByTestId(root, "cluster-card-b");
    expect(cardsB.map((card) => card.getAttribute("data-partner"))).toEqual(["1", "0"]);
    expect(cardsB[0].textContent).toContain("≈ A's cluster 1 (24 shared images)");
    const swatch = (card: HTMLElement) => (card.querySelector(".dv-swatch") as HTMLElement).style.background;
    const cardsA = allByTestId(root, "cluster-card");
    expect(swatch(cardsB[0])).toBe(swatch(cardsA[1]));
    expect(swatch(cardsB[1])).toBe(swatch(cardsA[0]));
    expect(byTestId(root, "clusters-ab-status").textContent).toContain("B: b-run at step 6 · 2 clusters");
  });

  it("selects an image from B's cards; the selection is marked on both sides", async () => {
    const { root, store } = await clusters({ runB: RUN_B.run });
    const image = allByTestId(root, "cluster-image-b").find((item) => item.getAttribute("data-index") === "3");
    image?.click();
    expect(store.get().image).toBe(3);
    await settle();
    const marked = (id: string) =>
      allByTestId(root, id)
        .filter((item) => item.classList.contains("dv-selected"))
        .map((item) => item.getAttribute("data-index"));
    expect(marked("cluster-image-b")).toEqual(["3"]);
    expect(marked("cluster-image")).toEqual(["3"]); // among A's nearest images too
  });

  it("says so when B's run logged no clusters, and keeps A", async () => {
    const { clusters: _, ...steps } = FAKE_RUN.steps_by_kind;
    const bare = runSummary({ run: "bare", kinds: SECOND_RUN.kinds, steps_by_kind: steps });
    const { root } = await clusters({ runs: [FAKE_RUN, bare], runB: "bare" });
    expect(byTestId(root, "clusters-ab-status").textContent).toContain("B: No clusters was logged");
    expect(allByTestId(root, "cluster-card-b")).toEqual([]);
    expect(allByTestId(root, "cluster-card").length).toBe(2);
  });

  it("refuses to pair the images of runs over different eval sets", async () => {
    const other = runSummary({ run: "other-eval", class_names: FAKE_RUN.class_names });
    const differs = (url: string) =>
      url.startsWith("corpus") && url.includes("run=other-eval")
        ? { ...(fakeServer(url) as object), labels: Array.from({ length: 48 }, () => 0) }
        : fakeServer(url);
    const { ctx } = testContext({ view: "clusters", runs: [FAKE_RUN, other], runB: "other-eval" }, differs);
    const root = place();
    const view = new ClustersView(ctx, root);
    view.setActive(true);
    await settle();
    const status = byTestId(root, "clusters-ab-status");
    expect(status.getAttribute("data-state")).toBe("error");
    expect(status.textContent).toContain("different eval sets (36 eval images have other labels)");
    expect(allByTestId(root, "cluster-card-b")).toEqual([]);
  });
});

describe("Clusters view: what stays bright on both sides", () => {
  /** The style each scatter was last drawn with, and the images it keeps bright. */
  function drawn(view: ClustersView) {
    const charts = view as unknown as Record<"scatter" | "scatterB", ScatterChart>;
    const style = (chart: ScatterChart) => (chart as unknown as { style: ScatterStyle | null }).style;
    const bright = (chart: ScatterChart) =>
      Array.from({ length: 48 }, (_, i) => i).filter((i) => !style(chart)?.faded?.(i));
    return { a: bright(charts.scatter), b: bright(charts.scatterB), style: () => style(charts.scatterB) };
  }

  it("a card of B keeps its cluster's images bright in A's scatter too", async () => {
    const { root, view } = await clusters({ runB: RUN_B.run });
    allByTestId(root, "cluster-card-b")[0].dispatchEvent(new MouseEvent("mouseenter"));
    const odd = Array.from({ length: 24 }, (_, i) => 2 * i + 1); // B's cluster 0 is A's cluster 1
    expect(drawn(view).a).toEqual(odd);
    expect(drawn(view).b).toEqual(odd);
    allByTestId(root, "cluster-card-b")[0].dispatchEvent(new MouseEvent("mouseleave"));
    expect(drawn(view).a.length).toBe(48);
  });

  it("a legend entry keeps its class, or its cluster colour, bright on both sides", async () => {
    const { root, view, store } = await clusters({ runB: RUN_B.run });
    const entry = (k: number) => root.querySelector(`.dv-legend-item[data-entry="${k}"]`) as HTMLElement;
    entry(2).dispatchEvent(new MouseEvent("mouseenter")); // class 2: images 2, 6, 10, ...
    const classTwo = Array.from({ length: 12 }, (_, i) => 4 * i + 2);
    expect(drawn(view).a).toEqual(classTwo);
    expect(drawn(view).b).toEqual(classTwo);
    store.set({ colorBy: "cluster" });
    await settle();
    entry(0).dispatchEvent(new MouseEvent("mouseenter")); // colour 0: A's cluster 0 and B's cluster 1
    const even = Array.from({ length: 24 }, (_, i) => 2 * i);
    expect(drawn(view).a).toEqual(even);
    expect(drawn(view).b).toEqual(even);
    // B's cluster 1 is drawn in A's cluster 0's colour
    expect(drawn(view).style()?.colour(0)).toBe(categoricalColor(0));
  });
});
