"""Reads deepviz logs back through TensorBoard's own data providers (Python loader and Rust data server)."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

import numpy as np
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_ingester, plugin_event_multiplexer
from tensorboard.backend.event_processing import data_provider as multiplexer_provider
from tensorboard.data import provider as tb_provider
from tensorboard.data import server_ingester
from tensorboard.util import grpc_util

from tensorboard_deepviz.contract import metadata, records

LOADERS = ("python", "rust")


class LogReader:
    """Typed access to the deepviz records of one log directory through a ``DataProvider``."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.ctx = tb_context.RequestContext()

    def runs(self) -> list[str]:
        return sorted(run.run_name for run in self.provider.list_runs(self.ctx, experiment_id=""))

    def blob_tags(self, run: str) -> dict[str, metadata.RecordInfo]:
        listing = self.provider.list_blob_sequences(self.ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME)
        return {
            tag: metadata.parse_plugin_metadata(series.plugin_content) for tag, series in listing.get(run, {}).items()
        }

    def tensor_tags(self, run: str) -> dict[str, metadata.RecordInfo]:
        listing = self.provider.list_tensors(self.ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME)
        return {
            tag: metadata.parse_plugin_metadata(series.plugin_content) for tag, series in listing.get(run, {}).items()
        }

    def record_steps(self, run: str, tag: str) -> list[int]:
        data = self._blob_sequences(run, tag)
        return [datum.step for datum in data]

    def record(self, run: str, tag: str, step: int) -> records.Record:
        for datum in self._blob_sequences(run, tag):
            if datum.step == step:
                blobs = [self.provider.read_blob(self.ctx, blob_key=ref.blob_key) for ref in datum.values]
                return records.decode_record(blobs)
        raise KeyError(f"no step {step} for {tag}")

    def statistics(self, run: str, layer: str) -> dict[int, np.ndarray]:
        return self.tensors(run, metadata.tag_for(metadata.KIND_STATISTICS, layer))

    def tensors(self, run: str, tag: str) -> dict[int, np.ndarray]:
        """``{step: value}`` of a tensor tag (layer statistics, input statistics, the loss)."""
        result = self.provider.read_tensors(
            self.ctx,
            experiment_id="",
            plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=tb_provider.RunTagFilter(runs=[run], tags=[tag]),
            downsample=1_000_000,
        )
        return {datum.step: datum.numpy for datum in result[run][tag]}

    def _blob_sequences(self, run: str, tag: str) -> list[Any]:
        result = self.provider.read_blob_sequences(
            self.ctx,
            experiment_id="",
            plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=tb_provider.RunTagFilter(runs=[run], tags=[tag]),
            downsample=1_000_000,
        )
        return result[run][tag]


def _wait_until_loaded(reader: LogReader, timeout: float = 60.0) -> None:
    """The data server answers while it still loads: wait until what it lists stops changing."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        listing = reader.provider.list_blob_sequences(reader.ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME)
        tensors = reader.provider.list_tensors(reader.ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME)
        current = (
            sorted((run, tag, s.max_step, s.max_length) for run, tags in listing.items() for tag, s in tags.items()),
            sorted((run, tag, s.max_step) for run, tags in tensors.items() for tag, s in tags.items()),
        )
        if current == previous and (current[0] or current[1]):
            return
        previous = current
        time.sleep(0.3)


@contextlib.contextmanager
def open_logs(logdir: str, loader: str, samples_per_plugin: dict[str, int] | None = None) -> Iterator[LogReader]:
    """A ``LogReader`` over ``logdir`` using TensorBoard's ``loader`` ("python" or "rust").

    ``samples_per_plugin`` defaults to keeping every deepviz step, as the plugin's loader does.
    """
    samples = {metadata.PLUGIN_NAME: 0} if samples_per_plugin is None else samples_per_plugin
    if loader == "python":
        multiplexer = plugin_event_multiplexer.EventMultiplexer(
            size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE,
            tensor_size_guidance=samples,
        )
        multiplexer.AddRunsFromDirectory(logdir)
        multiplexer.Reload()
        yield LogReader(multiplexer_provider.MultiplexerDataProvider(multiplexer, logdir))
    elif loader == "rust":
        ingester = server_ingester.SubprocessServerDataIngester(
            server_ingester.get_server_binary(),
            logdir,
            reload_interval=0,  # load once, completely, before answering
            channel_creds_type=grpc_util.ChannelCredsType.LOCAL,
            samples_per_plugin=samples,
        )
        ingester.start()
        try:
            reader = LogReader(ingester.data_provider)
            _wait_until_loaded(reader)
            yield reader
        finally:
            ingester._stdin_handle.close()  # the server exits when its stdin closes
    else:
        raise ValueError(f"unknown loader {loader!r}")
