// Legends: colour keys (swatches or gradients with their meaning) and the colour of each
// category, as rows of small elements with the names as text.

import { categoricalColor } from "../lib/colours";
import { h, replaceChildren } from "./dom";

/** A colour key: swatches (CSS colours or gradients) with their meaning. */
export function colourKey(entries: [string, string][]): HTMLElement {
  return h(
    "div",
    { class: "dv-legend dv-colour-key" },
    ...entries.map(([background, label]) =>
      h(
        "span",
        { class: "dv-legend-item" },
        h("span", { class: "dv-swatch dv-swatch-wide", style: { background } }),
        label,
      ),
    ),
  );
}

/** One swatch per category (up to `limit`, then "… n more"). */
export function categoryLegend(element: HTMLElement, names: readonly string[], limit = 40): void {
  const items: HTMLElement[] = names
    .slice(0, limit)
    .map((name, i) =>
      h(
        "span",
        { class: "dv-legend-item" },
        h("span", { class: "dv-swatch", style: { background: categoricalColor(i) } }),
        name,
      ),
    );
  if (names.length > limit) items.push(h("span", { class: "dv-muted", text: `… ${names.length - limit} more` }));
  replaceChildren(element, ...items);
}
