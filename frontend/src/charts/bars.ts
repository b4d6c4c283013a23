// Horizontal bars with a label and a value each (a prediction's class probabilities; later a
// unit's class means), with a caption above and a note below. Bars are elements, so labels
// stay text and rows can carry classes and data attributes.

import { h, replaceChildren } from "../ui/dom";
import { ensureStyles } from "../ui/styles";

const CSS = `
.dv-bar-row { display: grid; grid-template-columns: 90px 1fr 52px; gap: 6px; align-items: center; font-size: 11px; }
.dv-bar-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dv-bar-track { height: 10px; background: #eceff1; position: relative; }
.dv-bar { position: absolute; left: 0; top: 0; bottom: 0; background: #90a4ae; }
.dv-predicted .dv-bar { background: var(--dv-accent); }
.dv-true .dv-bar-label { font-weight: 600; }
.dv-bar-value { text-align: right; font-variant-numeric: tabular-nums; }
`;

export interface Bar {
  label: string;
  /** Length as a fraction of the track (clamped to 0..1; non-finite draws nothing). */
  fraction: number;
  /** The value as written at the end of the row. */
  text: string;
  title: string;
  /** Extra classes of the row (the chart's CSS knows dv-predicted and dv-true). */
  classes?: readonly string[];
  attrs?: Record<string, string | number>;
}

export interface BarChartData {
  caption: string;
  bars: readonly Bar[];
  note?: string | null;
}

export interface BarChartSettings {
  testid?: string;
  className?: string;
}

export class BarChart {
  readonly element: HTMLElement;

  constructor(container: HTMLElement, settings: BarChartSettings = {}) {
    ensureStyles("bars", CSS);
    this.element = h("div", { testid: settings.testid, class: settings.className });
    container.appendChild(this.element);
  }

  draw({ caption, bars, note }: BarChartData): void {
    const rows = bars.map((bar) => {
      const width = Number.isFinite(bar.fraction) ? Math.max(0, Math.min(1, bar.fraction)) * 100 : 0;
      return h(
        "div",
        { class: ["dv-bar-row", ...(bar.classes ?? [])].join(" "), attrs: bar.attrs, title: bar.title },
        h("span", { class: "dv-bar-label", text: bar.label }),
        h("span", { class: "dv-bar-track" }, h("span", { class: "dv-bar", style: { width: `${width}%` } })),
        h("span", { class: "dv-bar-value", text: bar.text }),
      );
    });
    replaceChildren(
      this.element,
      h("div", { class: "dv-small dv-muted", text: caption }),
      ...rows,
      note ? h("div", { class: "dv-small dv-muted", text: note }) : null,
    );
  }

  /** A line of text instead of bars (why there are none), or an error. */
  message(text: string, error = false): void {
    replaceChildren(this.element, h("span", { class: error ? "dv-status-error" : "dv-muted", text }));
  }

  clear(): void {
    replaceChildren(this.element);
  }
}
