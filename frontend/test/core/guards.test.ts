import { describe, expect, it } from "vitest";
import type { Side } from "../../src/core/derived";
import { checkpointGate, Latest, LOADING_RUNS, NO_RUNS, runGate, SELECT_A_RUN } from "../../src/core/guards";
import { initialState } from "../../src/core/state";
import { runSummary } from "../helpers";

const run = runSummary({ steps_by_kind: { confusion: [2, 6] } });
const state = { ...initialState(), loaded: true, runs: [run], run: "main", step: 6 };

describe("runGate", () => {
  it("says why there is no run: loading, none logged, none selected", () => {
    expect(runGate({ ...state, loaded: false })).toEqual({ ok: false, state: "loading", text: LOADING_RUNS });
    expect(runGate({ ...state, runs: [] })).toEqual({ ok: false, state: "empty", text: NO_RUNS });
    expect(runGate({ ...state, run: "gone" })).toEqual({ ok: false, state: "empty", text: SELECT_A_RUN });
  });
  it("hands over the selected run", () => {
    expect(runGate(state)).toEqual({ ok: true, run });
  });
});

describe("checkpointGate", () => {
  it("needs a checkpoint with the records drawn", () => {
    expect(checkpointGate({ ...state, step: null }, "confusion", "confusion matrix")).toMatchObject({
      ok: false,
      text: "Run main has no checkpoints yet.",
    });
    expect(checkpointGate({ ...state, step: 4 }, "confusion", "confusion matrix")).toMatchObject({
      ok: false,
      state: "empty",
      text: "No confusion matrix was logged at step 4.",
    });
    expect(checkpointGate(state, "confusion", "confusion matrix")).toEqual({ ok: true, run, step: 6 });
    expect(checkpointGate({ ...state, loaded: false }, "confusion", "x")).toMatchObject({ state: "loading" });
  });
  it("reads the run and step of the side it is given", () => {
    const other: Side = { run: () => run, step: () => 2, runKeys: ["runs"], stepKeys: [] };
    expect(checkpointGate({ ...state, step: 4 }, "confusion", "confusion matrix", other)).toEqual({
      ok: true,
      run,
      step: 2,
    });
  });
});

describe("Latest", () => {
  it("keeps only the newest request current", () => {
    const loads = new Latest();
    const first = loads.start();
    expect(first()).toBe(true);
    const second = loads.start();
    expect(first()).toBe(false);
    expect(second()).toBe(true);
    loads.cancel();
    expect(second()).toBe(false);
  });

  it("drops an answer that a newer request overtook", async () => {
    const loads = new Latest();
    const drawn: string[] = [];
    const load = async (name: string, ms: number) => {
      const current = loads.start();
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (current()) drawn.push(name);
    };
    await Promise.all([load("slow, older", 20), load("fast, newer", 1)]);
    expect(drawn).toEqual(["fast, newer"]);
  });
});
