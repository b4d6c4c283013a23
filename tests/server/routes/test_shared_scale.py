"""An explicit colour scale (``range=low,high``) for the filter and activation sprites: the A/B mode
draws two runs' sprites on one scale, so one colour is one value on both sides."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server import render
from tensorboard_deepviz.server.errors import RequestError
from tensorboard_deepviz.server.routes import activations, filters
from tests.server.routes._png import pixels
from tests.server.small_log import RUN, head_weights, route_request, small_log


def _layout(reply) -> dict:
    return json.loads(reply.compute().body)


def test_a_filter_range_sets_every_filters_scale_whatever_the_norm():
    log = small_log()
    for norm in ("filter", "layer", "global"):
        layout = _layout(
            filters.filters_layout_route(route_request(log, run=RUN, layer="stem", norm=norm, range="-3,2"))
        )
        assert layout["scales"] == [3.0] * 4 and layout["value_range"] == [-3.0, 2.0]
    reply = filters.filters_route(route_request(log, run=RUN, layer="stem", range="-3,2"))
    assert reply.identity[-1] == ("global", (-3.0, 2.0), "")


def test_two_checkpoints_drawn_on_one_range_share_the_colour_of_each_value():
    log = small_log()
    run = log.run(RUN)
    for step in (0, 2):
        at = run.locate(metadata.KIND_WEIGHTS, "head", step)
        reply = filters.filters_route(route_request(log, run=RUN, layer="head", step=str(step), range="-4,4"))
        sprite = pixels(reply.compute().body)
        layout = filters.answer_filters_layout(run, at, norm="global", value_range=(-4.0, 4.0))
        assert layout["scales"] == [4.0] * 3
        weight = float(head_weights(step).astype(np.float32)[1, 3])
        x, y = render.filter_pixel_origin(layout, 1, 0, 1, 0)  # filter 1, input 3 (8 inputs fold 3 wide)
        index = (np.clip(weight / 4.0, -1, 1) + 1) * 127.5
        assert np.abs(render.DIVERGING[round(index)].astype(int) - sprite[y, x]).max() <= 2


def test_an_activation_range_is_the_layer_scale_used_and_clips_beyond_it():
    log = small_log()
    run = log.run(RUN)
    at = run.locate(metadata.KIND_ACTIVATIONS, "stem")
    own = activations.answer_activations_layout(run, at, image=0, norm="layer")["layer_range"]
    low, high = own
    wider = (low - (high - low), high + (high - low))
    layout = activations.answer_activations_layout(run, at, image=0, norm="layer", value_range=wider)
    assert layout["layer_range"] == [pytest.approx(wider[0]), pytest.approx(wider[1])]
    # on a range three times as wide, the image's own largest value is drawn near the middle of the map
    sprite = pixels(activations.answer_activations(run, at, image=0, norm="layer", value_range=wider))
    own_sprite = pixels(activations.answer_activations(run, at, image=0, norm="layer"))
    top = render.SEQUENTIAL[252].astype(int)
    assert (np.abs(own_sprite.astype(int) - top).max(axis=-1) <= 2).any()
    assert not (np.abs(sprite.astype(int) - top).max(axis=-1) <= 2).any()


def test_an_activation_range_needs_the_layer_norm_and_two_ordered_numbers():
    log = small_log()
    reply = activations.activations_route(
        route_request(log, run=RUN, layer="stem", image="0", norm="layer", range="0,5")
    )
    assert reply.identity[-1] == (0, "layer", (0.0, 5.0))
    with pytest.raises(RequestError, match="parameter 'range' needs norm=layer"):
        activations.activations_route(route_request(log, run=RUN, layer="stem", image="0", range="0,5"))
    for bad in ("5", "a,b", "2,1", "0,inf", "1,2,3"):
        with pytest.raises(RequestError, match="parameter 'range' must be"):
            filters.filters_route(route_request(log, run=RUN, layer="stem", range=bad))
