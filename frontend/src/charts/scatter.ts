// A scatter plot on a canvas (thousands of points stay cheap): 2-D points fitted into a square
// box, each with its colour; some faded (another group is highlighted), some ringed (selected,
// pointed at). Pointing shows a tooltip the caller fills; clicking reports the point.

import { toNumber } from "../api/types";
import { h, replaceChildren } from "../ui/dom";
import { ensureStyles } from "../ui/styles";

const CSS = `
.dv-scatter-box { position: relative; flex: none; }
.dv-scatter { border: 1px solid var(--dv-border); cursor: crosshair; display: block; }
.dv-tooltip { position: absolute; pointer-events: none; background: #fff; border: 1px solid var(--dv-border); box-shadow: 0 2px 6px rgba(0,0,0,.2); padding: 4px; font-size: 11px; z-index: 3; line-height: 1.3; }
`;

export interface ScatterPoint {
  /** The point's index in the data (an eval image). */
  index: number;
  x: number;
  y: number;
}

/** Canvas positions (in a size x size box with `pad` margin) of the finite points, y up as in a plot. */
export function scatterPoints(
  projection: readonly (readonly (number | string)[])[],
  size: number,
  pad: number,
): ScatterPoint[] {
  const finite: { index: number; px: number; py: number }[] = [];
  projection.forEach((pair, index) => {
    const px = toNumber(pair[0] as number);
    const py = toNumber(pair[1] as number);
    if (Number.isFinite(px) && Number.isFinite(py)) finite.push({ index, px, py });
  });
  if (!finite.length) return [];
  const xs = finite.map((p) => p.px);
  const ys = finite.map((p) => p.py);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const inner = size - 2 * pad;
  const offsetX = pad + (inner - ((maxX - minX) / span) * inner) / 2;
  const offsetY = pad + (inner - ((maxY - minY) / span) * inner) / 2;
  return finite.map(({ index, px, py }) => ({
    index,
    x: offsetX + ((px - minX) / span) * inner,
    y: size - (offsetY + ((py - minY) / span) * inner),
  }));
}

/** The point nearest (x, y) within `radius`, or null. */
export function nearestPoint(
  points: readonly ScatterPoint[],
  x: number,
  y: number,
  radius: number,
): ScatterPoint | null {
  let best: ScatterPoint | null = null;
  let bestDistance = radius * radius;
  for (const point of points) {
    const distance = (point.x - x) ** 2 + (point.y - y) ** 2;
    if (distance <= bestDistance) {
      best = point;
      bestDistance = distance;
    }
  }
  return best;
}

export interface ScatterStyle {
  colour(index: number): string;
  /** Drawn faint (e.g. outside the highlighted cluster). */
  faded?(index: number): boolean;
  /** The selected point's index (ringed in the selection colour), or null. */
  selected?: number | null;
}

export interface ScatterSettings {
  testid?: string;
  tooltipTestid?: string;
  ariaLabel: string;
  /** Side of the square box in CSS pixels. */
  size?: number;
  pad?: number;
  /** The tooltip's content for a point (text only). */
  tooltip?: (index: number) => Node[];
  onClick?: (index: number) => void;
}

export class ScatterChart {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly size: number;
  private readonly pad: number;
  private points: ScatterPoint[] = [];
  private style: ScatterStyle | null = null;
  private hovered: ScatterPoint | null = null;

  constructor(
    container: HTMLElement,
    private readonly settings: ScatterSettings,
  ) {
    ensureStyles("scatter", CSS);
    this.size = settings.size ?? 440;
    this.pad = settings.pad ?? 12;
    this.canvas = h("canvas", {
      testid: settings.testid,
      class: "dv-scatter",
      attrs: { role: "img", "aria-label": settings.ariaLabel },
      style: { width: `${this.size}px`, height: `${this.size}px` },
    });
    this.tooltip = h("div", { class: "dv-tooltip", testid: settings.tooltipTestid });
    this.tooltip.hidden = true;
    this.element = h("div", { class: "dv-scatter-box" }, this.canvas, this.tooltip);
    this.canvas.addEventListener("mousemove", (event) => this.onMove(event));
    this.canvas.addEventListener("mouseleave", () => {
      this.hovered = null;
      this.tooltip.hidden = true;
      this.draw();
    });
    this.canvas.addEventListener("click", (event) => {
      const point = this.pointAt(event);
      if (point) settings.onClick?.(point.index);
    });
    container.appendChild(this.element);
  }

  /** New points (a projection: one [x, y] per index; non-finite ones are left out), or none. */
  setPoints(projection: readonly (readonly (number | string)[])[] | null): void {
    this.points = projection ? scatterPoints(projection, this.size, this.pad) : [];
    this.hovered = null;
    this.tooltip.hidden = true;
  }

  /** Draw the points with `style` (kept for redraws on hover), or only clear with null. */
  draw(style: ScatterStyle | null = this.style): void {
    this.style = style;
    const ratio = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(this.size * ratio)) {
      this.canvas.width = Math.round(this.size * ratio);
      this.canvas.height = Math.round(this.size * ratio);
    }
    const context = this.canvas.getContext("2d");
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, this.size, this.size);
    if (!style) return;
    for (const point of this.points) {
      context.globalAlpha = style.faded?.(point.index) ? 0.12 : 0.85;
      context.fillStyle = style.colour(point.index);
      context.beginPath();
      context.arc(point.x, point.y, 3, 0, Math.PI * 2);
      context.fill();
    }
    context.globalAlpha = 1;
    for (const point of this.points) {
      const selected = point.index === style.selected;
      if (!selected && point !== this.hovered) continue;
      context.strokeStyle = selected ? "#1565c0" : "#212121";
      context.lineWidth = 2;
      context.beginPath();
      context.arc(point.x, point.y, 6, 0, Math.PI * 2);
      context.stroke();
    }
  }

  private pointAt(event: MouseEvent): ScatterPoint | null {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * this.size) / Math.max(rect.width, 1);
    const y = ((event.clientY - rect.top) * this.size) / Math.max(rect.height, 1);
    return nearestPoint(this.points, x, y, 8);
  }

  private onMove(event: MouseEvent): void {
    const point = this.pointAt(event);
    if (point === this.hovered) return;
    this.hovered = point;
    this.draw();
    if (!point || !this.style || !this.settings.tooltip) {
      this.tooltip.hidden = true;
      return;
    }
    replaceChildren(this.tooltip, ...this.settings.tooltip(point.index));
    this.tooltip.hidden = false;
    this.tooltip.style.left = `${Math.min(point.x + 12, this.size - 90)}px`;
    this.tooltip.style.top = `${Math.min(point.y + 12, this.size - 110)}px`;
  }
}
