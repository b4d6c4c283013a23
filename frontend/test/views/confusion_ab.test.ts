// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { confusionDiffUrl } from "../../src/api/urls";
import { applyHash } from "../../src/core/hash";
import type { State } from "../../src/core/state";
import { ConfusionView } from "../../src/views/confusion/view";
import { allByTestId, byTestId, place, settle, testContext } from "../context";
import { FAKE_RUN, FLIPS, NAMES, OTHER_EVAL_RUN, SECOND_RUN } from "../fake_server";

async function confusion(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ view: "confusion", runs: [FAKE_RUN, SECOND_RUN], ...state });
  const root = place();
  const view = new ConfusionView(ctx, root);
  view.setActive(true);
  await settle();
  const diffCalls = () =>
    fetch.mock.calls.map(([url]) => String(url)).filter((url) => url.startsWith("confusion_diff"));
  const lastDiff = () => diffCalls()[diffCalls().length - 1];
  return { ctx, store, root, view, diffCalls, lastDiff };
}

const texts = (cells: HTMLElement[]) => cells.map((cell) => cell.textContent);

describe("Confusion view: A/B mode", () => {
  it("is off by default: no B matrix, no difference", async () => {
    const { root, diffCalls } = await confusion();
    expect((byTestId(root, "confusion-ab-toggle") as HTMLInputElement).checked).toBe(false);
    expect(byTestId(root, "confusion-ab").hidden).toBe(true);
    expect(allByTestId(root, "confusion-cell-b")).toEqual([]);
    expect(diffCalls()).toEqual([]);
  });

  it("turns on with A's run at the previous checkpoint, and off again", async () => {
    const { root, store, diffCalls } = await confusion();
    const toggle = byTestId(root, "confusion-ab-toggle") as HTMLInputElement;
    toggle.checked = true;
    toggle.dispatchEvent(new Event("change"));
    expect(store.get().runB).toBe(FAKE_RUN.run);
    expect(store.get().stepB).toBe(4);
    await settle();
    expect(diffCalls().length).toBe(1);
    const url = new URLSearchParams(diffCalls()[0].split("?")[1]);
    expect([url.get("run"), url.get("step"), url.get("run_b"), url.get("step_b")]).toEqual([
      FAKE_RUN.run,
      "6",
      FAKE_RUN.run,
      "4",
    ]);
    expect(allByTestId(root, "confusion-cell-b").length).toBe(16);
    toggle.checked = false;
    toggle.dispatchEvent(new Event("change"));
    expect(store.get().runB).toBeNull();
    expect(store.get().stepB).toBeNull();
    await settle();
    expect(byTestId(root, "confusion-ab").hidden).toBe(true);
  });

  it("draws A and B side by side on one scale, B minus A and both accuracies", async () => {
    const { root } = await confusion({ runB: SECOND_RUN.run });
    expect(texts(allByTestId(root, "confusion-cell"))).toEqual([
      "10",
      "2",
      "0",
      "0",
      "1",
      "11",
      "0",
      "0",
      "0",
      "0",
      "12",
      "0",
      "0",
      "0",
      "3",
      "9",
    ]);
    const b = allByTestId(root, "confusion-cell-b");
    expect(texts(b).slice(8, 12)).toEqual(["0", "0", "10", "2"]);
    // one colour scale: the same count is the same colour in A and B
    const cellA = (t: number, p: number) => allByTestId(root, "confusion-cell")[t * 4 + p];
    expect(b[15].style.background).toBe(cellA(3, 3).style.background);
    expect(b[0].style.background).not.toBe(cellA(0, 0).style.background);
    const diff = allByTestId(root, "confusion-diff-cell");
    expect(texts(diff)).toEqual(["+1", "-1", "0", "0", "0", "0", "0", "0", "0", "0", "-2", "+2", "0", "0", "0", "0"]);
    expect(diff[0].style.background).not.toBe(diff[10].style.background); // better and worse differ in hue
    expect(byTestId(root, "confusion-ab-accuracy").textContent).toBe("accuracy A 87.5% · B 85.4% (-2.1 points)");
    expect(byTestId(root, "confusion-ab-status").textContent).toContain(`B: ${SECOND_RUN.run} at step 6`);
    expect(root.querySelector("b, img")).toBeNull(); // class names stay text
    expect(byTestId(root, "confusion-b").textContent).toContain(NAMES[0]);
  });

  it("shows row shares of the difference when rows are normalized", async () => {
    const { root } = await confusion({ runB: SECOND_RUN.run, rowNormalize: true });
    const diff = texts(allByTestId(root, "confusion-diff-cell"));
    expect(diff.slice(0, 2)).toEqual(["+0.08", "-0.08"]);
    expect(diff.slice(10, 12)).toEqual(["-0.17", "+0.17"]);
    expect(texts(allByTestId(root, "confusion-cell-b")).slice(10, 12)).toEqual(["0.83", "0.17"]);
  });

  it("lists the flipped images; a click selects the image", async () => {
    const { root, store } = await confusion({ runB: SECOND_RUN.run });
    const worse = byTestId(root, "flips-right-to-wrong");
    const better = byTestId(root, "flips-wrong-to-right");
    expect(worse.textContent).toContain("right in A, wrong in B: 2 images");
    expect(better.textContent).toContain("wrong in A, right in B: 1 image");
    const indices = (list: HTMLElement) =>
      allByTestId(list, "flip-image").map((e) => Number(e.getAttribute("data-index")));
    expect(indices(worse)).toEqual(FLIPS.right_to_wrong);
    expect(indices(better)).toEqual(FLIPS.wrong_to_right);
    allByTestId(worse, "flip-image")[1].click();
    expect(store.get().image).toBe(9);
  });

  it("moves B with A's step by default; a fixed B step stays, and the picker sets run and step", async () => {
    const { root, store, lastDiff } = await confusion({ runB: SECOND_RUN.run });
    const same = byTestId(root, "ab-same-step") as HTMLInputElement;
    const stepSelect = byTestId(root, "ab-step") as HTMLSelectElement;
    expect(same.checked).toBe(true);
    expect(stepSelect.disabled).toBe(true);
    store.set({ step: 2 });
    await settle();
    expect(lastDiff()).toContain("step_b=2");
    same.checked = false;
    same.dispatchEvent(new Event("change"));
    expect(store.get().stepB).toBe(2);
    store.set({ step: 4 });
    await settle();
    expect(lastDiff()).toContain("step=4");
    expect(lastDiff()).toContain("step_b=2");
    stepSelect.value = "0";
    stepSelect.dispatchEvent(new Event("change"));
    expect(store.get().stepB).toBe(0);
    const runSelect = byTestId(root, "ab-run") as HTMLSelectElement;
    runSelect.value = FAKE_RUN.run;
    runSelect.dispatchEvent(new Event("change"));
    expect(store.get().runB).toBe(FAKE_RUN.run);
    await settle();
    expect(lastDiff()).toContain("step_b=0");
  });

  it("prefetches B minus A at the next checkpoints while B follows A", async () => {
    const { ctx, store } = await confusion({ runB: SECOND_RUN.run });
    const [, next] = FAKE_RUN.checkpoints;
    const plan = () => ctx.prefetcher.plan(FAKE_RUN.checkpoints, 0, 1).map((item) => item.url);
    expect(plan()).toContain(confusionDiffUrl(FAKE_RUN.run, next, SECOND_RUN.run, next));
    store.set({ stepB: 0 });
    expect(plan()).toContain(confusionDiffUrl(FAKE_RUN.run, next, SECOND_RUN.run, 0));
  });

  it("follows a link with runb and stepb", async () => {
    const { root, store } = await confusion();
    applyHash(store, `#run=${encodeURIComponent(FAKE_RUN.run)}&view=confusion&step=6&runb=second&stepb=2`);
    await settle();
    expect(store.get().runB).toBe("second");
    expect(store.get().stepB).toBe(2);
    expect(byTestId(root, "confusion-ab").hidden).toBe(false);
    expect(allByTestId(root, "confusion-diff-cell").length).toBe(16);
  });

  it("shows runs over different eval sets as status text, not a crash", async () => {
    const other = { ...SECOND_RUN, run: OTHER_EVAL_RUN };
    const { root } = await confusion({ runs: [FAKE_RUN, SECOND_RUN, other], runB: OTHER_EVAL_RUN });
    const status = byTestId(root, "confusion-ab-status");
    expect(status.getAttribute("data-state")).toBe("error");
    expect(status.textContent).toContain("different eval sets");
    expect(allByTestId(root, "confusion-diff-cell")).toEqual([]);
    expect(allByTestId(root, "confusion-cell").length).toBe(16); // A still shown
  });
});
