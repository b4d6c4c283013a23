"""Weights records: each logged layer's weights at the checkpoint, as float16, capped per layer.

A layer stores its first filters (output units) up to its share: ``Setup.kept_filters`` (the
checkpoint byte budget of a deep model, ``writer.budget``), else as many as
``max_weight_values`` allows. The first ones, so the same units are kept at every checkpoint;
the record's ``total_filters`` says how many the layer has.

Needs no eval pass: the weights are copied (converted to float16 on the device, fewer bytes to
move) when the checkpoint begins, and encoded in the worker.
"""

from __future__ import annotations

import torch

from ... import summary
from .base import CheckpointContext, CheckpointSink, Collector, Setup, host_copy

# Per layer: (host copy of the weights kept, the layer's full number of filters).
WeightsSnapshot = dict[str, tuple[torch.Tensor, int]]


class WeightsCollector(Collector[WeightsSnapshot]):
    """Copies the ``weight`` of every logged layer that has one; writes one weights record per layer.

    A layer with more than ``max_weight_values`` values, or with a share ``kept_filters`` under
    the byte budget, stores its first filters (output units) that fit, at least one, and records
    its full number of filters.
    """

    name = "weights"
    needs_eval_pass = False
    rank_zero_only = True  # every rank holds the same weights

    def __init__(self, setup: Setup) -> None:
        self._layers = {name: module for name, module in setup.layer_modules.items()}
        self._max_values = setup.max_weight_values
        self._kept = dict(setup.kept_filters)
        self._copies: WeightsSnapshot = {}

    def begin(self, context: CheckpointContext) -> None:
        self._copies = {}
        for name, module in self._layers.items():
            weight = getattr(module, "weight", None)
            if isinstance(weight, torch.Tensor) and weight.ndim >= 1:
                keep = self._kept.get(name)
                if keep is None:
                    keep = self._max_values // max(1, weight[0].numel())
                keep = max(1, min(len(weight), keep))
                self._copies[name] = (host_copy(weight[:keep], torch.float16), len(weight))

    def finish(self) -> WeightsSnapshot:
        copies, self._copies = self._copies, {}
        return copies

    def write(self, snapshot: WeightsSnapshot, sink: CheckpointSink) -> None:
        for name, (weights, total_filters) in snapshot.items():
            layer_type = type(self._layers[name]).__name__
            sink.add(summary.weights_summary(name, weights.numpy(), layer_type=layer_type, total_filters=total_filters))
