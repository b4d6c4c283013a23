"""The clusters route: the K-Means clusters of the eval images' features at a checkpoint, and their 2-D projection."""

from __future__ import annotations

from typing import Any

from ...contract import metadata
from ..access import RecordRef, RunAccess
from ..routing import Reply, Route, RouteRequest, json_payload, numbers


def answer_clusters(run: RunAccess, at: RecordRef) -> dict[str, Any]:
    """``{"step", "layer", "metric", "nonfinite_images", "assignment", "nearest", "sizes",
    "majority_class", "purity", "projection"}`` as the writer logged them."""
    record = run.read(at)
    arrays = record.arrays
    return {
        "step": at.step,
        "layer": record.fields.get("layer", ""),
        "metric": record.fields.get("metric", ""),
        "nonfinite_images": record.fields.get("nonfinite_images", 0),
        "assignment": arrays["assignment"].tolist(),
        "nearest": arrays["nearest"].tolist(),
        "sizes": arrays["sizes"].tolist(),
        "majority_class": arrays["majority_class"].tolist(),
        "purity": numbers(arrays["purity"]),
        "projection": numbers(arrays["projection"]),
    }


def clusters_route(request: RouteRequest) -> Reply:
    """``clusters?run=[&step=]``: the clusters (JSON)."""
    run = request.run()
    at = run.locate(metadata.KIND_CLUSTERS, step=request.step())
    return Reply(lambda: json_payload(answer_clusters(run, at)), at.identity("clusters"))


ROUTES = (Route("clusters", clusters_route),)
