// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { ConfusionDiffResponse } from "../../src/api/types";
import type { State } from "../../src/core/state";
import { bothPredictions, cellReadout } from "../../src/views/confusion/ab_cells";
import { ConfusionView } from "../../src/views/confusion/view";
import { allByTestId, byTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, NAMES, SECOND_RUN } from "../fake_server";

const DIFF: ConfusionDiffResponse = {
  run: "a",
  step: 2,
  run_b: "b",
  step_b: 4,
  counts_a: [
    [3, 1],
    [0, 4],
  ],
  counts_b: [
    [2, 2],
    [1, 3],
  ],
  diff: [
    [-1, 1],
    [1, -1],
  ],
  row_shares_diff: [
    [-0.25, 0.25],
    [0.25, -0.25],
  ],
  accuracy_a: 7 / 8,
  accuracy_b: 5 / 8,
  flips: { right_to_wrong: [1, 6], wrong_to_right: [] },
};

describe("confusion A/B cells (pure)", () => {
  it("reads out A's and B's counts and the difference, with row shares when rows are normalized", () => {
    expect(cellReadout(DIFF, 0, 1, false, ["cat", "dog"])).toBe("true cat → predicted dog: A 1 · B 2 · B minus A +1");
    expect(cellReadout(DIFF, 1, 1, true, ["cat", "dog"])).toBe(
      "true dog → predicted dog: A 4 · B 3 · B minus A -1 (row shares A 1.00 · B 0.75 · -0.25)",
    );
  });
  it("names both predictions and which was right", () => {
    expect(bothPredictions(0, 0, 1, ["cat", "dog"])).toBe("A predicted cat (right) · B predicted dog (wrong)");
  });
});

// B (the second run) at every checkpoint: images 6 and 14 of class 2 predicted 3 (A predicted 2).
function answer(url: string): unknown {
  const [route, query = ""] = url.split("?");
  const params = new URLSearchParams(query);
  const base = fakeServer(url) as Record<string, unknown>;
  if (params.get("run") !== SECOND_RUN.run) return base;
  if (route === "confusion") {
    const images = NAMES.map((_, t) => NAMES.map((__, p) => (t === p ? [t, t + 4] : [])));
    images[2][3] = [6, 14];
    return { ...base, cell_images: images };
  }
  if (route === "predictions" && !params.get("image")) {
    const predicted = [...(base.predicted as number[])];
    predicted[6] = 3;
    predicted[14] = 3;
    return { ...base, predicted };
  }
  return base;
}

async function confusion(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext(
    { view: "confusion", runs: [FAKE_RUN, SECOND_RUN], runB: SECOND_RUN.run, ...state },
    answer,
  );
  const root = place();
  const view = new ConfusionView(ctx, root);
  view.setActive(true);
  await settle();
  return { ctx, store, fetch, root, view };
}

const over = (element: HTMLElement) => element.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
const cellOf = (root: HTMLElement, testid: string, t: number, p: number) =>
  allByTestId(root, testid).find(
    (cell) => cell.getAttribute("data-true") === String(t) && cell.getAttribute("data-pred") === String(p),
  ) as HTMLElement;

describe("Confusion view: B's cells", () => {
  it("reads out both counts and the difference on hover over B's cells and the difference's", async () => {
    const { root } = await confusion();
    const readout = byTestId(root, "confusion-ab-readout");
    over(cellOf(root, "confusion-cell-b", 2, 3));
    expect(readout.textContent).toBe(`true ${NAMES[2]} → predicted ${NAMES[3]}: A 0 · B 2 · B minus A +2`);
    over(cellOf(root, "confusion-diff-cell", 0, 0));
    expect(readout.textContent).toBe(`true ${NAMES[0]} → predicted ${NAMES[0]}: A 10 · B 11 · B minus A +1`);
    expect(root.querySelector("b, img")).toBeNull();
  });

  it("pins a B cell (in every matrix), lists B's images with A's predictions, and opens one", async () => {
    const { root, store } = await confusion();
    cellOf(root, "confusion-cell-b", 2, 3).click();
    expect(store.get().cell).toEqual([2, 3]);
    await settle();
    for (const id of ["confusion-cell", "confusion-cell-b", "confusion-diff-cell"])
      expect(cellOf(root, id, 2, 3).classList.contains("dv-cell-pinned"), id).toBe(true);
    const panel = byTestId(root, "confusion-examples-b");
    expect(panel.hidden).toBe(false);
    expect(panel.textContent).toContain(`B: true ${NAMES[2]} → predicted ${NAMES[3]}: 2 images`);
    expect(panel.textContent).toContain("2 of them A predicted otherwise");
    const images = allByTestId(panel, "confusion-example-b");
    expect(images.map((image) => image.getAttribute("data-index"))).toEqual(["6", "14"]);
    expect(images[0].title).toContain(`A predicted ${NAMES[2]} (right) · B predicted ${NAMES[3]} (wrong)`);
    expect([...panel.querySelectorAll(".dv-moved")].map((item) => item.getAttribute("data-predicted-a"))).toEqual([
      "2",
      "2",
    ]);
    images[0].click();
    expect(store.get().image).toBe(6);
    await settle();
    expect(byTestId(root, "confusion-ab-image").textContent).toBe(
      `image #6 (true ${NAMES[2]}): A predicted ${NAMES[2]} (right) · B predicted ${NAMES[3]} (wrong)`,
    );
    // A's panel shows A's images of the same cell
    expect(byTestId(root, "confusion-examples").textContent).toContain(`predicted ${NAMES[3]}`);
    // a second click on the pinned cell (here in B minus A) unpins it
    cellOf(root, "confusion-diff-cell", 2, 3).click();
    expect(store.get().cell).toBeNull();
    await settle();
    expect(panel.hidden).toBe(true);
  });

  it("asks for no predictions until a cell is pinned or an image selected", async () => {
    const { fetch } = await confusion();
    expect(fetch.mock.calls.map(([url]) => String(url)).filter((url) => url.startsWith("predictions"))).toEqual([]);
  });
});
