// A stand-in for the plugin's routes: plausible answers for the run of helpers.runSummary()
// (named "<i>main</i>", with hostile class names), for tests that render the page or a panel.

import type { FeatureVisLayout, Finding, FindingsResponse } from "../src/api/types";
import { topImagesSpriteUrl } from "../src/api/urls";
import { thumbnailsLayout } from "../src/lib/layout";
import { runSummary } from "./helpers";

/** Class names with markup: they must reach the page as text. */
export const NAMES = ["<b>cat</b>", "<img src=x onerror=alert(1)>", 'dog & "friends"', "plain"];

/**
 * Feature visualizations of the fake run: conv1 only, rendered at FEATURE_VIS_STEPS (checkpoints
 * 0 and 4 have none of their own: 0 none at all, 4 shows step 2's), of FEATURE_VIS_UNITS (not
 * units 4 and 7); the dead unit has no signal.
 */
export const FEATURE_VIS_STEPS = [2, 6];
export const FEATURE_VIS_UNITS = [0, 1, 2, 3, 5, 6];
export const NO_SIGNAL_UNIT = 3;

const BASE_RUN = runSummary({ run: "<i>main</i>", class_names: NAMES });

/** The first run of the index (the one a test context selects). */
export const FAKE_RUN = runSummary({
  ...BASE_RUN,
  layers: BASE_RUN.layers.map((layer) => ({ ...layer, has_feature_vis: layer.name === "conv1" })),
  steps_by_kind: { ...BASE_RUN.steps_by_kind, feature_vis: FEATURE_VIS_STEPS },
  kinds: [...BASE_RUN.kinds, "feature_vis"].sort() as typeof BASE_RUN.kinds,
});

/** The second run of the index: it logged no clusters. */
export const SECOND_RUN = runSummary({
  run: "second",
  class_names: NAMES,
  kinds: FAKE_RUN.kinds.filter((kind) => kind !== "clusters"),
});

/** An error answer (4xx with `{"error": ...}`), as the plugin sends for bad parameters. */
export class HttpError {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {}
}

// ---------------------------------------------------------------- units and Grad-CAM

/** Units per layer (conv1's output channels, fc's outputs); conv1's unit 3 is dead. */
export const UNIT_COUNTS: Record<string, number> = { conv1: 8, fc: 4 };
export const DEAD_UNIT = 3;
/** The probe images (predictions' probe_images): the only images with Grad-CAM maps. */
export const PROBES = [0, 1, 2, 3];
/** The top of every probe's Grad-CAM colour scale. */
export const GRADCAM_MAX = 2;

/** Unit `u`'s mean rectified output per class at `step`: mostly its own class u % 4, more so later. */
export function fakeClassMeans(layer: string, u: number, step: number): number[] {
  if (layer === "conv1" && u === DEAD_UNIT) return NAMES.map(() => 0);
  const focus = (1 + step / 6) * (u % 3 === 0 ? 1 : 3);
  return NAMES.map((_, c) => (c === u % NAMES.length ? focus : 0.5 + 0.1 * c));
}

/** The class selectivity index of analysis/units.py (epsilon 1e-7) and the top class. */
export function fakeSelectivity(means: readonly number[]): [number, number] {
  const top = means.indexOf(Math.max(...means));
  const rest = (means.reduce((a, b) => a + b, 0) - means[top]) / (means.length - 1);
  return [Math.max(0, Math.min(1, (means[top] - rest) / (means[top] + rest + 1e-7))), top];
}

function fakeUnit(layer: string, u: number, step: number) {
  const means = fakeClassMeans(layer, u, step);
  const [selectivity, topClass] = fakeSelectivity(means);
  const dead = layer === "conv1" && u === DEAD_UNIT;
  return { unit: u, max: dead ? 0 : 2 + u, mean: dead ? 0 : 1, top_class: topClass, selectivity, dead, means };
}

function unitsError(params: URLSearchParams): HttpError | null {
  const layer = params.get("layer") ?? "";
  if (!(layer in UNIT_COUNTS))
    return new HttpError(404, `layer ${layer} has no units records; layers with them: conv1, fc`);
  const unit = params.get("unit");
  if (unit !== null && !(Number(unit) >= 0 && Number(unit) < UNIT_COUNTS[layer]))
    return new HttpError(400, `unit ${unit} is out of range 0..${UNIT_COUNTS[layer] - 1}`);
  return null;
}

/** Answers of the units, top_images, units_history, attribution and class_pair_units routes. */
function unitsRoute(route: string, params: URLSearchParams): unknown {
  const layer = params.get("layer") ?? "conv1";
  const step = Number(params.get("step") ?? 6);
  const units = UNIT_COUNTS[layer] ?? 0;
  const input_shape = [16, 16];
  switch (route) {
    case "units": {
      const all = Array.from({ length: units }, (_, u) => fakeUnit(layer, u, step));
      const counts = Array(10).fill(0);
      for (const { selectivity } of all) counts[Math.min(9, Math.floor(selectivity * 10))] += 1;
      return (
        unitsError(params) ?? {
          layer,
          step,
          k: 9,
          output_shape: layer === "fc" ? [4] : [8, 16, 16],
          input_shape,
          rectified: true,
          units: all.map(({ means: _, ...unit }) => unit),
          class_means: all.map(({ means }) => means),
          selectivity_histogram: { edges: Array.from({ length: 11 }, (_, i) => i / 10), counts },
        }
      );
    }
    case "top_images": {
      const u = Number(params.get("unit"));
      const unit = fakeUnit(layer, u, step);
      const images = Array.from({ length: 9 }, (_, j) => (u + 4 * j + step) % 48);
      return (
        unitsError(params) ?? {
          layer,
          step,
          unit: u,
          images,
          values: images.map((_, j) => (unit.dead ? 0 : 9 - j)),
          boxes: images.map((_, j) => [j, 2 * (j % 4), j + 8, 2 * (j % 4) + 8]),
          positions: images.map((_, j) => [j % 4, j % 3]),
          input_shape,
          class_means: unit.means,
          selectivity: unit.selectivity,
          top_class: unit.top_class,
          dead: unit.dead,
          sprite: topImagesSpriteUrl(params.get("run") ?? "", layer, u, step),
          cell: 48,
        }
      );
    }
    case "units_history": {
      const steps = FAKE_RUN.checkpoints;
      const table = steps.map((s) => Array.from({ length: units }, (_, u) => fakeUnit(layer, u, s)));
      return (
        unitsError(params) ?? {
          layer,
          steps,
          median_selectivity: table.map((row) => {
            const sorted = row.map((unit) => unit.selectivity).sort((a, b) => a - b);
            return (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
          }),
          dead_fraction: table.map((row) => row.filter((unit) => unit.dead).length / units),
          selectivity: table.map((row) => row.map((unit) => unit.selectivity)),
          // Unit 1's top images never settle; the others settle after the first checkpoints.
          stability: steps.map((_, i) =>
            Array.from({ length: units }, (__, u) => (i === 0 ? 1 : u === 1 ? 0.1 : i > 1 ? 1 : 0.5)),
          ),
        }
      );
    }
    case "attribution": {
      const image = Number(params.get("image"));
      if (!PROBES.includes(image))
        return new HttpError(400, `image ${image} is not a probe image; probe images: ${PROBES.join(", ")}`);
      const growth = (1 + step) / 7;
      return {
        layer: params.get("layer") ?? "conv1",
        step,
        image,
        target: 1,
        shape: [4, 4],
        values: Array.from({ length: 16 }, (_, i) => (i === 5 ? GRADCAM_MAX * growth : (i % 4) * 0.1 * growth)),
        input_shape,
        scale: [0, GRADCAM_MAX],
        layers: ["conv1"],
      };
    }
    case "class_pair_units": {
      const [a, b] = [Number(params.get("a")), Number(params.get("b"))];
      return {
        step,
        a,
        b,
        units: [
          { layer: "conv1", unit: 2, mean_a: 1.5, mean_b: 1.2, score: 2.5 },
          { layer: "fc", unit: 1, mean_a: 0.9, mean_b: "NaN", score: 1.25 },
        ],
      };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- feature visualization

/** The answer of `feature_vis_layout`: the latest render at or before the step, as the route picks it. */
export function fakeFeatureVisLayout(params: URLSearchParams): FeatureVisLayout | HttpError {
  const run = params.get("run") ?? "";
  const layer = params.get("layer") ?? "";
  if (layer !== "conv1") return new HttpError(404, `run '${run}' has no deepviz/feature_vis/${layer}`);
  const requested = params.has("step") ? Number(params.get("step")) : null;
  const earlier = FEATURE_VIS_STEPS.filter((step) => requested === null || step <= requested);
  if (!earlier.length)
    return new HttpError(
      404,
      `run '${run}' has no feature visualization of layer 'conv1' at or before step ${requested}; the first is at step ${FEATURE_VIS_STEPS[0]}`,
    );
  const step = earlier[earlier.length - 1];
  const columns = params.has("columns") ? Number(params.get("columns")) : undefined;
  const units = FEATURE_VIS_UNITS;
  return {
    ...thumbnailsLayout(units.length, [16, 16], columns),
    layer,
    step,
    requested_step: requested,
    units,
    objective: units.map((unit) => (unit === NO_SIGNAL_UNIT ? 0 : 1 + unit + step / 10)),
    no_signal: units.map((unit) => unit === NO_SIGNAL_UNIT),
    warm: units.map(() => step > FEATURE_VIS_STEPS[0]),
    method: "fourier",
    steps: step > FEATURE_VIS_STEPS[0] ? 128 : 512,
    warm_started: step > FEATURE_VIS_STEPS[0],
    warm_from: step > FEATURE_VIS_STEPS[0] ? FEATURE_VIS_STEPS[0] : null,
    seconds: 1.5,
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], learned: true },
    output_shape: [8, 16, 16],
  };
}

// ---------------------------------------------------------------- findings

/** A link as the findings route writes it (urlencode, commas kept). */
export function findingLink(params: Record<string, string | number>): string {
  const query = new URLSearchParams(Object.entries(params).map(([key, value]) => [key, String(value)]));
  return `#${query.toString().replace(/%2C/g, ",")}`;
}

/**
 * The findings of `run`, in the route's order (error, warning, info, then step): a NaN in conv1's
 * weights at step 2 (where the dynamics answer has it) with fc and bn1 drifting before it; a
 * confused class pair (hostile class names in the message); dead units in fc; bn1 frozen for a
 * while (resolved, so information).
 */
export function fakeFindings(run: string): FindingsResponse {
  const findings: Finding[] = [
    {
      kind: "nan_inf",
      severity: "error",
      layer: "conv1",
      step: 2,
      last_step: 6,
      message: "conv1: its weights first held NaN or Inf at step 2, before any other layer's",
      evidence: {
        source: "weights",
        nan_count: 1,
        inf_count: 0,
        lead_lag: [
          { layer: "fc", source: "gradients", statistic: "norm", left_band_at: 0, lead_steps: 2 },
          { layer: "bn1", source: "activations", statistic: "std", left_band_at: 1, lead_steps: 1 },
        ],
      },
      link: findingLink({ run, view: "dynamics", layer: "conv1", step: 2, stat: "nan_count", source: "weights" }),
    },
    {
      kind: "confused_classes",
      severity: "warning",
      layer: null,
      step: 2,
      last_step: 6,
      message: `true ${NAMES[0]} is predicted as ${NAMES[1]} for 40% of its images`,
      evidence: { a: 0, b: 1, share: 0.4 },
      link: findingLink({ run, view: "confusion", step: 6, cell: "0,1" }),
    },
    {
      kind: "dead_units",
      severity: "warning",
      layer: "fc",
      step: 4,
      last_step: 6,
      message: "fc: 50% of its units never fire on the eval set",
      evidence: { dead_share: 0.5, threshold: 0.5 },
      link: findingLink({ run, view: "units", layer: "fc", step: 6, usort: "selectivity" }),
    },
    {
      kind: "frozen_layer",
      severity: "info",
      layer: "bn1",
      step: 0,
      last_step: 2,
      message: "bn1: its weights did not change for 3 checkpoints (resolved)",
      evidence: { unchanged_checkpoints: 3, persist: 3 },
      link: findingLink({ run, view: "dynamics", layer: "bn1", step: 2, stat: "norm", source: "weights" }),
    },
  ];
  return { run, findings };
}

/** B's run over other eval images: confusion_diff answers a 400 naming the difference. */
export const OTHER_EVAL_RUN = "other eval";
/** The images whose correctness flipped between A and B in every confusion_diff answer. */
export const FLIPS = { right_to_wrong: [5, 9], wrong_to_right: [10] };

/** `confusion_diff`: B's counts move two images of class 2 to class 3, one back to class 0. */
function fakeConfusionDiff(params: URLSearchParams): unknown {
  const runB = params.get("run_b") ?? params.get("run");
  if (runB === OTHER_EVAL_RUN)
    return new HttpError(400, `runs '${params.get("run")}' and '${runB}' have different eval sets: 48 and 40 images`);
  const countsA = [
    [10, 2, 0, 0],
    [1, 11, 0, 0],
    [0, 0, 12, 0],
    [0, 0, 3, 9],
  ];
  const countsB = [
    [11, 1, 0, 0],
    [1, 11, 0, 0],
    [0, 0, 10, 2],
    [0, 0, 3, 9],
  ];
  const share = (counts: number[][]) => counts.map((row) => row.map((value) => value / row.reduce((x, y) => x + y, 0)));
  const [sharesA, sharesB] = [share(countsA), share(countsB)];
  return {
    run: params.get("run"),
    step: Number(params.get("step")),
    run_b: runB,
    step_b: Number(params.get("step_b")),
    counts_a: countsA,
    counts_b: countsB,
    diff: countsB.map((row, t) => row.map((value, p) => value - countsA[t][p])),
    row_shares_diff: sharesB.map((row, t) => row.map((value, p) => value - sharesA[t][p])),
    accuracy_a: 42 / 48,
    accuracy_b: 41 / 48,
    flips: FLIPS,
  };
}

/** The answer of the plugin route `url` (relative, as the dashboard asks), for a run like helpers.runSummary(). */
export function fakeServer(url: string): unknown {
  const [route, query = ""] = url.split("?");
  const params = new URLSearchParams(query);
  const run = FAKE_RUN;
  switch (route) {
    case "units":
    case "top_images":
    case "units_history":
    case "attribution":
    case "class_pair_units":
      return unitsRoute(route, params);
    case "index":
      return { version: 1, runs: [run, SECOND_RUN] };
    case "feature_vis_layout":
      return fakeFeatureVisLayout(params);
    case "feature_vis":
    case "feature_vis_sprite": {
      // PNG routes: fetched only to read why an image failed.
      const layout = fakeFeatureVisLayout(params);
      if (layout instanceof HttpError) return layout;
      const unit = params.get("unit");
      return unit === null || layout.units.includes(Number(unit))
        ? {}
        : new HttpError(404, `unit ${unit} of layer 'conv1' has no feature visualization at step ${layout.step}`);
    }
    case "findings": {
      const name = params.get("run") ?? "";
      // The second run: nothing above information.
      if (name === SECOND_RUN.run) return { run: name, findings: fakeFindings(name).findings.slice(3) };
      return fakeFindings(name);
    }
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
    case "confusion_diff":
      return fakeConfusionDiff(params);
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

/** fetch() answering from fakeServer (or `answer`), counting calls; an HttpError answers as that error. */
export function fakeFetch(answer: (url: string) => unknown = fakeServer) {
  return async (url: string) => {
    const body = answer(url);
    const [status, json] = body instanceof HttpError ? [body.status, { error: body.error }] : [200, body];
    return new Response(JSON.stringify(json), { status, headers: { "Content-Type": "application/json" } });
  };
}
