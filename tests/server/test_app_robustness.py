"""The plugin keeps every checkpoint, survives any query string, live logs and cut-off files."""

from __future__ import annotations

import glob
import os
import threading
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import summary_pb2
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from tensorboard_deepviz import DeepViz, summary
from tensorboard_deepviz.contract import metadata, records
from tensorboard_deepviz.server import routes
from tests.support.logreader import LOADERS
from tests.support.tbapp import PLUGIN_ROOT, tensorboard_app, wait_for, wait_for_checkpoints

# Every route the plugin serves, new ones included.
ROUTES = [route.name for route in routes.ROUTES]


def _tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def _tiny_data(count: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(count, 3, 8, 8, generator=generator), torch.arange(count) % 3


def _write_checkpoints(logdir: str, steps, *, flush_sizes: list | None = None) -> None:
    model = _tiny_model()
    writer = SummaryWriter(logdir)
    with DeepViz(writer, model, _tiny_data(), clusters=3, probe=3) as viz:
        for step in steps:
            viz.log_step(step)
            viz.log_checkpoint(step)
            if flush_sizes is not None:
                viz.flush()
                flush_sizes.append(os.path.getsize(glob.glob(os.path.join(logdir, "events.out.tfevents*"))[0]))
    writer.close()


@pytest.mark.parametrize("loader", LOADERS)
def test_every_one_of_60_checkpoints_is_kept_without_flags(tmp_path, loader):
    _write_checkpoints(str(tmp_path / "long"), range(0, 600, 10))
    with tensorboard_app(str(tmp_path), loader) as client:  # no --samples_per_plugin
        entry = wait_for_checkpoints(client, "long", 60)
        assert entry["checkpoints"] == list(range(0, 600, 10))
        assert entry["statistics_steps"]["count"] == 60
        assert client.json("confusion", run="long", step=0)["step"] == 0


def test_an_explicit_samples_per_plugin_flag_still_wins(tmp_path):
    _write_checkpoints(str(tmp_path / "long"), range(0, 300, 10))
    with tensorboard_app(str(tmp_path), "python", ["--samples_per_plugin", "deepviz=5"]) as client:
        entry = wait_for_checkpoints(client, "long", 5)
        assert len(entry["checkpoints"]) == 5


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("fuzz"))
    _write_checkpoints(os.path.join(logdir, "run"), [0, 5])
    with tensorboard_app(logdir, "python") as client:
        wait_for_checkpoints(client, "run", 2)
        yield client


PARAMETER_NAMES = [
    "run",
    "layer",
    "step",
    "norm",
    "image",
    "filter",
    "filters",
    "index",
    "indices",
    "columns",
    "layers",
    "steps",
    "stat",
    "source",
    "points",
    "examples",
    "unit",
    "size",
    "a",
    "b",
    "limit",
]
PLAUSIBLE_VALUES = st.sampled_from(
    [
        "run",
        "0",
        "1",
        "2",
        "3",
        "5",
        "-1",
        "0:3",
        "3:0",
        ":",
        "0,1,2",
        "1e9",
        "99999999999999999999",
        "",
        "filter",
        "layer",
        "global",
        "channel",
        "mean",
        "nan_count",
        "activations",
        "gradients",
        "NaN",
        "0.5",
        " 1",
        "%00",
        "..",
        "../etc/passwd",
        "<script>",
        ",,,",
        "0:",
        ":4",
        "a:b",
        "\u2603",
    ]
)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    route=st.sampled_from(ROUTES),
    params=st.dictionaries(
        st.one_of(st.sampled_from(PARAMETER_NAMES), st.text(max_size=5)),
        st.one_of(PLAUSIBLE_VALUES, st.text(max_size=12)),
        max_size=6,
    ),
)
def test_no_query_string_gets_a_server_error(fuzz_client, route, params):
    query = dict(params)
    if "layer" in query and query["layer"] == "layer":
        query["layer"] = "0"  # also reach the code behind a valid layer name
    response = fuzz_client.client.get(PLUGIN_ROOT + route, query_string=query)
    assert response.status_code < 500, (route, query, response.get_data(as_text=True))
    if response.status_code >= 400:
        assert "error" in response.get_json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), raw=st.binary(max_size=60))
def test_no_raw_query_bytes_get_a_server_error(fuzz_client, route, raw):
    # WSGI carries the raw query bytes as a latin-1 string.
    response = fuzz_client.client.get(PLUGIN_ROOT + route, environ_overrides={"QUERY_STRING": raw.decode("latin-1")})
    assert response.status_code < 500, (route, raw, response.get_data(as_text=True))


@pytest.mark.parametrize("loader", LOADERS)
def test_a_log_being_written_is_served_without_errors(tmp_path, loader):
    logdir = tmp_path / "live"
    done = threading.Event()
    errors = []

    def train() -> None:
        try:
            model = _tiny_model()
            writer = SummaryWriter(str(logdir), flush_secs=1)
            with DeepViz(writer, model, _tiny_data(), clusters=3, probe=3) as viz:
                for step in range(12):
                    viz.log_step(step)
                    viz.log_checkpoint(step)
                    viz.flush()
                    time.sleep(0.15)
            writer.close()
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            done.set()

    _write_checkpoints(str(tmp_path / "other"), [0])  # so the server has something from the start
    with tensorboard_app(str(tmp_path), loader, ["--reload_interval", "1"]) as client:
        thread = threading.Thread(target=train)
        thread.start()
        statuses = []
        while not done.is_set():
            for route, params in [
                ("index", {}),
                ("confusion", {"run": "live"}),
                ("filters", {"run": "live", "layer": "0"}),
                ("clusters", {"run": "live"}),
                ("dynamics", {"run": "live"}),
            ]:
                statuses.append(client.get(route, **params).status_code)
            time.sleep(0.05)
        thread.join()
        assert not errors
        assert all(status < 500 for status in statuses), statuses
        assert 200 in statuses
        entry = wait_for_checkpoints(client, "live", 12, timeout=30)
        assert entry["checkpoints"] == list(range(12))


@pytest.mark.parametrize("loader", LOADERS)
def test_a_file_cut_off_mid_record_serves_every_complete_checkpoint(tmp_path, loader):
    source = tmp_path / "source"
    sizes: list[int] = []
    _write_checkpoints(str(source), range(6), flush_sizes=sizes)
    event_file = glob.glob(str(source / "events.out.tfevents*"))[0]
    cut = tmp_path / "logs" / "cut"
    cut.mkdir(parents=True)
    # Keep four complete checkpoints and part of the fifth's first record.
    with open(event_file, "rb") as complete, open(cut / os.path.basename(event_file), "wb") as partial:
        partial.write(complete.read(sizes[3] + 37))
    with tensorboard_app(str(tmp_path / "logs"), loader) as client:
        entry = wait_for_checkpoints(client, "cut", 4)
        time.sleep(1.0)  # give the loader time to (not) find more
        entry = client.json("index")["runs"][0]
        assert entry["checkpoints"] == [0, 1, 2, 3]
        for step in range(4):
            assert client.json("confusion", run="cut", step=step)["step"] == step
            assert client.get("filters", run="cut", layer="0", step=step).status_code == 200
        assert client.json("confusion", 404, run="cut", step=4)["error"]


def test_unknown_metadata_version_is_skipped_with_a_warning(tmp_path, caplog):
    _write_checkpoints(str(tmp_path / "run"), [0])
    future = metadata.PluginData(version=metadata.PROTO_VERSION + 1, kind="confusion", layer="").SerializeToString()
    value = summary_pb2.Summary.Value(
        tag="deepviz/from_the_future",
        metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="deepviz", content=future),
            data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        ),
    )
    value.tensor.dtype = 7  # DT_STRING
    value.tensor.tensor_shape.dim.add(size=1)
    value.tensor.string_val.append(records.encode_record({}, {})[0])
    writer = SummaryWriter(str(tmp_path / "run"))
    writer._get_file_writer().add_summary(summary_pb2.Summary(value=[value]), 1)
    writer.close()
    with tensorboard_app(str(tmp_path), "python") as client:
        entry = wait_for_checkpoints(client, "run", 1)
        assert "from_the_future" not in str(entry)
        assert client.json("confusion", run="run")["step"] == 0
    newer = f"record version {metadata.PROTO_VERSION + 1}"
    assert any(newer in message and "upgrade" in message for message in caplog.messages)


def test_a_checkpoint_is_listed_only_once_all_its_records_are_written(tmp_path):
    _write_checkpoints(str(tmp_path / "run"), [0, 1])
    # The next checkpoint has begun: one layer's weights are written, nothing else yet.
    writer = SummaryWriter(str(tmp_path / "run"))
    weights = _tiny_model()[0].weight.detach().numpy()
    writer._get_file_writer().add_summary(summary.weights_summary("0", weights), 2)
    writer.close()
    for loader in LOADERS:
        with tensorboard_app(str(tmp_path), loader) as client:
            entry = wait_for_checkpoints(client, "run", 2)
            entry = wait_for(lambda: client.json("index")["runs"][0], lambda e: e["partial_checkpoints"] == [2])
            assert entry["checkpoints"] == [0, 1]
            assert client.get("filters", run="run", layer="0", step=2).status_code == 200  # still served on request


class _Recorder:
    """A writer that keeps DeepViz's summaries in order, to replay them into a log piece by piece."""

    def __init__(self) -> None:
        self.summaries: list[tuple[summary_pb2.Summary, int]] = []

    def add_summary(self, proto: summary_pb2.Summary, global_step: int) -> None:
        self.summaries.append((proto, global_step))

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("loader", LOADERS)
def test_a_first_checkpoint_is_listed_only_once_its_marker_is_written(tmp_path, loader):
    recorder = _Recorder()
    with DeepViz(recorder, _tiny_model(), _tiny_data(), clusters=3, probe=3) as viz:
        viz.log_checkpoint(0)
    tags = [proto.value[0].tag for proto, _ in recorder.summaries]
    assert tags[-1] == "deepviz/checkpoint"
    # A loader reading the log while the writer is between the checkpoint's weights and its
    # confusion matrix: no tag says so, only the missing marker does.
    cut = tags.index("deepviz/confusion")
    writer = SummaryWriter(str(tmp_path / "run"))
    for proto, step in recorder.summaries[:cut]:
        writer._get_file_writer().add_summary(proto, step)
    writer.flush()
    with tensorboard_app(str(tmp_path), loader, ["--reload_interval", "1"]) as client:
        entry = wait_for(
            lambda: client.json("index")["runs"], lambda runs: runs and runs[0]["partial_checkpoints"] == [0]
        )
        assert entry[0]["checkpoints"] == []
        for proto, step in recorder.summaries[cut:]:
            writer._get_file_writer().add_summary(proto, step)
        writer.flush()
        entry = wait_for_checkpoints(client, "run", 1)
        assert entry["partial_checkpoints"] == []
        assert client.json("confusion", run="run", step=0)["step"] == 0
    writer.close()


def test_checkpoints_added_with_the_summary_functions_after_deepviz_are_listed(tmp_path):
    # DeepViz writes checkpoint 0 (with its marker); later ones come from the low-level API
    # without markers, as the benchmarks' synthesized logs do: a step is complete once every
    # tag the last marker named has reached it.
    recorder = _Recorder()
    with DeepViz(recorder, _tiny_model(), _tiny_data(), clusters=3, probe=3) as viz:
        viz.log_checkpoint(0)
    checkpoint = [
        proto
        for proto, step in recorder.summaries
        if step == 0 and proto.value[0].tag not in ("deepviz/graph", "deepviz/corpus", "deepviz/checkpoint")
    ]
    for run, begun in (("whole", False), ("begun", True)):
        writer = SummaryWriter(str(tmp_path / run))
        file_writer = writer._get_file_writer()
        for proto, step in recorder.summaries:
            file_writer.add_summary(proto, step)
        for proto in checkpoint:
            file_writer.add_summary(proto, 5)
        if begun:  # a later checkpoint begun, not finished
            file_writer.add_summary(next(p for p in checkpoint if p.value[0].tag.startswith("deepviz/weights/")), 10)
        writer.close()
    for loader in LOADERS:
        with tensorboard_app(str(tmp_path), loader) as client:
            whole = wait_for_checkpoints(client, "whole", 2)
            assert whole["checkpoints"] == [0, 5] and whole["partial_checkpoints"] == []
            begun = wait_for_checkpoints(client, "begun", 2)
            assert begun["checkpoints"] == [0, 5] and begun["partial_checkpoints"] == [10]
