"""Decoding the PNG answers of routes in tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def pixels(png: bytes) -> np.ndarray:
    """The RGB pixels of a PNG, ``[height, width, 3]``."""
    assert png.startswith(b"\x89PNG"), png[:16]
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
