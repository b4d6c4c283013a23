"""The byte budget of a checkpoint: what a deep model logs so that each checkpoint stays small.

A checkpoint of the paper's 3-layer net is a few hundred kilobytes; one of a ResNet-50 with
every layer's full weights, activations and units records is about 60 MB, so 300 checkpoints
would not fit a laptop's disk nor load in TensorBoard. ``plan_checkpoint`` decides once, when
``DeepViz`` is built, what each checkpoint keeps under ``checkpoint_bytes``:

1. When everything fits (small models), everything is logged, exactly as without a budget.
2. Otherwise the model is *deep*: activations, units records and the layer similarity
   statistics are logged for one layer per
   stage (``stage_layers``: the last logged layer of each top-level child of the model, or of
   each run of layers at one output resolution), or for the layers the user names
   (``activation_layers``); the first layer's filters are kept whole; every other layer keeps
   its first ``n`` filters, one ``n`` for all of them, the largest whose bytes fit what is left.
   The first filters are the same units at every checkpoint (the timeline stays comparable),
   and a weights record's ``total_filters`` says how many the layer has.

Every layer keeps its ``log_step`` statistics whatever the budget. Predictions, confusion,
clusters and Grad-CAM grow with the eval set, not with depth: they are counted, never cut.

The sizes are upper bounds computed from the shapes (records store float16 weights, 8-bit
activation codes that zlib only shrinks, fixed-size units arrays), so the real event-file
bytes stay below the plan; ``benchmarks/deep_models.py`` measures them per record kind. A record
kind added later is not counted until ``plan_checkpoint`` adds its size (and, if it grows with
depth, reads the plan's layers through ``Setup``), as the similarity record does.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Optional, Sequence, Union

import torch

#: The default ``checkpoint_bytes``: a ResNet-50 at 64 x 64 px with 1,000 eval images stays
#: under 5 MB per checkpoint (benchmarks/deep_models.py), the paper's 3-layer net is unchanged.
DEFAULT_CHECKPOINT_BYTES = 5_000_000

# What one record costs besides its arrays: the event framing, tag, plugin metadata and JSON header.
RECORD_OVERHEAD = 400


@dataclasses.dataclass(frozen=True)
class LayerShape:
    """What the plan needs of one logged layer.

    Args:
      name: the module name.
      weight_shape: the shape of its ``weight`` (``[filters, ...]``), or None without one.
      output_shape: its output per image (``[C, H, W]`` or ``[F]``), empty if it did not run.
    """

    name: str
    weight_shape: Optional[tuple[int, ...]]
    output_shape: tuple[int, ...]

    @property
    def filters(self) -> int:
        """The number of filters (output units) of its weight, 0 without one."""
        return int(self.weight_shape[0]) if self.weight_shape else 0

    @property
    def values_per_filter(self) -> int:
        """Weight values of one filter."""
        return max(1, math.prod(self.weight_shape[1:])) if self.weight_shape else 0


@dataclasses.dataclass(frozen=True)
class EvalShape:
    """What the plan needs of the eval set and the other record kinds' settings."""

    images: int
    classes: int
    probes: int
    top_images: int
    clusters: int
    nearest_per_cluster: int
    #: Output grid ``(h, w)`` of each Grad-CAM layer.
    attribution_grids: tuple[tuple[int, int], ...] = ()
    #: Eval images the layer similarity statistics are computed over (0: none).
    similarity_images: int = 0


@dataclasses.dataclass(frozen=True)
class CheckpointPlan:
    """What every checkpoint logs, decided once (``plan_checkpoint``).

    Args:
      limit: the budget in bytes, None for none.
      deep: whether the budget cut anything (False: everything is logged, as without one).
      kept_filters: per layer with weights, how many of its first filters each weights record stores.
      activation_layers: the layers whose probe activations are logged, in forward order.
      units_layers: the layers whose units records are logged, in forward order.
      similarity_layers: the layers the similarity record covers, in forward order.
      estimate: upper bound of the bytes of each record kind per checkpoint.
    """

    limit: Optional[int]
    deep: bool
    kept_filters: dict[str, int]
    activation_layers: list[str]
    units_layers: list[str]
    similarity_layers: list[str]
    estimate: dict[str, int]

    @property
    def total(self) -> int:
        """Upper bound of a checkpoint's bytes (the record kinds the plan knows)."""
        return sum(self.estimate.values())


def stage_layers(layers: Sequence[LayerShape]) -> list[str]:
    """One layer per stage of the network: where its representation is looked at by default.

    A stage is a top-level child of the model that holds logged layers (ResNet's ``conv1``,
    ``layer1`` .. ``layer4``, ``fc``). When every logged layer is a top-level child of its own
    (a flat ``nn.Sequential``), a stage is instead a run of consecutive layers with one output
    resolution. The last layer of each stage is chosen, in forward order.
    """
    if not layers:
        return []
    by_child = _last_of_runs(layers, lambda layer: layer.name.split(".")[0])
    if len(by_child) < len(layers) or len(layers) <= 2:
        return by_child
    return _last_of_runs(layers, lambda layer: tuple(layer.output_shape[1:]))


def _last_of_runs(layers: Sequence[LayerShape], key: object) -> list[str]:
    chosen: list[str] = []
    previous: object = None
    for index, layer in enumerate(layers):
        current = key(layer)  # type: ignore[operator]
        if index > 0 and current != previous:
            chosen.append(layers[index - 1].name)
        previous = current
    chosen.append(layers[-1].name)
    return chosen


def weights_bytes(layer: LayerShape, filters: int) -> int:
    """Bytes of a weights record storing ``filters`` filters (float16)."""
    return filters * layer.values_per_filter * 2 + RECORD_OVERHEAD


def activations_bytes(layer: LayerShape, probes: int) -> int:
    """Bytes of an activations record: 8-bit codes, a float32 range per image and channel, the probe indices."""
    values = math.prod(layer.output_shape) if layer.output_shape else 0
    channels = layer.output_shape[0] if len(layer.output_shape) > 1 else 1
    # zlib can grow incompressible codes by a few bytes per 16 KB block: 0.1% covers it.
    codes = probes * values + probes * values // 1000
    return codes + probes * (channels * 8 + 4) + RECORD_OVERHEAD


def units_bytes(layer: LayerShape, top_images: int, classes: int) -> int:
    """Bytes of a units record: per unit, k top images (index, value, position, box) and its class means."""
    if top_images <= 0 or not layer.output_shape:
        return 0
    per_unit = top_images * (4 + 4 + 2 * 2 + 4 * 2) + (classes + 1) * 4
    return layer.output_shape[0] * per_unit + 3 * RECORD_OVERHEAD  # a longer header: shapes, counts


def similarity_bytes(layers: Sequence[LayerShape], images: int) -> int:
    """Bytes of the similarity record: per layer, float16 features ``[n, channels]`` or a Gram triangle, the smaller."""
    if images < 2:
        return 0
    triangle = images * (images + 1) // 2
    per_layer = [min(images * (layer.output_shape[0] if layer.output_shape else 1), triangle) * 2 for layer in layers]
    return sum(per_layer) + images * 4 + RECORD_OVERHEAD


def fixed_bytes(shape: EvalShape) -> dict[str, int]:
    """Bytes of the record kinds that grow with the eval set, not with depth (never cut)."""
    n, c, p = shape.images, shape.classes, shape.probes
    clusters = min(shape.clusters, max(1, n))
    return {
        "predictions": n * (4 + 2) + p * (c * 2 + 4) + RECORD_OVERHEAD,
        "confusion": c * c * 4 * 2 + n * 4 + (c * c + 1) * 4 + RECORD_OVERHEAD,
        "clusters": n * (4 + 4) + clusters * (shape.nearest_per_cluster * 4 + 32) + RECORD_OVERHEAD,
        "attribution": sum(p * (h * w * 4 + 8) + 2 * RECORD_OVERHEAD for h, w in shape.attribution_grids),
    }


def plan_checkpoint(
    layers: Sequence[LayerShape],
    shape: EvalShape,
    *,
    limit: Optional[int],
    max_weight_values: int,
    activation_layers: Union[str, Sequence[str]] = "auto",
) -> CheckpointPlan:
    """Decide what every checkpoint logs under ``limit`` bytes (see the module docstring).

    Args:
      layers: the logged layers, in forward order.
      shape: the eval set and the other kinds' settings.
      limit: the budget in bytes per checkpoint; None logs everything.
      max_weight_values: the cap on stored weight values per layer, applied first (as always).
      activation_layers: ``"auto"`` (every layer when everything fits, one per stage otherwise),
        ``"all"``, or a list of logged layers (kept whatever the budget; the weights shrink).

    Returns:
      The plan. When even one filter per layer does not fit, every layer keeps one filter and
      ``plan.total`` exceeds ``limit`` (``DeepViz`` warns).
    """
    names = [layer.name for layer in layers]
    capped = {
        layer.name: max(1, min(layer.filters, max_weight_values // layer.values_per_filter))
        for layer in layers
        if layer.filters
    }
    if isinstance(activation_layers, str):
        chosen: Optional[list[str]] = names if activation_layers == "all" else None
    else:
        wanted = set(activation_layers)
        chosen = [name for name in names if name in wanted]

    by_name = {layer.name: layer for layer in layers}

    similarity_images = min(shape.similarity_images, shape.images)

    def estimate(kept: dict[str, int], activated: list[str], units: list[str]) -> dict[str, int]:
        figures = fixed_bytes(shape)
        if similarity_images >= 2:
            figures["similarity"] = similarity_bytes([by_name[name] for name in units], similarity_images)
        figures["weights"] = sum(weights_bytes(by_name[name], count) for name, count in kept.items())
        figures["activations"] = sum(activations_bytes(by_name[name], shape.probes) for name in activated)
        figures["units"] = sum(units_bytes(by_name[name], shape.top_images, shape.classes) for name in units)
        # The marker names every tag written (about 48 bytes each).
        tags = len(kept) + len(activated) + len(units) + len(shape.attribution_grids) + 5
        figures["checkpoint"] = RECORD_OVERHEAD + 48 * tags
        return figures

    # Units records follow the activation layers only once the budget cuts (today's logs keep them all).
    activated = chosen if chosen is not None else names
    everything = estimate(capped, activated, names)
    if limit is None or sum(everything.values()) <= limit:
        return CheckpointPlan(limit, False, capped, list(activated), list(names), list(names), everything)

    detailed = chosen if chosen is not None else stage_layers(layers)
    first = next((layer.name for layer in layers if layer.filters), None)
    deeper = [layer for layer in layers if layer.filters and layer.name != first]

    def kept_with(count: int) -> dict[str, int]:
        kept = {layer.name: min(capped[layer.name], count) for layer in deeper}
        if first is not None:
            kept[first] = capped[first]  # the first layer's filters stay whole
        return {name: kept[name] for name in capped}

    # The largest filter count per deeper layer that fits (bytes grow with the count: bisect).
    low, high = 1, max([capped[layer.name] for layer in deeper], default=1)
    while low < high:
        middle = (low + high + 1) // 2
        if sum(estimate(kept_with(middle), detailed, detailed).values()) <= limit:
            low = middle
        else:
            high = middle - 1
    kept = kept_with(low)
    figures = estimate(kept, detailed, detailed)
    return CheckpointPlan(limit, True, kept, detailed, list(detailed), list(detailed), figures)


def describe(plan: CheckpointPlan) -> str:
    """One line saying what the plan cut, for a warning or a log."""
    if not plan.deep:
        return f"every layer logged in full (about {plan.total / 1e6:.2f} MB per checkpoint)"
    deeper = list(plan.kept_filters.values())[1:]
    return (
        f"about {plan.total / 1e6:.2f} MB per checkpoint: activations and units of "
        f"{', '.join(plan.activation_layers) or 'no layer'}; the first layer's filters whole, "
        f"up to {max(deeper, default=0)} filters of every other layer"
    )


def layer_shapes(graph: dict, layer_modules: dict[str, Any]) -> list[LayerShape]:
    """The ``LayerShape`` of every logged layer, from the traced graph (its first call) and its module's weight."""
    outputs: dict[str, tuple[int, ...]] = {}
    for node in graph.get("nodes", []):
        module = node.get("module")
        if module and module not in outputs:
            outputs[module] = tuple(int(d) for d in (node.get("output_shape") or [])[1:])
    shapes = []
    for name, module in layer_modules.items():
        weight = getattr(module, "weight", None)
        filters = tuple(weight.shape) if isinstance(weight, torch.Tensor) and weight.ndim >= 1 else None
        shapes.append(LayerShape(name, filters, outputs.get(name, ())))
    return shapes


def check_options(checkpoint_bytes: Any, activation_layers: Any, logged: Sequence[str]) -> None:
    """Refuse a wrong ``checkpoint_bytes`` or ``activation_layers``, naming the problem."""
    if checkpoint_bytes is not None and (
        isinstance(checkpoint_bytes, bool) or not isinstance(checkpoint_bytes, int) or checkpoint_bytes < 1
    ):
        raise ValueError(f"checkpoint_bytes must be a positive integer or None, got {checkpoint_bytes!r}")
    if isinstance(activation_layers, str):
        if activation_layers not in ("auto", "all"):
            raise ValueError(
                f"activation_layers must be 'auto', 'all' or a list of logged layers, got {activation_layers!r}"
            )
        return
    unknown = [str(name) for name in activation_layers if name not in logged]
    if unknown:
        raise ValueError(f"activation_layers {unknown} are not logged layers; pick from {list(logged)}")


def output_grids(graph: dict, layers: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """The spatial output grid ``(h, w)`` of each of ``layers`` that has one (Grad-CAM's maps)."""
    grids: dict[str, tuple[int, int]] = {}
    for node in graph.get("nodes", []):
        shape = node.get("output_shape") or []
        if node.get("module") in layers and len(shape) == 4:
            grids.setdefault(node["module"], (int(shape[2]), int(shape[3])))
    return tuple(grids[name] for name in layers if name in grids)


def warn_if_over(plan: CheckpointPlan) -> None:
    """Warn when even the least the plan keeps exceeds the budget (one filter per layer, the activation layers)."""
    if plan.limit is not None and plan.total > plan.limit:
        warnings.warn(
            f"a checkpoint needs about {plan.total / 1e6:.1f} MB, over checkpoint_bytes={plan.limit}: "
            f"{describe(plan)}; raise checkpoint_bytes or name fewer activation_layers",
            RuntimeWarning,
            stacklevel=3,
        )
