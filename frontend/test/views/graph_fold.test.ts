import { describe, expect, it } from "vitest";
import type { GraphNode, GraphResponse } from "../../src/api/types";
import { buildTree, foldLabel, foldRuns, type GroupTree, modulesIn } from "../../src/views/graph/tree";
import resnet50 from "../fixtures/resnet50_graph.json";

type Module = GraphResponse["modules"][number];

/** A graph assembled from blocks, in call order, chained one after another. */
class GraphBuilder {
  readonly nodes: GraphNode[] = [{ id: "input", module: "", type: "Input", output_shape: [1, 3, 16, 16] }];
  readonly edges: { source: string; target: string }[] = [];
  readonly modules: Module[] = [];
  private last = "input";

  module(name: string, type: string, extra: Partial<Module> = {}): this {
    const dot = name.lastIndexOf(".");
    this.modules.push({ name, type, parent: dot < 0 ? "" : name.slice(0, dot), ...extra });
    return this;
  }

  /** A leaf call; `from` names its inputs (the previous call by default). */
  leaf(id: string, type: string, shapes: Record<string, number[]>, out: number[], from: string[] = [this.last]): this {
    const module = id.split("#")[0];
    if (!id.includes("#")) this.module(module, type);
    this.nodes.push({
      id,
      module,
      type,
      output_shape: [1, ...out],
      parameter_shapes: shapes,
      logged: type === "Conv2d",
    });
    for (const source of from) this.edges.push({ source, target: id });
    this.last = id;
    return this;
  }

  /** conv-relu-conv plus the input, then relu again; a 1x1 shortcut conv when `shortcut`. */
  block(name: string, channels: number, { inChannels = channels, shortcut = false, type = "Block" } = {}): this {
    const input = this.last;
    this.module(name, type);
    this.leaf(`${name}.conv1`, "Conv2d", { weight: [channels, inChannels, 3, 3] }, [channels, 8, 8]);
    this.leaf(`${name}.relu`, "ReLU", {}, [channels, 8, 8]);
    this.leaf(`${name}.conv2`, "Conv2d", { weight: [channels, channels, 3, 3] }, [channels, 8, 8]);
    let skip = input;
    if (shortcut) {
      const main = this.last;
      this.module(`${name}.shortcut`, "Sequential");
      this.leaf(`${name}.shortcut.0`, "Conv2d", { weight: [channels, inChannels, 1, 1] }, [channels, 8, 8], [input]);
      skip = this.last;
      this.last = main;
    }
    this.leaf(`${name}.relu#2`, "ReLU", {}, [channels, 8, 8], [this.last, skip]);
    return this;
  }

  done(): GraphResponse {
    this.nodes.push({ id: "output", module: "", type: "Output", output_shape: [1, 4] });
    this.edges.push({ source: this.last, target: "output" });
    return { nodes: this.nodes, edges: this.edges, modules: this.modules };
  }
}

/** The tree's outline: node ids, `{ group: [...] }`, and folds as `"label ×N": [...]`. */
function outline(tree: GroupTree): unknown[] {
  return tree.children.map((child) => {
    if (child.kind === "node") return child.node.id;
    const key = child.fold ? `${child.fold.label} ×${child.fold.count}` : child.name;
    return { [key]: outline(child) };
  });
}

/** The top-level entries of a folded tree, without the members' insides. */
function heads(tree: GroupTree): string[] {
  return tree.children.map((child) =>
    child.kind === "node" ? child.node.id : child.fold ? `${child.fold.label} ×${child.fold.count}` : child.name,
  );
}

const folded = (graph: GraphResponse) => foldRuns(buildTree(graph), graph);

function findGroup(tree: GroupTree, name: string): GroupTree {
  for (const child of tree.children) {
    if (child.kind !== "group") continue;
    if (child.name === name) return child;
    const inner = findGroup(child, name);
    if (inner.name === name) return inner;
  }
  return tree;
}

describe("graph folding", () => {
  it("folds a run of identical blocks and keeps a first block with a shortcut apart", () => {
    const graph = new GraphBuilder().module("stage", "Sequential");
    graph.block("stage.0", 8, { inChannels: 4, shortcut: true });
    for (const i of [1, 2, 3, 4]) graph.block(`stage.${i}`, 8);
    const tree = folded(graph.done());
    const stage = findGroup(tree, "stage");
    expect(heads(stage)).toEqual(["stage.0", "stage.1–4 ×4"]);
    const fold = stage.children[1] as GroupTree;
    expect(fold.type).toBe("Block");
    expect(fold.children.map((member) => (member.kind === "group" ? member.name : ""))).toEqual([
      "stage.1",
      "stage.2",
      "stage.3",
      "stage.4",
    ]);
    // Each member keeps its own layers, so the fold holds all of them.
    expect(modulesIn(fold)).toContain("stage.3.conv2");
    expect(modulesIn(fold).filter((module) => module.endsWith("conv1"))).toHaveLength(4);
    // The unfolded tree is left as it was.
    expect(heads(findGroup(buildTree(graph.done()), "stage"))).toHaveLength(5);
  });

  it("does not fold siblings of different types, or one whose parameter shapes differ", () => {
    const graph = new GraphBuilder().module("stage", "Sequential");
    graph.block("stage.0", 8);
    graph.block("stage.1", 8, { type: "OtherBlock" });
    graph.block("stage.2", 8);
    graph.block("stage.3", 16, { inChannels: 16 }); // wider: same names and types, other shapes
    graph.block("stage.4", 8, { inChannels: 16 });
    expect(heads(findGroup(folded(graph.done()), "stage"))).toEqual([
      "stage.0",
      "stage.1",
      "stage.2",
      "stage.3",
      "stage.4",
    ]);
  });

  it("does not fold a single block, nor identical blocks with something between them", () => {
    const one = new GraphBuilder().module("stage", "Sequential");
    one.block("stage.0", 8);
    expect(heads(findGroup(folded(one.done()), "stage"))).toEqual(["stage.0"]);

    const apart = new GraphBuilder().module("stage", "Sequential");
    apart.block("stage.0", 8);
    apart.leaf("stage.1", "MaxPool2d", {}, [8, 4, 4]);
    apart.block("stage.2", 8);
    expect(heads(findGroup(folded(apart.done()), "stage"))).toEqual(["stage.0", "stage.1", "stage.2"]);
  });

  it("does not fold blocks wired differently inside", () => {
    const graph = new GraphBuilder().module("stage", "Sequential");
    graph.block("stage.0", 8);
    graph.block("stage.1", 8);
    graph.done();
    // stage.1's second conv now reads the block's input instead of its relu.
    const edge = graph.edges.find((e) => e.target === "stage.1.conv2");
    if (edge) edge.source = "stage.0.relu#2";
    expect(heads(findGroup(folded(graph), "stage"))).toEqual(["stage.0", "stage.1"]);
  });

  it("folds inside folds: identical stages of identical blocks", () => {
    const graph = new GraphBuilder().module("stages", "Sequential");
    for (const s of [0, 1, 2]) {
      graph.module(`stages.${s}`, "Stage").module(`stages.${s}.blocks`, "Sequential");
      for (const b of [0, 1, 2]) graph.block(`stages.${s}.blocks.${b}`, 8);
    }
    const tree = folded(graph.done());
    expect(outline(tree)).toEqual([
      "input",
      {
        stages: [
          {
            "stages.0–2 ×3": [0, 1, 2].map((s) => ({
              [`stages.${s}`]: [
                {
                  [`stages.${s}.blocks`]: [
                    {
                      "blocks.0–2 ×3": [0, 1, 2].map((b) => ({
                        [`stages.${s}.blocks.${b}`]: ["conv1", "relu", "conv2", "relu#2"].map(
                          (leaf) => `stages.${s}.blocks.${b}.${leaf}`,
                        ),
                      })),
                    },
                  ],
                },
              ],
            })),
          },
        ],
      },
      "output",
    ]);
  });

  it("compares a container's own parameters when the log records them, and folds without them in older logs", () => {
    const make = (scales: number[] | null) => {
      const graph = new GraphBuilder().module("stage", "Sequential");
      for (const i of [0, 1, 2]) graph.block(`stage.${i}`, 8);
      const done = graph.done();
      if (scales)
        for (const [i, size] of scales.entries()) {
          const entry = done.modules.find((m) => m.name === `stage.${i}`);
          if (entry) entry.parameter_shapes = { gamma: [size] };
        }
      return done;
    };
    expect(heads(findGroup(folded(make(null)), "stage"))).toEqual(["stage.0–2 ×3"]);
    expect(heads(findGroup(folded(make([8, 8, 8])), "stage"))).toEqual(["stage.0–2 ×3"]);
    expect(heads(findGroup(folded(make([8, 4, 4])), "stage"))).toEqual(["stage.0", "stage.1–2 ×2"]);
    // An old log's nodes without parameter shapes fold on types, names and wiring.
    const old = make(null);
    for (const node of old.nodes) delete node.parameter_shapes;
    expect(heads(findGroup(folded(old), "stage"))).toEqual(["stage.0–2 ×3"]);
  });

  it("labels numbered runs by their range and other runs by their ends", () => {
    expect(foldLabel(["layer3.1", "layer3.2", "layer3.3", "layer3.4", "layer3.5"])).toBe("layer3.1–5");
    expect(foldLabel(["enc.blocks.0", "enc.blocks.1"])).toBe("blocks.0–1");
    expect(foldLabel(["net.block_a", "net.block_b", "net.block_c"])).toBe("block_a…block_c");
    expect(foldLabel(["s.1", "s.3"])).toBe("s.1…3");
  });

  it("folds the real ResNet-50 record: each stage's first block apart, the rest folded", () => {
    const graph = resnet50 as GraphResponse;
    const tree = folded(graph);
    expect(heads(tree)).toEqual([
      "input",
      "conv1",
      "bn1",
      "relu",
      "maxpool",
      "layer1",
      "layer2",
      "layer3",
      "layer4",
      "pool",
      "flatten",
      "fc",
      "output",
    ]);
    expect(heads(findGroup(tree, "layer1"))).toEqual(["layer1.0", "layer1.1–2 ×2"]);
    expect(heads(findGroup(tree, "layer2"))).toEqual(["layer2.0", "layer2.1–3 ×3"]);
    expect(heads(findGroup(tree, "layer3"))).toEqual(["layer3.0", "layer3.1–5 ×5"]);
    expect(heads(findGroup(tree, "layer4"))).toEqual(["layer4.0", "layer4.1–2 ×2"]);
    const fold = findGroup(tree, "layer3").children[1] as GroupTree;
    expect(fold.type).toBe("Bottleneck");
    // Every logged layer of the 5 blocks is inside the fold: conv1..conv3 of each.
    const logged = new Set(graph.nodes.filter((node) => node.logged).map((node) => node.module));
    expect(modulesIn(fold).filter((module) => logged.has(module))).toHaveLength(15);
    expect(logged.size).toBe(54);
  });
});
