"""The colour tables: 256 RGB entries each, shaped as their maps are, and none of the special colours."""

from __future__ import annotations

import numpy as np

from tensorboard_deepviz.server import render

SPECIAL_COLORS = [render.NAN_COLOR, render.POS_INF_COLOR, render.NEG_INF_COLOR]


def test_colour_tables_are_256_rgb_entries_without_special_colours():
    for table in (render.DIVERGING, render.SEQUENTIAL):
        assert table.shape == (256, 3) and table.dtype == np.uint8
        for colour in SPECIAL_COLORS + [render.BACKGROUND]:
            assert not (table == np.array(colour)).all(axis=1).any(), colour
    assert len({render.NAN_COLOR, render.POS_INF_COLOR, render.NEG_INF_COLOR, render.BACKGROUND}) == 4


def test_diverging_runs_blue_to_near_white_to_red_symmetrically():
    table = render.DIVERGING.astype(int)
    assert tuple(table[0]) == (59, 76, 192) and tuple(table[255]) == (180, 4, 38)
    assert table[0, 2] > table[0, 0] and table[255, 0] > table[255, 2]
    assert (table[127:129] > 215).all()  # near-white around zero
    lightness = table @ [0.2126, 0.7152, 0.0722]
    assert (np.diff(lightness[:128]) > -1).all() and (np.diff(lightness[128:]) < 1).all()
    assert abs(lightness[32] - lightness[223]) < 20  # equal |w| looks about equally strong


def test_sequential_is_dark_to_bright():
    lightness = render.SEQUENTIAL.astype(float) @ [0.2126, 0.7152, 0.0722]
    assert (np.diff(lightness) > -1).all() and (np.diff(lightness[::8]) > 0).all()  # 8-bit rounding wobbles
    assert lightness[0] < 40 and lightness[255] > 200
