// A line chart on SVG (d3 scales and axes): one line per series over a numeric x axis (steps),
// solid or dashed (an A/B overlay draws B's series dashed on the same axes), an optional rule at
// the selected x, markers along the top (events such as NaN/Inf at a step), linear or symlog y.
// Clicks and pointer moves report the x under the pointer, so a view can move the timeline or
// show a readout. Names reach the page as SVG text and <title> text.

import { axisBottom, axisLeft } from "d3-axis";
import { scaleLinear, scaleSymlog } from "d3-scale";
import { select } from "d3-selection";
import { line } from "d3-shape";
import { formatNumber } from "../lib/format";
import { ensureStyles } from "../ui/styles";

const CSS = `
.dv-chart { display: block; font-size: 11px; user-select: none; }
.dv-chart .dv-line { fill: none; stroke-width: 1.5px; }
.dv-chart .dv-line-selected { stroke-width: 3px; }
.dv-chart .dv-rule { stroke: var(--dv-accent); stroke-width: 1.5px; }
`;

export interface LineSeries {
  name: string;
  /** [x, y] points in x order; a non-finite y breaks the line. */
  points: readonly (readonly [number, number])[];
  colour: string;
  /** Drawn thicker, the other lines a little faded. */
  selected?: boolean;
  /** Drawn dashed (B's series of an A/B overlay; A's are solid). */
  dashed?: boolean;
  /** Further attributes of the line's <path> (data-* for scripts and tests). */
  attrs?: Record<string, string | number>;
}

/** A mark along the top edge at `x`, e.g. a NaN at a step. */
export interface LineMarker {
  x: number;
  /** Which row of marks (0 the top one), so that kinds of marks do not overlap. */
  row: number;
  shape: "triangle" | "diamond";
  className: string;
  testid?: string;
  /** Tooltip text. */
  title: string;
  attrs?: Record<string, string | number>;
}

export interface LineChartData {
  series: readonly LineSeries[];
  markers?: readonly LineMarker[];
  /** Further x values the axis must include (e.g. every checkpoint). */
  xExtent?: readonly number[];
  /** A vertical rule (the selected step), or null. */
  rule?: number | null;
  title: string;
  xLabel: string;
  logScale?: boolean;
  /** The range the value axis covers at least (e.g. [0, 1] for shares), the data widening it. */
  yDomain?: readonly [number, number];
  ariaLabel: string;
}

export interface LineChartSettings {
  testid?: string;
  height?: number;
  /** Called with the x under a click inside the plot area. */
  onClick?: (x: number) => void;
  /** Called with the x under the pointer (null outside the plot area). */
  onMove?: (x: number | null) => void;
  /** The width to draw at (default: the container's, at least 480). */
  width?: () => number;
}

const MARGIN = { top: 22, right: 16, bottom: 30, left: 64 };
const SHAPES = { triangle: "M-5,-4L5,-4L0,5Z", diamond: "M0,-5L5,0L0,5L-5,0Z" };

export class LineChart {
  readonly element: SVGSVGElement;
  private readonly height: number;
  private invert: ((px: number) => number) | null = null;
  private drawnWidth = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly settings: LineChartSettings = {},
  ) {
    ensureStyles("line-chart", CSS);
    this.height = settings.height ?? 360;
    this.element = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    if (settings.testid) this.element.setAttribute("data-testid", settings.testid);
    this.element.setAttribute("class", "dv-chart");
    this.element.setAttribute("role", "img");
    this.element.setAttribute("height", String(this.height));
    this.element.addEventListener("click", (event) => {
      const x = this.xAt(event);
      if (x !== null) settings.onClick?.(x);
    });
    this.element.addEventListener("mousemove", (event) => settings.onMove?.(this.xAt(event)));
    container.appendChild(this.element);
  }

  private width(): number {
    return this.settings.width?.() ?? Math.max(480, (this.container.clientWidth || 900) - 8);
  }

  /**
   * Draw `data`, or an empty chart (with `emptyLabel` for screen readers) for null; false when
   * there was nothing to draw (no x value at all).
   */
  draw(data: LineChartData | null, emptyLabel = "no data"): boolean {
    const svg = select(this.element);
    svg.selectAll("*").remove();
    const width = this.width();
    const height = this.height;
    this.drawnWidth = width;
    this.invert = null;
    svg.attr("width", width).attr("viewBox", `0 0 ${width} ${height}`);
    if (!data) {
      this.element.setAttribute("aria-label", emptyLabel);
      return false;
    }
    let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
    const seeX = (x: number) => {
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
    };
    for (const series of data.series) {
      for (const [x, y] of series.points) {
        seeX(x);
        if (!Number.isFinite(y)) continue;
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
    for (const marker of data.markers ?? []) seeX(marker.x);
    for (const x of data.xExtent ?? []) seeX(x);
    if (!Number.isFinite(minX)) return false;
    if (minX === maxX) maxX = minX + 1;
    if (!Number.isFinite(minY)) [minY, maxY] = [0, 1];
    if (data.yDomain) [minY, maxY] = [Math.min(data.yDomain[0], minY), Math.max(data.yDomain[1], maxY)];
    if (minY === maxY) [minY, maxY] = [minY - 1, maxY + 1];
    const x = scaleLinear()
      .domain([minX, maxX])
      .range([MARGIN.left, width - MARGIN.right]);
    const y = (data.logScale ? scaleSymlog() : scaleLinear())
      .domain([minY, maxY])
      .nice()
      .range([height - MARGIN.bottom, MARGIN.top]);
    this.invert = (px) => x.invert(px);

    const xTicks = x.ticks(Math.max(2, Math.floor(width / 90))).filter((tick) => Number.isInteger(tick));
    svg
      .append("g")
      .attr("transform", `translate(0,${height - MARGIN.bottom})`)
      .call(
        axisBottom(x)
          .tickValues(xTicks)
          .tickFormat((v) => String(v)),
      );
    svg
      .append("g")
      .attr("transform", `translate(${MARGIN.left},0)`)
      .call(
        axisLeft(y)
          .ticks(6)
          .tickFormat((v) => formatNumber(Number(v), 3)),
      );
    svg.append("text").attr("x", MARGIN.left).attr("y", 12).attr("fill", "#616161").text(data.title);
    svg
      .append("text")
      .attr("x", width - MARGIN.right)
      .attr("y", height - 2)
      .attr("text-anchor", "end")
      .attr("fill", "#616161")
      .text(data.xLabel);

    if (data.rule !== null && data.rule !== undefined) {
      svg
        .append("line")
        .attr("class", "dv-rule")
        .attr("x1", x(data.rule))
        .attr("x2", x(data.rule))
        .attr("y1", MARGIN.top)
        .attr("y2", height - MARGIN.bottom);
    }
    const path = line<readonly [number, number]>()
      .defined((d) => Number.isFinite(d[1]))
      .x((d) => x(d[0]))
      .y((d) => y(d[1]));
    const anySelected = data.series.some((series) => series.selected);
    for (const series of data.series) {
      const drawn = svg
        .append("path")
        .datum(series.points)
        .attr("class", `dv-line${series.selected ? " dv-line-selected" : ""}${series.dashed ? " dv-line-dashed" : ""}`)
        .attr("stroke", series.colour)
        .attr("stroke-dasharray", series.dashed ? "6 4" : null)
        .attr("stroke-opacity", anySelected && !series.selected && data.series.length > 1 ? 0.55 : 1)
        .attr("d", path);
      for (const [name, value] of Object.entries(series.attrs ?? {})) drawn.attr(name, value);
      drawn.append("title").text(series.name);
    }
    for (const marker of data.markers ?? []) {
      const mark = svg
        .append("path")
        .attr("class", marker.className)
        .attr("transform", `translate(${x(marker.x)},${MARGIN.top - 8 + marker.row * 10})`)
        .attr("d", SHAPES[marker.shape]);
      if (marker.testid) mark.attr("data-testid", marker.testid);
      for (const [name, value] of Object.entries(marker.attrs ?? {})) mark.attr(name, value);
      mark.append("title").text(marker.title);
    }
    this.element.setAttribute("aria-label", data.ariaLabel);
    return true;
  }

  /** The x (data units) under a pointer event, or null outside the plot area or before a draw. */
  private xAt(event: MouseEvent): number | null {
    if (!this.invert) return null;
    const rect = this.element.getBoundingClientRect();
    const width = this.drawnWidth;
    const px = ((event.clientX - rect.left) * width) / Math.max(rect.width, 1);
    if (px < MARGIN.left - 4 || px > width - MARGIN.right + 4) return null;
    return this.invert(px);
  }
}
