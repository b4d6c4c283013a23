"""Rendering: weights, activation codes and thumbnails as PNG sprites with pixel layouts (numpy and Pillow only).

``colormaps`` holds the colours, ``sprites`` the filter and activation sprites and the pixel
arithmetic the dashboard mirrors, ``thumbnails`` the eval-set thumbnails, ``crops`` the parts of
thumbnails a unit responded to; ``grid`` and ``png`` are what they share. Routes and tests use
the names re-exported here.
"""

from __future__ import annotations

from .colormaps import BACKGROUND, DIVERGING, NAN_COLOR, NEG_INF_COLOR, POS_INF_COLOR, SEQUENTIAL
from .crops import CROP_GAP, crops_layout, render_crops, thumbnail_box
from .grid import near_square
from .png import encode_png
from .sprites import (
    ACTIVATION_NORMS,
    FILTER_NORMS,
    activation_pixel_origin,
    as_filter_bank,
    filter_pixel_origin,
    locate_activation_pixel,
    locate_filter_pixel,
    render_activations,
    render_filters,
)
from .thumbnails import render_image, render_thumbnails, thumbnails_layout

# frontend/test/fixtures/make_layouts.py reads the grid rule under its earlier private name.
_near_square = near_square

__all__ = [
    "ACTIVATION_NORMS",
    "BACKGROUND",
    "CROP_GAP",
    "DIVERGING",
    "FILTER_NORMS",
    "NAN_COLOR",
    "NEG_INF_COLOR",
    "POS_INF_COLOR",
    "SEQUENTIAL",
    "activation_pixel_origin",
    "as_filter_bank",
    "crops_layout",
    "encode_png",
    "filter_pixel_origin",
    "locate_activation_pixel",
    "locate_filter_pixel",
    "near_square",
    "render_activations",
    "render_crops",
    "render_filters",
    "render_image",
    "render_thumbnails",
    "thumbnail_box",
    "thumbnails_layout",
]
