"""The deepviz TensorBoard plugin and its loader: routes under ``/data/plugin/deepviz/``.

The routes themselves live in ``server.routes`` (one module per feature); this module serves
them and holds what they share, in one place: every failure a request can cause becomes a 4xx
``{"error": ...}``; answers with an identity are kept in a response cache and sent with an ETag
(304 when the client has it), those naming an explicit ``step`` marked immutable for the
browser (unless the route says the answer may still change), the others ``no-cache``
(docs/ARCHITECTURE.md, "The server and its routes").
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any, Callable

import werkzeug
from tensorboard import errors as tb_errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from ..contract import metadata
from . import routes
from .access import LogAccess
from .cache import ByteBoundedLRU
from .errors import RequestError
from .routing import Payload, Reply, Route, RouteRequest, json_payload

logger = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")
BUNDLE_NAME = "index.js"
IMMUTABLE = "private, max-age=31536000, immutable"
REVALIDATE = "no-cache"
RESPONSE_CACHE_BYTES = 256 << 20

WSGIApp = Callable[[dict, Callable], Any]


class DeepVizPlugin(base_plugin.TBPlugin):
    """Serves the deepviz dashboard and its data."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext, route_table: tuple[Route, ...] = routes.ROUTES) -> None:
        hints = context.sampling_hints or {}
        self._access = LogAccess(context.data_provider, downsample=int(hints.get(metadata.PLUGIN_NAME, 0)))
        self._responses = ByteBoundedLRU(RESPONSE_CACHE_BYTES, lambda payload: len(payload.body) + 256)
        self._routes = route_table

    # ------------------------------------------------------------ TBPlugin API

    def get_plugin_apps(self) -> dict[str, WSGIApp]:
        apps: dict[str, WSGIApp] = {"/" + route.name: self._application(route) for route in self._routes}
        apps["/" + BUNDLE_NAME] = serve_bundle
        return apps

    def is_active(self) -> bool:
        """True when some run has deepviz data (TensorBoard asks this only without a data provider listing)."""
        try:
            from tensorboard import context as tb_context

            return bool(self._access.listing(tb_context.RequestContext(), ""))
        except Exception:  # an inactive tab is the safe answer for a listing that failed
            return False

    def data_plugin_names(self) -> tuple[str, ...]:
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self) -> base_plugin.FrontendMetadata:
        return base_plugin.FrontendMetadata(es_module_path="/" + BUNDLE_NAME, tab_name="deepviz")

    # ------------------------------------------------------------ plumbing

    def _application(self, route: Route) -> WSGIApp:
        """The WSGI application of one route: errors, response cache, ETag and Cache-Control."""

        @wrappers.Request.application
        def app(request: wrappers.Request) -> wrappers.Response:
            try:
                experiment = self._access.for_experiment(
                    plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)
                )
                # Inside the try: query bytes that are not UTF-8 fail while the route reads its
                # parameters, as a ValueError (400).
                reply = route.handler(RouteRequest(request.args, experiment, self._memo))
                cache_control = IMMUTABLE if request.args.get("step") and reply.final else REVALIDATE
                etag = _etag(reply.identity) if reply.identity is not None else None
                if etag is not None and etag in request.headers.get("If-None-Match", ""):
                    return werkzeug.Response(status=304, headers=[("ETag", etag), ("Cache-Control", cache_control)])
                payload = self._payload(reply)
            except RequestError as error:
                return _error_response(request, error.status, str(error))
            except tb_errors.PublicError as error:
                return _error_response(request, getattr(error, "http_code", 400), str(error))
            except ValueError as error:  # an argument the renderers or decoders refused
                return _error_response(request, 400, str(error))
            except Exception:
                logger.exception("deepviz: route %s failed for %s", route.name, request.full_path)
                return _error_response(request, 500, "internal error; see the TensorBoard log")
            headers = [("ETag", etag)] if etag is not None else []
            response = http_util.Respond(request, payload.body, payload.content_type, headers=headers)
            response.headers["Cache-Control"] = cache_control
            return response

        return app

    def _payload(self, reply: Reply) -> Payload:
        if reply.identity is not None and reply.keep:
            payload: Payload = self._responses.get_or_compute(reply.identity, reply.compute)
            return payload
        return reply.compute()

    def _memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """A JSON value kept in the response cache (as its JSON text, which also sizes it)."""
        payload = self._responses.get_or_compute(key, lambda: json_payload(compute()))
        return json.loads(payload.body)


def _etag(identity: tuple) -> str:
    return '"' + hashlib.sha1(repr(identity).encode("utf-8")).hexdigest() + '"'


@wrappers.Request.application
def serve_bundle(request: wrappers.Request) -> wrappers.Response:
    """The dashboard's ES module, read from ``static/`` on every request (``make frontend`` replaces it)."""
    path = os.path.join(STATIC_DIR, BUNDLE_NAME)
    try:
        with open(path, "rb") as bundle:
            body = bundle.read()
    except OSError:
        return _error_response(request, 404, "the dashboard bundle is not built; run `make frontend`")
    # An explicit type: the OS's MIME table has served ES modules with the wrong one.
    return http_util.Respond(request, body, "text/javascript", headers=[("Cache-Control", REVALIDATE)])


def _error_response(request: wrappers.Request, status: int, message: str) -> wrappers.Response:
    response = http_util.Respond(request, {"error": message}, "application/json", code=status)
    response.headers["Cache-Control"] = REVALIDATE
    return response


class DeepVizLoader(base_plugin.TBLoader):
    """Loads the plugin and keeps every deepviz checkpoint in TensorBoard's reservoirs.

    TensorBoard keeps 10 steps of a third-party plugin's records by default; ``fix_flags``
    runs before the data ingester exists, so raising the default there reaches both the
    Python loader and the Rust data server. An explicit ``--samples_per_plugin=deepviz=N``
    still wins.
    """

    def fix_flags(self, flags: Any) -> None:
        samples = getattr(flags, "samples_per_plugin", None)
        if isinstance(samples, dict):
            samples.setdefault(metadata.PLUGIN_NAME, 0)

    def load(self, context: base_plugin.TBContext) -> DeepVizPlugin:
        return DeepVizPlugin(context)
