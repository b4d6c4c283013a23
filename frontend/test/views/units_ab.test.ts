// @vitest-environment happy-dom
// The Units view's A/B mode: B's matrix beside A's, B's units on the rows of the A units they were
// matched to (never by index), B's unmatched units after, a selectivity column on one 0..1 scale.
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { alignByMatching } from "../../src/views/units/ab";
import { UnitsView } from "../../src/views/units/view";
import { allByTestId, byTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, HttpError, SECOND_RUN } from "../fake_server";

const units = (count: number) => Array.from({ length: count }, (_, unit) => ({ unit }));

/** B learned A's units 0, 1, 2 at its indices 3, 4, 5. */
const MATCH = {
  layer: "conv1",
  step: 6,
  step_b: 6,
  basis: "activations" as const,
  pairs: [
    { a: 0, b: 3, similarity: 0.9 },
    { a: 1, b: 4, similarity: 0.8 },
    { a: 2, b: 5, similarity: 0.7 },
  ],
  unmatched_a: [3, 4, 5, 6, 7],
  unmatched_b: [0, 1, 2, 6, 7],
};

function answer(url: string): unknown {
  if (url.startsWith("filter_match"))
    return url.includes("layer=fc") ? new HttpError(400, "no activations of the same probe images") : MATCH;
  return fakeServer(url);
}

async function unitsView(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ view: "units", runs: [FAKE_RUN, SECOND_RUN], ...state }, answer);
  const root = place();
  const view = new UnitsView(ctx, root);
  view.setActive(true);
  await settle(60);
  const rowUnits = (testid: string) =>
    [...root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"] .dv-matrix-row`)].map((row) =>
      row.getAttribute("data-unit"),
    );
  return { ctx, store, fetch, root, view, rowUnits };
}

describe("alignByMatching", () => {
  it("puts each B unit on the row of the A unit it matches, in A's order, then B's leftovers", () => {
    const rows = alignByMatching([2, 0, 1, 3], units(4), units(4), {
      pairs: [
        { a: 0, b: 3, similarity: 0.9 },
        { a: 2, b: 0, similarity: 0.5 },
      ],
      unmatched_b: [2, 1],
    });
    expect(rows).toEqual([
      { a: 2, b: 0, similarity: 0.5 },
      { a: 0, b: 3, similarity: 0.9 },
      { a: 1, b: null, similarity: null },
      { a: 3, b: null, similarity: null },
      { a: null, b: 2, similarity: null },
      { a: null, b: 1, similarity: null },
    ]);
  });

  it("matches by unit number, not by position, and shows every B unit once", () => {
    const a = [{ unit: 10 }, { unit: 11 }];
    const b = [{ unit: 7 }, { unit: 5 }, { unit: 6 }];
    const rows = alignByMatching([0, 1], a, b, { pairs: [{ a: 11, b: 5, similarity: 0.7 }], unmatched_b: [7] });
    expect(rows).toEqual([
      { a: 0, b: null, similarity: null },
      { a: 1, b: 1, similarity: 0.7 },
      { a: null, b: 0, similarity: null },
      { a: null, b: 2, similarity: null }, // left out of unmatched_b: still shown
    ]);
  });
});

describe("UnitsView: A/B mode", () => {
  it("shows only A while A/B is off", async () => {
    const { root } = await unitsView();
    expect(byTestId(root, "units-b").hidden).toBe(true);
    expect(allByTestId(root, "units-cell-b")).toEqual([]);
    expect(allByTestId(root, "units-cell")).toHaveLength(32); // no selectivity column
  });

  it("aligns B's matrix by the matching, with a selectivity column on one scale", async () => {
    const { root, rowUnits } = await unitsView({ runB: SECOND_RUN.run });
    expect(byTestId(root, "units-b").hidden).toBe(false);
    expect(rowUnits("units-matrix")).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "", "", "", "", ""]);
    expect(rowUnits("units-matrix-b")).toEqual(["3", "4", "5", "", "", "", "", "", "0", "1", "2", "6", "7"]);
    const headings = [...root.querySelectorAll('[data-testid="units-matrix-b"] .dv-matrix-row')];
    expect(headings[0].textContent).toContain("match 0.9");
    expect(headings[8].textContent).toContain("only in B");
    // 13 rows x (4 classes + selectivity)
    expect(allByTestId(root, "units-cell-b")).toHaveLength(65);
    const selectivity = (testid: string, unit: number) =>
      root.querySelector<HTMLElement>(`[data-testid="${testid}"][data-unit="${unit}"][data-selectivity]`);
    // one scale: the same selectivity is the same colour on both sides (the fake log gives unit u the same numbers in both runs)
    const a1 = selectivity("units-cell", 1);
    const b1 = selectivity("units-cell-b", 1);
    expect(a1?.dataset.selectivity).toBe(b1?.dataset.selectivity);
    expect(a1?.style.background).toBe(b1?.style.background);
    expect(byTestId(root, "units-status-b").textContent).toContain("3 units matched to A's, 5 only in B");
    // the matched units panel lists the same pairs, most similar first
    expect(allByTestId(root, "match-pair-units").map((row) => [row.dataset.a, row.dataset.b])).toEqual([
      ["0", "3"],
      ["1", "4"],
      ["2", "5"],
    ]);
  });

  it("a click on a row selects A's unit and the B unit matched to it", async () => {
    const { root, store } = await unitsView({ runB: SECOND_RUN.run });
    const cellB = root.querySelector<HTMLElement>('[data-testid="units-cell-b"][data-row="1"][data-class="0"]');
    cellB?.click();
    expect([store.get().unit, store.get().unitB]).toEqual([1, 4]);
    const selected = root.querySelector('[data-testid="units-matrix-b"] .dv-matrix-row.dv-cell-selected');
    expect(selected?.getAttribute("data-unit")).toBe("4");
    await settle(60);
    // Both units have their panel: A's unit 1, and B's unit 4 (of B's run).
    expect(byTestId(root, "unit-title").textContent).toBe("Unit 1 of conv1");
    expect(byTestId(root, "unit-title-b").textContent).toBe("Unit 4 of conv1");
    // A/B off: B's panel goes, A's stays.
    store.set({ runB: null });
    await settle(40);
    expect(byTestId(root, "unit-panel-b").hidden).toBe(true);
    expect(byTestId(root, "unit-title").textContent).toBe("Unit 1 of conv1");
  });

  it("says when B's units cannot be matched, and keeps B's own order", async () => {
    const { root, rowUnits } = await unitsView({ runB: SECOND_RUN.run, layer: "fc" });
    expect(byTestId(root, "units-status-b").textContent).toContain("could not be matched");
    expect(rowUnits("units-matrix-b")).toEqual(["0", "1", "2", "3"]);
  });
});
