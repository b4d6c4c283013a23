// The network graph (from `graph`), in the sidebar: layers in the order the forward pass called
// them, nested modules (nn.Sequential, blocks) as collapsible groups so a 100-layer model stays
// readable, logged layers highlighted and clickable to select the layer; edges drawn on the left
// rail (skip connections bulge further out). Runs of structurally identical sibling modules
// (ResNet-50's `layer3.1` to `layer3.5`) start folded into one entry, `layer3.1–5 ×5`, that opens
// and folds again on click; selecting a layer inside a fold (a click, the address, a finding's
// link) opens the path to it. A layer with findings carries a badge of the worst one (its colour,
// and every message in its title); a folded group or fold, the worst of its layers'.

import { errorText } from "../../api/client";
import type { Finding, GraphNode, GraphResponse, RunSummary } from "../../api/types";
import type { AppContext } from "../../core/context";
import { currentRun } from "../../core/derived";
import { Latest, runGate } from "../../core/guards";
import { Part } from "../../core/part";
import { findingsByLayer, findingsTitle, worstSeverity } from "../../lib/findings";
import { h, replaceChildren, Status, svgElement } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import {
  buildTree,
  containsModule,
  countNodes,
  type Fold,
  foldRuns,
  type GroupTree,
  graphFromListing,
  loggedIn,
  modulesIn,
  shortName,
} from "./tree";

const CSS = `
.dv-graph { font-size: 12px; position: relative; }
.dv-graph-edges { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
.dv-graph-list { position: relative; margin-left: 18px; }
.dv-graph-group { border-left: 1px dashed #cfd8dc; margin: 2px 0 2px 4px; padding-left: 6px; }
.dv-graph-group-head { display: flex; align-items: center; gap: 4px; border: none; background: none; padding: 2px 0; color: var(--dv-muted); cursor: pointer; font: inherit; width: 100%; text-align: left; }
.dv-graph-node { display: flex; align-items: baseline; gap: 6px; padding: 2px 6px; margin: 1px 0; border-radius: 3px; border: 1px solid transparent; background: none; width: 100%; text-align: left; font: inherit; color: var(--dv-muted); cursor: default; }
.dv-graph-node.dv-logged { color: var(--dv-text); background: #fff8e1; border-color: #ffe0b2; cursor: pointer; font-weight: 500; }
.dv-graph-node.dv-logged:hover { border-color: var(--dv-accent); }
.dv-graph-node.dv-selected { background: var(--dv-accent-soft); border-color: var(--dv-accent); }
.dv-graph-type { font-size: 10px; color: var(--dv-muted); font-weight: 400; }
.dv-graph-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dv-graph-node .dv-graph-badge, .dv-graph-group-head .dv-graph-badge { margin-left: auto; align-self: center; }
.dv-graph-group-head:focus-visible { outline: 2px solid var(--dv-accent); outline-offset: 1px; }
.dv-graph-fold-head { color: var(--dv-text); }
.dv-graph-fold-head[aria-expanded="false"] { border: 1px solid #cfd8dc; border-radius: 3px; padding: 2px 6px; background: #fafafa; box-shadow: 2px 2px 0 #eceff1, 4px 4px 0 #cfd8dc; margin-bottom: 4px; }
.dv-graph-count { font-weight: 600; }
.dv-graph-group-head.dv-holds-selected { color: var(--dv-accent); }
`;

/** More nodes than this and groups below the top level start collapsed. */
const COLLAPSE_ABOVE = 40;

export class GraphView extends Part {
  readonly element: HTMLElement;
  private readonly status = new Status("graph-status");
  private readonly list: HTMLElement;
  private readonly edges: SVGSVGElement;
  private readonly loads = new Latest();
  private graph: GraphResponse | null = null;
  private graphRun: string | null = null;
  /** The folded tree of the graph on screen. */
  private tree: GroupTree | null = null;
  /** Folded (true) or open (false) as chosen by a click or a selection, by group key. */
  private collapsed = new Map<string, boolean>();
  private anchors = new Map<string, HTMLElement>();
  /** The modules inside each group, by name (for a folded group's badge). */
  private groupModules = new Map<string, string[]>();

  constructor(
    private readonly ctx: AppContext,
    root: HTMLElement,
  ) {
    super(ctx.store);
    ensureStyles("graph", CSS);
    this.list = h("div", { class: "dv-graph-list" });
    this.edges = svgElement("svg", { class: "dv-graph-edges", "aria-hidden": "true" });
    this.element = h(
      "div",
      { testid: "graph", class: "dv-graph", attrs: { role: "navigation", "aria-label": "Network graph" } },
      h("h3", { text: "Network" }),
      this.status.element,
      h("div", { style: { position: "relative" } }, this.edges, this.list),
    );
    root.appendChild(this.element);
    this.watch(["runs", "run", "loaded"]);
    this.watch(["layer"], () => this.markSelected(true));
    this.watch(["findings"], () => this.markFindings());
  }

  protected refresh(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const gate = runGate(this.store.get());
    if (!gate.ok) {
      if (gate.state === "empty") {
        this.graph = null;
        this.graphRun = null;
        replaceChildren(this.list);
        this.drawEdges();
      }
      this.status.set(gate.state, gate.text);
      return;
    }
    const run = gate.run;
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
        note = `The layer graph did not load (${errorText(error)}); showing the logged layers.`;
      }
    } else {
      graph = graphFromListing(run);
      note = "This run logged no layer graph; showing its logged layers.";
    }
    if (!current()) return;
    this.graph = graph;
    this.graphRun = key;
    this.tree = foldRuns(buildTree(graph), graph);
    this.collapsed.clear();
    const layer = this.store.get().layer;
    if (layer) this.reveal(layer);
    this.render(run, note);
  }

  private logged(run: RunSummary): Set<string> {
    const names = new Set(run.layers.map((layer) => layer.name));
    return new Set(
      (this.graph?.nodes ?? []).filter((node) => node.logged || names.has(node.id)).map((node) => node.id),
    );
  }

  /** Folds start folded; in a graph of more than COLLAPSE_ABOVE nodes, so do groups below the top level. */
  private isCollapsed(group: GroupTree, total: number): boolean {
    const chosen = this.collapsed.get(groupKey(group));
    if (chosen !== undefined) return chosen;
    return group.fold !== undefined || (total > COLLAPSE_ABOVE && group.depth >= 2);
  }

  /** Open every group and fold around `layer`; true when one was folded. */
  private reveal(layer: string): boolean {
    const tree = this.tree;
    if (!tree) return false;
    const total = countNodes(tree);
    let changed = false;
    const visit = (group: GroupTree) => {
      for (const child of group.children) {
        if (child.kind !== "group" || !containsModule(child, layer)) continue;
        if (this.isCollapsed(child, total)) changed = true;
        this.collapsed.set(groupKey(child), false);
        visit(child);
      }
    };
    visit(tree);
    return changed;
  }

  private render(run: RunSummary, note = ""): void {
    const graph = this.graph;
    const tree = this.tree;
    if (!graph || !tree) return;
    const total = countNodes(tree);
    const logged = this.logged(run);
    const layers = new Set(run.layers.map((layer) => layer.name));
    this.anchors.clear();
    this.groupModules.clear();

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
        if (clickable) this.store.set({ layer: node.module, filter: null, unit: null });
        else if (!isIo)
          this.status.set(
            "ready",
            `${node.module || node.id} (${node.type}) is not logged; logged layers are highlighted.`,
          );
      });
      this.anchors.set(node.id, element);
      return element;
    };

    const groupHead = (group: GroupTree, collapsed: boolean): HTMLElement => {
      const count = loggedIn(group, logged);
      return h(
        "button",
        {
          testid: "graph-group",
          class: "dv-graph-group-head",
          title: `${group.name} (${group.type})${collapsed ? ": click to expand" : ": click to collapse"}`,
          attrs: { type: "button", "aria-expanded": collapsed ? "false" : "true", "data-group": group.name },
        },
        h("span", { text: collapsed ? "▸" : "▾", attrs: { "aria-hidden": "true" } }),
        h("span", { class: "dv-graph-name", text: shortName(group.name) }),
        h("span", { class: "dv-graph-type", text: `${group.type}${count ? ` · ${count} logged` : ""}` }),
      );
    };

    const foldHead = (group: GroupTree, fold: Fold, collapsed: boolean): HTMLElement => {
      const count = loggedIn(group, logged);
      const members = group.children.map((member) => (member.kind === "group" ? member.name : member.node.id));
      const what = `${fold.count} structurally identical ${group.type} modules (same children, types and shapes)`;
      return h(
        "button",
        {
          testid: "graph-fold",
          class: "dv-graph-group-head dv-graph-fold-head",
          title: `${members.join(", ")}: ${what}${collapsed ? ": click to expand" : ": click to fold"}`,
          attrs: {
            type: "button",
            "aria-expanded": collapsed ? "false" : "true",
            "data-fold": group.name,
            "data-count": fold.count,
          },
        },
        h("span", { text: collapsed ? "▸" : "▾", attrs: { "aria-hidden": "true" } }),
        h(
          "span",
          { class: "dv-graph-name", text: `${fold.label} ` },
          h("span", { class: "dv-graph-count", text: `×${fold.count}` }),
        ),
        h("span", { class: "dv-graph-type", text: `${group.type}${count ? ` · ${count} logged` : ""}` }),
      );
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
        this.groupModules.set(child.name, modulesIn(child));
        const head = child.fold ? foldHead(child, child.fold, collapsed) : groupHead(child, collapsed);
        head.addEventListener("click", () => {
          const key = groupKey(child);
          this.collapsed.set(key, !collapsed);
          this.render(run);
          // The list was made anew: keep the keyboard on the head that was pressed.
          this.heads()
            .find((made) => headKey(made) === key)
            ?.focus();
        });
        const body = h("div", {});
        const inner = renderGroup(child, hiddenUnder ?? (collapsed ? head : null));
        body.append(...inner);
        body.hidden = collapsed;
        const attrs = child.fold ? { "data-fold": child.name } : { "data-group": child.name };
        out.push(h("div", { class: `dv-graph-group${child.fold ? " dv-graph-fold" : ""}`, attrs }, head, body));
      }
      return out;
    };
    replaceChildren(this.list, ...renderGroup(tree, null));
    const loggedCount = run.layers.length;
    const folds = this.list.querySelectorAll("[data-testid=graph-fold]").length;
    this.status.set(
      "ready",
      note ||
        `${graph.model_type ? `${graph.model_type} · ` : ""}${total - 2 > 0 ? total - 2 : total} modules called · ${loggedCount} logged (highlighted): click one to select it${folds ? ` · ${folds} run${folds === 1 ? "" : "s"} of identical modules folded (×N)` : ""}`,
    );
    this.markSelected(false);
    this.markFindings();
    requestAnimationFrame(() => this.drawEdges());
  }

  /** Badges: a layer's worst finding on its node; a folded group's or fold's, the worst inside it. */
  private markFindings(): void {
    const state = this.store.get();
    const findings = state.findings?.run === state.run ? state.findings.findings : [];
    const byLayer = findingsByLayer(findings);
    const badge = (list: readonly Finding[], title: string): HTMLElement | null => {
      const worst = worstSeverity(list);
      if (!worst) return null;
      return h("span", {
        testid: "graph-badge",
        class: `dv-graph-badge dv-sev-badge dv-sev-${worst}`,
        text: worst === "info" ? "i" : "!",
        title,
        attrs: { "data-severity": worst, "aria-label": `${worst}: ${title}` },
      });
    };
    const place = (element: HTMLElement, list: readonly Finding[], title: string) => {
      for (const old of Array.from(element.children)) if (old.classList.contains("dv-graph-badge")) old.remove();
      const made = list.length ? badge(list, title) : null;
      if (made) element.appendChild(made);
    };
    for (const element of Array.from(this.list.querySelectorAll<HTMLElement>("[data-testid=graph-node]"))) {
      const list = byLayer.get(element.getAttribute("data-layer") ?? "") ?? [];
      place(element, list, findingsTitle(list));
    }
    for (const head of this.heads()) {
      const folded = head.getAttribute("aria-expanded") === "false";
      const modules = folded ? (this.groupModules.get(headName(head)) ?? []) : [];
      const inside = [...new Set(modules)].flatMap((module) => byLayer.get(module) ?? []);
      const title = `${inside.length} finding${inside.length === 1 ? "" : "s"} inside:\n${findingsTitle(inside)}`;
      place(head, inside, title);
    }
  }

  /** Every group's and fold's head on screen. */
  private heads(): HTMLElement[] {
    return Array.from(this.list.querySelectorAll<HTMLElement>("[data-testid=graph-group], [data-testid=graph-fold]"));
  }

  /** Mark the selected layer; with `reveal`, open the groups and folds around it and scroll to it. */
  private markSelected(reveal: boolean): void {
    const layer = this.store.get().layer;
    if (reveal && layer && this.reveal(layer)) {
      const run = currentRun(this.store.get());
      if (run) this.render(run); // marks it again, without revealing
    }
    let selected: HTMLElement | null = null;
    for (const element of Array.from(this.list.querySelectorAll<HTMLElement>("[data-testid=graph-node]"))) {
      const on = element.getAttribute("data-layer") === layer;
      element.classList.toggle("dv-selected", on);
      if (on) {
        element.setAttribute("aria-current", "true");
        selected = element;
      } else element.removeAttribute("aria-current");
    }
    // A group folded again over the selected layer says that it holds it.
    for (const head of this.heads()) {
      const holds =
        layer !== null &&
        head.getAttribute("aria-expanded") === "false" &&
        (this.groupModules.get(headName(head)) ?? []).includes(layer);
      head.classList.toggle("dv-holds-selected", holds);
    }
    if (reveal && selected && typeof selected.scrollIntoView === "function")
      selected.scrollIntoView({ block: "nearest" });
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

/** The key of a group's folded/open state: folds and modules apart. */
function groupKey(group: GroupTree): string {
  return group.fold ? `fold:${group.name}` : group.name;
}

/** The key of the group a head stands for (as `groupKey`). */
function headKey(head: HTMLElement): string {
  const fold = head.getAttribute("data-fold");
  return fold !== null ? `fold:${fold}` : (head.getAttribute("data-group") ?? "");
}

/** The group or fold name a head stands for. */
function headName(head: HTMLElement): string {
  return head.getAttribute("data-fold") ?? head.getAttribute("data-group") ?? "";
}
