"""routes.compare: Direct Compare's grid of checkpoints x layers."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from tensorboard_deepviz.server.errors import NotFound, RequestError
from tensorboard_deepviz.server.routes import compare
from tests.server.small_log import RUN, route_request, small_log


@pytest.fixture(scope="module")
def run():
    return small_log(checkpoints=(0, 2, 4)).run(RUN)


def test_every_checkpoint_and_layer_in_the_models_order(run):
    body = compare.answer_compare(run)
    assert body["kind"] == "weights" and body["steps"] == [0, 2, 4] and body["layers"] == ["stem", "head"]
    assert [(cell["step"], cell["layer"]) for cell in body["cells"][:3]] == [(0, "stem"), (0, "head"), (2, "stem")]
    route, _, query = body["cells"][1]["url"].partition("?")
    assert route == "filters" and dict(parse_qsl(query)) == {"run": RUN, "layer": "head", "step": "0", "norm": "filter"}
    assert body["cells"][1]["layout_url"].startswith("filters_layout?")


def test_selections_narrow_the_grid_and_carry_the_filters(run):
    body = compare.answer_compare(run, layers="head", steps="2:", filters="0:1", norm="global")
    assert body["steps"] == [2, 4] and body["layers"] == ["head"] and body["filters"] == "0:1"
    query = dict(parse_qsl(body["cells"][0]["url"].partition("?")[2]))
    assert query == {"run": RUN, "layer": "head", "step": "2", "norm": "global", "filters": "0:1"}


def test_with_an_image_the_cells_are_activations_of_the_layers_that_have_them(run):
    body = compare.answer_compare(run, image=3, steps="0,4")
    assert body["kind"] == "activations" and body["layers"] == ["stem"] and body["image"] == 3
    query = dict(parse_qsl(body["cells"][0]["url"].partition("?")[2]))
    assert query == {"run": RUN, "layer": "stem", "step": "0", "norm": "channel", "image": "3"}


def test_a_layer_without_a_checkpoint_gets_an_unavailable_cell():
    log = small_log(checkpoints=(0, 2))
    from tensorboard_deepviz import summary
    from tests.server.small_log import stem_weights

    log.add(RUN, summary.weights_summary("stem", stem_weights(3)), 3)
    body = compare.answer_compare(log.run(RUN), steps="3")
    assert [(cell["layer"], cell["available"], cell["url"]) for cell in body["cells"]] == [
        ("stem", True, body["cells"][0]["url"]),
        ("head", False, None),
    ]


def test_too_many_cells_or_bad_selections_are_refused(run, monkeypatch):
    monkeypatch.setattr(compare, "MAX_COMPARE_CELLS", 4)
    with pytest.raises(RequestError, match="3 checkpoints x 2 layers = 6 cells; at most 4 are allowed"):
        compare.answer_compare(run)
    with pytest.raises(NotFound, match=r"steps \[3\] not available"):
        compare.answer_compare(run, steps="3")
    with pytest.raises(NotFound, match="unknown layers 'fc9'; available: stem, head"):
        compare.answer_compare(run, layers="stem,fc9")
    with pytest.raises(RequestError, match="'filters' has an empty or negative range '5:2'"):
        compare.answer_compare(run, steps="0", filters="5:2")


def test_the_route_has_no_identity_and_checks_the_norm_for_the_kind():
    log = small_log()
    reply = compare.compare_route(route_request(log, run=RUN, image="0", norm="layer"))
    assert reply.identity is None and reply.compute().content_type == "application/json"
    with pytest.raises(RequestError, match="parameter 'norm' must be one of channel, layer; got 'filter'"):
        compare.compare_route(route_request(log, run=RUN, image="0", norm="filter"))
    with pytest.raises(NotFound, match="unknown run 'x'"):
        compare.compare_route(route_request(log, run="x", norm="bad"))


def test_compare_lays_several_runs_side_by_side_with_each_cell_naming_its_run():
    from tensorboard_deepviz.server.routes import compare as compare_module
    from tests.server import small_log as data
    from tests.support.fakelog import FakeLog

    log = FakeLog()
    data.write_run(log, "first", checkpoints=(0, 2))
    data.write_run(log, "second", checkpoints=(0, 2))
    body = compare_module.answer_compare_runs([log.run("first"), log.run("second")], layers="stem")
    assert body["runs"] == ["first", "second"]
    assert [grid["steps"] for grid in body["grids"]] == [[0, 2], [0, 2]]
    assert [(cell["run"], cell["step"]) for cell in body["cells"]] == [
        ("first", 0),
        ("first", 2),
        ("second", 0),
        ("second", 2),
    ]
    assert "run=second" in body["cells"][2]["url"]
