// What the units views compute from route answers, DOM-free: the order of a layer's units, where
// a unit's receptive-field box falls on a displayed image, where a crop sits in a top-images
// sprite, a unit's series over checkpoints, and the pixels of a Grad-CAM overlay.

import type { Box, JsonNumber, UnitSummary, UnitsHistoryResponse } from "../api/types";
import { toNumber } from "../api/types";
import { sequentialColour } from "./colours";

/** The orders of a layer's units (the Units view's rows): by index, by selectivity, by top class. */
export const UNITS_SORTS = ["unit", "selectivity", "class"] as const;
export type UnitsSort = (typeof UNITS_SORTS)[number];

/** How many top images the panels show: the k of the records (the server may log more). */
export const TOP_SHOWN = 9;

/** Side of one crop of a top-images sprite by default (the answer's `cell`); crops are 1 px apart. */
export const CROP_SIZE = 48;
export const CROP_GAP = 1;

/** A selectivity to sort by: NaN (a broken unit) sorts below every number. */
function sortable(value: JsonNumber): number {
  const number = toNumber(value);
  return Number.isFinite(number) ? number : Number.NEGATIVE_INFINITY;
}

/**
 * The units' indices in the order the matrix shows them: by index; by selectivity (most
 * selective first); or by top class (then most selective first). Dead units go last in both
 * sorted orders, ties by index.
 */
export function sortUnits(units: readonly UnitSummary[], sort: UnitsSort): number[] {
  const order = units.map((_, index) => index);
  if (sort === "unit") return order;
  const byIndex = (a: number, b: number) => units[a].unit - units[b].unit;
  const bySelectivity = (a: number, b: number) =>
    sortable(units[b].selectivity) - sortable(units[a].selectivity) || byIndex(a, b);
  return order.sort((a, b) => {
    const dead = Number(units[a].dead) - Number(units[b].dead);
    if (dead) return dead;
    if (sort === "class") return units[a].top_class - units[b].top_class || bySelectivity(a, b);
    return bySelectivity(a, b);
  });
}

/**
 * Where a receptive-field box (input pixels: top, left, bottom, right; bottom and right
 * exclusive) falls on the same image displayed at `display` CSS pixels: left, top, width and
 * height in those pixels, inside the image and at least 1 px wide and high.
 */
export function boxOnImage(
  box: Box,
  inputShape: readonly number[],
  display: { width: number; height: number },
): { left: number; top: number; width: number; height: number } {
  const [inputHeight, inputWidth] = [Math.max(1, inputShape[0] ?? 1), Math.max(1, inputShape[1] ?? 1)];
  const sx = display.width / inputWidth;
  const sy = display.height / inputHeight;
  const clampX = (x: number) => Math.max(0, Math.min(display.width, x));
  const clampY = (y: number) => Math.max(0, Math.min(display.height, y));
  const [top, left, bottom, right] = box;
  const x0 = clampX(left * sx);
  const y0 = clampY(top * sy);
  const x1 = Math.max(clampX(right * sx), Math.min(display.width, x0 + 1));
  const y1 = Math.max(clampY(bottom * sy), Math.min(display.height, y0 + 1));
  return { left: x0, top: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

/** The left edge of crop `index` in a top-images sprite of `size` px crops. */
export function cropX(index: number, size = CROP_SIZE): number {
  return index * (size + CROP_GAP);
}

/** A unit's value at each step of a history table ([step][unit]) as chart points. */
export function unitSeries(
  history: Pick<UnitsHistoryResponse, "steps">,
  table: readonly (readonly JsonNumber[])[],
  unit: number,
): [number, number][] {
  return history.steps.map((step, i) => [step, toNumber(table[i]?.[unit])]);
}

/** Opacity of the Grad-CAM overlay where the map reaches the top of its scale. */
export const GRADCAM_ALPHA = 0.65;

/**
 * The RGBA pixels (one per map value, row-major) of a Grad-CAM overlay: each value divided by
 * the top of `scale` (one scale per probe over every checkpoint, so a map that grows shows
 * brighter), coloured by the sequential map and as opaque as it is strong (0 transparent,
 * the top `maxAlpha`). Values beyond the scale clamp; NaN and an empty scale are transparent.
 */
export function gradcamPixels(
  values: readonly JsonNumber[],
  scale: readonly [JsonNumber, JsonNumber] | readonly JsonNumber[],
  maxAlpha = GRADCAM_ALPHA,
): Uint8ClampedArray {
  const low = toNumber(scale[0] ?? 0);
  const high = toNumber(scale[1] ?? Number.NaN);
  const span = high - (Number.isFinite(low) ? low : 0);
  const pixels = new Uint8ClampedArray(values.length * 4);
  values.forEach((raw, i) => {
    const value = toNumber(raw);
    if (!Number.isFinite(value) || !(span > 0)) return; // transparent
    const t = Math.max(0, Math.min(1, (value - (Number.isFinite(low) ? low : 0)) / span));
    const [r, g, b] = sequentialColour(t);
    pixels.set([r, g, b, Math.round(t * maxAlpha * 255)], i * 4);
  });
  return pixels;
}
