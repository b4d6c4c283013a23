"""The real TensorBoard WSGI application, with plugins loaded through their entry points."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, Callable, Iterator, Sequence

from tensorboard import default, program
from tensorboard.backend import application
from werkzeug import test as werkzeug_test

PLUGIN_ROOT = "/data/plugin/deepviz/"


class PluginClient:
    """GETs plugin routes of a TensorBoard app; ``json()`` decodes and checks the status."""

    def __init__(self, client: werkzeug_test.Client) -> None:
        self.client = client

    def get(self, route: str, **params: Any) -> Any:
        query = {key: str(value) for key, value in params.items() if value is not None}
        return self.client.get(PLUGIN_ROOT + route, query_string=query)

    def json(self, route: str, expected_status: int = 200, **params: Any) -> Any:
        response = self.get(route, **params)
        assert response.status_code == expected_status, (
            route,
            params,
            response.status_code,
            response.get_data(as_text=True),
        )
        return json.loads(response.get_data(as_text=True))


def _loaded_plugin_names() -> list[str]:
    names = []
    for plugin in default.get_dynamic_plugins():
        names.append(getattr(plugin, "__name__", repr(plugin)))
    return names


@contextlib.contextmanager
def tensorboard_app(logdir: str, loader: str, extra_flags: Sequence[str] = ()) -> Iterator[PluginClient]:
    """TensorBoard over ``logdir`` with ``loader`` ("python" or "rust"), as `tensorboard --logdir` builds it."""
    assert "DeepVizLoader" in _loaded_plugin_names(), "the deepviz entry point is not installed (pip install -e .)"
    tensorboard = program.TensorBoard(plugins=default.get_plugins())
    tensorboard.configure(
        argv=["tensorboard", "--logdir", logdir, "--load_fast", "true" if loader == "rust" else "false", *extra_flags]
    )
    data_provider, multiplexer = tensorboard._make_data_provider()
    app = application.TensorBoardWSGIApp(
        tensorboard.flags, tensorboard.plugin_loaders, data_provider, tensorboard.assets_zip_provider, multiplexer
    )
    try:
        yield PluginClient(werkzeug_test.Client(app))
    finally:
        stdin = getattr(tensorboard._ingester, "_stdin_handle", None)
        if stdin is not None:
            stdin.close()  # the Rust data server exits when its stdin closes


def wait_for(fetch: Callable[[], Any], ready: Callable[[Any], bool], timeout: float = 60.0) -> Any:
    """Poll ``fetch()`` until ``ready(value)``; the loaders ingest in the background."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not ready(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready after {timeout} s: {value!r}"[:2000])
        time.sleep(0.25)
        value = fetch()
    return value


def wait_for_checkpoints(client: PluginClient, run: str, count: int, timeout: float = 60.0) -> dict:
    """Wait until ``index`` lists ``count`` checkpoints for ``run`` and return that run's entry."""

    def run_entry() -> Any:
        runs = client.json("index")["runs"]
        return next((entry for entry in runs if entry["run"] == run), None)

    return wait_for(run_entry, lambda entry: entry is not None and len(entry["checkpoints"]) >= count, timeout)
