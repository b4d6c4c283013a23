"""Quantization codes of activation records: 8 bits per value with a range per image and channel.

Shared by the writer (which quantizes) and the server (which renders); numpy only.
"""

from __future__ import annotations

import numpy as np

# Activation quantization: finite values map to 0..FINITE_LEVELS-1; the last codes mark
# values that have no place on a linear scale.
FINITE_LEVELS = 253
CODE_NEG_INF = 253
CODE_POS_INF = 254
CODE_NAN = 255


def quantize_activations(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantize ``[N, C, ...]`` (or ``[N, F]``) activations to 8 bits with a range per image and channel.

    Returns ``(codes, ranges)``: ``codes`` is uint8 with the input's shape; finite values map
    linearly onto ``0..FINITE_LEVELS-1`` between the range's ends, NaN to ``CODE_NAN``, -Inf/+Inf
    to ``CODE_NEG_INF``/``CODE_POS_INF``. ``ranges`` is float32 ``[N, C, 2]`` (min, max of the
    finite values) for rank >= 3 and ``[N, 1, 2]`` (one range per image) for rank 2.
    """
    values = np.asarray(activations, dtype=np.float32)
    if values.ndim < 2:
        raise ValueError(f"activations need a batch dimension and features, got shape {values.shape}")
    grouped = values.reshape(values.shape[0], values.shape[1], -1) if values.ndim >= 3 else values[:, None, :]
    finite = np.isfinite(grouped)
    all_finite = bool(finite.all())
    if all_finite:
        low = grouped.min(axis=2, initial=np.inf)
        high = grouped.max(axis=2, initial=-np.inf)
    else:
        low = np.where(finite, grouped, np.inf).min(axis=2, initial=np.inf)
        high = np.where(finite, grouped, -np.inf).max(axis=2, initial=-np.inf)
    empty = ~np.isfinite(low)  # a channel with no finite value
    low = np.where(empty, 0.0, low).astype(np.float32)
    high = np.where(empty, 0.0, high).astype(np.float32)
    span = np.where(high > low, high - low, 1.0)
    with np.errstate(invalid="ignore"):
        scaled = (grouped - low[..., None]) * ((FINITE_LEVELS - 1) / span)[..., None]
    codes = np.clip(np.rint(scaled), 0, FINITE_LEVELS - 1)
    if not all_finite:
        codes = np.where(finite, codes, 0)
    codes = codes.astype(np.uint8)
    if not all_finite:
        codes[np.isnan(grouped)] = CODE_NAN
        codes[np.isposinf(grouped)] = CODE_POS_INF
        codes[np.isneginf(grouped)] = CODE_NEG_INF
    return codes.reshape(values.shape), np.stack([low, high], axis=-1)


def dequantize_activations(codes: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Inverse of ``quantize_activations`` (float32, NaN/Inf restored from their codes)."""
    codes = np.asarray(codes)
    grouped = codes.reshape(codes.shape[0], ranges.shape[1], -1).astype(np.float32)
    low = ranges[..., 0:1].astype(np.float32)
    high = ranges[..., 1:2].astype(np.float32)
    values = low + grouped * (high - low) / (FINITE_LEVELS - 1)
    raw = codes.reshape(grouped.shape)
    values[raw == CODE_NAN] = np.nan
    values[raw == CODE_POS_INF] = np.inf
    values[raw == CODE_NEG_INF] = -np.inf
    return values.reshape(codes.shape)
