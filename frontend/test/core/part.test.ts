import { describe, expect, it } from "vitest";
import { Part } from "../../src/core/part";
import { Store } from "../../src/core/store";

class Counter extends Part {
  refreshes = 0;
  steps = 0;
  changes: boolean[] = [];
  constructor(store: Store) {
    super(store);
    this.watch(["run"]);
    this.watch(["step"], () => {
      this.steps += 1;
    });
  }
  protected refresh(): void {
    this.refreshes += 1;
  }
  protected override activeChanged(active: boolean): void {
    this.changes.push(active);
  }
}

describe("Part", () => {
  it("draws only while shown, and catches up when shown again", () => {
    const store = new Store();
    const part = new Counter(store);
    store.set({ run: "a", step: 1 });
    expect([part.refreshes, part.steps]).toEqual([0, 0]);
    part.setActive(true);
    expect(part.active).toBe(true);
    expect(part.refreshes).toBe(1);
    store.set({ run: "b" });
    store.set({ step: 2 });
    expect([part.refreshes, part.steps]).toEqual([2, 1]);
    part.setActive(true); // already shown: no redraw
    expect(part.refreshes).toBe(2);
    part.setActive(false);
    store.set({ run: "c", step: 3 });
    expect([part.refreshes, part.steps]).toEqual([2, 1]);
    expect(part.changes).toEqual([true, true, false]);
  });
});
