// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { decodeHash, encodeHash } from "../../src/core/hash";
import { type CompareSpec, initialState, type State } from "../../src/core/state";
import { SelectionError } from "../../src/lib/selection";
import {
  type CompareRunsResponse,
  chosenRuns,
  compareRunsUrl,
  defaultCompareRuns,
  gridRuns,
  resolveCompareRuns,
  runsText,
  splitRuns,
} from "../../src/views/compare/runs";
import { CompareView } from "../../src/views/compare/view";
import { allByTestId, byTestId, fetched, place, settle, testContext } from "../context";
import { FAKE_RUN, fakeServer } from "../fake_server";
import { runSummary } from "../helpers";

const form = (spec: Partial<CompareSpec>): CompareSpec => ({
  steps: "",
  layers: "",
  filters: "",
  image: "",
  content: "",
  ...spec,
});

/** B: the same layers, fewer checkpoints (0, 2, 4). */
const B = runSummary({ run: "b-run", checkpoints: [0, 2, 4] });
const A = runSummary({ run: "a-run", checkpoints: [0, 2, 4, 6, 8] });

describe("Direct Compare's runs axis (pure)", () => {
  it("reads and writes the chosen runs", () => {
    expect(chosenRuns(null)).toEqual([]);
    expect(chosenRuns("b,,c,b")).toEqual(["b", "c"]);
    expect(runsText([])).toBeNull();
    expect(runsText(["b", "c"])).toBe("b,c");
  });

  it("puts the selected run first and names a run the listing lacks", () => {
    expect(gridRuns([A, B], A, "b-run,a-run").map((run) => run.run)).toEqual(["a-run", "b-run"]);
    expect(gridRuns([A, B], A, null).map((run) => run.run)).toEqual(["a-run"]);
    expect(() => gridRuns([A, B], A, "gone")).toThrow(/"gone" is not among the listed runs/);
  });

  it("checks the form against every run, naming the run that cannot answer it", () => {
    const both = resolveCompareRuns([A, B], form({ steps: "0:4", layers: "conv1:fc" }), [null, null]);
    expect(both.map((each) => each.steps)).toEqual([
      [0, 2, 4],
      [0, 2, 4],
    ]);
    expect(() => resolveCompareRuns([A, B], form({ steps: "0,8" }), [null, null])).toThrow(
      /^run b-run: steps 8 not available/,
    );
    expect(() => resolveCompareRuns([A, B], form({ steps: "0,8" }), [null, null])).toThrow(SelectionError);
    // the cell limit counts every run's cells
    const many = runSummary({ run: "many", checkpoints: Array.from({ length: 150 }, (_, i) => i) });
    expect(() => resolveCompareRuns([many, many], form({}), [null, null])).toThrow(
      /600 cells over 2 runs; at most 400/,
    );
  });

  it("starts from checkpoints and layers every run has", () => {
    expect(defaultCompareRuns([A, B])).toEqual(form({ steps: "0,2,4", layers: "conv1,fc" }));
    const apart = runSummary({ run: "apart", checkpoints: [1, 3] });
    expect(defaultCompareRuns([A, apart]).steps).toBe(""); // none shared: each run shows all of its own
  });

  it("asks for every run with the form's selection as typed, and splits the answer per run", () => {
    const spec = form({ steps: "0 : 4", layers: "conv1, fc", filters: "0:3" });
    const [resolved] = resolveCompareRuns([A, B], spec, [null, null]);
    const url = compareRunsUrl(["a-run", "b-run"], spec, resolved);
    const params = new URLSearchParams(url.split("?")[1]);
    expect(url.startsWith("compare?")).toBe(true);
    expect([params.get("runs"), params.get("steps"), params.get("layers"), params.get("filters")]).toEqual([
      "a-run,b-run",
      "0:4",
      "conv1,fc",
      "0:3",
    ]);
    expect(params.get("run")).toBeNull();
    const answer: CompareRunsResponse = {
      kind: "weights",
      runs: ["a-run", "b-run"],
      grids: [
        { run: "a-run", steps: [0, 2], layers: ["conv1"] },
        { run: "b-run", steps: [2], layers: ["conv1"] },
      ],
      filters: null,
      image: null,
      cells: [
        { run: "a-run", step: 0, layer: "conv1", available: true, url: "u0", layout_url: null },
        { run: "a-run", step: 2, layer: "conv1", available: true, url: "u1", layout_url: null },
        { run: "b-run", step: 2, layer: "conv1", available: true, url: "u2", layout_url: null },
      ],
    };
    const grids = splitRuns(answer, [A, B]);
    expect(grids.map((grid) => [grid.run.run, grid.result.steps, grid.result.cells.map((cell) => cell.url)])).toEqual([
      ["a-run", [0, 2], ["u0", "u1"]],
      ["b-run", [2], ["u2"]],
    ]);
  });

  it("keeps the chosen runs in the link", () => {
    const hash = encodeHash({ ...initialState(), run: "a-run", compareRuns: "b-run,c" });
    expect(new URLSearchParams(hash.replace(/^#/, "")).get("cruns")).toBe("b-run,c");
    expect(decodeHash(hash).compareRuns).toBe("b-run,c");
    expect(encodeHash({ ...initialState(), run: "a-run" })).not.toContain("cruns");
  });
});

// The fake server's compare answer for several runs: each run's grid at steps 0 and 2, conv1 and fc.
function answer(url: string): unknown {
  const [route, query = ""] = url.split("?");
  const params = new URLSearchParams(query);
  const runs = params.get("runs");
  if (route !== "compare" || !runs) return fakeServer(url);
  const names = runs.split(",");
  return {
    kind: "weights",
    runs: names,
    grids: names.map((run) => ({ run, steps: [0, 2], layers: ["conv1", "fc"] })),
    filters: null,
    image: null,
    cells: names.flatMap((run) =>
      [0, 2].flatMap((step) =>
        ["conv1", "fc"].map((layer) => ({
          run,
          step,
          layer,
          available: true,
          url: `filters?run=${run}&layer=${layer}&step=${step}`,
          layout_url: null,
        })),
      ),
    ),
  };
}

async function compare(state: Partial<State> = {}) {
  const { ctx, store, fetch } = testContext({ view: "compare", runs: [FAKE_RUN, B], ...state }, answer);
  const root = place();
  const view = new CompareView(ctx, root);
  view.setActive(true);
  await settle();
  return { ctx, store, fetch, root, view };
}

describe("Direct Compare view: runs axis", () => {
  it("offers the other runs; choosing one shows its rows under the selected run's, from one request", async () => {
    const { root, store, fetch } = await compare();
    expect(allByTestId(root, "compare-run-heading")).toEqual([]);
    const option = byTestId(root, "compare-run-option") as HTMLInputElement;
    expect(option.getAttribute("data-run")).toBe("b-run");
    expect(option.checked).toBe(false);
    option.checked = true;
    option.dispatchEvent(new Event("change"));
    expect(store.get().compareRuns).toBe("b-run");
    await settle();
    const request = fetched(fetch).find((url) => url.includes("runs="));
    expect(request).toBeDefined();
    expect(new URLSearchParams(String(request).split("?")[1]).get("runs")).toBe(`${FAKE_RUN.run},b-run`);
    // the form starts again from what both runs have
    expect((byTestId(root, "compare-steps") as HTMLInputElement).value).toBe("0,2,4");
    expect(allByTestId(root, "compare-run-heading").map((th) => th.textContent)).toEqual([
      `${FAKE_RUN.run} (selected run)`,
      "b-run",
    ]);
    const cells = allByTestId(root, "compare-cell");
    expect(cells.map((cell) => cell.getAttribute("data-run"))).toEqual([
      ...Array(4).fill(FAKE_RUN.run),
      ...Array(4).fill("b-run"),
    ]);
    for (const cell of cells) cell.dispatchEvent(new Event("load"));
    expect(byTestId(root, "status").textContent).toContain("2 runs × 4 checkpoints in all × 2 layers");
    expect(root.querySelector("b, img[src='x']")).toBeNull(); // the hostile run name stays text
  });

  it("follows a link's runs; another run's cell opens it as B", async () => {
    const { root, store } = await compare({ compareRuns: "b-run", step: 2 });
    expect((byTestId(root, "compare-run-option") as HTMLInputElement).checked).toBe(true);
    const rows = [...root.querySelectorAll("tbody tr[data-step]")];
    expect(rows.map((row) => `${row.getAttribute("data-run")}@${row.getAttribute("data-step")}`)).toEqual([
      `${FAKE_RUN.run}@0`,
      `${FAKE_RUN.run}@2`,
      "b-run@0",
      "b-run@2",
    ]);
    expect(rows.filter((row) => row.classList.contains("dv-current")).length).toBe(2); // step 2 in each run
    const cellB = allByTestId(root, "compare-cell").find(
      (cell) => cell.getAttribute("data-run") === "b-run" && cell.getAttribute("data-step") === "0",
    );
    cellB?.click();
    expect(store.get()).toMatchObject({ runB: "b-run", stepB: 0, layer: "conv1", run: FAKE_RUN.run, step: 2 });
    await settle();
    const current = rows.filter((row) => row.classList.contains("dv-current"));
    expect(current.map((row) => `${row.getAttribute("data-run")}@${row.getAttribute("data-step")}`)).toEqual([
      `${FAKE_RUN.run}@2`,
      "b-run@0",
    ]);
  });

  it("names a chosen run the listing lacks", async () => {
    const { root } = await compare({ compareRuns: "gone" });
    const status = byTestId(root, "status");
    expect(status.getAttribute("data-state")).toBe("error");
    expect(status.textContent).toContain('"gone" is not among the listed runs');
  });
});

describe("Direct Compare view: runs axis with feature visualizations", () => {
  it("lays out each run's rendered checkpoints from the listing, without the compare route", async () => {
    const other = { ...FAKE_RUN, run: "fv-b", steps_by_kind: { ...FAKE_RUN.steps_by_kind, feature_vis: [6] } };
    const { root, fetch } = await compare({
      runs: [FAKE_RUN, other],
      compareRuns: "fv-b",
      compare: form({ content: "feature_vis", steps: "6", layers: "conv1" }),
    });
    const cells = allByTestId(root, "compare-cell");
    expect(cells.map((cell) => [cell.dataset.run, cell.dataset.step, cell.getAttribute("src")])).toEqual([
      [FAKE_RUN.run, "6", `feature_vis_sprite?run=${encodeURIComponent(FAKE_RUN.run)}&layer=conv1&step=6`],
      ["fv-b", "6", "feature_vis_sprite?run=fv-b&layer=conv1&step=6"],
    ]);
    expect(fetched(fetch).some((url) => url.startsWith("compare"))).toBe(false);
  });
});
