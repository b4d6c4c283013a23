"""The plugin's plumbing, without a TensorBoard app: errors, ETag and 304, Cache-Control, the response cache, the route table."""

from __future__ import annotations

import json
import logging
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard import errors as tb_errors
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server import plugin, routes
from tensorboard_deepviz.server.errors import NotFound, Unreadable
from tensorboard_deepviz.server.routing import Reply, Route, json_payload
from tests.server.small_log import RUN, small_log
from tests.support.fakelog import FakeLog

# The HTTP contract: every route the dashboard calls (docs/ARCHITECTURE.md, "The server and its routes").
ROUTE_NAMES = [
    "index",
    "graph",
    "corpus",
    "thumbnail",
    "thumbnails",
    "thumbnails_layout",
    "filters",
    "filters_layout",
    "filter_values",
    "activations",
    "activations_layout",
    "predictions",
    "confusion",
    "clusters",
    "compare",
    "dynamics",
    "units",
    "top_images",
    "top_images_sprite",
    "units_history",
    "class_pair_units",
    "attribution",
    "findings",
    "confusion_diff",
    "filter_match",
    "layer_similarity",
    "feature_vis",
    "feature_vis_sprite",
    "feature_vis_layout",
]


def _plugin(route_table=routes.ROUTES, log=None) -> plugin.DeepVizPlugin:
    context = base_plugin.TBContext(data_provider=log or small_log(), sampling_hints={})
    return plugin.DeepVizPlugin(context, route_table)


def _client(deepviz: plugin.DeepVizPlugin, route: str) -> werkzeug_test.Client:
    return werkzeug_test.Client(deepviz.get_plugin_apps()["/" + route])


def test_every_route_of_the_http_contract_is_served_with_the_bundle():
    assert [route.name for route in routes.ROUTES] == ROUTE_NAMES
    assert set(_plugin().get_plugin_apps()) == {"/" + name for name in ROUTE_NAMES} | {"/index.js"}


def test_route_names_are_unique_and_each_module_exports_its_routes():
    names = [route.name for module in routes.MODULES for route in module.ROUTES]
    assert len(names) == len(set(names))


def test_an_answer_with_an_identity_has_an_etag_and_a_304_for_a_client_that_has_it():
    client = _client(_plugin(), "confusion")
    first = client.get("/", query_string={"run": RUN})
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.headers["Cache-Control"] == "no-cache" and first.headers["ETag"].startswith('"')
    assert json.loads(first.get_data())["step"] == 2
    again = client.get("/", query_string={"run": RUN}, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"] and not again.get_data()
    pinned = client.get("/", query_string={"run": RUN, "step": "2"})
    assert pinned.headers["Cache-Control"] == plugin.IMMUTABLE and pinned.headers["ETag"] == first.headers["ETag"]


def test_an_answer_without_an_identity_has_no_etag():
    response = _client(_plugin(), "index").get("/")
    assert response.status_code == 200 and "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "no-cache"
    assert [run["run"] for run in json.loads(response.get_data())["runs"]] == [RUN]


@pytest.mark.parametrize(
    "raised, status, message",
    [
        (NotFound("no such layer"), 404, "no such layer"),
        (Unreadable("record cut off"), 422, "record cut off"),
        (ValueError("a renderer refused"), 400, "a renderer refused"),
        (tb_errors.NotFoundError("no experiment"), 404, "no experiment"),
        (RuntimeError("a bug"), 500, "internal error; see the TensorBoard log"),
    ],
)
def test_every_failure_is_a_json_error_with_its_status(raised, status, message, caplog):
    def failing(request):
        def compute():
            raise raised

        return Reply(compute, ("failing",))

    with caplog.at_level(logging.ERROR):
        response = _client(_plugin((Route("failing", failing),)), "failing").get("/", query_string={"step": "1"})
    assert response.status_code == status and message in response.get_json()["error"]
    assert response.headers["Cache-Control"] == "no-cache" and "ETag" not in response.headers
    assert ("deepviz: route failing failed for /?step=1" in caplog.text) == (status == 500)


def test_bad_parameters_and_bytes_are_400s():
    deepviz = _plugin()
    assert _client(deepviz, "confusion").get("/").get_json() == {"error": "missing required parameter 'run'"}
    raw = _client(deepviz, "index").get("/", environ_overrides={"QUERY_STRING": "\x80"})
    assert raw.status_code == 400 and "error" in raw.get_json()


def test_kept_answers_are_computed_once_and_a_304_computes_nothing():
    computed = []

    def counted(keep):
        def handler(request):
            def compute():
                computed.append(keep)
                return json_payload({"n": len(computed)})

            return Reply(compute, ("counted", keep), keep=keep)

        return handler

    deepviz = _plugin((Route("kept", counted(True)), Route("fresh", counted(False))))
    kept, fresh = _client(deepviz, "kept"), _client(deepviz, "fresh")
    assert kept.get("/").get_data() == kept.get("/").get_data()
    assert computed == [True]
    etag = fresh.get("/").headers["ETag"]
    fresh.get("/")
    assert computed == [True, False, False]
    assert fresh.get("/", headers={"If-None-Match": etag}).status_code == 304
    assert computed == [True, False, False]


def test_values_a_route_remembers_share_the_response_cache():
    calls = []

    def remembering(request):
        value = request.memo(("value",), lambda: calls.append(1) or [1.5, 2.5])
        return Reply(lambda: json_payload(value))

    client = _client(_plugin((Route("remembering", remembering),)), "remembering")
    assert client.get("/").get_json() == [1.5, 2.5] == client.get("/").get_json()
    assert calls == [1]


def test_the_bundle_is_served_without_caching_or_named_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(plugin, "STATIC_DIR", str(tmp_path))
    bundle = _client(_plugin(), "index.js")
    assert bundle.get("/").get_json() == {"error": "the dashboard bundle is not built; run `make frontend`"}
    (tmp_path / "index.js").write_text("export function render() {}")
    response = bundle.get("/")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_plugin_is_active_with_deepviz_data_and_names_its_tab():
    assert _plugin().is_active()
    assert not _plugin(log=FakeLog()).is_active()
    assert _plugin().frontend_metadata().tab_name == "deepviz"
    assert _plugin().data_plugin_names() == (metadata.PLUGIN_NAME,)


def test_the_loader_keeps_every_checkpoint_unless_told_otherwise():
    flags = types.SimpleNamespace(samples_per_plugin={})
    plugin.DeepVizLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"deepviz": 0}
    flags.samples_per_plugin = {"deepviz": 5}
    plugin.DeepVizLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"deepviz": 5}


# One plugin for every example: its caches fill as a long-running server's do.
_FUZZED = _plugin()


@settings(max_examples=300, deadline=None)
@given(
    route=st.sampled_from(ROUTE_NAMES),
    query=st.dictionaries(
        st.sampled_from(
            ["run", "layer", "step", "norm", "image", "filter", "filters", "index", "indices", "columns"]
            + ["unit", "size", "a", "b", "limit"]
        ),
        st.sampled_from(
            ["run", "stem", "head", "0", "2", "3", "-1", "0:1", "2:0", "", "x", "global", "layer", "9" * 20]
            + ["1", "8", "48", "257", "100", "101"]
        ),
        max_size=5,
    ),
)
def test_no_query_on_the_small_log_gets_a_server_error(route, query):
    response = _client(_FUZZED, route).get("/", query_string=query)
    assert response.status_code < 500, (route, query, response.get_data(as_text=True))
