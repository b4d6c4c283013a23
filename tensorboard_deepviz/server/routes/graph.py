"""The layer graph route: the model's modules, their shapes and the edges between them, as logged."""

from __future__ import annotations

from typing import Any

from ...contract import metadata
from ..access import RecordRef, RunAccess
from ..routing import Reply, Route, RouteRequest, json_payload


def answer_graph(run: RunAccess, at: RecordRef) -> dict[str, Any]:
    """The graph record's fields: ``nodes``, ``edges``, ``logged_layers``, ``cluster_layer``, ...."""
    return run.read(at).fields


def graph_route(request: RouteRequest) -> Reply:
    """``graph?run=[&step=]``: the layer graph (JSON)."""
    run = request.run()
    at = run.locate(metadata.KIND_GRAPH, step=request.step())
    return Reply(lambda: json_payload(answer_graph(run, at)), at.identity("graph"))


ROUTES = (Route("graph", graph_route),)
