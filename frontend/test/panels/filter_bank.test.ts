// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { Side } from "../../src/core/derived";
import { FilterBank } from "../../src/panels/filter_bank";
import { h, Status } from "../../src/ui/dom";
import { byTestId, place, settle, testContext } from "../context";
import { FAKE_RUN } from "../fake_server";
import { runSummary } from "../helpers";

async function bank(state = {}, side?: Side) {
  const { ctx, store, fetch } = testContext(state);
  const container = place();
  const status = new Status();
  const info = h("div");
  const filters = new FilterBank(container, ctx, { status, info, side });
  filters.setActive(true);
  await settle();
  const sprite = byTestId(container, "filters-sprite") as HTMLImageElement;
  return { ctx, store, fetch, container, filters, status, info, sprite };
}

describe("FilterBank", () => {
  it("shows the layer's sprite at the checkpoint, with its colour key, and describes it", async () => {
    const { sprite, status, container, info } = await bank();
    expect(new URL(sprite.src, "http://x/").search).toBe("?run=%3Ci%3Emain%3C%2Fi%3E&layer=conv1&step=6&norm=filter");
    expect(sprite.getAttribute("data-step")).toBe("6");
    expect(sprite.hidden).toBe(false);
    expect(status.state).toBe("ready");
    expect(status.element.textContent).toBe("conv1 · Conv2d · 8 filters of 3×3×3 · step 6 · colour scale per filter");
    expect(container.querySelector(".dv-colour-key")?.textContent).toContain("NaN");
    expect(info.textContent).toBe("8 filters. Point at one to see its values; click to pin it.");
  });

  it("shows the pinned filter's values", async () => {
    const { store, info } = await bank();
    store.set({ filter: 2 });
    await settle();
    const rows = [...info.querySelectorAll("dt")].map(
      (dt) => `${dt.textContent}: ${dt.nextElementSibling?.textContent}`,
    );
    expect(rows).toContain("filter: 2 (pinned)");
    expect(rows).toContain("non-finite: 3 NaN, 0 Inf");
    info.querySelector("button")?.click();
    expect(store.get().filter).toBeNull();
  });

  it("says why there is no sprite", async () => {
    const { store, status, sprite } = await bank();
    store.set({ layer: "bn1" });
    await settle();
    expect(status.element.textContent).toBe("Layer bn1 has no logged weights (it has activations only).");
    expect(sprite.hidden).toBe(true);
    store.set({ layer: "conv1", step: 3 });
    await settle();
    expect(status.element.textContent).toBe("No weights were logged at step 3.");
    store.set({ run: null, runs: [] });
    await settle();
    expect(status.element.textContent).toContain("No run has deepviz data yet");
  });

  it("plans the next checkpoints' sprites while shown, and the frame waits for the sprite", async () => {
    const { ctx, filters, store } = await bank({ step: 0 });
    const plan = () => ctx.prefetcher.plan(FAKE_RUN.checkpoints, 0, 2).map((item) => item.url);
    expect(plan()).toEqual([
      "filters?run=%3Ci%3Emain%3C%2Fi%3E&layer=conv1&step=2&norm=filter",
      "filters?run=%3Ci%3Emain%3C%2Fi%3E&layer=conv1&step=4&norm=filter",
    ]);
    ctx.gate.begin();
    store.set({ step: 2 });
    let settled = false;
    void ctx.gate.settled(5000, () => new Promise(() => undefined)).then(() => (settled = true));
    expect(settled).toBe(false);
    await settle();
    expect(settled).toBe(true);
    filters.setActive(false);
    expect(plan()).toEqual([]);
  });

  it("draws two selections side by side: a second bank with another side and its own test ids", async () => {
    const second = runSummary({ ...FAKE_RUN, run: "second" });
    const { ctx, container, sprite } = await bank({ runs: [FAKE_RUN, second] });
    const sideB: Side = {
      run: (s) => s.runs.find((r) => r.run === "second") ?? null,
      step: () => 2,
      runKeys: ["runs"],
      stepKeys: [],
    };
    const b = new FilterBank(container, ctx, {
      status: new Status("status-b"),
      info: h("div"),
      side: sideB,
      testidSuffix: "-b",
    });
    b.setActive(true);
    await settle();
    const spriteB = byTestId(container, "filters-sprite-b") as HTMLImageElement;
    expect(new URL(spriteB.src, "http://x/").search).toBe("?run=second&layer=conv1&step=2&norm=filter");
    expect(new URL(sprite.src, "http://x/").searchParams.get("run")).toBe("<i>main</i>");
  });
});
