// @vitest-environment happy-dom
// The unit panel's feature visualization: the unit's image beside its top images, from the latest
// render at or before the checkpoint (rendered, earlier render, no signal, none), and playback that
// waits for it and loads each render once.
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { realClock } from "../../src/core/timeline";
import { UnitPanel } from "../../src/panels/unit_panel";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, FEATURE_VIS_UNITS, NO_SIGNAL_UNIT } from "../fake_server";
import { runSummary } from "../helpers";

const RUN = encodeURIComponent(FAKE_RUN.run);

async function panel(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ unit: 1, ...state });
  const container = place();
  const unitPanel = new UnitPanel(container, ctx);
  unitPanel.setActive(true);
  await settle();
  const element = byTestId(container, "unit-panel");
  const fv = byTestId(element, "unit-fv");
  return { ctx, store, fetch, element, unitPanel, fv };
}

const shows = (fv: HTMLElement) => ({
  state: fv.getAttribute("data-state"),
  step: fv.getAttribute("data-step"),
  image: !byTestId(fv, "unit-fv-image").hidden,
  noSignal: !byTestId(fv, "unit-fv-no-signal").hidden,
  caption: byTestId(fv, "unit-fv-caption").textContent,
});

describe("UnitPanel: feature visualization", () => {
  it("draws the unit's image of the render at the checkpoint, beside its top images", async () => {
    const { fv, fetch, element } = await panel();
    expect(fetched(fetch)).toContain(`feature_vis_layout?run=${RUN}&layer=conv1&step=6`);
    expect(fv.hidden).toBe(false);
    expect(shows(fv)).toEqual({
      state: "ready",
      step: "6",
      image: true,
      noSignal: false,
      caption: "Rendered at step 6 · objective 2.6",
    });
    expect(byTestId(fv, "unit-fv-image").tagName).toBe("CANVAS");
    // beside the top images: in the same row, the crops still there
    expect(fv.parentElement?.contains(byTestId(element, "unit-crops"))).toBe(true);
    expect(allByTestId(element, "unit-crop")).toHaveLength(9);
  });

  it("says when the image was rendered at an earlier checkpoint than the selected one", async () => {
    const { fv, fetch } = await panel({ step: 4 });
    // asked at the render's own step: every checkpoint up to the next render shares the answer
    expect(fetched(fetch)).toContain(`feature_vis_layout?run=${RUN}&layer=conv1&step=2`);
    expect(fetched(fetch).some((url) => url.startsWith("feature_vis_layout") && url.endsWith("step=4"))).toBe(false);
    expect(shows(fv)).toMatchObject({ state: "earlier", step: "2", image: true });
    expect(shows(fv).caption).toBe(
      "Rendered at step 2, an earlier checkpoint (the latest render at or before step 4) · objective 2.2",
    );
  });

  it('says "no signal" for a unit whose objective stayed near zero instead of showing grey', async () => {
    const { fv } = await panel({ unit: NO_SIGNAL_UNIT });
    expect(shows(fv)).toMatchObject({ state: "no-signal", step: "6", image: false, noSignal: true });
    expect(byTestId(fv, "unit-fv-no-signal").textContent).toBe("no signal");
    expect(shows(fv).caption).toContain("No signal: the unit's objective stayed near zero (0)");
  });

  it("says nothing is rendered: a layer without feature visualization, before the first render, a unit not rendered", async () => {
    const { fv, store } = await panel({ layer: "fc" });
    expect(shows(fv)).toMatchObject({ state: "none", image: false, noSignal: false });
    expect(shows(fv).caption).toBe("Nothing rendered: layer fc has no feature visualization; layers with it: conv1.");
    store.set({ layer: "conv1", step: 0 });
    await settle();
    expect(shows(fv).caption).toBe("Nothing rendered at or before step 0; the first render is at step 2.");
    expect(fv.getAttribute("data-state")).toBe("none");
    store.set({ step: 6, unit: 4 });
    await settle();
    expect(shows(fv)).toMatchObject({ state: "none", step: "6", image: false });
    expect(shows(fv).caption).toBe(
      `Unit 4 was not rendered at step 6 (units rendered: ${FEATURE_VIS_UNITS.join(", ")}).`,
    );
  });

  it("stays out of the way for a run without any feature visualization", async () => {
    const plain = runSummary({ run: "plain" });
    const { fv, element } = await panel({ runs: [plain], run: plain.run });
    expect(fv.hidden).toBe(true);
    expect(allByTestId(element, "unit-crop")).toHaveLength(9);
  });

  it("shows the feature visualization of a layer without unit records", async () => {
    const base = FAKE_RUN;
    const run = runSummary({
      ...base,
      run: "no units",
      layers: base.layers.map((layer) => ({ ...layer, has_units: false })),
    });
    const { fv, element } = await panel({ runs: [run], run: run.run });
    expect(byTestId(element, "unit-status").textContent).toBe(
      `Run no units has no unit records (what each unit responds to).`,
    );
    expect(shows(fv)).toMatchObject({ state: "ready", image: true });
    expect(fv.closest("[hidden]")).toBeNull();
    expect(byTestId(element, "unit-crops").closest("[hidden]")).not.toBeNull();
  });

  it("follows the timeline: playback waits for the image, and each render is loaded once", async () => {
    const { ctx, store, fv, fetch } = await panel({ step: 0 });
    // From checkpoint 0 the next three (2, 4, 6) need two renders: 4 shows step 2's.
    const plan = ctx.prefetcher
      .plan(FAKE_RUN.checkpoints, 0, 3)
      .filter((item) => item.url.startsWith("feature_vis"))
      .map((item) => `${item.kind} ${item.url}`);
    expect(plan).toEqual([
      `json feature_vis_layout?run=${RUN}&layer=conv1&step=2`,
      `image feature_vis_sprite?run=${RUN}&layer=conv1&step=2`,
      `json feature_vis_layout?run=${RUN}&layer=conv1&step=6`,
      `image feature_vis_sprite?run=${RUN}&layer=conv1&step=6`,
    ]);
    for (const step of [2, 4, 6]) {
      ctx.gate.begin();
      store.set({ step });
      // the frame gate settles once the unit's image of this checkpoint is drawn
      await ctx.gate.settled(2000, realClock.sleep);
      expect(fv.getAttribute("data-step")).toBe(step === 4 ? "2" : String(step));
    }
    const layouts = fetched(fetch).filter((url) => url.startsWith("feature_vis_layout"));
    expect(layouts).toEqual([
      `feature_vis_layout?run=${RUN}&layer=conv1&step=2`,
      `feature_vis_layout?run=${RUN}&layer=conv1&step=6`,
    ]);
    expect(ctx.images.has(`feature_vis_sprite?run=${RUN}&layer=conv1&step=2`)).toBe(true);
    expect(ctx.images.has(`feature_vis_sprite?run=${RUN}&layer=conv1&step=4`, true)).toBe(false);
  });
});
