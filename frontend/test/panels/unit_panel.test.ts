// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { UnitPanel, type UnitPanelSettings } from "../../src/panels/unit_panel";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { DEAD_UNIT, FAKE_RUN, NAMES } from "../fake_server";
import { runSummary } from "../helpers";

const RUN = encodeURIComponent(FAKE_RUN.run);

async function panel(state: Partial<State> = {}, settings: UnitPanelSettings = {}) {
  const { ctx, store, fetch } = testContext({ unit: 1, ...state });
  const container = place();
  const unitPanel = new UnitPanel(container, ctx, settings);
  unitPanel.setActive(true);
  await settle();
  return { ctx, store, fetch, container, unitPanel, element: byTestId(container, "unit-panel") };
}

const facts = (root: HTMLElement) =>
  Object.fromEntries(
    [...byTestId(root, "unit-facts").querySelectorAll("dt")].map((dt) => [
      dt.textContent,
      dt.nextElementSibling?.textContent,
    ]),
  );

describe("UnitPanel", () => {
  it("shows the unit's top-9 crops, its facts and its class means at the checkpoint", async () => {
    const { element, fetch } = await panel();
    expect(fetched(fetch)).toContain(`top_images?run=${RUN}&layer=conv1&unit=1&step=6`);
    const crops = allByTestId(element, "unit-crop");
    // the fake's top images of unit u at step s: (u + 4j + s) % 48
    expect(crops.map((crop) => crop.getAttribute("data-index"))).toEqual(
      Array.from({ length: 9 }, (_, j) => String((1 + 4 * j + 6) % 48)),
    );
    expect(crops.every((crop) => crop.tagName === "CANVAS")).toBe(true);
    expect(byTestId(element, "unit-status").getAttribute("data-state")).toBe("ready");
    expect(byTestId(element, "unit-title").textContent).toBe("Unit 1 of conv1");
    expect(element.getAttribute("data-step")).toBe("6");
    const shown = facts(element);
    expect(shown["top class"]).toBe(NAMES[1]); // a hostile name, as text
    expect(Number(shown.selectivity)).toBeGreaterThan(0.5);
    expect(shown.dead).toBe("no");
    expect(element.querySelector("img:not([data-testid]), b")).toBeNull();
    const bars = [...byTestId(element, "unit-class-means").querySelectorAll<HTMLElement>(".dv-bar-row")];
    expect(bars).toHaveLength(4);
    expect(bars.map((bar) => bar.classList.contains("dv-unit-top"))).toEqual([false, true, false, false]);
    expect((bars[1].querySelector(".dv-bar") as HTMLElement).style.width).toBe("100%");
  });

  it("draws the box on the whole image of the crop pointed at, and selects an image on click", async () => {
    const { element, store } = await panel();
    const preview = byTestId(element, "unit-preview");
    const box = byTestId(element, "unit-box");
    // with no crop pointed at: the best image, its box [0, 0, 8, 8] of the 16 x 16 input at 132 px
    expect(preview.getAttribute("data-index")).toBe("7");
    expect([box.style.left, box.style.top, box.style.width, box.style.height]).toEqual(["0px", "0px", "66px", "66px"]);
    const crop = allByTestId(element, "unit-crop")[2];
    crop.dispatchEvent(new MouseEvent("mouseenter"));
    // rank 2: box [2, 4, 10, 12] -> x 4 * 8.25, y 2 * 8.25, 8 * 8.25 wide and high
    expect(preview.getAttribute("data-index")).toBe(crop.getAttribute("data-index"));
    expect(box.getAttribute("data-box")).toBe("2,4,10,12");
    expect([box.style.left, box.style.top, box.style.width, box.style.height]).toEqual([
      "33px",
      "16.5px",
      "66px",
      "66px",
    ]);
    expect(box.hidden).toBe(false);
    expect(byTestId(element, "unit-preview-caption").textContent).toContain("rank 3");
    crop.click();
    expect(store.get().image).toBe(Number(crop.getAttribute("data-index")));
    expect(crop.classList.contains("dv-selected")).toBe(true);
    byTestId(element, "unit-crops").dispatchEvent(new MouseEvent("mouseleave"));
    expect(preview.getAttribute("data-index")).toBe("7");
  });

  it("follows the timeline and prefetches the next checkpoints' answers and crops", async () => {
    const { element, store, fetch, ctx } = await panel({ step: 0 });
    expect(element.getAttribute("data-step")).toBe("0");
    const plan = ctx.prefetcher.plan(FAKE_RUN.checkpoints, 0, 1).map((item) => `${item.kind} ${item.url}`);
    expect(plan).toEqual([
      `json top_images?run=${RUN}&layer=conv1&unit=1&step=2`,
      `image top_images_sprite?run=${RUN}&layer=conv1&unit=1&step=2`,
      // conv1's feature visualization rendered at step 2 (test/panels/unit_panel_feature_vis.test.ts)
      `json feature_vis_layout?run=${RUN}&layer=conv1&step=2`,
      `image feature_vis_sprite?run=${RUN}&layer=conv1&step=2`,
    ]);
    store.set({ step: 2 });
    await settle();
    expect(fetched(fetch)).toContain(`top_images?run=${RUN}&layer=conv1&unit=1&step=2`);
    expect(element.getAttribute("data-step")).toBe("2");
    expect(allByTestId(element, "unit-crop")[0].getAttribute("data-index")).toBe("3");
    // the history is asked for once per layer, not per checkpoint
    expect(fetched(fetch).filter((url) => url.startsWith("units_history"))).toEqual([
      `units_history?run=${RUN}&layer=conv1`,
    ]);
  });

  it("draws the unit's stability and selectivity over the checkpoints, the selected one marked", async () => {
    const { element, store } = await panel();
    const stability = byTestId(element, "unit-stability");
    expect(stability.querySelectorAll("path.dv-line")).toHaveLength(1);
    expect(stability.querySelector("path.dv-line")?.getAttribute("data-unit")).toBe("1");
    expect(stability.querySelector("line.dv-rule")).not.toBeNull();
    expect(byTestId(element, "unit-selectivity-history").querySelectorAll("path.dv-line")).toHaveLength(1);
    // unit 1's top images never settle in the fake log
    expect(facts(element)["top-image stability"]).toBe("0.1 (overlap with step 4)");
    store.set({ unit: 2 });
    await settle();
    expect(facts(element)["top-image stability"]).toBe("1 (overlap with step 4)");
  });

  it("marks a dead unit", async () => {
    const { element } = await panel({ unit: DEAD_UNIT });
    expect(facts(element).dead).toBe("yes: never positive on an eval image");
    expect(byTestId(element, "unit-facts").getAttribute("data-dead")).toBe("true");
    expect(byTestId(element, "unit-class-means").textContent).toContain("A dead unit");
    expect(byTestId(element, "unit-status").textContent).toContain("dead");
  });

  it("says why there is nothing to show", async () => {
    const { element, store } = await panel({ unit: 12 });
    expect(byTestId(element, "unit-status").getAttribute("data-state")).toBe("error");
    expect(byTestId(element, "unit-status").textContent).toBe(
      "Could not load unit 12 of conv1: unit 12 is out of range 0..7",
    );
    store.set({ layer: "bn1", unit: 1 });
    await settle();
    expect(byTestId(element, "unit-status").textContent).toBe(
      "Layer bn1 has no unit records; layers with them: conv1, fc.",
    );
    expect(allByTestId(element, "unit-crop")).toHaveLength(0);
    store.set({ layer: "conv1", step: 3 });
    await settle();
    expect(byTestId(element, "unit-status").textContent).toBe("No unit summary was logged at step 3.");
  });

  it("still shows the unit's facts when its crops do not load", async () => {
    const run = runSummary({ ...FAKE_RUN, run: "missing crops" });
    const { element } = await panel({ runs: [run], run: run.run });
    expect(byTestId(element, "unit-status").getAttribute("data-state")).toBe("error");
    expect(byTestId(element, "unit-status").textContent).toContain("Could not load the top images' crops");
    expect(allByTestId(element, "unit-crop").every((crop) => crop.classList.contains("dv-thumb-missing"))).toBe(true);
    expect(facts(element)["top class"]).toBe(NAMES[1]);
    expect(byTestId(element, "unit-class-means").querySelectorAll(".dv-bar-row")).toHaveLength(4);
  });

  it("hides while no unit is selected when asked to, and closes", async () => {
    const { element, store } = await panel({}, { hideWhenNone: true });
    expect(element.hidden).toBe(false);
    byTestId(element, "unit-panel-close").click();
    expect(store.get().unit).toBeNull();
    await settle();
    expect(element.hidden).toBe(true);
    const shown = await panel({ unit: null }, { hint: "Click a row." });
    expect(shown.element.hidden).toBe(false);
    expect(byTestId(shown.element, "unit-status").textContent).toBe("Click a row.");
  });

  it("plans nothing while hidden", async () => {
    const { ctx, unitPanel } = await panel();
    unitPanel.setActive(false);
    expect(ctx.prefetcher.plan(FAKE_RUN.checkpoints, 0, 2)).toEqual([]);
  });
});
