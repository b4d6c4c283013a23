// A stand-in for the plugin's routes: plausible answers for the run of helpers.runSummary()
// (named "<i>main</i>", with hostile class names), for tests that render the page or a panel.

import { runSummary } from "./helpers";

/** Class names with markup: they must reach the page as text. */
export const NAMES = ["<b>cat</b>", "<img src=x onerror=alert(1)>", 'dog & "friends"', "plain"];

/** The first run of the index (the one a test context selects). */
export const FAKE_RUN = runSummary({ run: "<i>main</i>", class_names: NAMES });

/** The second run of the index: it logged no clusters. */
export const SECOND_RUN = runSummary({
  run: "second",
  class_names: NAMES,
  kinds: FAKE_RUN.kinds.filter((kind) => kind !== "clusters"),
});

/** The answer of the plugin route `url` (relative, as the dashboard asks), for a run like helpers.runSummary(). */
export function fakeServer(url: string): unknown {
  const [route, query = ""] = url.split("?");
  const params = new URLSearchParams(query);
  const run = FAKE_RUN;
  switch (route) {
    case "index":
      return { version: 1, runs: [run, SECOND_RUN] };
    case "graph":
      return {
        nodes: [
          { id: "input", module: "", type: "Input", output_shape: [1, 3, 16, 16] },
          { id: "conv1", module: "conv1", type: "Conv2d", output_shape: [1, 8, 16, 16], logged: true },
          { id: "bn1", module: "bn1", type: "BatchNorm2d", output_shape: [1, 8, 16, 16], logged: true },
          { id: "fc", module: "fc", type: "Linear", output_shape: [1, 4], logged: true },
          { id: "output", module: "", type: "Output", output_shape: [1, 4] },
        ],
        edges: [
          { source: "input", target: "conv1" },
          { source: "conv1", target: "bn1" },
          { source: "bn1", target: "fc" },
          { source: "fc", target: "output" },
        ],
        modules: [
          { name: "conv1", type: "Conv2d", parent: "" },
          { name: "bn1", type: "BatchNorm2d", parent: "" },
          { name: "fc", type: "Linear", parent: "" },
        ],
        model_type: "Net",
      };
    case "corpus":
      return {
        count: 48,
        class_names: NAMES,
        labels: Array.from({ length: 48 }, (_, i) => i % 4),
        ids: null,
        captions: null,
        thumbnail_shape: [16, 16, 3],
      };
    case "predictions":
      if (params.get("image")) {
        return {
          step: Number(params.get("step")),
          image: Number(params.get("image")),
          predicted: 1,
          confidence: 0.5,
          probabilities: [0.1, 0.5, 0.3, 0.1],
        };
      }
      return {
        step: Number(params.get("step")),
        probe_images: [0, 1, 2, 3],
        probe_probabilities: [],
        predicted: Array.from({ length: 48 }, (_, i) => (i % 5 === 0 ? 0 : i % 4)),
        confidence: Array(48).fill(0.5),
      };
    case "confusion":
      return {
        step: Number(params.get("step")),
        counts: [
          [10, 2, 0, 0],
          [1, 11, 0, 0],
          [0, 0, 12, 0],
          [0, 0, 3, 9],
        ],
        cell_images: NAMES.map((_, t) => NAMES.map((__, p) => (t === p ? [t, t + 4] : []))),
        accuracy: 0.875,
        precision: [],
        recall: [],
      };
    case "clusters":
      return {
        step: 6,
        layer: "input of fc",
        metric: "euclidean",
        nonfinite_images: 0,
        assignment: Array.from({ length: 48 }, (_, i) => i % 2),
        nearest: [
          [0, 2, 4],
          [1, 3],
        ],
        sizes: [24, 24],
        majority_class: [0, 1],
        purity: [0.5, "NaN"],
        projection: Array.from({ length: 48 }, (_, i) => [i, i % 7]),
      };
    case "dynamics":
      return {
        stat: "norm",
        source: "weights",
        series: {
          conv1: { steps: [0, 1, 2, 3], values: [1, 2, "NaN", 3], nan_steps: [2], inf_steps: [], total_steps: 4 },
          fc: { steps: [0, 3], values: [0.5, 0.7], nan_steps: [], inf_steps: [3], total_steps: 4 },
        },
        first_anomaly: { step: 2, layer: "conv1", sources: [{ source: "weights", nan_count: 1, inf_count: 0 }] },
      };
    case "filter_values":
      return {
        layer: params.get("layer"),
        step: Number(params.get("step")),
        filter: Number(params.get("filter")),
        shape: [3, 3, 3],
        weight_shape: [3, 3, 3],
        values: Array.from({ length: 3 }, (_, c) => [
          [c, 1, 2],
          [3, 4, 5],
          [6, 7, "NaN"],
        ]),
        min: 0,
        max: 7,
        mean: 3.5,
        norm: 12.5,
        nan_count: 3,
        inf_count: 0,
        total_filters: 8,
        layer_type: "Conv2d",
      };
    case "compare":
      return {
        kind: "weights",
        steps: [0, 2],
        layers: ["conv1", "fc"],
        filters: null,
        image: null,
        cells: [0, 2].flatMap((step) =>
          ["conv1", "fc"].map((layer) => ({
            step,
            layer,
            available: true,
            url: `filters?run=x&layer=${layer}&step=${step}`,
            layout_url: null,
          })),
        ),
      };
    default:
      return {
        kind: "conv",
        filters: 8,
        channels: 3,
        in_channels: 3,
        cell: [8, 8],
        cell_values: [3, 3],
        values_per_filter: 27,
        scale: 3,
        cell_gap: 1,
        tile_gap: 2,
        channel_grid: [2, 2],
        filter_grid: [3, 3],
        tile: [17, 17],
        width: 55,
        height: 55,
        norm: "filter",
        scales: Array(8).fill(1),
        background: [64, 64, 64],
      };
  }
}

/** fetch() answering from fakeServer (or `answer`), counting calls. */
export function fakeFetch(answer: (url: string) => unknown = fakeServer) {
  return async (url: string) =>
    new Response(JSON.stringify(answer(url)), { status: 200, headers: { "Content-Type": "application/json" } });
}
