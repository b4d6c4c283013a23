// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { State } from "../../src/core/state";
import { SharedScale } from "../../src/panels/ab_scale";
import { type FilterMatchResponse, MatchedUnits, matchRequest, sortPairs } from "../../src/panels/matched_units";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, HttpError, SECOND_RUN } from "../fake_server";

/** B learned A's units 0, 1, 2 as its units 2, 0, 1; A's 3 and B's 3 have no partner. */
const MATCH: FilterMatchResponse = {
  layer: "conv1",
  step: 6,
  step_b: 6,
  basis: "activations",
  pairs: [
    { a: 0, b: 2, similarity: 0.61 },
    { a: 1, b: 0, similarity: 0.95 },
    { a: 2, b: 1, similarity: 0.8 },
  ],
  unmatched_a: [3],
  unmatched_b: [3],
  threshold: 0.2,
};

function answer(url: string): unknown {
  if (url.startsWith("filter_match")) {
    if (url.includes("layer=fc"))
      return new HttpError(400, "layer 'fc' has filters of 128 and 64 values in the two runs");
    return MATCH;
  }
  return fakeServer(url);
}

async function panel(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ runs: [FAKE_RUN, SECOND_RUN], runB: SECOND_RUN.run, ...state }, answer);
  const root = place();
  const matched = new MatchedUnits(root, ctx, { scale: new SharedScale(ctx) });
  matched.setActive(true);
  await settle();
  return { root, store, fetch, matched };
}

describe("matched units", () => {
  it("orders the pairs by similarity, most similar first", () => {
    expect(sortPairs(MATCH.pairs).map((pair) => [pair.a, pair.b])).toEqual([
      [1, 0],
      [2, 1],
      [0, 2],
    ]);
  });

  it("asks filter_match for A's and B's selection, or says what is missing", () => {
    const base = testContext({ runs: [FAKE_RUN, SECOND_RUN] }).store.get();
    expect(matchRequest(base)).toEqual({ reason: "Turn on A/B mode to match units between A and B." });
    const on: State = { ...base, runB: SECOND_RUN.run, stepB: 2 };
    const request = matchRequest(on);
    expect("url" in request && new URLSearchParams(request.url.split("?")[1]).toString()).toBe(
      new URLSearchParams({
        run: FAKE_RUN.run,
        run_b: SECOND_RUN.run,
        layer: "conv1",
        step: "6",
        step_b: "2",
      }).toString(),
    );
    expect(matchRequest({ ...on, runB: "gone" })).toEqual({ reason: "B's run gone is not listed." });
  });

  it("lists the pairs side by side with their similarity, then what only B learned and only A had", async () => {
    const { root } = await panel();
    const rows = allByTestId(root, "match-pair");
    expect(rows.map((row) => [row.getAttribute("data-a"), row.getAttribute("data-b")])).toEqual([
      ["1", "0"],
      ["2", "1"],
      ["0", "2"],
    ]);
    expect(rows[0].textContent).toContain("A 1");
    expect(rows[0].textContent).toContain("B 0");
    expect(rows[0].textContent).toContain("0.95");
    expect(rows[0].querySelectorAll("canvas")).toHaveLength(2); // A's filter and B's filter
    expect(byTestId(root, "matched-only-b").textContent).toContain("units only B learned: 1");
    expect(byTestId(root, "matched-only-a").textContent).toContain("units only A had: 1");
    expect(byTestId(root, "matched-status").textContent).toContain("3 pairs");
    expect(byTestId(root, "matched-status").textContent).toContain("activations over the probe images");
  });

  it("selects both units of a clicked pair, and a leftover on its own side", async () => {
    const { root, store } = await panel();
    allByTestId(root, "match-pair")[2].click();
    expect([store.get().unit, store.get().filter, store.get().unitB]).toEqual([0, 0, 2]);
    expect(allByTestId(root, "match-pair")[2].classList.contains("dv-selected")).toBe(true);
    const onlyB = byTestId(root, "matched-only-b").querySelector("button") as HTMLButtonElement;
    onlyB.click();
    expect(store.get().unitB).toBe(3);
    expect(store.get().unit).toBe(0);
  });

  it("draws the tiles from the banks' sprites on the shared range", async () => {
    const { fetch } = await panel();
    const sprites = fetched(fetch).filter((url) => url.startsWith("filters_layout") && url.includes("range="));
    expect(sprites.length).toBe(2);
  });

  it("says why units cannot be matched, and hides while A/B is off", async () => {
    const { root, store } = await panel({ layer: "fc" });
    expect(byTestId(root, "matched-status").getAttribute("data-state")).toBe("error");
    expect(byTestId(root, "matched-status").textContent).toContain("filters of 128 and 64 values");
    store.set({ runB: null });
    await settle();
    expect(byTestId(root, "matched-units").hidden).toBe(true);
  });
});
