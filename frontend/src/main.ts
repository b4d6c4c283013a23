// The dashboard's entry point. TensorBoard imports this module in the plugin's iframe and calls
// render() once; everything is built into document.body.

import { Api } from "./api/client";
import type { AppContext, View } from "./core/context";
import { bindHash } from "./core/hash";
import { ImageCache } from "./ui/images";
import { createPoller, refreshIndex } from "./core/poll";
import { reconcile, Store, VIEWS, type ViewName } from "./core/store";
import { STYLES } from "./ui/styles";
import { createTimeline, FrameGate, Player, Prefetcher, realClock } from "./core/timeline";
import { h, option, replaceChildren } from "./ui/dom";
import { ClustersView } from "./views/clusters/view";
import { CompareView } from "./views/compare/view";
import { ConfusionView } from "./views/confusion/view";
import { DynamicsView } from "./views/dynamics/view";
import { FiltersView } from "./views/filters/view";
import { GraphView } from "./views/graph/view";

const TAB_LABELS: Record<ViewName, string> = {
  filters: "Filters",
  confusion: "Confusion matrix",
  clusters: "Clusters",
  compare: "Direct compare",
  dynamics: "Training dynamics",
};

function runSelector(store: Store): HTMLSelectElement {
  const element = h("select", { testid: "run-select", title: "Run", attrs: { "aria-label": "Run" } });
  const render = () => {
    const state = store.get();
    const names = state.runs.map((run) => run.run);
    const current = [...element.options].map((o) => o.value);
    if (JSON.stringify(current) !== JSON.stringify(names)) {
      replaceChildren(element, ...names.map((name) => option(name, name)));
    }
    if (!names.length) replaceChildren(element, option("", state.loaded ? "no runs" : "loading…"));
    element.value = state.run ?? "";
    element.disabled = names.length === 0;
  };
  element.addEventListener("change", () => {
    store.set({ run: element.value, playing: false });
  });
  store.subscribe(render, ["runs", "run", "loaded"]);
  render();
  return element;
}

export function render(): void {
  const doc = document;
  const style = doc.createElement("style");
  style.textContent = STYLES;
  doc.head.appendChild(style);

  const store = new Store();
  const api = new Api();
  // Room for a whole played run's sprites (filters and activations of a few hundred checkpoints).
  const images = new ImageCache(512);
  const thumbnailImages = new ImageCache(64);
  const gate = new FrameGate();
  const prefetcher = new Prefetcher(
    (url) => images.load(url),
    (url) => api.getJson(url, true),
  );
  const context: AppContext = { store, api, images, thumbnailImages, gate, prefetcher };
  bindHash(store, window);

  // A run change keeps what still makes sense (layer, step, image) and fixes the rest.
  store.subscribe(() => store.set(reconcile(store.get())), ["run"]);

  const header = h(
    "header",
    { class: "dv-header" },
    h("label", { class: "dv-inline dv-run" }, h("span", { class: "dv-muted", text: "run " }), runSelector(store)),
    createTimeline({ store, gate, prefetcher }),
    createPoller(store, api),
  );

  const views: Record<ViewName, View> = {
    filters: new FiltersView(context),
    confusion: new ConfusionView(context),
    clusters: new ClustersView(context),
    compare: new CompareView(context),
    dynamics: new DynamicsView(context),
  };
  const graph = new GraphView(context);
  // Playback starts after every view has subscribed, so each frame is tracked by the gate; it moves
  // on once the next frame's images and JSON (what the views prefetch) have loaded.
  new Player(store, gate, realClock, 2000, (step) => prefetcher.prepare(step));

  const tabs = h("nav", { class: "dv-tabs", attrs: { role: "tablist", "aria-label": "Views" } });
  const tabButtons = VIEWS.map((name) => {
    const button = h("button", {
      testid: `tab-${name}`,
      class: "dv-tab",
      text: TAB_LABELS[name],
      attrs: { type: "button", role: "tab", "aria-controls": `dv-view-${name}` },
      on: { click: () => store.set({ view: name }) },
    });
    views[name].root.id = `dv-view-${name}`;
    tabs.appendChild(button);
    return button;
  });
  const showView = () => {
    const current = store.get().view;
    VIEWS.forEach((name, i) => {
      const selected = name === current;
      tabButtons[i].setAttribute("aria-selected", selected ? "true" : "false");
      tabButtons[i].classList.toggle("dv-tab-active", selected);
    });
    for (const name of VIEWS) if (name !== current) views[name].setActive(false);
    views[current].setActive(true);
  };
  store.subscribe(showView, ["view"]);

  const app = h(
    "div",
    { class: "dv-app" },
    header,
    h(
      "div",
      { class: "dv-body" },
      h("aside", { class: "dv-sidebar" }, graph.root),
      h("main", { class: "dv-main" }, tabs, ...VIEWS.map((name) => views[name].root)),
    ),
  );
  replaceChildren(doc.body, app);
  doc.body.classList.add("dv-body-root");
  showView();
  graph.setActive();
  void refreshIndex(store, api);
}
