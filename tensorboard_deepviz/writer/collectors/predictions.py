"""Predictions and confusion records: the class probabilities of the probe images, the predicted class
and its confidence for every eval image, and the confusion matrix with the images of every cell.

The logits of each batch are copied to the host as the eval pass produces them (they are
small: ``[N, classes]``); softmax and the confusion matrix are computed in the worker.
"""

from __future__ import annotations

import torch

from ... import summary
from .base import Batch, CheckpointContext, CheckpointSink, Collector, Setup, host_copy


class PredictionsCollector(Collector[list[torch.Tensor]]):
    """Keeps the model's output of every batch; writes the predictions record, then the confusion record."""

    name = "predictions"

    def __init__(self, setup: Setup) -> None:
        self._probe = list(setup.probe_images)
        self._labels = setup.labels.numpy()
        self._num_classes = len(setup.class_names)
        self._logits: list[torch.Tensor] = []

    def begin(self, context: CheckpointContext) -> None:
        self._logits = []

    def on_batch(self, batch: Batch) -> None:
        if batch.logits is None:
            raise ValueError("the model's output holds no tensor")
        self._logits.append(host_copy(batch.logits))

    def finish(self) -> list[torch.Tensor]:
        logits, self._logits = self._logits, []
        return logits

    def combine(self, snapshots: list[list[torch.Tensor]]) -> list[torch.Tensor]:
        return [batch for snapshot in snapshots for batch in snapshot]  # slices in rank order: eval order

    def write(self, snapshot: list[torch.Tensor], sink: CheckpointSink) -> None:
        probabilities = torch.softmax(torch.cat(snapshot).float(), dim=1)
        confidence, predicted = probabilities.max(dim=1)
        sink.add(
            summary.predictions_summary(
                self._probe, probabilities[self._probe].numpy(), predicted.numpy(), confidence.numpy()
            )
        )
        sink.add(summary.confusion_summary(self._labels, predicted.numpy(), self._num_classes))
