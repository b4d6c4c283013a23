"""Helpers for testing a checkpoint's pieces without a whole DeepViz: a setup, an in-memory writer, records."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from tensorboard.compat.proto import summary_pb2
from torch import nn

from tensorboard_deepviz.contract import records
from tensorboard_deepviz.writer.collectors import Setup, Tap
from tensorboard_deepviz.writer.sinks import SummarySink


class MemoryWriter:
    """A writer keeping every summary in memory, in order (anything with ``add_summary`` is a writer).

    With ``fail_on``, adding a summary whose tag contains it raises ``OSError``, as a full disk would.
    """

    def __init__(self, fail_on: str = "") -> None:
        self.summaries: list[tuple[str, int, summary_pb2.Summary]] = []
        self.fail_on = fail_on

    def add_summary(self, summary: summary_pb2.Summary, global_step: Optional[int] = None) -> None:
        tag = summary.value[0].tag
        if self.fail_on and self.fail_on in tag:
            raise OSError(f"disk full while writing {tag}")
        self.summaries.append((tag, int(global_step or 0), summary))

    def flush(self) -> None:
        pass

    def tags(self, step: int) -> list[str]:
        """The tags written at ``step``, in order."""
        return [tag for tag, at, _ in self.summaries if at == step]

    def record(self, tag: str, step: int) -> records.Record:
        """The decoded deepviz record of ``tag`` at ``step`` (the last one written)."""
        found = [summary for t, at, summary in self.summaries if t == tag and at == step]
        if not found:
            raise KeyError(f"no {tag} at step {step}")
        return records.decode_record(list(found[-1].value[0].tensor.string_val))

    def marker_tags(self, step: int) -> list[str]:
        """The tags the checkpoint marker at ``step`` names."""
        return list(self.record("deepviz/checkpoint", step).fields["tags"])


def scalar_summary(tag: str, value: float) -> summary_pb2.Summary:
    """A plain scalar summary: a record of a kind deepviz does not know."""
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])


def memory_sink(fail_on: str = "") -> tuple[SummarySink, MemoryWriter]:
    """A ``SummarySink`` over a fresh ``MemoryWriter``, and that writer."""
    writer = MemoryWriter(fail_on)
    return SummarySink(writer), writer


def make_setup(
    model: nn.Module,
    labels: torch.Tensor,
    *,
    layers: Sequence[str],
    probe_images: Sequence[int],
    num_classes: int,
    cluster_tap: Tap,
    clusters: int = 3,
    max_weight_values: int = 1_000_000,
    **overrides: Any,
) -> Setup:
    """The ``Setup`` DeepViz would resolve for ``model``, given its layers and probe images."""
    modules = dict(model.named_modules())
    fields: dict[str, Any] = dict(
        model=model,
        layers=list(layers),
        layer_modules={name: modules[name] for name in layers},
        probe_images=list(probe_images),
        labels=labels,
        class_names=[str(i) for i in range(num_classes)],
        max_weight_values=max_weight_values,
        cluster_tap=cluster_tap,
        cluster_layer=f"input of {cluster_tap.module}" if cluster_tap.input else cluster_tap.module,
        clusters=clusters,
        cluster_metric="euclidean",
        nearest_per_cluster=5,
    )
    fields.update(overrides)
    return Setup(**fields)
