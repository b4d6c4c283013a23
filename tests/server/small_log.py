"""A small deepviz run written with the summary functions into a ``FakeLog``, and the arrays it holds.

Two layers, logged in the model's order ``stem`` (a Conv2d fed by the input) then ``head`` (a
Linear), so that the logged order differs from the alphabetical one; six eval images of three
classes, probe images 0 and 3. Every array is a function of the step, so tests compare answers
with what was written. Both layers have units records (``unit_arrays``: hand-set class means and
top images whose selectivity, dead units and stability are known); ``stem`` has Grad-CAM maps
(``attribution_maps``) whose largest value per probe comes from different checkpoints.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from tensorboard_deepviz import summary
from tensorboard_deepviz.analysis.clustering import Clusters
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.routing import RouteRequest
from tests.support.fakelog import FakeLog

RUN = "run"
CLASS_NAMES = ["cat", "dog", "bird"]
LABELS = np.array([0, 1, 2, 0, 1, 2])
PROBES = [0, 3]
LAYERS = ["stem", "head"]  # the model's order
GRAPH = {
    "nodes": [
        {
            "module": "stem",
            "type": "Conv2d",
            "output_shape": [1, 4, 4, 4],
            "parameter_shapes": {"weight": [4, 3, 3, 3]},
        },
        {"module": "head", "type": "Linear", "output_shape": [1, 3], "parameter_shapes": {"weight": [3, 8]}},
    ],
    "edges": [{"source": "input", "target": "stem"}, {"source": "stem", "target": "head"}],
    "logged_layers": LAYERS,
    "cluster_layer": "head",
    "checkpoint_markers": True,
}


def thumbnails() -> np.ndarray:
    return (np.arange(6 * 4 * 4 * 3) % 256).astype(np.uint8).reshape(6, 4, 4, 3)


def stem_weights(step: int) -> np.ndarray:
    return np.random.default_rng(step).standard_normal((4, 3, 3, 3)).astype(np.float16)


def head_weights(step: int) -> np.ndarray:
    return np.random.default_rng(100 + step).standard_normal((3, 8)).astype(np.float16)


def stem_activations(step: int) -> np.ndarray:
    return np.random.default_rng(200 + step).standard_normal((len(PROBES), 4, 4, 4)).astype(np.float32)


INPUT_SHAPE = [8, 8]  # the model's input; the thumbnails are 4 x 4
UNIT_CLASS_MEANS = {
    # stem: class 2 only (selectivity 1), uniform (0), silent and dead (0), (3 - 1) / (3 + 1) = 0.5
    "stem": [[0.0, 0.0, 4.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [3.0, 1.0, 1.0]],
    # head: for classes 0 and 2 both (score 2 / (4 / 3) = 1.5), for class 0 only (score 0), for
    # 0 and 2 less so (1.3 / 1.0 = 1.3)
    "head": [[2.0, 0.0, 2.0], [4.0, 0.0, 0.0], [1.5, 0.2, 1.3]],
}
UNIT_TOP_IMAGES = {
    # At step 0, and from step 1 on. Between the two, stem unit 0 keeps 2 of 4 images (Jaccard
    # 0.5) and unit 3 1 of 3 (1 / 3); unit 3 has two top images only (the third is padding).
    ("stem", True): [[0, 1, 2], [3, 4, 5], [0, 2, 4], [1, 3, -1]],
    ("stem", False): [[0, 1, 3], [3, 4, 5], [0, 2, 4], [1, 5, -1]],
    ("head", True): [[1, 2, 3], [0, 1, 2], [4, 5, 0]],
    ("head", False): [[1, 2, 3], [0, 1, 2], [4, 5, 0]],
}
UNIT_TOP_VALUES = {
    "stem": [[3.0, 2.0, 1.0], [1.0, 0.5, 0.25], [-0.5, -1.0, -2.0], [2.0, 1.0, 0.0]],  # unit 2 never positive
    "head": [[2.0, 1.0, 0.5], [4.0, 3.0, 2.0], [1.5, 1.0, 0.5]],
}
OUTPUT_SHAPES = {"stem": [4, 4, 4], "head": [3]}


def unit_arrays(layer: str, step: int) -> dict[str, Any]:
    """The keyword arguments of ``summary.units_summary`` for ``layer`` at ``step``.

    Unit u's maximum on its j-th image is at position (row, col) = ((u + j) % 4, j); its box is
    the 4 x 4 input pixels around it, (2 row, 2 col, 2 row + 4, 2 col + 4), clipped to the input.
    """
    images = np.array(UNIT_TOP_IMAGES[(layer, step == 0)], dtype=np.int32)
    units, k = images.shape
    rows = (np.arange(units)[:, None] + np.arange(k)[None, :]) % 4
    cols = np.broadcast_to(np.arange(k)[None, :], (units, k))
    positions = np.stack([rows, cols], axis=-1)
    boxes = np.concatenate([2 * positions, np.minimum(2 * positions + 4, 8)], axis=-1)
    means = np.array(UNIT_CLASS_MEANS[layer], dtype=np.float32)
    return {
        "top_images": images,
        "top_values": np.array(UNIT_TOP_VALUES[layer], dtype=np.float32),
        "top_positions": positions,
        "top_boxes": boxes,
        "class_means": means,
        "mean": means.mean(axis=1),
        "output_shape": OUTPUT_SHAPES[layer],
        "input_shape": INPUT_SHAPE,
    }


def attribution_maps(step: int) -> np.ndarray:
    """Grad-CAM of the probes at ``stem``: probe 0's maps peak at 3 (step 2), probe 3's at 5 (step 0)."""
    base = np.arange(16, dtype=np.float32).reshape(4, 4) / 15
    return np.stack([base * (step + 1), base * (5 - 2 * step)])


def predicted(step: int) -> np.ndarray:
    """Right for every image at step 0; from step 1 on, no image is predicted as class 2 ("bird")."""
    return LABELS.copy() if step == 0 else np.array([0, 1, 1, 0, 1, 0])


def probabilities(step: int) -> np.ndarray:
    rows = np.full((len(PROBES), 3), 0.25)
    rows[np.arange(len(PROBES)), predicted(step)[PROBES]] = 0.5
    return rows


def statistics(step: int, nan_layer: Optional[str] = None, layer: str = "stem") -> np.ndarray:
    """Rows [sources, statistics]: every source counted, norms growing with the step; NaN in ``nan_layer``."""
    rows = np.zeros((len(metadata.STATISTIC_SOURCES), len(metadata.STATISTIC_NAMES)))
    rows[:, metadata.STATISTIC_NAMES.index("count")] = 10
    rows[:, metadata.STATISTIC_NAMES.index("norm")] = step + (0.5 if layer == "head" else 0.0)
    if step == 0:  # no gradient before the first backward pass
        rows[metadata.STATISTIC_SOURCES.index("gradients")] = 0
    if nan_layer == layer:
        rows[metadata.STATISTIC_SOURCES.index("weights"), metadata.STATISTIC_NAMES.index("nan_count")] = 2
    return rows


def checkpoint(log: FakeLog, run: str, step: int, *, marker: bool = True) -> list[str]:
    """Write one checkpoint's records (and its marker); returns the tags written."""
    clusters = Clusters(
        assignment=np.array([0, 1, 1, 0, 1, 1]),
        nearest=np.array([[0, 3], [1, 2]]),
        sizes=np.array([2, 4]),
        majority_class=np.array([0, 1]),
        purity=np.array([1.0, 0.5]),
        projection=np.arange(12, dtype=np.float32).reshape(6, 2),
        nonfinite_images=0,
    )
    confidence = np.full(len(LABELS), 0.5)
    summaries = [
        summary.weights_summary("stem", stem_weights(step), layer_type="Conv2d"),
        summary.weights_summary("head", head_weights(step), layer_type="Linear", total_filters=5),
        summary.activations_summary("stem", stem_activations(step), PROBES),
        summary.predictions_summary(PROBES, probabilities(step), predicted(step), confidence),
        summary.confusion_summary(LABELS, predicted(step), len(CLASS_NAMES)),
        summary.clusters_summary(clusters, layer="head", metric="euclidean"),
        summary.units_summary("stem", **unit_arrays("stem", step)),
        summary.units_summary("head", **unit_arrays("head", step)),
        summary.attribution_summary(
            "stem", PROBES, predicted(step)[PROBES], attribution_maps(step), input_shape=INPUT_SHAPE
        ),
    ]
    tags = [proto.value[0].tag for proto in summaries]
    for proto in summaries:
        log.add(run, proto, step)
    if marker:
        log.add(run, summary.checkpoint_summary(tags), step)
    return tags


def write_run(
    log: FakeLog,
    run: str = RUN,
    checkpoints: Sequence[int] = (0, 2),
    *,
    markers: bool = True,
    nan_layer: Optional[str] = None,
    nan_from: int = 2,
) -> None:
    """A run as DeepViz writes it: graph and corpus, statistics at every step, then the checkpoints.

    Without ``markers`` the graph does not announce them and none are written (an older log).
    ``nan_layer`` holds NaN weights from step ``nan_from`` on.
    """
    graph = dict(GRAPH, checkpoint_markers=markers)
    log.add(run, summary.graph_summary(graph), 0)
    log.add(run, summary.corpus_summary(thumbnails(), LABELS, CLASS_NAMES, ids=[f"img{i}" for i in range(6)]), 0)
    for step in range(max(checkpoints) + 1):
        for layer in LAYERS:
            nan = nan_layer if step >= nan_from else None
            log.add(run, summary.layer_statistics_summary(layer, statistics(step, nan, layer)), step)
        log.add(run, summary.loss_summary(2.0 / (step + 1)), step)
        # The first layer's input batch: count, mean, std, min, max, norm, zero share, NaN, Inf.
        log.add(run, summary.input_statistics_summary([48.0, 0.1, 0.9, -1.8, 2.2, 6.3, 0.0, 0.0, 0.0]), step)
        if step in checkpoints:
            checkpoint(log, run, step, marker=markers)


def small_log(checkpoints: Sequence[int] = (0, 2), *, markers: bool = True, nan_layer: Optional[str] = None) -> FakeLog:
    """A ``FakeLog`` holding one run written by ``write_run``."""
    log = FakeLog()
    write_run(log, checkpoints=checkpoints, markers=markers, nan_layer=nan_layer)
    return log


def route_request(log: FakeLog, **args: str) -> RouteRequest:
    """A request for a route of ``log`` with the given parameters, its memo a plain dict."""
    memo: dict = {}

    def remember(key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    return RouteRequest(args, log.experiment(), remember)
