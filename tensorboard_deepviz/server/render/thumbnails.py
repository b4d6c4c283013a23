"""Sprites of eval-set thumbnails, and single thumbnails, as PNG.

Thumbnails sit in a grid in reading order with no gaps (``thumbnails_layout``); grayscale
thumbnails stay grayscale.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .colormaps import BACKGROUND
from .grid import near_square, pad
from .png import encode_png


def thumbnails_layout(count: int, thumb_shape: tuple[int, int], *, columns: Optional[int] = None) -> dict[str, Any]:
    """Layout of a sprite of ``count`` thumbnails of ``thumb_shape`` (h, w) in reading order
    with no gaps: ``{"count", "thumb": [h, w], "columns", "rows", "width", "height"}``.

    Thumbnail i is at ``x = (i % columns) * w``, ``y = (i // columns) * h``. ``columns``
    defaults to a near-square grid and is clamped to ``count``.
    """
    if count < 1:
        raise ValueError("a thumbnail sprite needs at least one image")
    h, w = (int(v) for v in thumb_shape)
    if h < 1 or w < 1:
        raise ValueError(f"thumbnails must have a positive size, got {h} x {w}")
    if columns is None:
        columns = near_square(count)[1]
    elif columns < 1:
        raise ValueError(f"columns must be positive, got {columns}")
    columns = int(min(columns, count))
    rows = -(-count // columns)
    return {
        "count": int(count),
        "thumb": [h, w],
        "columns": columns,
        "rows": rows,
        "width": columns * w,
        "height": rows * h,
    }


def _check_thumbnails(thumbnails: np.ndarray, rank: int, what: str) -> None:
    if thumbnails.dtype != np.uint8:
        raise ValueError(f"{what} must be uint8, got {thumbnails.dtype}")
    shape = "[N, h, w, 1 or 3]" if rank == 4 else "[h, w, 1 or 3]"
    if thumbnails.ndim != rank or thumbnails.shape[-1] not in (1, 3):
        raise ValueError(f"{what} must be {shape}, got shape {thumbnails.shape}")


def render_thumbnails(thumbnails: np.ndarray, *, columns: Optional[int] = None) -> tuple[bytes, dict[str, Any]]:
    """Sprite of uint8 thumbnails ``[N, h, w, 1 or 3]`` in a grid (see ``thumbnails_layout``).

    Grayscale thumbnails give a grayscale PNG, colour ones an RGB PNG; unused slots of the
    last row are ``BACKGROUND`` grey.
    """
    images = np.asarray(thumbnails)
    _check_thumbnails(images, 4, "thumbnails")
    layout = thumbnails_layout(len(images), images.shape[1:3], columns=columns)
    rows, cols = layout["rows"], layout["columns"]
    _, h, w, depth = images.shape
    grid = pad(images, (rows * cols,), BACKGROUND[0] if depth == 1 else BACKGROUND)
    sprite = grid.reshape(rows, cols, h, w, depth).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, depth)
    return encode_png(sprite), layout


def render_image(thumbnail: np.ndarray) -> bytes:
    """PNG of one uint8 thumbnail ``[h, w, 1 or 3]``: grayscale stays grayscale (PNG mode L)."""
    image = np.asarray(thumbnail)
    _check_thumbnails(image, 3, "a thumbnail")
    return encode_png(image)
