// A scatter plot on a canvas (thousands of points stay cheap): 2-D points fitted into a square
// box, each with its colour; some faded (another group is highlighted), some ringed (selected,
// pointed at, or pointed at in a partner chart: A/B scatters of the same points). Two charts can
// share their axes by fitting the same bounds. Pointing shows a tooltip the caller fills and is
// reported; clicking reports the point.

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

/** The data range a scatter fits into its box. */
export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

type Projection = readonly (readonly (number | string)[])[];

function finitePairs(projection: Projection): { index: number; px: number; py: number }[] {
  const finite: { index: number; px: number; py: number }[] = [];
  projection.forEach((pair, index) => {
    const px = toNumber(pair[0] as number);
    const py = toNumber(pair[1] as number);
    if (Number.isFinite(px) && Number.isFinite(py)) finite.push({ index, px, py });
  });
  return finite;
}

/** The range of the finite points of all `projections` (so that two charts share their axes); null for none. */
export function projectionBounds(projections: readonly Projection[]): Bounds | null {
  let bounds: Bounds | null = null;
  for (const projection of projections) {
    for (const { px, py } of finitePairs(projection)) {
      if (!bounds) bounds = { minX: px, maxX: px, minY: py, maxY: py };
      else {
        bounds.minX = Math.min(bounds.minX, px);
        bounds.maxX = Math.max(bounds.maxX, px);
        bounds.minY = Math.min(bounds.minY, py);
        bounds.maxY = Math.max(bounds.maxY, py);
      }
    }
  }
  return bounds;
}

/**
 * Canvas positions (in a size x size box with `pad` margin) of the finite points, y up as in a
 * plot, fitting `bounds` (default: the points' own range) with one scale for both axes.
 */
export function scatterPoints(
  projection: Projection,
  size: number,
  pad: number,
  bounds: Bounds | null = null,
): ScatterPoint[] {
  const finite = finitePairs(projection);
  if (!finite.length) return [];
  const { minX, maxX, minY, maxY } = bounds ?? (projectionBounds([projection]) as Bounds);
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
  /** Called with the point under the pointer, or null when it leaves the points. */
  onHover?: (index: number | null) => void;
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
  /** The point pointed at in a partner chart (ringed, dashed), or null. */
  private partner: number | null = null;

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
      const had = this.hovered !== null;
      this.hovered = null;
      this.tooltip.hidden = true;
      this.draw();
      if (had) settings.onHover?.(null);
    });
    this.canvas.addEventListener("click", (event) => {
      const point = this.pointAt(event);
      if (point) settings.onClick?.(point.index);
    });
    container.appendChild(this.element);
  }

  /**
   * New points (a projection: one [x, y] per index; non-finite ones are left out), or none;
   * fitted to `bounds` when given (the range of two charts that share their axes).
   */
  setPoints(projection: Projection | null, bounds: Bounds | null = null): void {
    this.points = projection ? scatterPoints(projection, this.size, this.pad, bounds) : [];
    this.hovered = null;
    this.tooltip.hidden = true;
  }

  /** Ring the point `index` as pointed at in a partner chart (null: none), and redraw. */
  setPartner(index: number | null): void {
    if (index === this.partner) return;
    this.partner = index;
    this.draw();
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
      const partner = point.index === this.partner;
      if (!selected && !partner && point !== this.hovered) continue;
      context.strokeStyle = selected ? "#1565c0" : "#212121";
      context.lineWidth = 2;
      context.setLineDash(partner && !selected && point !== this.hovered ? [3, 2] : []);
      context.beginPath();
      context.arc(point.x, point.y, partner ? 8 : 6, 0, Math.PI * 2);
      context.stroke();
    }
    context.setLineDash([]);
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
    this.settings.onHover?.(point ? point.index : null);
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
