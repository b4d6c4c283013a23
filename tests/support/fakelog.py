"""An in-memory log served through TensorBoard's ``DataProvider`` interface, for tests without event files.

``FakeLog.add(run, summary, step)`` takes the ``Summary`` protos that ``tensorboard_deepviz.summary``
makes (what DeepViz writes), and the log answers the provider calls the server's ``LogAccess``
makes: listing tags, reading blob sequences, blobs and tensors. No TensorBoard app, no loader,
no torch: the server's access, index and routes run on it as they do on a real log.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np
from tensorboard import context as tb_context
from tensorboard.compat.proto import summary_pb2
from tensorboard.data import provider
from tensorboard.util import tensor_util

from tensorboard_deepviz.contract import metadata, records
from tensorboard_deepviz.server.access import ExperimentAccess, LogAccess, RunAccess


@dataclasses.dataclass
class _Series:
    plugin_name: str
    plugin_content: bytes
    data_class: int
    # (step, wall time, blob keys or a tensor's array)
    data: list[tuple[int, float, Any]] = dataclasses.field(default_factory=list)


class FakeLog:
    """Summaries kept in memory, in the order added, and served as a ``DataProvider`` would."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, _Series]] = {}
        self._blobs: dict[str, bytes] = {}
        self._wall_time = 1_000.0
        self.blob_reads = 0

    # --------------------------------------------------------------- writing

    def add(self, run: str, summary: summary_pb2.Summary, step: int) -> None:
        """Append every value of ``summary`` at ``step``; a tag keeps the metadata of its first value."""
        for value in summary.value:
            tags = self._runs.setdefault(run, {})
            series = tags.get(value.tag)
            if series is None:
                plugin_data = value.metadata.plugin_data
                series = _Series(plugin_data.plugin_name, plugin_data.content, value.metadata.data_class)
                tags[value.tag] = series
            self._wall_time += 1.0
            if series.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE:
                keys = []
                for index, blob in enumerate(value.tensor.string_val):
                    key = f"{run}/{value.tag}/{step}/{len(series.data)}/{index}"
                    self._blobs[key] = bytes(blob)
                    keys.append(key)
                series.data.append((step, self._wall_time, tuple(keys)))
            else:
                series.data.append((step, self._wall_time, tensor_util.make_ndarray(value.tensor)))

    def add_record(
        self,
        run: str,
        step: int,
        kind: str,
        fields: dict[str, Any],
        arrays: dict[str, np.ndarray],
        layer: str = "",
    ) -> None:
        """Append a blob-sequence record made directly from fields and arrays (one the summary functions would refuse)."""
        value = summary_pb2.Summary.Value(
            tag=metadata.tag_for(kind, layer), metadata=metadata.create_summary_metadata(kind, layer)
        )
        value.tensor.dtype = 7  # DT_STRING
        blobs = records.encode_record(fields, arrays)
        value.tensor.tensor_shape.dim.add(size=len(blobs))
        value.tensor.string_val.extend(blobs)
        self.add(run, summary_pb2.Summary(value=[value]), step)

    def replace_blob(self, run: str, tag: str, step: int, index: int, blob: bytes) -> None:
        """Overwrite blob ``index`` of the record at ``step`` (e.g. to cut a record off)."""
        for data_step, _, keys in self._runs[run][tag].data:
            if data_step == step:
                self._blobs[keys[index]] = blob
                return
        raise KeyError(f"{run}/{tag} has no step {step}")

    # --------------------------------------------------------------- reading through the server

    def experiment(self, log_access: Optional[LogAccess] = None) -> ExperimentAccess:
        """A fresh ``LogAccess`` (or the given one) over this log, bound as a request would bind it."""
        return (log_access or LogAccess(self)).for_experiment(tb_context.RequestContext(), "")

    def run(self, name: str) -> RunAccess:
        """The server's reads of one run of this log."""
        return self.experiment().for_run(name)

    # --------------------------------------------------------------- DataProvider

    def _matching(self, plugin_name: str, data_class: int, run_tag_filter: Optional[provider.RunTagFilter]):
        runs = run_tag_filter.runs if run_tag_filter is not None else None
        tags = run_tag_filter.tags if run_tag_filter is not None else None
        for run, run_series in self._runs.items():
            if runs is not None and run not in runs:
                continue
            for tag, series in run_series.items():
                if (
                    (tags is None or tag in tags)
                    and series.plugin_name == plugin_name
                    and series.data_class == data_class
                ):
                    yield run, tag, series

    def list_blob_sequences(
        self, ctx: Any, *, experiment_id: str, plugin_name: str, run_tag_filter: Any = None
    ) -> dict[str, dict[str, provider.BlobSequenceTimeSeries]]:
        result: dict[str, dict[str, provider.BlobSequenceTimeSeries]] = {}
        for run, tag, series in self._matching(plugin_name, summary_pb2.DATA_CLASS_BLOB_SEQUENCE, run_tag_filter):
            result.setdefault(run, {})[tag] = provider.BlobSequenceTimeSeries(
                max_step=max(step for step, _, _ in series.data),
                max_wall_time=max(wall for _, wall, _ in series.data),
                max_length=max(len(keys) for _, _, keys in series.data),
                plugin_content=series.plugin_content,
                description="",
                display_name="",
            )
        return result

    def read_blob_sequences(
        self, ctx: Any, *, experiment_id: str, plugin_name: str, downsample: Any = None, run_tag_filter: Any = None
    ) -> dict[str, dict[str, list[provider.BlobSequenceDatum]]]:
        result: dict[str, dict[str, list[provider.BlobSequenceDatum]]] = {}
        for run, tag, series in self._matching(plugin_name, summary_pb2.DATA_CLASS_BLOB_SEQUENCE, run_tag_filter):
            result.setdefault(run, {})[tag] = [
                provider.BlobSequenceDatum(step, wall, tuple(provider.BlobReference(key) for key in keys))
                for step, wall, keys in series.data
            ]
        return result

    def read_blob(self, ctx: Any, *, blob_key: str) -> bytes:
        self.blob_reads += 1
        return self._blobs[blob_key]

    def list_tensors(
        self, ctx: Any, *, experiment_id: str, plugin_name: str, run_tag_filter: Any = None
    ) -> dict[str, dict[str, provider.TensorTimeSeries]]:
        result: dict[str, dict[str, provider.TensorTimeSeries]] = {}
        for run, tag, series in self._matching(plugin_name, summary_pb2.DATA_CLASS_TENSOR, run_tag_filter):
            result.setdefault(run, {})[tag] = provider.TensorTimeSeries(
                max_step=max(step for step, _, _ in series.data),
                max_wall_time=max(wall for _, wall, _ in series.data),
                plugin_content=series.plugin_content,
                description="",
                display_name="",
            )
        return result

    def read_tensors(
        self, ctx: Any, *, experiment_id: str, plugin_name: str, downsample: Any = None, run_tag_filter: Any = None
    ) -> dict[str, dict[str, list[provider.TensorDatum]]]:
        result: dict[str, dict[str, list[provider.TensorDatum]]] = {}
        for run, tag, series in self._matching(plugin_name, summary_pb2.DATA_CLASS_TENSOR, run_tag_filter):
            result.setdefault(run, {})[tag] = [
                provider.TensorDatum(step, wall, np.asarray(array)) for step, wall, array in series.data
            ]
        return result
