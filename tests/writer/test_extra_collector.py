"""A record kind is added by registering a collector: this file's toy one is written by an unchanged DeepViz."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from tensorboard_deepviz import DeepViz, DeepVizError
from tensorboard_deepviz.writer import collectors
from tensorboard_deepviz.writer.collectors import Batch, CheckpointContext, CheckpointSink, Collector, Setup, host_copy
from tests.support.checkpoints import MemoryWriter
from tests.support.models import SmallResNet, make_images

TOY_TAG = "toy/correct_per_class"


class CorrectPerClass(Collector[torch.Tensor]):
    """Counts, per class, the eval images the model gets right: reduced on the device batch by batch."""

    name = "correct per class"

    def __init__(self, setup: Setup) -> None:
        self._num_classes = len(setup.class_names)
        self._counts = torch.zeros(0)

    def begin(self, context: CheckpointContext) -> None:
        self._counts = torch.zeros(self._num_classes, dtype=torch.int64, device=context.device)

    def on_batch(self, batch: Batch) -> None:
        assert batch.logits is not None
        right = batch.logits.argmax(dim=1) == batch.labels
        self._counts += torch.bincount(batch.labels[right], minlength=self._num_classes)

    def finish(self) -> torch.Tensor:
        return host_copy(self._counts)

    def write(self, snapshot: torch.Tensor, sink: CheckpointSink) -> None:
        value = summary_pb2.Summary.Value(tag=TOY_TAG, tensor=tensor_util.make_tensor_proto(snapshot.numpy()))
        sink.add(summary_pb2.Summary(value=[value]))


class Broken(CorrectPerClass):
    name = "broken"

    def write(self, snapshot: torch.Tensor, sink: CheckpointSink) -> None:
        raise ValueError("no such record kind yet")


def _checkpoint(model: SmallResNet, images: torch.Tensor, labels: torch.Tensor, writer: MemoryWriter) -> DeepViz:
    viz = DeepViz(writer, model, (images, labels), clusters=2, batch_size=7)
    viz.log_checkpoint(3)
    viz.flush()
    return viz


def test_a_registered_collector_writes_its_record_in_the_checkpoint(monkeypatch):
    monkeypatch.setattr(collectors, "COLLECTORS", [*collectors.COLLECTORS, CorrectPerClass])
    torch.manual_seed(0)
    model = SmallResNet()
    images, labels = make_images(30)
    writer = MemoryWriter()
    _checkpoint(model, images, labels, writer).close()
    tags = writer.tags(3)
    assert tags[-2:] == [TOY_TAG, "deepviz/checkpoint"]
    assert TOY_TAG in writer.marker_tags(3) and "deepviz/clusters" in writer.marker_tags(3)
    logged = next(tensor_util.make_ndarray(s.value[0].tensor) for tag, _, s in writer.summaries if tag == TOY_TAG)
    with torch.no_grad():
        predicted = model.eval()(images).argmax(dim=1)
    expected = np.bincount(labels[predicted == labels].numpy(), minlength=4)
    np.testing.assert_array_equal(logged, expected)


def test_a_registered_collector_that_fails_is_reported_and_the_others_are_written(monkeypatch):
    monkeypatch.setattr(collectors, "COLLECTORS", [Broken, *collectors.COLLECTORS])
    writer = MemoryWriter()
    images, labels = make_images(16)
    with pytest.warns(RuntimeWarning, match=r"writing checkpoint 3 failed \(broken\).*no such record kind"):
        viz = _checkpoint(SmallResNet(), images, labels, writer)
    marker = writer.marker_tags(3)
    assert marker == writer.tags(3)[:-1]
    assert {"deepviz/weights/stem.0", "deepviz/predictions", "deepviz/clusters"} <= set(marker)
    with pytest.raises(DeepVizError, match=r"1 record\(s\); the first, checkpoint 3 \(broken\)"):
        viz.close()
