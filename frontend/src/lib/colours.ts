// Colours as CSS strings: categories (classes, clusters, layers), blends for shading cells, and
// the sprites' colour maps as gradients, taken from the generated contract so that legends
// show the colours the server's renderer draws with. DOM-free.

import { COLOURS } from "../generated/contract";

export type Rgb = readonly [number, number, number] | readonly number[];

/** Categorical colours (Tableau 10, then 10 lighter ones), cycling with varied lightness beyond. */
const CATEGORICAL = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#a0cbe8",
  "#ffbe7d",
  "#ff9d9a",
  "#8cd17d",
  "#b6992d",
  "#f1ce63",
  "#499894",
  "#86bcb6",
  "#d37295",
  "#d4a6c8",
];

export function categoricalColor(index: number): string {
  if (index < 0) return "#999999";
  if (index < CATEGORICAL.length) return CATEGORICAL[index];
  const hue = (index * 137.508) % 360;
  const lightness = 40 + ((index * 7) % 25);
  return `hsl(${hue.toFixed(1)}, 55%, ${lightness}%)`;
}

export function rgb(colour: Rgb): string {
  return `rgb(${colour[0]}, ${colour[1]}, ${colour[2]})`;
}

/** `from` blended towards `to` by `t` (clamped to 0..1). */
export function mix(from: Rgb, to: Rgb, t: number): string {
  const amount = Math.max(0, Math.min(1, t));
  return rgb(from.map((value, i) => Math.round(value + (to[i] - value) * amount)));
}

/** A left-to-right CSS gradient through `stops`. */
export function gradient(stops: readonly Rgb[]): string {
  return `linear-gradient(to right, ${stops.map(rgb).join(", ")})`;
}

/** The colours the renderer gives values it cannot place on a map. */
export const NON_FINITE: [string, string][] = [
  [rgb(COLOURS.nan), "NaN"],
  [rgb(COLOURS.pos_inf), "+Inf"],
  [rgb(COLOURS.neg_inf), "-Inf"],
];

/** Weights: the diverging map, centred on 0. */
export const WEIGHT_KEY: [string, string][] = [[gradient(COLOURS.diverging), "negative · 0 · positive"], ...NON_FINITE];

/** Activations: the sequential map, low to high. */
export const ACTIVATION_KEY: [string, string][] = [[gradient(COLOURS.sequential), "low · high"], ...NON_FINITE];
