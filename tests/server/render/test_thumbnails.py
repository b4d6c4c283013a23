"""Thumbnail sprites and single thumbnails read back pixel by pixel, and the PNG encoder's refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tensorboard_deepviz.server import render


@pytest.mark.parametrize("depth", [1, 3])
def test_thumbnail_sprite_places_each_image_in_its_grid_slot(depth):
    count, h, w = 7, 5, 4
    thumbnails = np.random.default_rng(6).integers(0, 256, size=(count, h, w, depth), dtype=np.uint8)
    for columns, expected_columns in ((None, 3), (2, 2), (50, 7)):
        png, layout = render.render_thumbnails(thumbnails, columns=columns)
        assert layout == render.thumbnails_layout(count, (h, w), columns=columns)
        assert layout["columns"] == expected_columns and layout["rows"] == -(-count // expected_columns)
        assert (layout["width"], layout["height"]) == (expected_columns * w, layout["rows"] * h)
        image = Image.open(io.BytesIO(png))
        assert image.mode == ("L" if depth == 1 else "RGB")
        pixels = np.asarray(image).reshape(layout["height"], layout["width"], depth)
        for i in range(count):
            row, col = divmod(i, layout["columns"])
            np.testing.assert_array_equal(pixels[row * h : (row + 1) * h, col * w : (col + 1) * w], thumbnails[i])
    single = np.asarray(Image.open(io.BytesIO(render.render_image(thumbnails[3]))))
    np.testing.assert_array_equal(single.reshape(h, w, depth), thumbnails[3])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: render.render_thumbnails(np.zeros((2, 4, 4, 2), np.uint8)), r"\[N, h, w, 1 or 3\]"),
        (lambda: render.render_thumbnails(np.zeros((0, 4, 4, 3), np.uint8)), r"at least one image"),
        (lambda: render.render_image(np.zeros((4, 4, 3), np.float32)), r"uint8"),
        (lambda: render.encode_png(np.zeros((4, 4, 2), np.uint8)), r"\[H, W\]"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()
