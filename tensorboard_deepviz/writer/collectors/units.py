"""Units records: what each unit of each logged layer responds to over the whole eval set.

From the checkpoint's one batched pass, for every unit (output channel of a convolution, output
of a linear layer): its spatial maximum on every eval image, kept as a running top-k with the
position of the maximum; and the class means of its rectified, spatially averaged output. All is
reduced on the model's device as each batch passes (a maximum and a rectified sum per unit and
image; the argmax only for the images that enter a top list), so memory stays
O(units x (k + classes)) whatever the eval set's size. Receptive-field boxes of
the top positions are measured once per layer (``writer.receptive_field``) and computed in the
worker.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import torch

from ... import summary
from ..receptive_field import ReceptiveField, measure_receptive_fields, whole_image
from .base import Batch, CheckpointContext, CheckpointSink, Collector, Setup, Tap, to_host


@dataclasses.dataclass
class _Running:
    """One layer's running reductions on the device (``U`` units, ``k`` kept, ``C`` classes)."""

    top_values: torch.Tensor  # [k, U] best spatial maxima so far, best first
    top_images: torch.Tensor  # [k, U] their eval images (-1: none yet)
    top_positions: torch.Tensor  # [k, U] flat position of each maximum in the layer's output grid
    class_sums: torch.Tensor  # [C, U] sum of the rectified spatial means per class (float64)
    grid: tuple[int, ...]  # the output's spatial shape per image ([] for a linear layer)


@dataclasses.dataclass
class _LayerSnapshot:
    top_values: torch.Tensor
    top_images: torch.Tensor
    top_positions: torch.Tensor
    class_sums: torch.Tensor
    grid: tuple[int, ...]
    output_shape: list[int]


UnitsSnapshot = dict[str, _LayerSnapshot]


# Elements rectified at a time on the CPU: a temporary that stays in cache and is reused, instead
# of a rectified copy of the whole output (whose fresh pages cost more than the arithmetic).
_CPU_CHUNK_ELEMENTS = 1 << 18


def rectifier_after(graph: dict, layers: list[str]) -> dict[str, str]:
    """For each layer whose output goes straight into a ReLU module called once per forward pass, that module.

    Reading a unit from that ReLU's output gives the same rectified means in one pass instead of
    two, and the same top images wherever the unit fires (its maximum is max(0, the layer's)).
    A ReLU module called more than once (shared by several layers of a block) is left alone: its
    first call may not be the one after this layer.
    """
    nodes = graph.get("nodes", [])
    calls: dict[str, int] = {}
    for node in nodes:
        calls[node.get("module", "")] = calls.get(node.get("module", ""), 0) + 1
    types = {node.get("id"): (node.get("type"), node.get("module")) for node in nodes}
    after: dict[str, str] = {}
    for edge in graph.get("edges", []):
        source, target = edge.get("source"), edge.get("target")
        kind, module = types.get(target, (None, None))
        if source in layers and kind in ("ReLU", "ReLU6") and module and calls.get(module) == 1:
            after.setdefault(str(source), str(module))
    return after


def rectified_sums(flat: torch.Tensor) -> torch.Tensor:
    """``relu(flat).sum(dim=2)`` for ``[B, U, S]``, in float32 (float64 for float64 input).

    On the CPU a few images at a time, so no rectified copy of the whole output is made.
    """
    accumulate = torch.float64 if flat.dtype == torch.float64 else torch.float32
    if flat.device.type != "cpu":
        return flat.clamp(min=0).sum(dim=2, dtype=accumulate)
    rows = max(1, _CPU_CHUNK_ELEMENTS // max(1, flat.shape[1] * flat.shape[2]))
    return torch.cat([chunk.clamp(min=0).sum(dim=2, dtype=accumulate) for chunk in flat.split(rows)])


class UnitsCollector(Collector[UnitsSnapshot]):
    """Taps every logged layer; writes one units record per layer that ran in the eval pass."""

    name = "units"

    def __init__(self, setup: Setup) -> None:
        # Every logged layer, or those the checkpoint byte budget keeps (Setup.units_layers).
        chosen = setup.units_layers
        self._layers = list(setup.layers) if chosen is None else [name for name in setup.layers if name in chosen]
        self._k = setup.top_images
        labels = setup.labels.to(torch.int64)
        self._classes = len(setup.class_names)
        self._class_counts = torch.bincount(labels, minlength=self._classes).double().numpy()
        self._eval_size = len(labels)
        self._input_shape = (int(setup.input_shape[0]), int(setup.input_shape[1]))
        self._running: dict[str, _Running] = {}
        # Layers read from the ReLU module after them (their output is already rectified there).
        self._rectifier = dict(setup.rectifiers)
        self._layer_of = {relu: layer for layer, relu in self._rectifier.items()}
        # Measured at the first checkpoint (the architecture does not change), read by the worker.
        self._fields: Optional[dict[str, ReceptiveField]] = None

    def due(self, step: int) -> bool:
        return self._k > 0 and bool(self._layers)

    def taps(self) -> list[Tap]:
        return [Tap(self._rectifier.get(layer, layer)) for layer in self._layers]

    def begin(self, context: CheckpointContext) -> None:
        self._running = {}
        if self._fields is None:
            self._fields = measure_receptive_fields(context.model, context.images, self._layers)

    def on_tap(self, batch: Batch, tap: Tap, tensor: torch.Tensor) -> None:
        if tensor.ndim < 2 or not tensor.is_floating_point():
            return
        flat = tensor.reshape(tensor.shape[0], tensor.shape[1], -1)  # [B, U, S]
        layer = self._layer_of.get(tap.module, tap.module)
        running = self._running.get(layer)
        if running is None:
            running = self._start(layer, flat, tuple(tensor.shape[2:]))
        # The unit's score on each image: its spatial maximum (argmax only for the winners, below).
        maxima = flat.amax(dim=2)  # [B, U]
        if tap.module in self._layer_of:  # already rectified by the ReLU module after the layer
            accumulate = torch.float64 if flat.dtype == torch.float64 else torch.float32
            rectified = flat.sum(dim=2, dtype=accumulate) / flat.shape[2]
        else:
            rectified = rectified_sums(flat) / flat.shape[2]
        running.class_sums.index_add_(0, batch.labels.to(torch.int64), rectified.to(torch.float64))
        self._merge_top(running, batch, flat, maxima)

    def _start(self, layer: str, flat: torch.Tensor, grid: tuple[int, ...]) -> _Running:
        units = flat.shape[1]
        device = flat.device
        running = _Running(
            top_values=torch.full((self._k, units), -torch.inf, dtype=flat.dtype, device=device),
            top_images=torch.full((self._k, units), -1, dtype=torch.int64, device=device),
            top_positions=torch.zeros((self._k, units), dtype=torch.int64, device=device),
            class_sums=torch.zeros((self._classes, units), dtype=torch.float64, device=device),
            grid=grid,
        )
        self._running[layer] = running
        return running

    def _merge_top(self, running: _Running, batch: Batch, flat: torch.Tensor, maxima: torch.Tensor) -> None:
        """Keep each unit's k best images over what came so far and this batch."""
        k, units = running.top_values.shape
        candidates = torch.cat([running.top_values, maxima.to(running.top_values.dtype)])  # [k + B, U]
        # A NaN maximum is data (a broken unit), kept and shown; it ranks first, as torch ranks NaN.
        values, rows = candidates.topk(min(k, len(candidates)), dim=0)  # [k, U]
        from_batch = rows >= k
        batch_rows = (rows - k).clamp(min=0)
        # Positions of the maxima only for the batch's winners: a gather of k x U spatial maps.
        unit_index = torch.arange(units, device=flat.device).expand_as(batch_rows)
        positions = flat[batch_rows, unit_index].argmax(dim=-1)  # [k, U]
        first = batch.indices.start
        step = batch.indices.step
        images = first + batch_rows * step
        kept = rows.clamp(max=k - 1)
        running.top_images = torch.where(from_batch, images, running.top_images.gather(0, kept))
        running.top_positions = torch.where(from_batch, positions, running.top_positions.gather(0, kept))
        running.top_values = values

    def finish(self) -> UnitsSnapshot:
        snapshot: UnitsSnapshot = {}
        for layer, running in self._running.items():
            units = running.top_values.shape[1]
            snapshot[layer] = _LayerSnapshot(
                top_values=to_host(running.top_values.float()),
                top_images=to_host(running.top_images),
                top_positions=to_host(running.top_positions),
                class_sums=to_host(running.class_sums),
                grid=running.grid,
                output_shape=[units, *running.grid],
            )
        self._running = {}
        return snapshot

    def combine(self, snapshots: list[UnitsSnapshot]) -> UnitsSnapshot:
        """Each unit's best k over every rank's best k; class sums added."""
        combined: UnitsSnapshot = {}
        for layer in self._layers:
            parts = [snapshot[layer] for snapshot in snapshots if layer in snapshot]
            if parts:
                combined[layer] = _merge_layer(parts, self._k)
        return combined

    def write(self, snapshot: UnitsSnapshot, sink: CheckpointSink) -> None:
        fields = self._fields or {}
        for layer in self._layers:
            taken = snapshot.get(layer)
            if taken is None:
                continue  # the layer did not run in the eval pass
            top_images = taken.top_images.numpy().T  # [U, k]
            flat_positions = taken.top_positions.numpy().T
            top_values = taken.top_values.numpy().T
            missing = top_images < 0  # fewer eval images than k
            if len(taken.grid) >= 2:
                rows, cols = np.unravel_index(flat_positions, taken.grid[-2:])
                positions = np.stack([rows, cols], axis=-1)
            else:
                positions = np.zeros(top_images.shape + (2,), dtype=np.int64)
            field = fields.get(layer) if len(taken.grid) == 2 else None
            boxes = (field or whole_image(self._input_shape)).boxes(positions)
            positions[missing] = 0
            boxes[missing] = 0
            class_sums = taken.class_sums.numpy().T  # [U, C]
            with np.errstate(invalid="ignore", divide="ignore"):
                class_means = np.where(self._class_counts > 0, class_sums / self._class_counts, 0.0)
            mean = class_sums.sum(axis=1) / max(1, self._eval_size)
            sink.add(
                summary.units_summary(
                    layer,
                    top_images=top_images,
                    top_values=np.where(missing, np.nan, top_values),
                    top_positions=positions,
                    top_boxes=boxes,
                    class_means=class_means,
                    mean=mean,
                    output_shape=taken.output_shape,
                    input_shape=self._input_shape,
                )
            )


def _merge_layer(parts: list[_LayerSnapshot], k: int) -> _LayerSnapshot:
    """One layer's snapshot from several ranks' (in rank order), as one pass over all their images would give."""
    values = torch.cat([part.top_values for part in parts])  # [ranks * k, U]
    best, rows = values.topk(min(k, len(values)), dim=0)
    return _LayerSnapshot(
        top_values=best,
        top_images=torch.cat([part.top_images for part in parts]).gather(0, rows),
        top_positions=torch.cat([part.top_positions for part in parts]).gather(0, rows),
        class_sums=torch.stack([part.class_sums for part in parts]).sum(dim=0),
        grid=parts[0].grid,
        output_shape=parts[0].output_shape,
    )
