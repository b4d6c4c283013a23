// Direct Compare's runs axis (runs x checkpoints x layers), DOM-free: which runs a grid shows,
// the form checked against every one of them, a starting form that all of them can answer, and
// `compare?runs=a,b`'s answer (each cell naming its run) split into one grid per run.

import type { CompareCell, CompareResponse, RunSummary } from "../../api/types";
import { buildQuery } from "../../api/urls";
import type { CompareContent, CompareSpec } from "../../core/state";
import { MAX_COMPARE_CELLS } from "../../generated/contract";
import { SelectionError, spread } from "../../lib/selection";
import { defaultCompare, type ResolvedCompare, resolveCompare } from "./resolve";

/** The runs `compare?runs=` lays side by side at most (the route's MAX_COMPARE_RUNS). */
export const MAX_COMPARE_RUNS = 8;

/** `compare?runs=a,b`: every run's grid, the cells of each run in turn, each naming its run. */
export interface CompareRunsResponse {
  kind: CompareResponse["kind"];
  runs: string[];
  grids: { run: string; steps: number[]; layers: string[] }[];
  filters: string | null;
  image: number | null;
  cells: (CompareCell & { run: string })[];
}

/** One run's part of a grid. */
export interface RunGrid {
  run: RunSummary;
  result: CompareResponse;
}

/** The further runs named by the state's `compareRuns` ("a,b"), in order, without repeats. */
export function chosenRuns(text: string | null): string[] {
  return [...new Set((text ?? "").split(",").filter(Boolean))];
}

/** The text `compareRuns` keeps for the further runs `names` (null for none). */
export function runsText(names: readonly string[]): string | null {
  return names.length ? names.join(",") : null;
}

/**
 * The runs a grid shows: the selected run first, then the chosen further runs (the selected run
 * named again is skipped). Throws SelectionError for a run the listing lacks or too many runs.
 */
export function gridRuns(listing: readonly RunSummary[], selected: RunSummary, chosen: string | null): RunSummary[] {
  const runs = [selected];
  for (const name of chosenRuns(chosen)) {
    if (name === selected.run) continue;
    const run = listing.find((entry) => entry.run === name);
    if (!run) throw new SelectionError(`runs: ${JSON.stringify(name)} is not among the listed runs`);
    runs.push(run);
  }
  if (runs.length > MAX_COMPARE_RUNS)
    throw new SelectionError(`runs: at most ${MAX_COMPARE_RUNS} runs side by side (${runs.length} chosen)`);
  return runs;
}

/**
 * The form checked against every run (a selection one run cannot answer names that run), and
 * the cells over all runs within MAX_COMPARE_CELLS. `probes` are each run's probe images (or null).
 */
export function resolveCompareRuns(
  runs: readonly RunSummary[],
  spec: CompareSpec,
  probes: readonly (ReadonlySet<number> | null)[],
): ResolvedCompare[] {
  const resolved = runs.map((run, i) => {
    try {
      return resolveCompare(run, spec, probes[i] ?? null);
    } catch (error) {
      if (error instanceof SelectionError && runs.length > 1)
        throw new SelectionError(`run ${run.run}: ${error.message}`);
      throw error;
    }
  });
  const cells = resolved.reduce((sum, each) => sum + each.steps.length * each.layers.length, 0);
  if (cells > MAX_COMPARE_CELLS)
    throw new SelectionError(
      `${cells} cells over ${runs.length} runs; at most ${MAX_COMPARE_CELLS}: choose fewer checkpoints, layers or runs`,
    );
  return resolved;
}

/**
 * The form a grid of several runs starts from: a few checkpoints that every run has (else a few
 * of the selected run's, each run then showing those it has), and the first layers they share.
 */
export function defaultCompareRuns(runs: readonly RunSummary[], content: CompareContent = "weights"): CompareSpec {
  const first = defaultCompare(runs[0], content);
  if (runs.length < 2) return first;
  const stepsOf = (run: RunSummary) =>
    content === "feature_vis"
      ? (run.steps_by_kind.feature_vis ?? [])
      : (run.steps_by_kind[content === "activations" ? "activations" : "weights"] ?? run.checkpoints);
  const common = stepsOf(runs[0]).filter((step) => runs.every((run) => stepsOf(run).includes(step)));
  const has = (run: RunSummary, name: string) =>
    run.layers.some(
      (layer) =>
        layer.name === name &&
        (content === "feature_vis"
          ? layer.has_feature_vis
          : content === "activations"
            ? layer.has_activations
            : layer.has_weights),
    );
  const layers = runs[0].layers
    .map((layer) => layer.name)
    .filter((name) => runs.every((run) => has(run, name)))
    .slice(0, 6);
  return {
    ...first,
    // A range, which every run answers with the steps it has, when the runs share no checkpoint.
    steps: common.length ? spread(common, 6).join(",") : "",
    layers: layers.length ? layers.join(",") : first.layers,
  };
}

/** `compare?runs=...`: the runs' grids with the same selection (steps and layers as typed: each run resolves them). */
export function compareRunsUrl(runs: readonly string[], spec: CompareSpec, resolved: ResolvedCompare): string {
  return buildQuery("compare", {
    runs: runs.join(","),
    steps: spec.steps.trim().replace(/\s+/g, ""),
    layers: spec.layers.trim().replace(/\s+/g, ""),
    filters: resolved.filters || undefined,
    image: resolved.image,
  });
}

/** The answer of `compare?runs=` as one grid per run, in the runs' order. */
export function splitRuns(answer: CompareRunsResponse, runs: readonly RunSummary[]): RunGrid[] {
  return answer.grids.flatMap((grid) => {
    const run = runs.find((entry) => entry.run === grid.run);
    if (!run) return [];
    return [
      {
        run,
        result: {
          kind: answer.kind,
          steps: grid.steps,
          layers: grid.layers,
          filters: answer.filters,
          image: answer.image,
          cells: answer.cells.filter((cell) => cell.run === grid.run),
        },
      },
    ];
  });
}
