// Units: what each unit of the selected layer responds to, at the selected checkpoint. The unit x
// class matrix of class means (each row shaded by its own largest mean), sortable by selectivity
// or by top class, dead units marked; the layer's selectivity histogram; its median selectivity
// (and share of dead units) over the checkpoints. Clicking a unit's row opens the unit panel.
// The caveats of these numbers are stated on the page.

import { errorText } from "../../api/client";
import type { UnitsHistoryResponse, UnitsResponse } from "../../api/types";
import { toNumber } from "../../api/types";
import { unitsUrl } from "../../api/urls";
import { BarChart } from "../../charts/bars";
import { type Cell, type Heading, type HeatCell, HeatMap, shade } from "../../charts/heatmap";
import { LineChart } from "../../charts/line_chart";
import type { AppContext } from "../../core/context";
import {
  currentRun,
  hasStep,
  layersWithUnits,
  nearestCheckpoint,
  SIDE_B,
  unitsLayer,
  unitsVersion,
} from "../../core/derived";
import { checkpointGate, Latest } from "../../core/guards";
import { formatNumber } from "../../lib/format";
import { className } from "../../lib/search";
import { sortUnits, type UnitsSort } from "../../lib/units";
import { MatchedUnits } from "../../panels/matched_units";
import { UnitPanel } from "../../panels/unit_panel";
import { UnitsHistory } from "../../panels/units_history";
import { h, Status, select, setOptions } from "../../ui/dom";
import { ensureStyles } from "../../ui/styles";
import { TabView } from "../common";
import { type AlignedRow, alignByMatching, BLANK_CELL, BLANK_HEADING, selectivityCell, UnitsAB } from "./ab";

const CSS = `
.dv-units-layout { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.dv-units-matrix-box { max-height: 78vh; overflow: auto; flex: none; max-width: 100%; padding-right: 4px; }
.dv-units-side { flex: 1; min-width: 480px; }
.dv-units-caveats { font-size: 11px; margin: 4px 0 8px; max-width: 980px; }
.dv-units-caveats p { margin: 2px 0; }
.dv-cell-top { box-shadow: inset 0 0 0 1px #37474f; }
.dv-cell-dead { background: repeating-linear-gradient(45deg, #e0e0e0, #e0e0e0 3px, #bdbdbd 3px, #bdbdbd 5px) !important; }
.dv-unit-dead-row { color: var(--dv-error); }
.dv-units-matrix .dv-cell-selected { border-top-color: var(--dv-select); border-bottom-color: var(--dv-select); }
.dv-units-matrix .dv-matrix-row.dv-cell-selected { color: var(--dv-select); font-weight: 600; }
.dv-units-key { display: flex; gap: 12px; font-size: 11px; color: var(--dv-muted); }
.dv-units-swatch { display: inline-block; width: 14px; height: 3px; margin-right: 4px; vertical-align: middle; }
`;

const MEANS: [number, number, number] = [8, 69, 148];
const MEDIAN_COLOUR = "#1565c0";
const DEAD_COLOUR = "#c62828";

export const SORT_LABELS: Record<UnitsSort, string> = {
  unit: "unit index",
  selectivity: "selectivity (most selective first)",
  class: "top class",
};

/** The matrix's row heading of a unit: its index and selectivity, or its death. */
export function unitHeading(units: UnitsResponse, index: number, names: readonly string[]): Heading {
  const unit = units.units[index];
  const selectivity = toNumber(unit.selectivity);
  return {
    label: unit.dead ? `${unit.unit} ✕ dead` : `${unit.unit} · ${formatNumber(selectivity, 2)}`,
    title: unit.dead
      ? `unit ${unit.unit}: dead, never positive on an eval image`
      : `unit ${unit.unit}: top class ${className(names, unit.top_class)}, selectivity ${formatNumber(selectivity, 3)}, largest output ${formatNumber(toNumber(unit.max))}`,
    className: unit.dead ? "dv-unit-dead-row" : undefined,
    attrs: { "data-unit": unit.unit, "data-dead": unit.dead ? "true" : "false" },
  };
}

/** A cell of the matrix: the class mean, shaded by its share of the unit's largest class mean. */
export function unitCell(units: UnitsResponse, index: number, cls: number, names: readonly string[]): HeatCell {
  const unit = units.units[index];
  const row = (units.class_means[index] ?? []).map(toNumber);
  const value = row[cls] ?? Number.NaN;
  const largest = Math.max(0, ...row.filter(Number.isFinite));
  const classes = [unit.dead ? "dv-cell-dead" : "", !unit.dead && cls === unit.top_class ? "dv-cell-top" : ""];
  return {
    text: "",
    ...shade(MEANS, largest > 0 && Number.isFinite(value) ? value / largest : 0),
    title: `unit ${unit.unit}, class ${className(names, cls)}: mean ${formatNumber(value, 4)}${cls === unit.top_class && !unit.dead ? " (top class)" : ""}`,
    className: classes.filter(Boolean).join(" ") || undefined,
    attrs: { "data-unit": unit.unit, "data-value": Number.isFinite(value) ? value : "NaN" },
  };
}

interface Loaded {
  run: string;
  layer: string;
  answer: UnitsResponse;
  names: readonly string[];
  /** The matrix's rows: positions in A's and (in A/B mode) B's units. */
  rows: AlignedRow[];
}

export class UnitsView extends TabView {
  private readonly status = new Status();
  private readonly layerSelect: HTMLSelectElement;
  private readonly sortSelect: HTMLSelectElement;
  private readonly matrix: HeatMap;
  private readonly histogram: BarChart;
  private readonly historyChart: LineChart;
  private readonly historyNote: HTMLElement;
  private readonly panel: UnitPanel;
  private readonly loads = new Latest();
  private data: Loaded | null = null;
  private readonly histories: UnitsHistory;
  private readonly panelB: UnitPanel;
  private readonly ab: UnitsAB;
  private readonly matched: MatchedUnits;

  constructor(ctx: AppContext, root: HTMLElement) {
    super(ctx, root);
    this.histories = new UnitsHistory(ctx.api);
    ensureStyles("units", CSS);
    const { store } = ctx;
    this.layerSelect = select(
      "units-layer",
      [],
      "",
      (layer) => store.set({ layer, filter: null, unit: null, unitB: null }),
      "Layer",
    );
    this.sortSelect = select(
      "units-sort",
      Object.entries(SORT_LABELS) as [UnitsSort, string][],
      store.get().unitsSort,
      (value) => store.set({ unitsSort: value as UnitsSort }),
      "Order of the units",
    );
    const matrixBox = h(
      "div",
      { class: "dv-units-matrix-box" },
      h("div", { class: "dv-small dv-muted", text: "rows: units (index · selectivity) · columns: classes" }),
    );
    this.matrix = new HeatMap(matrixBox, {
      testid: "units-matrix",
      cellTestid: "units-cell",
      className: "dv-matrix-compact dv-units-matrix",
      ariaLabel: "Class means of each unit",
      rowAttribute: "data-row",
      columnAttribute: "data-class",
      onClick: (cell) => this.pick(cell),
    });
    this.ab = new UnitsAB(ctx, (row) => this.pick({ row, column: 0 }, "B"));
    const side = h("div", { class: "dv-units-side" });
    // A/B mode: the matched units first (a pair selects A's unit and B's), then A's unit panel.
    this.matched = new MatchedUnits(side, ctx, { testidSuffix: "-units" });
    this.panel = new UnitPanel(side, ctx, { hint: "Click a unit's row in the matrix to see what it responds to." });
    // B's unit of the selected row (B's unit i is not A's unit i), while A/B is on.
    this.panelB = new UnitPanel(side, ctx, { side: SIDE_B, unitKey: "unitB", testidSuffix: "-b", hideWhenNone: true });
    side.append(h("h3", { text: "The layer" }));
    this.histogram = new BarChart(side, { testid: "units-histogram" });
    const chartBox = h("div", {});
    side.append(chartBox);
    this.historyChart = new LineChart(chartBox, {
      testid: "units-history",
      height: 200,
      width: () => Math.max(420, Math.min(720, (side.clientWidth || 600) - 8)),
      onClick: (x) => {
        const run = currentRun(store.get());
        const step = run ? nearestCheckpoint(run.checkpoints, x) : null;
        if (step !== null) store.set({ step, playing: false });
      },
    });
    this.historyNote = h(
      "div",
      { class: "dv-units-key" },
      ...[
        [MEDIAN_COLOUR, "median selectivity"],
        [DEAD_COLOUR, "share of dead units"],
      ].map(([colour, label]) =>
        h("span", {}, h("span", { class: "dv-units-swatch", style: { background: colour } }), label),
      ),
    );
    side.append(this.historyNote);
    const caveats = h(
      "div",
      { testid: "units-caveats", class: "dv-units-caveats dv-panel" },
      h("p", {
        text: "High selectivity does not mean the unit matters for the decision: a unit can respond to one class alone and still be ignored by the layers after it. Only removing it and measuring would tell.",
      }),
      h("p", {
        text: "Class means are of the rectified output: ReLU applied to what the module outputs, which is usually the pre-activation, since the hooks sit on the Conv and Linear modules. They are averaged over positions, then over each class's eval images; selectivity is computed from them.",
      }),
      h("p", { text: "Dead units (✕) were never positive on any eval image." }),
    );
    root.append(
      h(
        "div",
        { class: "dv-toolbar" },
        h("label", { class: "dv-inline" }, "layer ", this.layerSelect),
        h("label", { class: "dv-inline" }, "sort by ", this.sortSelect),
        this.ab.toggle,
      ),
      this.ab.picker,
      this.status.element,
      caveats,
      h("div", { class: "dv-units-layout" }, matrixBox, this.ab.column, side),
    );
    this.watchFrame(["runs", "run", "step", "loaded", "layer", "runB", "stepB"], () => this.load());
    this.watch(["unitsSort"], () => this.renderMatrix());
    this.watch(["unit", "unitB"], () => this.markSelected());
    store.subscribe((s) => (this.sortSelect.value = s.unitsSort), ["unitsSort"]);
    window.addEventListener("resize", () => this.active && this.renderHistory());
    ctx.prefetcher.register((step) => {
      const state = store.get();
      const run = currentRun(state);
      const layer = unitsLayer(run, state.layer);
      if (!this.active || !run || !layer || !hasStep(run, "units", step)) return [];
      return [{ kind: "json", url: unitsUrl(run.run, layer.name, step) }];
    });
  }

  protected override activeChanged(active: boolean): void {
    super.activeChanged(active);
    this.panel.setActive(active);
    this.panelB.setActive(active);
    this.matched.setActive(active);
  }

  protected refresh(): void {
    void this.load();
  }

  /**
   * Open the unit of the clicked row (rows are positions in the sorted order); in A/B mode a row
   * is a matched pair, so the click selects A's unit and B's unit of the row.
   */
  private pick(cell: Cell, side: "A" | "B" = "A"): void {
    const data = this.data;
    const row = data?.rows[cell.row];
    if (!data || !row) return;
    const unit = row.a === null ? null : (data.answer.units[row.a]?.unit ?? null);
    const b = this.ab.data && row.b !== null ? (this.ab.data.answer.units[row.b]?.unit ?? null) : null;
    if (this.ab.data) {
      if (unit === null && b === null) return;
      if (side === "A" && unit === null) return;
      this.store.set({ unit, unitB: b });
    } else if (unit !== null) this.store.set({ unit });
  }

  private async load(): Promise<void> {
    const current = this.loads.start();
    const state = this.store.get();
    const run = currentRun(state);
    const withUnits = layersWithUnits(run);
    setOptions(
      this.layerSelect,
      withUnits.map((layer) => [layer.name, layer.kind ? `${layer.name} (${layer.kind})` : layer.name]),
      state.layer ?? "",
    );
    this.layerSelect.disabled = withUnits.length === 0;
    const empty = (text: string, kind: "empty" | "loading" | "error" = "empty") => {
      this.data = null;
      this.status.set(kind, text);
      this.matrix.clear();
      this.ab.matrix.clear();
      this.histogram.clear();
      this.historyChart.draw(null);
      this.historyNote.hidden = true;
    };
    const abLoad = this.ab.load(state);
    this.ab.column.hidden = state.runB === null;
    const gate = checkpointGate(state, "units", "unit summary");
    if (!gate.ok) return empty(gate.text, gate.state);
    const layer = unitsLayer(gate.run, state.layer);
    if (!layer) {
      const names = withUnits.map((entry) => entry.name);
      return empty(
        names.length
          ? `Layer ${state.layer ?? "–"} has no unit records; choose one of: ${names.join(", ")}.`
          : `Run ${gate.run.run} has no unit records.`,
      );
    }
    const { step } = gate;
    void this.loadHistory(gate.run.run, layer.name, unitsVersion(gate.run));
    if (!this.data) this.status.set("loading", `Loading the units of ${layer.name} at step ${step}…`);
    const { api } = this.ctx;
    try {
      const [answer, corpus] = await Promise.all([
        api.units(gate.run.run, layer.name, step),
        gate.run.kinds.includes("corpus") ? api.corpus(gate.run.run).catch(() => null) : Promise.resolve(null),
      ]);
      if (!current()) return;
      const names = corpus?.class_names?.length ? corpus.class_names : gate.run.class_names;
      await abLoad;
      if (!current()) return;
      this.data = { run: gate.run.run, layer: layer.name, answer, names, rows: [] };
    } catch (error) {
      if (current()) empty(`Could not load the units of ${layer.name}: ${errorText(error)}`, "error");
      return;
    }
    this.renderMatrix();
    this.renderHistogram();
    this.renderHistory();
  }

  private renderMatrix(): void {
    const data = this.data;
    if (!data) return;
    const { answer, names } = data;
    const order = sortUnits(answer.units, this.store.get().unitsSort);
    const b = this.ab.data;
    data.rows = b
      ? b.match
        ? alignByMatching(order, answer.units, b.answer.units, b.match)
        : order.map((a, i) => ({ a, b: i < b.answer.units.length ? i : null, similarity: null }))
      : order.map((a) => ({ a, b: null, similarity: null }));
    const classes = answer.class_means[0]?.length ?? names.length;
    const columns = Array.from({ length: classes }, (_, c) => ({
      label: className(names, c),
      title: `class ${className(names, c)}`,
    }));
    // A/B mode: a last column of selectivity, on one 0..1 scale for both sides.
    const selectivityColumn = { label: "sel.", title: "selectivity: one 0–1 scale for A and B" };
    this.matrix.draw({
      rows: data.rows.map((row) => (row.a === null ? BLANK_HEADING : unitHeading(answer, row.a, names))),
      columns: b ? [...columns, selectivityColumn] : columns,
      cell: (r, column) => {
        const a = data.rows[r].a;
        if (a === null) return BLANK_CELL;
        return column === classes ? selectivityCell(answer, a, "A") : unitCell(answer, a, column, names);
      },
    });
    if (b) {
      const namesB = names;
      this.ab.matrix.draw({
        rows: data.rows.map((row) => {
          if (row.b === null) return BLANK_HEADING;
          const heading = unitHeading(b.answer, row.b, namesB);
          const match =
            row.similarity === null
              ? row.a === null
                ? " · only in B"
                : ""
              : ` · match ${formatNumber(row.similarity, 2)}`;
          return { ...heading, label: `${heading.label}${match}` };
        }),
        columns: [...columns, selectivityColumn],
        cell: (r, column) => {
          const position = data.rows[r].b;
          if (position === null) return BLANK_CELL;
          return column === classes
            ? selectivityCell(b.answer, position, "B")
            : unitCell(b.answer, position, column, namesB);
        },
      });
    } else this.ab.matrix.clear();
    this.markSelected();
    const dead = answer.units.filter((unit) => unit.dead).length;
    this.status.set(
      "ready",
      `${data.layer} · ${answer.units.length} units · ${classes} classes · step ${answer.step} · ${dead} dead · sorted by ${SORT_LABELS[this.store.get().unitsSort]}`,
    );
  }

  private markSelected(): void {
    const data = this.data;
    const { unit, unitB } = this.store.get();
    const b = this.ab.data;
    const columns = (data?.answer.class_means[0]?.length ?? 0) + (b ? 1 : 0);
    const mark = (matrix: HeatMap, selected: number | null, units: UnitsResponse | undefined, side: "a" | "b") => {
      const row =
        data && units && selected !== null
          ? data.rows.findIndex(
              (entry) => entry[side] !== null && units.units[entry[side] as number]?.unit === selected,
            )
          : -1;
      matrix.mark("dv-cell-selected", row < 0 ? [] : Array.from({ length: columns }, (_, column) => ({ row, column })));
      for (const heading of Array.from(matrix.element.querySelectorAll(".dv-matrix-row"))) {
        heading.classList.toggle(
          "dv-cell-selected",
          selected !== null && heading.getAttribute("data-unit") === String(selected),
        );
      }
    };
    mark(this.matrix, unit, data?.answer, "a");
    mark(this.ab.matrix, unitB, b?.answer, "b");
  }

  private renderHistogram(): void {
    const data = this.data;
    if (!data) return;
    const { edges, counts } = data.answer.selectivity_histogram;
    const most = Math.max(1, ...counts);
    const selectivities = data.answer.units.map((unit) => toNumber(unit.selectivity)).filter(Number.isFinite);
    const sorted = [...selectivities].sort((a, b) => a - b);
    const median = sorted.length ? (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2 : Number.NaN;
    this.histogram.draw({
      caption: `selectivity of the ${data.answer.units.length} units of ${data.layer} at step ${data.answer.step}`,
      bars: counts.map((count, i) => ({
        label: `${(edges[i] ?? 0).toFixed(1)}–${(edges[i + 1] ?? 1).toFixed(1)}`,
        fraction: count / most,
        text: String(count),
        title: `${count} unit${count === 1 ? "" : "s"} with selectivity from ${edges[i]} to ${edges[i + 1]}`,
        attrs: { "data-bin": i, "data-count": count },
      })),
      note: `median ${formatNumber(median, 2)}; 0 = the same mean for every class, 1 = active for one class only`,
    });
  }

  private async loadHistory(run: string, layer: string, version: string): Promise<void> {
    if (await this.histories.load(run, layer, version)) this.renderHistory();
  }

  private renderHistory(): void {
    const data = this.data;
    const run = currentRun(this.store.get());
    const answer = data && run ? this.histories.answer(data.run, data.layer, unitsVersion(run)) : null;
    if (!data || !answer) {
      this.historyChart.draw(null, "no history");
      this.historyNote.hidden = true;
      return;
    }
    const points = (values: UnitsHistoryResponse["median_selectivity"]) =>
      answer.steps.map((step, i) => [step, toNumber(values[i])] as [number, number]);
    this.historyChart.draw({
      series: [
        {
          name: "median selectivity",
          points: points(answer.median_selectivity),
          colour: MEDIAN_COLOUR,
          selected: true,
        },
        { name: "share of dead units", points: points(answer.dead_fraction), colour: DEAD_COLOUR },
      ],
      xExtent: answer.steps,
      rule: data.answer.step,
      title: `${data.layer}: median selectivity and share of dead units over checkpoints`,
      xLabel: "step",
      yDomain: [0, 1],
      ariaLabel: `Median selectivity of ${data.layer} over checkpoints`,
    });
    this.historyNote.hidden = false;
  }
}
