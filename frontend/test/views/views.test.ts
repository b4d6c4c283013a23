import { describe, expect, it } from "vitest";
import type { GraphResponse } from "../../src/api/client";
import { nearestPoint, scatterPoints } from "../../src/views/clusters/view";
import { defaultCompare, resolveCompare } from "../../src/views/compare/view";
import { cellText, rowShares } from "../../src/views/confusion/view";
import { anomalyTarget, describeAnomaly } from "../../src/views/dynamics/view";
import { ancestors, buildTree, type GroupTree } from "../../src/views/graph/view";
import { runSummary } from "../helpers";

describe("confusion", () => {
  it("normalizes rows, leaving an empty row at 0", () => {
    expect(
      rowShares([
        [3, 1],
        [0, 0],
      ]),
    ).toEqual([
      [0.75, 0.25],
      [0, 0],
    ]);
  });
  it("writes counts, shares and signed changes", () => {
    expect(cellText(12, false, false)).toBe("12");
    expect(cellText(0.456, true, false)).toBe("0.46");
    expect(cellText(3, false, true)).toBe("+3");
    expect(cellText(-2, false, true)).toBe("-2");
    expect(cellText(0, false, true)).toBe("0");
    expect(cellText(-0.001, true, true)).toBe("0.00");
    expect(cellText(0.05, true, true)).toBe("+0.05");
  });
});

describe("clusters scatter", () => {
  it("fits the finite points in the box, y up, and skips NaN/Inf", () => {
    const points = scatterPoints(
      [
        [0, 0],
        [2, 1],
        ["NaN", 1],
        [1, "Infinity"],
      ],
      100,
      10,
    );
    expect(points.map((p) => p.index)).toEqual([0, 1]);
    expect(points[0]).toEqual({ index: 0, x: 10, y: 70 });
    expect(points[1]).toEqual({ index: 1, x: 90, y: 30 });
  });
  it("finds the nearest point within a radius", () => {
    const points = [
      { index: 4, x: 10, y: 10 },
      { index: 7, x: 20, y: 10 },
    ];
    expect(nearestPoint(points, 14, 10, 8)?.index).toBe(4);
    expect(nearestPoint(points, 17, 11, 8)?.index).toBe(7);
    expect(nearestPoint(points, 50, 50, 8)).toBeNull();
  });
});

describe("compare", () => {
  const run = runSummary();
  it("resolves a request to what the server will answer", () => {
    expect(resolveCompare(run, { steps: "0:4", layers: "conv1:fc", filters: " 0:3 ", image: "" }, null)).toEqual({
      steps: [0, 2, 4],
      layers: ["conv1", "fc"], // bn1 has no weights
      filters: "0:3",
      image: null,
    });
    expect(resolveCompare(run, { steps: "", layers: "bn1", filters: "1, 2", image: "#3" }, new Set([3, 9]))).toEqual({
      steps: [0, 2, 4, 6],
      layers: ["bn1"],
      filters: "",
      image: 3,
    });
  });
  it("explains what is wrong before any request", () => {
    expect(() => resolveCompare(run, { steps: "3", layers: "", filters: "", image: "" }, null)).toThrow(
      /steps 3 not available/,
    );
    expect(() => resolveCompare(run, { steps: "", layers: "bn1", filters: "", image: "" }, null)).toThrow(
      /unknown layers "bn1"/,
    );
    expect(() => resolveCompare(run, { steps: "", layers: "", filters: "5", image: "" }, null)).toThrow(
      /filters 5 outside 0..3/,
    );
    expect(() => resolveCompare(run, { steps: "", layers: "", filters: "", image: "4" }, new Set([0, 1]))).toThrow(
      /not a probe image/,
    );
    const many = runSummary({ checkpoints: Array.from({ length: 300 }, (_, i) => i) });
    expect(() => resolveCompare(many, { steps: "", layers: "", filters: "", image: "" }, null)).toThrow(
      /600 cells; at most 400/,
    );
  });
  it("starts from a few checkpoints and the first layers", () => {
    expect(defaultCompare(runSummary({ checkpoints: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }))).toEqual({
      steps: "0,2,4,6,8,10",
      layers: "conv1:fc",
      filters: "",
      image: "",
    });
  });
});

describe("dynamics", () => {
  const anomaly = {
    step: 3,
    layer: "fc",
    sources: [
      { source: "weights" as const, nan_count: 1, inf_count: 0 },
      { source: "activations" as const, nan_count: 4, inf_count: 2 },
    ],
  };
  it("jumps to the first checkpoint at or after the anomaly, and its layer", () => {
    expect(anomalyTarget(runSummary(), anomaly)).toEqual({ step: 4, layer: "fc" });
    expect(anomalyTarget(runSummary(), { ...anomaly, step: 99, layer: "gone" })).toEqual({ step: 6, layer: null });
  });
  it("says where and what", () => {
    expect(describeAnomaly(anomaly)).toBe("first NaN/Inf at step 3 in fc (weights: 1 NaN; activations: 4 NaN, 2 Inf)");
  });
});

describe("graph", () => {
  const graph: GraphResponse = {
    nodes: [
      { id: "input", module: "", type: "Input", output_shape: [1, 3, 16, 16] },
      { id: "stem.0", module: "stem.0", type: "Conv2d", output_shape: [1, 8, 16, 16], logged: true },
      { id: "stage.0.conv1", module: "stage.0.conv1", type: "Conv2d", output_shape: [1, 8, 16, 16], logged: true },
      { id: "stage.0.relu", module: "stage.0.relu", type: "ReLU", output_shape: [1, 8, 16, 16] },
      { id: "stage.0.relu#2", module: "stage.0.relu", type: "ReLU", output_shape: [1, 8, 16, 16] },
      { id: "stage.1", module: "stage.1", type: "MaxPool2d", output_shape: [1, 8, 8, 8] },
      { id: "fc", module: "fc", type: "Linear", output_shape: [1, 4], logged: true },
      { id: "output", module: "", type: "Output", output_shape: [1, 4] },
    ],
    edges: [],
    modules: [
      { name: "stem", type: "Sequential", parent: "" },
      { name: "stem.0", type: "Conv2d", parent: "stem" },
      { name: "stage", type: "Sequential", parent: "" },
      { name: "stage.0", type: "ResidualBlock", parent: "stage" },
      { name: "stage.0.conv1", type: "Conv2d", parent: "stage.0" },
      { name: "stage.0.relu", type: "ReLU", parent: "stage.0" },
      { name: "stage.1", type: "MaxPool2d", parent: "stage" },
      { name: "fc", type: "Linear", parent: "" },
    ],
  };
  const parents = new Map(graph.modules.map((m) => [m.name, m.parent]));

  it("lists a module's ancestors outermost first", () => {
    expect(ancestors("stage.0.conv1", parents)).toEqual(["stage", "stage.0"]);
    expect(ancestors("fc", parents)).toEqual([]);
    expect(ancestors("a.b.c", parents)).toEqual(["a", "a.b"]);
  });

  it("nests nodes into their modules in call order", () => {
    const outline = (tree: GroupTree): unknown[] =>
      tree.children.map((child) => (child.kind === "node" ? child.node.id : { [child.name]: outline(child) }));
    expect(outline(buildTree(graph))).toEqual([
      "input",
      { stem: ["stem.0"] },
      { stage: [{ "stage.0": ["stage.0.conv1", "stage.0.relu", "stage.0.relu#2"] }, "stage.1"] },
      "fc",
      "output",
    ]);
  });
});
