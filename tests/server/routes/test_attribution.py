"""routes.attribution: a probe image's Grad-CAM map, its scale over every checkpoint, and the default layer."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.access import LogAccess
from tensorboard_deepviz.server.errors import NotFound, RequestError, Unreadable
from tensorboard_deepviz.server.routes import attribution
from tests.server import small_log as data
from tests.server.small_log import PROBES, RUN, route_request, small_log
from tests.support.fakelog import FakeLog


@pytest.fixture(scope="module")
def run():
    return small_log().run(RUN)


def _at(run, step=2, layer="stem"):
    return run.locate(metadata.KIND_ATTRIBUTION, layer, step)


def test_the_map_is_the_logged_one_row_major_with_its_target(run):
    body = attribution.answer_attribution(run, _at(run, 0), 3)
    assert (body["layer"], body["step"], body["image"]) == ("stem", 0, 3)
    assert body["target"] == int(data.predicted(0)[3]) and body["shape"] == [4, 4]
    np.testing.assert_array_equal(np.array(body["values"], dtype=np.float32), data.attribution_maps(0)[1].ravel())
    assert body["input_shape"] == data.INPUT_SHAPE and body["layers"] == ["stem"]


def test_the_scale_is_the_largest_maximum_of_that_probe_over_every_checkpoint(run):
    # Probe 0's maps peak at 1 (step 0) and 3 (step 2); probe 3's at 5 (step 0) and 1 (step 2).
    every_step = np.stack([data.attribution_maps(step) for step in (0, 2)])
    for step in (0, 2):
        for position, image in enumerate(PROBES):
            scale = attribution.answer_attribution(run, _at(run, step), image)["scale"]
            assert scale == [0.0, pytest.approx(float(every_step[:, position].max()))]
    assert attribution.attribution_maxima(run, _at(run).info) == pytest.approx([3.0, 5.0])


def test_the_scale_is_read_from_the_records_headers_alone():
    log = small_log()
    run = log.experiment(LogAccess(log)).for_run(RUN)
    info = run.tag(metadata.KIND_ATTRIBUTION, "stem")
    reads = log.blob_reads
    attribution.attribution_maxima(run, info)
    assert log.blob_reads - reads == 2  # one header blob per checkpoint, no map


def test_the_scale_ignores_maxima_that_are_not_finite_numbers():
    log = FakeLog()
    maps = np.ones((2, 2, 2), np.float32)
    arrays = {"probe_images": np.array([0, 3], np.int32), "targets": np.zeros(2, np.int32), "maps": maps}
    log.add_record(RUN, 0, metadata.KIND_ATTRIBUTION, {"input_shape": [4, 4], "maxima": [1.0, "x"]}, arrays, "c")
    log.add_record(RUN, 1, metadata.KIND_ATTRIBUTION, {"input_shape": [4, 4], "maxima": [True, 2.5]}, arrays, "c")
    log.add_record(RUN, 2, metadata.KIND_ATTRIBUTION, {"input_shape": [4, 4], "maxima": None}, arrays, "c")
    run = log.run(RUN)
    assert attribution.attribution_maxima(run, run.tag(metadata.KIND_ATTRIBUTION, "c")) == [1.0, 2.5]


def test_an_image_that_is_not_a_probe_names_the_probes(run):
    with pytest.raises(NotFound, match=r"image 1 is not a probe image; attribution exists for images \[0, 3\]"):
        attribution.answer_attribution(run, _at(run), 1)


def test_without_a_layer_the_only_one_or_else_the_deepest_is_read():
    log = small_log()
    reply = attribution.attribution_route(route_request(log, run=RUN, image="0"))
    assert reply.identity[3] == "deepviz/attribution/stem"
    # A second layer, later in the model's order (and before in the alphabet's).
    for step in (0, 2):
        maps = np.full((2, 1, 1), 0.5, np.float32)
        log.add(RUN, summary.attribution_summary("head", PROBES, [1, 1], maps, input_shape=[8, 8]), step)
    reply = attribution.attribution_route(route_request(log, run=RUN, image="0"))
    assert reply.identity[3] == "deepviz/attribution/head"
    body = reply.compute()
    assert b'"layers":["stem","head"]' in body.body and b'"values":[0.5]' in body.body
    stem = attribution.attribution_route(route_request(log, run=RUN, image="3", layer="stem", step="0"))
    assert stem.identity[3:5] == ("deepviz/attribution/stem", 0)


def test_the_identity_names_the_scale_so_a_longer_history_renames_the_answer():
    log = small_log()
    first = attribution.attribution_route(route_request(log, run=RUN, image="3", step="2"))
    assert first.identity[0] == "attribution" and first.identity[-1] == (3, (3.0, 5.0), ("stem",))
    maps = data.attribution_maps(0) * 4  # probe 3 peaks at 20
    log.add(RUN, summary.attribution_summary("stem", PROBES, [0, 0], maps, input_shape=[8, 8]), 4)
    again = attribution.attribution_route(route_request(log, run=RUN, image="3", step="2"))
    assert again.identity != first.identity
    assert b'"scale":[0.0,20.0]' in again.compute().body


def test_a_record_whose_arrays_do_not_fit_together_is_unreadable():
    log = FakeLog()
    arrays = {"probe_images": np.array([0, 3], np.int32), "targets": np.zeros(3, np.int32), "maps": np.ones((2, 2, 2))}
    log.add_record(RUN, 0, metadata.KIND_ATTRIBUTION, {"input_shape": [4, 4], "maxima": [1, 1]}, arrays, "c")
    run = log.run(RUN)
    with pytest.raises(Unreadable, match=r"maps \[2, 2, 2\], probe_images \[2\] and targets \[3\]"):
        attribution.answer_attribution(run, run.locate(metadata.KIND_ATTRIBUTION, "c"), 0)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ({"run": RUN}, RequestError, "missing required parameter 'image'"),
        ({"run": RUN, "image": "-1"}, RequestError, "'image' must be at least 0"),
        ({"run": RUN, "image": "0", "layer": "fc9"}, NotFound, "no attribution for layer 'fc9'; layers: stem"),
        ({"run": RUN, "image": "0", "step": "1"}, NotFound, "has no step 1"),
        ({"run": "nope", "image": "0"}, NotFound, "unknown run 'nope'"),
    ],
)
def test_every_bad_parameter_is_a_4xx_naming_the_problem(args, error, message):
    with pytest.raises(error, match=message):
        attribution.attribution_route(route_request(small_log(), **args))


def test_a_run_without_attribution_says_so():
    log = FakeLog()
    log.add(RUN, summary.units_summary("stem", **data.unit_arrays("stem", 0)), 0)
    with pytest.raises(NotFound, match=f"run {RUN!r} has no attribution records"):
        attribution.attribution_route(route_request(log, run=RUN, image="0"))
    reply = attribution.attribution_route(route_request(small_log(), run=RUN, image="2"))
    with pytest.raises(NotFound, match="image 2 is not a probe image"):
        reply.compute()
