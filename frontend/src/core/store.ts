// The one shared state of the dashboard: what is selected (run, layer, checkpoint step, image,
// filter), which view is open, and the toggles the views share. Views read it, change it with
// set(), and subscribe to the keys they depend on; nothing else holds selection state.

import type { ActivationNorm, FilterNorm, RunSummary, StatisticName, StatisticSource } from "../api/client";

export const VIEWS = ["filters", "confusion", "clusters", "compare", "dynamics"] as const;
export type ViewName = (typeof VIEWS)[number];
export const SPEEDS = [1, 2, 5, 10, 20, 30] as const; // checkpoints per second
export const POLL_INTERVALS = [5, 10, 30, 60] as const; // seconds

export interface CompareSpec {
  steps: string;
  layers: string;
  filters: string;
  image: string;
}

export interface State {
  /** Runs with deepviz data, from `index` (refreshed by polling). */
  runs: RunSummary[];
  /** Whether `index` has answered at least once. */
  loaded: boolean;
  /** The last failure of `index`, shown while the previous listing stays in use. */
  indexError: string | null;

  run: string | null;
  layer: string | null;
  /** The selected checkpoint's step (a value of the run's `checkpoints`). */
  step: number | null;
  /** The selected eval image (corpus index). */
  image: number | null;
  /** The selected filter of `layer` (index into its filters). */
  filter: number | null;
  view: ViewName;

  norm: FilterNorm;
  activationNorm: ActivationNorm;
  rowNormalize: boolean;
  delta: boolean;
  colorBy: "class" | "cluster";
  stat: StatisticName;
  source: StatisticSource;
  logScale: boolean;
  compare: CompareSpec;

  playing: boolean;
  speed: number;
  polling: boolean;
  pollSeconds: number;
}

export function initialState(): State {
  return {
    runs: [],
    loaded: false,
    indexError: null,
    run: null,
    layer: null,
    step: null,
    image: null,
    filter: null,
    view: "filters",
    norm: "filter",
    activationNorm: "channel",
    rowNormalize: false,
    delta: false,
    colorBy: "class",
    stat: "norm",
    source: "weights",
    logScale: false,
    compare: { steps: "", layers: "", filters: "", image: "" },
    playing: false,
    speed: 5,
    polling: true,
    pollSeconds: 10,
  };
}

export type Key = keyof State;
export type Listener = (state: Readonly<State>, changed: ReadonlySet<Key>) => void;

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Store {
  private state: State;
  private readonly listeners = new Set<{ keys: ReadonlySet<Key> | null; listener: Listener }>();
  private notifying = false;
  private pending = new Set<Key>();

  constructor(initial: Partial<State> = {}) {
    this.state = { ...initialState(), ...initial };
  }

  get(): Readonly<State> {
    return this.state;
  }

  /**
   * Apply a change; listeners hear about the keys whose values really changed, once per set().
   * A set() from inside a listener is applied at once and announced after the current round.
   */
  set(patch: Partial<State>): Set<Key> {
    const changed = new Set<Key>();
    const next = { ...this.state };
    for (const key of Object.keys(patch) as Key[]) {
      const value = patch[key];
      if (value === undefined) continue;
      if (!same(this.state[key], value)) {
        (next as Record<Key, unknown>)[key] = value;
        changed.add(key);
      }
    }
    if (changed.size === 0) return changed;
    this.state = next;
    for (const key of changed) this.pending.add(key);
    if (!this.notifying) this.flush();
    return changed;
  }

  /**
   * Call `listener` after every change of one of `keys` (every change when omitted).
   * Returns the function that unsubscribes.
   */
  subscribe(listener: Listener, keys?: readonly Key[]): () => void {
    const entry = { keys: keys ? new Set(keys) : null, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  private flush(): void {
    this.notifying = true;
    try {
      while (this.pending.size > 0) {
        const changed = this.pending;
        this.pending = new Set();
        for (const { keys, listener } of [...this.listeners]) {
          if (keys && ![...changed].some((key) => keys.has(key))) continue;
          listener(this.state, changed);
        }
      }
    } finally {
      this.notifying = false;
    }
  }
}

// ------------------------------------------------------------------ derived values

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
  return patch;
}
