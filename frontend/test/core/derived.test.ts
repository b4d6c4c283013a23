import { describe, expect, it } from "vitest";
import {
  checkpointAtOrAfter,
  checkpointIndex,
  currentRun,
  hasStep,
  kindSteps,
  layersWithUnits,
  MAIN,
  nearestCheckpoint,
  previousStep,
  reconcile,
  resolveLink,
  SIDE_B,
  selectedLayer,
  unitsLayer,
  unitsVersion,
} from "../../src/core/derived";
import { initialState } from "../../src/core/state";
import { runSummary } from "../helpers";

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
    expect(reconcile(state)).toEqual({ run: "main", layer: "conv1", filter: null, unit: null, unitB: null, step: 6 });
  });

  it("takes every checkpoint for a logged kind the index lists no steps for", () => {
    const { units: _, ...listed } = runSummary().steps_by_kind;
    const run = runSummary({ steps_by_kind: listed, checkpoints: [0, 2, 4, 6] });
    expect(kindSteps(run, "units")).toEqual([0, 2, 4, 6]);
    expect(hasStep(run, "units", 4)).toBe(true);
    expect(unitsVersion(run)).toBe("0,2,4,6");
    const without = runSummary({ steps_by_kind: listed, kinds: run.kinds.filter((kind) => kind !== "units") });
    expect(kindSteps(without, "units")).toEqual([]);
    expect(hasStep(without, "units", 4)).toBe(false);
  });

  it("knows the layers with unit records", () => {
    const run = runSummary();
    expect(layersWithUnits(run).map((layer) => layer.name)).toEqual(["conv1", "fc"]);
    expect(unitsLayer(run, "bn1")).toBeNull();
    expect(unitsLayer(run, "fc")?.name).toBe("fc");
    expect(unitsLayer(null, "fc")).toBeNull();
  });

  it("keeps a valid selection and snaps an unknown step", () => {
    const state = { ...initialState(), runs: [runSummary()], run: "main", layer: "fc", step: 3, image: 5 };
    expect(reconcile(state)).toEqual({ step: 2 });
  });

  it("drops a confusion cell outside the run's classes", () => {
    const state = { ...initialState(), runs: [runSummary()], run: "main", layer: "fc", step: 2 };
    expect(reconcile({ ...state, cell: [3, 1] })).toEqual({});
    expect(reconcile({ ...state, cell: [1, 4] })).toEqual({ cell: null });
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

describe("records by step", () => {
  const run = runSummary({ steps_by_kind: { confusion: [0, 4, 6] } });
  it("knows where a kind was logged and what came before", () => {
    expect(hasStep(run, "confusion", 4)).toBe(true);
    expect(hasStep(run, "confusion", 2)).toBe(false);
    expect(hasStep(run, "clusters", 4)).toBe(false);
    expect(hasStep(null, "confusion", 4)).toBe(false);
    expect(previousStep(run, "confusion", 6)).toBe(4);
    expect(previousStep(run, "confusion", 0)).toBeNull();
  });
  it("finds the selected layer and the main side's run and step", () => {
    const state = { ...initialState(), runs: [run], run: "main", layer: "fc", step: 4 };
    expect(selectedLayer(state)?.kind).toBe("Linear");
    expect(MAIN.run(state)).toBe(run);
    expect(MAIN.step(state)).toBe(4);
  });
});

describe("the A/B mode's B side", () => {
  it("is off without runB, follows A's step without stepB, else stays at stepB", () => {
    const a = runSummary({ run: "a" });
    const b = runSummary({ run: "b", checkpoints: [0, 3, 9] });
    const state = { ...initialState(), runs: [a, b], run: "a", step: 2 };
    expect(SIDE_B.run(state)).toBeNull();
    expect(SIDE_B.step(state)).toBeNull();
    expect(SIDE_B.run({ ...state, runB: "b" })?.run).toBe("b");
    expect(SIDE_B.step({ ...state, runB: "b" })).toBe(3);
    expect(SIDE_B.step({ ...state, runB: "b", stepB: 9 })).toBe(9);
    expect(SIDE_B.step({ ...state, runB: "b", stepB: 4 })).toBe(9); // not a checkpoint: the next one
    expect(SIDE_B.run({ ...state, runB: "gone" })).toBeNull();
  });
});

describe("resolveLink", () => {
  it("drops A's and B's selected units on a link to another layer, unless it names them", () => {
    const state = { ...initialState(), runs: [runSummary()], run: "main", layer: "conv1", unit: 2, unitB: 5 };
    expect(resolveLink({ layer: "fc" }, state)).toMatchObject({ layer: "fc", filter: null, unit: null, unitB: null });
    expect(resolveLink({ layer: "fc", unit: 1, unitB: 3 }, state)).toMatchObject({ unit: 1, unitB: 3 });
    expect(resolveLink({ unitB: 4 }, state)).toEqual({ unitB: 4, playing: false });
  });
});
