"""Sprites of image crops: the parts of eval-set thumbnails a unit responded to, side by side.

A unit's top images come with boxes in the model input's pixels (its receptive field around the
position of its maximum). The thumbnails the corpus holds are usually smaller than the input,
so each box is first mapped to the thumbnail's pixels (``thumbnail_box``: widened to whole
pixels, at least one), then that crop is resized to ``size x size`` pixels by nearest-neighbour
sampling. Crops sit in one row, ``CROP_GAP`` pixels apart, in the order given::

    crop i spans x = i * (size + CROP_GAP) .. + size, y = 0 .. size
    width = count * size + (count - 1) * CROP_GAP, height = size

Gaps are ``BACKGROUND``; grayscale thumbnails give a grayscale PNG.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .colormaps import BACKGROUND
from .grid import extent
from .png import encode_png

CROP_GAP = 1
Box = tuple[int, int, int, int]


def thumbnail_box(box: Sequence[int], input_shape: Sequence[int], thumb_shape: Sequence[int]) -> Box:
    """A box in input pixels mapped to a thumbnail's pixels: ``(top, left, bottom, right)``, bottom/right exclusive.

    The box is first clipped to the input; the mapped box covers every thumbnail pixel the box
    touches (top and left rounded down, bottom and right up) and is at least 1 x 1 pixel, inside
    the thumbnail, even for an empty or out-of-frame box.

    Args:
      box: ``(top, left, bottom, right)`` in the input's pixels.
      input_shape: ``(H, W)`` of the model input, the box's frame (positive).
      thumb_shape: ``(h, w)`` of the thumbnail (positive).
    """
    if len(input_shape) < 2 or len(thumb_shape) < 2:
        raise ValueError(f"an input shape {list(input_shape)} or a thumbnail shape {list(thumb_shape)} is not (h, w)")
    height, width = int(input_shape[0]), int(input_shape[1])
    thumb_h, thumb_w = int(thumb_shape[0]), int(thumb_shape[1])
    if height < 1 or width < 1 or thumb_h < 1 or thumb_w < 1:
        raise ValueError(f"an input {height} x {width} or a thumbnail {thumb_h} x {thumb_w} is empty")
    top, left, bottom, right = (int(v) for v in box)
    rows = _span(top, bottom, height, thumb_h)
    cols = _span(left, right, width, thumb_w)
    return rows[0], cols[0], rows[1], cols[1]


def _span(start: int, stop: int, size: int, thumb: int) -> tuple[int, int]:
    """``[start, stop)`` of an axis of ``size`` pixels mapped to ``thumb`` pixels, at least one pixel wide."""
    start, stop = min(max(start, 0), size), min(max(stop, 0), size)
    low = min((start * thumb) // size, thumb - 1)
    high = -((-stop * thumb) // size)  # ceil
    return low, min(max(high, low + 1), thumb)


def crops_layout(count: int, size: int) -> dict[str, Any]:
    """Layout of a sprite of ``count`` crops of ``size`` pixels: ``{"count", "cell", "gap", "width", "height"}``."""
    if count < 1:
        raise ValueError("a crop sprite needs at least one crop")
    if size < 1:
        raise ValueError(f"crops must be at least 1 pixel, got {size}")
    return {"count": count, "cell": size, "gap": CROP_GAP, "width": extent(count, size, CROP_GAP), "height": size}


def _resize_nearest(image: np.ndarray, size: int) -> np.ndarray:
    """``image [h, w, c]`` sampled at the centres of a ``size x size`` grid."""
    height, width = image.shape[:2]
    rows = ((2 * np.arange(size) + 1) * height) // (2 * size)
    cols = ((2 * np.arange(size) + 1) * width) // (2 * size)
    return image[rows[:, None], cols[None, :]]


def render_crops(
    thumbnails: np.ndarray, boxes: np.ndarray, input_shape: Sequence[int], size: int
) -> tuple[bytes, dict[str, Any]]:
    """Sprite of one crop per thumbnail, each its box (input pixels) mapped onto it and resized to ``size``.

    Args:
      thumbnails: uint8 ``[n, h, w, 1 or 3]``, the images in the order to draw them.
      boxes: int ``[n, 4]`` ``(top, left, bottom, right)`` in the input's pixels.
      input_shape: ``(H, W)`` of the model input.
      size: the side of each crop in the sprite.

    Returns:
      ``(png, crops_layout(n, size))``.
    """
    images = np.asarray(thumbnails)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"thumbnails must be uint8 [N, h, w, 1 or 3], got {images.dtype} {images.shape}")
    boxes = np.asarray(boxes)
    if boxes.shape != (len(images), 4):
        raise ValueError(f"crops need one box (top, left, bottom, right) per thumbnail, got shape {boxes.shape}")
    layout = crops_layout(len(images), size)
    depth = images.shape[-1]
    fill = np.array(BACKGROUND[0] if depth == 1 else BACKGROUND, dtype=np.uint8)
    sprite = np.empty((layout["height"], layout["width"], depth), dtype=np.uint8)
    sprite[...] = fill
    for i, (image, box) in enumerate(zip(images, boxes)):
        top, left, bottom, right = thumbnail_box(box, input_shape, image.shape[:2])
        x = i * (size + CROP_GAP)
        sprite[:, x : x + size] = _resize_nearest(image[top:bottom, left:right], size)
    return encode_png(sprite), layout
