"""routes.units: a layer's units, one unit's top images and their crops, the layer's history, and class pairs."""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qsl

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server import render
from tensorboard_deepviz.server.errors import NotFound, RequestError, Unreadable
from tensorboard_deepviz.server.routes import units
from tensorboard_deepviz.server.routing import RouteRequest
from tests.server import small_log as data
from tests.server.routes._png import pixels
from tests.server.small_log import RUN, route_request, small_log
from tests.support.fakelog import FakeLog


@pytest.fixture(scope="module")
def run():
    return small_log().run(RUN)


def _units(run, layer="stem", step=2):
    return run.locate(metadata.KIND_UNITS, layer, step)


# ------------------------------------------------------------------------ units


def test_hand_set_class_means_give_the_expected_selectivity_and_top_class(run):
    body = units.answer_units(run, _units(run))
    assert (body["layer"], body["step"], body["k"]) == ("stem", 2, 3)
    assert body["output_shape"] == [4, 4, 4] and body["input_shape"] == data.INPUT_SHAPE and body["rectified"] is True
    rows = body["units"]
    assert [row["unit"] for row in rows] == [0, 1, 2, 3]
    # [0, 0, 4]: one class only; [1, 1, 1]: uniform; [0, 0, 0]: silent; [3, 1, 1]: (3 - 1) / (3 + 1).
    assert [row["top_class"] for row in rows] == [2, 0, 0, 0]
    assert [row["selectivity"] for row in rows] == pytest.approx([1.0, 0.0, 0.0, 0.5], abs=1e-6)
    assert [row["max"] for row in rows] == [3.0, 1.0, -0.5, 2.0]
    assert [row["mean"] for row in rows] == pytest.approx([4 / 3, 1.0, 0.0, 5 / 3])
    assert body["class_means"] == data.UNIT_CLASS_MEANS["stem"]


def test_a_unit_whose_top_value_is_negative_is_dead(run):
    rows = units.answer_units(run, _units(run))["units"]
    assert [row["dead"] for row in rows] == [False, False, True, False]
    assert units.answer_top_images(run, _units(run), 2)["dead"] is True


def test_the_selectivity_histogram_counts_every_unit_in_ten_bins(run):
    histogram = units.answer_units(run, _units(run))["selectivity_histogram"]
    assert histogram["edges"] == pytest.approx([i / 10 for i in range(11)])
    # 0, 0 (uniform and dead) in the first bin, 1 in the last, and 2 / (4 + epsilon), just under
    # 0.5, in the fifth.
    assert histogram["counts"] == [2, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_a_unit_that_never_had_a_top_image_has_no_maximum_and_is_not_dead():
    log = FakeLog()
    arrays = data.unit_arrays("head", 2)
    arrays["top_images"] = np.array([[-1, -1, -1], [0, 1, 2], [3, -1, -1]], dtype=np.int32)
    log.add(RUN, summary.units_summary("head", **arrays), 0)
    run = log.run(RUN)
    rows = units.answer_units(run, _units(run, "head", 0))["units"]
    assert rows[0]["max"] == "NaN" and rows[0]["dead"] is False
    top = units.answer_top_images(run, _units(run, "head", 0), 0)
    assert top["images"] == [] and top["sprite"] is None


# ------------------------------------------------------------------------ top images


def test_a_units_top_images_drop_padding_and_keep_boxes_and_positions(run):
    body = units.answer_top_images(run, _units(run), 3)
    expected = data.unit_arrays("stem", 2)
    assert body["images"] == [1, 5] and body["values"] == [2.0, 1.0]
    assert body["positions"] == expected["top_positions"][3, :2].tolist() == [[3, 0], [0, 1]]
    assert body["boxes"] == [[6, 0, 8, 4], [0, 2, 4, 6]]
    assert body["input_shape"] == [8, 8] and body["class_means"] == [3.0, 1.0, 1.0]
    assert body["top_class"] == 0 and body["selectivity"] == pytest.approx(0.5) and body["dead"] is False
    assert body["cell"] == units.DEFAULT_CROP_SIZE
    route, _, query = body["sprite"].partition("?")
    assert route == "top_images_sprite"
    assert dict(parse_qsl(query)) == {"run": RUN, "layer": "stem", "unit": "3", "step": "2"}


def test_a_unit_outside_the_layer_names_the_range(run):
    with pytest.raises(NotFound, match=r"unit 4 outside 0\.\.3 of layer 'stem'"):
        units.answer_top_images(run, _units(run), 4)
    with pytest.raises(NotFound, match=r"unit 3 outside 0\.\.2 of layer 'head'"):
        units.answer_top_images_sprite(run, _units(run, "head"), run.locate(metadata.KIND_CORPUS), 3)


# Thumbnails 8 x 8 of a 16 x 16 input: image 0 grey with a red square at rows 2..5, columns 4..7,
# image 1 grey with a blue square at rows 0..1, columns 0..1 (thumbnail pixels).
GREY, RED, BLUE = (128, 128, 128), (255, 0, 0), (0, 0, 255)


def _squares_log() -> FakeLog:
    thumbnails = np.full((2, 8, 8, 3), GREY, dtype=np.uint8)
    thumbnails[0, 2:6, 4:8] = RED
    thumbnails[1, 0:2, 0:2] = BLUE
    log = FakeLog()
    log.add(RUN, summary.corpus_summary(thumbnails, np.array([0, 1]), ["a", "b"]), 0)
    log.add(
        RUN,
        summary.units_summary(
            "conv",
            top_images=np.array([[0, 1], [1, 0], [0, -1]]),
            top_values=np.array([[2.0, 1.0], [3.0, 1.0], [1.0, 0.0]]),
            top_positions=np.zeros((3, 2, 2), dtype=np.int16),
            # Input pixels: the red square is rows 4..11, columns 8..15; the blue one rows 0..3,
            # columns 0..3. Unit 1's second box covers the red square and the grey beside it;
            # unit 2's box is one input pixel, half a thumbnail pixel, inside the red square.
            top_boxes=np.array(
                [
                    [[4, 8, 12, 16], [0, 0, 4, 4]],
                    [[0, 0, 4, 4], [4, 0, 12, 16]],
                    [[5, 9, 6, 10], [0, 0, 0, 0]],
                ]
            ),
            class_means=np.ones((3, 2)),
            mean=np.ones(3),
            output_shape=[3, 4, 4],
            input_shape=[16, 16],
        ),
        0,
    )
    return log


@pytest.mark.parametrize("size", [8, 48])
def test_a_crop_of_a_known_coloured_square_comes_out_that_colour(size):
    run = _squares_log().run(RUN)
    at, corpus = _units(run, "conv", 0), run.locate(metadata.KIND_CORPUS)
    sprite = pixels(units.answer_top_images_sprite(run, at, corpus, 0, size))
    assert sprite.shape == (size, 2 * size + render.CROP_GAP, 3)
    assert (sprite[:, :size] == RED).all() and (sprite[:, size + 1 :] == BLUE).all()
    assert (sprite[:, size] == render.BACKGROUND).all()
    # In the order of the answer's images: blue then the box around the red square.
    both = pixels(units.answer_top_images_sprite(run, at, corpus, 1, size))
    assert (both[:, :size] == BLUE).all()
    second = both[:, size + 1 :]
    assert (second[:, size // 2 :] == RED).all() and (second[:, : size // 2] == GREY).all()
    # A box smaller than a thumbnail pixel still crops that one pixel.
    tiny = pixels(units.answer_top_images_sprite(run, at, corpus, 2, size))
    assert tiny.shape == (size, size, 3) and (tiny == RED).all()


def test_crops_need_the_corpus_and_its_images():
    log = _squares_log()
    run = log.run(RUN)
    log.add(RUN, summary.corpus_summary(np.zeros((1, 8, 8, 3), np.uint8), np.array([0]), ["a"]), 1)
    fresh = log.run(RUN)
    with pytest.raises(Unreadable, match=r"names images \[1\] outside the corpus of 1"):
        units.answer_top_images_sprite(fresh, _units(fresh, "conv", 0), fresh.locate(metadata.KIND_CORPUS), 0)
    bare = FakeLog()
    bare.add(RUN, summary.units_summary("stem", **data.unit_arrays("stem", 0)), 0)
    with pytest.raises(NotFound, match=f"run {RUN!r} has no corpus records"):
        units.top_images_sprite_route(route_request(bare, run=RUN, layer="stem", unit="0"))
    assert units.answer_top_images(run, _units(run, "conv", 0), 2)["images"] == [0]


# ------------------------------------------------------------------------ history


def test_stability_is_the_jaccard_of_consecutive_top_images_computed_by_hand(run):
    body = units.answer_units_history(run, run.tag(metadata.KIND_UNITS, "stem"))
    assert body["layer"] == "stem" and body["steps"] == [0, 2]
    before, after = data.UNIT_TOP_IMAGES[("stem", True)], data.UNIT_TOP_IMAGES[("stem", False)]
    by_hand = []
    for old, new in zip(before, after):
        a, b = {i for i in old if i >= 0}, {i for i in new if i >= 0}
        by_hand.append(len(a & b) / len(a | b))
    assert by_hand == pytest.approx([0.5, 1.0, 1.0, 1 / 3])
    assert body["stability"][0] == [1.0, 1.0, 1.0, 1.0]
    assert body["stability"][1] == pytest.approx(by_hand, abs=10**-units.HISTORY_DECIMALS)
    assert body["selectivity"] == [[1.0, 0.0, 0.0, 0.5]] * 2
    assert body["median_selectivity"] == pytest.approx([0.25, 0.25]) and body["dead_fraction"] == [0.25, 0.25]


def _shared_memo_request(log: FakeLog, memo: dict, **args: str) -> RouteRequest:
    """A request whose memo outlives it, over a fresh ``LogAccess`` (no record cached)."""

    def remember(key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in memo:
            memo[key] = compute()
        return memo[key]

    return RouteRequest(args, log.experiment(), remember)


def test_the_history_reads_only_the_records_of_new_checkpoints():
    log = small_log()
    memo: dict = {}
    first = units.units_history_route(_shared_memo_request(log, memo, run=RUN, layer="stem"))
    assert first.compute().content_type == "application/json"
    reads = log.blob_reads
    again = units.units_history_route(_shared_memo_request(log, memo, run=RUN, layer="stem"))
    assert again.identity == first.identity
    again.compute()
    assert log.blob_reads == reads  # every checkpoint's summary was kept
    data.checkpoint(log, RUN, 4)
    grown = units.units_history_route(_shared_memo_request(log, memo, run=RUN, layer="stem"))
    assert grown.identity != first.identity
    steps = units.answer_units_history(log.run(RUN), log.run(RUN).tag(metadata.KIND_UNITS, "stem"))["steps"]
    reads = log.blob_reads
    grown.compute()
    assert steps == [0, 2, 4] and log.blob_reads - reads == 2 * 2  # steps 2 and 4, header and body each


def test_a_history_whose_unit_count_changes_is_unreadable():
    log = small_log()
    arrays = data.unit_arrays("head", 4)
    arrays = {name: (value[:2] if isinstance(value, np.ndarray) else value) for name, value in arrays.items()}
    log.add(RUN, summary.units_summary("head", **arrays), 4)
    run = log.run(RUN)
    with pytest.raises(Unreadable, match="deepviz/units/head holds 3 units at step 2 and 2 at step 4"):
        units.answer_units_history(run, run.tag(metadata.KIND_UNITS, "head"))


# ------------------------------------------------------------------------ class pairs


def test_a_unit_active_for_both_classes_ranks_first_and_one_active_for_one_only_is_left_out(run):
    body = units.answer_class_pair_units(run, units.units_at_step(run, None), 0, 2)
    assert body["step"] == 2 and (body["a"], body["b"]) == (0, 2)
    # head 0 [2, 0, 2]: 2 / (4 / 3); head 2 [1.5, 0.2, 1.3]: 1.3 / 1.0; head 1 [4, 0, 0] and the
    # stem's units score 0, 0.6 or exactly 1 (uniform), none above 1.
    assert [(u["layer"], u["unit"]) for u in body["units"]] == [("head", 0), ("head", 2)]
    assert [u["score"] for u in body["units"]] == pytest.approx([1.5, 1.3])
    assert (body["units"][1]["mean_a"], body["units"][1]["mean_b"]) == pytest.approx((1.5, 1.3))
    limited = units.answer_class_pair_units(run, units.units_at_step(run, 0), 2, 0, limit=1)
    assert [(u["layer"], u["unit"]) for u in limited["units"]] == [("head", 0)] and limited["step"] == 0


def test_class_pairs_read_the_layers_of_one_checkpoint_in_the_models_order(run):
    assert [at.info.layer for at in units.units_at_step(run, 2)] == ["stem", "head"]
    with pytest.raises(NotFound, match="has no units records at step 1; steps: 0, 2"):
        units.units_at_step(run, 1)
    with pytest.raises(NotFound, match=r"class b=3 outside 0\.\.2 of layer 'stem'"):
        units.answer_class_pair_units(run, units.units_at_step(run, 2), 0, 3)
    plain = FakeLog()
    plain.add("plain", summary.corpus_summary(np.zeros((1, 4, 4, 3), np.uint8), np.array([0]), ["a"]), 0)
    with pytest.raises(NotFound, match="run 'plain' has no units records"):
        units.units_at_step(plain.run("plain"), None)


# ------------------------------------------------------------------------ records and routes


def test_a_units_record_whose_arrays_do_not_fit_together_is_unreadable():
    log = FakeLog()
    arrays = {
        k: np.asarray(v) for k, v in data.unit_arrays("stem", 0).items() if k not in ("output_shape", "input_shape")
    }
    fields = {"k": 3, "output_shape": [4, 4, 4], "input_shape": [8, 8], "rectified": True}
    bad_boxes = dict(arrays, top_boxes=arrays["top_boxes"][:, :2])
    log.add_record(RUN, 0, metadata.KIND_UNITS, fields, bad_boxes, layer="stem")
    log.add_record(RUN, 1, metadata.KIND_UNITS, fields, dict(arrays, class_means=-arrays["class_means"]), layer="stem")
    log.add_record(RUN, 2, metadata.KIND_UNITS, dict(fields, input_shape=[8]), arrays, layer="stem")
    no_mean = {k: v for k, v in arrays.items() if k != "mean"}
    log.add_record(RUN, 3, metadata.KIND_UNITS, fields, no_mean, layer="stem")
    run = log.run(RUN)
    for step, message in [
        (0, r"top_boxes must have shape \[4, 3, 4\], got \[4, 2, 4\]"),
        (1, "class_means are negative"),
        (2, r"input_shape must be \[H, W\] of positive integers, got \[8\]"),
        (3, "deepviz/units/stem at step 3 lacks mean"),
    ]:
        with pytest.raises(Unreadable, match=message):
            units.answer_units(run, _units(run, step=step))


def test_the_routes_name_their_answers():
    log = small_log()
    reply = units.units_route(route_request(log, run=RUN, layer="stem"))
    assert (
        reply.identity[0] == "units" and reply.identity[4] == 2 and reply.compute().content_type == "application/json"
    )
    top = units.top_images_route(route_request(log, run=RUN, layer="head", unit="1", step="0"))
    assert top.identity[4] == 0 and top.identity[-1] == (1,) and not top.keep
    sprite = units.top_images_sprite_route(route_request(log, run=RUN, layer="stem", unit="0", size="16"))
    assert sprite.identity[0] == "top_images_sprite" and sprite.identity[-1][:2] == (0, 16)
    assert pixels(sprite.compute().body).shape == (16, 3 * 16 + 2, 3)
    pair = units.class_pair_units_route(route_request(log, run=RUN, a="0", b="2"))
    assert pair.identity[3:6] == (0, 2, 10) and [t for t, _, _ in pair.identity[-1]] == [
        "deepviz/units/stem",
        "deepviz/units/head",
    ]


@pytest.mark.parametrize(
    "route, args, error, message",
    [
        (units.units_route, {"run": RUN}, RequestError, "missing required parameter 'layer'"),
        (units.units_route, {"run": RUN, "layer": "fc9"}, NotFound, "no units for layer 'fc9'; layers: head, stem"),
        (units.units_route, {"run": RUN, "layer": "stem", "step": "1"}, NotFound, "has no step 1"),
        (units.units_route, {"run": "nope", "layer": "stem"}, NotFound, "unknown run 'nope'"),
        (units.top_images_route, {"run": RUN, "layer": "stem"}, RequestError, "missing required parameter 'unit'"),
        (
            units.top_images_route,
            {"run": RUN, "layer": "stem", "unit": "-1"},
            RequestError,
            "'unit' must be at least 0",
        ),
        (units.top_images_route, {"run": RUN, "layer": "stem", "unit": "x"}, RequestError, "'unit' must be an integer"),
        (
            units.top_images_sprite_route,
            {"run": RUN, "layer": "stem", "unit": "0", "size": "7"},
            RequestError,
            "'size' must be at least 8",
        ),
        (
            units.top_images_sprite_route,
            {"run": RUN, "layer": "stem", "unit": "0", "size": "257"},
            RequestError,
            "'size' must be at most 256",
        ),
        (units.units_history_route, {"run": RUN}, RequestError, "missing required parameter 'layer'"),
        (units.units_history_route, {"run": RUN, "layer": "fc9"}, NotFound, "layers: head, stem"),
        (units.class_pair_units_route, {"run": RUN, "b": "1"}, RequestError, "missing required parameter 'a'"),
        (units.class_pair_units_route, {"run": RUN, "a": "0", "b": "-2"}, RequestError, "'b' must be at least 0"),
        (
            units.class_pair_units_route,
            {"run": RUN, "a": "0", "b": "1", "limit": "0"},
            RequestError,
            "'limit' must be at least 1",
        ),
        (
            units.class_pair_units_route,
            {"run": RUN, "a": "0", "b": "1", "limit": "101"},
            RequestError,
            "'limit' must be at most 100",
        ),
        (units.class_pair_units_route, {"run": RUN, "a": "0", "b": "1", "step": "3"}, NotFound, "steps: 0, 2"),
    ],
)
def test_every_bad_parameter_is_a_4xx_naming_the_problem(route, args, error, message):
    with pytest.raises(error, match=message):
        route(route_request(small_log(), **args))


@pytest.mark.parametrize(
    "route, args, message",
    [
        (units.top_images_route, {"layer": "stem", "unit": "4"}, r"unit 4 outside 0\.\.3 of layer 'stem'"),
        (units.top_images_sprite_route, {"layer": "head", "unit": "3"}, r"unit 3 outside 0\.\.2 of layer 'head'"),
        (units.class_pair_units_route, {"a": "3", "b": "0"}, r"class a=3 outside 0\.\.2"),
    ],
)
def test_a_unit_or_class_outside_the_records_is_not_found_when_answered(route, args, message):
    reply = route(route_request(small_log(), run=RUN, **args))
    with pytest.raises(NotFound, match=message):
        reply.compute()
