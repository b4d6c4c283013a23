"""The filter routes: a layer's weights at a checkpoint as a sprite, its layout, and one filter's values."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ...contract import metadata, records
from .. import params, render
from ..access import RecordRef, RunAccess, TagInfo
from ..errors import NotFound, Unreadable
from ..routing import Reply, Route, RouteRequest, json_payload, numbers, png_payload

# Filters a single sprite request may select.
MAX_SELECTED_FILTERS = 4096

ValueRange = tuple[float, float]


def weights_record(run: RunAccess, at: RecordRef) -> records.Record:
    """A weights record whose array has a filter axis (a crafted log might hold a scalar)."""
    record = run.read(at)
    if record.arrays["weights"].ndim == 0:
        raise Unreadable(f"{at.tag} at step {at.step} holds a scalar, not a filter bank")
    return record


def kept_filters_text(layer: str, kept: int, total: int) -> str:
    """What a weights record holds of a layer whose filters were not all logged (the writer's byte budget)."""
    return (
        f"filters 0-{kept - 1} of {total} of layer {layer!r} were logged (the logger keeps the first filters "
        f"of a deep model's layers; a larger DeepViz checkpoint_bytes or max_weight_values logs more)"
    )


def weights_range(run: RunAccess, info: TagInfo) -> ValueRange:
    """Range of a layer's finite weights over every checkpoint, from the record headers alone."""
    low, high = math.inf, -math.inf
    for header in run.headers(info, run.steps(info)):
        low = min(low, float(header.fields.get("finite_min", 0.0)))
        high = max(high, float(header.fields.get("finite_max", 0.0)))
    return low, high


def is_fed_by_input(run: RunAccess, layer: str) -> bool:
    """A layer fed directly by the input: its 3 channels are the image's colours."""
    graph = run.latest(metadata.KIND_GRAPH)
    if graph is None:
        return False
    return any(edge.get("source") == "input" and edge.get("target") == layer for edge in graph.fields.get("edges", []))


def _sprite(
    run: RunAccess, at: RecordRef, norm: str, filters: Optional[str], value_range: Optional[ValueRange]
) -> tuple[bytes, dict[str, Any], list[int], Optional[ValueRange]]:
    weights = weights_record(run, at).arrays["weights"]
    selected = params.select_indices(filters, len(weights), "filters", limit=MAX_SELECTED_FILTERS)
    if norm == "global" and value_range is None:
        value_range = weights_range(run, at.info)
    rgb = weights.ndim == 4 and weights.shape[1] == 3 and is_fed_by_input(run, at.info.layer)
    body, layout = render.render_filters(weights[selected], norm=norm, value_range=value_range, rgb=rgb)
    return body, layout, selected, value_range


def answer_filters(
    run: RunAccess,
    at: RecordRef,
    *,
    norm: str,
    filters: Optional[str] = None,
    value_range: Optional[ValueRange] = None,
) -> bytes:
    """PNG sprite of a layer's filters at a checkpoint (``render.render_filters``).

    Args:
      run: the run's records.
      at: the layer's weights record at the checkpoint.
      norm: one of ``render.FILTER_NORMS``.
      filters: which filters (``params.select_indices``); all when None.
      value_range: for ``norm="global"``, the range over every checkpoint; read from the
        records' headers (``weights_range``) when None.

    Raises:
      NotFound: a selected filter outside the layer. Unreadable: a record without a filter axis.
    """
    return _sprite(run, at, norm, filters, value_range)[0]


def answer_filters_layout(
    run: RunAccess,
    at: RecordRef,
    *,
    norm: str,
    filters: Optional[str] = None,
    value_range: Optional[ValueRange] = None,
) -> dict[str, Any]:
    """The layout of ``answer_filters``' sprite, with ``filter_indices`` (the filters drawn), ``value_range``,
    ``total_filters`` (the layer's, of which the record may keep only the first) and ``kept_filters``."""
    _, layout, selected, used_range = _sprite(run, at, norm, filters, value_range)
    record = weights_record(run, at)
    kept = len(record.arrays["weights"])
    total = int(record.fields.get("total_filters", kept))
    layout.update(
        filter_indices=selected,
        value_range=list(used_range) if used_range else None,
        total_filters=total,
        kept_filters=kept,
    )
    return layout


def answer_filter_values(run: RunAccess, at: RecordRef, index: int) -> dict[str, Any]:
    """One filter's weights as the sprite draws them, with their finite min, max, mean and norm.

    Returns:
      ``{"layer", "step", "filter", "shape", "weight_shape", "values", "min", "max", "mean",
      "norm", "nan_count", "inf_count", "total_filters", "layer_type"}``; the statistics are
      None when no value is finite.
    """
    record = weights_record(run, at)
    weights = record.arrays["weights"]
    if index >= len(weights):
        total = int(record.fields.get("total_filters", len(weights)))
        if index < total:  # the layer has it, the log does not
            raise NotFound(
                f"filter {index} outside 0..{len(weights) - 1} of layer {at.info.layer!r}: not logged; "
                + kept_filters_text(at.info.layer, len(weights), total)
            )
        raise NotFound(f"filter {index} outside 0..{total - 1} of layer {at.info.layer!r}")
    # Arranged as the sprite draws it (a Conv1d kernel as one row, a BatchNorm scale as one value).
    values = render.as_filter_bank(weights)[index].astype(np.float32)
    finite = values[np.isfinite(values)]
    return {
        "layer": at.info.layer,
        "step": at.step,
        "filter": index,
        "shape": list(values.shape),
        "weight_shape": list(weights.shape[1:]),
        "values": numbers(values),
        "min": float(finite.min()) if finite.size else None,
        "max": float(finite.max()) if finite.size else None,
        "mean": float(finite.mean()) if finite.size else None,
        "norm": float(np.linalg.norm(finite)) if finite.size else None,
        "nan_count": int(np.isnan(values).sum()),
        "inf_count": int(np.isinf(values).sum()),
        "total_filters": record.fields.get("total_filters", len(weights)),
        "layer_type": record.fields.get("layer_type", ""),
    }


def _sprite_query(request: RouteRequest) -> tuple[RunAccess, RecordRef, str, Optional[str], Optional[ValueRange]]:
    run = request.run()
    layer = request.layer()
    norm = params.choice(request.args, "norm", render.FILTER_NORMS)
    at = run.locate(metadata.KIND_WEIGHTS, layer, request.step())
    value_range = params.optional_range(request.args, "range")
    if value_range is not None:
        # An explicit scale (two runs side by side on one scale): drawn as "global" over that range.
        norm = "global"
    elif norm == "global":  # part of the answer's identity: it grows with the log
        refs = run.steps(at.info)
        key = ("global-range", at.experiment, at.run, at.tag, refs[-1].step, refs[-1].wall_time, len(refs))
        low, high = request.memo(key, lambda: list(weights_range(run, at.info)))
        value_range = (low, high)
    # Not length-limited like other parameters: a selection may list up to MAX_SELECTED_FILTERS indices.
    return run, at, norm, request.args.get("filters"), value_range


def filters_route(request: RouteRequest) -> Reply:
    """``filters?run=&layer=[&step=][&norm=filter|layer|global][&filters=][&range=low,high]``: PNG sprite.

    ``range`` fixes the colour scale at max(|low|, |high|) whatever ``norm`` says: A and B drawn on one scale."""
    run, at, norm, filters, value_range = _sprite_query(request)
    return Reply(
        lambda: png_payload(answer_filters(run, at, norm=norm, filters=filters, value_range=value_range)),
        at.identity("filters", norm, value_range, filters or ""),
    )


def filters_layout_route(request: RouteRequest) -> Reply:
    """``filters_layout``, same parameters: the sprite's layout (JSON)."""
    run, at, norm, filters, value_range = _sprite_query(request)
    return Reply(
        lambda: json_payload(answer_filters_layout(run, at, norm=norm, filters=filters, value_range=value_range)),
        at.identity("filters_layout", norm, value_range, filters or ""),
    )


def filter_values_route(request: RouteRequest) -> Reply:
    """``filter_values?run=&layer=&filter=[&step=]``: one filter's values (JSON)."""
    run = request.run()
    at = run.locate(metadata.KIND_WEIGHTS, request.layer(), request.step())
    index = params.integer(request.args, "filter", minimum=0)
    return Reply(
        lambda: json_payload(answer_filter_values(run, at, index)), at.identity("filter_values", index), keep=False
    )


ROUTES = (
    Route("filters", filters_route),
    Route("filters_layout", filters_layout_route),
    Route("filter_values", filter_values_route),
)
