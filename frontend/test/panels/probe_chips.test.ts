// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { ProbeChips } from "../../src/panels/probe_chips";
import { byTestId, place, settle, testContext } from "../context";

describe("ProbeChips", () => {
  it("shows a chip per probe image; a click selects it and marks it", async () => {
    const { ctx, store, fetch } = testContext();
    const container = place();
    const chips = new ProbeChips(container, ctx);
    chips.setActive(true);
    await settle();
    const buttons = () => [...byTestId(container, "probe-images").querySelectorAll("button")];
    expect(buttons().map((b) => b.getAttribute("data-index"))).toEqual(["0", "1", "2", "3"]);
    buttons()[2].click();
    expect(store.get().image).toBe(2);
    expect(buttons().map((b) => b.classList.contains("dv-selected"))).toEqual([false, false, true, false]);
    store.set({ step: 4 }); // the same run: the probe images are not asked for again
    await settle();
    expect(fetch.mock.calls.filter((call) => String(call[0]).startsWith("predictions"))).toHaveLength(1);
  });

  it("shows nothing for a run without predictions", async () => {
    const { ctx, store } = testContext();
    store.set({ runs: [{ ...store.get().runs[0], steps_by_kind: {} }] });
    const container = place();
    new ProbeChips(container, ctx).setActive(true);
    await settle();
    expect(byTestId(container, "probe-images").childElementCount).toBe(0);
  });
});
