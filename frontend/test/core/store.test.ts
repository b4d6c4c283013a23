import { describe, expect, it, vi } from "vitest";
import { initialState } from "../../src/core/state";
import { Store } from "../../src/core/store";

describe("Store", () => {
  it("starts from the defaults and applies a patch", () => {
    const store = new Store();
    expect(store.get()).toEqual(initialState());
    store.set({ run: "a", step: 4 });
    expect(store.get().run).toBe("a");
    expect(store.get().step).toBe(4);
  });

  it("tells listeners which keys changed, once per set, and only for real changes", () => {
    const store = new Store();
    const listener = vi.fn();
    store.subscribe(listener);
    store.set({ run: "a", layer: "conv1" });
    expect(listener).toHaveBeenCalledTimes(1);
    expect([...listener.mock.calls[0][1]].sort()).toEqual(["layer", "run"]);
    store.set({ run: "a" }); // unchanged
    expect(listener).toHaveBeenCalledTimes(1);
    store.set({ compare: { ...store.get().compare } }); // equal object: unchanged
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("calls a keyed listener only for its keys", () => {
    const store = new Store();
    const onStep = vi.fn();
    store.subscribe(onStep, ["step"]);
    store.set({ layer: "x" });
    expect(onStep).not.toHaveBeenCalled();
    store.set({ step: 2, layer: "y" });
    expect(onStep).toHaveBeenCalledTimes(1);
  });

  it("unsubscribes", () => {
    const store = new Store();
    const listener = vi.fn();
    const off = store.subscribe(listener);
    off();
    store.set({ step: 1 });
    expect(listener).not.toHaveBeenCalled();
  });

  it("announces a set made inside a listener after the current round, to everyone", () => {
    const store = new Store();
    const seen: string[] = [];
    store.subscribe((state, changed) => {
      seen.push(`a:${[...changed].join()}`);
      if (changed.has("run")) store.set({ layer: `${state.run}-layer` });
    });
    store.subscribe((state, changed) => seen.push(`b:${[...changed].join()}:${state.layer}`));
    store.set({ run: "r" });
    expect(seen).toEqual(["a:run", "b:run:r-layer", "a:layer", "b:layer:r-layer"]);
  });
});
