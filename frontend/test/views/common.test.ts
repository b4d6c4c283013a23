// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { h } from "../../src/ui/dom";
import { TabView } from "../../src/views/common";
import { settle, testContext } from "../context";

class Probe extends TabView {
  loads = 0;
  release: (() => void) | null = null;
  constructor(...args: ConstructorParameters<typeof TabView>) {
    super(...args);
    this.watchFrame(["step"], () => {
      this.loads += 1;
      return new Promise<void>((resolve) => {
        this.release = resolve;
      });
    });
  }
  protected refresh(): void {}
}

describe("TabView", () => {
  it("shows its tab panel only while active", () => {
    const { ctx } = testContext();
    const root = h("section");
    root.hidden = true;
    const view = new Probe(ctx, root);
    view.setActive(true);
    expect(root.hidden).toBe(false);
    view.setActive(false);
    expect(root.hidden).toBe(true);
  });

  it("makes playback wait for what it loads on a new frame, only while active", async () => {
    const { ctx, store } = testContext();
    const view = new Probe(ctx, h("section"));
    store.set({ step: 2 });
    expect(view.loads).toBe(0);
    view.setActive(true);
    ctx.gate.begin();
    store.set({ step: 4 });
    expect(view.loads).toBe(1);
    let settled = false;
    void ctx.gate
      .settled(5000, () => new Promise(() => undefined))
      .then(() => {
        settled = true;
      });
    await settle();
    expect(settled).toBe(false);
    view.release?.();
    await settle();
    expect(settled).toBe(true);
  });
});
