// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { sortUnits } from "../../src/lib/units";
import { UnitsView } from "../../src/views/units/view";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { DEAD_UNIT, FAKE_RUN, fakeClassMeans, fakeSelectivity, NAMES } from "../fake_server";

const RUN = encodeURIComponent(FAKE_RUN.run);

async function unitsView(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ view: "units", ...state });
  const root = place();
  const view = new UnitsView(ctx, root);
  view.setActive(true);
  await settle();
  const rowUnits = () =>
    [...root.querySelectorAll<HTMLElement>('[data-testid="units-matrix"] .dv-matrix-row')].map((row) =>
      Number(row.getAttribute("data-unit")),
    );
  return { ctx, store, fetch, root, view, rowUnits, status: byTestId(root, "status") };
}

/** The fake log's units of conv1 at `step`, as the route lists them. */
function fakeUnits(step: number) {
  return Array.from({ length: 8 }, (_, unit) => {
    const [selectivity, top_class] = fakeSelectivity(fakeClassMeans("conv1", unit, step));
    return { unit, max: 1, mean: 1, selectivity, top_class, dead: unit === DEAD_UNIT };
  });
}

describe("UnitsView", () => {
  it("draws the unit x class matrix of the layer, class names as text, dead units marked", async () => {
    const { root, status, rowUnits, fetch } = await unitsView();
    expect(fetched(fetch)).toContain(`units?run=${RUN}&layer=conv1&step=6`);
    expect(status.getAttribute("data-state")).toBe("ready");
    expect(status.textContent).toBe("conv1 · 8 units · 4 classes · step 6 · 1 dead · sorted by unit index");
    expect(allByTestId(root, "units-cell")).toHaveLength(32);
    expect(rowUnits()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const matrix = byTestId(root, "units-matrix");
    expect(matrix.textContent).toContain(NAMES[1]);
    expect(matrix.querySelector("img, b")).toBeNull();
    const dead = matrix.querySelector<HTMLElement>(`.dv-matrix-row[data-unit="${DEAD_UNIT}"]`);
    expect(dead?.classList.contains("dv-unit-dead-row")).toBe(true);
    expect(dead?.textContent).toBe(`${DEAD_UNIT} ✕ dead`);
    const deadCells = matrix.querySelectorAll(`[data-testid="units-cell"][data-unit="${DEAD_UNIT}"]`);
    expect([...deadCells].every((cell) => cell.classList.contains("dv-cell-dead"))).toBe(true);
    // each unit's top class is outlined, and is its darkest cell
    const top = matrix.querySelectorAll('[data-testid="units-cell"][data-unit="1"].dv-cell-top');
    expect([...top].map((cell) => cell.getAttribute("data-class"))).toEqual(["1"]);
  });

  it("sorts the rows by selectivity and by top class", async () => {
    const { root, store, rowUnits } = await unitsView();
    const sort = byTestId(root, "units-sort") as HTMLSelectElement;
    sort.value = "selectivity";
    sort.dispatchEvent(new Event("change"));
    expect(store.get().unitsSort).toBe("selectivity");
    expect(rowUnits()).toEqual(sortUnits(fakeUnits(6), "selectivity"));
    expect(rowUnits()[rowUnits().length - 1]).toBe(DEAD_UNIT);
    const selectivities = rowUnits()
      .slice(0, -1)
      .map((unit) => fakeUnits(6)[unit].selectivity);
    expect(selectivities).toEqual([...selectivities].sort((a, b) => b - a));
    store.set({ unitsSort: "class" });
    expect(sort.value).toBe("class");
    expect(rowUnits()).toEqual(sortUnits(fakeUnits(6), "class"));
    const classes = rowUnits()
      .slice(0, -1)
      .map((unit) => fakeUnits(6)[unit].top_class);
    expect(classes).toEqual([...classes].sort((a, b) => a - b));
  });

  it("opens the unit panel for a clicked row and marks the row", async () => {
    const { root, store } = await unitsView({ unitsSort: "selectivity" });
    const panel = byTestId(root, "unit-panel");
    expect(byTestId(panel, "unit-status").textContent).toBe(
      "Click a unit's row in the matrix to see what it responds to.",
    );
    const row = 2;
    const cell = root.querySelector<HTMLElement>(`[data-testid="units-cell"][data-row="${row}"][data-class="0"]`);
    const unit = Number(cell?.getAttribute("data-unit"));
    cell?.click();
    expect(store.get().unit).toBe(unit);
    await settle();
    expect(panel.getAttribute("data-unit")).toBe(String(unit));
    expect(allByTestId(panel, "unit-crop")).toHaveLength(9);
    const marked = [...root.querySelectorAll('[data-testid="units-cell"].dv-cell-selected')];
    expect(marked).toHaveLength(4);
    expect(marked.every((c) => c.getAttribute("data-unit") === String(unit))).toBe(true);
  });

  it("shows the layer's selectivity histogram and its median selectivity over checkpoints", async () => {
    const { root } = await unitsView();
    const bars = [...byTestId(root, "units-histogram").querySelectorAll(".dv-bar-row")];
    expect(bars).toHaveLength(10);
    expect(bars.reduce((sum, bar) => sum + Number(bar.getAttribute("data-count")), 0)).toBe(8);
    expect(bars[0].textContent).toContain("0.0–0.1");
    const chart = byTestId(root, "units-history");
    expect(chart.querySelectorAll("path.dv-line")).toHaveLength(2);
    expect(chart.querySelector("line.dv-rule")).not.toBeNull();
  });

  it("states the caveats in plain words", async () => {
    const { root } = await unitsView();
    const caveats = byTestId(root, "units-caveats").textContent ?? "";
    expect(caveats).toContain("High selectivity does not mean the unit matters for the decision");
    expect(caveats).toContain("Class means are of the rectified output");
    expect(caveats).toContain("pre-activation");
  });

  it("follows the timeline and prefetches the next checkpoints' units", async () => {
    const { store, fetch, ctx, status } = await unitsView({ step: 0 });
    expect(ctx.prefetcher.plan(FAKE_RUN.checkpoints, 0, 1).map((item) => item.url)).toContain(
      `units?run=${RUN}&layer=conv1&step=2`,
    );
    store.set({ step: 2 });
    await settle();
    expect(fetched(fetch)).toContain(`units?run=${RUN}&layer=conv1&step=2`);
    expect(status.textContent).toContain("step 2");
  });

  it("lists the layers with unit records and says when the selected one has none", async () => {
    const { root, store, status } = await unitsView();
    const layers = byTestId(root, "units-layer") as HTMLSelectElement;
    expect([...layers.options].map((option) => option.value)).toEqual(["conv1", "fc"]);
    store.set({ layer: "bn1" });
    await settle();
    expect(status.textContent).toBe("Layer bn1 has no unit records; choose one of: conv1, fc.");
    expect(allByTestId(root, "units-cell")).toHaveLength(0);
    layers.value = "fc";
    layers.dispatchEvent(new Event("change"));
    await settle();
    expect(store.get().layer).toBe("fc");
    expect(allByTestId(root, "units-cell")).toHaveLength(16);
  });
});
