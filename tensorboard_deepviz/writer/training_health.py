"""Per-step measures of how training is going that are not moments of one tensor.

* Update ratio: how far an optimizer step moved a layer's weights, relative to their size,
  ``||w_t - w_prev|| / ||w_t||`` (usually around 1e-3; far above means unstable updates). Kept
  on a fixed sample of each layer's weights (at most ``UPDATE_SAMPLE`` values, chosen once with
  a generator of its own), so memory and time stay small whatever the model's size.
* Saturation: the share of a layer's outputs that the bounded activation after it (tanh,
  sigmoid, hardtanh, found in the traced graph) maps to within 1% of its bounds, where its
  gradient vanishes.

Both run on the tensors' device inside ``log_step`` and return one value per logged layer (NaN
where a measure does not apply), copied to the host with the layer moments.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import torch
from torch import nn

# Weights sampled per layer for the update ratio.
UPDATE_SAMPLE = 4096
# |x| beyond which a bounded activation's output is within 1% of its range's ends:
# tanh(2.647) = 0.99, sigmoid(4.595) = 0.99, hardtanh clips at +-1.
SATURATION_THRESHOLDS = {
    "Tanh": math.atanh(0.99),
    "Sigmoid": math.log(0.99 / 0.01),
    "Hardtanh": 1.0,
    "Hardsigmoid": 3.0,
}


class UpdateRatios:
    """``||w_t - w_prev|| / ||w_t||`` per layer, on a fixed sample of each layer's ``weight``.

    Args:
      modules: the logged layers' modules, in order; those without a ``weight`` get NaN.
      seed: seed of the generator that picks the sample (the global RNG is not touched).
    """

    def __init__(self, modules: Sequence[nn.Module], seed: int = 0) -> None:
        self._modules = list(modules)
        self._seed = seed
        self._indices: list[Optional[torch.Tensor]] = []
        self._previous: Optional[torch.Tensor] = None
        # The layer of each sampled value, and which layers have any: fixed once the samples are.
        self._owner: Optional[torch.Tensor] = None
        self._present: Optional[torch.Tensor] = None

    def _sample_indices(self) -> list[Optional[torch.Tensor]]:
        generator = torch.Generator().manual_seed(self._seed)
        indices: list[Optional[torch.Tensor]] = []
        for module in self._modules:
            weight = getattr(module, "weight", None)
            if not isinstance(weight, torch.Tensor) or weight.numel() == 0:
                indices.append(None)
                continue
            count = weight.numel()
            if count > UPDATE_SAMPLE:  # with replacement: no permutation of a huge layer's indices
                indices.append(torch.randint(0, count, (UPDATE_SAMPLE,), generator=generator).to(weight.device))
            else:
                indices.append(torch.arange(0))  # empty: the whole layer
        return indices

    def measure(self) -> torch.Tensor:
        """One ratio per layer (float64, on the first weight's device); NaN at the first call."""
        if not self._indices:
            self._indices = self._sample_indices()
        samples, layers = [], []
        for layer, (module, index) in enumerate(zip(self._modules, self._indices)):
            weight = getattr(module, "weight", None)
            if index is None or not isinstance(weight, torch.Tensor):
                continue
            flat = weight.detach().reshape(-1)
            samples.append(flat[index] if index.numel() else flat)
            layers.append(layer)
        device = samples[0].device if samples else torch.device("cpu")
        ratios = torch.full((len(self._modules),), math.nan, dtype=torch.float64, device=device)
        if not samples:
            return ratios
        # A new tensor (a concatenation), so it needs no copy to be kept as the next call's previous.
        current = torch.cat([sample.to(device, torch.float64) for sample in samples])
        previous, self._previous = self._previous, current
        if self._owner is None or self._owner.shape != current.shape or self._owner.device != device:
            sizes = torch.tensor([len(sample) for sample in samples], device=device)
            self._owner = torch.repeat_interleave(torch.tensor(layers, device=device), sizes)
            self._present = torch.zeros(len(self._modules), dtype=torch.bool, device=device)
            self._present[layers] = True
        if previous is None or previous.shape != current.shape:
            return ratios
        change = torch.zeros(len(self._modules), dtype=torch.float64, device=device)
        size = torch.zeros_like(change)
        change.index_add_(0, self._owner, (current - previous) ** 2)
        size.index_add_(0, self._owner, current**2)
        assert self._present is not None
        return torch.where(self._present, change.sqrt() / size.sqrt(), ratios)


def bounded_activations(graph: Mapping[str, Any], layers: Sequence[str]) -> dict[str, float]:
    """The saturation threshold of each logged layer whose output feeds a bounded activation module."""
    types = {node.get("id"): str(node.get("type", "")) for node in graph.get("nodes", [])}
    thresholds: dict[str, float] = {}
    for edge in graph.get("edges", []):
        source, target = edge.get("source"), edge.get("target")
        threshold = SATURATION_THRESHOLDS.get(types.get(target, ""))
        if source in layers and threshold is not None:
            thresholds.setdefault(str(source), threshold)
    return thresholds


def saturation(
    activations: Sequence[Optional[torch.Tensor]], layers: Sequence[str], thresholds: Mapping[str, float]
) -> Optional[torch.Tensor]:
    """The share of each layer's outputs beyond its bounded activation's threshold (NaN elsewhere).

    Returns None when no logged layer feeds a bounded activation (nothing to measure).
    """
    if not thresholds:
        return None
    device = next((a.device for a in activations if a is not None), torch.device("cpu"))
    shares = torch.full((len(layers),), math.nan, dtype=torch.float64, device=device)
    for index, (layer, output) in enumerate(zip(layers, activations)):
        threshold = thresholds.get(layer)
        if threshold is None or output is None or output.numel() == 0:
            continue
        beyond = (output.detach().abs() >= threshold).sum(dtype=torch.float64)
        shares[index] = beyond.to(device) / output.numel()
    return shares


def input_statistics(images: torch.Tensor) -> dict[str, float]:
    """Mean, std, min and max of the finite values of ``images`` (how far from normalized the inputs are)."""
    values = images.detach().to(torch.float64).reshape(-1)
    values = values[torch.isfinite(values)]
    if not len(values):
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
    return {
        "mean": float(values.mean()),
        "std": float(values.std(correction=0)),
        "min": float(values.min()),
        "max": float(values.max()),
    }
