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

// ------------------------------------------------------------------ units and Grad-CAM

/** `#rrggbb` or `hsl(h, s%, l%)` (the forms categoricalColor writes) as RGB 0..255. */
export function parseColour(colour: string): [number, number, number] {
  const hex = /^#([0-9a-f]{6})$/i.exec(colour);
  if (hex) {
    const value = Number.parseInt(hex[1], 16);
    return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
  }
  const hsl = /^hsl\(\s*([\d.]+),\s*([\d.]+)%,\s*([\d.]+)%\s*\)$/.exec(colour);
  if (hsl) return hslToRgb(Number(hsl[1]), Number(hsl[2]) / 100, Number(hsl[3]) / 100);
  return [153, 153, 153];
}

/** Hue in degrees, saturation and lightness 0..1, of an RGB colour. */
export function rgbToHsl([r, g, b]: Rgb): [number, number, number] {
  const [red, green, blue] = [r / 255, g / 255, b / 255];
  const max = Math.max(red, green, blue);
  const min = Math.min(red, green, blue);
  const lightness = (max + min) / 2;
  const delta = max - min;
  if (delta === 0) return [0, 0, lightness];
  const saturation = delta / (1 - Math.abs(2 * lightness - 1));
  let hue: number;
  if (max === red) hue = ((green - blue) / delta) % 6;
  else if (max === green) hue = (blue - red) / delta + 2;
  else hue = (red - green) / delta + 4;
  return [(hue * 60 + 360) % 360, saturation, lightness];
}

export function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const h = (((hue % 360) + 360) % 360) / 60;
  const x = chroma * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] =
    h < 1
      ? [chroma, x, 0]
      : h < 2
        ? [x, chroma, 0]
        : h < 3
          ? [0, chroma, x]
          : h < 4
            ? [0, x, chroma]
            : h < 5
              ? [x, 0, chroma]
              : [chroma, 0, x];
  const m = lightness - chroma / 2;
  return [r, g, b].map((value) => Math.round((value + m) * 255)) as [number, number, number];
}

/**
 * A unit's colour: the hue of its top class's category colour (the colour the dashboard gives
 * that class everywhere), its saturation scaled by the unit's selectivity (0 grey, 1 the class's
 * own colour). A non-finite selectivity counts as 0.
 */
export function unitColour(topClass: number, selectivity: number): string {
  return rgb(unitRgb(topClass, selectivity));
}

/** unitColour as RGB 0..255. */
export function unitRgb(topClass: number, selectivity: number): [number, number, number] {
  const [hue, saturation, lightness] = rgbToHsl(parseColour(categoricalColor(topClass)));
  const amount = Number.isFinite(selectivity) ? Math.max(0, Math.min(1, selectivity)) : 0;
  return hslToRgb(hue, saturation * amount, lightness);
}

/** A colour with an opacity, as CSS. */
export function rgba(colour: Rgb, alpha: number): string {
  return `rgba(${colour[0]}, ${colour[1]}, ${colour[2]}, ${alpha})`;
}

/** The sequential map (the activations' colours) at `t` in 0..1, interpolated between its stops. */
export function sequentialColour(t: number): [number, number, number] {
  const stops = COLOURS.sequential;
  const position = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const index = Math.min(stops.length - 2, Math.floor(position));
  const within = position - index;
  return [0, 1, 2].map((channel) =>
    Math.round(stops[index][channel] + (stops[index + 1][channel] - stops[index][channel]) * within),
  ) as [number, number, number];
}
