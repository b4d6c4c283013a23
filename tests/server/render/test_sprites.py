"""Filter and activation sprites read back pixel by pixel: colours, layouts, special values, errors and sizes."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tensorboard_deepviz.contract.codes import CODE_NAN, CODE_NEG_INF, CODE_POS_INF, quantize_activations
from tensorboard_deepviz.server import render


def decode(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def diverging_index(value: float, scale: float) -> float:
    return (np.clip(value / scale, -1, 1) + 1) / 2 * 255


def assert_diverging(pixel: np.ndarray, value: float, scale: float) -> None:
    """``pixel`` is DIVERGING at the index of ``value / scale``, give or take one index."""
    centre = round(diverging_index(value, scale))
    candidates = render.DIVERGING[max(0, centre - 1) : min(255, centre + 1) + 1].astype(int)
    assert (candidates == pixel.astype(int)).all(axis=1).any(), (value, scale, pixel, centre)


def known_conv_layer() -> np.ndarray:
    weights = np.random.default_rng(1).normal(0.0, 0.1, size=(6, 4, 3, 3)).astype(np.float16)
    weights[0, 0, 0, 0] = 0.0
    weights[1] *= 5  # filters with different scales, so the three norms differ
    weights[2] = 0.0  # an all-zero filter must not divide by zero
    weights[3, 1, 2, 2] = -0.5
    return weights


SAMPLES = [(0, 0, 0, 0), (0, 3, 2, 1), (1, 2, 1, 1), (3, 1, 2, 2), (4, 0, 1, 2), (5, 3, 0, 0), (2, 1, 1, 1)]


# Filters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["filter", "layer", "global"])
def test_filter_pixels_follow_the_weights_and_the_norm(norm):
    weights = known_conv_layer()
    values = weights.astype(np.float32)
    value_range = (-0.8, 0.6) if norm == "global" else None
    png, layout = render.render_filters(weights, norm=norm, value_range=value_range)
    pixels = decode(png)
    assert pixels.shape[:2] == (layout["height"], layout["width"])
    for f, c, r, k in SAMPLES:
        if norm == "filter":
            scale = np.abs(values[f]).max()
        elif norm == "layer":
            scale = np.abs(values).max()
        else:
            scale = 0.8
        x, y = render.filter_pixel_origin(layout, f, c, r, k)
        # every pixel of the weight's scale x scale block has its colour
        block = pixels[y : y + layout["scale"], x : x + layout["scale"]]
        assert (block == block[0, 0]).all()
        if scale == 0:  # the all-zero filter under norm="filter"
            assert tuple(block[0, 0]) in {tuple(render.DIVERGING[127]), tuple(render.DIVERGING[128])}
        else:
            assert_diverging(block[0, 0], values[f, c, r, k], scale)
    expected_scales = {
        "filter": np.abs(values).reshape(6, -1).max(axis=1),
        "layer": np.full(6, np.abs(values).max()),
        "global": np.full(6, 0.8),
    }[norm]
    np.testing.assert_allclose(layout["scales"], expected_scales, rtol=1e-6)
    json.dumps(layout)  # the page receives it as JSON


def test_zero_maps_to_the_centre_of_the_diverging_map():
    weights = known_conv_layer()
    for norm, value_range in (("filter", None), ("layer", None), ("global", (-1.0, 1.0))):
        png, layout = render.render_filters(weights, norm=norm, value_range=value_range)
        pixels = decode(png)
        for f, c, r, k in [(0, 0, 0, 0), (2, 3, 2, 2)]:
            x, y = render.filter_pixel_origin(layout, f, c, r, k)
            assert tuple(pixels[y, x]) == tuple(render.DIVERGING[128]), norm


def test_global_norm_gives_the_same_colour_to_the_same_value_in_different_layers():
    small = np.full((2, 2, 3, 3), 0.01, dtype=np.float32)
    large = np.full((2, 2, 3, 3), -2.0, dtype=np.float32)
    small[1, 0, 1, 1] = large[0, 1, 2, 0] = 0.25
    colours = {}
    for norm, value_range in (("global", (-2.0, 1.0)), ("layer", None)):
        found = []
        for weights, position in ((small, (1, 0, 1, 1)), (large, (0, 1, 2, 0))):
            png, layout = render.render_filters(weights, norm=norm, value_range=value_range)
            x, y = render.filter_pixel_origin(layout, *position)
            found.append(tuple(decode(png)[y, x]))
        colours[norm] = found
    assert colours["global"][0] == colours["global"][1]
    assert colours["layer"][0] != colours["layer"][1]  # each layer scaled by its own max


def test_locate_filter_pixel_inverts_the_origin_and_finds_gaps():
    weights = np.random.default_rng(2).normal(size=(5, 3, 2, 3)).astype(np.float32)
    png, layout = render.render_filters(weights, norm="layer", scale=3)
    pixels = decode(png)
    s = layout["scale"]
    assert layout["channel_grid"] == [2, 2] and layout["filter_grid"] == [2, 3]
    assert layout["cell"] == [6, 9] and layout["tile"] == [13, 19]
    assert (layout["width"], layout["height"]) == (3 * 19 + 2 * 2, 2 * 13 + 2)
    for f in range(5):
        for c in range(3):
            for r in range(2):
                for k in range(3):
                    x, y = render.filter_pixel_origin(layout, f, c, r, k)
                    for dy in range(s):
                        for dx in range(s):
                            assert render.locate_filter_pixel(layout, x + dx, y + dy) == (f, c, r, k)
    # every pixel: either a weight's colour or background, and exactly F*C*kh*kw*s*s weight pixels
    scale = float(np.abs(weights).max())
    located = 0
    for y in range(layout["height"]):
        for x in range(layout["width"]):
            found = render.locate_filter_pixel(layout, x, y)
            if found is None:
                assert tuple(pixels[y, x]) == render.BACKGROUND, (x, y)
            else:
                located += 1
                assert_diverging(pixels[y, x], weights[found], scale)
    assert located == weights.size * s * s
    # cell gap, tile gap, the unused 4th channel slot, the unused 6th tile, outside
    assert render.locate_filter_pixel(layout, 9, 0) is None
    assert render.locate_filter_pixel(layout, 19, 0) is None and render.locate_filter_pixel(layout, 20, 0) is None
    assert render.locate_filter_pixel(layout, 10, 7) is None
    assert render.locate_filter_pixel(layout, 2 * 21 + 1, 15 + 1) is None
    for x, y in [(-1, 0), (0, -1), (layout["width"], 0), (0, layout["height"])]:
        assert render.locate_filter_pixel(layout, x, y) is None
    with pytest.raises(ValueError, match="channel 3 outside"):
        render.filter_pixel_origin(layout, 0, 3, 0, 0)


def test_nonfinite_weights_show_the_special_colours():
    weights = np.random.default_rng(3).normal(size=(3, 2, 3, 3)).astype(np.float16)
    weights[0, 0, 0, 0] = np.nan
    weights[1, 1, 2, 2] = np.inf
    weights[2, 0, 1, 0] = -np.inf
    for norm in ("filter", "layer", "global"):
        png, layout = render.render_filters(weights, norm=norm, value_range=(-3.0, 3.0))
        pixels = decode(png)
        assert all(np.isfinite(layout["scales"]))
        for position, colour in (
            ((0, 0, 0, 0), render.NAN_COLOR),
            ((1, 1, 2, 2), render.POS_INF_COLOR),
            ((2, 0, 1, 0), render.NEG_INF_COLOR),
        ):
            x, y = render.filter_pixel_origin(layout, *position)
            assert tuple(pixels[y, x]) == colour, (norm, position)
        # finite neighbours are scaled by the finite values only
        finite = weights.astype(np.float32)
        finite[~np.isfinite(finite)] = 0
        x, y = render.filter_pixel_origin(layout, 1, 0, 0, 0)
        scale = {"filter": np.abs(finite[1]).max(), "layer": np.abs(finite).max(), "global": 3.0}[norm]
        assert_diverging(pixels[y, x], finite[1, 0, 0, 0], scale)


@pytest.mark.parametrize(
    "shape, kind, cell_values",
    [((5, 3, 4), "conv", [1, 4]), ((6,), "linear", [1, 1]), ((2, 3, 2, 3, 3), "conv", [3, 3])],
    ids=["Conv1d", "BatchNorm", "Conv3d"],
)
def test_weights_of_other_ranks_are_drawn_value_by_value(shape, kind, cell_values):
    weights = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    png, layout = render.render_filters(weights, norm="layer", scale=2)
    pixels = decode(png)
    bank = render.as_filter_bank(weights)
    assert layout["kind"] == kind and layout["cell_values"] == cell_values
    assert layout["weight_shape"] == list(shape) and layout["filters"] == shape[0]
    assert layout["channels"] == (bank.shape[1] if kind == "conv" else 1)
    scale = float(np.abs(weights).max())
    located = 0
    for y in range(layout["height"]):
        for x in range(layout["width"]):
            found = render.locate_filter_pixel(layout, x, y)
            if found is not None:
                located += 1
                f, c, r, k = found
                value = bank[f, c, r, k] if kind == "conv" else bank[f].reshape(-1)[r * cell_values[1] + k]
                assert_diverging(pixels[y, x], value, scale)
    assert located == weights.size * 4


def test_rgb_first_layer_draws_channels_as_red_green_blue():
    weights = np.zeros((4, 3, 3, 3), dtype=np.float32)
    weights[0, 0] = 1.0  # red channel at full positive strength
    weights[0, 1] = -1.0  # green fully negative
    weights[0, 2] = 0.0  # blue at zero: mid grey
    weights[1] = np.random.default_rng(4).uniform(-0.5, 0.5, size=(3, 3, 3))
    weights[2, :, 1, 1] = [np.nan, 1.0, 1.0]
    weights[3, :, 0, 0] = [0.5, np.inf, -np.inf]
    png, layout = render.render_filters(weights, norm="filter", rgb=True)
    pixels = decode(png)
    assert layout["kind"] == "conv_rgb" and layout["channels"] == 1 and layout["in_channels"] == 3
    assert layout["channel_grid"] == [1, 1] and layout["cell_values"] == [3, 3]
    x, y = render.filter_pixel_origin(layout, 0, 0, 1, 2)
    assert tuple(pixels[y, x]) == (255, 0, 128)
    scale = np.abs(weights[1]).max()
    for r in range(3):
        for k in range(3):
            x, y = render.filter_pixel_origin(layout, 1, 0, r, k)
            expected = np.rint((weights[1, :, r, k] / scale + 1) * 127.5)
            assert np.abs(pixels[y, x].astype(int) - expected).max() <= 1
            assert render.locate_filter_pixel(layout, x, y) == (1, 0, r, k)
    x, y = render.filter_pixel_origin(layout, 2, 0, 1, 1)
    assert tuple(pixels[y, x]) == render.NAN_COLOR
    x, y = render.filter_pixel_origin(layout, 3, 0, 0, 0)
    assert tuple(pixels[y, x]) == render.POS_INF_COLOR


def test_linear_weights_are_folded_into_near_square_blocks_with_padding():
    weights = np.arange(3 * 10, dtype=np.float32).reshape(3, 10) - 15
    png, layout = render.render_filters(weights, norm="layer", scale=2)
    pixels = decode(png)
    assert layout["kind"] == "linear"
    assert layout["cell_values"] == [3, 4] and layout["values_per_filter"] == 10
    assert layout["channels"] == 1 and layout["channel_grid"] == [1, 1] and layout["filter_grid"] == [2, 2]
    assert layout["cell"] == [6, 8] and layout["tile"] == [6, 8]
    assert (layout["width"], layout["height"]) == (18, 14)
    for unit in range(3):
        for index in range(12):
            row, col = divmod(index, 4)
            x, y = render.filter_pixel_origin(layout, unit, 0, row, col)
            if index < 10:
                assert render.locate_filter_pixel(layout, x + 1, y + 1) == (unit, 0, row, col)
                assert_diverging(pixels[y, x], weights[unit, index], 15.0)
            else:  # padding after the last input
                assert render.locate_filter_pixel(layout, x, y) is None
                assert tuple(pixels[y, x]) == render.BACKGROUND
    assert tuple(pixels[layout["height"] - 1, layout["width"] - 1]) == render.BACKGROUND  # 4th tile slot


def test_explicit_scale_and_automatic_scale():
    weights = np.ones((4, 2, 3, 3), dtype=np.float32)
    _, layout = render.render_filters(weights, norm="filter", scale=1)
    assert layout["scale"] == 1 and layout["cell"] == [3, 3]
    _, layout = render.render_filters(weights, norm="filter")
    assert layout["cell"][0] >= 8  # automatic: cells of at least ~8 px


# Activations -----------------------------------------------------------------------------------


def test_activation_pixels_are_the_sequential_colour_of_the_code():
    rng = np.random.default_rng(5)
    codes, ranges = quantize_activations(rng.normal(size=(1, 5, 4, 6)).astype(np.float32))
    codes, ranges = codes[0], ranges[0]
    codes[0, 0, 0] = CODE_NAN
    codes[1, 2, 3] = CODE_POS_INF
    codes[4, 3, 5] = CODE_NEG_INF
    png, layout = render.render_activations(codes, ranges, norm="channel")
    pixels = decode(png)
    assert layout["kind"] == "conv" and layout["channels"] == 5 and layout["cell_values"] == [4, 6]
    assert layout["channel_grid"] == [2, 3] and layout["values_per_channel"] == 24
    assert pixels.shape[:2] == (layout["height"], layout["width"])
    specials = {CODE_NAN: render.NAN_COLOR, CODE_POS_INF: render.POS_INF_COLOR, CODE_NEG_INF: render.NEG_INF_COLOR}
    for c in range(5):
        for r in range(4):
            for k in range(6):
                x, y = render.activation_pixel_origin(layout, c, r, k)
                s = layout["scale"]
                block = pixels[y : y + s, x : x + s]
                code = int(codes[c, r, k])
                expected = specials.get(code, tuple(render.SEQUENTIAL[code]))
                assert (block == np.array(expected)).all(), (c, r, k)
                assert render.locate_activation_pixel(layout, x + s - 1, y + s - 1) == (c, r, k)
    assert render.locate_activation_pixel(layout, layout["cell"][1], 0) is None  # cell gap
    x, y = render.activation_pixel_origin(layout, 2, 3, 5)
    assert (
        render.locate_activation_pixel(layout, x + layout["cell"][1] + 1, y + layout["cell"][0] + 1) is None
    )  # slot 6
    assert tuple(pixels[layout["height"] - 1, layout["width"] - 1]) == render.BACKGROUND


def test_layer_norm_rescales_by_the_whole_layer():
    codes = np.array([[[0, 252]], [[0, 252]]], dtype=np.uint8)  # [2, 1, 2]
    ranges = np.array([[0.0, 1.0], [0.0, 4.0]], dtype=np.float32)
    png, layout = render.render_activations(codes, ranges, norm="layer")
    pixels = decode(png)
    assert layout["layer_range"] == [0.0, 4.0]
    for (c, k), index in {(0, 0): 0, (0, 1): 63, (1, 0): 0, (1, 1): 252}.items():
        x, y = render.activation_pixel_origin(layout, c, 0, k)
        assert tuple(pixels[y, x]) == tuple(render.SEQUENTIAL[index])
    _, layout = render.render_activations(codes, ranges, norm="channel")
    assert layout["layer_range"] is None


def test_linear_activations_fold_into_one_block():
    codes = np.arange(10, dtype=np.uint8) * 20
    png, layout = render.render_activations(codes, np.array([[0.0, 1.0]]), scale=3)
    pixels = decode(png)
    assert layout["kind"] == "linear" and layout["channels"] == 1
    assert layout["cell_values"] == [3, 4] and layout["values_per_channel"] == 10
    assert (layout["width"], layout["height"]) == (12, 9)
    for index in range(12):
        x, y = render.activation_pixel_origin(layout, 0, *divmod(index, 4))
        if index < 10:
            assert tuple(pixels[y, x]) == tuple(render.SEQUENTIAL[codes[index]])
            assert render.locate_activation_pixel(layout, x, y) == (0, *divmod(index, 4))
        else:
            assert tuple(pixels[y, x]) == render.BACKGROUND
            assert render.locate_activation_pixel(layout, x, y) is None


# Errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: render.render_filters(np.float32(1.0), norm="filter"), r"filter axis, got a scalar"),
        (lambda: render.render_filters(np.zeros((2, 3, 3, 3)), norm="channel"), r"unknown norm 'channel'"),
        (lambda: render.render_filters(np.zeros((2, 3, 3, 3)), norm="global"), r"'global' needs value_range"),
        (lambda: render.render_filters(np.zeros((2, 3, 3, 3)), norm="global", value_range=(0, np.nan)), r"finite"),
        (lambda: render.render_filters(np.zeros((0, 3, 3, 3)), norm="filter"), r"empty axis"),
        (lambda: render.render_filters(np.zeros((2, 4, 3, 3)), norm="filter", rgb=True), r"rgb filters need"),
        (lambda: render.render_filters(np.array([["a"]]), norm="filter"), r"real numbers"),
        (lambda: render.render_filters(np.zeros((2, 3)), norm="filter", scale=0), r"scale must be a positive integer"),
        (lambda: render.render_filters(np.zeros((4096, 25088), np.float16), norm="filter"), r"select fewer filters"),
        (
            lambda: render.render_activations(np.zeros((2, 3, 3), np.uint8), np.zeros((2, 2)), norm="filter"),
            r"unknown norm 'filter'",
        ),
        (
            lambda: render.render_activations(np.zeros((2, 3, 3), np.uint8), np.zeros((3, 2))),
            r"ranges must have shape \[2, 2\]",
        ),
        (lambda: render.render_activations(np.zeros((2, 3, 3), np.float32), np.zeros((2, 2))), r"uint8"),
        (lambda: render.render_activations(np.zeros((1, 2, 3, 3), np.uint8), np.zeros((1, 2))), r"\[C, H, W\].*\[F\]"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# Sizes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(64, 32, 5, 5), (512, 512, 3, 3)])
def test_large_layers_fit_in_4096_pixels(shape):
    weights = np.random.default_rng(7).normal(size=shape).astype(np.float16)
    png, layout = render.render_filters(weights, norm="layer")
    assert layout["width"] <= 4096 and layout["height"] <= 4096
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (layout["width"], layout["height"])
    last = render.filter_pixel_origin(layout, shape[0] - 1, shape[1] - 1, shape[2] - 1, shape[3] - 1)
    assert render.locate_filter_pixel(layout, *last) == (shape[0] - 1, shape[1] - 1, shape[2] - 1, shape[3] - 1)
