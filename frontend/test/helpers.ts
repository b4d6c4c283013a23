// Shared by the tests: a run's listing as `index` describes it, and a value that must be there.

import type { RunSummary } from "../src/api/types";

/** `value`, or a thrown error naming `what` when it is missing (instead of a non-null assertion). */
export function defined<T>(value: T | null | undefined, what = "value"): T {
  if (value === null || value === undefined) throw new Error(`${what} is missing`);
  return value;
}

export function runSummary(overrides: Partial<RunSummary> = {}): RunSummary {
  const checkpoints = overrides.checkpoints ?? [0, 2, 4, 6];
  return {
    run: "main",
    layers: [
      {
        name: "conv1",
        kind: "Conv2d",
        output_shape: [1, 8, 16, 16],
        parameter_shapes: { weight: [8, 3, 3, 3] },
        has_weights: true,
        has_activations: true,
        has_statistics: true,
        has_units: true,
        has_attribution: true,
      },
      {
        name: "bn1",
        kind: "BatchNorm2d",
        output_shape: [1, 8, 16, 16],
        parameter_shapes: {},
        has_weights: false,
        has_activations: true,
        has_statistics: true,
      },
      {
        name: "fc",
        kind: "Linear",
        output_shape: [1, 4],
        parameter_shapes: { weight: [4, 128] },
        has_weights: true,
        has_activations: true,
        has_statistics: true,
        has_units: true,
        has_attribution: false,
      },
    ],
    checkpoints,
    steps_by_kind: {
      weights: checkpoints,
      activations: checkpoints,
      predictions: checkpoints,
      confusion: checkpoints,
      clusters: checkpoints,
      // units and attribution: not listed, as the index answers (every checkpoint has them)
    },
    statistics_steps: { count: 7, first: 0, last: 6 },
    class_names: ["cat", "dog", "bird", "fish"],
    corpus_size: 48,
    thumbnail_shape: [16, 16, 3],
    kinds: [
      "activations",
      "attribution",
      "clusters",
      "confusion",
      "corpus",
      "graph",
      "predictions",
      "statistics",
      "units",
      "weights",
    ],
    cluster_layer: "input of fc",
    ...overrides,
  };
}
