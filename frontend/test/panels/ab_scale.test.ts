// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { ActivationLayout, FilterLayout } from "../../src/api/types";
import { describeSharedRange, SharedScale, sharedActivationRange, sharedFilterRange } from "../../src/panels/ab_scale";
import { fetched, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, SECOND_RUN } from "../fake_server";

const filterLayout = (scale: number | string) => ({ scales: Array(4).fill(scale) }) as unknown as FilterLayout;
const activationLayout = (range: [number, number] | null) => ({ layer_range: range }) as unknown as ActivationLayout;

describe("one colour scale for A and B", () => {
  it("spans the larger of the two layers' weight scales, symmetric around 0", () => {
    expect(sharedFilterRange(filterLayout(0.5), filterLayout(2))).toEqual([-2, 2]);
    expect(sharedFilterRange(filterLayout(3), filterLayout(0.25))).toEqual([-3, 3]);
    // a layer without finite weights ("NaN" scales) leaves the other side's scale
    expect(sharedFilterRange(filterLayout("NaN"), filterLayout(0.75))).toEqual([-0.75, 0.75]);
  });

  it("spans both images' activation ranges, and needs one to be known", () => {
    expect(sharedActivationRange(activationLayout([-1, 4]), activationLayout([0, 6]))).toEqual([-1, 6]);
    expect(sharedActivationRange(activationLayout(null), activationLayout([0, 6]))).toEqual([0, 6]);
    expect(sharedActivationRange(activationLayout(null), activationLayout(null))).toBeNull();
    expect(sharedActivationRange(activationLayout([2, 2]), activationLayout([2, 2]))).toBeNull();
  });

  it("is named in the legend's words", () => {
    expect(describeSharedRange("weights", [-2, 2])).toContain("one colour scale for A and B: ±2");
    expect(describeSharedRange("activations", [-1, 6])).toContain("one colour scale for A and B: -1 … 6");
  });

  it("asks A's and B's layouts once per selection, and nothing while A/B is off", async () => {
    const answer = (url: string) => {
      if (url.startsWith("filters_layout")) {
        const layout = fakeServer(url) as FilterLayout;
        return { ...layout, scales: Array(8).fill(url.includes("second") ? 3 : 1) };
      }
      return fakeServer(url);
    };
    const { ctx, store, fetch } = testContext({ runs: [FAKE_RUN, SECOND_RUN] }, answer);
    const scale = new SharedScale(ctx);
    expect(await scale.filters(store.get())).toBeNull();
    expect(fetched(fetch)).toEqual([]);
    store.set({ runB: SECOND_RUN.run, stepB: 2 });
    const [first, again] = await Promise.all([scale.filters(store.get()), scale.filters(store.get())]);
    expect(first).toEqual([-3, 3]);
    expect(again).toEqual([-3, 3]);
    const layouts = fetched(fetch).filter((url) => url.startsWith("filters_layout"));
    expect(layouts).toHaveLength(2);
    expect(layouts.every((url) => url.includes("norm=layer"))).toBe(true);
    store.set({ norm: "global" });
    await scale.filters(store.get());
    await settle();
    expect(fetched(fetch).filter((url) => url.includes("norm=global"))).toHaveLength(2);
  });

  it("names the layouts a coming step's scales need, for the prefetcher", () => {
    const { ctx, store } = testContext({ runs: [FAKE_RUN, SECOND_RUN] });
    const scale = new SharedScale(ctx);
    expect(scale.layoutUrls(store.get())).toEqual([]);
    store.set({ runB: SECOND_RUN.run, image: 2 });
    const urls = scale.layoutUrls({ ...store.get(), step: 4 });
    expect(urls.map((url) => url.split("?")[0])).toEqual([
      "filters_layout",
      "filters_layout",
      "activations_layout",
      "activations_layout",
    ]);
    // B follows A: both at step 4
    expect(urls.every((url) => new URLSearchParams(url.split("?")[1]).get("step") === "4")).toBe(true);
    expect(new URLSearchParams(urls[1].split("?")[1]).get("run")).toBe(SECOND_RUN.run);
  });
});
