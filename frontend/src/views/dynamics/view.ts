// Training dynamics (DGMTracker): one line per layer of a statistic (mean, std, norm, ...) of
// its weights, gradients or activations over all logged steps; NaN/Inf markers; a "first
// anomaly" button that moves the timeline and the layer selection to where NaN/Inf appeared.
// In A/B mode B's run is overlaid in the same chart (one value scale): A solid, B dashed.

import { errorText } from "../../api/client";
import type { Anomaly, DynamicsResponse, RunSummary, StatisticName, StatisticSource } from "../../api/types";
import { LineChart, type LineMarker } from "../../charts/line_chart";
import type { AppContext } from "../../core/context";
import { checkpointAtOrAfter, currentRun, nearestCheckpoint, SIDE_B } from "../../core/derived";
import { Latest, runGate } from "../../core/guards";
import type { State } from "../../core/state";
import { STATISTIC_NAMES, STATISTIC_SOURCES } from "../../generated/contract";
import { categoricalColor } from "../../lib/colours";
import { formatNumber } from "../../lib/format";
import { checkbox, h, replaceChildren, Status, select } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { TabView } from "../common";
import { BPicker } from "../confusion/ab";
import { overlayKey, overlayLayers, overlaySeries, valueNear } from "./ab";

const CSS = `
.dv-chart .dv-nan { fill: #d32f2f; }
.dv-chart .dv-inf { fill: #8e24aa; }
.dv-chart .dv-nan.dv-marker-b { fill: #fff; stroke: #d32f2f; stroke-width: 1.5px; }
.dv-chart .dv-inf.dv-marker-b { fill: #fff; stroke: #8e24aa; stroke-width: 1.5px; }
`;

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
  update_ratio: "update ratio (weights: step change / norm)",
  saturation: "saturated share (outputs before tanh, sigmoid, hardtanh)",
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

/** One mark per step with NaN (or Inf) in any layer, naming the layers in its tooltip. */
export function nonFiniteMarkers(data: DynamicsResponse): LineMarker[] {
  const markers: LineMarker[] = [];
  for (const [kind, row, shape] of [
    ["nan", 0, "triangle"],
    ["inf", 1, "diamond"],
  ] as const) {
    const byStep = new Map<number, string[]>();
    for (const [name, series] of Object.entries(data.series)) {
      for (const step of kind === "nan" ? series.nan_steps : series.inf_steps) {
        byStep.set(step, [...(byStep.get(step) ?? []), name]);
      }
    }
    for (const [step, names] of byStep) {
      markers.push({
        x: step,
        row,
        shape,
        className: `dv-${kind}`,
        testid: `dynamics-${kind}`,
        title: `${kind === "nan" ? "NaN" : "Inf"} at step ${step} in ${names.join(", ")}`,
        attrs: { "data-step": step },
      });
    }
  }
  return markers;
}

/** B's NaN/Inf marks in an A/B overlay: hollow, in the same rows, their tooltips naming B. */
export function markersOfB(data: DynamicsResponse): LineMarker[] {
  return nonFiniteMarkers(data).map((marker) => ({
    ...marker,
    className: `${marker.className} dv-marker-b`,
    testid: marker.testid ? `${marker.testid}-b` : undefined,
    title: `B: ${marker.title}`,
  }));
}

export class DynamicsView extends TabView {
  private readonly status = new Status();
  private readonly statSelect: HTMLSelectElement;
  private readonly sourceSelect: HTMLSelectElement;
  private readonly logScale: HTMLInputElement;
  private readonly anomalyButton: HTMLButtonElement;
  private readonly anomalyNote: HTMLElement;
  private readonly chart: LineChart;
  private readonly legend: HTMLElement;
  private readonly readout: HTMLElement;
  private readonly loads = new Latest();
  private loadedKey = "";
  private data: DynamicsResponse | null = null;
  /** A/B: B's series (another run's, with the same statistic), or null. */
  private dataB: DynamicsResponse | null = null;
  private loadedKeyB = "";
  private readonly loadsB = new Latest();
  private readonly statusB = new Status("dynamics-ab-status");
  private readonly picker: BPicker;
  private readonly key: HTMLElement;

  constructor(ctx: AppContext, root: HTMLElement) {
    super(ctx, root);
    ensureStyles("dynamics", CSS);
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
      on: { click: () => this.jumpToAnomaly() },
    });
    this.anomalyButton.disabled = true;
    this.anomalyNote = h("span", { class: "dv-small dv-muted", testid: "dynamics-anomaly" });
    this.legend = h("div", { class: "dv-legend" });
    this.readout = h("div", { class: "dv-small dv-muted", testid: "dynamics-readout" });
    this.picker = new BPicker(ctx, {
      kind: "statistics",
      toggleTestid: "dynamics-ab-toggle",
      prefix: "dynamics-",
      runOnly: true,
    });
    this.key = h("div", {});
    this.statusB.element.hidden = true;
    const box = h("div", { class: "dv-chart-box" });
    this.chart = new LineChart(box, {
      testid: "dynamics-chart",
      width: () => Math.max(480, (root.clientWidth || box.clientWidth || 900) - 8),
      onClick: (step) => this.moveTimeline(step),
      onMove: (step) => this.showReadout(step),
    });
    root.append(
      h(
        "div",
        { class: "dv-toolbar" },
        h("label", { class: "dv-inline" }, this.statSelect),
        h("label", { class: "dv-inline" }, "of ", this.sourceSelect),
        log.label,
        this.anomalyButton,
        this.anomalyNote,
        this.picker.toggle,
      ),
      h("div", { class: "dv-toolbar" }, this.picker.element, this.statusB.element),
      this.status.element,
      this.key,
      box,
      this.readout,
      this.legend,
    );
    this.watch(["runs", "run", "stat", "source", "loaded"], () => void this.load());
    this.watch(["runs", "run", "runB", "stat", "source", "loaded"], () => void this.loadB());
    this.watch(["step", "layer", "logScale"], () => this.draw());
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

  protected refresh(): void {
    void Promise.all([this.load(), this.loadB()]).then(() => this.draw());
  }

  /** A/B: load B's series (same statistic) when B is another run with statistics; else none. */
  private async loadB(): Promise<void> {
    const state = this.store.get();
    const runB = SIDE_B.run(state);
    const none = (text: string, kind: "empty" | "error" = "empty") => {
      const had = this.dataB !== null;
      this.dataB = null;
      this.loadedKeyB = "";
      this.statusB.set(kind, text);
      this.statusB.element.hidden = !text;
      if (had) this.draw();
    };
    if (state.runB === null) return none("");
    if (!runB) return none(`B's run ${state.runB} is not listed.`);
    if (runB.run === state.run) return none("B is A's run: choose another run to overlay.");
    if (!runB.kinds.includes("statistics") || !runB.statistics_steps.count)
      return none(`B's run ${runB.run} has no layer statistics.`);
    const key = `${runB.run}|${state.stat}|${state.source}|${runB.statistics_steps.count}|${runB.statistics_steps.last}`;
    if (key === this.loadedKeyB && this.dataB) return;
    const current = this.loadsB.start();
    let data: DynamicsResponse;
    try {
      data = await this.ctx.api.dynamics(runB.run, { stat: state.stat, source: state.source });
    } catch (error) {
      if (current()) none(`Could not load B's statistics: ${errorText(error)}`, "error");
      return;
    }
    if (!current()) return;
    this.dataB = data;
    this.loadedKeyB = key;
    this.statusB.set("ready", "");
    this.statusB.element.hidden = true;
    this.draw();
  }

  private async load(): Promise<void> {
    const state = this.store.get();
    const empty = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.data = null;
      this.loadedKey = "";
      this.status.set(kind, text);
      this.anomalyButton.disabled = true;
      this.anomalyButton.textContent = "First anomaly";
      this.anomalyNote.textContent = "";
      this.draw();
    };
    const gate = runGate(state);
    if (!gate.ok) return empty(gate.text, gate.state);
    const run = gate.run;
    if (!run.kinds.includes("statistics") || !run.statistics_steps.count)
      return empty(`Run ${run.run} has no layer statistics (log them with viz.log_step(step)).`);
    const key = `${run.run}|${state.stat}|${state.source}|${run.statistics_steps.count}|${run.statistics_steps.last}`;
    if (key === this.loadedKey && this.data) return;
    const current = this.loads.start();
    this.status.set("loading", `Loading ${STAT_LABELS[state.stat]} of ${state.source}…`);
    let data: DynamicsResponse;
    try {
      data = await this.ctx.api.dynamics(run.run, { stat: state.stat, source: state.source });
    } catch (error) {
      if (current()) empty(`Could not load the statistics: ${errorText(error)}`, "error");
      return;
    }
    if (!current()) return;
    this.data = data;
    this.loadedKey = key;
    const layers = Object.keys(data.series);
    const points = layers.reduce((sum, name) => sum + data.series[name].steps.length, 0);
    if (!points)
      this.status.set(
        "empty",
        `No ${state.source} statistics were logged yet${state.source === "gradients" ? " (gradients exist only after a backward pass)" : ""}.`,
      );
    else
      this.status.set(
        "ready",
        `${STAT_LABELS[data.stat]} of ${data.source} · ${layers.length} layers · ${run.statistics_steps.count} logged steps (up to 500 points per layer, NaN/Inf steps kept) · click the chart to move the timeline`,
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
    const run = currentRun(this.store.get());
    const anomaly = this.data?.first_anomaly;
    if (!run || !anomaly) return;
    const target = anomalyTarget(run, anomaly);
    const patch: Partial<State> = { playing: false };
    if (target.step !== null) patch.step = target.step;
    if (target.layer !== null) {
      patch.layer = target.layer;
      patch.filter = null;
      patch.unit = null;
    }
    this.store.set(patch);
    const shown =
      target.step === null
        ? ""
        : target.step === anomaly.step
          ? ` · timeline at step ${target.step}`
          : ` · timeline at checkpoint ${target.step}, the first at or after it`;
    this.anomalyNote.textContent = `${describeAnomaly(anomaly)}${shown}`;
  }

  private draw(): void {
    const state = this.store.get();
    const data = this.data;
    if (!data) {
      this.chart.draw(null, "no statistics");
      replaceChildren(this.legend);
      replaceChildren(this.key);
      return;
    }
    const dataB = this.dataB;
    const runA = currentRun(state);
    const runB = dataB ? SIDE_B.run(state) : null;
    const layers = overlayLayers(data, dataB);
    const series = overlaySeries(data, dataB, state.layer);
    const drawn = this.chart.draw({
      series,
      markers: [...nonFiniteMarkers(data), ...(dataB ? markersOfB(dataB) : [])],
      xExtent: [...(runA?.checkpoints ?? []), ...(runB?.checkpoints ?? [])],
      rule: state.step,
      title: `${STAT_LABELS[data.stat]} of ${data.source}${dataB ? " · A solid, B dashed" : ""}`,
      xLabel: "step",
      logScale: state.logScale,
      ariaLabel: `${STAT_LABELS[data.stat]} of ${data.source} for ${layers.length} layers${dataB && runB ? `, ${runB.run} dashed` : ""}`,
    });
    replaceChildren(this.key, dataB && runA && runB ? overlayKey(runA.run, runB.run) : null);
    if (!drawn) {
      replaceChildren(this.legend);
      return;
    }
    const warned = (name: string) =>
      [data, dataB].some((side) => {
        const entry = side?.series[name];
        return Boolean(entry && (entry.nan_steps.length || entry.inf_steps.length));
      });
    const items = layers.map((name, i) =>
      h(
        "button",
        {
          class: `dv-legend-item dv-link${name === state.layer ? " dv-selected" : ""}`,
          title: `select ${name}`,
          attrs: { type: "button", "data-layer": name },
          on: { click: () => this.store.set({ layer: name, filter: null, unit: null }) },
          style: { textDecoration: "none", color: "inherit", fontWeight: name === state.layer ? "600" : "400" },
        },
        h("span", { class: "dv-swatch", style: { background: categoricalColor(i) } }),
        name,
        warned(name) ? " ⚠" : "",
      ),
    );
    replaceChildren(this.legend, ...items);
  }

  private moveTimeline(step: number): void {
    const run = currentRun(this.store.get());
    const checkpoint = run ? nearestCheckpoint(run.checkpoints, step) : null;
    if (checkpoint !== null) this.store.set({ step: checkpoint, playing: false });
  }

  private showReadout(step: number | null): void {
    const data = this.data;
    if (step === null || !data) {
      this.readout.textContent = "";
      return;
    }
    const layer = this.store.get().layer;
    const name = layer && (data.series[layer] || this.dataB?.series[layer]) ? layer : Object.keys(data.series)[0];
    const parts: string[] = [];
    for (const [side, values] of [
      ["A", data],
      ["B", this.dataB],
    ] as const) {
      if (!values || name === undefined) continue;
      const near = valueNear(values, name, step);
      if (!near) continue;
      const prefix = this.dataB ? `${side}: ` : "";
      parts.push(`${prefix}${name} at step ${near.step}: ${formatNumber(near.value, 5)}`);
    }
    this.readout.textContent = parts.join(" · ");
  }
}
