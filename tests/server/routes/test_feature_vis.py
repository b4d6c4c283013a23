"""routes.feature_vis: a unit's image, a layer's sprite and layout, falling back to the latest record at or before a step."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server import render
from tensorboard_deepviz.server.errors import NotFound, RequestError, Unreadable
from tensorboard_deepviz.server.routes import feature_vis
from tests.server.routes._png import pixels
from tests.server.small_log import RUN, route_request, small_log
from tests.support.fakelog import FakeLog

UNITS = [1, 4, 6]  # the units rendered of a layer with 8
SIDE = (6, 5)  # images of 6 x 5 pixels
NORMALIZATION = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "learned": True}


def images(step: int) -> np.ndarray:
    """Unit i's image at ``step``: every pixel ``(10 step + i, 20 i, 255 - i)``, pixel (0, 0) white."""
    pictures = np.zeros((len(UNITS), *SIDE, 3), dtype=np.uint8)
    for i in range(len(UNITS)):
        pictures[i] = (10 * step + i, 20 * i, 255 - i)
        pictures[i, 0, 0] = 255
    return pictures


def record(step: int, *, warm_from: Optional[int] = None, layer: str = "stem") -> summary.summary_pb2.Summary:
    return summary.feature_vis_summary(
        layer,
        images=images(step),
        units=UNITS,
        objective=np.array([1.5, np.nan, 0.0]),
        no_signal=np.array([False, False, True]),
        warm=np.array([warm_from is not None] * 3),
        method="fourier",
        steps=128 if warm_from is not None else 512,
        seconds=2.5,
        normalization=NORMALIZATION,
        warm_from=warm_from,
        output_shape=[8, 4, 4],
    )


def rendered_log() -> FakeLog:
    """The small run (checkpoints 0, 2 and 4) with feature visualization of ``stem`` at 0 and 4, after their markers."""
    log = small_log(checkpoints=(0, 2, 4))
    log.add(RUN, record(0), 0)
    log.add(RUN, record(4, warm_from=0), 4)
    return log


@pytest.fixture(scope="module")
def run():
    return rendered_log().run(RUN)


# ------------------------------------------------------------------------ which record


@pytest.mark.parametrize("requested, found", [(None, 4), (0, 0), (1, 0), (2, 0), (3, 0), (4, 4), (99, 4)])
def test_a_step_reads_the_latest_record_at_or_before_it(run, requested, found):
    assert feature_vis.at_or_before(run, "stem", requested).step == found


def test_no_record_at_or_before_a_step_or_for_a_layer_names_what_there_is():
    log = small_log(checkpoints=(0, 2))
    log.add(RUN, record(2), 2)
    run = log.run(RUN)
    with pytest.raises(
        NotFound, match=r"no feature visualization of layer 'stem' at or before step 1; the first is at step 2"
    ):
        feature_vis.at_or_before(run, "stem", 1)
    with pytest.raises(NotFound, match=r"no feature_vis for layer 'head'; layers: stem"):
        feature_vis.at_or_before(run, "head", None)


# ------------------------------------------------------------------------ answers


def test_a_units_image_is_its_stored_pixels(run):
    for step, at in ((0, 1), (4, 4)):
        located = feature_vis.at_or_before(run, "stem", at)
        for position, unit in enumerate(UNITS):
            np.testing.assert_array_equal(
                pixels(feature_vis.answer_feature_vis(run, located, unit)), images(step)[position]
            )


def test_a_unit_that_was_not_rendered_names_those_that_were(run):
    with pytest.raises(NotFound, match=r"unit 2 of layer 'stem' has no feature visualization at step 4; 1, 4, 6"):
        feature_vis.answer_feature_vis(run, feature_vis.at_or_before(run, "stem", None), 2)


def test_the_sprite_places_each_unit_where_its_layout_says(run):
    at = feature_vis.at_or_before(run, "stem", 3)
    for columns in (None, 1, 2, 5):
        layout = feature_vis.answer_feature_vis_layout(run, at, 3, columns)
        sprite = pixels(feature_vis.answer_feature_vis_sprite(run, at, columns))
        assert sprite.shape == (layout["height"], layout["width"], 3)
        h, w = layout["thumb"]
        assert [h, w] == list(SIDE) and layout["count"] == len(UNITS)
        for position in range(len(UNITS)):
            row, col = divmod(position, layout["columns"])
            cell = sprite[row * h : (row + 1) * h, col * w : (col + 1) * w]
            np.testing.assert_array_equal(cell, images(0)[position])
        assert layout == {**layout, **render.thumbnails_layout(len(UNITS), SIDE, columns=columns)}


def test_the_layout_says_which_step_the_images_come_from_and_what_each_unit_did(run):
    layout = feature_vis.answer_feature_vis_layout(run, feature_vis.at_or_before(run, "stem", 3), 3)
    assert (layout["layer"], layout["step"], layout["requested_step"]) == ("stem", 0, 3)
    assert layout["units"] == UNITS and layout["no_signal"] == [False, False, True]
    assert layout["objective"] == [1.5, "NaN", 0.0]
    assert layout["warm"] == [False] * 3 and layout["warm_started"] is False and layout["warm_from"] is None
    assert (layout["method"], layout["steps"], layout["seconds"]) == ("fourier", 512, 2.5)
    assert layout["normalization"] == NORMALIZATION and layout["output_shape"] == [8, 4, 4]
    later = feature_vis.answer_feature_vis_layout(run, feature_vis.at_or_before(run, "stem", None))
    assert later["step"] == 4 and later["requested_step"] is None
    assert later["warm"] == [True] * 3 and later["warm_started"] is True and later["warm_from"] == 0
    assert later["steps"] == 128


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"units": np.array([1, 2], dtype=np.int32)}, r"units must have one entry per image \(3\)"),
        ({"images": np.zeros((3, 4, 4), dtype=np.uint8)}, r"images must be uint8 \[units, H, W, 3\]"),
        ({"images": np.zeros((3, 4, 4, 3), dtype=np.float32)}, r"images must be uint8"),
        ({"objective": None}, r"lacks objective"),
        ({"units": np.array([0.0, 1.0, 2.0], dtype=np.float32)}, r"units must be integers"),
    ],
)
def test_a_record_whose_arrays_do_not_fit_together_is_unreadable(arrays, message):
    complete = {
        "images": np.zeros((3, 4, 4, 3), dtype=np.uint8),
        "units": np.array([0, 1, 2], dtype=np.int32),
        "objective": np.zeros(3, dtype=np.float32),
        "no_signal": np.zeros(3, dtype=bool),
    }
    complete.update(arrays)
    log = FakeLog()
    present = {name: array for name, array in complete.items() if array is not None}
    log.add_record(RUN, 0, metadata.KIND_FEATURE_VIS, {"method": "fourier"}, present, "conv")
    run = log.run(RUN)
    with pytest.raises(Unreadable, match=message):
        feature_vis.answer_feature_vis_layout(run, feature_vis.at_or_before(run, "conv", 0))


def test_the_encoder_refuses_arrays_that_do_not_fit_together():
    good = dict(
        images=images(0),
        units=UNITS,
        objective=np.zeros(3),
        no_signal=np.zeros(3, dtype=bool),
        method="fourier",
        steps=1,
        seconds=0.0,
        normalization=NORMALIZATION,
    )
    with pytest.raises(ValueError, match=r"images of 'c' must be uint8 \[U, H, W, 3\]"):
        summary.feature_vis_summary("c", **{**good, "images": images(0)[..., :1]})
    with pytest.raises(ValueError, match=r"objective of 'c' must have one entry per image \(3\)"):
        summary.feature_vis_summary("c", **{**good, "objective": np.zeros(2)})
    with pytest.raises(ValueError, match=r"method must be 'fourier' or 'toolbox'"):
        summary.feature_vis_summary("c", **{**good, "method": "lucid"})


# ------------------------------------------------------------------------ routes


def test_routes_answer_the_fallback_record_and_say_when_it_may_still_change():
    log = rendered_log()
    exact = feature_vis.feature_vis_route(route_request(log, run=RUN, layer="stem", unit="4", step="4"))
    fallback = feature_vis.feature_vis_route(route_request(log, run=RUN, layer="stem", unit="4", step="2"))
    latest = feature_vis.feature_vis_route(route_request(log, run=RUN, layer="stem", unit="4"))
    assert exact.final and latest.final and not fallback.final
    np.testing.assert_array_equal(pixels(fallback.compute().body), images(0)[1])
    assert exact.identity == latest.identity != fallback.identity
    # The layout's identity includes the requested step, which its answer names.
    two = feature_vis.feature_vis_layout_route(route_request(log, run=RUN, layer="stem", step="2"))
    three = feature_vis.feature_vis_layout_route(route_request(log, run=RUN, layer="stem", step="3"))
    assert two.identity != three.identity
    sprite = feature_vis.feature_vis_sprite_route(route_request(log, run=RUN, layer="stem", step="3", columns="1"))
    assert sprite.compute().content_type == "image/png" and not sprite.final
    # Once the step's own record is written, the same request reads it.
    log.add(RUN, record(2, warm_from=0), 2)
    now = feature_vis.feature_vis_route(route_request(log, run=RUN, layer="stem", unit="4", step="2"))
    assert now.final and now.identity != fallback.identity


@pytest.mark.parametrize(
    "route, args, error, message",
    [
        (feature_vis.feature_vis_route, {"layer": "stem"}, RequestError, "missing required parameter 'unit'"),
        (feature_vis.feature_vis_route, {"layer": "stem", "unit": "-1"}, RequestError, "'unit' must be at least 0"),
        (feature_vis.feature_vis_route, {"unit": "1"}, RequestError, "missing required parameter 'layer'"),
        (
            feature_vis.feature_vis_sprite_route,
            {"layer": "stem", "columns": "0"},
            RequestError,
            "'columns' must be at least 1",
        ),
        (
            feature_vis.feature_vis_layout_route,
            {"layer": "stem", "step": "x"},
            RequestError,
            "'step' must be an integer",
        ),
        (feature_vis.feature_vis_layout_route, {"layer": "head"}, NotFound, "no feature_vis for layer 'head'"),
    ],
)
def test_bad_parameters_are_named(route, args, error, message):
    with pytest.raises(error, match=message):
        route(route_request(rendered_log(), run=RUN, **args))


def test_the_index_names_the_layers_with_feature_visualization(run):
    from tensorboard_deepviz.server import index

    layers = {layer["name"]: layer for layer in index.summarize_run(run)["layers"]}
    assert layers["stem"]["has_feature_vis"] is True and layers["head"]["has_feature_vis"] is False
    # Records written after their checkpoint's marker change no checkpoint's completeness.
    assert index.summarize_run(run)["checkpoints"] == [0, 2, 4]
