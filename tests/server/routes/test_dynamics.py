"""routes.dynamics: statistics over every step, and the run's first anomaly."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.server.errors import NotFound, RequestError
from tensorboard_deepviz.server.routes import dynamics
from tests.server.small_log import RUN, route_request, small_log, statistics
from tests.support.fakelog import FakeLog


def test_series_per_layer_in_the_models_order():
    body = dynamics.answer_dynamics(small_log().run(RUN))
    assert body["stat"] == "norm" and body["source"] == "weights" and list(body["series"]) == ["stem", "head"]
    assert body["series"]["head"] == {
        "steps": [0, 1, 2],
        "values": [0.5, 1.5, 2.5],
        "nan_steps": [],
        "inf_steps": [],
        "total_steps": 3,
    }
    assert body["first_anomaly"] is None


def test_steps_where_a_source_was_not_recorded_are_left_out():
    body = dynamics.answer_dynamics(small_log().run(RUN), layers="stem", source="gradients")
    assert list(body["series"]) == ["stem"] and body["series"]["stem"]["steps"] == [1, 2]


def test_the_first_anomaly_is_found_whatever_layers_are_shown():
    body = dynamics.answer_dynamics(small_log(nan_layer="head").run(RUN), layers="stem", stat="nan_count")
    assert body["first_anomaly"] == {
        "step": 2,
        "layer": "head",
        "sources": [{"source": "weights", "nan_count": 2, "inf_count": 0}],
    }
    assert body["series"]["stem"]["nan_steps"] == []


def test_downsampling_keeps_the_nan_steps():
    log = FakeLog()
    for step in range(50):
        log.add(
            "long",
            summary.layer_statistics_summary("conv", statistics(step, "conv" if step == 17 else None, "conv")),
            step,
        )
    series = dynamics.layer_series(
        log.run("long").statistics([log.run("long").tag("statistics", "conv")])["conv"], "norm", "weights", 4
    )
    assert 17 in series["steps"] and series["nan_steps"] == [17] and series["total_steps"] == 50
    assert len(series["steps"]) < 10
    assert dynamics.layer_series([], "norm", "weights", 4)["steps"] == []
    assert np.isclose(series["values"][0], 0.0)


def test_a_run_without_statistics_is_not_found():
    log = small_log()
    log.add("bare", summary.checkpoint_summary([]), 0)
    with pytest.raises(NotFound, match="run 'bare' has no layer statistics"):
        dynamics.answer_dynamics(log.run("bare"))


def test_the_routes_identity_changes_as_the_log_grows():
    log = small_log()
    reply = dynamics.dynamics_route(route_request(log, run=RUN, layer="head", stat="max", points="2"))
    assert reply.identity[:7] == ("dynamics", "", RUN, ("head",), "max", "weights", 2)
    log.add(RUN, summary.layer_statistics_summary("head", statistics(3)), 3)
    later = dynamics.dynamics_route(route_request(log, run=RUN, layer="head", stat="max", points="2"))
    assert later.identity != reply.identity
    with pytest.raises(RequestError, match="parameter 'stat' must be one of count, mean"):
        dynamics.dynamics_route(route_request(log, run=RUN, stat="median"))
    with pytest.raises(RequestError, match="parameter 'points' must be at least 2, got 1"):
        dynamics.dynamics_route(route_request(log, run=RUN, points="1"))
    with pytest.raises(NotFound, match="unknown layer 'fc9'"):
        dynamics.dynamics_route(route_request(log, run=RUN, layer="fc9"))
