"""The index route: every run with deepviz data, its layers and its checkpoints (``server.index``)."""

from __future__ import annotations

from typing import Any, Callable

from ...contract import metadata
from .. import index
from ..access import ExperimentAccess, RunAccess
from ..routing import Reply, Route, RouteRequest, json_payload

Summarize = Callable[[RunAccess], dict[str, Any]]


def answer_index(experiment: ExperimentAccess, summarize: Summarize = index.summarize_run) -> dict[str, Any]:
    """``{"version", "runs": [summarize(run) for each run, by name]}``."""
    runs = [summarize(experiment.for_run(run)) for run in sorted(experiment.listing())]
    return {"version": metadata.PROTO_VERSION, "runs": runs}


def index_route(request: RouteRequest) -> Reply:
    """``index``: every run's summary (JSON, no ETag)."""

    def summarize(run: RunAccess) -> dict[str, Any]:
        # A run's summary is read again only when one of its tags has a new step.
        tags = run.tags()
        freshness = tuple(sorted((info.tag, info.max_step, info.max_wall_time) for info in tags.values()))
        key = ("run-summary", run.experiment, run.run, freshness)
        return request.memo(key, lambda: index.summarize_run(run))

    # No identity: the index changes as logs grow.
    return Reply(lambda: json_payload(answer_index(request.experiment, summarize)))


ROUTES = (Route("index", index_route),)
