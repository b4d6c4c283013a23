// Guards every view and panel needs before drawing: the run gate (the words shown while the list
// of runs loads, when no run is selected, when none exists, when the checkpoint lacks the
// records drawn) and a guard that drops answers a newer request has overtaken. One helper each
// instead of a copy per view.

import type { Kind, RunSummary } from "../api/types";
import { hasStep, MAIN, type Side } from "./derived";
import type { State } from "./state";

export const LOADING_RUNS = "Loading the list of runs…";
export const SELECT_A_RUN = "Select a run.";
export const NO_RUNS = "No run has deepviz data yet. Log some with DeepViz, then wait for the next update.";

/** Why there is nothing to draw: the status line's state and text. */
export interface Blocked {
  ok: false;
  state: "loading" | "empty";
  text: string;
}

/** The selected run, or why there is none (loading, no run selected, no runs at all). */
export function runGate(state: Readonly<State>, side: Side = MAIN): { ok: true; run: RunSummary } | Blocked {
  if (!state.loaded) return { ok: false, state: "loading", text: LOADING_RUNS };
  const run = side.run(state);
  if (!run) return { ok: false, state: "empty", text: state.runs.length ? SELECT_A_RUN : NO_RUNS };
  return { ok: true, run };
}

/**
 * The selected run and checkpoint when it has records of `kind` (`what` names them in the
 * message: "No confusion matrix was logged at step 4."), or why not.
 */
export function checkpointGate(
  state: Readonly<State>,
  kind: Kind,
  what: string,
  side: Side = MAIN,
): { ok: true; run: RunSummary; step: number } | Blocked {
  const gate = runGate(state, side);
  if (!gate.ok) return gate;
  const step = side.step(state);
  if (step === null) return { ok: false, state: "empty", text: `Run ${gate.run.run} has no checkpoints yet.` };
  if (!hasStep(gate.run, kind, step))
    return { ok: false, state: "empty", text: `No ${what} was logged at step ${step}.` };
  return { ok: true, run: gate.run, step };
}

/**
 * Drops stale answers: start() before a request returns a check that stays true only until the
 * next start(), so an answer that a newer request overtook is not drawn.
 *
 *     const current = this.loads.start();
 *     const data = await api.confusion(run, step);
 *     if (!current()) return;
 */
export class Latest {
  private count = 0;

  start(): () => boolean {
    const mine = ++this.count;
    return () => mine === this.count;
  }

  /** Make every pending request stale (nothing of theirs is to be drawn any more). */
  cancel(): void {
    this.count += 1;
  }
}
