"""Request parameters: every bad value is a RequestError (400) or NotFound (404) naming the parameter."""

from __future__ import annotations

import pytest

from tensorboard_deepviz.server import params
from tensorboard_deepviz.server.errors import NotFound, RequestError


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: params.text({}, "run"), "missing required parameter 'run'"),
        (lambda: params.text({"run": ""}, "run"), "missing required parameter 'run'"),
        (lambda: params.text({"run": "x" * 5000}, "run"), "parameter 'run' is too long (5000 characters)"),
        (lambda: params.integer({"filter": "x"}, "filter"), "parameter 'filter' must be an integer, got 'x'"),
        (lambda: params.integer({"filter": "1e9"}, "filter"), "'filter' must be an integer, got '1e9'"),
        (lambda: params.integer({"filter": "9" * 20}, "filter"), "'filter' must be an integer"),
        (lambda: params.integer({}, "filter"), "missing required parameter 'filter'"),
        (lambda: params.integer({"step": "-1"}, "step", minimum=0), "parameter 'step' must be at least 0, got -1"),
        (lambda: params.optional_integer({"points": "9"}, "points", maximum=5), "'points' must be at most 5, got 9"),
        (
            lambda: params.choice({"norm": "max"}, "norm", ("filter", "layer")),
            "parameter 'norm' must be one of filter, layer; got 'max'",
        ),
        (
            lambda: params.select_indices("5:2", 10, "filters", limit=10),
            "'filters' has an empty or negative range '5:2'",
        ),
        (lambda: params.select_indices("0:", 100, "filters", limit=10), "'filters' selects 100 entries; at most 10"),
        (lambda: params.select_indices("1,2,3", 10, "filters", limit=2), "'filters' selects more than 2 entries"),
        (lambda: params.select_values("a:b", [0, 1], "steps"), "parameter 'steps' must be an integer, got 'a'"),
        (lambda: params.select_names("x" * 5000, ["a"], "layers"), "parameter 'layers' is too long"),
    ],
)
def test_bad_parameters_are_request_errors_naming_the_problem(call, message):
    with pytest.raises(RequestError) as caught:
        call()
    assert type(caught.value) is RequestError and caught.value.status == 400
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: params.select_indices("3,12", 10, "indices", limit=100), "indices [12] outside 0..9"),
        (lambda: params.select_values("3", [0, 2, 4], "steps"), "steps [3] not available"),
        (
            lambda: params.select_names("conv,fc9", ["conv", "fc"], "layers"),
            "unknown layers 'fc9'; available: conv, fc",
        ),
        (lambda: params.select_names("conv:fc9", ["conv", "fc"], "layers"), "unknown layers 'fc9'"),
    ],
)
def test_selections_naming_what_the_log_lacks_are_not_found(call, message):
    with pytest.raises(NotFound) as caught:
        call()
    assert caught.value.status == 404 and message in str(caught.value)


def test_absent_parameters_take_their_defaults():
    assert params.optional_text({"run": ""}, "run") is None
    assert params.optional_integer({}, "image") is None
    assert params.optional_integer({}, "points", default=500) == 500
    assert params.optional_integer({"points": " 7"}, "points", default=500) == 7
    assert params.choice({}, "norm", ("channel", "layer")) == "channel"
    assert params.choice({}, "stat", ("count", "norm"), "norm") == "norm"


def test_selections_pick_ranges_lists_and_everything():
    assert params.select_indices(None, 4, "filters", limit=10) == [0, 1, 2, 3]
    assert params.select_indices("2:99", 4, "filters", limit=10) == [2, 3]
    assert params.select_indices(":1", 4, "filters", limit=10) == [0, 1]
    assert params.select_indices("3,1,3", 4, "filters", limit=10) == [3, 1]
    assert params.select_values("100:300", [0, 100, 200, 300, 400], "steps") == [100, 200, 300]
    assert params.select_values(":100", [0, 100, 200], "steps") == [0, 100]
    assert params.select_values("200,0,200", [0, 100, 200], "steps") == [200, 0]
    assert params.select_names("b:c", ["a", "b", "c", "d"], "layers") == ["b", "c"]
    assert params.select_names(":b", ["a", "b", "c"], "layers") == ["a", "b"]
    assert params.select_names("c,a", ["a", "b", "c"], "layers") == ["c", "a"]
    assert params.select_names("", ["a", "b"], "layers") == ["a", "b"]
