// Typed client of every plugin route (tensorboard_deepviz/plugin.py).
//
// URLs are relative ("index", "filters?run=..."): the iframe's <base href> resolves them under
// /data/plugin/deepviz/, which keeps working behind --path_prefix. Image routes are only turned
// into URLs here (the page loads them with <img>/Image); JSON routes are fetched. Responses that
// name an explicit step never change, so those are memoized in memory as well.

export type FilterNorm = "filter" | "layer" | "global";
export type ActivationNorm = "channel" | "layer";
export const FILTER_NORMS: readonly FilterNorm[] = ["filter", "layer", "global"];
export const ACTIVATION_NORMS: readonly ActivationNorm[] = ["channel", "layer"];
export const STATISTIC_SOURCES = ["weights", "gradients", "activations"] as const;
export const STATISTIC_NAMES = [
  "count",
  "mean",
  "std",
  "min",
  "max",
  "norm",
  "zero_fraction",
  "nan_count",
  "inf_count",
] as const;
export type StatisticSource = (typeof STATISTIC_SOURCES)[number];
export type StatisticName = (typeof STATISTIC_NAMES)[number];

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
}

export interface RunSummary {
  run: string;
  layers: LayerSummary[];
  checkpoints: number[];
  steps_by_kind: Partial<Record<"predictions" | "confusion" | "clusters" | "weights" | "activations", number[]>>;
  statistics_steps: { count: number; first: number | null; last: number | null };
  class_names: string[];
  corpus_size: number;
  thumbnail_shape: number[];
  kinds: string[];
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
  modules: { name: string; type: string; parent: string }[];
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

export interface CompareCell {
  step: number;
  layer: string;
  available: boolean;
  url: string | null;
  layout_url: string | null;
}

export interface CompareResponse {
  kind: "weights" | "activations";
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

export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;

/**
 * "route?key=value&..." with the parameters in the order given; null, undefined and "" are
 * left out (the server treats an absent parameter as "all" or "latest").
 */
export function buildQuery(route: string, params: Query = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `${route}?${text}` : route;
}

/** Thrown for a non-2xx answer; `message` is the server's `{"error": ...}` text when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

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

const MEMO_LIMIT = 400;

export class Api {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(private readonly fetchFn: FetchLike = (url, init) => fetch(url, init)) {}

  // ---------------------------------------------------------------- URLs of images (PNG routes)

  filtersUrl(run: string, layer: string, step: number, norm: FilterNorm, filters?: string): string {
    return buildQuery("filters", { run, layer, step, norm, filters });
  }

  activationsUrl(run: string, layer: string, step: number, image: number, norm: ActivationNorm): string {
    return buildQuery("activations", { run, layer, step, image, norm });
  }

  thumbnailUrl(run: string, index: number): string {
    return buildQuery("thumbnail", { run, index });
  }

  thumbnailsUrl(run: string, indices: string, columns?: number): string {
    return buildQuery("thumbnails", { run, indices, columns });
  }

  // ---------------------------------------------------------------- JSON routes

  index(): Promise<IndexResponse> {
    return this.getJson<IndexResponse>(buildQuery("index"));
  }

  /** The run's layer graph; logged once, so it is memoized per run. */
  graph(run: string): Promise<GraphResponse> {
    return this.getJson<GraphResponse>(buildQuery("graph", { run }), true);
  }

  /** The eval set's labels, ids and captions; logged once, memoized per run. */
  corpus(run: string): Promise<CorpusResponse> {
    return this.getJson<CorpusResponse>(buildQuery("corpus", { run }), true);
  }

  thumbnailsLayout(run: string, indices: string, columns?: number): Promise<ThumbnailsLayout> {
    return this.getJson<ThumbnailsLayout>(buildQuery("thumbnails_layout", { run, indices, columns }), true);
  }

  filtersLayout(run: string, layer: string, step: number, norm: FilterNorm, filters?: string): Promise<FilterLayout> {
    return this.getJson<FilterLayout>(buildQuery("filters_layout", { run, layer, step, norm, filters }), true);
  }

  filterValues(run: string, layer: string, step: number, filter: number): Promise<FilterValues> {
    return this.getJson<FilterValues>(buildQuery("filter_values", { run, layer, step, filter }), true);
  }

  activationsLayout(
    run: string,
    layer: string,
    step: number,
    image: number,
    norm: ActivationNorm,
  ): Promise<ActivationLayout> {
    return this.getJson<ActivationLayout>(buildQuery("activations_layout", { run, layer, step, image, norm }), true);
  }

  predictions(run: string, step: number): Promise<PredictionsResponse> {
    return this.getJson<PredictionsResponse>(buildQuery("predictions", { run, step }), true);
  }

  prediction(run: string, step: number, image: number): Promise<PredictionResponse> {
    return this.getJson<PredictionResponse>(buildQuery("predictions", { run, step, image }), true);
  }

  confusion(run: string, step: number, examples?: number): Promise<ConfusionResponse> {
    return this.getJson<ConfusionResponse>(buildQuery("confusion", { run, step, examples }), true);
  }

  clusters(run: string, step: number): Promise<ClustersResponse> {
    return this.getJson<ClustersResponse>(buildQuery("clusters", { run, step }), true);
  }

  compare(run: string, request: CompareRequest): Promise<CompareResponse> {
    const { steps, layers, filters, image, norm } = request;
    return this.getJson<CompareResponse>(buildQuery("compare", { run, steps, layers, filters, image, norm }));
  }

  dynamics(run: string, request: DynamicsRequest = {}): Promise<DynamicsResponse> {
    const { layer, stat, source, points } = request;
    return this.getJson<DynamicsResponse>(buildQuery("dynamics", { run, layer, stat, source, points }));
  }

  // ---------------------------------------------------------------- plumbing

  /**
   * GET a JSON route. With `memoize`, the promise is kept (up to MEMO_LIMIT entries, oldest
   * dropped first) so prefetching and re-renders share one request; a failed one is forgotten.
   */
  getJson<T>(url: string, memoize = false): Promise<T> {
    if (memoize) {
      const hit = this.memo.get(url);
      if (hit) {
        this.memo.delete(url); // re-insert: most recently used last
        this.memo.set(url, hit);
        return hit as Promise<T>;
      }
    }
    const request = this.request<T>(url);
    if (memoize) {
      this.memo.set(url, request);
      request.catch(() => this.memo.delete(url));
      while (this.memo.size > MEMO_LIMIT) {
        const oldest = this.memo.keys().next().value as string;
        this.memo.delete(oldest);
      }
    }
    return request;
  }

  /** Forget memoized answers for a run (its graph or corpus may have been logged since). */
  forgetRun(run: string): void {
    for (const key of [...this.memo.keys()]) {
      const query = key.split("?")[1] ?? "";
      if (new URLSearchParams(query).get("run") === run) this.memo.delete(key);
    }
  }

  private async request<T>(url: string): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchFn(url, { headers: { Accept: "application/json" } });
    } catch (error) {
      throw new ApiError(0, `could not reach TensorBoard (${describe(error)})`, url);
    }
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`.trim();
      try {
        const body = (await response.json()) as { error?: unknown };
        if (body && typeof body.error === "string") message = body.error;
      } catch {
        // not JSON: keep the status line
      }
      throw new ApiError(response.status, message, url);
    }
    return (await response.json()) as T;
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
