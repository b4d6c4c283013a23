// The Units view's A/B mode: B's units matrix beside A's, row by row aligned by the matching
// (`filter_match`: B's unit on the row of the A unit it was matched to; B's unmatched units,
// "only B learned", on rows of their own after A's), with a selectivity column on one 0..1 scale
// for both sides. Unit i of B is not unit i of A, so B's matrix is never aligned by index.

import { errorText } from "../../api/client";
import type { UnitsResponse } from "../../api/types";
import { toNumber } from "../../api/types";
import type { Heading, HeatCell } from "../../charts/heatmap";
import { HeatMap } from "../../charts/heatmap";
import type { AppContext } from "../../core/context";
import { hasStep, SIDE_B, unitsLayer } from "../../core/derived";
import { Latest } from "../../core/guards";
import type { State } from "../../core/state";
import { rgb, sequentialColour } from "../../lib/colours";
import { formatNumber } from "../../lib/format";
import { type FilterMatchResponse, matchRequest } from "../../panels/matched_units";
import { h, Status } from "../../ui/dom";
import { BPicker } from "../confusion/ab";

/** One row of the aligned matrices: positions in A's and B's `units` (null: a blank side) and the pair's similarity. */
export interface AlignedRow {
  a: number | null;
  b: number | null;
  similarity: number | null;
}

/**
 * Rows of A's matrix and B's side by side: A's units in A's order (`orderA`, positions in A's
 * units), each with the B unit matched to it (or none); then B's units matched to no A unit, in
 * the order the match lists them. Matching names units by their number (`unit`), not by position.
 */
export function alignByMatching(
  orderA: readonly number[],
  unitsA: readonly { unit: number }[],
  unitsB: readonly { unit: number }[],
  match: Pick<FilterMatchResponse, "pairs" | "unmatched_b">,
): AlignedRow[] {
  const positionB = new Map(unitsB.map((entry, position) => [entry.unit, position]));
  const partner = new Map(match.pairs.map((pair) => [pair.a, pair]));
  const placed = new Set<number>();
  const rows: AlignedRow[] = orderA.map((position) => {
    const pair = partner.get(unitsA[position].unit);
    const b = pair ? (positionB.get(pair.b) ?? null) : null;
    if (b !== null) placed.add(b);
    return { a: position, b, similarity: b !== null && pair ? pair.similarity : null };
  });
  // B's leftovers: the unmatched ones first (as listed), then any the match did not name.
  const rest = [...match.unmatched_b.map((unit) => positionB.get(unit)), ...unitsB.map((_, position) => position)];
  for (const b of rest) {
    if (b === undefined || placed.has(b)) continue;
    placed.add(b);
    rows.push({ a: null, b, similarity: null });
  }
  return rows;
}

/** The selectivity column's cell: one 0..1 sequential scale for A and B. */
export function selectivityCell(units: UnitsResponse, position: number, side: "A" | "B"): HeatCell {
  const unit = units.units[position];
  const value = toNumber(unit.selectivity);
  const finite = Number.isFinite(value) && !unit.dead;
  const colour = sequentialColour(finite ? value : 0);
  const luminance = (0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2]) / 255;
  return {
    text: finite ? value.toFixed(2) : "✕",
    background: finite ? rgb(colour) : "#e0e0e0",
    dark: finite && luminance < 0.5,
    title: `${side}'s unit ${unit.unit}: selectivity ${finite ? formatNumber(value, 3) : "none (dead)"} (one 0–1 scale for A and B)`,
    attrs: { "data-unit": unit.unit, "data-selectivity": finite ? value : "NaN" },
  };
}

/** A row with nothing on one side. */
export const BLANK_HEADING: Heading = { label: "—", title: "no matched unit on this side", attrs: { "data-unit": "" } };
export const BLANK_CELL: HeatCell = { text: "", background: "#fafafa", title: "no matched unit on this side" };

export interface UnitsB {
  run: string;
  step: number;
  layer: string;
  answer: UnitsResponse;
  /** null when the match could not be made (then B's rows follow B's own order). */
  match: FilterMatchResponse | null;
}

export class UnitsAB {
  /** The "compare with B" checkbox (the view's toolbar). */
  readonly toggle: HTMLLabelElement;
  readonly picker: HTMLElement;
  /** B's matrix and its status (beside A's). */
  readonly column: HTMLElement;
  readonly matrix: HeatMap;
  readonly status = new Status("units-status-b");
  private readonly loads = new Latest();
  data: UnitsB | null = null;

  constructor(
    private readonly ctx: AppContext,
    onClick: (row: number) => void,
  ) {
    const picker = new BPicker(ctx, { kind: "units", toggleTestid: "units-ab-toggle", prefix: "units-" });
    this.toggle = picker.toggle;
    this.picker = picker.element;
    this.column = h(
      "div",
      { testid: "units-b", class: "dv-units-matrix-box" },
      h("strong", { text: "B" }),
      this.status.element,
    );
    this.matrix = new HeatMap(this.column, {
      testid: "units-matrix-b",
      cellTestid: "units-cell-b",
      className: "dv-matrix-compact dv-units-matrix",
      ariaLabel: "Class means of each unit of B, on the rows of the A units they match",
      rowAttribute: "data-row",
      columnAttribute: "data-class",
      onClick: (cell) => onClick(cell.row),
    });
  }

  /** Load B's units of the selected layer and their matching with A's; resolves true when they changed. */
  async load(state: Readonly<State>): Promise<boolean> {
    const current = this.loads.start();
    const run = SIDE_B.run(state);
    const step = SIDE_B.step(state);
    const off = (kind: "empty" | "error", text: string) => {
      const had = this.data !== null;
      this.data = null;
      this.status.set(kind, text);
      this.matrix.clear();
      return had;
    };
    if (state.runB === null) return off("empty", "");
    if (!run) return off("empty", `B's run ${state.runB} is not listed.`);
    const layer = unitsLayer(run, state.layer);
    if (!layer) return off("empty", `B's run ${run.run} has no unit records of layer ${state.layer ?? "–"}.`);
    if (step === null || !hasStep(run, "units", step))
      return off("empty", `B's run ${run.run} has no unit records at this step.`);
    if (this.data && this.data.run === run.run && this.data.step === step && this.data.layer === layer.name)
      return false;
    this.status.set("loading", `Loading B's units of ${layer.name} at step ${step}…`);
    const request = matchRequest(state);
    let answer: UnitsResponse;
    try {
      answer = await this.ctx.api.units(run.run, layer.name, step);
    } catch (error) {
      if (current()) off("error", `Could not load B's units: ${errorText(error)}`);
      return current();
    }
    let match: FilterMatchResponse | null = null;
    let why = "";
    if ("url" in request) {
      try {
        match = await this.ctx.api.getJson<FilterMatchResponse>(request.url, true);
      } catch (error) {
        why = errorText(error);
      }
    } else why = request.reason;
    if (!current()) return false;
    this.data = { run: run.run, step, layer: layer.name, answer, match };
    this.status.set(
      match ? "ready" : "error",
      match
        ? `B: ${run.run} at step ${step} · ${match.pairs.length} units matched to A's, ${match.unmatched_b.length} only in B · selectivity on one 0–1 scale for A and B`
        : `B: ${run.run} at step ${step} · its units could not be matched to A's (${why}); shown in B's own order`,
    );
    return true;
  }
}
