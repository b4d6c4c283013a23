"""routes.graph: the logged layer graph."""

from __future__ import annotations

import pytest

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.errors import NotFound
from tensorboard_deepviz.server.routes import graph
from tests.server.small_log import GRAPH, RUN, route_request, small_log


def test_the_graph_is_the_logged_record():
    run = small_log().run(RUN)
    assert graph.answer_graph(run, run.locate(metadata.KIND_GRAPH)) == GRAPH


def test_the_route_names_its_answer_by_record_and_refuses_a_step_the_graph_lacks():
    log = small_log()
    reply = graph.graph_route(route_request(log, run=RUN))
    assert reply.identity[:5] == ("graph", "", RUN, "deepviz/graph", 0) and reply.keep
    assert reply.compute().content_type == "application/json"
    with pytest.raises(NotFound, match="deepviz/graph in run 'run' has no step 1; steps: 0"):
        graph.graph_route(route_request(log, run=RUN, step="1"))
