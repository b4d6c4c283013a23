"""A run's summary, and the rules by which a checkpoint is listed only once all its records are written."""

from __future__ import annotations

import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata, records
from tensorboard_deepviz.server import index
from tensorboard_deepviz.server.index import Markers, complete_steps
from tests.server import small_log as data
from tests.server.small_log import RUN, head_weights, small_log
from tests.support.fakelog import FakeLog

CHECKPOINT_TAGS = ["deepviz/weights/conv", "deepviz/confusion"]


def _steps(rule, steps=range(8)) -> list[int]:
    return [step for step in steps if rule(step)]


def test_without_markers_a_step_is_complete_once_every_checkpoint_tag_reached_it():
    rule = complete_steps(
        {"deepviz/weights/conv": 5, "deepviz/confusion": 3, "deepviz/graph": 0}, CHECKPOINT_TAGS, None
    )
    assert _steps(rule) == [0, 1, 2, 3]
    assert _steps(complete_steps({"deepviz/graph": 0}, [], None)) == []


def test_with_markers_a_marked_step_or_any_step_before_the_newest_is_complete():
    max_steps = {"deepviz/weights/conv": 6, "deepviz/confusion": 4, "deepviz/checkpoint": 4}
    rule = complete_steps(max_steps, CHECKPOINT_TAGS, Markers(frozenset({0, 4}), tuple(CHECKPOINT_TAGS)))
    # Step 6 has begun (its weights are written) but has no marker and lacks its confusion.
    assert rule(4) and rule(5) and not rule(6)


def test_a_step_without_its_marker_is_complete_once_every_tag_the_last_marker_named_reached_it():
    max_steps = {"deepviz/weights/conv": 6, "deepviz/confusion": 6, "deepviz/checkpoint": 4}
    assert complete_steps(max_steps, CHECKPOINT_TAGS, Markers(frozenset({4}), tuple(CHECKPOINT_TAGS)))(6)
    # An unreadable marker names nothing: only the marker and later-step rules remain.
    assert not complete_steps(max_steps, CHECKPOINT_TAGS, Markers(frozenset({4}), ()))(6)


def test_a_log_announcing_markers_lists_nothing_newest_before_its_first_marker():
    rule = complete_steps({"deepviz/graph": 0, "deepviz/weights/conv": 0}, CHECKPOINT_TAGS, Markers(frozenset(), ()))
    assert not rule(0)


def test_a_begun_checkpoint_is_partial_until_its_marker_arrives():
    log = small_log()
    log.add(RUN, summary.weights_summary("head", head_weights(4)), 4)
    entry = index.summarize_run(log.run(RUN))
    assert entry["checkpoints"] == [0, 2] and entry["partial_checkpoints"] == [4]
    tags = data.checkpoint(FakeLog(), RUN, 4, marker=False)
    log.add(RUN, summary.checkpoint_summary(tags), 4)
    assert index.summarize_run(log.run(RUN))["checkpoints"] == [0, 2, 4]


def test_checkpoints_added_without_markers_after_deepviz_are_listed_once_every_named_tag_reached_them():
    log = small_log()
    data.checkpoint(log, RUN, 5, marker=False)  # the summary functions alone: no marker
    entry = index.summarize_run(log.run(RUN))
    assert entry["checkpoints"] == [0, 2, 5] and entry["partial_checkpoints"] == []


def test_an_unreadable_marker_is_ignored():
    log = small_log()
    log.replace_blob(RUN, "deepviz/checkpoint", 2, 0, b"not json")
    data.checkpoint(log, RUN, 5, marker=False)
    entry = index.summarize_run(log.run(RUN))
    assert entry["checkpoints"] == [0, 2] and entry["partial_checkpoints"] == [5]


def test_a_log_without_markers_lists_a_step_once_every_checkpoint_tag_reached_it():
    log = small_log(markers=False)
    log.add(RUN, summary.weights_summary("head", head_weights(4)), 4)
    entry = index.summarize_run(log.run(RUN))
    assert entry["checkpoints"] == [0, 2] and entry["partial_checkpoints"] == [4]


def test_read_markers_reports_the_steps_and_the_tags_the_newest_named():
    run = small_log(checkpoints=(0, 2, 4)).run(RUN)
    markers = index.read_markers(run, announced=True)
    assert markers.steps == {0, 2, 4} and "deepviz/confusion" in markers.expected_tags
    unmarked = small_log(markers=False).run(RUN)
    assert index.read_markers(unmarked, announced=False) is None
    assert index.read_markers(unmarked, announced=True) == Markers(frozenset(), ())


def test_layers_follow_the_logged_order_then_the_others_by_name():
    tags = small_log().run(RUN).tags()
    graph = records.Record(fields={"logged_layers": ["stem", "gone", "head"]}, arrays={})
    assert index.layer_order(tags, graph) == ["stem", "head"]
    assert index.layer_order(tags, None) == ["head", "stem"]
    partial = records.Record(fields={"logged_layers": ["head"]}, arrays={})
    assert index.layer_order(tags, partial) == ["head", "stem"]


def test_a_run_summary_describes_layers_checkpoints_and_the_eval_set():
    entry = index.summarize_run(small_log().run(RUN))
    assert [layer["name"] for layer in entry["layers"]] == ["stem", "head"]
    stem, head = entry["layers"]
    assert stem == {
        "name": "stem",
        "kind": "Conv2d",
        "output_shape": [1, 4, 4, 4],
        "parameter_shapes": {"weight": [4, 3, 3, 3]},
        "has_weights": True,
        "has_activations": True,
        "has_statistics": True,
        "has_units": True,
        "has_attribution": True,
        "has_feature_vis": False,
    }
    assert head["has_activations"] is False and head["has_units"] is True and head["has_attribution"] is False
    assert entry["steps_by_kind"][metadata.KIND_CONFUSION] == [0, 2]
    # Units and Grad-CAM steps are listed too (they may be off, or come at some checkpoints only).
    assert entry["steps_by_kind"][metadata.KIND_UNITS] == [0, 2]
    assert entry["steps_by_kind"][metadata.KIND_ATTRIBUTION] == [0, 2]
    assert entry["statistics_steps"] == {"count": 3, "first": 0, "last": 2}
    assert entry["class_names"] == ["cat", "dog", "bird"] and entry["corpus_size"] == 6
    assert entry["thumbnail_shape"] == [4, 4, 3] and entry["cluster_layer"] == "head"
    # No feature visualization rendered in it; written with the summary functions, without similarity records.
    assert set(entry["kinds"]) == set(metadata.KINDS) - {metadata.KIND_FEATURE_VIS, metadata.KIND_SIMILARITY}


def test_a_run_with_statistics_only_has_no_checkpoints_and_no_eval_set():
    log = FakeLog()
    log.add("stats", summary.layer_statistics_summary("conv", data.statistics(0)), 0)
    entry = index.summarize_run(log.run("stats"))
    assert entry["checkpoints"] == [] and entry["layers"][0]["name"] == "conv"
    assert entry["class_names"] == [] and entry["corpus_size"] == 0 and entry["thumbnail_shape"] == [0, 0, 0]


@pytest.mark.parametrize("kind", index.CHECKPOINT_KINDS)
def test_every_checkpoint_kind_is_one_the_contract_knows(kind):
    assert kind in metadata.KINDS


def test_the_steps_of_a_kind_rendered_per_layer_are_the_union_of_its_layers():
    log = small_log(checkpoints=(0, 2))
    log.add_record(RUN, 0, metadata.KIND_FEATURE_VIS, {"method": "fourier"}, {}, "stem")
    log.add_record(RUN, 2, metadata.KIND_FEATURE_VIS, {"method": "fourier"}, {}, "head")
    entry = index.summarize_run(log.run(RUN))
    assert entry["steps_by_kind"][metadata.KIND_FEATURE_VIS] == [0, 2]
