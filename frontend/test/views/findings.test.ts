// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { Api } from "../../src/api/client";
import type { Finding } from "../../src/api/types";
import { bindHash } from "../../src/core/hash";
import type { State } from "../../src/core/state";
import { FindingsView, leadLink } from "../../src/views/findings/view";
import { viewLabel } from "../../src/views/registry";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeFetch, fakeFindings, fakeServer, HttpError, NAMES, SECOND_RUN } from "../fake_server";

const RUN = FAKE_RUN.run;

async function panel(state: Partial<State> = {}, answer: (url: string) => unknown = fakeServer) {
  const { ctx, store, fetch } = testContext({ runs: [FAKE_RUN, SECOND_RUN], ...state }, answer);
  const root = place();
  const view = new FindingsView(ctx, root, { viewLabel });
  view.setActive(true);
  await settle();
  const element = byTestId(root, "findings");
  const items = () => allByTestId(root, "finding");
  return { ctx, store, fetch, root, view, element, items };
}

/** A findings answer of `findings` for any run, the rest from the fake server. */
function answering(findings: (run: string) => Finding[]) {
  return (url: string) => {
    if (!url.startsWith("findings?")) return fakeServer(url);
    const run = new URLSearchParams(url.split("?")[1]).get("run") ?? "";
    return { run, findings: findings(run) };
  };
}

afterEach(() => {
  window.location.hash = "";
});

describe("Findings panel", () => {
  it("is open at once for a run with errors or warnings, worst first, each with its severity, steps and message", async () => {
    const { element, items, fetch } = await panel();
    expect(fetched(fetch)).toContain(`findings?run=${encodeURIComponent(RUN)}`);
    expect(element.getAttribute("data-worst")).toBe("error");
    expect(byTestId(element, "findings-list").hidden).toBe(false);
    expect(byTestId(element, "findings-summary").textContent).toBe("1 error · 2 warnings · 1 info");
    expect(byTestId(element, "findings-toggle").getAttribute("aria-expanded")).toBe("true");
    const rows = items();
    expect(rows.map((row) => row.getAttribute("data-kind"))).toEqual([
      "nan_inf",
      "confused_classes",
      "dead_units",
      "frozen_layer",
    ]);
    const [nan, confused, , frozen] = rows;
    expect(byTestId(nan, "finding-severity").textContent).toBe("error");
    expect(byTestId(nan, "finding-severity").classList.contains("dv-sev-error")).toBe(true);
    expect(nan.classList.contains("dv-sev-error")).toBe(true);
    expect(frozen.classList.contains("dv-sev-info")).toBe(true);
    expect(byTestId(confused, "finding-severity").classList.contains("dv-sev-warning")).toBe(true);
    expect(byTestId(nan, "finding-step").textContent).toBe("steps 2–6");
    expect(nan.getAttribute("data-layer")).toBe("conv1");
    expect(nan.querySelector('[data-testid="finding-layer"]')).toBeNull(); // the message begins with it
    expect(nan.getAttribute("data-step")).toBe("2");
    expect(nan.getAttribute("data-last-step")).toBe("6");
    expect(byTestId(nan, "finding-message").textContent).toBe(
      "conv1: its weights first held NaN or Inf at step 2, before any other layer's",
    );
    expect(byTestId(nan, "finding-open").title).toBe("Open the evidence in Training dynamics");
    expect(byTestId(confused, "finding-open").title).toBe("Open the evidence in Confusion matrix");
    // Class names from the log stay text.
    expect(byTestId(confused, "finding-message").textContent).toBe(
      `true ${NAMES[0]} is predicted as ${NAMES[1]} for 40% of its images`,
    );
    expect(element.querySelector("b, img")).toBeNull();
    expect(confused.querySelector('[data-testid="finding-layer"]')).toBeNull();
  });

  it("orders an answer by severity, then step, whatever its order", async () => {
    const [nan, confused, dead, frozen] = fakeFindings(RUN).findings;
    const late = { ...nan, step: 5, layer: "fc", message: "later NaN" };
    const { items } = await panel(
      {},
      answering(() => [frozen, dead, late, confused, nan]),
    );
    expect(items().map((row) => `${row.getAttribute("data-severity")}@${row.getAttribute("data-step")}`)).toEqual([
      "error@2",
      "error@5",
      "warning@2",
      "warning@4",
      "info@0",
    ]);
    expect(byTestId(items()[1], "finding-layer").textContent).toBe("fc"); // its message does not name it
  });

  it("opens a finding's evidence in one click: the hash is its link and the store follows it", async () => {
    const { store, items } = await panel({ view: "filters", layer: "fc", step: 0, unit: 2 });
    store.set({ playing: true });
    byTestId(items()[0], "finding-open").click();
    const link = fakeFindings(RUN).findings[0].link;
    expect(window.location.hash).toBe(link);
    expect(store.get()).toMatchObject({
      run: RUN,
      view: "dynamics",
      layer: "conv1",
      step: 2,
      stat: "nan_count",
      source: "weights",
      unit: null,
      playing: false,
    });
    byTestId(items()[1], "finding-open").click();
    expect(store.get()).toMatchObject({ view: "confusion", step: 6, cell: [0, 1], layer: "conv1" });
    byTestId(items()[2], "finding-open").click();
    expect(store.get()).toMatchObject({ view: "units", layer: "fc", step: 6, unitsSort: "selectivity" });
  });

  it("goes to the first checkpoint at or after a finding's step, with the page's hash binding", async () => {
    const [nan] = fakeFindings(RUN).findings;
    const between = {
      ...nan,
      step: 3,
      link: `#run=${encodeURIComponent(RUN)}&view=dynamics&layer=fc&step=3&stat=nan_count&source=weights`,
    };
    const { store, items } = await panel(
      {},
      answering(() => [between]),
    );
    const unbind = bindHash(store, window);
    byTestId(items()[0], "finding-open").click();
    await settle();
    expect(store.get()).toMatchObject({ view: "dynamics", layer: "fc", step: 4 });
    await settle(300); // the binding writes the state back, in its own spelling
    expect(window.location.hash).toContain("step=4");
    expect(window.location.hash).toContain("view=dynamics");
    unbind();
  });

  it("ranks the layers that drifted before a NaN under it, each opening its Training dynamics", async () => {
    const { store, items } = await panel();
    const [nan, ...others] = items();
    for (const other of others) expect(other.querySelector('[data-testid="finding-leads"]')).toBeNull();
    const leads = allByTestId(nan, "finding-lead");
    expect(leads.map((lead) => `${lead.textContent}@${lead.getAttribute("data-step")}`)).toEqual(["fc@0", "bn1@1"]);
    expect(byTestId(nan, "finding-leads").textContent).toContain("gradients norm from step 0 (2 steps before)");
    leads[0].click();
    expect(store.get()).toMatchObject({ view: "dynamics", layer: "fc", step: 0, stat: "norm", source: "gradients" });
    expect(window.location.hash).toBe(
      `#run=${encodeURIComponent(RUN).replace(/%20/g, "+")}&view=dynamics&layer=fc&step=0&stat=norm&source=gradients`,
    );
    leads[1].click(); // step 1 is no checkpoint: the next one
    expect(store.get()).toMatchObject({ layer: "bn1", step: 2, stat: "std", source: "activations" });
    expect(leadLink("r", { layer: "x", source: "odd", statistic: "odd", left_band_at: 4, lead_steps: 1 })).toBe(
      "#run=r&view=dynamics&layer=x&step=4",
    );
  });

  it("lists a loss spike after the findings, its lead-lag ranking under it, one click opening its dynamics", async () => {
    const spike = {
      step: 4,
      last_step: 6,
      loss: 7.1,
      peak: 9.0,
      median: 1.3,
      threshold: 2.6,
      recovered: false,
      message: "the loss jumped to 7.1 at step 4, 5.46 times its recent median (1.3), and has not come back",
      lead_lag: [
        { layer: "fc", source: "weights", statistic: "norm", left_band_at: 2, lead_steps: 2 },
        { layer: "conv1", source: "weights", statistic: "update_ratio", left_band_at: 4, lead_steps: 0 },
      ],
      link: `#run=${encodeURIComponent(RUN)}&view=dynamics&step=4&layer=fc`,
    };
    const { element, store, root } = await panel({}, (url) => {
      const answer = fakeServer(url);
      return url.startsWith("findings?") ? { ...(answer as object), loss_spikes: [spike] } : answer;
    });
    expect(byTestId(element, "findings-summary").textContent).toBe("1 error · 2 warnings · 1 info · 1 loss spike");
    const [row] = allByTestId(root, "loss-spike");
    expect(byTestId(row, "finding-step").textContent).toBe("steps 4–6");
    expect(byTestId(row, "finding-message").textContent).toBe(spike.message);
    const leads = allByTestId(row, "finding-lead");
    expect(leads.map((lead) => `${lead.textContent}@${lead.getAttribute("data-step")}`)).toEqual(["fc@2", "conv1@4"]);
    byTestId(row, "finding-open").click();
    expect(store.get()).toMatchObject({ view: "dynamics", layer: "fc", step: 4 });
  });

  it("is one quiet line when nothing is above information, and opens on request", async () => {
    const { element, store, items } = await panel({ run: SECOND_RUN.run });
    expect(store.get().findings?.run).toBe(SECOND_RUN.run);
    expect(element.getAttribute("data-worst")).toBe("info");
    expect(byTestId(element, "findings-summary").textContent).toBe("1 info · nothing wrong now");
    expect(byTestId(element, "findings-list").hidden).toBe(true);
    expect(items()).toHaveLength(0);
    const toggle = byTestId(element, "findings-toggle");
    expect([toggle.hidden, toggle.textContent, toggle.getAttribute("aria-expanded")]).toEqual([false, "show", "false"]);
    toggle.click();
    expect(items()).toHaveLength(1);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
  });

  it("says so when the run has no findings", async () => {
    const { element, items } = await panel(
      {},
      answering(() => []),
    );
    expect(byTestId(element, "findings-summary").textContent).toContain("No findings");
    expect(byTestId(element, "findings-toggle").hidden).toBe(true);
    expect(element.getAttribute("data-worst")).toBe("none");
    expect(items()).toHaveLength(0);
  });

  it("looks again with each new listing: a live run gains findings", async () => {
    let found = fakeFindings(RUN).findings.slice(3);
    const { store, element, items, fetch } = await panel(
      {},
      answering(() => found),
    );
    expect(byTestId(element, "findings-list").hidden).toBe(true);
    const calls = fetched(fetch).filter((url) => url.startsWith("findings?")).length;
    found = fakeFindings(RUN).findings;
    store.set({ runs: [{ ...FAKE_RUN, checkpoints: [0, 2, 4, 6, 8] }, SECOND_RUN] }); // what polling does
    await settle();
    expect(fetched(fetch).filter((url) => url.startsWith("findings?")).length).toBe(calls + 1);
    expect(items()).toHaveLength(4); // now with an error: open by itself
    expect(store.get().findings?.findings).toHaveLength(4);
  });

  it("waits behind the run gate, and drops an answer a newer request overtook", async () => {
    const { store, element } = await panel({ loaded: false, run: null });
    expect(byTestId(element, "findings-summary").textContent).toBe("Loading the list of runs…");
    expect(store.get().findings).toBeNull();
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fetchFn = vi.fn(async (url: string) => {
      if (url.includes(`run=${encodeURIComponent(RUN)}`)) await slow;
      return fakeFetch()(url);
    });
    const { ctx, store: store2 } = testContext({ runs: [FAKE_RUN, SECOND_RUN] });
    const root = place();
    ctx.api = new Api(fetchFn);
    new FindingsView(ctx, root).setActive(true); // asks for the first run, slowly
    store2.set({ run: SECOND_RUN.run });
    await settle();
    release();
    await settle();
    expect(store2.get().findings?.run).toBe(SECOND_RUN.run);
    expect(allByTestId(root, "finding")).toHaveLength(0);
  });

  it("says why when the findings cannot be looked at", async () => {
    const { element, store } = await panel({}, (url) =>
      url.startsWith("findings?") ? new HttpError(404, "no such route") : fakeServer(url),
    );
    const summary = byTestId(element, "findings-summary");
    expect(summary.textContent).toBe("Could not look for findings: no such route");
    expect(summary.getAttribute("data-state")).toBe("error");
    expect(store.get().findings).toBeNull();
  });
});
