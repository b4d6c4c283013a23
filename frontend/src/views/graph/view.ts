// The network graph (from `graph`): layers in the order the forward pass called them, nested
// modules (nn.Sequential, blocks) as collapsible groups so a 100-layer model stays readable,
// logged layers highlighted and clickable to select the layer; edges drawn on the left rail
// (skip connections bulge further out).

import { describe, type GraphNode, type GraphResponse, type RunSummary } from "../../api/client";
import type { AppContext, View } from "../../core/context";
import { currentRun } from "../../core/store";
import { h, replaceChildren, Status, svgElement } from "../../ui/dom";

/** More nodes than this and groups below the top level start collapsed. */
const COLLAPSE_ABOVE = 40;

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

function countNodes(tree: GroupTree): number {
  return tree.children.reduce((sum, child) => sum + (child.kind === "node" ? 1 : countNodes(child)), 0);
}

function containsModule(tree: GroupTree, module: string): boolean {
  return tree.children.some((child) =>
    child.kind === "node" ? child.node.module === module : containsModule(child, module),
  );
}

function loggedIn(tree: GroupTree, logged: ReadonlySet<string>): number {
  return tree.children.reduce(
    (sum, child) => sum + (child.kind === "node" ? (logged.has(child.node.id) ? 1 : 0) : loggedIn(child, logged)),
    0,
  );
}

/** A graph made from the listing alone (a run that logged no graph): its layers in order. */
function graphFromListing(run: RunSummary): GraphResponse {
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

export class GraphView implements View {
  readonly root: HTMLElement;
  private readonly status = new Status("graph-status");
  private readonly list: HTMLElement;
  private readonly edges: SVGSVGElement;
  private token = 0;
  private graph: GraphResponse | null = null;
  private graphRun: string | null = null;
  private collapsed = new Map<string, boolean>();
  private anchors = new Map<string, HTMLElement>();

  constructor(private readonly ctx: AppContext) {
    const { store } = ctx;
    this.list = h("div", { class: "dv-graph-list" });
    this.edges = svgElement("svg", { class: "dv-graph-edges", "aria-hidden": "true" });
    this.root = h(
      "div",
      { testid: "graph", class: "dv-graph", attrs: { role: "navigation", "aria-label": "Network graph" } },
      h("h3", { text: "Network" }),
      this.status.element,
      h("div", { style: { position: "relative" } }, this.edges, this.list),
    );
    store.subscribe(() => void this.load(), ["runs", "run", "loaded"]);
    store.subscribe(() => this.markSelected(true), ["layer"]);
  }

  setActive(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const token = ++this.token;
    const state = this.ctx.store.get();
    const run = currentRun(state);
    if (!state.loaded) return this.status.set("loading", "Loading…");
    if (!run) {
      this.graph = null;
      this.graphRun = null;
      replaceChildren(this.list);
      this.drawEdges();
      return this.status.set("empty", state.runs.length ? "Select a run." : "No runs yet.");
    }
    const key = `${run.run}|${run.kinds.includes("graph")}|${run.layers.map((layer) => layer.name).join(",")}`;
    if (this.graphRun === key && this.graph) return;
    let graph: GraphResponse;
    let note = "";
    if (run.kinds.includes("graph")) {
      if (!this.graph) this.status.set("loading", "Loading the layer graph…");
      try {
        graph = await this.ctx.api.graph(run.run);
      } catch (error) {
        graph = graphFromListing(run);
        note = `The layer graph did not load (${describe(error)}); showing the logged layers.`;
      }
    } else {
      graph = graphFromListing(run);
      note = "This run logged no layer graph; showing its logged layers.";
    }
    if (token !== this.token) return;
    this.graph = graph;
    this.graphRun = key;
    this.collapsed.clear();
    this.render(run, note);
  }

  private logged(run: RunSummary): Set<string> {
    const names = new Set(run.layers.map((layer) => layer.name));
    return new Set(
      (this.graph?.nodes ?? []).filter((node) => node.logged || names.has(node.id)).map((node) => node.id),
    );
  }

  private isCollapsed(group: GroupTree, total: number): boolean {
    const selected = this.ctx.store.get().layer;
    if (selected && containsModule(group, selected)) return false;
    const chosen = this.collapsed.get(group.name);
    if (chosen !== undefined) return chosen;
    return total > COLLAPSE_ABOVE && group.depth >= 2;
  }

  private render(run: RunSummary, note = ""): void {
    const graph = this.graph;
    if (!graph) return;
    const tree = buildTree(graph);
    const total = countNodes(tree);
    const logged = this.logged(run);
    const layers = new Set(run.layers.map((layer) => layer.name));
    this.anchors.clear();

    const renderNode = (node: GraphNode): HTMLElement => {
      const isIo = !node.module;
      const repeat = node.id.includes("#");
      const clickable = logged.has(node.id) && layers.has(node.module);
      const shape = node.output_shape?.length ? node.output_shape.slice(1).join("×") : "";
      const short = node.module ? shortName(node.module) : node.id;
      const label = repeat ? `${short} (call ${node.id.split("#")[1]})` : short;
      const element = h(
        "button",
        {
          testid: isIo ? "graph-io" : repeat ? "graph-node-call" : "graph-node",
          class: `dv-graph-node${clickable ? " dv-logged" : ""}`,
          title: `${node.module || node.id} · ${node.type}${shape ? ` · output ${shape}` : ""}${clickable ? "" : isIo ? "" : " · not logged"}`,
          attrs: {
            type: "button",
            "data-layer": node.module || node.id,
            "data-node": node.id,
            "aria-disabled": clickable ? null : "true",
          },
        },
        h("span", { class: "dv-graph-name", text: label }),
        h("span", { class: "dv-graph-type", text: `${node.type}${shape ? ` ${shape}` : ""}` }),
      );
      element.addEventListener("click", () => {
        if (clickable) this.ctx.store.set({ layer: node.module, filter: null });
        else if (!isIo)
          this.status.set(
            "ready",
            `${node.module || node.id} (${node.type}) is not logged; logged layers are highlighted.`,
          );
      });
      this.anchors.set(node.id, element);
      return element;
    };

    const renderGroup = (group: GroupTree, hiddenUnder: HTMLElement | null): HTMLElement[] => {
      const out: HTMLElement[] = [];
      for (const child of group.children) {
        if (child.kind === "node") {
          const element = renderNode(child.node);
          if (hiddenUnder) this.anchors.set(child.node.id, hiddenUnder);
          out.push(element);
          continue;
        }
        const collapsed = hiddenUnder !== null || this.isCollapsed(child, total);
        const count = loggedIn(child, logged);
        const head = h(
          "button",
          {
            testid: "graph-group",
            class: "dv-graph-group-head",
            title: `${child.name} (${child.type})${collapsed ? ": click to expand" : ": click to collapse"}`,
            attrs: { type: "button", "aria-expanded": collapsed ? "false" : "true", "data-group": child.name },
          },
          h("span", { text: collapsed ? "▸" : "▾" }),
          h("span", { class: "dv-graph-name", text: shortName(child.name) }),
          h("span", { class: "dv-graph-type", text: `${child.type}${count ? ` · ${count} logged` : ""}` }),
        );
        head.addEventListener("click", () => {
          this.collapsed.set(child.name, !collapsed);
          this.render(run);
        });
        const body = h("div", {});
        const inner = renderGroup(child, hiddenUnder ?? (collapsed ? head : null));
        body.append(...inner);
        body.hidden = collapsed;
        out.push(h("div", { class: "dv-graph-group", attrs: { "data-group": child.name } }, head, body));
      }
      return out;
    };
    replaceChildren(this.list, ...renderGroup(tree, null));
    const loggedCount = run.layers.length;
    this.status.set(
      "ready",
      note ||
        `${graph.model_type ? `${graph.model_type} · ` : ""}${total - 2 > 0 ? total - 2 : total} modules called · ${loggedCount} logged (highlighted): click one to select it`,
    );
    this.markSelected(false);
    requestAnimationFrame(() => this.drawEdges());
  }

  private markSelected(reveal: boolean): void {
    const layer = this.ctx.store.get().layer;
    let selected: HTMLElement | null = null;
    for (const element of Array.from(this.list.querySelectorAll<HTMLElement>("[data-testid=graph-node]"))) {
      const on = element.getAttribute("data-layer") === layer;
      element.classList.toggle("dv-selected", on);
      if (on) {
        element.setAttribute("aria-current", "true");
        selected = element;
      } else element.removeAttribute("aria-current");
    }
    if (!reveal || !layer) return;
    if (selected && selected.offsetParent === null) {
      // Inside a collapsed group: open the groups around it.
      const run = currentRun(this.ctx.store.get());
      if (run) this.render(run);
      return;
    }
    if (selected && typeof selected.scrollIntoView === "function") selected.scrollIntoView({ block: "nearest" });
  }

  /** Edges on the left rail: from the source row down to the target row; longer jumps bulge further. */
  private drawEdges(): void {
    while (this.edges.firstChild) this.edges.removeChild(this.edges.firstChild);
    const graph = this.graph;
    if (!graph || !this.list.isConnected) return;
    const base = this.list.getBoundingClientRect();
    const height = this.list.offsetHeight;
    this.edges.setAttribute("width", "22");
    this.edges.setAttribute("height", String(height));
    const center = (element: HTMLElement) => {
      const rect = element.getBoundingClientRect();
      return rect.top - base.top + rect.height / 2;
    };
    const seen = new Set<string>();
    for (const edge of graph.edges) {
      const from = this.anchors.get(edge.source);
      const to = this.anchors.get(edge.target);
      if (!from || !to || from === to || from.offsetParent === null || to.offsetParent === null) continue;
      const y1 = center(from);
      const y2 = center(to);
      const key = `${y1}|${y2}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const span = Math.abs(y2 - y1);
      const bulge = Math.min(16, 2 + span / 14);
      const x = 18;
      const path = svgElement("path", {
        d: `M${x},${y1} C${x - bulge},${y1} ${x - bulge},${y2} ${x},${y2}`,
        fill: "none",
        stroke: span > 40 ? "#90a4ae" : "#b0bec5",
        "stroke-width": 1.2,
      });
      this.edges.appendChild(path);
    }
  }
}
