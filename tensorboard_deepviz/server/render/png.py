"""PNG encoding of rendered images: fast zlib, and packed 4-byte pixels straight to RGB."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

PNG_COMPRESS_LEVEL = 1  # sprites are made on request: speed matters more than a few bytes


def pack_rgbx(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[..., 3]`` -> uint32 ``[...]`` whose bytes are R, G, B, 255 (Pillow's raw "RGBX")."""
    rgbx = np.full((*rgb.shape[:-1], 4), 255, dtype=np.uint8)
    rgbx[..., :3] = rgb
    return rgbx.view(np.uint32)[..., 0]


def encode_png(rgb_or_rgba: np.ndarray) -> bytes:
    """Encode a uint8 image ``[H, W]``/``[H, W, 1]`` (grayscale), ``[H, W, 3]`` (RGB) or
    ``[H, W, 4]`` (RGBA) as PNG with zlib level ``PNG_COMPRESS_LEVEL`` (fast)."""
    pixels = np.asarray(rgb_or_rgba)
    if pixels.dtype != np.uint8:
        raise ValueError(f"an image to encode must be uint8, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))):
        raise ValueError(f"an image to encode must be [H, W] or [H, W, 1, 3 or 4], got shape {pixels.shape}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError(f"an image to encode must not be empty, got shape {pixels.shape}")
    return _save_png(Image.fromarray(np.ascontiguousarray(pixels)))


def encode_packed(pixels: np.ndarray) -> bytes:
    """RGB PNG of a packed uint32 ``[H, W]`` sprite (see ``pack_rgbx``), without unpacking it."""
    height, width = pixels.shape
    return _save_png(Image.frombytes("RGB", (width, height), np.ascontiguousarray(pixels), "raw", "RGBX", 0, 1))


def _save_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
