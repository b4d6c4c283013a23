"""Similarity records: per logged layer, what linear CKA with any other layer (of this run or another) needs.

Over a fixed sample of eval images (``analysis.similarity.sample_indices``: evenly spread, the
same in every run of an eval set of the same size), each logged layer's output is reduced to one
feature vector per image: a convolution's channels averaged over positions, a linear layer's
outputs as they are. The sampled rows are picked and pooled on the device as the eval pass
produces each layer's output; ``finish`` centers them and keeps, per layer, whichever is smaller:
the centered features ``[n, p]`` or the upper triangle of their ``[n, n]`` Gram matrix (float32,
scaled to a largest magnitude of 1); all layers' values leave the device in one host copy. In the
worker, ``summary.similarity_summary`` stores the fewest values that give each Gram (float16).

Under torch.distributed each rank holds the sampled rows of its own slice: it hands them over
raw, and the worker computes the statistics from the rows every rank sent.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
from typing import Optional

import torch

from ... import summary
from ...analysis import similarity
from .base import Batch, CheckpointContext, CheckpointSink, Collector, Setup, Tap, to_host


@dataclasses.dataclass
class SimilaritySnapshot:
    """What ``write`` needs: the sample and each layer's statistic (or, from several ranks, its raw rows).

    Attributes:
      images: the sampled eval indices.
      values: the complete layers' statistics, one after another, in one float32 host tensor.
      complete: ``(layer, shape)`` of each statistic in ``values``, in that order.
      partial: per layer, ``(position of the first row in the sample, rows [m, p])`` pieces of
        pooled features, from ranks that each saw part of the sample.
    """

    images: list[int]
    values: Optional[torch.Tensor] = None
    complete: list[tuple[str, tuple[int, ...]]] = dataclasses.field(default_factory=list)
    partial: dict[str, list[tuple[int, torch.Tensor]]] = dataclasses.field(default_factory=dict)


def layer_statistic(features: torch.Tensor) -> torch.Tensor:
    """A layer's stored statistic from its pooled features ``[n, p]``, on their device.

    Returns the centered features ``[n, p]`` when they are no more values than the Gram's upper
    triangle, else that triangle ``[n (n + 1) / 2]`` (row by row), scaled to a largest magnitude
    of 1, float32. NaN or Inf in the features give NaN (``summary`` records the layer as
    non-finite); features constant over the images give zeros.
    """
    n, width = features.shape
    x = features.float()
    x = x - x.mean(dim=0, keepdim=True)
    # Scaled before the product, so that large activations cannot overflow the Gram in float32.
    x = x / x.abs().amax().clamp_min(torch.finfo(torch.float32).tiny)
    if similarity.stores_features(n, width):
        values = x
    else:
        rows, cols = torch.triu_indices(n, n, device=x.device)
        values = (x @ x.T)[rows, cols]
    return values / values.abs().amax().clamp_min(torch.finfo(torch.float32).tiny)


def _no_autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """A context without autocast on ``device`` (where torch has autocast for it)."""
    if device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


class SimilarityCollector(Collector[SimilaritySnapshot]):
    """Taps the logged layers (those the byte budget keeps); writes one similarity record per checkpoint (none when ``similarity_images`` is 0)."""

    name = "similarity"

    def __init__(self, setup: Setup) -> None:
        # Every logged layer, or those the checkpoint byte budget keeps for a deep model.
        self._layers = list(setup.layers if setup.similarity_layers is None else setup.similarity_layers)
        self._images = similarity.sample_indices(len(setup.labels), setup.similarity_images).tolist()
        self._sample: Optional[torch.Tensor] = None
        self._rows: dict[str, torch.Tensor] = {}  # per layer, [n, p] pooled features on the device
        self._spans: dict[str, tuple[int, int, int]] = {}  # per layer: first and end position filled, rows filled
        self._batch: Optional[tuple[Batch, int, int, Optional[torch.Tensor]]] = None

    def due(self, step: int) -> bool:
        return len(self._images) >= 2  # CKA centers over the images: one image says nothing

    def taps(self) -> list[Tap]:
        return [Tap(layer) for layer in self._layers]

    def begin(self, context: CheckpointContext) -> None:
        self._sample = torch.tensor(self._images, dtype=torch.long, device=context.device)
        self._rows, self._spans, self._batch = {}, {}, None

    def _sampled(self, batch: Batch) -> tuple[int, int, Optional[torch.Tensor]]:
        """Positions ``[lo, hi)`` of the sample in this batch, and their rows in it (computed once per batch)."""
        if self._batch is None or self._batch[0] is not batch:
            indices = batch.indices
            if indices.step != 1:
                raise ValueError(f"eval batches must be contiguous ranges, got {indices}")
            lo = bisect.bisect_left(self._images, indices.start)
            hi = bisect.bisect_left(self._images, indices.stop)
            assert self._sample is not None
            rows = self._sample[lo:hi] - indices.start if hi > lo else None
            self._batch = (batch, lo, hi, rows)
        _, lo, hi, rows = self._batch
        return lo, hi, rows

    def on_tap(self, batch: Batch, tap: Tap, tensor: torch.Tensor) -> None:
        lo, hi, rows = self._sampled(batch)
        if rows is None:
            return
        picked = tensor.index_select(0, rows)
        # A convolution's channels averaged over positions; a linear layer's outputs as they are.
        pooled = picked.reshape(hi - lo, picked.shape[1], -1).float().mean(dim=2) if picked.ndim > 2 else picked
        pooled = pooled.reshape(hi - lo, -1)
        buffer = self._rows.get(tap.module)
        if buffer is None:
            buffer = self._rows[tap.module] = pooled.new_zeros(
                (len(self._images), pooled.shape[1]), dtype=torch.float32
            )
        elif buffer.shape[1] != pooled.shape[1]:
            raise ValueError(f"layer {tap.module!r} output {pooled.shape[1]} features, earlier {buffer.shape[1]}")
        buffer[lo:hi] = pooled
        first, end, filled = self._spans.get(tap.module, (lo, hi, 0))
        self._spans[tap.module] = (min(first, lo), max(end, hi), filled + hi - lo)

    def finish(self) -> SimilaritySnapshot:
        device = self._sample.device if self._sample is not None else torch.device("cpu")
        # In float32 whatever autocast the training loop runs under.
        with _no_autocast(device):
            return self._finish()

    def _finish(self) -> SimilaritySnapshot:
        snapshot = SimilaritySnapshot(images=list(self._images))
        statistics = []
        for layer in self._layers:
            if layer not in self._rows:
                continue  # the layer did not run on the sampled images
            first, end, filled = self._spans[layer]
            if filled == len(self._images):
                statistic = layer_statistic(self._rows[layer])
                statistics.append(statistic.reshape(-1))
                snapshot.complete.append((layer, tuple(statistic.shape)))
            else:  # part of the sample, under torch.distributed: the worker computes it from every rank's rows
                snapshot.partial[layer] = [(first, to_host(self._rows[layer][first:end].clone()))]
        if statistics:
            snapshot.values = to_host(torch.cat(statistics))  # one host copy for every layer
        self._rows, self._spans, self._batch, self._sample = {}, {}, None, None
        return snapshot

    def combine(self, snapshots: list[SimilaritySnapshot]) -> SimilaritySnapshot:
        """Every rank's sampled rows together (statistics a rank computed alone are kept)."""
        combined = SimilaritySnapshot(images=list(self._images))
        values = []
        for snapshot in snapshots:
            if snapshot.values is not None:
                values.append(snapshot.values)
                combined.complete.extend(snapshot.complete)
            for layer, pieces in snapshot.partial.items():
                combined.partial.setdefault(layer, []).extend(pieces)
        if values:
            combined.values = torch.cat(values)
        return combined

    def write(self, snapshot: SimilaritySnapshot, sink: CheckpointSink) -> None:
        statistics: dict[str, torch.Tensor] = {}
        offset = 0
        for layer, shape in snapshot.complete:
            assert snapshot.values is not None
            size = int(torch.Size(shape).numel())
            statistics.setdefault(layer, snapshot.values[offset : offset + size].reshape(shape))
            offset += size
        for layer, pieces in snapshot.partial.items():
            pieces = sorted(pieces, key=lambda piece: piece[0])
            rows = torch.cat([piece for _, piece in pieces])
            if layer not in statistics and len(rows) == len(snapshot.images):
                statistics[layer] = layer_statistic(rows)
        layers = [layer for layer in self._layers if layer in statistics]
        if layers:
            sink.add(
                summary.similarity_summary(
                    snapshot.images, layers, [statistics[layer].float().numpy() for layer in layers]
                )
            )
