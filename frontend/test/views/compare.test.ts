import { describe, expect, it } from "vitest";
import type { CompareSpec } from "../../src/core/state";
import { SelectionError } from "../../src/lib/selection";
import { compareContent, defaultCompare, featureVisCompare, resolveCompare } from "../../src/views/compare/resolve";
import { runSummary } from "../helpers";

const form = (spec: Partial<CompareSpec>): CompareSpec => ({
  steps: "",
  layers: "",
  filters: "",
  image: "",
  content: "",
  ...spec,
});

/** A run whose conv1 and fc have feature visualizations, rendered at steps 0 and 4 of 0, 2, 4, 6. */
function visualized() {
  const run = runSummary();
  return runSummary({
    layers: run.layers.map((layer) => ({ ...layer, has_feature_vis: layer.name !== "bn1" })),
    steps_by_kind: { ...run.steps_by_kind, feature_vis: [0, 4] },
    kinds: [...run.kinds, "feature_vis"],
  });
}

describe("compare", () => {
  const run = runSummary();
  it("resolves a request to what the server will answer", () => {
    expect(resolveCompare(run, form({ steps: "0:4", layers: "conv1:fc", filters: " 0:3 " }), null)).toEqual({
      content: "weights",
      steps: [0, 2, 4],
      layers: ["conv1", "fc"], // bn1 has no weights
      filters: "0:3",
      image: null,
    });
    expect(resolveCompare(run, form({ layers: "bn1", filters: "1, 2", image: "#3" }), new Set([3, 9]))).toEqual({
      content: "activations",
      steps: [0, 2, 4, 6],
      layers: ["bn1"],
      filters: "",
      image: 3,
    });
  });
  it("explains what is wrong before any request", () => {
    expect(() => resolveCompare(run, form({ steps: "3" }), null)).toThrow(/steps 3 not available/);
    expect(() => resolveCompare(run, form({ layers: "bn1" }), null)).toThrow(/unknown layers "bn1"/);
    expect(() => resolveCompare(run, form({ filters: "5" }), null)).toThrow(/filters 5 outside 0..3/);
    expect(() => resolveCompare(run, form({ image: "4" }), new Set([0, 1]))).toThrow(/not a probe image/);
    expect(() => resolveCompare(run, form({ content: "activations" }), null)).toThrow(/choose the probe image/);
    expect(() => resolveCompare(run, form({ content: "pixels" }), null)).toThrow(SelectionError);
    expect(() => resolveCompare(run, form({ content: "feature_vis" }), null)).toThrow(/has no feature visualization/);
    const many = runSummary({ checkpoints: Array.from({ length: 300 }, (_, i) => i) });
    expect(() => resolveCompare(many, form({}), null)).toThrow(/600 cells; at most 400/);
  });
  it("starts from a few checkpoints and the first layers", () => {
    expect(defaultCompare(runSummary({ checkpoints: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }))).toEqual(
      form({ steps: "0,2,4,6,8,10", layers: "conv1:fc" }),
    );
  });

  it("reads what the cells show from the menu, or for older links from the image", () => {
    expect(compareContent(form({}))).toBe("weights");
    expect(compareContent(form({ image: "3" }))).toBe("activations");
    expect(compareContent(form({ image: "3", content: "weights" }))).toBe("weights");
    expect(compareContent(form({ content: "feature_vis" }))).toBe("feature_vis");
    // weights with an image typed before switching: the image is not asked for
    expect(resolveCompare(run, form({ image: "3", content: "weights" }), null).image).toBeNull();
  });

  it("lays out feature visualizations at the rendered checkpoints: the film, its cells built here", () => {
    const fv = visualized();
    expect(defaultCompare(fv, "feature_vis")).toEqual(
      form({ steps: "0,4", layers: "conv1:fc", content: "feature_vis" }),
    );
    const resolved = resolveCompare(fv, form({ content: "feature_vis" }), null);
    expect(resolved).toEqual({
      content: "feature_vis",
      steps: [0, 4],
      layers: ["conv1", "fc"],
      filters: "",
      image: null,
    });
    // a checkpoint without a render of its own is not a row: the render before it already is
    expect(() => resolveCompare(fv, form({ content: "feature_vis", steps: "2" }), null)).toThrow(
      /rendered steps 2 not available/,
    );
    const grid = featureVisCompare(fv, resolved);
    expect(grid.kind).toBe("feature_vis");
    expect(grid.cells.map((cell) => cell.url)).toEqual([
      "feature_vis_sprite?run=main&layer=conv1&step=0",
      "feature_vis_sprite?run=main&layer=fc&step=0",
      "feature_vis_sprite?run=main&layer=conv1&step=4",
      "feature_vis_sprite?run=main&layer=fc&step=4",
    ]);
    expect(grid.cells[0].layout_url).toBe("feature_vis_layout?run=main&layer=conv1&step=0");
    expect(grid.cells.every((cell) => cell.available)).toBe(true);
  });
});
