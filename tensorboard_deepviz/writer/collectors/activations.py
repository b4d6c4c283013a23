"""Activations records: each logged layer's output for the probe images, quantized to 8 bits.

The probe images' rows are picked from the checkpoint's batched eval pass as each logged layer
produces its output, so no separate forward pass over the probe images is run: each layer's
rows are one small device copy per batch that holds probe images (contiguous slices, so no
index tensor is sent to the device), then a non-blocking host copy.
"""

from __future__ import annotations

import torch

from ... import summary
from .base import Batch, CheckpointContext, CheckpointSink, Collector, Setup, Tap, to_host

# Per layer, one entry per batch with probe images: (their positions in the probe list, host copy of their rows).
ActivationsSnapshot = dict[str, list[tuple[list[int], torch.Tensor]]]


class ActivationsCollector(Collector[ActivationsSnapshot]):
    """Taps the activation layers' outputs; writes one activations record per layer, rows in probe order.

    The activation layers are every logged layer, or those ``Setup.activation_layers`` names (a
    deep model under the checkpoint byte budget: one per stage, expandable by name).
    """

    name = "activations"

    def __init__(self, setup: Setup) -> None:
        chosen = setup.activation_layers
        self._layers = list(setup.layers) if chosen is None else [name for name in setup.layers if name in chosen]
        self._probe = list(setup.probe_images)
        self._pieces: ActivationsSnapshot = {}

    def due(self, step: int) -> bool:
        return bool(self._layers)

    def taps(self) -> list[Tap]:
        return [Tap(layer) for layer in self._layers]

    def begin(self, context: CheckpointContext) -> None:
        self._pieces = {}

    def on_tap(self, batch: Batch, tap: Tap, tensor: torch.Tensor) -> None:
        found = batch.rows_of(self._probe)
        if not found:
            return
        positions = [position for position, _ in found]
        # A new tensor, so that a later in-place change of the layer's output cannot reach it.
        rows = torch.cat([tensor[row : row + 1] for _, row in found])
        self._pieces.setdefault(tap.module, []).append((positions, to_host(rows)))

    def finish(self) -> ActivationsSnapshot:
        pieces, self._pieces = self._pieces, {}
        return pieces

    def combine(self, snapshots: list[ActivationsSnapshot]) -> ActivationsSnapshot:
        # Pieces carry their probe positions: those of all ranks together are the whole probe list.
        combined: ActivationsSnapshot = {}
        for snapshot in snapshots:
            for layer, pieces in snapshot.items():
                combined.setdefault(layer, []).extend(pieces)
        return combined

    def write(self, snapshot: ActivationsSnapshot, sink: CheckpointSink) -> None:
        for layer in self._layers:
            pieces = snapshot.get(layer)
            if not pieces:
                continue  # the layer did not run in the eval pass
            positions = [position for batch_positions, _ in pieces for position in batch_positions]
            rows = torch.cat([piece for _, piece in pieces])
            order = sorted(range(len(positions)), key=positions.__getitem__)
            activations = rows[order] if order != list(range(len(order))) else rows
            probe = [self._probe[positions[i]] for i in order]
            sink.add(summary.activations_summary(layer, activations.float().numpy(), probe))
