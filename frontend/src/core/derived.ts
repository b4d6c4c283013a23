// What follows from the state: the selected run, layer and checkpoint, where a kind of record
// was logged, and the selection made consistent with a new listing (reconcile). Pure functions
// of the state, shared by the views and the timeline.

import type { Kind, LayerSummary, RunSummary } from "../api/types";
import type { Key, State } from "./state";

export function currentRun(state: Readonly<State>): RunSummary | null {
  return state.runs.find((run) => run.run === state.run) ?? null;
}

export function checkpointIndex(state: Readonly<State>): number {
  const run = currentRun(state);
  if (!run || state.step === null) return -1;
  return run.checkpoints.indexOf(state.step);
}

/** The checkpoint closest to `step` (the earlier one on a tie); null for no checkpoints. */
export function nearestCheckpoint(checkpoints: readonly number[], step: number): number | null {
  let best: number | null = null;
  for (const candidate of checkpoints) {
    if (best === null || Math.abs(candidate - step) < Math.abs(best - step)) best = candidate;
  }
  return best;
}

/** The first checkpoint at or after `step` (where something that happened at `step` shows), else the last. */
export function checkpointAtOrAfter(checkpoints: readonly number[], step: number): number | null {
  const later = checkpoints.filter((candidate) => candidate >= step);
  if (later.length) return Math.min(...later);
  return checkpoints.length ? checkpoints[checkpoints.length - 1] : null;
}

/**
 * The selection made consistent with the listing: a run that exists, a layer of that run, a
 * step among its checkpoints (the latest when none, or when following the latest one), an
 * image inside its corpus. Returns only the keys that must change.
 */
export function reconcile(state: Readonly<State>, previousRun: RunSummary | null = null): Partial<State> {
  const patch: Partial<State> = {};
  if (!state.runs.length) return patch;
  let run = state.runs.find((entry) => entry.run === state.run);
  if (!run) {
    run = state.runs[0];
    patch.run = run.run;
  }
  const layers = run.layers;
  if (!layers.some((layer) => layer.name === state.layer)) {
    const first = layers.find((layer) => layer.has_weights) ?? layers[0];
    patch.layer = first ? first.name : null;
    patch.filter = null;
    patch.unit = null;
    patch.unitB = null;
  }
  const checkpoints = run.checkpoints;
  if (!checkpoints.length) {
    if (state.step !== null) patch.step = null;
  } else if (state.step === null) {
    patch.step = checkpoints[checkpoints.length - 1];
  } else if (!checkpoints.includes(state.step)) {
    patch.step = nearestCheckpoint(checkpoints, state.step);
  } else if (
    previousRun &&
    previousRun.run === run.run &&
    !state.playing &&
    previousRun.checkpoints.length > 0 &&
    state.step === previousRun.checkpoints[previousRun.checkpoints.length - 1]
  ) {
    // Following a live run: at the newest checkpoint, move on to a newer one when it arrives.
    patch.step = checkpoints[checkpoints.length - 1];
  }
  if (state.image !== null && (state.image < 0 || state.image >= run.corpus_size)) patch.image = null;
  const classes = run.class_names.length;
  if (state.cell !== null && classes && (state.cell[0] >= classes || state.cell[1] >= classes)) patch.cell = null;
  return patch;
}

/**
 * What a link (a URL hash: a finding's, a hand-edited one, the history's) changes, made to fit
 * the listing. A step that is not a checkpoint of the link's run becomes the first checkpoint at
 * or after it, where what happened at that step shows (a finding names the step its condition
 * was first seen, which may fall between checkpoints); a new layer drops the old layer's filter
 * and unit unless the link names them; following a link stops playback. Before the listing has
 * loaded the step is kept as it is (refreshIndex resolves it when the listing arrives).
 */
export function resolveLink(patch: Partial<State>, state: Readonly<State>): Partial<State> {
  const result: Partial<State> = { ...patch };
  if (!Object.keys(patch).length) return result;
  result.playing = false;
  if (patch.layer !== undefined && patch.layer !== state.layer) {
    if (patch.filter === undefined) result.filter = null;
    if (patch.unit === undefined) result.unit = null;
    if (patch.unitB === undefined) result.unitB = null;
  }
  const runName = patch.run !== undefined ? patch.run : state.run;
  const run = state.runs.find((entry) => entry.run === runName);
  if (run && patch.step !== undefined && patch.step !== null && !run.checkpoints.includes(patch.step))
    result.step = checkpointAtOrAfter(run.checkpoints, patch.step);
  return result;
}

/** Checkpoint kinds whose steps `index` may leave out of `steps_by_kind` (logged with every checkpoint). */
const STEPS_UNLISTED: readonly Kind[] = ["units", "attribution"];

/**
 * The steps at which `run` logged records of `kind`: its entry of `steps_by_kind`; for units and
 * attribution, which the index may not list, every checkpoint when the run logged the kind at
 * all (a checkpoint without the record then answers with a 4xx saying so).
 */
export function kindSteps(run: RunSummary | null, kind: Kind): readonly number[] {
  if (!run) return [];
  const listed = run.steps_by_kind[kind];
  if (listed) return listed;
  return STEPS_UNLISTED.includes(kind) && run.kinds.includes(kind) ? run.checkpoints : [];
}

/** Whether `run` logged records of `kind` at `step`. */
export function hasStep(run: RunSummary | null, kind: Kind, step: number | null): boolean {
  if (!run || step === null) return false;
  return kindSteps(run, kind).includes(step);
}

/** The step before `step` among `kind`'s steps, or null. */
export function previousStep(run: RunSummary | null, kind: Kind, step: number): number | null {
  const steps = kindSteps(run, kind).filter((candidate) => candidate < step);
  return steps.length ? Math.max(...steps) : null;
}

export function selectedLayer(state: Readonly<State>): LayerSummary | null {
  return currentRun(state)?.layers.find((layer) => layer.name === state.layer) ?? null;
}

/** The layer `name` of `run` when it has units records, else null. */
export function unitsLayer(run: RunSummary | null, name: string | null): LayerSummary | null {
  const layer = run?.layers.find((entry) => entry.name === name);
  return layer?.has_units ? layer : null;
}

/** The layers of `run` that have units records, in the run's order. */
export function layersWithUnits(run: RunSummary | null): LayerSummary[] {
  return (run?.layers ?? []).filter((layer) => layer.has_units);
}

/** What a units history answer depends on besides its URL: the run's checkpoints with unit records. */
export function unitsVersion(run: RunSummary): string {
  return kindSteps(run, "units").join(",");
}

/** The layer `name` of `run` when it has feature visualizations, else null. */
export function featureVisLayer(run: RunSummary | null, name: string | null): LayerSummary | null {
  const layer = run?.layers.find((entry) => entry.name === name);
  return layer?.has_feature_vis ? layer : null;
}

/** The layers of `run` that have feature visualizations, in the run's order. */
export function layersWithFeatureVis(run: RunSummary | null): LayerSummary[] {
  return (run?.layers ?? []).filter((layer) => layer.has_feature_vis);
}

/** The steps at which `run` rendered feature visualizations (some checkpoints only), in order. */
export function featureVisSteps(run: RunSummary | null): readonly number[] {
  return run?.steps_by_kind.feature_vis ?? [];
}

/**
 * The render a checkpoint shows: the latest rendered step at or before `step`, or null when none
 * is (yet). Renders repeat between rendered steps, so every checkpoint between two renders maps to
 * one step, and so to one sprite URL: playback and prefetching never load the same images twice.
 * A run whose listing names no steps of the kind (an older server) answers `step` itself: the
 * routes then fall back to the earlier render on their own.
 */
export function featureVisStep(run: RunSummary | null, step: number | null): number | null {
  if (!run || step === null) return null;
  const steps = run.steps_by_kind.feature_vis;
  if (!steps) return run.kinds.includes("feature_vis") ? step : null;
  let found: number | null = null;
  for (const candidate of steps) if (candidate <= step && (found === null || candidate > found)) found = candidate;
  return found;
}

/**
 * Which (run, checkpoint) a panel shows. Panels take one in their settings, so that a view can
 * show two selections side by side (an A/B mode's second run and step are two more state
 * fields and one more Side); MAIN is the selection of the run menu and the timeline.
 */
export interface Side {
  run(state: Readonly<State>): RunSummary | null;
  step(state: Readonly<State>): number | null;
  /** The state fields run() reads (a panel showing the run redraws on them). */
  readonly runKeys: readonly Key[];
  /** The state fields step() reads (a panel showing the checkpoint redraws on them too). */
  readonly stepKeys: readonly Key[];
}

export const MAIN: Side = {
  run: currentRun,
  step: (state) => state.step,
  runKeys: ["runs", "run", "loaded"],
  stepKeys: ["step"],
};

/** B's run of the A/B mode, or null when A/B is off (or B's run is not listed). */
export function runB(state: Readonly<State>): RunSummary | null {
  if (state.runB === null) return null;
  return state.runs.find((run) => run.run === state.runB) ?? null;
}

/**
 * B's checkpoint: `stepB` (a step that is not one of B's checkpoints, from a hand-edited link:
 * the first checkpoint at or after it), or when it follows A, B's checkpoint nearest to A's step.
 */
export function stepB(state: Readonly<State>): number | null {
  const run = runB(state);
  if (!run) return null;
  if (state.stepB !== null)
    return run.checkpoints.includes(state.stepB) ? state.stepB : checkpointAtOrAfter(run.checkpoints, state.stepB);
  return state.step === null ? null : nearestCheckpoint(run.checkpoints, state.step);
}

/** The A/B mode's second selection. */
export const SIDE_B: Side = {
  run: runB,
  step: stepB,
  runKeys: ["runs", "runB", "loaded"],
  stepKeys: ["stepB", "step"],
};
