"""routes.activations: one probe image's activations of a layer as a sprite and its layout."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.contract.codes import quantize_activations
from tensorboard_deepviz.server import render
from tensorboard_deepviz.server.errors import NotFound, RequestError
from tensorboard_deepviz.server.routes import activations
from tests.server.routes._png import pixels
from tests.server.small_log import PROBES, RUN, route_request, small_log, stem_activations


@pytest.fixture(scope="module")
def run():
    return small_log().run(RUN)


def test_each_activation_is_the_sequential_colour_of_its_stored_code(run):
    at = run.locate(metadata.KIND_ACTIVATIONS, "stem", 2)
    layout = activations.answer_activations_layout(run, at, image=3, norm="channel")
    sprite = pixels(activations.answer_activations(run, at, image=3, norm="channel"))
    codes, ranges = quantize_activations(stem_activations(2))
    assert layout["image"] == 3 and layout["kind"] == "conv" and layout["channels"] == 4
    np.testing.assert_allclose(layout["ranges"], ranges[1], rtol=1e-6)
    for channel, row, col in [(0, 0, 0), (2, 3, 1), (3, 3, 3)]:
        x, y = render.activation_pixel_origin(layout, channel, row, col)
        np.testing.assert_array_equal(sprite[y, x], render.SEQUENTIAL[codes[1][channel, row, col]])


def test_the_layer_norm_names_the_range_it_used(run):
    at = run.locate(metadata.KIND_ACTIVATIONS, "stem")
    layout = activations.answer_activations_layout(run, at, image=0, norm="layer")
    assert layout["norm"] == "layer" and layout["layer_range"][0] < layout["layer_range"][1]


def test_an_image_that_is_not_a_probe_image_is_not_found(run):
    at = run.locate(metadata.KIND_ACTIVATIONS, "stem")
    with pytest.raises(NotFound, match=r"image 1 is not a probe image; activations exist for images \[0, 3\]"):
        activations.answer_activations(run, at, image=1, norm="channel")


def test_the_routes_need_an_image_and_name_it_with_the_norm():
    log = small_log()
    reply = activations.activations_route(route_request(log, run=RUN, layer="stem", image=str(PROBES[1])))
    assert reply.identity[0] == "activations" and reply.identity[-1] == (3, "channel")
    layout = activations.activations_layout_route(route_request(log, run=RUN, layer="stem", image="0", norm="layer"))
    assert layout.identity[-1] == (0, "layer") and layout.compute().content_type == "application/json"
    with pytest.raises(RequestError, match="missing required parameter 'image'"):
        activations.activations_route(route_request(log, run=RUN, layer="stem"))
    with pytest.raises(RequestError, match="parameter 'norm' must be one of channel, layer; got 'filter'"):
        activations.activations_route(route_request(log, run=RUN, layer="stem", image="0", norm="filter"))
    with pytest.raises(NotFound, match="no activations for layer 'head'; layers: stem"):
        activations.activations_route(route_request(log, run=RUN, layer="head", image="0"))
