// The dashboard's entry point. TensorBoard imports this module in the plugin's iframe and calls
// render() once; everything is built into document.body: the header (run menu, timeline,
// polling), then every view of views/registry.ts as a tab, in the sidebar or above the tabs.
// Nothing here is about one view in particular.

import { Api } from "./api/client";
import { ProbeImages } from "./api/probes";
import type { AppContext } from "./core/context";
import { reconcile } from "./core/derived";
import { bindHash } from "./core/hash";
import { createPoller, refreshIndex } from "./core/poll";
import { createRunSelect } from "./core/run_select";
import { Store } from "./core/store";
import { createTimeline, FrameGate, Player, Prefetcher, realClock } from "./core/timeline";
import { h, replaceChildren } from "./ui/dom";
import { ImageCache } from "./ui/images";
import { BASE_STYLES, ensureStyles } from "./ui/styles";
import { VIEWS } from "./views/registry";
import { Tabs } from "./views/tabs";

export function render(): void {
  const doc = document;
  ensureStyles("base", BASE_STYLES, doc);

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
  const probes = new ProbeImages(api);
  const context: AppContext = { store, api, images, thumbnailImages, probes, gate, prefetcher };
  bindHash(store, window);

  // A run change keeps what still makes sense (layer, step, image) and fixes the rest.
  store.subscribe(() => store.set(reconcile(store.get())), ["run"]);

  const header = h(
    "header",
    { class: "dv-header" },
    h("label", { class: "dv-inline dv-run" }, h("span", { class: "dv-muted", text: "run " }), createRunSelect(store)),
    createTimeline({ store, gate, prefetcher }),
    createPoller(store, api),
  );
  const tabBar = h("nav", { class: "dv-tabs", attrs: { role: "tablist", "aria-label": "Views" } });
  const banner = h("div", { class: "dv-banner" });
  const main = h("main", { class: "dv-main" }, banner, tabBar);
  const sidebar = h("aside", { class: "dv-sidebar" });
  const tabs = new Tabs(context, VIEWS, { tabs: tabBar, main, sidebar, banner });
  // Playback starts after every view has subscribed, so each frame is tracked by the gate; it moves
  // on once the next frame's images and JSON (what the views prefetch) have loaded.
  new Player(store, gate, realClock, 2000, (step) => prefetcher.prepare(step));

  replaceChildren(doc.body, h("div", { class: "dv-app" }, header, h("div", { class: "dv-body" }, sidebar, main)));
  doc.body.classList.add("dv-body-root");
  tabs.start();
  void refreshIndex(store, api);
}
