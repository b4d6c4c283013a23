// One colour scale for A and B: in A/B mode the filter banks and the activation maps of both
// sides are drawn on a range that covers both (asked of the routes as `range=low,high`), so one
// colour is one value on either side. The range is worked out from the two sides' own layouts
// (their layer scales), once per selection; both panels of a pair ask the same SharedScale.

import type { ActivationLayout, FilterLayout } from "../api/types";
import { toNumber } from "../api/types";
import { activationsLayoutUrl, filtersLayoutUrl, type ValueRange } from "../api/urls";
import type { AppContext } from "../core/context";
import { hasStep, MAIN, SIDE_B } from "../core/derived";
import type { State } from "../core/state";
import { formatNumber } from "../lib/format";

/**
 * The weights' range shared by A and B: ±(the larger of the two layers' scales). The layouts are
 * drawn with norm "layer" (each side's largest |w|) or "global" (each side's over all its
 * checkpoints); either way every scale of a layout is that one number.
 */
export function sharedFilterRange(a: FilterLayout, b: FilterLayout): ValueRange {
  const largest = Math.max(0, ...[...a.scales, ...b.scales].map(toNumber).filter(Number.isFinite));
  return [-largest, largest];
}

/** The activations' range shared by A and B: from the lower to the higher of their layer ranges. */
export function sharedActivationRange(a: ActivationLayout, b: ActivationLayout): ValueRange | null {
  const ranges = [a.layer_range, b.layer_range].filter((range): range is [number, number] => range !== null);
  if (!ranges.length) return null;
  const low = Math.min(...ranges.map((range) => range[0]));
  const high = Math.max(...ranges.map((range) => range[1]));
  return high > low ? [low, high] : null;
}

/** The legend's words for a shared range of weights or activations. */
export function describeSharedRange(kind: "weights" | "activations", range: ValueRange): string {
  return kind === "weights"
    ? `one colour scale for A and B: ±${formatNumber(range[1])} (the larger of the two layers' largest |w|)`
    : `one colour scale for A and B: ${formatNumber(range[0])} … ${formatNumber(range[1])} (both images' activations at this layer)`;
}

export class SharedScale {
  private readonly ranges = new Map<string, Promise<ValueRange | null>>();

  constructor(private readonly ctx: AppContext) {}

  /** The weights' range for A and B at the selection, or null when A/B is off or a side has no weights there. */
  filters(state: Readonly<State>): Promise<ValueRange | null> {
    const plan = this.filtersPlan(state);
    if (!plan) return Promise.resolve(null);
    return this.remember(plan.key, async () => {
      const [layoutA, layoutB] = await Promise.all(
        plan.urls.map((url) => this.ctx.api.getJson<FilterLayout>(url, true)),
      );
      return sharedFilterRange(layoutA, layoutB);
    });
  }

  /** The activations' range of the selected image for A and B, or null when A/B is off or a side lacks them. */
  activations(state: Readonly<State>): Promise<ValueRange | null> {
    const plan = this.activationsPlan(state);
    if (!plan) return Promise.resolve(null);
    return this.remember(plan.key, async () => {
      const [layoutA, layoutB] = await Promise.all(
        plan.urls.map((url) => this.ctx.api.getJson<ActivationLayout>(url, true)),
      );
      return sharedActivationRange(layoutA, layoutB);
    });
  }

  /**
   * The layouts both ranges are worked out from, for `state` (the prefetcher asks with each coming
   * step, so that while playing a frame's shared scale is known when the frame comes).
   */
  layoutUrls(state: Readonly<State>): string[] {
    return [...(this.filtersPlan(state)?.urls ?? []), ...(this.activationsPlan(state)?.urls ?? [])];
  }

  /** What the weights' range of `state` depends on: a memo key and A's and B's layout URLs. */
  private filtersPlan(state: Readonly<State>): { key: string; urls: string[] } | null {
    const sides = this.sides(state);
    const layer = state.layer;
    if (!sides || layer === null) return null;
    const [a, b] = sides;
    if (!hasStep(a.run, "weights", a.step) || !hasStep(b.run, "weights", b.step)) return null;
    if (!a.run.layers.some((entry) => entry.name === layer && entry.has_weights)) return null;
    if (!b.run.layers.some((entry) => entry.name === layer && entry.has_weights)) return null;
    const norm = state.norm === "global" ? "global" : "layer";
    return {
      key: `filters\u0000${a.run.run}\u0000${a.step}\u0000${b.run.run}\u0000${b.step}\u0000${layer}\u0000${norm}`,
      urls: [a, b].map((side) => filtersLayoutUrl(side.run.run, layer, side.step, norm)),
    };
  }

  /** The same for the activations' range (of the selected image, with norm "layer"). */
  private activationsPlan(state: Readonly<State>): { key: string; urls: string[] } | null {
    const sides = this.sides(state);
    const { layer, image } = state;
    if (!sides || layer === null || image === null) return null;
    const [a, b] = sides;
    if (!hasStep(a.run, "activations", a.step) || !hasStep(b.run, "activations", b.step)) return null;
    return {
      key: `activations\u0000${a.run.run}\u0000${a.step}\u0000${b.run.run}\u0000${b.step}\u0000${layer}\u0000${image}`,
      urls: [a, b].map((side) => activationsLayoutUrl(side.run.run, layer, side.step, image, "layer")),
    };
  }

  private sides(state: Readonly<State>) {
    if (state.runB === null) return null;
    const runA = MAIN.run(state);
    const runB = SIDE_B.run(state);
    const stepA = MAIN.step(state);
    const stepB = SIDE_B.step(state);
    if (!runA || !runB || stepA === null || stepB === null) return null;
    return [
      { run: runA, step: stepA },
      { run: runB, step: stepB },
    ] as const;
  }

  /** One computation per key; a failed one (a side without the record) is null and tried again next time. */
  private remember(key: string, compute: () => Promise<ValueRange | null>): Promise<ValueRange | null> {
    let found = this.ranges.get(key);
    if (!found) {
      found = compute().catch(() => {
        this.ranges.delete(key);
        return null;
      });
      if (this.ranges.size > 512) this.ranges.clear();
      this.ranges.set(key, found);
    }
    return found;
  }
}
