// The list of views, and the only one: main.ts makes a tab (or a sidebar place, or a banner above
// the tabs) for each entry, in this order. A new view is a folder under views/ and one entry here. A tab shows only for a
// run that logged the record kinds it needs (every tab shows while no run is selected).

import type { Kind, RunSummary } from "../api/types";
import type { AppContext, View } from "../core/context";
import { ClustersView } from "./clusters/view";
import { CompareView } from "./compare/view";
import { ConfusionView } from "./confusion/view";
import { DynamicsView } from "./dynamics/view";
import { FiltersView } from "./filters/view";
import { FindingsView } from "./findings/view";
import { GraphView } from "./graph/view";
import { UnitsView } from "./units/view";

export interface ViewEntry {
  /** `view=` in links, and the test ids `tab-<name>` and `view-<name>` of a tab. */
  readonly name: string;
  /** The tab's text and the view's accessible name. */
  readonly label: string;
  /** Record kinds a run needs for the view to show; an inner list means any one of its kinds. */
  readonly requires: readonly (Kind | readonly Kind[])[];
  /** "tab": one of the tabs; "sidebar": always shown beside them; "banner": always shown above them. */
  readonly place: "tab" | "sidebar" | "banner";
  /** Build the view into `root` (a tab panel, or the view's place in the sidebar or the banner). */
  create(ctx: AppContext, root: HTMLElement): View;
}

export const VIEWS: readonly ViewEntry[] = [
  {
    name: "filters",
    label: "Filters",
    requires: [["weights", "activations"]],
    place: "tab",
    create: (ctx, root) => new FiltersView(ctx, root),
  },
  {
    name: "confusion",
    label: "Confusion matrix",
    requires: ["confusion"],
    place: "tab",
    create: (ctx, root) => new ConfusionView(ctx, root),
  },
  {
    name: "clusters",
    label: "Clusters",
    requires: ["clusters"],
    place: "tab",
    create: (ctx, root) => new ClustersView(ctx, root),
  },
  {
    name: "compare",
    label: "Direct compare",
    requires: [["weights", "activations"]],
    place: "tab",
    create: (ctx, root) => new CompareView(ctx, root),
  },
  {
    name: "dynamics",
    label: "Training dynamics",
    requires: ["statistics"],
    place: "tab",
    create: (ctx, root) => new DynamicsView(ctx, root),
  },
  {
    name: "units",
    label: "Units",
    requires: ["units"],
    place: "tab",
    create: (ctx, root) => new UnitsView(ctx, root),
  },
  {
    name: "graph",
    label: "Network graph",
    requires: [],
    place: "sidebar",
    create: (ctx, root) => new GraphView(ctx, root),
  },
  {
    name: "findings",
    label: "Findings",
    requires: [],
    place: "banner",
    create: (ctx, root) => new FindingsView(ctx, root, { viewLabel }),
  },
];

/** The label of the view `name` ("Training dynamics"), or the name itself. */
export function viewLabel(name: string): string {
  return VIEWS.find((entry) => entry.name === name)?.label ?? name;
}

/** Whether `run` logged what `entry` needs (true while no run is selected: the view then says why it is empty). */
export function runHas(entry: ViewEntry, run: RunSummary | null): boolean {
  if (!run) return true;
  return entry.requires.every((need) =>
    typeof need === "string" ? run.kinds.includes(need) : need.some((kind) => run.kinds.includes(kind)),
  );
}

/** The tabs `run` has the records for; the first tab when it has none of them (its status says why). */
export function visibleTabs(entries: readonly ViewEntry[], run: RunSummary | null): ViewEntry[] {
  const tabs = entries.filter((entry) => entry.place === "tab");
  const visible = tabs.filter((entry) => runHas(entry, run));
  return visible.length || !tabs.length ? visible : [tabs[0]];
}

/**
 * The tab on screen: the chosen one (`view`) if the run has it, else the first visible tab. The
 * choice itself stays (in the state and the link), so it comes back with a run that has it.
 */
export function shownTab(entries: readonly ViewEntry[], run: RunSummary | null, view: string): ViewEntry | null {
  const visible = visibleTabs(entries, run);
  return visible.find((entry) => entry.name === view) ?? visible[0] ?? null;
}
