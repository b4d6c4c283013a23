import { describe, expect, it } from "vitest";
import { identifier } from "../../src/core/codecs";
import { STATE_FIELDS } from "../../src/core/state";
import { KINDS } from "../../src/generated/contract";
import { runHas, shownTab, VIEWS, viewLabel, visibleTabs } from "../../src/views/registry";
import { runSummary } from "../helpers";

/** The tabs the browser tests know, in their order. */
const FIVE = ["filters", "confusion", "clusters", "compare", "dynamics"];
const names = (entries: readonly { name: string }[]) => entries.map((entry) => entry.name);

describe("VIEWS", () => {
  it("lists the tabs in their order (new ones after them), and the graph in the sidebar", () => {
    expect(names(VIEWS.filter((entry) => entry.place === "tab")).slice(0, 5)).toEqual(FIVE);
    expect(names(VIEWS.filter((entry) => entry.place === "sidebar"))).toContain("graph");
    expect(names(VIEWS.filter((entry) => entry.place === "banner"))).toEqual(["findings"]);
    expect(viewLabel("dynamics")).toBe("Training dynamics");
    expect(viewLabel("nope")).toBe("nope");
  });

  it("names each view once, as a link can spell it, and opens the first tab by default", () => {
    expect(new Set(names(VIEWS)).size).toBe(VIEWS.length);
    const codec = identifier("view");
    for (const { name } of VIEWS) expect(codec.read(new URLSearchParams({ view: name })), name).toBe(name);
    expect(STATE_FIELDS.view.initial).toBe(VIEWS[0].name);
  });
});

describe("tabs for a run", () => {
  const full = runSummary();
  const statisticsOnly = runSummary({ kinds: ["graph", "statistics"] });
  const activationsOnly = runSummary({ kinds: ["activations", "corpus", "predictions"] });

  it("shows every tab while no run is selected, and for a run with every kind", () => {
    const tabs = names(VIEWS.filter((entry) => entry.place === "tab"));
    expect(names(visibleTabs(VIEWS, null))).toEqual(tabs);
    expect(names(visibleTabs(VIEWS, runSummary({ kinds: [...KINDS] })))).toEqual(tabs);
  });

  it("hides the tabs whose records the run lacks", () => {
    const existing = (run: typeof full) => names(visibleTabs(VIEWS, run)).filter((name) => FIVE.includes(name));
    expect(existing(statisticsOnly)).toEqual(["dynamics"]);
    expect(existing(activationsOnly)).toEqual(["filters", "compare"]); // any of weights, activations
    const graph = VIEWS.find((entry) => entry.name === "graph");
    expect(graph && runHas(graph, statisticsOnly)).toBe(true);
  });

  it("shows the Units tab only for a run with unit records", () => {
    expect(names(visibleTabs(VIEWS, full))).toContain("units");
    const without = runSummary({ kinds: full.kinds.filter((kind) => kind !== "units") });
    expect(names(visibleTabs(VIEWS, without))).not.toContain("units");
  });

  it("keeps the first tab when the run has none of the tabs' records", () => {
    expect(names(visibleTabs(VIEWS, runSummary({ kinds: ["graph"] })))).toEqual(["filters"]);
  });

  it("shows the chosen tab if the run has it, else the first one it has", () => {
    expect(shownTab(VIEWS, full, "clusters")?.name).toBe("clusters");
    expect(shownTab(VIEWS, statisticsOnly, "clusters")?.name).toBe("dynamics");
    expect(shownTab(VIEWS, full, "no-such-view")?.name).toBe("filters");
  });
});
