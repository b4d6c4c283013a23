"""The server's reads of a log: bound to a run, cached, migrated, and NotFound or Unreadable naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata, migrations
from tensorboard_deepviz.server import access
from tensorboard_deepviz.server.errors import NotFound, Unreadable
from tests.server.small_log import RUN, head_weights, small_log
from tests.support.fakelog import FakeLog


def test_an_unknown_run_is_not_found_naming_the_runs():
    log = small_log()
    with pytest.raises(NotFound, match="unknown run 'nope'; runs with deepviz data: run"):
        log.run("nope").tags()
    with pytest.raises(NotFound, match="runs with deepviz data: none"):
        FakeLog().run("nope").tags()


def test_a_missing_layer_or_kind_is_not_found_naming_what_there_is():
    run = small_log().run(RUN)
    with pytest.raises(NotFound, match="run 'run' has no activations for layer 'head'; layers: stem"):
        run.tag(metadata.KIND_ACTIVATIONS, "head")
    empty = FakeLog()
    empty.add("other", summary.layer_statistics_summary("conv", np.zeros((3, 9))), 0)
    with pytest.raises(NotFound, match="run 'other' has no confusion records"):
        empty.run("other").locate(metadata.KIND_CONFUSION)


def test_locate_finds_the_newest_step_or_the_one_named():
    run = small_log(checkpoints=(0, 2, 4)).run(RUN)
    assert run.locate(metadata.KIND_WEIGHTS, "head").step == 4
    at = run.locate(metadata.KIND_WEIGHTS, "head", 2)
    assert at.step == 2 and at.tag == "deepviz/weights/head" and at.run == RUN
    np.testing.assert_array_equal(run.read(at).arrays["weights"], head_weights(2))
    with pytest.raises(NotFound, match="deepviz/weights/head in run 'run' has no step 3; steps: 0, 2, 4"):
        run.locate(metadata.KIND_WEIGHTS, "head", 3)


def test_an_identity_names_route_record_step_and_parameters():
    at = small_log().run(RUN).locate(metadata.KIND_CONFUSION, step=2)
    assert at.identity("confusion", 64) == ("confusion", "", RUN, "deepviz/confusion", 2, at.ref.wall_time, (64,))


def test_records_are_read_once_and_headers_alone_when_asked():
    log = small_log()
    shared = access.LogAccess(log)
    run = log.experiment(shared).for_run(RUN)
    at = run.locate(metadata.KIND_WEIGHTS, "stem")
    run.read(at)
    reads = log.blob_reads
    again = log.experiment(shared).for_run(RUN)  # a later request
    again.read(again.locate(metadata.KIND_WEIGHTS, "stem"))
    assert log.blob_reads == reads
    header = run.read(at, header_only=True)
    assert header.arrays == {} and header.fields["layer_type"] == "Conv2d"
    assert [entry["name"] for entry in header.fields["_arrays"]] == ["weights"]
    assert run.latest(metadata.KIND_CORPUS, header_only=True).fields["class_names"] == ["cat", "dog", "bird"]
    assert run.latest(metadata.KIND_CHECKPOINT) is not None and FakeLog().experiment().listing() == {}


def test_a_cut_off_record_is_unreadable_not_an_internal_error():
    log = small_log()
    log.replace_blob(RUN, "deepviz/weights/stem", 2, 1, b"\x00\x01")
    run = log.run(RUN)
    with pytest.raises(Unreadable, match="deepviz/weights/stem at step 2 in run 'run' is unreadable") as caught:
        run.read(run.locate(metadata.KIND_WEIGHTS, "stem"))
    assert caught.value.status == 422
    run.read(run.locate(metadata.KIND_WEIGHTS, "stem", 0))  # the other checkpoints still read


def test_a_run_keeps_the_tags_it_listed_first_while_the_log_grows(monkeypatch):
    monkeypatch.setattr(access, "LISTING_TTL_SECONDS", 0.0)
    log = small_log()
    shared = access.LogAccess(log)
    run = log.experiment(shared).for_run(RUN)
    assert run.locate(metadata.KIND_CONFUSION).step == 2
    log.add(RUN, summary.confusion_summary(np.zeros(6, dtype=int), np.zeros(6, dtype=int), 3), 4)
    assert run.locate(metadata.KIND_CONFUSION).step == 2  # one request sees one listing
    assert log.experiment(shared).for_run(RUN).locate(metadata.KIND_CONFUSION).step == 4


def test_records_of_an_older_version_are_migrated_before_any_route_sees_them(monkeypatch):
    log = small_log()  # written as this version, which a later reader sees as an older one
    written_as = metadata.PROTO_VERSION
    seen = []

    def rename_layer_type(kind, value):
        seen.append(kind)
        if kind == metadata.KIND_WEIGHTS:
            value.fields["module_type"] = value.fields.pop("layer_type")
        return value

    monkeypatch.setattr(metadata, "PROTO_VERSION", written_as + 1)
    monkeypatch.setitem(migrations.MIGRATIONS, written_as, rename_layer_type)
    run = log.run(RUN)
    assert run.tag(metadata.KIND_WEIGHTS, "stem").version == written_as
    assert run.read(run.locate(metadata.KIND_WEIGHTS, "stem")).fields["module_type"] == "Conv2d"
    statistics = run.statistics([run.tag(metadata.KIND_STATISTICS, "stem")])["stem"]
    assert len(statistics) == 3 and metadata.KIND_STATISTICS in seen


def test_statistics_are_rows_per_layer_in_step_order():
    run = small_log().run(RUN)
    infos = [run.tag(metadata.KIND_STATISTICS, "head"), run.tag(metadata.KIND_STATISTICS, "stem")]
    series = run.statistics(infos)
    assert list(series) == ["head", "stem"]
    assert [step for step, _ in series["stem"]] == [0, 1, 2]
    assert series["stem"][0][1].shape == (len(metadata.STATISTIC_SOURCES), len(metadata.STATISTIC_NAMES))
    assert run.statistics([]) == {}


def test_version_1_statistics_are_read_with_the_columns_version_2_added_as_nan():
    log = FakeLog()
    rows_v1 = np.arange(27, dtype=np.float64).reshape(3, 9) + 1.0
    value = summary_pb2.Summary.Value(
        tag=metadata.tag_for(metadata.KIND_STATISTICS, "stem"),
        metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME,
                content=metadata.PluginData(version=1, kind="statistics", layer="stem").SerializeToString(),
            ),
            data_class=summary_pb2.DATA_CLASS_TENSOR,
        ),
        tensor=tensor_util.make_tensor_proto(rows_v1),
    )
    log.add("old", summary_pb2.Summary(value=[value]), 5)
    run = log.run("old")
    ((step, rows),) = run.statistics([run.tag(metadata.KIND_STATISTICS, "stem")])["stem"]
    assert step == 5 and rows.shape == (3, len(metadata.STATISTIC_NAMES))
    np.testing.assert_array_equal(rows[:, :9], rows_v1)
    assert np.isnan(rows[:, 9:]).all()
