"""Filter and activation sprites: stored weights and activation codes drawn as PNGs, with their pixel layouts.

Pure functions on numpy arrays (numpy and Pillow only, no TensorBoard): each ``render_*``
returns ``(png_bytes, layout)``, where ``layout`` is a JSON-serializable dict that lets the web
page map any sprite pixel back to what it shows (``locate_*_pixel``) and tests find the pixel
of a value (``*_pixel_origin``).

Sprite geometry
---------------
A *cell* draws one 2-D array (a kernel ``kh x kw``, an activation map ``H x W`` or a linear
unit's weights folded into a near-square block), each value as a ``scale x scale`` square.
Cells sit in a near-square grid, ``cell_gap`` (1 px) apart, in reading order; for filters that
grid is one *tile* per filter, and tiles sit in their own near-square grid ``tile_gap`` (2 px)
apart. Gaps and unused grid slots are ``BACKGROUND``. So along each axis::

    tile_h = channel_rows * cell_h + (channel_rows - 1) * cell_gap
    height = filter_rows * tile_h + (filter_rows - 1) * tile_gap

and a pixel's filter, channel and value position follow from integer divisions (see
``locate_filter_pixel``). All sprites are RGB PNGs. Weights take their colours from
``colormaps.DIVERGING``, activations from ``colormaps.SEQUENTIAL``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

from ...contract.codes import CODE_NAN, CODE_NEG_INF, CODE_POS_INF, FINITE_LEVELS
from .colormaps import BACKGROUND, DIVERGING, NAN_COLOR, NEG_INF_COLOR, POS_INF_COLOR, SEQUENTIAL
from .grid import extent, near_square, pad
from .png import encode_packed, pack_rgbx

CELL_GAP = 1
TILE_GAP = 2

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

# The colour scales a request may ask for; the first is each sprite's default.
FILTER_NORMS = ("filter", "layer", "global")
ACTIVATION_NORMS = ("channel", "layer")

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

_WEIGHT_PALETTE32 = pack_rgbx(_WEIGHT_PALETTE)
_ACTIVATION_PALETTE32 = pack_rgbx(_ACTIVATION_PALETTE)
_BACKGROUND32 = pack_rgbx(np.array(BACKGROUND, dtype=np.uint8))
assert (CODE_NEG_INF, CODE_POS_INF, CODE_NAN) == (FINITE_LEVELS, FINITE_LEVELS + 1, FINITE_LEVELS + 2)


# Sprite geometry -------------------------------------------------------------------------------------


def _sprite_size(cell_values: Grid, channel_grid: Grid, filter_grid: Grid, scale: int) -> Grid:
    tile_h = extent(channel_grid[0], cell_values[0] * scale, CELL_GAP)
    tile_w = extent(channel_grid[1], cell_values[1] * scale, CELL_GAP)
    return extent(filter_grid[0], tile_h, TILE_GAP), extent(filter_grid[1], tile_w, TILE_GAP)


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
    tile_px = extent(cells, cell_px, CELL_GAP)
    position = np.arange(extent(tiles, tile_px, tile_gap))
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
        cell_values = near_square(values.shape[1])
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
    channel_grid, filter_grid = near_square(channels), near_square(count)
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
            special = np.full((count, *values.shape[2:]), -1, dtype=np.int8)
            # Least severe first, so that NaN wins over +Inf and +Inf over -Inf at one position.
            special[np.isneginf(values).any(axis=1)] = 2
            special[np.isposinf(values).any(axis=1)] = 1
            special[np.isnan(values).any(axis=1)] = 0
            hit = special >= 0
            colours[hit] = _SPECIALS[special[hit]]
        colours = pad(pack_rgbx(colours)[:, None], slots, _BACKGROUND32)
    else:
        codes = _diverging_indices(clean, scales)
        if finite is not None:
            _mark_nonfinite(codes, values, _W_NAN, _W_POS_INF, _W_NEG_INF)
        if kind == "linear":
            folded = np.full((count, cell_values[0] * cell_values[1]), _W_BACKGROUND, dtype=np.uint16)
            folded[:, :per_filter] = codes
            codes = folded.reshape(count, 1, *cell_values)
        colours = _WEIGHT_PALETTE32[pad(codes, slots, _W_BACKGROUND)]

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
        "tile": [extent(channel_grid[0], cell[0], CELL_GAP), extent(channel_grid[1], cell[1], CELL_GAP)],
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
        "norm": norm,
        "scales": [float(s) for s in scales],
        "background": list(BACKGROUND),
    }
    return encode_packed(pixels), layout


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
    value_range: Optional[tuple[float, float]] = None,
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
      value_range: with ``"layer"``, the (low, high) drawn as the scale's ends instead of the
        image's own (values outside are clipped): one scale for two runs shown side by side.

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
    if value_range is not None and norm != "layer":
        raise ValueError("an explicit value range needs norm 'layer'")
    if norm == "layer":
        raw, layer_range = _rescale_to_layer(raw, bounds, value_range)

    if raw.ndim == 1:
        kind, channels = "linear", 1
        cell_values = near_square(raw.shape[0])
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
    channel_grid = near_square(channels)
    scale = _choose_scale(
        scale,
        MIN_ACTIVATION_CELL_PX,
        cell_values,
        lambda s: _sprite_size(cell_values, channel_grid, (1, 1), s),
        "this layer's activations are too large to draw" if scale is None else "ask for a smaller scale",
    )
    palette_codes = pad(palette_codes, (1, channel_grid[0] * channel_grid[1]), _A_BACKGROUND)
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
    return encode_packed(pixels), layout


def _rescale_to_layer(
    raw: np.ndarray, bounds: np.ndarray, value_range: Optional[tuple[float, float]] = None
) -> tuple[np.ndarray, list[float]]:
    """Codes re-quantized onto 0..FINITE_LEVELS-1 by the finite min/max of the whole layer (or ``value_range``)."""
    grouped = raw.reshape(bounds.shape[0], -1)
    low = bounds[:, 0:1].astype(np.float64)
    span = bounds[:, 1:2].astype(np.float64) - low
    finite = grouped < FINITE_LEVELS
    values = low + grouped * (span / (FINITE_LEVELS - 1))
    if value_range is not None:
        layer_low, layer_high = float(value_range[0]), float(value_range[1])
    elif not finite.any():
        return raw, [0.0, 0.0]
    else:
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
