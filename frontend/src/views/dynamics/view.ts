// Training dynamics (DGMTracker): one line per layer of a statistic (mean, std, norm, ...) of
// its weights, gradients or activations over all logged steps; NaN/Inf markers; a "first
// anomaly" button that moves the timeline and the layer selection to where NaN/Inf appeared.

import { axisBottom, axisLeft } from "d3-axis";
import { scaleLinear, scaleSymlog } from "d3-scale";
import { select as d3select } from "d3-selection";
import { line } from "d3-shape";
import {
  describe,
  STATISTIC_NAMES,
  STATISTIC_SOURCES,
  toNumber,
  type Anomaly,
  type DynamicsResponse,
  type RunSummary,
  type StatisticName,
  type StatisticSource,
} from "../../api/client";
import type { AppContext, View } from "../../core/context";
import { checkpointAtOrAfter, currentRun, nearestCheckpoint, type State } from "../../core/store";
import { categoricalColor, checkbox, formatNumber, h, replaceChildren, select, Status } from "../../ui/dom";

const HEIGHT = 360;
const MARGIN = { top: 22, right: 16, bottom: 30, left: 64 };

const STAT_LABELS: Record<StatisticName, string> = {
  count: "count",
  mean: "mean",
  std: "standard deviation",
  min: "minimum",
  max: "maximum",
  norm: "L2 norm",
  zero_fraction: "fraction of zeros",
  nan_count: "NaN count",
  inf_count: "Inf count",
};

/** Where the timeline goes for an anomaly: the first checkpoint at or after its step (where it shows). */
export function anomalyTarget(run: RunSummary, anomaly: Anomaly): { step: number | null; layer: string | null } {
  const layer = run.layers.some((entry) => entry.name === anomaly.layer) ? anomaly.layer : null;
  return { step: checkpointAtOrAfter(run.checkpoints, anomaly.step), layer };
}

export function describeAnomaly(anomaly: Anomaly): string {
  const parts = anomaly.sources.map((source) => {
    const counts = [
      source.nan_count ? `${source.nan_count} NaN` : "",
      source.inf_count ? `${source.inf_count} Inf` : "",
    ]
      .filter(Boolean)
      .join(", ");
    return `${source.source}: ${counts}`;
  });
  return `first NaN/Inf at step ${anomaly.step} in ${anomaly.layer} (${parts.join("; ")})`;
}

export class DynamicsView implements View {
  readonly root: HTMLElement;
  private active = false;
  private readonly status = new Status();
  private readonly statSelect: HTMLSelectElement;
  private readonly sourceSelect: HTMLSelectElement;
  private readonly logScale: HTMLInputElement;
  private readonly anomalyButton: HTMLButtonElement;
  private readonly anomalyNote: HTMLElement;
  private readonly chart: SVGSVGElement;
  private readonly legend: HTMLElement;
  private readonly readout: HTMLElement;
  private readonly box: HTMLElement;
  private token = 0;
  private loadedKey = "";
  private data: DynamicsResponse | null = null;
  private x: ((step: number) => number) & { invert(value: number): number } = Object.assign((v: number) => v, {
    invert: (v: number) => v,
  });

  constructor(private readonly ctx: AppContext) {
    const { store } = ctx;
    const state = store.get();
    this.statSelect = select(
      "dynamics-stat",
      STATISTIC_NAMES.map((name) => [name, STAT_LABELS[name]]),
      state.stat,
      (value) => store.set({ stat: value as StatisticName }),
      "Statistic",
    );
    this.sourceSelect = select(
      "dynamics-source",
      STATISTIC_SOURCES.map((name) => [name, name]),
      state.source,
      (value) => store.set({ source: value as StatisticSource }),
      "Of what",
    );
    const log = checkbox("dynamics-log", "log scale", state.logScale, (checked) => store.set({ logScale: checked }));
    this.logScale = log.input;
    this.anomalyButton = h("button", {
      testid: "dynamics-first-anomaly",
      class: "dv-button",
      text: "First anomaly",
      attrs: { type: "button" },
    });
    this.anomalyButton.disabled = true;
    this.anomalyButton.addEventListener("click", () => this.jumpToAnomaly());
    this.anomalyNote = h("span", { class: "dv-small dv-muted", testid: "dynamics-anomaly" });
    this.chart = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    this.chart.setAttribute("data-testid", "dynamics-chart");
    this.chart.setAttribute("class", "dv-chart");
    this.chart.setAttribute("role", "img");
    this.chart.setAttribute("height", String(HEIGHT));
    this.chart.addEventListener("click", (event) => this.onClick(event));
    this.chart.addEventListener("mousemove", (event) => this.onMove(event));
    this.legend = h("div", { class: "dv-legend" });
    this.readout = h("div", { class: "dv-small dv-muted", testid: "dynamics-readout" });
    this.box = h("div", { class: "dv-chart-box" }, this.chart);
    this.root = h(
      "section",
      { testid: "view-dynamics", class: "dv-view", attrs: { role: "tabpanel", "aria-label": "Training dynamics" } },
      h(
        "div",
        { class: "dv-toolbar" },
        h("label", { class: "dv-inline" }, this.statSelect),
        h("label", { class: "dv-inline" }, "of ", this.sourceSelect),
        log.label,
        this.anomalyButton,
        this.anomalyNote,
      ),
      this.status.element,
      this.box,
      this.readout,
      this.legend,
    );
    this.root.hidden = true;
    store.subscribe(() => this.active && void this.load(), ["runs", "run", "stat", "source", "loaded"]);
    store.subscribe(() => this.active && this.draw(), ["step", "layer", "logScale"]);
    store.subscribe(
      (s) => {
        this.statSelect.value = s.stat;
        this.sourceSelect.value = s.source;
        this.logScale.checked = s.logScale;
      },
      ["stat", "source", "logScale"],
    );
    window.addEventListener("resize", () => this.active && this.draw());
  }

  setActive(active: boolean): void {
    this.active = active;
    this.root.hidden = !active;
    if (active) void this.load().then(() => this.draw());
  }

  private async load(): Promise<void> {
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const empty = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.data = null;
      this.loadedKey = "";
      this.status.set(kind, text);
      this.anomalyButton.disabled = true;
      this.anomalyButton.textContent = "First anomaly";
      this.anomalyNote.textContent = "";
      this.draw();
    };
    if (!state.loaded) return empty("Loading the list of runs…", "loading");
    if (!run) return empty(state.runs.length ? "Select a run." : "No run has deepviz data yet.");
    if (!run.kinds.includes("statistics") || !run.statistics_steps.count)
      return empty(`Run ${run.run} has no layer statistics (log them with viz.log_step(step)).`);
    const key = `${run.run}|${state.stat}|${state.source}|${run.statistics_steps.count}|${run.statistics_steps.last}`;
    if (key === this.loadedKey && this.data) return;
    const token = ++this.token;
    this.status.set("loading", `Loading ${STAT_LABELS[state.stat]} of ${state.source}…`);
    try {
      const data = await this.ctx.api.dynamics(run.run, { stat: state.stat, source: state.source });
      if (token !== this.token) return;
      this.data = data;
      this.loadedKey = key;
    } catch (error) {
      if (token !== this.token) return;
      return empty(`Could not load the statistics: ${describe(error)}`, "error");
    }
    const data = this.data;
    const layers = Object.keys(data.series);
    const points = layers.reduce((sum, name) => sum + data.series[name].steps.length, 0);
    const total = run.statistics_steps.count;
    if (!points)
      this.status.set(
        "empty",
        `No ${state.source} statistics were logged yet${state.source === "gradients" ? " (gradients exist only after a backward pass)" : ""}.`,
      );
    else
      this.status.set(
        "ready",
        `${STAT_LABELS[data.stat]} of ${data.source} · ${layers.length} layers · ${total} logged steps (up to 500 points per layer, NaN/Inf steps kept) · click the chart to move the timeline`,
      );
    const anomaly = data.first_anomaly;
    this.anomalyButton.disabled = !anomaly;
    this.anomalyButton.textContent = anomaly
      ? `First anomaly: step ${anomaly.step}, ${anomaly.layer}`
      : "No NaN/Inf found";
    this.anomalyNote.textContent = anomaly ? describeAnomaly(anomaly) : "";
    this.draw();
  }

  private jumpToAnomaly(): void {
    const state = this.ctx.store.get();
    const run = currentRun(state);
    const anomaly = this.data?.first_anomaly;
    if (!run || !anomaly) return;
    const target = anomalyTarget(run, anomaly);
    const patch: Partial<State> = { playing: false };
    if (target.step !== null) patch.step = target.step;
    if (target.layer !== null) {
      patch.layer = target.layer;
      patch.filter = null;
    }
    this.ctx.store.set(patch);
    const shown =
      target.step === null
        ? ""
        : target.step === anomaly.step
          ? ` · timeline at step ${target.step}`
          : ` · timeline at checkpoint ${target.step}, the first at or after it`;
    this.anomalyNote.textContent = `${describeAnomaly(anomaly)}${shown}`;
  }

  private width(): number {
    return Math.max(480, (this.root.clientWidth || this.box.clientWidth || 900) - 8);
  }

  private draw(): void {
    const svg = d3select(this.chart);
    svg.selectAll("*").remove();
    const width = this.width();
    svg.attr("width", width).attr("viewBox", `0 0 ${width} ${HEIGHT}`);
    const state = this.ctx.store.get();
    const data = this.data;
    if (!data) {
      replaceChildren(this.legend);
      this.chart.setAttribute("aria-label", "no statistics");
      return;
    }
    const layers = Object.keys(data.series);
    let minStep = Infinity;
    let maxStep = -Infinity;
    let minValue = Infinity;
    let maxValue = -Infinity;
    for (const name of layers) {
      const series = data.series[name];
      for (const step of [...series.steps, ...series.nan_steps, ...series.inf_steps]) {
        minStep = Math.min(minStep, step);
        maxStep = Math.max(maxStep, step);
      }
      for (const raw of series.values) {
        const value = toNumber(raw);
        if (!Number.isFinite(value)) continue;
        minValue = Math.min(minValue, value);
        maxValue = Math.max(maxValue, value);
      }
    }
    const checkpoints = currentRun(state)?.checkpoints ?? [];
    for (const step of checkpoints) {
      minStep = Math.min(minStep, step);
      maxStep = Math.max(maxStep, step);
    }
    if (!Number.isFinite(minStep)) {
      replaceChildren(this.legend);
      return;
    }
    if (minStep === maxStep) maxStep = minStep + 1;
    if (!Number.isFinite(minValue)) [minValue, maxValue] = [0, 1];
    if (minValue === maxValue) [minValue, maxValue] = [minValue - 1, maxValue + 1];
    const x = scaleLinear()
      .domain([minStep, maxStep])
      .range([MARGIN.left, width - MARGIN.right]);
    const y = (state.logScale ? scaleSymlog() : scaleLinear())
      .domain([minValue, maxValue])
      .nice()
      .range([HEIGHT - MARGIN.bottom, MARGIN.top]);
    this.x = Object.assign((step: number) => x(step), { invert: (value: number) => x.invert(value) });

    const stepTicks = x.ticks(Math.max(2, Math.floor(width / 90))).filter((tick) => Number.isInteger(tick));
    svg
      .append("g")
      .attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`)
      .call(
        axisBottom(x)
          .tickValues(stepTicks)
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
    svg
      .append("text")
      .attr("x", MARGIN.left)
      .attr("y", 12)
      .attr("fill", "#616161")
      .text(`${STAT_LABELS[data.stat]} of ${data.source}`);
    svg
      .append("text")
      .attr("x", width - MARGIN.right)
      .attr("y", HEIGHT - 2)
      .attr("text-anchor", "end")
      .attr("fill", "#616161")
      .text("step");

    // The checkpoint selected on the timeline.
    if (state.step !== null) {
      svg
        .append("line")
        .attr("class", "dv-rule")
        .attr("x1", x(state.step))
        .attr("x2", x(state.step))
        .attr("y1", MARGIN.top)
        .attr("y2", HEIGHT - MARGIN.bottom);
    }
    const path = line<[number, number]>()
      .defined((d) => Number.isFinite(d[1]))
      .x((d) => x(d[0]))
      .y((d) => y(d[1]));
    const selectedLayer = state.layer;
    layers.forEach((name, i) => {
      const series = data.series[name];
      const values: [number, number][] = series.steps.map((step, j) => [step, toNumber(series.values[j])]);
      const selected = name === selectedLayer;
      svg
        .append("path")
        .datum(values)
        .attr("class", `dv-line${selected ? " dv-line-selected" : ""}`)
        .attr("data-layer", name)
        .attr("stroke", categoricalColor(i))
        .attr("stroke-opacity", selectedLayer && !selected && layers.length > 1 ? 0.55 : 1)
        .attr("d", path)
        .append("title")
        .text(name);
    });
    // Non-finite values: one marker per step along the top (NaN: red triangle, Inf: purple
    // diamond), naming the layers in its tooltip.
    for (const [kind, shape] of [
      ["nan", "M-5,-4L5,-4L0,5Z"],
      ["inf", "M0,-5L5,0L0,5L-5,0Z"],
    ] as const) {
      const byStep = new Map<number, string[]>();
      for (const name of layers) {
        for (const step of kind === "nan" ? data.series[name].nan_steps : data.series[name].inf_steps) {
          byStep.set(step, [...(byStep.get(step) ?? []), name]);
        }
      }
      for (const [step, names] of byStep) {
        svg
          .append("path")
          .attr("class", `dv-${kind}`)
          .attr("data-testid", `dynamics-${kind}`)
          .attr("data-step", step)
          .attr("transform", `translate(${x(step)},${MARGIN.top - 8 + (kind === "inf" ? 10 : 0)})`)
          .attr("d", shape)
          .append("title")
          .text(`${kind === "nan" ? "NaN" : "Inf"} at step ${step} in ${names.join(", ")}`);
      }
    }
    this.chart.setAttribute("aria-label", `${STAT_LABELS[data.stat]} of ${data.source} for ${layers.length} layers`);

    const items = layers.map((name, i) =>
      h(
        "button",
        {
          class: `dv-legend-item dv-link${name === selectedLayer ? " dv-selected" : ""}`,
          title: `select ${name}`,
          attrs: { type: "button", "data-layer": name },
          on: { click: () => this.ctx.store.set({ layer: name, filter: null }) },
          style: { textDecoration: "none", color: "inherit", fontWeight: name === selectedLayer ? "600" : "400" },
        },
        h("span", { class: "dv-swatch", style: { background: categoricalColor(i) } }),
        name,
        data.series[name].nan_steps.length || data.series[name].inf_steps.length ? " ⚠" : "",
      ),
    );
    replaceChildren(this.legend, ...items);
  }

  private stepAt(event: MouseEvent): number | null {
    if (!this.data) return null;
    const rect = this.chart.getBoundingClientRect();
    const width = this.width();
    const px = ((event.clientX - rect.left) * width) / Math.max(rect.width, 1);
    if (px < MARGIN.left - 4 || px > width - MARGIN.right + 4) return null;
    return this.x.invert(px);
  }

  private onClick(event: MouseEvent): void {
    const step = this.stepAt(event);
    const run = currentRun(this.ctx.store.get());
    if (step === null || !run) return;
    const checkpoint = nearestCheckpoint(run.checkpoints, step);
    if (checkpoint !== null) this.ctx.store.set({ step: checkpoint, playing: false });
  }

  private onMove(event: MouseEvent): void {
    const step = this.stepAt(event);
    const data = this.data;
    if (step === null || !data) {
      this.readout.textContent = "";
      return;
    }
    const layer = this.ctx.store.get().layer;
    const names = layer && data.series[layer] ? [layer] : Object.keys(data.series).slice(0, 1);
    const parts: string[] = [];
    for (const name of names) {
      const series = data.series[name];
      if (!series.steps.length) continue;
      let best = 0;
      for (let i = 1; i < series.steps.length; i += 1)
        if (Math.abs(series.steps[i] - step) < Math.abs(series.steps[best] - step)) best = i;
      parts.push(`${name} at step ${series.steps[best]}: ${formatNumber(toNumber(series.values[best]), 5)}`);
    }
    this.readout.textContent = parts.join(" · ");
  }
}
