"""Turn stored weights, activation codes and thumbnails into PNG sprites and their layouts.

Pure functions on numpy arrays (numpy and Pillow only, no TensorBoard): each ``render_*``
returns ``(png_bytes, layout)``, where ``layout`` is a JSON-serializable dict that lets the web
page map any sprite pixel back to what it shows (``locate_*_pixel``) and tests find the pixel
of a value (``*_pixel_origin``).

Sprite geometry (filters and activations)
-----------------------------------------
A *cell* draws one 2-D array (a kernel ``kh x kw``, an activation map ``H x W`` or a linear
unit's weights folded into a near-square block), each value as a ``scale x scale`` square.
Cells sit in a near-square grid, ``cell_gap`` (1 px) apart, in reading order; for filters that
grid is one *tile* per filter, and tiles sit in their own near-square grid ``tile_gap`` (2 px)
apart. Gaps and unused grid slots are ``BACKGROUND``. So along each axis::

    tile_h = channel_rows * cell_h + (channel_rows - 1) * cell_gap
    height = filter_rows * tile_h + (filter_rows - 1) * tile_gap

and a pixel's filter, channel and value position follow from integer divisions (see
``locate_filter_pixel``). All sprites are RGB PNGs (grayscale thumbnails stay grayscale).

Colours
-------
``DIVERGING`` (Moreland's smooth cool-warm) shows signed weights with 0 at its centre;
``SEQUENTIAL`` (viridis) shows activations, dark = low. NaN, +Inf and -Inf get colours that
occur in neither table (``NAN_COLOR``, ``POS_INF_COLOR``, ``NEG_INF_COLOR``).
"""

from __future__ import annotations

import io
import math
from typing import Any, Callable, Optional

import numpy as np
from PIL import Image

from ..contract.codes import CODE_NAN, CODE_NEG_INF, CODE_POS_INF, FINITE_LEVELS

__all__ = [
    "BACKGROUND",
    "DIVERGING",
    "NAN_COLOR",
    "NEG_INF_COLOR",
    "POS_INF_COLOR",
    "SEQUENTIAL",
    "activation_pixel_origin",
    "encode_png",
    "filter_pixel_origin",
    "locate_activation_pixel",
    "locate_filter_pixel",
    "render_activations",
    "render_filters",
    "render_image",
    "render_thumbnails",
    "thumbnails_layout",
]

NAN_COLOR = (0, 255, 0)
POS_INF_COLOR = (255, 0, 255)
NEG_INF_COLOR = (0, 255, 255)
BACKGROUND = (64, 64, 64)

CELL_GAP = 1
TILE_GAP = 2
PNG_COMPRESS_LEVEL = 1  # sprites are made on request: speed matters more than a few bytes

# Automatic scale: the smallest integer that makes a cell at least this many pixels on its
# longer side, raised until the sprite's longer side reaches MIN_SPRITE_SIDE (small layers stay
# legible), then lowered (down to 1) while that side exceeds MAX_SPRITE_SIDE.
MIN_FILTER_CELL_PX = 8
MIN_ACTIVATION_CELL_PX = 16
MIN_SPRITE_SIDE = 256
MAX_SPRITE_SIDE = 4096
MAX_AUTO_SCALE = 64
# Past these even scale 1 is refused (a request for fewer filters is the way out): browsers
# do not draw larger images and the array would take hundreds of MB.
HARD_MAX_SPRITE_SIDE = 16384
HARD_MAX_SPRITE_PIXELS = 40_000_000

Grid = tuple[int, int]  # (rows, cols) of a grid, or (h, w) of a cell

FILTER_NORMS = ("filter", "layer", "global")
ACTIVATION_NORMS = ("channel", "layer")


# Colour maps ----------------------------------------------------------------------------------

_SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def _srgb_to_msh(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> CIELAB -> Moreland's polar Msh (magnitude, saturation, hue)."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    t = (linear @ _SRGB_TO_XYZ.T) / _D65_WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)
    m = np.linalg.norm(lab, axis=-1)
    return np.stack([m, np.arccos(lab[..., 0] / m), np.arctan2(lab[..., 2], lab[..., 1])], axis=-1)


def _msh_to_srgb(msh: np.ndarray) -> np.ndarray:
    m, s, h = msh[..., 0], msh[..., 1], msh[..., 2]
    lab_l, lab_a, lab_b = m * np.cos(s), m * np.sin(s) * np.cos(h), m * np.sin(s) * np.sin(h)
    fy = (lab_l + 16) / 116
    f = np.stack([fy + lab_a / 500, fy, fy - lab_b / 200], axis=-1)
    t = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _D65_WHITE
    linear = np.clip(t @ np.linalg.inv(_SRGB_TO_XYZ).T, 0.0, 1.0)
    return np.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, 12.92 * linear)


def _adjust_hue(msh: np.ndarray, unsaturated_m: float) -> float:
    """Moreland's hue spin for the saturated end when interpolating towards an unsaturated colour."""
    m, s, h = msh
    if m >= unsaturated_m - 0.1:
        return float(h)
    spin = s * math.sqrt(unsaturated_m**2 - m**2) / (m * math.sin(s))
    return float(h + spin if h > -math.pi / 3 else h - spin)


def _cool_warm(levels: int = 256) -> np.ndarray:
    """Moreland's smooth cool-warm diverging map ("Diverging Color Maps for Scientific
    Visualization", 2009): blue (59, 76, 192) -> near-white -> red (180, 4, 38), interpolated in
    Msh through an unsaturated white so that lightness varies smoothly and symmetrically."""
    cool = _srgb_to_msh(np.array([59, 76, 192]) / 255.0)
    warm = _srgb_to_msh(np.array([180, 4, 38]) / 255.0)
    mid_m = max(cool[0], warm[0], 88.0)
    white_cool = np.array([mid_m, 0.0, _adjust_hue(cool, mid_m)])
    white_warm = np.array([mid_m, 0.0, _adjust_hue(warm, mid_m)])
    t = np.linspace(0.0, 1.0, levels)[:, None]
    lower = t < 0.5
    u = np.where(lower, 2 * t, 2 * t - 1)
    start = np.where(lower, cool, white_warm)
    end = np.where(lower, white_cool, warm)
    rgb = _msh_to_srgb((1 - u) * start + u * end)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


# viridis (Smith, van der Walt and Firing; CC0), the 256 entries of matplotlib's table as RGB hex.
_VIRIDIS_HEX = (
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769"
    "48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a"
    "472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85"
    "4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b"
    "3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d"
    "33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e"
    "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e"
    "26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d"
    "21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88"
    "1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81"
    "28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74"
    "3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863"
    "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d"
    "84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32"
    "addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725"
)

DIVERGING: np.ndarray = _cool_warm()
"""uint8 ``[256, 3]``: index 0 = most negative (blue), ~127.5 = zero (near-white), 255 = most positive (red)."""
SEQUENTIAL: np.ndarray = np.frombuffer(bytes.fromhex(_VIRIDIS_HEX), dtype=np.uint8).reshape(256, 3).copy()
"""uint8 ``[256, 3]`` viridis: 0 = lowest (dark violet), 255 = highest (yellow)."""
DIVERGING.setflags(write=False)
SEQUENTIAL.setflags(write=False)

# Palettes indexed by uint16 codes: the colour table, then the special colours and the
# background, so that one gather colours values, non-finite values and padding alike.
_SPECIALS = np.array([NAN_COLOR, POS_INF_COLOR, NEG_INF_COLOR, BACKGROUND], dtype=np.uint8)
_W_NAN, _W_POS_INF, _W_NEG_INF, _W_BACKGROUND = 256, 257, 258, 259
_WEIGHT_PALETTE = np.concatenate([DIVERGING, _SPECIALS])
_ACTIVATION_PALETTE = np.concatenate(
    [
        SEQUENTIAL[:FINITE_LEVELS],  # codes are already colour indices: 0..FINITE_LEVELS-1
        np.array([NEG_INF_COLOR, POS_INF_COLOR, NAN_COLOR, BACKGROUND], dtype=np.uint8),
    ]
)
_A_BACKGROUND = 256


def _pack(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[..., 3]`` -> uint32 ``[...]`` whose bytes are R, G, B, 255 (Pillow's raw "RGBX")."""
    rgbx = np.full(rgb.shape[:-1] + (4,), 255, dtype=np.uint8)
    rgbx[..., :3] = rgb
    return rgbx.view(np.uint32)[..., 0]


_WEIGHT_PALETTE32 = _pack(_WEIGHT_PALETTE)
_ACTIVATION_PALETTE32 = _pack(_ACTIVATION_PALETTE)
_BACKGROUND32 = _pack(np.array(BACKGROUND, dtype=np.uint8))
assert (CODE_NEG_INF, CODE_POS_INF, CODE_NAN) == (FINITE_LEVELS, FINITE_LEVELS + 1, FINITE_LEVELS + 2)


# PNG ------------------------------------------------------------------------------------------


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


def _encode_packed(pixels: np.ndarray) -> bytes:
    """RGB PNG of a packed uint32 ``[H, W]`` sprite (see ``_pack``), without unpacking it."""
    height, width = pixels.shape
    return _save_png(Image.frombytes("RGB", (width, height), np.ascontiguousarray(pixels), "raw", "RGBX", 0, 1))


def _save_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


# Geometry -------------------------------------------------------------------------------------


def _near_square(count: int) -> tuple[int, int]:
    """(rows, cols) of the near-square grid for ``count >= 1`` items: cols = ceil(sqrt(count)),
    rows = ceil(count / cols)."""
    cols = math.isqrt(count - 1) + 1
    return -(-count // cols), cols


def _extent(count: int, size: int, gap: int) -> int:
    return count * size + (count - 1) * gap


def _sprite_size(cell_values: Grid, channel_grid: Grid, filter_grid: Grid, scale: int) -> Grid:
    tile_h = _extent(channel_grid[0], cell_values[0] * scale, CELL_GAP)
    tile_w = _extent(channel_grid[1], cell_values[1] * scale, CELL_GAP)
    return _extent(filter_grid[0], tile_h, TILE_GAP), _extent(filter_grid[1], tile_w, TILE_GAP)


def _choose_scale(
    requested: Optional[int], min_cell_px: int, cell_values: Grid, size: Callable[[int], Grid], remedy: str
) -> int:
    """The requested scale, or the automatic one (see MIN_FILTER_CELL_PX); ValueError when the
    sprite would pass the hard limits."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, (int, np.integer)) or requested < 1:
            raise ValueError(f"scale must be a positive integer, got {requested!r}")
        scale = int(requested)
    else:
        scale = max(1, -(-min_cell_px // max(cell_values)))
        while scale < MAX_AUTO_SCALE and max(size(scale)) < MIN_SPRITE_SIDE:
            scale += 1
        while scale > 1 and max(size(scale)) > MAX_SPRITE_SIDE:
            scale -= 1
    height, width = size(scale)
    if max(height, width) > HARD_MAX_SPRITE_SIDE or height * width > HARD_MAX_SPRITE_PIXELS:
        raise ValueError(
            f"the sprite would be {width} x {height} px at scale {scale}, over the limit of "
            f"{HARD_MAX_SPRITE_SIDE} px a side and {HARD_MAX_SPRITE_PIXELS} px in all; {remedy}"
        )
    return scale


def _axis_sources(tiles: int, cells: int, values: int, scale: int, tile_gap: int) -> np.ndarray:
    """For each pixel along one sprite axis, the value it shows: ``(tile * cells + cell) *
    values + value``, or ``tiles * cells * values`` (the background slot) in a gap. The same
    divisions as ``_locate``, done for a whole axis at once."""
    cell_px = values * scale
    tile_px = _extent(cells, cell_px, CELL_GAP)
    position = np.arange(_extent(tiles, tile_px, tile_gap))
    tile, in_tile = np.divmod(position, tile_px + tile_gap)
    cell, in_cell = np.divmod(in_tile, cell_px + CELL_GAP)
    sources = (tile * cells + cell) * values + in_cell // scale
    sources[(in_tile >= tile_px) | (in_cell >= cell_px)] = tiles * cells * values
    return sources


def _compose(colours: np.ndarray, channel_grid: Grid, filter_grid: Grid, scale: int) -> np.ndarray:
    """Lay out packed colours uint32 ``[fr*fc, cr*cc, h, w]`` (padded to the grids) as the
    sprite uint32 ``[H, W]``: every value a ``scale``-square block, gaps ``BACKGROUND``.

    The layout is separable: a pixel's source row depends only on y and its source column
    only on x. So the values go into one 2-D grid (plus a background row and column) and two
    gathers, columns then whole rows, upscale and space them; 4-byte pixels keep both fast.
    """
    _, _, h, w = colours.shape
    (cr, cc), (fr, fc) = channel_grid, filter_grid
    grid = np.full((fr * cr * h + 1, fc * cc * w + 1), _BACKGROUND32, dtype=np.uint32)
    grid[:-1, :-1] = colours.reshape(fr, fc, cr, cc, h, w).transpose(0, 2, 4, 1, 3, 5).reshape(fr * cr * h, fc * cc * w)
    columns = _axis_sources(fc, cc, w, scale, TILE_GAP)
    rows = _axis_sources(fr, cr, h, scale, TILE_GAP)
    return grid.take(columns, axis=1).take(rows, axis=0)


def _pad(array: np.ndarray, axis_sizes: tuple[int, ...], fill: Any) -> np.ndarray:
    """``array`` grown (at the end of its leading axes) to ``axis_sizes``; new entries ``fill``
    (a scalar, or e.g. an RGB colour broadcast over the last axis)."""
    if array.shape[: len(axis_sizes)] == axis_sizes:
        return array
    padded = np.full(axis_sizes + array.shape[len(axis_sizes) :], fill, dtype=array.dtype)
    padded[tuple(slice(0, n) for n in array.shape[: len(axis_sizes)])] = array
    return padded


def _locate(layout: dict, x: int, y: int, tiles: bool) -> Optional[tuple[int, int, int, int]]:
    """(tile, cell, row, col) under pixel (x, y), or None for gaps, unused slots and padding."""
    x, y = int(x), int(y)
    if not (0 <= x < layout["width"] and 0 <= y < layout["height"]):
        return None
    tile = 0
    if tiles:
        tile_h, tile_w = layout["tile"]
        tile_row, y = divmod(y, tile_h + layout["tile_gap"])
        tile_col, x = divmod(x, tile_w + layout["tile_gap"])
        if y >= tile_h or x >= tile_w:
            return None  # in the gap between tiles
        tile = tile_row * layout["filter_grid"][1] + tile_col
        if tile >= layout["filters"]:
            return None  # an unused slot of the last row of tiles
    cell_h, cell_w = layout["cell"]
    cell_row, y = divmod(y, cell_h + layout["cell_gap"])
    cell_col, x = divmod(x, cell_w + layout["cell_gap"])
    if y >= cell_h or x >= cell_w:
        return None  # in the gap between cells
    cell = cell_row * layout["channel_grid"][1] + cell_col
    if cell >= layout["channels"]:
        return None
    row, col = y // layout["scale"], x // layout["scale"]
    per_cell = layout["values_per_filter"] if tiles else layout["values_per_channel"]
    if layout["kind"] == "linear" and row * layout["cell_values"][1] + col >= per_cell:
        return None  # padding after the last value of a folded vector
    return tile, cell, row, col


def _origin(layout: dict, tile: int, cell: int, row: int, col: int, tiles: bool) -> tuple[int, int]:
    x = y = 0
    if tiles:
        tile_h, tile_w = layout["tile"]
        tile_row, tile_col = divmod(tile, layout["filter_grid"][1])
        y, x = tile_row * (tile_h + layout["tile_gap"]), tile_col * (tile_w + layout["tile_gap"])
    cell_h, cell_w = layout["cell"]
    cell_row, cell_col = divmod(cell, layout["channel_grid"][1])
    y += cell_row * (cell_h + layout["cell_gap"]) + row * layout["scale"]
    x += cell_col * (cell_w + layout["cell_gap"]) + col * layout["scale"]
    return x, y


def _check_index(name: str, value: int, count: int) -> None:
    if not 0 <= value < count:
        raise ValueError(f"{name} {value} outside 0..{count - 1}")


# Filters --------------------------------------------------------------------------------------


def _filter_scales(
    values: np.ndarray, finite: Optional[np.ndarray], norm: str, value_range: Optional[tuple[float, float]]
) -> np.ndarray:
    """Per-filter max |w| used as the colour scale (float64 ``[F]``); 0 where nothing is finite."""
    count = values.shape[0]
    if norm == "global":
        if value_range is None:
            raise ValueError("norm 'global' needs value_range=(low, high) over all checkpoints")
        try:
            low, high = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ValueError(f"value_range must be two numbers (low, high), got {value_range!r}") from None
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"value_range must be finite, got {value_range!r}")
        return np.full(count, max(abs(low), abs(high)), dtype=np.float64)
    magnitude = np.abs(values).reshape(count, -1)
    if finite is not None:
        magnitude = np.where(finite.reshape(count, -1), magnitude, 0.0)
    per_filter = magnitude.max(axis=1).astype(np.float64)
    if norm == "layer":
        return np.full(count, per_filter.max(), dtype=np.float64)
    return per_filter


def _diverging_indices(values: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """uint16 DIVERGING index of every value (v / scale clipped to [-1, 1] onto 0..255)."""
    safe = np.where(scales > 0, scales, 1.0).astype(np.float32)  # all-zero filter: anything / 1 = 0
    ratio = values / safe.reshape((-1,) + (1,) * (values.ndim - 1))
    return np.rint((np.clip(ratio, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint16)


def _mark_nonfinite(codes: np.ndarray, values: np.ndarray, nan: int, pos_inf: int, neg_inf: int) -> None:
    codes[np.isnan(values)] = nan
    codes[np.isposinf(values)] = pos_inf
    codes[np.isneginf(values)] = neg_inf


def as_filter_bank(weights: np.ndarray) -> np.ndarray:
    """View any layer's weights as ``[F, C, kh, kw]`` (a conv bank) or ``[out, in]`` (a matrix).

    ``[n]`` (a BatchNorm's scale) becomes ``[n, 1]``: n one-value filters; ``[F, C, k]``
    (Conv1d) becomes ``[F, C, 1, k]``; ``[F, C, d, kh, kw]`` (Conv3d) becomes ``[F, C*d, kh, kw]``,
    its depth slices shown as further cells.
    """
    if weights.ndim == 1:
        return weights.reshape(-1, 1)
    if weights.ndim == 3:
        return weights.reshape(weights.shape[0], weights.shape[1], 1, weights.shape[2])
    if weights.ndim > 4:
        return weights.reshape(weights.shape[0], -1, weights.shape[-2], weights.shape[-1])
    return weights


def render_filters(
    weights: np.ndarray,
    *,
    norm: str,
    value_range: Optional[tuple[float, float]] = None,
    scale: Optional[int] = None,
    rgb: bool = False,
) -> tuple[bytes, dict[str, Any]]:
    """Draw a layer's filters as one PNG sprite and describe its layout.

    Args:
      weights: ``[F, C, kh, kw]`` (Conv2d) or ``[out, in]`` (Linear), any real dtype; other
        ranks are drawn as ``as_filter_bank`` arranges them.
      norm: the colour scale: ``"filter"`` (each filter's own max |w|), ``"layer"`` (max |w| of
        the array) or ``"global"`` (``max(|low|, |high|)`` of ``value_range``). Finite values
        only; ``w / scale`` clipped to [-1, 1] maps linearly onto ``DIVERGING`` (0 -> its centre).
      value_range: ``(low, high)`` over all checkpoints; required by ``"global"``, ignored otherwise.
      scale: pixels per value; default automatic (cells >= ~8 px, sprite <= ~4096 px a side).
      rgb: draw each filter of a ``[F, 3, kh, kw]`` first layer as one colour kernel, channels
        0, 1, 2 as R, G, B (each channel ``(w / scale + 1) / 2`` of full intensity, so 0 is grey).

    Returns:
      ``(png, layout)``. Conv: one tile per filter holding its C kernels as cells in a
      near-square grid; Linear: one tile per unit holding its ``in`` weights folded row-major
      into a near-square ``h x w`` cell (the rest of the cell is background). NaN, +Inf and
      -Inf show ``NAN_COLOR``, ``POS_INF_COLOR`` and ``NEG_INF_COLOR`` (in RGB mode, a kernel
      position with any non-finite channel; NaN first, then +Inf).
      ``layout`` keys: ``kind`` ("conv", "conv_rgb", "linear"), ``filters``, ``channels``
      (cells per tile: C, or 1 for conv_rgb/linear), ``in_channels``, ``cell`` ([h, w] px),
      ``cell_values`` ([kh, kw], or the folded [h, w]), ``values_per_filter``, ``scale``,
      ``weight_shape`` (as logged), ``cell_gap``, ``tile_gap``, ``channel_grid`` and ``filter_grid`` ([rows, cols]),
      ``tile`` ([h, w] px), ``width``, ``height``, ``norm``, ``scales`` (per filter, float: a
      value v is drawn at index ``(clip(v / s, -1, 1) + 1) * 127.5``; 0 when a filter has no
      non-zero finite value), ``background`` ([r, g, b]).

    Raises:
      ValueError: a scalar, empty axes, non-numeric dtype, unknown norm, a missing or
        non-finite ``value_range`` for "global", ``rgb`` without 3 input channels, a bad scale.
    """
    values = np.asarray(weights)
    if norm not in FILTER_NORMS:
        raise ValueError(f"unknown norm {norm!r}; expected one of {', '.join(map(repr, FILTER_NORMS))}")
    if values.dtype.kind not in "fiu":
        raise ValueError(f"weights must be real numbers, got dtype {values.dtype}")
    if values.ndim == 0:
        raise ValueError("weights must have a filter axis, got a scalar")
    weight_shape = [int(n) for n in values.shape]
    values = as_filter_bank(values)
    if 0 in values.shape:
        raise ValueError(f"weights must not have an empty axis, got shape {values.shape}")
    if rgb and (values.ndim != 4 or values.shape[1] != 3):
        raise ValueError(f"rgb filters need weights [filters, 3, kh, kw], got shape {values.shape}")
    values = values.astype(np.float32, copy=False)
    count = values.shape[0]
    finite_mask = np.isfinite(values)
    finite: Optional[np.ndarray] = None if finite_mask.all() else finite_mask
    scales = _filter_scales(values, finite, norm, value_range)
    clean = values if finite is None else np.where(finite, values, 0.0)

    if values.ndim == 2:
        kind, channels, in_channels = "linear", 1, values.shape[1]
        cell_values = _near_square(values.shape[1])
        per_filter = values.shape[1]
    elif rgb:
        kind, channels, in_channels = "conv_rgb", 1, 3
        cell_values = values.shape[2:]
        per_filter = int(np.prod(values.shape[1:]))
    else:
        kind, channels, in_channels = "conv", values.shape[1], values.shape[1]
        cell_values = values.shape[2:]
        per_filter = int(np.prod(values.shape[1:]))
    cell_values = (int(cell_values[0]), int(cell_values[1]))
    channel_grid, filter_grid = _near_square(channels), _near_square(count)
    scale = _choose_scale(
        scale,
        MIN_FILTER_CELL_PX,
        cell_values,
        lambda s: _sprite_size(cell_values, channel_grid, filter_grid, s),
        "select fewer filters" if scale is None else "select fewer filters or a smaller scale",
    )
    slots = (filter_grid[0] * filter_grid[1], channel_grid[0] * channel_grid[1])

    if kind == "conv_rgb":
        # Each channel's intensity is its DIVERGING index: 0 -> 128 (grey), +-scale -> 255 / 0.
        intensity = _diverging_indices(clean, scales).astype(np.uint8)
        colours = np.ascontiguousarray(intensity.transpose(0, 2, 3, 1))  # [F, kh, kw, rgb]
        if finite is not None:
            special = np.full((count,) + values.shape[2:], -1, dtype=np.int8)
            # Least severe first, so that NaN wins over +Inf and +Inf over -Inf at one position.
            special[np.isneginf(values).any(axis=1)] = 2
            special[np.isposinf(values).any(axis=1)] = 1
            special[np.isnan(values).any(axis=1)] = 0
            hit = special >= 0
            colours[hit] = _SPECIALS[special[hit]]
        colours = _pad(_pack(colours)[:, None], slots, _BACKGROUND32)
    else:
        codes = _diverging_indices(clean, scales)
        if finite is not None:
            _mark_nonfinite(codes, values, _W_NAN, _W_POS_INF, _W_NEG_INF)
        if kind == "linear":
            folded = np.full((count, cell_values[0] * cell_values[1]), _W_BACKGROUND, dtype=np.uint16)
            folded[:, :per_filter] = codes
            codes = folded.reshape(count, 1, *cell_values)
        colours = _WEIGHT_PALETTE32[_pad(codes, slots, _W_BACKGROUND)]

    pixels = _compose(colours, channel_grid, filter_grid, scale)
    cell = [cell_values[0] * scale, cell_values[1] * scale]
    layout = {
        "kind": kind,
        "filters": int(count),
        "channels": int(channels),
        "in_channels": int(in_channels),
        "cell": cell,
        "cell_values": list(cell_values),
        "values_per_filter": int(per_filter),
        "weight_shape": weight_shape,
        "scale": int(scale),
        "cell_gap": CELL_GAP,
        "tile_gap": TILE_GAP,
        "channel_grid": list(channel_grid),
        "filter_grid": list(filter_grid),
        "tile": [_extent(channel_grid[0], cell[0], CELL_GAP), _extent(channel_grid[1], cell[1], CELL_GAP)],
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "norm": norm,
        "scales": [float(s) for s in scales],
        "background": list(BACKGROUND),
    }
    return _encode_packed(pixels), layout


def locate_filter_pixel(layout: dict, x: int, y: int) -> Optional[tuple[int, int, int, int]]:
    """``(filter, channel, row, col)`` of the weight drawn at pixel (x, y) of a filter sprite.

    None for gaps, unused grid slots, the padding of folded Linear weights and pixels outside
    the sprite. ``filter`` counts the rendered filters (0..layout["filters"]-1). For "conv_rgb"
    ``channel`` is always 0 (the pixel shows channels 0, 1, 2 at once); for "linear" the input
    index is ``row * layout["cell_values"][1] + col``. Mirrors the page's TypeScript: along
    each axis, divide by the tile pitch (tile + tile_gap), the remainder by the cell pitch
    (cell + cell_gap), that remainder by the scale.
    """
    return _locate(layout, x, y, tiles=True)


def filter_pixel_origin(layout: dict, filter: int, channel: int, row: int, col: int) -> tuple[int, int]:
    """Top-left pixel ``(x, y)`` of the ``scale x scale`` block of one weight (inverse of
    ``locate_filter_pixel``); ValueError for an index outside the layout."""
    _check_index("filter", filter, layout["filters"])
    _check_index("channel", channel, layout["channels"])
    _check_index("row", row, layout["cell_values"][0])
    _check_index("col", col, layout["cell_values"][1])
    return _origin(layout, filter, channel, row, col, tiles=True)


# Activations ----------------------------------------------------------------------------------


def render_activations(
    codes: np.ndarray,
    ranges: np.ndarray,
    *,
    norm: str = "channel",
    scale: Optional[int] = None,
) -> tuple[bytes, dict[str, Any]]:
    """Draw one probe image's activations of a layer as a PNG sprite and describe its layout.

    Args:
      codes: uint8 ``[C, H, W]`` (conv; ``[C, L]`` is drawn as ``[C, 1, L]``) or ``[F]``
        (linear), as stored by ``statistics.quantize_activations``.
      ranges: float ``[C, 2]`` (conv) or ``[1, 2]`` (linear): the (min, max) of each code group.
      norm: ``"channel"``: codes map straight through ``SEQUENTIAL`` (``SEQUENTIAL[code]``: each
        channel already spans its own range); ``"layer"``: values are dequantized and rescaled
        onto the same 0..252 colour indices by the image's finite min/max over the whole layer.
        Codes 253/254/255 (-Inf/+Inf/NaN) show ``NEG_INF_COLOR``/``POS_INF_COLOR``/``NAN_COLOR``.
      scale: pixels per value; default automatic (cells >= ~16 px, sprite <= ~4096 px a side).

    Returns:
      ``(png, layout)``; conv channels are cells in a near-square grid, a linear vector is one
      near-square cell folded row-major (the rest is background). ``layout`` keys: ``kind``
      ("conv", "linear"), ``channels`` (1 for linear), ``cell`` ([h, w] px), ``cell_values``
      ([H, W] or the folded [h, w]), ``values_per_channel`` (H*W, or F), ``scale``,
      ``cell_gap``, ``channel_grid`` ([rows, cols]), ``width``, ``height``, ``norm``,
      ``layer_range`` ([min, max] used by "layer", else None), ``background``.
    """
    raw = np.asarray(codes)
    bounds = np.asarray(ranges)
    if norm not in ACTIVATION_NORMS:
        raise ValueError(f"unknown norm {norm!r}; expected one of {', '.join(map(repr, ACTIVATION_NORMS))}")
    if raw.dtype != np.uint8:
        raise ValueError(f"activation codes must be uint8, got {raw.dtype}")
    if raw.ndim not in (1, 2, 3) or 0 in raw.shape:
        raise ValueError(f"activation codes must be [C, H, W] (conv) or [F] (linear), got shape {raw.shape}")
    groups = 1 if raw.ndim == 1 else raw.shape[0]
    if bounds.shape != (groups, 2):
        raise ValueError(f"ranges must have shape [{groups}, 2] for codes of shape {raw.shape}, got {bounds.shape}")
    if bounds.dtype.kind not in "fiu" or not np.isfinite(bounds).all():
        raise ValueError("ranges must be finite numbers")
    if raw.ndim == 2:
        raw = raw[:, None, :]

    layer_range = None
    if norm == "layer":
        raw, layer_range = _rescale_to_layer(raw, bounds)

    if raw.ndim == 1:
        kind, channels = "linear", 1
        cell_values = _near_square(raw.shape[0])
        per_channel = raw.shape[0]
        folded = np.full(cell_values[0] * cell_values[1], _A_BACKGROUND, dtype=np.uint16)
        folded[:per_channel] = raw
        palette_codes = folded.reshape(1, 1, *cell_values)
    else:
        kind, channels = "conv", raw.shape[0]
        cell_values = raw.shape[1:]
        per_channel = raw.shape[1] * raw.shape[2]
        palette_codes = raw.astype(np.uint16)[None]
    cell_values = (int(cell_values[0]), int(cell_values[1]))
    channel_grid = _near_square(channels)
    scale = _choose_scale(
        scale,
        MIN_ACTIVATION_CELL_PX,
        cell_values,
        lambda s: _sprite_size(cell_values, channel_grid, (1, 1), s),
        "this layer's activations are too large to draw" if scale is None else "ask for a smaller scale",
    )
    palette_codes = _pad(palette_codes, (1, channel_grid[0] * channel_grid[1]), _A_BACKGROUND)
    pixels = _compose(_ACTIVATION_PALETTE32[palette_codes], channel_grid, (1, 1), scale)
    layout = {
        "kind": kind,
        "channels": int(channels),
        "cell": [cell_values[0] * scale, cell_values[1] * scale],
        "cell_values": list(cell_values),
        "values_per_channel": int(per_channel),
        "scale": int(scale),
        "cell_gap": CELL_GAP,
        "channel_grid": list(channel_grid),
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "norm": norm,
        "layer_range": layer_range,
        "background": list(BACKGROUND),
    }
    return _encode_packed(pixels), layout


def _rescale_to_layer(raw: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Codes re-quantized onto 0..FINITE_LEVELS-1 by the finite min/max of the whole layer."""
    grouped = raw.reshape(bounds.shape[0], -1)
    low = bounds[:, 0:1].astype(np.float64)
    span = bounds[:, 1:2].astype(np.float64) - low
    finite = grouped < FINITE_LEVELS
    values = low + grouped * (span / (FINITE_LEVELS - 1))
    if not finite.any():
        return raw, [0.0, 0.0]
    layer_low = float(np.where(finite, values, np.inf).min())
    layer_high = float(np.where(finite, values, -np.inf).max())
    width = layer_high - layer_low
    scaled = (values - layer_low) * ((FINITE_LEVELS - 1) / width) if width > 0 else np.zeros_like(values)
    rescaled = np.clip(np.rint(scaled), 0, FINITE_LEVELS - 1).astype(np.uint8)
    rescaled = np.where(finite, rescaled, grouped)  # keep the NaN/Inf codes
    return rescaled.reshape(raw.shape), [layer_low, layer_high]


def locate_activation_pixel(layout: dict, x: int, y: int) -> Optional[tuple[int, int, int]]:
    """``(channel, row, col)`` of the activation drawn at pixel (x, y), or None for gaps,
    unused grid slots, padding of a folded linear vector and pixels outside the sprite.
    For "linear" the feature index is ``row * layout["cell_values"][1] + col`` (channel 0)."""
    found = _locate(layout, x, y, tiles=False)
    return None if found is None else found[1:]


def activation_pixel_origin(layout: dict, channel: int, row: int, col: int) -> tuple[int, int]:
    """Top-left pixel ``(x, y)`` of one activation's block (inverse of ``locate_activation_pixel``)."""
    _check_index("channel", channel, layout["channels"])
    _check_index("row", row, layout["cell_values"][0])
    _check_index("col", col, layout["cell_values"][1])
    return _origin(layout, 0, channel, row, col, tiles=False)


# Thumbnails -----------------------------------------------------------------------------------


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
        columns = _near_square(count)[1]
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
    count, h, w, depth = images.shape
    grid = _pad(images, (rows * cols,), BACKGROUND[0] if depth == 1 else BACKGROUND)
    sprite = grid.reshape(rows, cols, h, w, depth).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, depth)
    return encode_png(sprite), layout


def render_image(thumbnail: np.ndarray) -> bytes:
    """PNG of one uint8 thumbnail ``[h, w, 1 or 3]``: grayscale stays grayscale (PNG mode L)."""
    image = np.asarray(thumbnail)
    _check_thumbnails(image, 3, "a thumbnail")
    return encode_png(image)
