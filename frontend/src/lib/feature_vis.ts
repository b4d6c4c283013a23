// Feature visualizations (an image that excites each unit, rendered at some checkpoints): which
// cell of a layer's sprite shows a unit, and the sentences the panels say about a render. DOM-free.

import type { FeatureVisLayout, RunSummary } from "../api/types";
import { thumbnailOrigin } from "./layout";

/** The position of `unit`'s image in the layout's sprite, or -1 when it was not rendered. */
export function featureVisPosition(layout: FeatureVisLayout, unit: number): number {
  return layout.units.indexOf(unit);
}

/** Top-left pixel of the cell at `position` of the sprite (a grid without gaps). */
export function featureVisOrigin(layout: FeatureVisLayout, position: number): { x: number; y: number } {
  return thumbnailOrigin(layout, position);
}

/** "0, 1, 5" for a few units, "64 units from 0 to 511" for many. */
export function unitsText(units: readonly number[]): string {
  if (!units.length) return "none";
  return units.length <= 16
    ? units.join(", ")
    : `${units.length} units from ${Math.min(...units)} to ${Math.max(...units)}`;
}

/** "rendered at step 4", and when that is an earlier checkpoint than `selected`, which one it stands for. */
export function renderedAtText(rendered: number, selected: number | null): string {
  return selected === null || rendered === selected
    ? `rendered at step ${rendered}`
    : `rendered at step ${rendered}, an earlier checkpoint (the latest render at or before step ${selected})`;
}

/** Why a layer shows no feature visualization: the layers that have one, or how to turn it on. */
export function noFeatureVisText(run: RunSummary, layer: string | null): string {
  const names = run.layers.filter((entry) => entry.has_feature_vis).map((entry) => entry.name);
  if (!names.length)
    return `Nothing rendered: run ${run.run} has no feature visualization (DeepViz(..., feature_vis=[layers]) renders them).`;
  return `Nothing rendered: layer ${layer ?? "–"} has no feature visualization; layers with it: ${names.join(", ")}.`;
}

/** Why a checkpoint before the first render shows none. */
export function notRenderedYetText(run: RunSummary, step: number): string {
  const first = run.steps_by_kind.feature_vis?.[0];
  return first === undefined
    ? `Nothing rendered yet at step ${step}: feature visualizations come in the background, after their checkpoint.`
    : `Nothing rendered at or before step ${step}; the first render is at step ${first}.`;
}

/** The render's method and cost, for a status line ("fourier, 512 steps, warm start from step 4"). */
export function methodText(layout: FeatureVisLayout): string {
  const parts = [layout.method || "feature visualization"];
  if (layout.steps !== null && layout.steps !== undefined) parts.push(`${layout.steps} steps`);
  if (layout.warm_started && layout.warm_from !== null && layout.warm_from !== undefined)
    parts.push(`warm start from step ${layout.warm_from}`);
  return parts.join(", ");
}
