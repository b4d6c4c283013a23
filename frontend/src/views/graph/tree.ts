// The network graph's structure: nodes (in the order the forward pass called them) nested into
// groups of their parent modules, counts per group, and a graph made from the listing for a run
// that logged none. DOM-free.

import type { GraphNode, GraphResponse, RunSummary } from "../../api/types";

export interface GroupTree {
  kind: "group";
  name: string;
  type: string;
  depth: number;
  children: (GroupTree | NodeEntry)[];
}

export interface NodeEntry {
  kind: "node";
  node: GraphNode;
}

/** Ancestor module names of `module`, outermost first ("a.b.c" -> ["a", "a.b"]), as the graph's `modules` list them. */
export function ancestors(module: string, parents: ReadonlyMap<string, string>): string[] {
  const chain: string[] = [];
  let current = parents.get(module);
  let guard = 0;
  while (current && guard < 64) {
    chain.unshift(current);
    current = parents.get(current);
    guard += 1;
  }
  if (!parents.has(module) && module.includes(".")) {
    // A module the list does not name: fall back to its dotted prefixes.
    const parts = module.split(".");
    return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("."));
  }
  return chain;
}

/** Nest the graph's nodes (in call order) into groups of their parent modules. */
export function buildTree(graph: GraphResponse): GroupTree {
  const parents = new Map(graph.modules.map((module) => [module.name, module.parent]));
  const types = new Map(graph.modules.map((module) => [module.name, module.type]));
  const root: GroupTree = { kind: "group", name: "", type: graph.model_type ?? "", depth: 0, children: [] };
  const stack: GroupTree[] = [root];
  for (const node of graph.nodes) {
    const chain = node.module ? ancestors(node.module, parents) : [];
    // Leave the groups this node is not in, then enter the ones it is.
    let keep = 0;
    while (keep < chain.length && keep + 1 < stack.length && stack[keep + 1].name === chain[keep]) keep += 1;
    stack.length = keep + 1;
    for (let i = keep; i < chain.length; i += 1) {
      const group: GroupTree = {
        kind: "group",
        name: chain[i],
        type: types.get(chain[i]) ?? "",
        depth: i + 1,
        children: [],
      };
      stack[stack.length - 1].children.push(group);
      stack.push(group);
    }
    stack[stack.length - 1].children.push({ kind: "node", node });
  }
  return root;
}

/** The last part of a dotted module name; "stem.0" rather than a bare "0". */
export function shortName(name: string): string {
  const parts = name.split(".");
  const last = parts[parts.length - 1];
  return parts.length > 1 && /^\d+$/.test(last) ? parts.slice(-2).join(".") : last;
}

export function countNodes(tree: GroupTree): number {
  return tree.children.reduce((sum, child) => sum + (child.kind === "node" ? 1 : countNodes(child)), 0);
}

export function containsModule(tree: GroupTree, module: string): boolean {
  return tree.children.some((child) =>
    child.kind === "node" ? child.node.module === module : containsModule(child, module),
  );
}

/** The modules of every node inside `tree`, nested groups included. */
export function modulesIn(tree: GroupTree): string[] {
  return tree.children.flatMap((child) =>
    child.kind === "node" ? (child.node.module ? [child.node.module] : []) : modulesIn(child),
  );
}

export function loggedIn(tree: GroupTree, logged: ReadonlySet<string>): number {
  return tree.children.reduce(
    (sum, child) => sum + (child.kind === "node" ? (logged.has(child.node.id) ? 1 : 0) : loggedIn(child, logged)),
    0,
  );
}

/** A graph made from the listing alone (a run that logged no graph): its layers in order. */
export function graphFromListing(run: RunSummary): GraphResponse {
  return {
    nodes: run.layers.map((layer) => ({
      id: layer.name,
      module: layer.name,
      type: layer.kind,
      output_shape: layer.output_shape,
      logged: true,
    })),
    edges: run.layers.slice(1).map((layer, i) => ({ source: run.layers[i].name, target: layer.name })),
    modules: [],
  };
}
