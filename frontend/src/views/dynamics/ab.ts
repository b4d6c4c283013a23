// The training dynamics' A/B overlay: B's series drawn in the same chart as A's (so on one value
// scale), each layer in one colour on both sides, A's lines solid and B's dashed. DOM-free but
// for the key that says which is which.

import type { DynamicsResponse } from "../../api/types";
import { toNumber } from "../../api/types";
import type { LineSeries } from "../../charts/line_chart";
import { categoricalColor } from "../../lib/colours";
import { h } from "../../ui/dom";

/** Which side a line belongs to ("a" alone when A/B is off). */
export type SideName = "a" | "b";

/** The layers of A, then those only B has: a layer's position is its colour on both sides. */
export function overlayLayers(a: DynamicsResponse | null, b: DynamicsResponse | null): string[] {
  const names = Object.keys(a?.series ?? {});
  for (const name of Object.keys(b?.series ?? {})) if (!names.includes(name)) names.push(name);
  return names;
}

/**
 * The chart's lines: every layer of A (solid) and, with `b`, every layer of B (dashed), a layer
 * in the same colour on both sides; the selected layer's lines drawn thicker. Each line's
 * `data-layer` and `data-side` name it for scripts and tests.
 */
export function overlaySeries(
  a: DynamicsResponse | null,
  b: DynamicsResponse | null,
  selected: string | null,
  labels: { a: string; b: string } = { a: "A", b: "B" },
): LineSeries[] {
  const layers = overlayLayers(a, b);
  const lines: LineSeries[] = [];
  for (const [side, data] of [
    ["a", a],
    ["b", b],
  ] as const) {
    if (!data) continue;
    for (const name of Object.keys(data.series)) {
      const series = data.series[name];
      lines.push({
        name: b ? `${side === "a" ? labels.a : labels.b}: ${name}` : name,
        points: series.steps.map((step, j) => [step, toNumber(series.values[j])] as const),
        colour: categoricalColor(layers.indexOf(name)),
        selected: name === selected,
        dashed: side === "b",
        attrs: { "data-layer": name, "data-side": side },
      });
    }
  }
  return lines;
}

/** The value of `data`'s `layer` at the logged step nearest `step`, with that step; null without one. */
export function valueNear(
  data: DynamicsResponse | null,
  layer: string,
  step: number,
): { step: number; value: number } | null {
  const series = data?.series[layer];
  if (!series?.steps.length) return null;
  let best = 0;
  for (let i = 1; i < series.steps.length; i += 1)
    if (Math.abs(series.steps[i] - step) < Math.abs(series.steps[best] - step)) best = i;
  return { step: series.steps[best], value: toNumber(series.values[best]) };
}

/** The key of an overlay: A's run drawn solid, B's dashed. */
export function overlayKey(runA: string, runB: string): HTMLElement {
  const sample = (style: string) =>
    h("span", {
      class: "dv-swatch dv-swatch-wide",
      style: { background: "transparent", borderTop: `2px ${style} #424242`, height: "0", borderRadius: "0" },
    });
  return h(
    "div",
    { testid: "dynamics-ab-key", class: "dv-legend" },
    h("span", { class: "dv-legend-item", attrs: { "data-side": "a" } }, sample("solid"), `A: ${runA} (solid)`),
    h("span", { class: "dv-legend-item", attrs: { "data-side": "b" } }, sample("dashed"), `B: ${runB} (dashed)`),
  );
}
