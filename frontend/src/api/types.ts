// The shapes of the plugin's JSON answers (see the server's routes), and how to read the numbers in
// them. The names both languages share (record kinds, statistic names, norms) come from
// generated/contract.ts, which is written from the Python code.

import type { ActivationNorm, FilterNorm, Kind, StatisticName, StatisticSource } from "../generated/contract";

export type { ActivationNorm, FilterNorm, Kind, StatisticName, StatisticSource };

/** A number as the server writes it: NaN and +/-Inf arrive as the strings Number() reads. */
export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

export function toNumber(value: JsonNumber | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  return typeof value === "number" ? value : Number(value);
}

export interface LayerSummary {
  name: string;
  kind: string;
  output_shape: number[];
  parameter_shapes: Record<string, number[]>;
  has_weights: boolean;
  has_activations: boolean;
  has_statistics: boolean;
  /** Whether the layer has units records (what each unit responds to); absent from older servers. */
  has_units?: boolean;
  /** Whether the layer has attribution (Grad-CAM) records; absent from older servers. */
  has_attribution?: boolean;
  /** Whether the layer has feature visualizations (rendered at some checkpoints); absent from older servers. */
  has_feature_vis?: boolean;
}

export interface RunSummary {
  run: string;
  layers: LayerSummary[];
  checkpoints: number[];
  /**
   * Steps of each checkpoint kind (predictions, confusion, clusters, weights, activations; units,
   * attribution and feature_vis when logged: feature visualizations exist at some checkpoints only).
   */
  steps_by_kind: Partial<Record<Kind, number[]>>;
  statistics_steps: { count: number; first: number | null; last: number | null };
  class_names: string[];
  corpus_size: number;
  thumbnail_shape: number[];
  /** The record kinds the run has logged: what decides which tabs it shows. */
  kinds: Kind[];
  cluster_layer: string;
}

export interface IndexResponse {
  version: number;
  runs: RunSummary[];
}

export interface GraphNode {
  id: string;
  module: string;
  type: string;
  output_shape: number[];
  parameter_shapes?: Record<string, number[]>;
  parameters?: number;
  logged?: boolean;
}

export interface GraphResponse {
  nodes: GraphNode[];
  edges: { source: string; target: string }[];
  /** Every named module; `parameter_shapes` only on a container with parameters of its own (newer logs). */
  modules: { name: string; type: string; parent: string; parameter_shapes?: Record<string, number[]> }[];
  model_type?: string;
  logged_layers?: string[];
  cluster_layer?: string;
}

export interface CorpusResponse {
  count: number;
  class_names: string[];
  labels: number[];
  ids: (string | number)[] | null;
  captions: string[] | null;
  thumbnail_shape: number[];
}

export interface ThumbnailsLayout {
  count: number;
  thumb: [number, number];
  columns: number;
  rows: number;
  width: number;
  height: number;
  indices?: number[];
}

export interface FilterLayout {
  kind: "conv" | "conv_rgb" | "linear";
  filters: number;
  channels: number;
  in_channels: number;
  cell: [number, number];
  cell_values: [number, number];
  values_per_filter: number;
  /** The layer's weight shape as logged ([F, C, k] for Conv1d, [F, C, d, kh, kw] for Conv3d, ...). */
  weight_shape?: number[];
  scale: number;
  cell_gap: number;
  tile_gap: number;
  channel_grid: [number, number];
  filter_grid: [number, number];
  tile: [number, number];
  width: number;
  height: number;
  norm: FilterNorm;
  scales: number[];
  background: number[];
  filter_indices?: number[];
  value_range?: [number, number] | null;
}

export interface ActivationLayout {
  kind: "conv" | "linear";
  channels: number;
  cell: [number, number];
  cell_values: [number, number];
  values_per_channel: number;
  scale: number;
  cell_gap: number;
  channel_grid: [number, number];
  width: number;
  height: number;
  norm: ActivationNorm;
  layer_range: [number, number] | null;
  background: number[];
  image?: number;
  ranges?: [JsonNumber, JsonNumber][];
}

/** Nested lists of numbers: [C][kh][kw] for a conv filter, [in] for a linear unit. */
export type NestedNumbers = JsonNumber | NestedNumbers[];

export interface FilterValues {
  layer: string;
  step: number;
  filter: number;
  /** The shape of `values`: the filter as the sprite draws it. */
  shape: number[];
  /** The filter's shape as logged (a Conv1d kernel [C, k], a BatchNorm scale []). */
  weight_shape?: number[];
  values: NestedNumbers[];
  min: number | null;
  max: number | null;
  mean: number | null;
  norm: number | null;
  nan_count: number;
  inf_count: number;
  total_filters: number;
  layer_type: string;
}

export interface PredictionsResponse {
  step: number;
  probe_images: number[];
  probe_probabilities: JsonNumber[][];
  predicted: number[];
  confidence: JsonNumber[];
}

export interface PredictionResponse {
  step: number;
  image: number;
  predicted: number;
  confidence: JsonNumber;
  probabilities: JsonNumber[] | null;
}

export interface ConfusionResponse {
  step: number;
  counts: number[][];
  cell_images: number[][][];
  accuracy: number | null;
  precision: (number | null)[];
  recall: (number | null)[];
}

/** `confusion_diff`: B minus A of two confusion matrices (two runs over one eval set, or two checkpoints). */
export interface ConfusionDiffResponse {
  run: string;
  step: number;
  run_b: string;
  step_b: number;
  counts_a: number[][];
  counts_b: number[][];
  /** B's counts minus A's. */
  diff: number[][];
  /** B's row shares minus A's. */
  row_shares_diff: JsonNumber[][];
  accuracy_a: number | null;
  accuracy_b: number | null;
  /** Eval images whose correctness flipped between A and B. */
  flips: { right_to_wrong: number[]; wrong_to_right: number[] };
}

/** `layer_similarity`: linear CKA between every logged layer of A and every logged layer of B. */
export interface LayerSimilarityResponse {
  run: string;
  step: number;
  run_b: string;
  step_b: number;
  /** A's layers with a similarity statistic, in forward order: the rows of `cka`. */
  layers_a: string[];
  /** B's, the columns. */
  layers_b: string[];
  /** CKA in [0, 1] (1: the same representation up to rotation and scale); null where a layer's features were non-finite or constant. */
  cka: (JsonNumber | null)[][];
  /** How many sampled eval images the similarity is computed over. */
  images: number;
}

export interface ClustersResponse {
  step: number;
  layer: string;
  metric: string;
  nonfinite_images: number;
  assignment: number[];
  nearest: number[][];
  sizes: number[];
  majority_class: number[];
  purity: JsonNumber[];
  projection: JsonNumber[][];
}

/**
 * `feature_vis_layout`: the layer's rendered units as one sprite (thumbnails in reading order, no
 * gaps: lib/layout.ts thumbnailOrigin) and what each cell shows. Per-cell lists follow the sprite.
 */
export interface FeatureVisLayout extends ThumbnailsLayout {
  layer: string;
  /** The step the images were rendered at: the latest render at or before the requested step. */
  step: number;
  requested_step: number | null;
  /** The unit (output channel or feature) of each cell. */
  units: number[];
  /** The objective each image reached. */
  objective: JsonNumber[];
  /** Units whose objective stayed near zero: their image means nothing (grey). */
  no_signal: boolean[];
  /** Units whose optimization started from the previous render's image. */
  warm: boolean[];
  method: string;
  steps: number | null;
  warm_started: boolean;
  warm_from: number | null;
  seconds: number | null;
  normalization: unknown;
  output_shape: number[];
}

export interface CompareCell {
  step: number;
  layer: string;
  available: boolean;
  url: string | null;
  layout_url: string | null;
}

export interface CompareResponse {
  /** The route answers "weights" and "activations"; Direct Compare builds "feature_vis" grids itself. */
  kind: "weights" | "activations" | "feature_vis";
  steps: number[];
  layers: string[];
  filters: string | null;
  image: number | null;
  cells: CompareCell[];
}

export interface DynamicsSeries {
  steps: number[];
  values: JsonNumber[];
  nan_steps: number[];
  inf_steps: number[];
  total_steps: number;
}

export interface Anomaly {
  step: number;
  layer: string;
  sources: { source: StatisticSource; nan_count: number; inf_count: number }[];
}

export interface DynamicsResponse {
  stat: StatisticName;
  source: StatisticSource;
  series: Record<string, DynamicsSeries>;
  first_anomaly: Anomaly | null;
}

/** One unit of a layer at a checkpoint (`units`). */
export interface UnitSummary {
  unit: number;
  /** The unit's largest output over the eval set (its best top image's score). */
  max: JsonNumber;
  /** Mean of its rectified, spatially averaged output over every eval image. */
  mean: JsonNumber;
  top_class: number;
  /** Class selectivity index in [0, 1]. */
  selectivity: JsonNumber;
  /** Never positive on any eval image. */
  dead: boolean;
}

export interface UnitsResponse {
  layer: string;
  step: number;
  k: number;
  output_shape: number[];
  input_shape: number[];
  rectified: boolean;
  units: UnitSummary[];
  /** [unit][class]: mean of the rectified output over each class's eval images. */
  class_means: JsonNumber[][];
  selectivity_histogram: { edges: number[]; counts: number[] };
}

/** [top, left, bottom, right] in input pixels (bottom and right exclusive). */
export type Box = [number, number, number, number];

export interface TopImagesResponse {
  layer: string;
  step: number;
  unit: number;
  /** Eval indices, best first. */
  images: number[];
  values: JsonNumber[];
  boxes: Box[];
  positions: [number, number][];
  /** [H, W] of the model input: the boxes' frame. */
  input_shape: number[];
  class_means: JsonNumber[];
  selectivity: JsonNumber;
  top_class: number;
  dead: boolean;
  /** Relative URL of the crops' sprite (urls.topImagesSpriteUrl builds the same one); null without images. */
  sprite: string | null;
  /** Pixels per crop of that sprite. */
  cell: number;
}

export interface AttributionResponse {
  layer: string;
  step: number;
  image: number;
  /** The class explained (the predicted class). */
  target: number;
  /** [h, w] of the map (the layer's resolution). */
  shape: number[];
  /** h * w values, row-major. */
  values: JsonNumber[];
  input_shape: number[];
  /** [0, max of this probe's maps over every checkpoint of the layer]: one colour scale for the timeline. */
  scale: [JsonNumber, JsonNumber];
  layers: string[];
}

export interface UnitsHistoryResponse {
  layer: string;
  steps: number[];
  median_selectivity: JsonNumber[];
  dead_fraction: JsonNumber[];
  /** [step][unit] */
  selectivity: JsonNumber[][];
  /** [step][unit]: overlap (Jaccard) of the unit's top images with the previous checkpoint's. */
  stability: JsonNumber[][];
}

export interface ClassPairUnit {
  layer: string;
  unit: number;
  mean_a: JsonNumber;
  mean_b: JsonNumber;
  score: JsonNumber;
}

export interface ClassPairUnitsResponse {
  step: number;
  a: number;
  b: number;
  units: ClassPairUnit[];
}

/** How bad a finding is; the findings route orders them this way (then by step). */
export type Severity = "error" | "warning" | "info";

/** What a finding is about (tensorboard_deepviz/analysis/findings.py, KINDS). */
export type FindingKind =
  | "nan_inf"
  | "exploding_gradients"
  | "vanishing_gradients"
  | "dead_units"
  | "saturated_units"
  | "frozen_layer"
  | "unstable_updates"
  | "confused_classes"
  | "input_scale"
  | "not_learning";

/** A layer whose statistics left their usual band before a NaN/Inf (`evidence.lead_lag` of nan_inf). */
export interface LeadLag {
  layer: string;
  source: string;
  statistic: string;
  /** The first step outside the band. */
  left_band_at: number;
  /** How many steps before the NaN/Inf. */
  lead_steps: number;
}

/** One thing wrong with a run (`findings`). */
export interface Finding {
  kind: FindingKind | string;
  severity: Severity;
  /** The layer it concerns, or null (the whole model, a class pair). */
  layer: string | null;
  /** The first step it was seen; `last_step`: the last. */
  step: number;
  last_step: number;
  /** One plain sentence (it may name layers and classes: text from a log). */
  message: string;
  /** The numbers behind it; for nan_inf, `lead_lag` ranks the layers that drifted first. */
  evidence: { lead_lag?: LeadLag[]; [key: string]: unknown };
  /** The URL hash of this dashboard that opens the evidence ("#run=...&view=...&layer=...&step=..."). */
  link: string;
}

export interface FindingsResponse {
  run: string;
  /** Ordered by severity (error, warning, info), then step. */
  findings: Finding[];
  /** Absent from logs without the loss (and from older servers). */
  loss_spikes?: LossSpike[];
}

/** The loss jumping far above its recent band (`loss_spikes` of the findings answer, when the log has the loss). */
export interface LossSpike {
  /** The first step above the band; `last_step`: the last before it came back. */
  step: number;
  last_step: number;
  loss: number;
  peak: number;
  median: number;
  threshold: number;
  recovered: boolean;
  message: string;
  /** The layers whose statistics left their usual band first, earliest first. */
  lead_lag: LeadLag[];
  /** Training dynamics at the spike's step (its first ranked layer). */
  link: string;
}

export interface CompareRequest {
  steps?: string;
  layers?: string;
  filters?: string;
  image?: number | null;
  norm?: string;
}

export interface DynamicsRequest {
  layer?: string;
  stat?: StatisticName;
  source?: StatisticSource;
  points?: number;
}
