"""The first NaN or Inf of a run, found in its layer statistics."""

from __future__ import annotations

import numpy as np

from tensorboard_deepviz.analysis.anomalies import Anomaly, NonFiniteCount, first_anomaly, nonfinite_counts
from tensorboard_deepviz.contract import metadata

NAN = metadata.STATISTIC_NAMES.index("nan_count")
INF = metadata.STATISTIC_NAMES.index("inf_count")


def _rows(**bad: tuple[int, int]) -> np.ndarray:
    """Statistics rows with every source counted, and (nan, inf) counts for the sources named."""
    rows = np.zeros((len(metadata.STATISTIC_SOURCES), len(metadata.STATISTIC_NAMES)))
    rows[:, 0] = 10
    for source, (nans, infs) in bad.items():
        rows[metadata.STATISTIC_SOURCES.index(source), [NAN, INF]] = nans, infs
    return rows


def test_finite_statistics_have_no_anomaly():
    assert first_anomaly({"conv": [(0, _rows()), (1, _rows())], "fc": []}) is None
    assert first_anomaly({}) is None


def test_the_earliest_step_wins_over_the_layer_order():
    every_layer = {
        "conv": [(0, _rows()), (5, _rows(gradients=(1, 0)))],
        "fc": [(0, _rows()), (3, _rows(weights=(0, 2), activations=(4, 0)))],
    }
    assert first_anomaly(every_layer) == Anomaly(
        3, "fc", (NonFiniteCount("weights", 0, 2), NonFiniteCount("activations", 4, 0))
    )


def test_at_equal_steps_the_layer_nearest_the_input_wins():
    every_layer = {"conv": [(2, _rows(activations=(1, 0)))], "fc": [(2, _rows(weights=(1, 1)))]}
    assert first_anomaly(every_layer).layer == "conv"
    assert first_anomaly(dict(reversed(list(every_layer.items())))).layer == "fc"


def test_nonfinite_counts_name_the_sources_in_their_order():
    assert nonfinite_counts(_rows(activations=(0, 1), weights=(2, 0))) == (
        NonFiniteCount("weights", 2, 0),
        NonFiniteCount("activations", 0, 1),
    )
