// Keeping the run listing fresh: `index` is fetched on an interval shown in the UI, with a
// toggle to pause (TensorBoard's reload button does not reach iframe plugins), so a run still
// training shows its new checkpoints.

import { type Api, errorText } from "../api/client";
import type { IndexResponse } from "../api/types";
import { h, option } from "../ui/dom";
import { currentRun, reconcile, resolveLink } from "./derived";
import { POLL_INTERVALS } from "./state";
import type { Store } from "./store";

/** Fetch `index` once and fold it into the store (keeping the selection valid). */
export async function refreshIndex(store: Store, api: Api): Promise<void> {
  let index: IndexResponse;
  try {
    index = await api.index();
  } catch (error) {
    store.set({ indexError: errorText(error), loaded: true });
    return;
  }
  const before = store.get();
  const previousRun = currentRun(before);
  const runs = Array.isArray(index.runs) ? index.runs : [];
  for (const run of runs) {
    const old = before.runs.find((entry) => entry.run === run.run);
    // A graph or corpus logged since the last look must not be hidden by a memoized answer.
    if (old && (old.kinds.join() !== run.kinds.join() || old.corpus_size !== run.corpus_size)) api.forgetRun(run.run);
  }
  store.set({ runs, loaded: true, indexError: null });
  // A link opened before the first listing may name a step between checkpoints (a finding's).
  if (!before.loaded && before.step !== null) store.set(resolveLink({ step: before.step }, store.get()));
  store.set(reconcile(store.get(), previousRun));
}

export function createPoller(store: Store, api: Api): HTMLElement {
  const toggle = h("button", { testid: "poll-toggle", class: "dv-button", attrs: { type: "button" } });
  const interval = h("select", {
    testid: "poll-interval",
    title: "How often to look for new checkpoints",
    attrs: { "aria-label": "Update interval" },
  });
  for (const seconds of POLL_INTERVALS) interval.appendChild(option(String(seconds), `every ${seconds} s`));
  const note = h("span", { class: "dv-muted dv-small", testid: "poll-status" });
  let timer: number | null = null;
  let lastUpdate: Date | null = null;
  let busy = false;

  const schedule = () => {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
    const state = store.get();
    if (state.polling) timer = window.setTimeout(tick, state.pollSeconds * 1000);
  };
  const tick = async () => {
    timer = null;
    if (busy) return schedule();
    busy = true;
    try {
      await refreshIndex(store, api);
      if (!store.get().indexError) lastUpdate = new Date();
    } finally {
      busy = false;
      render();
      schedule();
    }
  };
  const render = () => {
    const state = store.get();
    toggle.setAttribute("aria-pressed", state.polling ? "true" : "false");
    toggle.textContent = state.polling ? "⟳ live" : "⟳ paused";
    toggle.title = state.polling
      ? `Looking for new checkpoints every ${state.pollSeconds} s; click to pause`
      : "Updates paused; click to resume";
    interval.value = String(state.pollSeconds);
    interval.disabled = !state.polling;
    const when = lastUpdate ? `updated ${lastUpdate.toLocaleTimeString()}` : "";
    note.textContent = state.indexError ? `update failed: ${state.indexError}` : when;
    note.classList.toggle("dv-status-error", Boolean(state.indexError));
  };
  toggle.addEventListener("click", () => store.set({ polling: !store.get().polling }));
  interval.addEventListener("change", () => store.set({ pollSeconds: Number(interval.value) }));
  store.subscribe(() => {
    render();
    schedule();
  }, ["polling", "pollSeconds"]);
  store.subscribe(render, ["indexError", "loaded"]);
  render();
  // The first fetch happens in main.ts; the interval starts from there.
  const container = h(
    "div",
    { class: "dv-poll", title: "New checkpoints of a run still training appear by themselves" },
    toggle,
    interval,
    note,
  );
  store.subscribe(
    (state) => {
      if (state.loaded && lastUpdate === null && !state.indexError) {
        lastUpdate = new Date();
        render();
      }
    },
    ["loaded"],
  );
  schedule();
  return container;
}
