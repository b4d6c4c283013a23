"""Layer moments on the host: combining rows of several tensors, and the statistics derived from them.

A moment row holds raw, additive-or-extremal quantities of one tensor (``MOMENT_NAMES``), so that
rows from several tensors or ranks can be combined before the finished statistics are derived.
The writer computes the rows on the model's device (``writer.moments``); these functions finish
them in the background worker. numpy only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..contract import metadata

# Layer moments: one row of raw, additive-or-extremal quantities per tensor, so that rows from
# several ranks can be combined before the finished statistics are derived.
MOMENT_NAMES = ("count", "sum", "sum_squares", "min", "max", "zeros", "nan_count", "inf_count")
ADDITIVE_MOMENTS = [0, 1, 2, 5, 6, 7]


def combine_moments(rows: np.ndarray) -> np.ndarray:
    """Combine moment rows ``[K, len(MOMENT_NAMES)]`` of K tensors into one row (empty rows ignored).

    The combined extremes are NaN when any row's are (NaN in, NaN out); no rows give zeros.
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(MOMENT_NAMES))
    present = rows[rows[:, 0] > 0]
    combined = present.sum(axis=0) if len(present) else np.zeros(len(MOMENT_NAMES))
    if len(present):
        combined[3] = present[:, 3].min()  # numpy's min and max propagate NaN
        combined[4] = present[:, 4].max()
    return combined


def layer_moments(
    moments: np.ndarray, layers: int, parameter_owners: Sequence[int], gradient_owners: Sequence[int]
) -> np.ndarray:
    """Arrange ``moments_of`` rows into ``[layers, len(STATISTIC_SOURCES), len(MOMENT_NAMES)]``.

    ``moments`` holds one activation row per layer, then a row per parameter, then a row per
    gradient; the owners give each parameter's and gradient's layer. A layer's parameters
    (weight and bias) are combined into one row, and so are their gradients.
    """
    moments = np.asarray(moments, dtype=np.float64)
    parameters = moments[layers : layers + len(parameter_owners)]
    gradients = moments[layers + len(parameter_owners) :]
    if len(gradients) != len(gradient_owners):
        raise ValueError(
            f"{len(moments)} moment rows do not match {layers} layers, "
            f"{len(parameter_owners)} parameters and {len(gradient_owners)} gradients"
        )
    parameter_layer = np.asarray(parameter_owners, dtype=int)
    gradient_layer = np.asarray(gradient_owners, dtype=int)
    table = np.zeros((layers, len(metadata.STATISTIC_SOURCES), len(MOMENT_NAMES)))
    weights, grads, activations = (metadata.STATISTIC_SOURCES.index(s) for s in ("weights", "gradients", "activations"))
    for layer in range(layers):
        table[layer, weights] = combine_moments(parameters[parameter_layer == layer])
        table[layer, grads] = combine_moments(gradients[gradient_layer == layer])
        table[layer, activations] = moments[layer]
    return table


def statistics_from_moments(moments: np.ndarray) -> np.ndarray:
    """Turn moment rows ``[..., len(MOMENT_NAMES)]`` into ``metadata.STATISTIC_NAMES`` rows (float64).

    A row with count 0 (no tensor) stays all zeros. The columns that are not moments of one
    tensor (``update_ratio``, ``saturation``) are NaN: the writer fills them where they apply.
    """
    moments = np.asarray(moments, dtype=np.float64)
    count, total, squares, minimum, maximum, zeros, nans, infs = np.moveaxis(moments, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_count = np.where(count > 0, count, 1.0)
        mean = total / safe_count
        variance = np.maximum(squares / safe_count - mean * mean, 0.0)
        rows = np.stack(
            [count, mean, np.sqrt(variance), minimum, maximum, np.sqrt(squares), zeros / safe_count, nans, infs],
            axis=-1,
        )
    rows[count == 0] = 0.0
    assert rows.shape[-1] == len(metadata.STATISTIC_NAMES_V1)
    extra = np.full(rows.shape[:-1] + (len(metadata.STATISTIC_NAMES) - rows.shape[-1],), np.nan)
    return np.concatenate([rows, extra], axis=-1)
