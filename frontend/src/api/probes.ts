// The probe images of a run: the eval images whose activations and class probabilities are
// logged. They are the same at every step, so one `predictions` answer per run tells them; the
// filters view's panels and the compare form share this one cache.

import type { Api } from "./client";
import type { RunSummary } from "./types";

export class ProbeImages {
  private readonly known = new Map<string, ReadonlySet<number>>();
  private readonly loading = new Map<string, Promise<ReadonlySet<number>>>();

  constructor(private readonly api: Api) {}

  /** The probe images of `run` if already known (for synchronous checks such as prefetch plans), else an empty set. */
  peek(run: RunSummary | null): ReadonlySet<number> {
    return (run && this.known.get(run.run)) || EMPTY;
  }

  /**
   * The probe images of `run`, asking `predictions` once per run: at `step` when it has
   * predictions (that answer is usually wanted anyway), else at the latest step that has.
   * Empty for a run without predictions; rejects when the request fails (and asks again next time).
   */
  load(run: RunSummary, step: number | null = null): Promise<ReadonlySet<number>> {
    const hit = this.known.get(run.run);
    if (hit) return Promise.resolve(hit);
    const steps = run.steps_by_kind.predictions ?? [];
    if (!steps.length) return Promise.resolve(EMPTY);
    const pending = this.loading.get(run.run);
    if (pending) return pending;
    const at = step !== null && steps.includes(step) ? step : steps[steps.length - 1];
    const request = this.api.predictions(run.run, at).then(
      (answer) => {
        const probes: ReadonlySet<number> = new Set(answer.probe_images);
        this.known.set(run.run, probes);
        this.loading.delete(run.run);
        return probes;
      },
      (error: unknown) => {
        this.loading.delete(run.run);
        throw error;
      },
    );
    this.loading.set(run.run, request);
    return request;
  }
}

const EMPTY: ReadonlySet<number> = new Set();
