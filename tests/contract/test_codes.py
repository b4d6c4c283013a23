"""Activation quantization codes: round trips, NaN/Inf codes, constant channels."""

from __future__ import annotations

import numpy as np

from tensorboard_deepviz.contract import codes as activation_codes


def test_quantization_round_trip_and_special_codes():
    rng = np.random.default_rng(1)
    activations = rng.standard_normal((2, 3, 4, 4)).astype(np.float32) * 5
    activations[0, 1, 0, 0] = np.nan
    activations[1, 2, 3, 3] = np.inf
    activations[1, 0, 2, 2] = -np.inf
    codes, ranges = activation_codes.quantize_activations(activations)
    assert codes.dtype == np.uint8 and codes.shape == activations.shape and ranges.shape == (2, 3, 2)
    assert codes[0, 1, 0, 0] == activation_codes.CODE_NAN
    assert codes[1, 2, 3, 3] == activation_codes.CODE_POS_INF
    assert codes[1, 0, 2, 2] == activation_codes.CODE_NEG_INF
    finite = np.isfinite(activations)
    assert codes[finite].max() <= activation_codes.FINITE_LEVELS - 1
    restored = activation_codes.dequantize_activations(codes, ranges)
    step = (ranges[..., 1] - ranges[..., 0]).max() / (activation_codes.FINITE_LEVELS - 1)
    np.testing.assert_allclose(restored[finite], activations[finite], atol=step / 2 + 1e-6)
    assert np.isnan(restored[0, 1, 0, 0]) and restored[1, 2, 3, 3] == np.inf and restored[1, 0, 2, 2] == -np.inf


def test_quantization_of_linear_outputs_and_constant_channels():
    codes, ranges = activation_codes.quantize_activations(
        np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]], dtype=np.float32)
    )
    assert ranges.shape == (2, 1, 2)
    assert list(codes[0]) == [0, 126, 252]
    np.testing.assert_allclose(activation_codes.dequantize_activations(codes, ranges)[1], [5.0, 5.0, 5.0])
