// @vitest-environment happy-dom
// The Filters view's other content: the layer's units' feature visualizations instead of its
// weights (show=feature_vis in links), a cell opening its unit's panel, playback loading each render once.
import { describe, expect, it } from "vitest";
import { decodeHash, encodeHash } from "../../src/core/hash";
import { initialState, type State } from "../../src/core/state";
import { realClock } from "../../src/core/timeline";
import { FiltersView } from "../../src/views/filters/view";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, FEATURE_VIS_UNITS, NO_SIGNAL_UNIT } from "../fake_server";
import { runSummary } from "../helpers";

const RUN = encodeURIComponent(FAKE_RUN.run);

async function filtersView(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ filtersShow: "feature_vis", ...state });
  const root = place();
  const view = new FiltersView(ctx, root);
  view.setActive(true);
  await settle();
  return { ctx, store, fetch, root, view, status: byTestId(root, "status"), bank: byTestId(root, "fv-bank") };
}

const cellUnits = (root: HTMLElement) => allByTestId(root, "fv-cell").map((cell) => Number(cell.dataset.unit));

describe("FiltersView: feature visualization", () => {
  it("shows the layer's rendered units instead of its weights", async () => {
    const { root, bank, status, fetch } = await filtersView();
    expect(root.getAttribute("data-show")).toBe("feature_vis");
    expect(bank.hidden).toBe(false);
    expect(byTestId(root, "filters-sprite").closest("[hidden]")).not.toBeNull();
    expect(fetched(fetch).some((url) => url.startsWith("filters"))).toBe(false); // no weights asked for
    expect(cellUnits(root)).toEqual(FEATURE_VIS_UNITS);
    expect(bank.getAttribute("data-step")).toBe("6");
    expect(allByTestId(root, "fv-image")).toHaveLength(FEATURE_VIS_UNITS.length - 1);
    const silent = allByTestId(root, "fv-no-signal");
    expect(silent.map((cell) => cell.closest<HTMLElement>("[data-unit]")?.dataset.unit)).toEqual([
      String(NO_SIGNAL_UNIT),
    ]);
    expect(silent[0].textContent).toBe("no signal");
    expect(status.getAttribute("data-state")).toBe("ready");
    expect(status.textContent).toBe(
      "conv1 · Conv2d · feature visualization of 6 units (1 without signal) · rendered at step 6 · fourier, 128 steps, warm start from step 2 · click a unit to open it",
    );
    expect((byTestId(root, "filters-show") as HTMLSelectElement).value).toBe("feature_vis");
    expect((byTestId(root, "filters-norm") as HTMLSelectElement).disabled).toBe(true);
    expect(byTestId(root, "filter-info").hidden).toBe(true);
    expect(byTestId(root, "fv-info").textContent).toContain("6 units rendered at step 6");
  });

  it("switches between weights and feature visualization with the menu", async () => {
    const { root, store, bank } = await filtersView({ filtersShow: "weights" });
    expect(bank.hidden).toBe(true);
    expect(byTestId(root, "filters-sprite").closest("[hidden]")).toBeNull();
    const menu = byTestId(root, "filters-show") as HTMLSelectElement;
    expect(menu.closest("[hidden]")).toBeNull(); // the run has feature visualizations
    menu.value = "feature_vis";
    menu.dispatchEvent(new Event("change"));
    await settle();
    expect(store.get().filtersShow).toBe("feature_vis");
    expect(bank.hidden).toBe(false);
    expect(cellUnits(root)).toEqual(FEATURE_VIS_UNITS);
    menu.value = "weights";
    menu.dispatchEvent(new Event("change"));
    await settle();
    expect(bank.hidden).toBe(true);
    expect(byTestId(root, "filters-sprite").getAttribute("data-step")).toBe("6");
  });

  it("opens the unit panel of a clicked cell: the layout's units map cells to units", async () => {
    const { root, store } = await filtersView();
    const cells = allByTestId(root, "fv-cell");
    cells[4].click(); // the fifth rendered unit is unit 5 (unit 4 was not rendered)
    expect(store.get().unit).toBe(5);
    expect(store.get().filter).toBe(5);
    await settle();
    const panel = byTestId(root, "unit-panel");
    expect(panel.hidden).toBe(false);
    expect(panel.getAttribute("data-unit")).toBe("5");
    expect(byTestId(panel, "unit-fv").getAttribute("data-state")).toBe("ready");
    expect(cells[4].classList.contains("dv-selected")).toBe(true);
    expect(byTestId(root, "fv-info").querySelector('[data-fact="unit"]')?.textContent).toBe("5 (selected)");
    cells[4].click();
    expect(store.get().unit).toBeNull();
  });

  it("shows the latest render at or before the checkpoint, and says why there is none", async () => {
    const { root, store, bank, status } = await filtersView({ step: 4 });
    expect(bank.getAttribute("data-step")).toBe("2");
    expect(bank.getAttribute("data-requested-step")).toBe("4");
    expect(status.textContent).toContain(
      "rendered at step 2, an earlier checkpoint (the latest render at or before step 4)",
    );
    store.set({ step: 0 });
    await settle();
    expect(status.textContent).toBe("Nothing rendered at or before step 0; the first render is at step 2.");
    expect(allByTestId(root, "fv-cell")).toHaveLength(0);
    store.set({ step: 6, layer: "fc" });
    await settle();
    expect(status.textContent).toBe("Nothing rendered: layer fc has no feature visualization; layers with it: conv1.");
  });

  it("shows weights for a run without feature visualization, whatever the link says", async () => {
    const plain = runSummary({ run: "plain" });
    const { root, bank } = await filtersView({ runs: [plain], run: plain.run });
    expect(root.getAttribute("data-show")).toBe("weights");
    expect(bank.hidden).toBe(true);
    expect(byTestId(root, "filters-sprite").getAttribute("data-step")).toBe("6");
    // the menu stays, so that the choice can be taken back
    expect(byTestId(root, "filters-show").closest("[hidden]")).toBeNull();
  });

  it("prefetches each render once while playing, and the frame gate waits for it", async () => {
    const { ctx, store, root, fetch } = await filtersView({ step: 0 });
    const plan = ctx.prefetcher.plan(FAKE_RUN.checkpoints, 0, 3).map((item) => `${item.kind} ${item.url}`);
    // checkpoints 2, 4 and 6: two renders; no filter sprites while the bank shows feature visualizations
    expect(plan.filter((item) => item.includes("feature_vis"))).toEqual([
      `json feature_vis_layout?run=${RUN}&layer=conv1&step=2`,
      `image feature_vis_sprite?run=${RUN}&layer=conv1&step=2`,
      `json feature_vis_layout?run=${RUN}&layer=conv1&step=6`,
      `image feature_vis_sprite?run=${RUN}&layer=conv1&step=6`,
    ]);
    expect(plan.some((item) => item.includes("filters?"))).toBe(false);
    const bank = byTestId(root, "fv-bank");
    for (const step of [2, 4, 6]) {
      ctx.gate.begin();
      store.set({ step });
      await ctx.gate.settled(2000, realClock.sleep);
      expect(bank.getAttribute("data-requested-step")).toBe(String(step));
      expect(bank.getAttribute("data-step")).toBe(step === 4 ? "2" : String(step));
    }
    expect(fetched(fetch).filter((url) => url.startsWith("feature_vis_layout"))).toEqual([
      `feature_vis_layout?run=${RUN}&layer=conv1&step=2`,
      `feature_vis_layout?run=${RUN}&layer=conv1&step=6`,
    ]);
  });

  it("keeps the choice in links; links without it show weights", () => {
    const state = { ...initialState(), run: "r", layer: "conv1", step: 4, filtersShow: "feature_vis" as const };
    expect(encodeHash(state)).toBe("#run=r&layer=conv1&step=4&view=filters&show=feature_vis");
    expect(decodeHash("#run=r&layer=conv1&step=4&show=feature_vis").filtersShow).toBe("feature_vis");
    expect({ ...initialState(), ...decodeHash("#run=r&layer=conv1&step=4") }.filtersShow).toBe("weights");
    expect(decodeHash("#show=pixels").filtersShow).toBeUndefined();
  });
});
