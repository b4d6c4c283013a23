// The run menu of the header: every run with deepviz data, the selected one chosen. Changing
// it stops playback; the rest of the selection is then made to fit the new run (reconcile).

import { h, option, replaceChildren } from "../ui/dom";
import type { Store } from "./store";

export function createRunSelect(store: Store): HTMLSelectElement {
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
