// Mounting the registry's views: a tab panel and a tab button for each tab entry, a place in
// the sidebar for each sidebar entry, and one above the tabs for each banner entry. The tab bar
// hides tabs whose records the selected run lacks, and keeps exactly one tab's view active
// (drawing); the others stay hidden and idle.

import type { AppContext, View } from "../core/context";
import { currentRun } from "../core/derived";
import { h } from "../ui/dom";
import { shownTab, type ViewEntry, visibleTabs } from "./registry";

export interface Places {
  /** The tab bar (role tablist). */
  tabs: HTMLElement;
  /** Where the tab panels go. */
  main: HTMLElement;
  sidebar: HTMLElement;
  /** Above the tab bar (the sidebar when there is none). */
  banner?: HTMLElement;
}

export class Tabs {
  private readonly views = new Map<string, View>();
  private readonly buttons = new Map<string, HTMLButtonElement>();
  /** The views always shown: the sidebar's and the banner's. */
  private readonly sidebar: View[] = [];
  private shown: string | null = null;
  private started = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly entries: readonly ViewEntry[],
    places: Places,
  ) {
    const { store } = ctx;
    for (const entry of entries) {
      if (entry.place === "sidebar" || entry.place === "banner") {
        const banner = entry.place === "banner" && places.banner;
        const root = h("div", { class: banner ? "dv-banner-view" : "dv-sidebar-view" });
        (banner || places.sidebar).appendChild(root);
        this.sidebar.push(entry.create(ctx, root));
        continue;
      }
      const root = h("section", {
        testid: `view-${entry.name}`,
        class: "dv-view",
        attrs: { id: `dv-view-${entry.name}`, role: "tabpanel", "aria-label": entry.label },
      });
      root.hidden = true;
      places.main.appendChild(root);
      this.views.set(entry.name, entry.create(ctx, root));
      const button = h("button", {
        testid: `tab-${entry.name}`,
        class: "dv-tab",
        text: entry.label,
        attrs: { type: "button", role: "tab", "aria-controls": `dv-view-${entry.name}` },
        on: { click: () => store.set({ view: entry.name }) },
      });
      places.tabs.appendChild(button);
      this.buttons.set(entry.name, button);
    }
    store.subscribe(() => this.update(), ["view", "runs", "run"]);
  }

  /** Show the chosen tab and start the sidebar's and the banner's views (once the page is in the document). */
  start(): void {
    this.started = true;
    for (const view of this.sidebar) view.setActive(true);
    this.update();
  }

  /** The name of the tab on screen. */
  get current(): string | null {
    return this.shown;
  }

  private update(): void {
    if (!this.started) return;
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const visible = new Set(visibleTabs(this.entries, run).map((entry) => entry.name));
    const shown = shownTab(this.entries, run, state.view)?.name ?? null;
    for (const [name, button] of this.buttons) {
      button.hidden = !visible.has(name);
      button.setAttribute("aria-selected", name === shown ? "true" : "false");
      button.classList.toggle("dv-tab-active", name === shown);
    }
    if (shown === this.shown) return;
    if (this.shown !== null) this.views.get(this.shown)?.setActive(false);
    this.shown = shown;
    if (shown !== null) this.views.get(shown)?.setActive(true);
  }
}
