// @vitest-environment happy-dom
// Direct Compare's feature visualization cells: checkpoints (the rendered ones) x layers, the film
// laid out, built from the listing's rendered steps (the compare route offers weights and activations).
import { describe, expect, it } from "vitest";
import type { CompareSpec, State } from "../../src/core/state";
import { CompareView } from "../../src/views/compare/view";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, FEATURE_VIS_UNITS } from "../fake_server";

const RUN = encodeURIComponent(FAKE_RUN.run);
const BLANK: CompareSpec = { steps: "", layers: "", filters: "", image: "", content: "" };

async function compareView(compare: Partial<CompareSpec> = {}, state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ view: "compare", compare: { ...BLANK, ...compare }, ...state });
  const root = place();
  const view = new CompareView(ctx, root);
  view.setActive(true);
  await settle();
  const cells = () => allByTestId(root, "compare-cell");
  return { ctx, store, fetch, root, view, cells, grid: byTestId(root, "compare-grid") };
}

describe("CompareView: feature visualization", () => {
  it("lays out the rendered checkpoints x the layers with feature visualizations, without the compare route", async () => {
    const { cells, grid, fetch, root } = await compareView({ content: "feature_vis" });
    expect(grid.getAttribute("data-kind")).toBe("feature_vis");
    expect(cells().map((cell) => cell.getAttribute("src"))).toEqual([
      `feature_vis_sprite?run=${RUN}&layer=conv1&step=2`,
      `feature_vis_sprite?run=${RUN}&layer=conv1&step=6`,
    ]);
    expect(cells().map((cell) => [cell.dataset.step, cell.dataset.layer, cell.dataset.kind])).toEqual([
      ["2", "conv1", "feature_vis"],
      ["6", "conv1", "feature_vis"],
    ]);
    expect(fetched(fetch).some((url) => url.startsWith("compare"))).toBe(false);
    // each cell's layout names its units and render (lines between the units drawn over the sprite)
    expect(cells().map((cell) => [cell.dataset.renderedStep, cell.dataset.units])).toEqual([
      ["2", FEATURE_VIS_UNITS.join(",")],
      ["6", FEATURE_VIS_UNITS.join(",")],
    ]);
    expect(cells()[0].title).toBe("feature visualization of conv1, units 0, 1, 2, 3, 5, 6, rendered at step 2");
    expect((byTestId(root, "compare-content") as HTMLSelectElement).value).toBe("feature_vis");
    expect((byTestId(root, "compare-image") as HTMLInputElement).disabled).toBe(true);
  });

  it("marks the row of the render the selected checkpoint shows", async () => {
    const { grid, store } = await compareView({ content: "feature_vis" }, { step: 4 });
    const current = () => [...grid.querySelectorAll("tbody tr.dv-current")].map((row) => row.getAttribute("data-step"));
    expect(current()).toEqual(["2"]);
    store.set({ step: 6 });
    expect(current()).toEqual(["6"]);
    store.set({ step: 0 });
    expect(current()).toEqual([]);
  });

  it("switches what the cells show with the menu, each with its own defaults", async () => {
    const { root, store, cells, fetch } = await compareView();
    expect(fetched(fetch)).toContain(`compare?run=${RUN}&steps=0%2C2%2C4%2C6&layers=conv1%2Cfc`);
    const menu = byTestId(root, "compare-content") as HTMLSelectElement;
    expect([...menu.options].map((option) => option.value)).toEqual(["weights", "activations", "feature_vis"]);
    menu.value = "feature_vis";
    menu.dispatchEvent(new Event("change"));
    await settle();
    expect(store.get().compare).toEqual({ ...BLANK, steps: "2,6", layers: "conv1", content: "feature_vis" });
    expect(cells().map((cell) => cell.dataset.kind)).toEqual(["feature_vis", "feature_vis"]);
    menu.value = "weights";
    menu.dispatchEvent(new Event("change"));
    await settle();
    expect(store.get().compare).toEqual({ ...BLANK, steps: "0,2,4,6", layers: "conv1:fc" });
  });

  it("opens a clicked cell's checkpoint and layer in the Filters view's feature visualization", async () => {
    const { cells, store } = await compareView({ content: "feature_vis" }, { step: 0 });
    cells()[0].click();
    expect(store.get()).toMatchObject({ step: 2, layer: "conv1", unit: null, filtersShow: "feature_vis" });
  });

  it("keeps links made before the menu: an image means its activations", async () => {
    const { root, fetch } = await compareView({ steps: "0,2", image: "3" });
    expect((byTestId(root, "compare-content") as HTMLSelectElement).value).toBe("activations");
    expect(fetched(fetch).some((url) => url.startsWith("compare?") && url.includes("image=3"))).toBe(true);
  });

  it("explains a feature visualization request the run cannot answer", async () => {
    const { root } = await compareView({ content: "feature_vis", steps: "4" });
    expect(byTestId(root, "status").textContent).toBe("rendered steps 4 not available; available: 2, 6");
  });
});
