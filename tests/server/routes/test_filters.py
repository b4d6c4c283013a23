"""routes.filters: a layer's filters as a sprite, its layout, and one filter's values."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server import render
from tensorboard_deepviz.server.errors import NotFound, RequestError, Unreadable
from tensorboard_deepviz.server.routes import filters
from tests.server.routes._png import pixels
from tests.server.small_log import RUN, head_weights, route_request, small_log, stem_weights


@pytest.fixture(scope="module")
def run():
    return small_log().run(RUN)


def _weights(run, layer, step=2):
    return run.locate(metadata.KIND_WEIGHTS, layer, step)


def test_a_first_layer_is_drawn_in_colour_and_a_linear_one_folded(run):
    assert filters.answer_filters_layout(run, _weights(run, "stem"), norm="filter")["kind"] == "conv_rgb"
    layout = filters.answer_filters_layout(run, _weights(run, "head"), norm="layer")
    assert layout["kind"] == "linear" and layout["filter_indices"] == [0, 1, 2] and layout["value_range"] is None
    assert layout["scales"] == [pytest.approx(float(np.abs(head_weights(2).astype(np.float32)).max()))] * 3


def test_the_sprite_draws_each_weight_in_the_diverging_colour_of_its_value(run):
    at = _weights(run, "head")
    layout = filters.answer_filters_layout(run, at, norm="layer", filters="1:2")
    sprite = pixels(filters.answer_filters(run, at, norm="layer", filters="1:2"))
    assert sprite.shape[:2] == (layout["height"], layout["width"]) and layout["filter_indices"] == [1, 2]
    weights = head_weights(2).astype(np.float32)
    scale = layout["scales"][0]
    x, y = render.filter_pixel_origin(layout, 0, 0, 1, 0)  # filter 1, input 3 (8 inputs fold 3 wide)
    index = (np.clip(weights[1, 3] / scale, -1, 1) + 1) * 127.5
    assert np.abs(render.DIVERGING[round(index)].astype(int) - sprite[y, x]).max() <= 2


def test_the_global_norm_spans_every_checkpoint(run):
    layout = filters.answer_filters_layout(run, _weights(run, "stem", 0), norm="global")
    both = np.concatenate([stem_weights(0).ravel(), stem_weights(2).ravel()]).astype(np.float32)
    assert layout["value_range"] == [pytest.approx(float(both.min())), pytest.approx(float(both.max()))]
    assert filters.weights_range(run, _weights(run, "stem").info) == tuple(layout["value_range"])
    given = filters.answer_filters_layout(run, _weights(run, "stem", 0), norm="global", value_range=(-8.0, 8.0))
    assert given["value_range"] == [-8.0, 8.0] and given["scales"] == [8.0] * 4


def test_a_filter_outside_the_layer_is_not_found(run):
    with pytest.raises(NotFound, match=r"filters \[7\] outside 0..3"):
        filters.answer_filters(run, _weights(run, "stem"), norm="filter", filters="0,7")
    with pytest.raises(NotFound, match=r"filter 3 outside 0\.\.2 of layer 'head'"):
        filters.answer_filter_values(run, _weights(run, "head"), 3)


def test_one_filters_values_are_the_logged_weights_with_their_statistics(run):
    body = filters.answer_filter_values(run, _weights(run, "head"), 1)
    expected = head_weights(2)[1].astype(np.float32)
    np.testing.assert_array_equal(np.array(body["values"], dtype=np.float32), expected)
    assert body["shape"] == [8] and body["weight_shape"] == [8] and body["layer"] == "head" and body["step"] == 2
    assert body["total_filters"] == 5 and body["layer_type"] == "Linear"
    assert body["min"] == pytest.approx(float(expected.min())) and body["nan_count"] == 0


def test_a_record_without_a_filter_axis_is_unreadable():
    log = small_log()
    log.add_record(RUN, 4, metadata.KIND_WEIGHTS, {}, {"weights": np.array(1.0, dtype=np.float16)}, layer="head")
    run = log.run(RUN)
    with pytest.raises(Unreadable, match="deepviz/weights/head at step 4 holds a scalar, not a filter bank"):
        filters.answer_filter_values(run, run.locate(metadata.KIND_WEIGHTS, "head", 4), 0)


def test_the_routes_name_norm_range_and_selection_in_their_answers_identity():
    log = small_log()
    reply = filters.filters_route(route_request(log, run=RUN, layer="stem", norm="global", filters="0:1"))
    low, high = filters.weights_range(log.run(RUN), log.run(RUN).tag(metadata.KIND_WEIGHTS, "stem"))
    assert reply.identity[0] == "filters" and reply.identity[-1] == ("global", (low, high), "0:1")
    assert reply.compute().content_type == "image/png"
    layout = filters.filters_layout_route(route_request(log, run=RUN, layer="head", step="0"))
    assert layout.identity[4] == 0 and layout.identity[-1] == ("filter", None, "")
    values = filters.filter_values_route(route_request(log, run=RUN, layer="head", filter="2"))
    assert values.identity[-1] == (2,) and not values.keep
    with pytest.raises(RequestError, match="parameter 'norm' must be one of filter, layer, global; got 'max'"):
        filters.filters_route(route_request(log, run=RUN, layer="stem", norm="max"))
    with pytest.raises(RequestError, match="missing required parameter 'layer'"):
        filters.filters_layout_route(route_request(log, run=RUN))
    with pytest.raises(NotFound, match="no weights for layer 'fc9'; layers: head, stem"):
        filters.filter_values_route(route_request(log, run=RUN, layer="fc9", filter="0"))
