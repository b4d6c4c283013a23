// Direct Compare's form checked against the run's listing before anything is asked of the
// server (a typo is explained at once instead of becoming failed requests), the form a run
// starts with, and the cells of a feature visualization grid (which the compare route does not
// offer: they are built here from the rendered steps). DOM-free.

import type { CompareResponse, RunSummary } from "../../api/types";
import { featureVisLayoutUrl, featureVisSpriteUrl } from "../../api/urls";
import { featureVisSteps } from "../../core/derived";
import { COMPARE_CONTENTS, type CompareContent, type CompareSpec } from "../../core/state";
import { MAX_COMPARE_CELLS, MAX_SELECTED_FILTERS } from "../../generated/contract";
import { SelectionError, selectIndices, selectNames, selectValues, spread } from "../../lib/selection";

export interface ResolvedCompare {
  content: CompareContent;
  steps: number[];
  layers: string[];
  filters: string;
  image: number | null;
}

/** What the cells show: the form's choice, or for links made before it, activations when an image is given. */
export function compareContent(spec: CompareSpec): CompareContent {
  const content = (spec.content ?? "").trim();
  if (!content) return spec.image.trim() ? "activations" : "weights";
  const known = COMPARE_CONTENTS.find((name) => name === content);
  if (!known) throw new SelectionError(`show: ${JSON.stringify(content)} is not one of ${COMPARE_CONTENTS.join(", ")}`);
  return known;
}

/** The run's layers and steps that have `content`. */
function candidates(run: RunSummary, content: CompareContent): { layers: string[]; steps: readonly number[] } {
  if (content === "feature_vis") {
    const layers = run.layers.filter((layer) => layer.has_feature_vis).map((layer) => layer.name);
    const listed = featureVisSteps(run);
    // An older server's listing without the rendered steps: every checkpoint (the route falls back).
    const steps = listed.length || !layers.length ? listed : run.checkpoints;
    return { layers, steps };
  }
  const kind = content === "activations" ? "activations" : "weights";
  const layers = run.layers.filter((layer) => (kind === "activations" ? layer.has_activations : layer.has_weights));
  return { layers: layers.map((layer) => layer.name), steps: run.steps_by_kind[kind] ?? [] };
}

/** Check a compare request against the run's listing; throws SelectionError explaining what is wrong. */
export function resolveCompare(
  run: RunSummary,
  spec: CompareSpec,
  probes: ReadonlySet<number> | null,
): ResolvedCompare {
  const content = compareContent(spec);
  const imageText = spec.image.trim();
  let image: number | null = null;
  if (content === "activations") {
    if (!imageText) throw new SelectionError("probe image: choose the probe image whose activations to show");
    const text = imageText.replace(/^#/, "");
    if (!/^\d+$/.test(text)) throw new SelectionError(`image: ${JSON.stringify(spec.image)} is not an image index`);
    image = Number(text);
    if (probes && !probes.has(image)) {
      throw new SelectionError(
        `image #${image} is not a probe image; activations exist for ${[...probes].map((i) => `#${i}`).join(", ")}`,
      );
    }
  }
  const available = candidates(run, content);
  if (content === "feature_vis" && !available.layers.length)
    throw new SelectionError(
      `run ${run.run} has no feature visualization (DeepViz(..., feature_vis=[layers]) renders them)`,
    );
  const layers = selectNames(spec.layers, available.layers, "layers");
  if (!layers.length) throw new SelectionError("no layers selected");
  const steps = selectValues(spec.steps, available.steps, content === "feature_vis" ? "rendered steps" : "steps");
  if (!steps.length)
    throw new SelectionError(content === "feature_vis" ? "no rendered checkpoints yet" : "no checkpoints selected");
  if (steps.length * layers.length > MAX_COMPARE_CELLS) {
    throw new SelectionError(
      `${steps.length} checkpoints × ${layers.length} layers = ${steps.length * layers.length} cells; at most ${MAX_COMPARE_CELLS}: choose fewer checkpoints or layers`,
    );
  }
  let filters = spec.filters.replace(/\s+/g, "");
  if (filters && content === "weights") {
    const counts = layers.map(
      (name) => run.layers.find((layer) => layer.name === name)?.parameter_shapes.weight?.[0] ?? MAX_SELECTED_FILTERS,
    );
    const fewest = Math.min(...counts);
    const chosen = selectIndices(filters, fewest, "filters", MAX_SELECTED_FILTERS);
    if (!filters.includes(":")) filters = chosen.join(",");
  }
  return { content, steps, layers, filters: content === "weights" ? filters : "", image };
}

/**
 * What the form shows before the user has chosen (or after choosing what the cells show): a few
 * checkpoints (for feature visualizations, rendered ones), the first layers, all filters.
 */
export function defaultCompare(run: RunSummary, content: CompareContent = "weights"): CompareSpec {
  const available = candidates(run, content);
  const steps =
    content === "weights" ? spread(run.steps_by_kind.weights ?? run.checkpoints, 6) : spread(available.steps, 6);
  const shown = available.layers.slice(0, 6);
  return {
    steps: steps.join(","),
    layers: shown.length > 1 ? `${shown[0]}:${shown[shown.length - 1]}` : shown.join(","),
    filters: "",
    image: "",
    content: content === "weights" ? "" : content,
  };
}

/**
 * The cells of a feature visualization grid: each (rendered step, layer) the layer's sprite at that
 * render, the same URL the Filters view and playback load (so the film and the timeline share
 * their images). The compare route answers weights and activations only.
 */
export function featureVisCompare(run: RunSummary, resolved: ResolvedCompare): CompareResponse {
  return {
    kind: "feature_vis",
    steps: resolved.steps,
    layers: resolved.layers,
    filters: null,
    image: null,
    cells: resolved.steps.flatMap((step) =>
      resolved.layers.map((layer) => ({
        step,
        layer,
        available: true,
        url: featureVisSpriteUrl(run.run, layer, step),
        layout_url: featureVisLayoutUrl(run.run, layer, step),
      })),
    ),
  };
}
