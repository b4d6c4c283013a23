// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { Kind, LayerSimilarityResponse } from "../../src/api/types";
import type { State } from "../../src/core/state";
import { bestColumns, ckaShade, LayerSimilarity, similarityRequest } from "../../src/panels/layer_similarity";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer, HttpError, SECOND_RUN } from "../fake_server";
import { runSummary } from "../helpers";

/** The contract's example: A and B alike up to conv2, B's conv3 closer to A's conv2 than to A's conv3. */
const FIXTURE: LayerSimilarityResponse = {
  run: FAKE_RUN.run,
  step: 6,
  run_b: "variant",
  step_b: 6,
  layers_a: ["conv1", "conv2", "conv3", "fc"],
  layers_b: ["conv1", "conv2", "conv3", "fc"],
  cka: [
    [0.97, 0.71, 0.45, 0.3],
    [0.69, 0.93, 0.66, 0.41],
    [0.44, 0.64, 0.58, null],
    [0.31, 0.4, 0.58, 0.81],
  ],
  images: 256,
};

/** A run with similarity records and the fixture's layers. */
const withSimilarity = (run: ReturnType<typeof runSummary>) =>
  runSummary({
    ...run,
    kinds: [...run.kinds, "similarity" as Kind],
    layers: FIXTURE.layers_a.map((name) => ({ ...run.layers[0], name })),
  });
const A = withSimilarity(FAKE_RUN);
const B = withSimilarity(runSummary({ ...FAKE_RUN, run: "variant" }));

function answer(url: string): unknown {
  if (url.startsWith("layer_similarity")) {
    if (url.includes("step_b=0"))
      return new HttpError(400, "runs 'a' and 'b' have different eval sets: 48 and 40 images");
    return FIXTURE;
  }
  return fakeServer(url);
}

async function panel(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ runs: [A, B], runB: B.run, ...state }, answer);
  const root = place();
  const similarity = new LayerSimilarity(root, ctx);
  similarity.setActive(true);
  await settle();
  return { root, store, fetch };
}

describe("layer similarity", () => {
  it("outlines each row's most similar column, skipping what is not computable", () => {
    expect(bestColumns(FIXTURE.cka)).toEqual([0, 1, 1, 3]);
    expect(bestColumns([[null, "NaN"]])).toEqual([-1]);
  });

  it("shades 0..1 on one sequential scale: higher is another colour, not computable is grey", () => {
    expect(ckaShade(0).background).not.toBe(ckaShade(1).background);
    expect(ckaShade(1.2).background).toBe(ckaShade(1).background);
    expect(ckaShade(Number.NaN).background).toBe("#eceff1");
  });

  it("needs A/B mode and similarity records on both sides", () => {
    const state = testContext({ runs: [A, B, SECOND_RUN] }).store.get();
    expect(similarityRequest(state)).toEqual({ reason: "Turn on A/B mode to compare A's layers with B's." });
    const request = similarityRequest({ ...state, runB: B.run, stepB: 4 });
    expect("url" in request && request.url).toBe(
      `layer_similarity?run=${encodeURIComponent(A.run)}&step=6&run_b=variant&step_b=4`,
    );
    const missing = similarityRequest({ ...state, runB: SECOND_RUN.run });
    expect("reason" in missing && missing.reason).toContain("second did not log");
  });

  it("draws A's layers by B's as a heat map with the values, hover reads one out", async () => {
    const { root } = await panel();
    const cells = allByTestId(root, "cka-cell");
    expect(cells).toHaveLength(16);
    expect(cells.slice(0, 4).map((cell) => cell.textContent)).toEqual(["0.97", "0.71", "0.45", "0.30"]);
    expect(cells[11].textContent).toBe("–"); // conv3 x fc: not computable
    expect(
      cells.filter((cell) => cell.classList.contains("dv-cell-best")).map((cell) => cell.getAttribute("data-b")),
    ).toEqual(["0", "1", "1", "3"]);
    cells[9].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(byTestId(root, "cka-readout").textContent).toBe("A conv3 × B conv2: CKA 0.64");
    expect(byTestId(root, "cka-status").textContent).toContain("over 256 eval images");
  });

  it("selects the clicked cell's layer", async () => {
    const { root, store } = await panel({ layer: "fc", unit: 2 });
    expect(allByTestId(root, "cka-cell")[15].classList.contains("dv-cell-selected")).toBe(true);
    allByTestId(root, "cka-cell")[9].click();
    expect(store.get().layer).toBe("conv3");
    expect(store.get().unit).toBeNull();
    expect(byTestId(root, "cka-readout").textContent).toContain("selected A's layer conv3; B's conv2 was clicked");
    expect(allByTestId(root, "cka-cell")[9].classList.contains("dv-cell-selected")).toBe(true);
  });

  it("states the route's error, and asks nothing for runs without similarity records", async () => {
    const { root } = await panel({ stepB: 0 });
    expect(byTestId(root, "cka-status").textContent).toContain("different eval sets: 48 and 40 images");
    const other = await panel({ runs: [FAKE_RUN, SECOND_RUN], runB: SECOND_RUN.run });
    expect(fetched(other.fetch).filter((url) => url.startsWith("layer_similarity"))).toEqual([]);
    expect(byTestId(other.root, "cka-status").textContent).toContain("Layer similarity needs similarity records");
  });
});
