// @vitest-environment happy-dom
// The Filters view's A/B mode: B's filter bank and B's activations of the same probe image beside
// A's, each pair on one colour scale named in the status lines; the matched units and the layer
// similarity below; B's bank pins B's own unit.
import { describe, expect, it } from "vitest";
import type { ActivationLayout, FilterLayout } from "../../src/api/types";
import type { State } from "../../src/core/state";
import { FiltersView } from "../../src/views/filters/view";
import { byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, SECOND_RUN } from "../fake_server";

/** A's conv1 weights reach 0.5, B's 2; A's probe activations span -1..4, B's 0..6. */
function answer(url: string): unknown {
  const b = url.includes("run=second");
  if (url.startsWith("filters_layout")) {
    const layout = fakeServer(url) as FilterLayout;
    const range = new URLSearchParams(url.split("?")[1]).get("range");
    const scale = range ? Math.max(...range.split(",").map((v) => Math.abs(Number(v)))) : b ? 2 : 0.5;
    return { ...layout, scales: Array(8).fill(scale) };
  }
  if (url.startsWith("activations_layout")) {
    const range = new URLSearchParams(url.split("?")[1]).get("range");
    return {
      kind: "conv",
      channels: 8,
      cell: [16, 16],
      cell_values: [16, 16],
      values_per_channel: 256,
      scale: 1,
      cell_gap: 1,
      channel_grid: [3, 3],
      width: 50,
      height: 50,
      norm: "layer",
      layer_range: (range ? range.split(",").map(Number) : b ? [0, 6] : [-1, 4]) as [number, number],
      background: [64, 64, 64],
    } satisfies Partial<ActivationLayout>;
  }
  if (url.startsWith("filter_match"))
    return {
      layer: "conv1",
      step: 6,
      step_b: 6,
      basis: "activations",
      pairs: [{ a: 1, b: 5, similarity: 0.9 }],
      unmatched_a: [0, 2, 3, 4, 5, 6, 7],
      unmatched_b: [0, 1, 2, 3, 4, 6, 7],
    };
  return fakeServer(url);
}

async function filtersView(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ runs: [FAKE_RUN, SECOND_RUN], image: 0, ...state }, answer);
  const root = place();
  const view = new FiltersView(ctx, root);
  view.setActive(true);
  // Until every status line has settled (the shared scales need both sides' layouts first).
  const statuses = ["status", "activations-status"].concat(
    state.runB ? ["filters-status-b", "activations-status-b"] : [],
  );
  for (let waited = 0; waited < 3000; waited += 20) {
    await settle(20);
    if (statuses.every((id) => byTestId(root, id).getAttribute("data-state") !== "loading")) break;
  }
  const src = (testid: string) => new URL((byTestId(root, testid) as HTMLImageElement).src, "http://x/").searchParams;
  return { ctx, store, fetch, root, view, src };
}

describe("FiltersView: A/B mode", () => {
  it("is off by default: one bank on its own scale, no B, no matching", async () => {
    const { root, fetch, src } = await filtersView();
    expect(root.getAttribute("data-ab")).toBe("off");
    expect(byTestId(root, "filters-b").hidden).toBe(true);
    expect(byTestId(root, "matched-units").closest("[hidden]")).not.toBeNull();
    expect(src("filters-sprite").get("range")).toBeNull();
    expect(fetched(fetch).some((url) => url.startsWith("filter_match") || url.includes("second"))).toBe(false);
  });

  it("draws A's and B's banks on one scale, the larger layer scale of the two", async () => {
    const { root, src } = await filtersView({ runB: SECOND_RUN.run });
    expect(root.getAttribute("data-ab")).toBe("on");
    expect(src("filters-sprite").get("run")).toBe(FAKE_RUN.run);
    expect(src("filters-sprite-b").get("run")).toBe(SECOND_RUN.run);
    expect(src("filters-sprite").get("range")).toBe("-2,2");
    expect(src("filters-sprite-b").get("range")).toBe("-2,2");
    expect(byTestId(root, "status").textContent).toContain("one colour scale for A and B: ±2");
    expect(byTestId(root, "filters-status-b").textContent).toContain("one colour scale for A and B: ±2");
  });

  it("draws A's and B's activations of the selected probe image side by side on one scale", async () => {
    const { root, src } = await filtersView({ runB: SECOND_RUN.run });
    const row = byTestId(root, "ab-activations");
    expect(row.hidden).toBe(false);
    expect(row.contains(byTestId(root, "activations-sprite"))).toBe(true); // A's, moved beside B's
    expect(row.contains(byTestId(root, "activations-sprite-b"))).toBe(true);
    for (const id of ["activations-sprite", "activations-sprite-b"]) {
      expect(src(id).get("image")).toBe("0");
      expect(src(id).get("norm")).toBe("layer");
      expect(src(id).get("range")).toBe("-1,6");
    }
    expect(byTestId(root, "activations-status-b").textContent).toContain("one colour scale for A and B: -1 … 6");
  });

  it("turning A/B off puts A's activations back and hides B", async () => {
    const { root, store } = await filtersView({ runB: SECOND_RUN.run });
    store.set({ runB: null, stepB: null });
    await settle(40);
    expect(byTestId(root, "ab-activations").hidden).toBe(true);
    expect(byTestId(root, "ab-activations").contains(byTestId(root, "activations-sprite"))).toBe(false);
    expect(byTestId(root, "filters-b").hidden).toBe(true);
  });

  it("moves B alone when it does not follow A's step", async () => {
    const { store, src, root } = await filtersView({ runB: SECOND_RUN.run, stepB: 2 });
    expect(src("filters-sprite").get("step")).toBe("6");
    expect(src("filters-sprite-b").get("step")).toBe("2");
    store.set({ step: 4 });
    await settle(40);
    expect(src("filters-sprite").get("step")).toBe("4");
    expect(src("filters-sprite-b").get("step")).toBe("2");
    // B's arrows move B alone; while B follows A they are off
    (byTestId(root, "filters-ab-step-forward") as HTMLButtonElement).click();
    expect([store.get().step, store.get().stepB]).toEqual([4, 4]);
    (byTestId(root, "filters-ab-step-back") as HTMLButtonElement).click();
    (byTestId(root, "filters-ab-step-back") as HTMLButtonElement).click();
    expect([store.get().step, store.get().stepB]).toEqual([4, 0]);
    expect((byTestId(root, "filters-ab-step-back") as HTMLButtonElement).disabled).toBe(true);
    (byTestId(root, "filters-ab-same-step") as HTMLInputElement).click();
    expect(store.get().stepB).toBeNull();
    expect((byTestId(root, "filters-ab-step-forward") as HTMLButtonElement).disabled).toBe(true);
  });

  it("a matched pair selects A's unit and B's unit; the picker is the shared one", async () => {
    const { root, store, fetch } = await filtersView({ runB: SECOND_RUN.run });
    const pair = byTestId(root, "match-pair");
    expect([pair.dataset.a, pair.dataset.b]).toEqual(["1", "5"]);
    pair.click();
    expect([store.get().unit, store.get().filter, store.get().unitB]).toEqual([1, 1, 5]);
    await settle(60);
    // Each side's unit has its panel: B's unit 5 of B's run, beside A's unit 1.
    expect(byTestId(root, "unit-title-b").textContent).toBe("Unit 5 of conv1");
    const topImagesB = fetched(fetch).filter((url) => url.includes("top_images?") && url.includes("unit=5"));
    expect(topImagesB.some((url) => url.includes(`run=${encodeURIComponent(SECOND_RUN.run)}`))).toBe(true);
    (byTestId(root, "unit-panel-close-b") as HTMLButtonElement).click();
    expect([store.get().unit, store.get().unitB]).toEqual([1, null]);
    expect((byTestId(root, "filters-ab-run") as HTMLSelectElement).value).toBe(SECOND_RUN.run);
    expect((byTestId(root, "filters-ab-toggle") as HTMLInputElement).checked).toBe(true);
  });
});
