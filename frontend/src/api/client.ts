// Typed client of every JSON route of the plugin (tensorboard_deepviz.server.plugin). Image
// routes are only turned into URLs (urls.ts; the page loads them with <img>/Image); JSON routes
// are fetched here. Answers that name an explicit step never change, so those are memoized in
// memory as well.

import type {
  ActivationLayout,
  ActivationNorm,
  AttributionResponse,
  ClassPairUnitsResponse,
  ClustersResponse,
  CompareRequest,
  CompareResponse,
  ConfusionDiffResponse,
  ConfusionResponse,
  CorpusResponse,
  DynamicsRequest,
  DynamicsResponse,
  FeatureVisLayout,
  FilterLayout,
  FilterNorm,
  FilterValues,
  FindingsResponse,
  GraphResponse,
  IndexResponse,
  PredictionResponse,
  PredictionsResponse,
  ThumbnailsLayout,
  TopImagesResponse,
  UnitsHistoryResponse,
  UnitsResponse,
} from "./types";
import {
  activationsLayoutUrl,
  attributionUrl,
  classPairUnitsUrl,
  clustersUrl,
  compareUrl,
  confusionDiffUrl,
  confusionUrl,
  corpusUrl,
  dynamicsUrl,
  featureVisLayoutUrl,
  filtersLayoutUrl,
  filterValuesUrl,
  findingsUrl,
  graphUrl,
  indexUrl,
  predictionsUrl,
  thumbnailsLayoutUrl,
  topImagesUrl,
  unitsHistoryUrl,
  unitsUrl,
  type ValueRange,
} from "./urls";

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

const MEMO_LIMIT = 400;

export class Api {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(private readonly fetchFn: FetchLike = (url, init) => fetch(url, init)) {}

  index(): Promise<IndexResponse> {
    return this.getJson<IndexResponse>(indexUrl());
  }

  /** The run's layer graph; logged once, so it is memoized per run. */
  graph(run: string): Promise<GraphResponse> {
    return this.getJson<GraphResponse>(graphUrl(run), true);
  }

  /** The eval set's labels, ids and captions; logged once, memoized per run. */
  corpus(run: string): Promise<CorpusResponse> {
    return this.getJson<CorpusResponse>(corpusUrl(run), true);
  }

  thumbnailsLayout(run: string, indices: string, columns?: number): Promise<ThumbnailsLayout> {
    return this.getJson<ThumbnailsLayout>(thumbnailsLayoutUrl(run, indices, columns), true);
  }

  filtersLayout(
    run: string,
    layer: string,
    step: number,
    norm: FilterNorm,
    filters?: string,
    range?: ValueRange | null,
  ): Promise<FilterLayout> {
    return this.getJson<FilterLayout>(filtersLayoutUrl(run, layer, step, norm, filters, range), true);
  }

  filterValues(run: string, layer: string, step: number, filter: number): Promise<FilterValues> {
    return this.getJson<FilterValues>(filterValuesUrl(run, layer, step, filter), true);
  }

  activationsLayout(
    run: string,
    layer: string,
    step: number,
    image: number,
    norm: ActivationNorm,
    range?: ValueRange | null,
  ): Promise<ActivationLayout> {
    return this.getJson<ActivationLayout>(activationsLayoutUrl(run, layer, step, image, norm, range), true);
  }

  predictions(run: string, step: number): Promise<PredictionsResponse> {
    return this.getJson<PredictionsResponse>(predictionsUrl(run, step), true);
  }

  prediction(run: string, step: number, image: number): Promise<PredictionResponse> {
    return this.getJson<PredictionResponse>(predictionsUrl(run, step, image), true);
  }

  confusion(run: string, step: number, examples?: number): Promise<ConfusionResponse> {
    return this.getJson<ConfusionResponse>(confusionUrl(run, step, examples), true);
  }

  confusionDiff(run: string, step: number, runB: string, stepB: number): Promise<ConfusionDiffResponse> {
    return this.getJson<ConfusionDiffResponse>(confusionDiffUrl(run, step, runB, stepB), true);
  }

  clusters(run: string, step: number): Promise<ClustersResponse> {
    return this.getJson<ClustersResponse>(clustersUrl(run, step), true);
  }

  compare(run: string, request: CompareRequest): Promise<CompareResponse> {
    return this.getJson<CompareResponse>(compareUrl(run, request));
  }

  dynamics(run: string, request: DynamicsRequest = {}): Promise<DynamicsResponse> {
    return this.getJson<DynamicsResponse>(dynamicsUrl(run, request));
  }

  units(run: string, layer: string, step: number): Promise<UnitsResponse> {
    return this.getJson<UnitsResponse>(unitsUrl(run, layer, step), true);
  }

  topImages(run: string, layer: string, unit: number, step: number): Promise<TopImagesResponse> {
    return this.getJson<TopImagesResponse>(topImagesUrl(run, layer, unit, step), true);
  }

  /**
   * A layer's units over its checkpoints. The answer grows with the run, so it is memoized per
   * `version` (say, the number of checkpoints with units records): a new checkpoint asks again.
   */
  unitsHistory(run: string, layer: string, version: string): Promise<UnitsHistoryResponse> {
    return this.getJson<UnitsHistoryResponse>(unitsHistoryUrl(run, layer), true, version);
  }

  attribution(run: string, image: number, step: number, layer?: string | null): Promise<AttributionResponse> {
    return this.getJson<AttributionResponse>(attributionUrl(run, image, step, layer), true);
  }

  classPairUnits(run: string, step: number, a: number, b: number, limit?: number): Promise<ClassPairUnitsResponse> {
    return this.getJson<ClassPairUnitsResponse>(classPairUnitsUrl(run, step, a, b, limit), true);
  }

  /**
   * The layout of a layer's feature visualization sprite at the render at or before `step`.
   * Memoized while it names `step` itself (a render's own record never changes); an answer that
   * falls back to an earlier render is asked for again next time (the step's render may come).
   */
  featureVisLayout(run: string, layer: string, step: number, columns?: number): Promise<FeatureVisLayout> {
    const url = featureVisLayoutUrl(run, layer, step, columns);
    const answer = this.getJson<FeatureVisLayout>(url, true);
    void answer.then(
      (layout) => {
        if (layout.step !== step) this.forget(url);
      },
      () => undefined,
    );
    return answer;
  }

  /**
   * The run's findings. They change as the run grows, so they are not memoized: each look asks
   * again (the server answers from its cache, or with 304, while the log has not grown).
   */
  findings(run: string): Promise<FindingsResponse> {
    return this.getJson<FindingsResponse>(findingsUrl(run));
  }

  // ---------------------------------------------------------------- plumbing

  /**
   * GET a JSON route. With `memoize`, the promise is kept (up to MEMO_LIMIT entries, oldest
   * dropped first) so prefetching and re-renders share one request; a failed one is forgotten.
   * A `version` keeps an answer that changes as the run grows for as long as the version holds.
   */
  getJson<T>(url: string, memoize = false, version = ""): Promise<T> {
    const key = version ? `${url}\u0000${version}` : url;
    if (memoize) {
      const hit = this.memo.get(key);
      if (hit) {
        this.memo.delete(key); // re-insert: most recently used last
        this.memo.set(key, hit);
        return hit as Promise<T>;
      }
    }
    const request = this.request<T>(url);
    if (memoize) {
      this.memo.set(key, request);
      request.catch(() => this.memo.delete(key));
      while (this.memo.size > MEMO_LIMIT) {
        const oldest = this.memo.keys().next().value as string;
        this.memo.delete(oldest);
      }
    }
    return request;
  }

  /** Forget the memoized answer of `url` (asked for again next time). */
  forget(url: string): void {
    this.memo.delete(url);
  }

  /** Forget memoized answers for a run (its graph or corpus may have been logged since). */
  forgetRun(run: string): void {
    for (const key of [...this.memo.keys()]) {
      const query = key.split("\u0000")[0].split("?")[1] ?? "";
      if (new URLSearchParams(query).get("run") === run) this.memo.delete(key);
    }
  }

  private async request<T>(url: string): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchFn(url, { headers: { Accept: "application/json" } });
    } catch (error) {
      throw new ApiError(0, `could not reach TensorBoard (${errorText(error)})`, url);
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

/** The text of an error, for a status line. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
