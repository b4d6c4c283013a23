import { describe, expect, it, vi } from "vitest";
import {
  checkpointAtOrAfter,
  checkpointIndex,
  currentRun,
  initialState,
  nearestCheckpoint,
  reconcile,
  Store,
} from "../../src/core/store";
import { runSummary } from "../helpers";

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

describe("derived values", () => {
  it("finds the run and the checkpoint index", () => {
    const run = runSummary();
    const state = { ...initialState(), runs: [run], run: "main", step: 4 };
    expect(currentRun(state)).toBe(run);
    expect(checkpointIndex(state)).toBe(2);
    expect(checkpointIndex({ ...state, step: 3 })).toBe(-1);
  });

  it("snaps to checkpoints", () => {
    expect(nearestCheckpoint([0, 2, 4, 6], 3)).toBe(2);
    expect(nearestCheckpoint([0, 2, 4, 6], 100)).toBe(6);
    expect(nearestCheckpoint([], 1)).toBeNull();
    expect(checkpointAtOrAfter([0, 2, 4], 3)).toBe(4);
    expect(checkpointAtOrAfter([0, 2, 4], 4)).toBe(4);
    expect(checkpointAtOrAfter([0, 2, 4], 9)).toBe(4);
  });
});

describe("reconcile", () => {
  it("picks the first run, its first layer with weights and its latest checkpoint", () => {
    const state = { ...initialState(), runs: [runSummary(), runSummary({ run: "other" })] };
    expect(reconcile(state)).toEqual({ run: "main", layer: "conv1", filter: null, step: 6 });
  });

  it("keeps a valid selection and snaps an unknown step", () => {
    const state = { ...initialState(), runs: [runSummary()], run: "main", layer: "fc", step: 3, image: 5 };
    expect(reconcile(state)).toEqual({ step: 2 });
  });

  it("drops an image outside the corpus", () => {
    const state = { ...initialState(), runs: [runSummary()], run: "main", layer: "fc", step: 2, image: 48 };
    expect(reconcile(state)).toEqual({ image: null });
  });

  it("follows a live run from its newest checkpoint to a newer one, but not from an older one", () => {
    const before = runSummary();
    const after = runSummary({ checkpoints: [0, 2, 4, 6, 8] });
    const atLatest = { ...initialState(), runs: [after], run: "main", layer: "conv1", step: 6 };
    expect(reconcile(atLatest, before)).toEqual({ step: 8 });
    const earlier = { ...atLatest, step: 2 };
    expect(reconcile(earlier, before)).toEqual({});
    expect(reconcile({ ...atLatest, playing: true }, before)).toEqual({});
  });
});
