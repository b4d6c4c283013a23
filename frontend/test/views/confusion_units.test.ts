// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { ConfusionView } from "../../src/views/confusion/view";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, NAMES } from "../fake_server";
import { runSummary } from "../helpers";

const RUN = encodeURIComponent(FAKE_RUN.run);

async function confusion(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ view: "confusion", ...state });
  const root = place();
  const view = new ConfusionView(ctx, root);
  view.setActive(true);
  await settle();
  const pin = async (t: number, p: number) => {
    root.querySelector<HTMLElement>(`[data-testid="confusion-cell"][data-true="${t}"][data-pred="${p}"]`)?.click();
    await settle();
  };
  return { ctx, store, fetch, root, view, pin, pairs: byTestId(root, "confusion-pair-units") };
}

describe("Confusion view: units shared by a confused pair of classes", () => {
  it("lists the units active for both classes of a pinned cell off the diagonal", async () => {
    const { pin, pairs, fetch } = await confusion();
    expect(pairs.hidden).toBe(true);
    await pin(0, 1);
    expect(fetched(fetch)).toContain(`class_pair_units?run=${RUN}&step=6&a=0&b=1`);
    expect(pairs.hidden).toBe(false);
    expect(pairs.textContent).toContain(`Units active for both true ${NAMES[0]} and predicted ${NAMES[1]}`);
    expect(pairs.querySelector("b, img")).toBeNull(); // class names as text
    const items = allByTestId(pairs, "pair-unit");
    expect(items.map((item) => `${item.getAttribute("data-layer")}/${item.getAttribute("data-unit")}`)).toEqual([
      "conv1/2",
      "fc/1",
    ]);
    expect(pairs.textContent).toContain("×2.5 its average");
    expect(pairs.textContent).toContain(`${NAMES[1]} NaN`);
  });

  it("opens the unit panel for a listed unit, of its own layer", async () => {
    const { pin, pairs, store, root } = await confusion();
    const panel = byTestId(root, "unit-panel");
    expect(panel.hidden).toBe(true);
    await pin(0, 1);
    allByTestId(pairs, "pair-unit")[1].click();
    expect([store.get().layer, store.get().unit]).toEqual(["fc", 1]);
    await settle();
    expect(panel.hidden).toBe(false);
    expect([panel.getAttribute("data-layer"), panel.getAttribute("data-unit")]).toEqual(["fc", "1"]);
    expect(allByTestId(panel, "unit-crop")).toHaveLength(9);
    expect(pairs.querySelector("li.dv-selected")?.getAttribute("data-layer")).toBe("fc");
    allByTestId(pairs, "pair-unit")[0].click();
    expect([store.get().layer, store.get().unit]).toEqual(["conv1", 2]);
  });

  it("follows the timeline while pinned, and prefetches the next checkpoints' lists", async () => {
    const { pin, store, fetch, ctx } = await confusion({ step: 2 });
    await pin(3, 2);
    expect(ctx.prefetcher.plan(FAKE_RUN.checkpoints, 1, 1).map((item) => item.url)).toContain(
      `class_pair_units?run=${RUN}&step=4&a=3&b=2`,
    );
    store.set({ step: 4 });
    await settle();
    expect(fetched(fetch)).toContain(`class_pair_units?run=${RUN}&step=4&a=3&b=2`);
  });

  it("lists nothing for the diagonal, an unpinned cell, or a run without unit records", async () => {
    const { pin, pairs, fetch } = await confusion();
    await pin(2, 2);
    expect(pairs.hidden).toBe(true);
    await pin(2, 3);
    expect(pairs.hidden).toBe(false);
    await pin(2, 3); // unpin
    expect(pairs.hidden).toBe(true);
    expect(fetched(fetch).filter((url) => url.startsWith("class_pair_units"))).toHaveLength(1);
    const run = runSummary({ ...FAKE_RUN, kinds: FAKE_RUN.kinds.filter((kind) => kind !== "units") });
    const other = await confusion({ runs: [run] });
    await other.pin(0, 1);
    expect(other.pairs.hidden).toBe(true);
  });
});
