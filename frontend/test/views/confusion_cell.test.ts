// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { applyHash } from "../../src/core/hash";
import type { State } from "../../src/core/state";
import { ConfusionView } from "../../src/views/confusion/view";
import { allByTestId, byTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, NAMES, SECOND_RUN } from "../fake_server";

async function confusion(state: Partial<State> = {}) {
  const { ctx, store } = testContext({ view: "confusion", runs: [FAKE_RUN, SECOND_RUN], ...state });
  const root = place();
  const view = new ConfusionView(ctx, root);
  view.setActive(true);
  await settle();
  const pinned = () =>
    allByTestId(root, "confusion-cell")
      .filter((cell) => cell.classList.contains("dv-cell-pinned"))
      .map((cell) => `${cell.getAttribute("data-true")},${cell.getAttribute("data-pred")}`);
  const cell = (t: number, p: number) =>
    root.querySelector<HTMLElement>(
      `[data-testid="confusion-cell"][data-true="${t}"][data-pred="${p}"]`,
    ) as HTMLElement;
  return { store, root, view, pinned, cell, examples: byTestId(root, "confusion-examples") };
}

describe("Confusion view: the pinned cell is the state's `cell`", () => {
  it("pins the cell a link names and shows its images", async () => {
    const { pinned, examples } = await confusion({ cell: [3, 2] });
    expect(pinned()).toEqual(["3,2"]);
    expect(examples.textContent).toContain(`true ${NAMES[3]} → predicted ${NAMES[2]}: 3 images`);
    expect(examples.textContent).toContain("unpin");
    expect(examples.querySelector("b, img")).toBeNull();
  });

  it("follows a link opened while it is shown, and a click writes the cell back", async () => {
    const { store, pinned, cell, examples } = await confusion({ step: 2 });
    expect(pinned()).toEqual([]);
    applyHash(store, `#run=${encodeURIComponent(FAKE_RUN.run)}&view=confusion&step=6&cell=0%2C0`);
    await settle();
    expect(store.get().step).toBe(6);
    expect(pinned()).toEqual(["0,0"]);
    expect(allByTestId(examples, "confusion-example").map((e) => e.getAttribute("data-index"))).toEqual(["0", "4"]);
    cell(1, 0).click();
    expect(store.get().cell).toEqual([1, 0]);
    await settle();
    expect(pinned()).toEqual(["1,0"]);
    cell(1, 0).click(); // again: unpin
    expect(store.get().cell).toBeNull();
    expect(pinned()).toEqual([]);
  });

  it("unpins for another run, unless the same link names the run and the cell", async () => {
    const { store, pinned } = await confusion({ cell: [1, 2] });
    store.set({ run: SECOND_RUN.run });
    expect(store.get().cell).toBeNull();
    applyHash(store, `#run=${encodeURIComponent(FAKE_RUN.run)}&view=confusion&cell=2%2C3`);
    expect(store.get().cell).toEqual([2, 3]);
    await settle();
    expect(pinned()).toEqual(["2,3"]);
  });

  it("picks the pinned cell up when it is shown again", async () => {
    const { store, view, pinned } = await confusion();
    view.setActive(false);
    store.set({ cell: [2, 2] });
    view.setActive(true);
    await settle();
    expect(pinned()).toEqual(["2,2"]);
  });
});
