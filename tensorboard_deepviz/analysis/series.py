"""Downsampling long per-step series for the Training Dynamics view without losing what matters."""

from __future__ import annotations

import numpy as np


def downsample_keeping_extremes(values: np.ndarray, keep: np.ndarray, points: int) -> np.ndarray:
    """Indices of ``values`` to draw: about ``points`` of them, ascending.

    The series is cut into ``points // 2`` buckets and each bucket keeps its smallest and
    largest finite value, so spikes survive; the first and last points are kept, and so is
    every index where ``keep`` is true (steps with NaN/Inf) or the value is not finite, even
    if that makes the result longer than ``points``.
    """
    values = np.asarray(values, dtype=np.float64)
    keep = np.asarray(keep, dtype=bool)
    count = len(values)
    if count <= max(points, 2):
        return np.arange(count)
    chosen = [np.array([0, count - 1]), np.flatnonzero(keep | ~np.isfinite(values))]
    buckets = max(1, points // 2)
    edges = np.linspace(0, count, buckets + 1).astype(np.int64)
    finite_low = np.where(np.isfinite(values), values, np.inf)
    finite_high = np.where(np.isfinite(values), values, -np.inf)
    for start, stop in zip(edges[:-1], edges[1:]):
        if stop > start:
            chosen.append(
                np.array([start + np.argmin(finite_low[start:stop]), start + np.argmax(finite_high[start:stop])])
            )
    return np.unique(np.concatenate(chosen))
