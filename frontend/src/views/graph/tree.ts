// The network graph's structure: nodes (in the order the forward pass called them) nested into
// groups of their parent modules, runs of structurally identical sibling modules folded into one
// entry, counts per group, and a graph made from the listing for a run that logged none. DOM-free.

import type { GraphNode, GraphResponse, RunSummary } from "../../api/types";

export interface GroupTree {
  kind: "group";
  /** The module's name; for a fold, a key naming its first and last member ("layer3.1…layer3.5"). */
  name: string;
  type: string;
  depth: number;
  /** For a fold, its members: the identical sibling modules, in call order. */
  children: (GroupTree | NodeEntry)[];
  /** Set on a fold: a run of structurally identical sibling modules shown as one entry. */
  fold?: Fold;
}

export interface Fold {
  /** What the folded entry reads, e.g. "layer3.1–5" (the count is shown apart). */
  label: string;
  count: number;
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

/** Folds hold at least this many siblings: 2 (TensorBoard's 5 would leave ResNet-50's 3-block stages open). */
export const MIN_FOLD = 2;

/**
 * Fold runs of structurally identical sibling modules, at every depth (folds may hold folds).
 *
 * Two siblings are identical when they are modules of the same type whose subtrees match: the same
 * child names (relative to the module), types, call order, parameter shapes, output shapes (batch
 * aside) and edges between their own nodes. ResNet-50's `layer3.0` carries a downsample branch the
 * others lack, so `layer3` shows `layer3.0` and then `layer3.1–5 ×5`. A log whose graph has no
 * parameter shapes folds on the rest. Returns a new tree; `tree` is left as it was.
 */
export function foldRuns(tree: GroupTree, graph: GraphResponse, minRun = MIN_FOLD): GroupTree {
  const signatures = new Signatures(graph);
  /** Where the run of siblings identical to `children[start]` ends (exclusive). */
  const runEnd = (children: readonly (GroupTree | NodeEntry)[], start: number): number => {
    const first = children[start];
    if (first.kind !== "group") return start + 1;
    const signature = signatures.of(first);
    let end = start + 1;
    for (; end < children.length; end += 1) {
      const next = children[end];
      if (next.kind !== "group" || next.type !== first.type) break;
      if (next.name === (children[end - 1] as GroupTree).name) break; // one module called again, not a sibling
      if (signatures.of(next) !== signature) break;
    }
    return end;
  };
  const foldGroup = (group: GroupTree): GroupTree => {
    const out: (GroupTree | NodeEntry)[] = [];
    for (let start = 0; start < group.children.length; ) {
      const end = runEnd(group.children, start);
      const run = group.children.slice(start, end).map((child) => (child.kind === "group" ? foldGroup(child) : child));
      if (run.length >= minRun) out.push(makeFold(run as GroupTree[]));
      else out.push(...run);
      start = end;
    }
    return { ...group, children: out };
  };
  return foldGroup(tree);
}

/** A fold of `members`, at their depth, named by its first and last member. */
function makeFold(members: GroupTree[]): GroupTree {
  const first = members[0].name;
  const last = members[members.length - 1].name;
  return {
    kind: "group",
    name: `${first}…${last}`,
    type: members[0].type,
    depth: members[0].depth,
    children: members,
    fold: { label: foldLabel(members.map((member) => member.name)), count: members.length },
  };
}

/** "layer3.1–5" for consecutive numbered siblings; "blocks.a…c" otherwise. */
export function foldLabel(names: readonly string[]): string {
  const lastPart = (name: string) => name.slice(name.lastIndexOf(".") + 1);
  const parts = names.map(lastPart);
  const first = shortName(names[0]);
  const numbered = parts.every(
    (part, i) => /^\d+$/.test(part) && (i === 0 || Number(part) === Number(parts[i - 1]) + 1),
  );
  return numbered ? `${first}–${parts[parts.length - 1]}` : `${first}…${parts[parts.length - 1]}`;
}

/** Structural signatures of module groups, made once per group and compared as strings. */
class Signatures {
  private readonly made = new Map<GroupTree, string>();
  private readonly sources = new Map<string, string[]>();
  private readonly moduleShapes = new Map<string, string>();

  constructor(graph: GraphResponse) {
    for (const edge of graph.edges) {
      const list = this.sources.get(edge.target);
      if (list) list.push(edge.source);
      else this.sources.set(edge.target, [edge.source]);
    }
    for (const module of graph.modules) {
      if (module.parameter_shapes) this.moduleShapes.set(module.name, shapesText(module.parameter_shapes));
    }
  }

  /** Everything inside `group` that makes it what it is, with names relative to it. */
  of(group: GroupTree): string {
    const known = this.made.get(group);
    if (known !== undefined) return known;
    const prefix = `${group.name}.`;
    const relative = (name: string) =>
      name === group.name ? "." : name.startsWith(prefix) ? name.slice(prefix.length) : "^";
    const parts: string[] = [`${group.type}{${this.moduleShapes.get(group.name) ?? ""}}`];
    const walk = (entry: GroupTree | NodeEntry) => {
      if (entry.kind === "group") {
        parts.push(`[${relative(entry.name)}:${entry.type}{${this.moduleShapes.get(entry.name) ?? ""}}`);
        for (const child of entry.children) walk(child);
        parts.push("]");
        return;
      }
      const node = entry.node;
      const call = node.id.includes("#") ? node.id.slice(node.id.indexOf("#")) : "";
      // Sources outside the group ("^") are the same for every member of a chain of blocks.
      const inputs = (this.sources.get(node.id) ?? [])
        .map((source) => {
          const hash = source.indexOf("#");
          const inside = relative(hash < 0 ? source : source.slice(0, hash));
          return inside === "^" || hash < 0 ? inside : inside + source.slice(hash);
        })
        .sort()
        .join(",");
      parts.push(
        `${relative(node.module)}${call}:${node.type}{${node.parameter_shapes ? shapesText(node.parameter_shapes) : ""}}` +
          `(${(node.output_shape ?? []).slice(1).join("x")})<${inputs}`,
      );
    };
    for (const child of group.children) walk(child);
    const signature = parts.join(";");
    this.made.set(group, signature);
    return signature;
  }
}

function shapesText(shapes: Record<string, number[]>): string {
  return Object.keys(shapes)
    .sort()
    .map((name) => `${name}=${shapes[name].join("x")}`)
    .join(",");
}
