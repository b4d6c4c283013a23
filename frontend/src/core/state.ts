// Every field of the dashboard's shared state, declared once: its value before anything is
// chosen and, for the fields that a link carries, how it is written in the URL hash. The store
// (store.ts) takes its defaults and its State type from this table, and the hash (hash.ts)
// walks it to write and read links, so a new field (a view's setting, an A/B mode's second
// run) is one row here.
//
// Row order is the order of the hash's parameters. Hash names are the link format: keep them,
// so that links made earlier keep working.

import type { FindingsResponse, RunSummary } from "../api/types";
import {
  ACTIVATION_NORMS,
  type ActivationNorm,
  FILTER_NORMS,
  type FilterNorm,
  STATISTIC_NAMES,
  STATISTIC_SOURCES,
  type StatisticName,
  type StatisticSource,
} from "../generated/contract";
import { UNITS_SORTS, type UnitsSort } from "../lib/units";
import { count, flag, type HashCodec, identifier, oneOf, pair, parts, text } from "./codecs";

export interface FieldSpec<T> {
  /** The value before anything is chosen (and after a reload without it in the link). */
  readonly initial: T;
  /** How the field travels in the URL hash; without it, the field lasts the session only. */
  readonly hash?: HashCodec<T>;
  /**
   * Written to the hash even at its initial value: the selection, so that a link names what
   * it shows. Other fields are written only when they differ from `initial`.
   */
  readonly always?: boolean;
}

function field<T>(initial: T, hash?: HashCodec<T>, always = false): FieldSpec<T> {
  return { initial, hash, always };
}

const SELECTION = true;

/**
 * Direct Compare's form, as typed (checked against the run by views/compare/resolve.ts).
 * `content` is one of COMPARE_CONTENTS, or "" (links made before it: activations when `image`
 * is given, else weights).
 */
export type CompareSpec = {
  steps: string;
  layers: string;
  filters: string;
  image: string;
  content: string;
};

/** What Direct Compare's cells show. */
export const COMPARE_CONTENTS = ["weights", "activations", "feature_vis"] as const;
export type CompareContent = (typeof COMPARE_CONTENTS)[number];

/** What the Filters view shows of the selected layer: its weights, or its units' feature visualizations. */
export const FILTERS_SHOW = ["weights", "feature_vis"] as const;
export type FiltersShow = (typeof FILTERS_SHOW)[number];

export const COLOUR_BY = ["class", "cluster"] as const;
export type ColourBy = (typeof COLOUR_BY)[number];

export const SPEEDS = [1, 2, 5, 10, 20, 30] as const; // checkpoints per second
export const POLL_INTERVALS = [5, 10, 30, 60] as const; // seconds

export const STATE_FIELDS = {
  // ---- the listing, from `index` (refreshed by polling); per session
  /** Runs with deepviz data. */
  runs: field<RunSummary[]>([]),
  /** Whether `index` has answered at least once. */
  loaded: field(false),
  /** The last failure of `index`, shown while the previous listing stays in use. */
  indexError: field<string | null>(null),
  /** The selected run's findings (`findings`, looked at again with each new listing), or null. */
  findings: field<FindingsResponse | null>(null),

  // ---- the selection; always in the link
  run: field<string | null>(null, text("run"), SELECTION),
  layer: field<string | null>(null, text("layer"), SELECTION),
  /** The selected checkpoint's step (a value of the run's `checkpoints`). */
  step: field<number | null>(null, count("step"), SELECTION),
  /** The selected eval image (corpus index). */
  image: field<number | null>(null, count("image"), SELECTION),
  /** The selected filter of `layer` (index into its filters). */
  filter: field<number | null>(null, count("filter"), SELECTION),
  /** The selected unit of `layer` (output channel or feature): the unit panel shows it. */
  unit: field<number | null>(null, count("unit"), SELECTION),
  /** The pinned cell of the confusion matrix: [true class, predicted class] ("cell=1,2"). */
  cell: field<[number, number] | null>(null, pair("cell"), SELECTION),
  /** The open tab: a name in views/registry.ts (the first tab the run has is shown for any other). */
  view: field<string>("filters", identifier("view"), SELECTION),

  // ---- the views' settings; in the link when not the default
  /** Filters: colour scale of the weights. */
  norm: field<FilterNorm>("filter", oneOf("norm", FILTER_NORMS)),
  /** Filters: colour scale of the activations. */
  activationNorm: field<ActivationNorm>("channel", oneOf("anorm", ACTIVATION_NORMS)),
  /** Confusion: shares of each true class instead of counts. */
  rowNormalize: field(false, flag("rownorm")),
  /** Confusion: change since the previous checkpoint. */
  delta: field(false, flag("delta")),
  /** Clusters: what the scatter's colours mean. */
  colorBy: field<ColourBy>("class", oneOf("color", COLOUR_BY)),
  /** Training dynamics: the statistic drawn ... */
  stat: field<StatisticName>("norm", oneOf("stat", STATISTIC_NAMES)),
  /** ... of what. */
  source: field<StatisticSource>("weights", oneOf("source", STATISTIC_SOURCES)),
  /** Training dynamics: symlog value axis. */
  logScale: field(false, flag("log")),
  /** Filters: colour each filter by its unit's top class (hue) and selectivity (saturation). */
  unitColours: field(false, flag("ucolour")),
  /** Units: the order of the matrix's rows. */
  unitsSort: field<UnitsSort>("unit", oneOf("usort", UNITS_SORTS)),
  /** The selected probe image's Grad-CAM overlay. */
  gradcam: field(true, flag("gradcam")),
  /** Direct Compare: the form. */
  compare: field<CompareSpec>(
    { steps: "", layers: "", filters: "", image: "", content: "" },
    parts<CompareSpec>({
      steps: "csteps",
      layers: "clayers",
      filters: "cfilters",
      image: "cimage",
      content: "ccontent",
    }),
  ),
  /** Direct Compare: further runs whose rows follow the selected run's, comma-separated (null: none). */
  compareRuns: field<string | null>(null, text("cruns")),
  /** Filters: the filter bank's content, weights or feature visualizations (for layers with them). */
  filtersShow: field<FiltersShow>("weights", oneOf("show", FILTERS_SHOW)),

  // ---- A/B mode: a second selection compared with the first; absent from a link = A/B off
  /** B's run (A/B on when not null; it may be A's run, to compare two of its checkpoints). */
  runB: field<string | null>(null, text("runb")),
  /** B's checkpoint; null: the same step as A (the timeline moves A and B together). */
  stepB: field<number | null>(null, count("stepb")),
  /** B's selected unit of `layer` (B's units are not A's: the matched units panel pairs them). */
  unitB: field<number | null>(null, count("unitb")),

  // ---- playback and polling; per session
  playing: field(false),
  /** Checkpoints per second while playing (one of SPEEDS). */
  speed: field(5),
  polling: field(true),
  /** Seconds between looks at `index` (one of POLL_INTERVALS). */
  pollSeconds: field(10),
};

type Fields = typeof STATE_FIELDS;
export type Key = keyof Fields;
export type State = { [K in Key]: Fields[K] extends FieldSpec<infer T> ? T : never };

/** Every field at its initial value (objects copied, so that no two states share one). */
export function initialState(): State {
  const state: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(STATE_FIELDS) as [Key, FieldSpec<unknown>][]) {
    const value = spec.initial;
    state[key] = Array.isArray(value) ? [...value] : value !== null && typeof value === "object" ? { ...value } : value;
  }
  return state as State;
}

/** The table's rows as [key, spec] pairs, in order. */
export function fieldEntries(): [Key, FieldSpec<unknown>][] {
  return Object.entries(STATE_FIELDS) as [Key, FieldSpec<unknown>][];
}
