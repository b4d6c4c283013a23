"""Views on a log written under the checkpoint byte budget: what was kept answers, what was not is named.

A deep model's log (``writer.budget``) keeps a deeper layer's first filters only (its weights
record's ``total_filters`` says how many it has) and activations for one layer per stage; every
layer keeps its statistics. Here: ``stem`` whole, ``block`` with filters 0-1 of 8 and no
activations, ``head`` with activations.
"""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server import index
from tensorboard_deepviz.server.errors import NotFound
from tensorboard_deepviz.server.routes import activations, filters
from tests.server.small_log import route_request
from tests.support.fakelog import FakeLog

RUN = "deep"
PROBES = [0, 1]
STEPS = (10, 20)


def _block_weights(step: int) -> np.ndarray:
    """The first 2 of the block's 8 filters, as the writer keeps them at every checkpoint."""
    return np.random.default_rng(step).standard_normal((2, 4, 3, 3)).astype(np.float16)


@pytest.fixture(scope="module")
def log() -> FakeLog:
    log = FakeLog()
    rng = np.random.default_rng(0)
    for step in STEPS:
        log.add(RUN, summary.weights_summary("stem", rng.standard_normal((4, 3, 3, 3)), layer_type="Conv2d"), step)
        log.add(RUN, summary.weights_summary("block", _block_weights(step), layer_type="Conv2d", total_filters=8), step)
        log.add(RUN, summary.weights_summary("head", rng.standard_normal((3, 8)), layer_type="Linear"), step)
        log.add(RUN, summary.activations_summary("head", rng.standard_normal((2, 3)), PROBES), step)
        for layer in ("stem", "block", "head"):
            log.add(RUN, summary.layer_statistics_summary(layer, rng.random((3, len(metadata.STATISTIC_NAMES)))), step)
    return log


def test_a_layer_with_its_first_filters_only_draws_them_and_says_how_many_it_has(log):
    run = log.run(RUN)
    at = run.locate(metadata.KIND_WEIGHTS, "block", 20)
    layout = filters.answer_filters_layout(run, at, norm="filter")
    assert layout["filters"] == 2 and layout["kept_filters"] == 2 and layout["total_filters"] == 8
    assert filters.answer_filters(run, at, norm="filter").startswith(b"\x89PNG")
    values = filters.answer_filter_values(run, at, 1)
    np.testing.assert_array_equal(np.asarray(values["values"], dtype=np.float16), _block_weights(20)[1])
    assert values["total_filters"] == 8


def test_a_filter_that_was_not_kept_is_named_as_not_logged(log):
    run = log.run(RUN)
    at = run.locate(metadata.KIND_WEIGHTS, "block", 20)
    with pytest.raises(NotFound, match=r"filter 5 outside 0\.\.1 of layer 'block': not logged; filters 0-1 of 8"):
        filters.answer_filter_values(run, at, 5)
    with pytest.raises(NotFound, match=r"filter 8 outside 0\.\.7"):
        filters.answer_filter_values(run, at, 8)


def test_a_whole_layer_reports_every_filter_kept(log):
    run = log.run(RUN)
    layout = filters.answer_filters_layout(run, run.locate(metadata.KIND_WEIGHTS, "stem", 10), norm="layer")
    assert layout["kept_filters"] == layout["total_filters"] == 4


def test_activations_of_a_layer_without_them_say_how_to_log_them(log):
    request = route_request(log, run=RUN, layer="block", image="0", step="20")
    with pytest.raises(NotFound) as caught:
        activations.activations_route(request)
    message = str(caught.value)
    assert "no activations for layer 'block'; layers: head" in message
    assert "not logged for this layer: add it to DeepViz(activation_layers=[...])" in message


def test_activations_of_a_kept_layer_answer(log):
    request = route_request(log, run=RUN, layer="head", image="1", step="20")
    reply = activations.activations_route(request)
    assert reply is not None
    run = log.run(RUN)
    layout = activations.answer_activations_layout(
        run, run.locate(metadata.KIND_ACTIVATIONS, "head", 20), image=1, norm="channel"
    )
    assert layout["image"] == 1


def test_an_unknown_layer_is_still_named_as_unknown(log):
    request = route_request(log, run=RUN, layer="nowhere", image="0", step="20")
    with pytest.raises(NotFound, match="has no activations for layer 'nowhere'"):
        activations.activations_route(request)


def test_the_index_says_which_layers_have_activations_and_that_every_layer_has_statistics(log):
    summary_of = index.summarize_run(log.run(RUN))
    layers = {layer["name"]: layer for layer in summary_of["layers"]}
    assert layers["block"]["has_weights"] and not layers["block"]["has_activations"]
    assert layers["head"]["has_activations"]
    assert all(layers[name]["has_statistics"] for name in ("stem", "block", "head"))
