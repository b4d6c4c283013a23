"""Where training went wrong, found in the logged layer statistics: today the first NaN or Inf.

Each function reads statistics rows as the server holds them (``{layer: [(step, rows), ...]}``,
rows ``[len(STATISTIC_SOURCES), len(STATISTIC_NAMES)]``) and returns plain values. numpy only.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np

from ..contract import metadata

# ``{layer: [(step, rows), ...]}`` with steps ascending and layers in the model's order.
LayerSeries = Mapping[str, Sequence[tuple[int, np.ndarray]]]


@dataclasses.dataclass(frozen=True)
class NonFiniteCount:
    """How many NaN and Inf values one source (weights, gradients or activations) held."""

    source: str
    nan_count: int
    inf_count: int


@dataclasses.dataclass(frozen=True)
class Anomaly:
    """The first step at which a layer held NaN or Inf, and in which of its sources."""

    step: int
    layer: str
    sources: tuple[NonFiniteCount, ...]


def nonfinite_counts(rows: np.ndarray) -> tuple[NonFiniteCount, ...]:
    """The sources of one statistics row set that held NaN or Inf, in ``STATISTIC_SOURCES`` order."""
    nan_index = metadata.STATISTIC_NAMES.index("nan_count")
    inf_index = metadata.STATISTIC_NAMES.index("inf_count")
    return tuple(
        NonFiniteCount(source, int(rows[i, nan_index]), int(rows[i, inf_index]))
        for i, source in enumerate(metadata.STATISTIC_SOURCES)
        if rows[i, nan_index] > 0 or rows[i, inf_index] > 0
    )


def first_anomaly(every_layer: LayerSeries) -> Optional[Anomaly]:
    """The earliest step at which any layer's weights, gradients or activations held NaN or Inf.

    Args:
      every_layer: each layer's statistics, steps ascending, layers in the model's order.

    Returns:
      The anomaly at the smallest step; at equal steps, the layer that comes first in
      ``every_layer`` (nearest the input, where a divergence usually starts). None when every
      value was finite.
    """
    best: Optional[tuple[int, int, Anomaly]] = None
    for order, (layer, data) in enumerate(every_layer.items()):
        for step, rows in data:
            bad = nonfinite_counts(rows)
            if bad:
                if best is None or (step, order) < best[:2]:
                    best = (step, order, Anomaly(step, layer, bad))
                break  # later steps of this layer cannot be earlier
    return None if best is None else best[2]
