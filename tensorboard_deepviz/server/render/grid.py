"""Near-square grids, the arrangement every sprite uses for its filters, channels and thumbnails."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def near_square(count: int) -> tuple[int, int]:
    """(rows, cols) of the near-square grid for ``count >= 1`` items: cols = ceil(sqrt(count)),
    rows = ceil(count / cols)."""
    cols = math.isqrt(count - 1) + 1
    return -(-count // cols), cols


def extent(count: int, size: int, gap: int) -> int:
    """Pixels spanned by ``count`` items of ``size`` pixels with ``gap`` pixels between neighbours."""
    return count * size + (count - 1) * gap


def pad(array: np.ndarray, axis_sizes: tuple[int, ...], fill: Any) -> np.ndarray:
    """``array`` grown (at the end of its leading axes) to ``axis_sizes``; new entries ``fill``
    (a scalar, or e.g. an RGB colour broadcast over the last axis)."""
    if array.shape[: len(axis_sizes)] == axis_sizes:
        return array
    padded = np.full(axis_sizes + array.shape[len(axis_sizes) :], fill, dtype=array.dtype)
    padded[tuple(slice(0, n) for n in array.shape[: len(axis_sizes)])] = array
    return padded
