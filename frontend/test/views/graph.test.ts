import { describe, expect, it } from "vitest";
import type { GraphResponse } from "../../src/api/types";
import { ancestors, buildTree, type GroupTree } from "../../src/views/graph/tree";

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
