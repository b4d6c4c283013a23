"""Training dynamics: one statistic of each layer's weights, gradients or activations over every logged step,
downsampled for drawing, with the steps that held NaN or Inf and the first anomaly of the run."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import numpy as np

from ...analysis import series
from ...analysis.anomalies import Anomaly, first_anomaly
from ...contract import metadata
from .. import params
from ..access import RunAccess, TagInfo
from ..errors import NotFound
from ..index import run_layer_order
from ..routing import Reply, Route, RouteRequest, json_payload, numbers

DEFAULT_POINTS = 500
MAX_POINTS = 100_000
DEFAULT_STATISTIC = "norm"


def statistics_tags(run: RunAccess) -> dict[str, TagInfo]:
    """``{layer: statistics tag}`` in the model's layer order; ``NotFound`` when the run has none."""
    tags = run.layers_with(metadata.KIND_STATISTICS)
    if not tags:
        raise NotFound(f"run {run.run!r} has no layer statistics")
    return {name: tags[name] for name in run_layer_order(run) if name in tags}


def layer_series(data: Sequence[tuple[int, np.ndarray]], stat: str, source: str, points: int) -> dict[str, Any]:
    """One layer's ``stat`` of ``source`` over its steps: about ``points`` of them, spikes and NaN/Inf steps kept.

    Returns:
      ``{"steps", "values", "nan_steps", "inf_steps", "total_steps"}``; steps where the source was
      not recorded (e.g. no gradient yet) are left out.
    """
    if not data:
        return {"steps": [], "values": [], "nan_steps": [], "inf_steps": [], "total_steps": 0}
    stat_index = metadata.STATISTIC_NAMES.index(stat)
    source_index = metadata.STATISTIC_SOURCES.index(source)
    nan_index = metadata.STATISTIC_NAMES.index("nan_count")
    inf_index = metadata.STATISTIC_NAMES.index("inf_count")
    steps = np.array([step for step, _ in data], dtype=np.int64)
    rows = np.array([r for _, r in data]).reshape(len(data), len(metadata.STATISTIC_SOURCES), -1)[:, source_index]
    values = rows[:, stat_index]
    present = rows[:, 0] > 0  # the "count" column: 0 where the source was not recorded
    nan_steps = rows[:, nan_index] > 0
    inf_steps = rows[:, inf_index] > 0
    keep = series.downsample_keeping_extremes(np.where(present, values, 0.0), nan_steps | inf_steps, points)
    keep = keep[present[keep]] if len(keep) else keep
    return {
        "steps": steps[keep].tolist(),
        "values": numbers(values[keep]),
        "nan_steps": steps[nan_steps].tolist(),
        "inf_steps": steps[inf_steps].tolist(),
        "total_steps": len(steps),
    }


def answer_dynamics(
    run: RunAccess,
    *,
    layers: Optional[str] = None,
    stat: str = DEFAULT_STATISTIC,
    source: str = metadata.STATISTIC_SOURCES[0],
    points: int = DEFAULT_POINTS,
) -> dict[str, Any]:
    """Series of ``stat`` (one of ``STATISTIC_NAMES``) of ``source`` (one of ``STATISTIC_SOURCES``) per layer.

    Args:
      run: the run's records.
      layers: which layers (``params.select_names``, in the model's order); all when None.
      stat, source: the statistic and what it was measured on.
      points: about how many points each series keeps (``analysis.series``).

    Returns:
      ``{"stat", "source", "series": {layer: layer_series(...)}, "first_anomaly"}``; the first
      anomaly (``analysis.anomalies.first_anomaly``, over every layer and source, not only the
      chosen ones) is ``{"step", "layer", "sources": [{"source", "nan_count", "inf_count"}]}`` or None.
    """
    tags = statistics_tags(run)
    chosen = params.select_names(layers, list(tags), "layer")
    every_layer = run.statistics(list(tags.values()))
    anomaly = first_anomaly(every_layer)
    return {
        "stat": stat,
        "source": source,
        "series": {layer: layer_series(every_layer.get(layer, []), stat, source, points) for layer in chosen},
        "first_anomaly": anomaly_json(anomaly),
    }


def anomaly_json(anomaly: Optional[Anomaly]) -> Optional[dict[str, Any]]:
    """``{"step", "layer", "sources": [{"source", "nan_count", "inf_count"}]}``, or None."""
    if anomaly is None:
        return None
    return {"step": anomaly.step, "layer": anomaly.layer, "sources": [dataclasses.asdict(s) for s in anomaly.sources]}


def dynamics_route(request: RouteRequest) -> Reply:
    """``dynamics?run=[&layer=][&stat=norm][&source=weights][&points=500]``: the series (JSON)."""
    run = request.run()
    tags = statistics_tags(run)
    layers = request.args.get("layer")
    chosen = params.select_names(layers, list(tags), "layer")
    stat = params.choice(request.args, "stat", metadata.STATISTIC_NAMES, DEFAULT_STATISTIC)
    source = params.choice(request.args, "source", metadata.STATISTIC_SOURCES)
    points = params.optional_integer(request.args, "points", minimum=2, maximum=MAX_POINTS, default=DEFAULT_POINTS)
    # The series grow with the log: the newest step of every layer is part of the answer's name.
    freshness = tuple((name, info.max_step, info.max_wall_time) for name, info in tags.items())
    return Reply(
        lambda: json_payload(answer_dynamics(run, layers=layers, stat=stat, source=source, points=points)),
        ("dynamics", run.experiment, run.run, tuple(chosen), stat, source, points, freshness),
    )


ROUTES = (Route("dynamics", dynamics_route),)
