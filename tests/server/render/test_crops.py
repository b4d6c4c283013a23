"""Crop sprites: boxes mapped from input pixels to thumbnail pixels, crops resized and placed side by side."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tensorboard_deepviz.server import render


@pytest.mark.parametrize(
    "box, input_shape, thumb_shape, expected",
    [
        ((0, 0, 32, 32), (32, 32), (16, 16), (0, 0, 16, 16)),  # the whole input
        ((8, 4, 16, 12), (32, 32), (16, 16), (4, 2, 8, 6)),  # aligned: halved exactly
        ((3, 5, 9, 7), (32, 32), (16, 16), (1, 2, 5, 4)),  # unaligned: every touched pixel
        ((5, 5, 6, 6), (32, 32), (16, 16), (2, 2, 3, 3)),  # under one thumbnail pixel: that pixel
        ((-4, -4, 40, 8), (32, 32), (16, 16), (0, 0, 16, 4)),  # a receptive field past the edge: clipped
        ((40, 40, 50, 50), (32, 32), (16, 16), (15, 15, 16, 16)),  # entirely outside: the nearest pixel
        ((7, 7, 3, 3), (32, 32), (16, 16), (3, 3, 4, 4)),  # empty: one pixel
        ((0, 0, 4, 8), (8, 16), (16, 16), (0, 0, 8, 8)),  # a thumbnail larger than the input, not square
    ],
)
def test_a_box_maps_to_every_thumbnail_pixel_it_touches(box, input_shape, thumb_shape, expected):
    assert render.thumbnail_box(box, input_shape, thumb_shape) == expected


def test_a_box_needs_positive_shapes():
    with pytest.raises(ValueError, match="empty"):
        render.thumbnail_box((0, 0, 1, 1), (0, 8), (4, 4))
    with pytest.raises(ValueError, match=r"not \(h, w\)"):
        render.thumbnail_box((0, 0, 1, 1), (8,), (4, 4))


@pytest.mark.parametrize("depth", [1, 3])
def test_crops_are_resized_and_placed_one_gap_apart(depth):
    # A 4 x 4 thumbnail of distinct values: cropping rows 1..2 and columns 2..3 and drawing it
    # 4 px wide repeats each value in a 2 x 2 block.
    thumbnail = np.arange(16, dtype=np.uint8).reshape(4, 4, 1).repeat(depth, axis=2) * 10
    png, layout = render.render_crops(
        np.stack([thumbnail, thumbnail]), np.array([[2, 4, 6, 8], [0, 0, 8, 8]]), (8, 8), 4
    )
    assert layout == {"count": 2, "cell": 4, "gap": render.CROP_GAP, "width": 9, "height": 4}
    assert layout == render.crops_layout(2, 4)
    image = Image.open(io.BytesIO(png))
    assert image.mode == ("L" if depth == 1 else "RGB")
    sprite = np.asarray(image).reshape(4, 9, depth)
    expected = np.array([[6, 6, 7, 7], [6, 6, 7, 7], [10, 10, 11, 11], [10, 10, 11, 11]]) * 10
    np.testing.assert_array_equal(sprite[:, :4, 0], expected)
    np.testing.assert_array_equal(sprite[:, 4, 0], [render.BACKGROUND[0]] * 4)
    np.testing.assert_array_equal(sprite[:, 5:, 0], thumbnail[:, :, 0])  # the whole image at its own size


def test_crops_refuse_what_they_cannot_draw():
    thumbnails = np.zeros((2, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="one box"):
        render.render_crops(thumbnails, np.zeros((1, 4)), (8, 8), 4)
    with pytest.raises(ValueError, match="uint8"):
        render.render_crops(thumbnails.astype(np.float32), np.zeros((2, 4)), (8, 8), 4)
    with pytest.raises(ValueError, match="at least one crop"):
        render.crops_layout(0, 4)
