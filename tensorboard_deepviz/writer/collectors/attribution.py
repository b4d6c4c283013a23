"""Attribution records: Grad-CAM of each probe image, for its predicted class, at chosen layers.

Grad-CAM (Selvaraju et al. 2017) weights a layer's output channels by the spatial mean of the
gradient of the class score with respect to them and keeps the positive part of the weighted sum:
where in the image the layer's evidence for that class lies. Here it runs in the checkpoint's
isolation (eval mode, RNG forked, ``log_step``'s hooks paused) with gradients switched on for one
small pass over the probe images only. The gradient is taken with ``torch.autograd.grad`` with
respect to the layer's output alone, so no parameter's ``.grad`` changes; the output is captured by
a forward hook that hands the rest of the model a copy, so an in-place ReLU after the layer cannot
change what the map is computed from. Maps are stored unnormalized: their scale over training is
what the dashboard shows.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import torch
from torch import nn

from ... import summary
from .. import capture
from .base import CheckpointContext, CheckpointSink, Collector, Setup, to_host


@dataclasses.dataclass
class _Maps:
    targets: torch.Tensor  # [P] the class each map explains
    maps: torch.Tensor  # [P, h, w]


AttributionSnapshot = dict[str, _Maps]


def grad_cam(model: nn.Module, images: torch.Tensor, layers: list[str]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Grad-CAM of ``images`` for their predicted classes at each of ``layers`` (outputs ``[P, C, h, w]``).

    Call it where the model's mode and the RNG are already taken care of; it switches gradients on
    itself and changes no parameter's ``.grad``.

    Args:
      model: the model, on ``images``' device.
      images: ``[P, C, H, W]`` images.
      layers: module names whose output has a spatial grid.

    Returns:
      ``{layer: (targets [P], maps [P, h, w])}`` for the layers that ran, maps rectified and
      unnormalized.
    """
    modules = dict(model.named_modules())
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> Optional[torch.Tensor]:
            if name in outputs or not isinstance(output, torch.Tensor):
                return None
            outputs[name] = output
            return output.clone()  # what the rest of the model (and its in-place ops) sees

        return hook

    handles = [modules[name].register_forward_hook(keep(name)) for name in layers]
    try:
        with torch.enable_grad():
            source = images.detach().requires_grad_(True)  # a graph even when every parameter is frozen
            logits = capture.first_tensor(model(source))
            if logits is None or logits.ndim != 2:
                raise ValueError("Grad-CAM needs the model's [batch, classes] logits")
            targets = logits.detach().argmax(dim=1)
            score = logits.gather(1, targets[:, None]).sum()
            present = [name for name in layers if name in outputs and outputs[name].ndim == 4]
            gradients = torch.autograd.grad(score, [outputs[name] for name in present], allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
    result: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for name, gradient in zip(present, gradients):
        activation = outputs[name].detach()
        if gradient is None:  # the class score does not depend on this layer
            gradient = torch.zeros_like(activation)
        weights = gradient.mean(dim=(2, 3), keepdim=True)
        result[name] = (targets, torch.relu((weights * activation).sum(dim=1)))
    return result


class AttributionCollector(Collector[AttributionSnapshot]):
    """Grad-CAM of the probe images at the chosen layers; one attribution record per layer."""

    name = "attribution"
    needs_eval_pass = False
    rank_zero_only = True  # a pass of its own over the probe images, which every rank holds

    def __init__(self, setup: Setup) -> None:
        self._layers = list(setup.attribution_layers)
        self._probe = list(setup.probe_images)
        self._input_shape = (int(setup.input_shape[0]), int(setup.input_shape[1]))
        self._maps: AttributionSnapshot = {}

    def due(self, step: int) -> bool:
        return bool(self._layers)

    def begin(self, context: CheckpointContext) -> None:
        probes = context.images[self._probe]
        maps = grad_cam(context.model, probes, self._layers)
        self._maps = {
            layer: _Maps(targets=to_host(targets), maps=to_host(values.float()))
            for layer, (targets, values) in maps.items()
        }

    def finish(self) -> AttributionSnapshot:
        maps, self._maps = self._maps, {}
        return maps

    def write(self, snapshot: AttributionSnapshot, sink: CheckpointSink) -> None:
        for layer in self._layers:
            taken = snapshot.get(layer)
            if taken is None:
                continue
            sink.add(
                summary.attribution_summary(
                    layer,
                    self._probe,
                    taken.targets.tolist(),
                    taken.maps.numpy(),
                    input_shape=self._input_shape,
                )
            )
