// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { View } from "../../src/core/context";
import { h } from "../../src/ui/dom";
import type { ViewEntry } from "../../src/views/registry";
import { Tabs } from "../../src/views/tabs";
import { allByTestId, byTestId, testContext } from "../context";
import { runSummary } from "../helpers";

function fakeViews() {
  const calls: string[] = [];
  const entry = (name: string, requires: ViewEntry["requires"], place: ViewEntry["place"] = "tab"): ViewEntry => ({
    name,
    label: `The ${name}`,
    requires,
    place,
    create: (_ctx, root): View => {
      root.appendChild(h("p", { text: `${name} content` }));
      return { setActive: (active) => calls.push(`${name}:${active}`) };
    },
  });
  const entries = [
    entry("one", []),
    entry("two", ["clusters"]),
    entry("side", [], "sidebar"),
    entry("top", [], "banner"),
  ];
  return { entries, calls };
}

function mount(state = {}) {
  const { ctx, store } = testContext(state);
  const { entries, calls } = fakeViews();
  const places = { tabs: h("nav"), main: h("main"), sidebar: h("aside"), banner: h("div") };
  const tabs = new Tabs(ctx, entries, places);
  tabs.start();
  return { store, tabs, calls, places };
}

describe("Tabs", () => {
  it("makes a tab and a tab panel per tab entry, and a sidebar place per sidebar entry", () => {
    const { places, calls } = mount();
    expect(allByTestId(places.tabs, "tab-one").map((b) => b.textContent)).toEqual(["The one"]);
    const panel = byTestId(places.main, "view-two");
    expect(panel.getAttribute("role")).toBe("tabpanel");
    expect(panel.getAttribute("aria-label")).toBe("The two");
    expect(byTestId(places.tabs, "tab-two").getAttribute("aria-controls")).toBe(panel.id);
    expect(places.sidebar.textContent).toBe("side content");
    expect(places.banner.textContent).toBe("top content");
    expect(calls).toEqual(["side:true", "top:true", "one:true"]);
  });

  it("puts a banner entry in the sidebar when the page has no banner", () => {
    const { ctx } = testContext();
    const places = { tabs: h("nav"), main: h("main"), sidebar: h("aside") };
    new Tabs(ctx, fakeViews().entries, places).start();
    expect(places.sidebar.textContent).toBe("side contenttop content");
    expect(allByTestId(places.tabs, "tab-top")).toHaveLength(0);
  });

  it("switches views on a click, telling each view once", () => {
    const { places, store, calls, tabs } = mount();
    byTestId(places.tabs, "tab-two").click();
    expect(store.get().view).toBe("two");
    expect(tabs.current).toBe("two");
    expect(byTestId(places.tabs, "tab-two").getAttribute("aria-selected")).toBe("true");
    expect(byTestId(places.tabs, "tab-one").classList.contains("dv-tab-active")).toBe(false);
    store.set({ runs: [...store.get().runs] }); // a new listing: nothing to switch
    expect(calls).toEqual(["side:true", "top:true", "one:true", "one:false", "two:true"]);
  });

  it("hides a tab whose records the run lacks and shows the first tab instead, keeping the choice", () => {
    const { places, store, tabs } = mount({ view: "two" });
    expect(tabs.current).toBe("two");
    store.set({ runs: [...store.get().runs, runSummary({ run: "plain", kinds: ["weights"] })], run: "plain" });
    expect(byTestId(places.tabs, "tab-two").hidden).toBe(true);
    expect(tabs.current).toBe("one");
    expect(store.get().view).toBe("two");
    store.set({ run: "<i>main</i>" });
    expect(byTestId(places.tabs, "tab-two").hidden).toBe(false);
    expect(tabs.current).toBe("two");
  });

  it("shows the first tab for a view name it does not know", () => {
    const { tabs } = mount({ view: "nope" });
    expect(tabs.current).toBe("one");
  });
});
