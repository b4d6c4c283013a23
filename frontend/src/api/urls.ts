// The URL of every plugin route, built in one place: the client fetches these URLs and the
// views prefetch the very same ones, so a prefetched answer is the one the view asks for later
// (the client and the image cache both key on the URL).
//
// URLs are relative ("index", "filters?run=..."): the iframe's <base href> resolves them under
// /data/plugin/deepviz/, which keeps working behind --path_prefix.

import type { ActivationNorm, CompareRequest, DynamicsRequest, FilterNorm } from "./types";

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

// ------------------------------------------------------------------ images (PNG routes)

/** An explicit colour scale's ends (the A/B mode draws A and B on one scale), as the routes' `range`. */
export type ValueRange = readonly [number, number];

function rangeParam(range: ValueRange | null | undefined): string | undefined {
  return range ? `${range[0]},${range[1]}` : undefined;
}

export function filtersUrl(
  run: string,
  layer: string,
  step: number,
  norm: FilterNorm,
  filters?: string,
  range?: ValueRange | null,
): string {
  return buildQuery("filters", { run, layer, step, norm, filters, range: rangeParam(range) });
}

/** With `range`, `norm` must be "layer" (the range is the layer scale's ends). */
export function activationsUrl(
  run: string,
  layer: string,
  step: number,
  image: number,
  norm: ActivationNorm,
  range?: ValueRange | null,
): string {
  return buildQuery("activations", { run, layer, step, image, norm, range: rangeParam(range) });
}

export function thumbnailUrl(run: string, index: number): string {
  return buildQuery("thumbnail", { run, index });
}

export function thumbnailsUrl(run: string, indices: string, columns?: number): string {
  return buildQuery("thumbnails", { run, indices, columns });
}

/** The crops of a unit's top images side by side (`size` px each, 1 px apart), in the order of `top_images`. */
export function topImagesSpriteUrl(run: string, layer: string, unit: number, step: number, size?: number): string {
  return buildQuery("top_images_sprite", { run, layer, unit, step, size });
}

/** One unit's feature visualization (PNG), from the latest render at or before `step`. */
export function featureVisUrl(run: string, layer: string, unit: number, step: number): string {
  return buildQuery("feature_vis", { run, layer, unit, step });
}

/**
 * Every rendered unit of a layer as one sprite (PNG), from the latest render at or before `step`.
 * Views ask at the render's own step (core/derived.ts featureVisStep), so every checkpoint
 * between two renders shares one URL: one request, one cached image.
 */
export function featureVisSpriteUrl(run: string, layer: string, step: number, columns?: number): string {
  return buildQuery("feature_vis_sprite", { run, layer, step, columns });
}

// ------------------------------------------------------------------ JSON routes

export const indexUrl = (): string => buildQuery("index");
export const graphUrl = (run: string): string => buildQuery("graph", { run });
export const corpusUrl = (run: string): string => buildQuery("corpus", { run });

export function thumbnailsLayoutUrl(run: string, indices: string, columns?: number): string {
  return buildQuery("thumbnails_layout", { run, indices, columns });
}

export function filtersLayoutUrl(
  run: string,
  layer: string,
  step: number,
  norm: FilterNorm,
  filters?: string,
  range?: ValueRange | null,
): string {
  return buildQuery("filters_layout", { run, layer, step, norm, filters, range: rangeParam(range) });
}

export function filterValuesUrl(run: string, layer: string, step: number, filter: number): string {
  return buildQuery("filter_values", { run, layer, step, filter });
}

export function activationsLayoutUrl(
  run: string,
  layer: string,
  step: number,
  image: number,
  norm: ActivationNorm,
  range?: ValueRange | null,
): string {
  return buildQuery("activations_layout", { run, layer, step, image, norm, range: rangeParam(range) });
}

/** The step's predictions of every eval image, or of one image (with its class probabilities if it is a probe). */
export function predictionsUrl(run: string, step: number, image?: number): string {
  return buildQuery("predictions", { run, step, image });
}

export function confusionUrl(run: string, step: number, examples?: number): string {
  return buildQuery("confusion", { run, step, examples });
}

/** B minus A of the confusion matrices of (run, step) and (runB, stepB), with the images that flipped. */
export function confusionDiffUrl(run: string, step: number, runB: string, stepB: number): string {
  return buildQuery("confusion_diff", { run, step, run_b: runB, step_b: stepB });
}

/** The units of `layer` matched between A (run, step) and B (runB, stepB). */
export function filterMatchUrl(run: string, runB: string, layer: string, step: number, stepB: number): string {
  return buildQuery("filter_match", { run, run_b: runB, layer, step, step_b: stepB });
}

/** Linear CKA between every logged layer of A (run, step) and of B (runB, stepB). */
export function layerSimilarityUrl(run: string, step: number, runB: string, stepB: number): string {
  return buildQuery("layer_similarity", { run, step, run_b: runB, step_b: stepB });
}

export function clustersUrl(run: string, step: number): string {
  return buildQuery("clusters", { run, step });
}

export function compareUrl(run: string, { steps, layers, filters, image, norm }: CompareRequest): string {
  return buildQuery("compare", { run, steps, layers, filters, image, norm });
}

export function dynamicsUrl(run: string, { layer, stat, source, points }: DynamicsRequest = {}): string {
  return buildQuery("dynamics", { run, layer, stat, source, points });
}

/** Every unit of a layer at a checkpoint: selectivity, top class, dead, class means, the selectivity histogram. */
export function unitsUrl(run: string, layer: string, step: number): string {
  return buildQuery("units", { run, layer, step });
}

/** One unit's top images (eval indices, scores, boxes) and class means. */
export function topImagesUrl(run: string, layer: string, unit: number, step: number): string {
  return buildQuery("top_images", { run, layer, unit, step });
}

/** A layer's units over every checkpoint: median selectivity, dead fraction, per-unit selectivity and stability. */
export function unitsHistoryUrl(run: string, layer: string): string {
  return buildQuery("units_history", { run, layer });
}

/** A probe image's Grad-CAM map; without `layer`, the run's (deepest) attribution layer. */
export function attributionUrl(run: string, image: number, step: number, layer?: string | null): string {
  return buildQuery("attribution", { run, image, step, layer });
}

/** Units (of every layer) active for both classes `a` and `b`, best first. */
export function classPairUnitsUrl(run: string, step: number, a: number, b: number, limit?: number): string {
  return buildQuery("class_pair_units", { run, step, a, b, limit });
}

/** The layout of featureVisSpriteUrl's sprite: which unit each cell shows, the step rendered at, no-signal flags. */
export function featureVisLayoutUrl(run: string, layer: string, step: number, columns?: number): string {
  return buildQuery("feature_vis_layout", { run, layer, step, columns });
}

/** What is wrong with a run: its findings, each with its evidence and the link that opens it. */
export const findingsUrl = (run: string): string => buildQuery("findings", { run });
