// Direct Compare's form checked against the run's listing before anything is asked of the
// server (a typo is explained at once instead of becoming failed requests), and the form a run
// starts with. DOM-free.

import type { RunSummary } from "../../api/types";
import type { CompareSpec } from "../../core/state";
import { MAX_COMPARE_CELLS, MAX_SELECTED_FILTERS } from "../../generated/contract";
import { SelectionError, selectIndices, selectNames, selectValues, spread } from "../../lib/selection";

export interface ResolvedCompare {
  steps: number[];
  layers: string[];
  filters: string;
  image: number | null;
}

/** Check a compare request against the run's listing; throws SelectionError explaining what is wrong. */
export function resolveCompare(
  run: RunSummary,
  spec: CompareSpec,
  probes: ReadonlySet<number> | null,
): ResolvedCompare {
  const imageText = spec.image.trim();
  let image: number | null = null;
  if (imageText) {
    const text = imageText.replace(/^#/, "");
    if (!/^\d+$/.test(text)) throw new SelectionError(`image: ${JSON.stringify(spec.image)} is not an image index`);
    image = Number(text);
    if (probes && !probes.has(image)) {
      throw new SelectionError(
        `image #${image} is not a probe image; activations exist for ${[...probes].map((i) => `#${i}`).join(", ")}`,
      );
    }
  }
  const candidates = run.layers.filter((layer) => (image === null ? layer.has_weights : layer.has_activations));
  const layers = selectNames(
    spec.layers,
    candidates.map((layer) => layer.name),
    "layers",
  );
  if (!layers.length) throw new SelectionError("no layers selected");
  const available = run.steps_by_kind[image === null ? "weights" : "activations"] ?? [];
  const steps = selectValues(spec.steps, available, "steps");
  if (!steps.length) throw new SelectionError("no checkpoints selected");
  if (steps.length * layers.length > MAX_COMPARE_CELLS) {
    throw new SelectionError(
      `${steps.length} checkpoints × ${layers.length} layers = ${steps.length * layers.length} cells; at most ${MAX_COMPARE_CELLS}: choose fewer checkpoints or layers`,
    );
  }
  let filters = spec.filters.replace(/\s+/g, "");
  if (filters && image === null) {
    const counts = layers.map(
      (name) => run.layers.find((layer) => layer.name === name)?.parameter_shapes.weight?.[0] ?? MAX_SELECTED_FILTERS,
    );
    const fewest = Math.min(...counts);
    const chosen = selectIndices(filters, fewest, "filters", MAX_SELECTED_FILTERS);
    if (!filters.includes(":")) filters = chosen.join(",");
  }
  return { steps, layers, filters: image === null ? filters : "", image };
}

/** What the form shows before the user has chosen: a few checkpoints, the first layers, all filters. */
export function defaultCompare(run: RunSummary): CompareSpec {
  const steps = spread(run.steps_by_kind.weights ?? run.checkpoints, 6);
  const layers = run.layers.filter((layer) => layer.has_weights).map((layer) => layer.name);
  const shown = layers.slice(0, 6);
  return {
    steps: steps.join(","),
    layers: shown.length > 1 ? `${shown[0]}:${shown[shown.length - 1]}` : shown.join(","),
    filters: "",
    image: "",
  };
}
