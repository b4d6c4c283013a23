"""The deepviz TensorBoard plugin: routes under ``/data/plugin/deepviz/``.

Each handler parses its parameters, asks ``LogAccess`` (the data provider) for records, and
shapes JSON or renders a PNG. Responses for a (run, tag, step) never change, so they are
cached in memory and sent with an ETag; those naming an explicit step are also marked
immutable for the browser. Every failure a request can cause is a 4xx with ``{"error": ...}``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from typing import Any, Callable, Mapping, Optional, Sequence
from urllib.parse import urlencode

import numpy as np
import werkzeug
from tensorboard import errors as tb_errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from ..analysis import series
from ..contract import metadata
from . import params as queries
from . import render
from .access import LogAccess, NotFound, RequestError, StepRef, TagInfo, Unreadable
from .cache import ByteBoundedLRU

logger = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")
BUNDLE_NAME = "index.js"
# Direct Compare answers at most this many cells (checkpoints x layers).
MAX_COMPARE_CELLS = 400
# A thumbnail sprite holds at most this many images.
MAX_SPRITE_IMAGES = 10_000
# Filters and channels a single sprite request may select.
MAX_SELECTED_FILTERS = 4096
DEFAULT_DYNAMICS_POINTS = 500
IMMUTABLE = "private, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CHECKPOINT_KINDS = (
    metadata.KIND_PREDICTIONS,
    metadata.KIND_CONFUSION,
    metadata.KIND_CLUSTERS,
    metadata.KIND_WEIGHTS,
    metadata.KIND_ACTIVATIONS,
)


@dataclasses.dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str


def json_payload(value: Any) -> Payload:
    return Payload(json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8"), "application/json")


def png_payload(body: bytes) -> Payload:
    return Payload(body, "image/png")


def numbers(array: Any) -> list:
    """A JSON-safe list of numbers: NaN and +/-Inf become the strings JavaScript's Number() reads."""
    values = np.asarray(array)
    if values.dtype.kind in "biu":
        return values.tolist()
    values = values.astype(np.float64)
    listed = values.tolist()
    if np.isfinite(values).all():
        return listed
    return _replace_nonfinite(listed)


def _replace_nonfinite(value: Any) -> Any:
    if isinstance(value, list):
        return [_replace_nonfinite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


class DeepVizPlugin(base_plugin.TBPlugin):
    """Serves the deepviz dashboard and its data."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext) -> None:
        hints = context.sampling_hints or {}
        self._data_provider = context.data_provider
        self._access = LogAccess(context.data_provider, downsample=int(hints.get(metadata.PLUGIN_NAME, 0)))
        self._responses = ByteBoundedLRU(256 << 20, lambda payload: len(payload.body) + 256)

    # ------------------------------------------------------------ TBPlugin API

    def get_plugin_apps(self) -> dict[str, Callable]:
        routes: dict[str, Callable[[Any], tuple[Payload, bool]]] = {
            "/index": self._index,
            "/graph": self._graph,
            "/corpus": self._corpus,
            "/thumbnail": self._thumbnail,
            "/thumbnails": self._thumbnails,
            "/thumbnails_layout": self._thumbnails_layout,
            "/filters": self._filters,
            "/filters_layout": self._filters_layout,
            "/filter_values": self._filter_values,
            "/activations": self._activations,
            "/activations_layout": self._activations_layout,
            "/predictions": self._predictions,
            "/confusion": self._confusion,
            "/clusters": self._clusters,
            "/compare": self._compare,
            "/dynamics": self._dynamics,
        }
        apps = {route: self._application(handler) for route, handler in routes.items()}
        apps["/" + BUNDLE_NAME] = self._serve_bundle
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

    @wrappers.Request.application
    def _serve_bundle(self, request: wrappers.Request) -> wrappers.Response:
        path = os.path.join(STATIC_DIR, BUNDLE_NAME)
        try:
            with open(path, "rb") as bundle:
                body = bundle.read()
        except OSError:
            return _error_response(request, 404, "the dashboard bundle is not built; run `make frontend`")
        # An explicit type: the OS's MIME table has served ES modules with the wrong one.
        return http_util.Respond(request, body, "text/javascript", headers=[("Cache-Control", REVALIDATE)])

    def _application(self, handler: Callable[[Any], tuple[Payload, Optional[tuple]]]) -> Callable:
        @wrappers.Request.application
        def app(request: wrappers.Request) -> wrappers.Response:
            try:
                request_view = _Request(request)
                payload, identity = handler(request_view)
            except RequestError as error:
                return _error_response(request, error.status, str(error))
            except tb_errors.PublicError as error:
                return _error_response(request, getattr(error, "http_code", 400), str(error))
            except ValueError as error:  # an argument the renderers or decoders refused
                return _error_response(request, 400, str(error))
            except Exception:
                logger.exception("deepviz: %s failed", request.path)
                return _error_response(request, 500, "internal error; see the TensorBoard log")
            headers = []
            if identity is not None:
                etag = '"' + hashlib.sha1(repr(identity).encode("utf-8")).hexdigest() + '"'
                if etag in request.headers.get("If-None-Match", ""):
                    return werkzeug.Response(
                        status=304, headers=[("ETag", etag), ("Cache-Control", request_view.cache_control)]
                    )
                headers.append(("ETag", etag))
            response = http_util.Respond(request, payload.body, payload.content_type, headers=headers)
            response.headers["Cache-Control"] = request_view.cache_control
            return response

        return app

    def _cached(self, identity: tuple, compute: Callable[[], Payload]) -> tuple[Payload, tuple]:
        return self._responses.get_or_compute(identity, compute), identity

    def _tag(self, request: "_Request", kind: str, layer: str = "") -> tuple[TagInfo, StepRef]:
        """The tag and step a request names (latest step when absent)."""
        info = self._access.tag_info(request.ctx, request.experiment, request.run, kind, layer)
        step = request.step()
        ref = self._access.step_ref(request.ctx, request.experiment, request.run, info, step)
        return info, ref

    def _record(self, request: "_Request", info: TagInfo, ref: StepRef):
        return self._access.record(request.ctx, request.experiment, request.run, info, ref)

    def _identity(self, request: "_Request", route: str, info: TagInfo, ref: StepRef, *params: Any) -> tuple:
        return (route, request.experiment, request.run, info.tag, ref.step, ref.wall_time, params)

    # -------------------------------------------------------------- routes

    def _index(self, request: "_Request") -> tuple[Payload, Optional[tuple]]:
        listing = self._access.listing(request.ctx, request.experiment)
        runs = [self._describe_run(request, run, tags) for run, tags in sorted(listing.items())]
        return json_payload({"version": metadata.PROTO_VERSION, "runs": runs}), None

    def _describe_run(self, request: "_Request", run: str, tags: Mapping[str, TagInfo]) -> dict[str, Any]:
        freshness = tuple(sorted((info.tag, info.max_step, info.max_wall_time) for info in tags.values()))

        def compute() -> Payload:
            return json_payload(self._run_summary(request, run, tags))

        payload, _ = self._cached(("run-summary", request.experiment, run, freshness), compute)
        return json.loads(payload.body)

    def _run_summary(self, request: "_Request", run: str, tags: Mapping[str, TagInfo]) -> dict[str, Any]:
        ctx, experiment = request.ctx, request.experiment
        by_kind: dict[str, list[TagInfo]] = {}
        for info in tags.values():
            by_kind.setdefault(info.kind, []).append(info)
        steps_by_kind = {}
        for kind in CHECKPOINT_KINDS:
            infos = sorted(by_kind.get(kind, []), key=lambda i: i.tag)
            if infos:
                steps_by_kind[kind] = [ref.step for ref in self._access.steps(ctx, experiment, run, infos[0])]
        graph = self._optional_record(request, run, tags, metadata.KIND_GRAPH)
        corpus = self._optional_header(request, run, tags, metadata.KIND_CORPUS)
        layer_names = {info.layer for kind in metadata.PER_LAYER_KINDS for info in by_kind.get(kind, [])}
        order = (graph.fields.get("logged_layers") if graph else None) or []
        ordered = [name for name in order if name in layer_names] + sorted(layer_names - set(order))
        nodes = {node.get("module"): node for node in (graph.fields.get("nodes", []) if graph else [])}
        layers = []
        for name in ordered:
            node = nodes.get(name, {})
            layers.append(
                {
                    "name": name,
                    "kind": node.get("type", ""),
                    "output_shape": node.get("output_shape", []),
                    "parameter_shapes": node.get("parameter_shapes", {}),
                    "has_weights": metadata.tag_for(metadata.KIND_WEIGHTS, name) in tags,
                    "has_activations": metadata.tag_for(metadata.KIND_ACTIVATIONS, name) in tags,
                    "has_statistics": metadata.tag_for(metadata.KIND_STATISTICS, name) in tags,
                }
            )
        statistics_steps = {"count": 0, "first": None, "last": None}
        stats_infos = sorted(by_kind.get(metadata.KIND_STATISTICS, []), key=lambda i: i.tag)
        if stats_infos:
            first_series = self._access.statistics(ctx, experiment, run, stats_infos[:1])[stats_infos[0].layer]
            if first_series:
                statistics_steps = {
                    "count": len(first_series),
                    "first": first_series[0][0],
                    "last": first_series[-1][0],
                }
        every_step = sorted(set().union(*steps_by_kind.values())) if steps_by_kind else []
        complete = self._complete_steps(request, run, by_kind, bool(graph and graph.fields.get("checkpoint_markers")))
        checkpoints = [step for step in every_step if complete(step)]
        corpus_fields = corpus.fields if corpus else {}
        corpus_arrays = {entry["name"]: entry for entry in corpus_fields.get("_arrays", [])}
        return {
            "run": run,
            "layers": layers,
            "checkpoints": checkpoints,
            "partial_checkpoints": [step for step in every_step if not complete(step)],
            "steps_by_kind": steps_by_kind,
            "statistics_steps": statistics_steps,
            "class_names": corpus_fields.get("class_names", []),
            "corpus_size": corpus_arrays.get("labels", {}).get("shape", [0])[0],
            "thumbnail_shape": corpus_arrays.get("thumbnails", {}).get("shape", [0, 0, 0, 0])[1:],
            "kinds": sorted(by_kind),
            "cluster_layer": graph.fields.get("cluster_layer", "") if graph else "",
        }

    def _complete_steps(
        self, request: "_Request", run: str, by_kind: Mapping[str, list[TagInfo]], marked_by_writer: bool
    ) -> Callable[[int], bool]:
        """Which checkpoint steps have every record written (a live log's newest may not yet).

        DeepViz adds a checkpoint's records one after another, then a marker record naming
        them, and says so in the graph it writes first. Readers see a log's records in the
        order they were written, so a step is complete once its marker is seen, or once any
        record of a later step is, or (records added without DeepViz) once every tag the last
        marker named has reached it. Logs without markers count a step complete once every
        checkpoint tag has reached it.
        """
        markers = by_kind.get(metadata.KIND_CHECKPOINT, [])
        max_steps = {info.tag: info.max_step for infos in by_kind.values() for info in infos}
        if not markers and not marked_by_writer:
            checkpoint_tags = [info.tag for kind in CHECKPOINT_KINDS for info in by_kind.get(kind, [])]
            written_up_to = min((max_steps[tag] for tag in checkpoint_tags), default=-1)
            return lambda step: step <= written_up_to
        newest = max(max_steps.values())
        marked: set[int] = set()
        expected: list[str] = []
        if markers:
            refs = self._access.steps(request.ctx, request.experiment, run, markers[0])
            marked = {ref.step for ref in refs}
            try:
                last = self._access.record(request.ctx, request.experiment, run, markers[0], refs[-1], header_only=True)
                tags = last.fields.get("tags")
                expected = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
            except (IndexError, RequestError):  # no readable marker: only the other rules apply
                expected = []

        def complete(step: int) -> bool:
            if step < newest or step in marked:
                return True
            return bool(expected) and all(max_steps.get(tag, -1) >= step for tag in expected)

        return complete

    def _optional_record(self, request: "_Request", run: str, tags: Mapping[str, TagInfo], kind: str):
        info = tags.get(metadata.tag_for(kind))
        if info is None:
            return None
        refs = self._access.steps(request.ctx, request.experiment, run, info)
        return self._access.record(request.ctx, request.experiment, run, info, refs[-1]) if refs else None

    def _optional_header(self, request: "_Request", run: str, tags: Mapping[str, TagInfo], kind: str):
        info = tags.get(metadata.tag_for(kind))
        if info is None:
            return None
        refs = self._access.steps(request.ctx, request.experiment, run, info)
        if not refs:
            return None
        return self._access.record(request.ctx, request.experiment, run, info, refs[-1], header_only=True)

    def _graph(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_GRAPH)
        return self._cached(
            self._identity(request, "graph", info, ref), lambda: json_payload(self._record(request, info, ref).fields)
        )

    def _corpus_record(self, request: "_Request"):
        info, ref = self._tag(request, metadata.KIND_CORPUS)
        return info, ref, self._record(request, info, ref)

    def _corpus(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_CORPUS)

        def compute() -> Payload:
            record = self._record(request, info, ref)
            labels = record.arrays["labels"]
            return json_payload(
                {
                    "count": int(len(labels)),
                    "class_names": record.fields.get("class_names", []),
                    "labels": labels.tolist(),
                    "ids": record.fields.get("ids"),
                    "captions": record.fields.get("captions"),
                    "thumbnail_shape": list(record.arrays["thumbnails"].shape[1:]),
                }
            )

        return self._cached(self._identity(request, "corpus", info, ref), compute)

    def _thumbnail(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_CORPUS)
        index = queries.integer(request.args, "index", required=True, minimum=0)

        def compute() -> Payload:
            thumbnails = self._record(request, info, ref).arrays["thumbnails"]
            if index >= len(thumbnails):
                raise NotFound(f"image {index} outside the corpus of {len(thumbnails)} images")
            return png_payload(render.render_image(thumbnails[index]))

        return self._cached(self._identity(request, "thumbnail", info, ref, index), compute)

    def _sprite_indices(self, request: "_Request", count: int) -> list[int]:
        return queries.select_indices(request.args.get("indices"), count, "indices", limit=MAX_SPRITE_IMAGES)

    def _thumbnails(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_CORPUS)
        columns = queries.integer(request.args, "columns", minimum=1, maximum=MAX_SPRITE_IMAGES)

        def compute() -> Payload:
            thumbnails = self._record(request, info, ref).arrays["thumbnails"]
            indices = self._sprite_indices(request, len(thumbnails))
            body, _ = render.render_thumbnails(thumbnails[indices], columns=columns)
            return png_payload(body)

        key = (request.args.get("indices", ""), columns)
        return self._cached(self._identity(request, "thumbnails", info, ref, key), compute)

    def _thumbnails_layout(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_CORPUS)
        columns = queries.integer(request.args, "columns", minimum=1, maximum=MAX_SPRITE_IMAGES)
        record = self._record(request, info, ref)
        thumbnails = record.arrays["thumbnails"]
        indices = self._sprite_indices(request, len(thumbnails))
        layout = render.thumbnails_layout(len(indices), thumbnails.shape[1:3], columns=columns)
        layout["indices"] = indices
        return json_payload(layout), self._identity(
            request, "thumbnails_layout", info, ref, request.args.get("indices", ""), columns
        )

    # Filters ------------------------------------------------------------------

    def _filter_request(self, request: "_Request"):
        layer = request.layer()
        norm = queries.choice(request.args, "norm", ("filter", "layer", "global"), "filter")
        info, ref = self._tag(request, metadata.KIND_WEIGHTS, layer)
        weights = self._weights_record(request, info, ref).arrays["weights"]
        selected = queries.select_indices(
            request.args.get("filters"), len(weights), "filters", limit=MAX_SELECTED_FILTERS
        )
        value_range = self._global_range(request, info) if norm == "global" else None
        rgb = weights.ndim == 4 and weights.shape[1] == 3 and self._is_first_layer(request, layer)
        return info, ref, weights, selected, norm, value_range, rgb

    def _weights_record(self, request: "_Request", info: TagInfo, ref: StepRef):
        """A weights record whose array has a filter axis (a crafted log might hold a scalar)."""
        record = self._record(request, info, ref)
        if record.arrays["weights"].ndim == 0:
            raise Unreadable(f"{info.tag} at step {ref.step} holds a scalar, not a filter bank")
        return record

    def _is_first_layer(self, request: "_Request", layer: str) -> bool:
        """A layer fed directly by the input: its 3 channels are the image's colours."""
        tags = self._access.run_tags(request.ctx, request.experiment, request.run)
        graph = self._optional_record(request, request.run, tags, metadata.KIND_GRAPH)
        if graph is None:
            return False
        return any(
            edge.get("source") == "input" and edge.get("target") == layer for edge in graph.fields.get("edges", [])
        )

    def _global_range(self, request: "_Request", info: TagInfo) -> tuple[float, float]:
        """Range of a layer's finite weights over every checkpoint, from the record headers alone."""
        refs = self._access.steps(request.ctx, request.experiment, request.run, info)
        key = ("global-range", request.experiment, request.run, info.tag, refs[-1].step, refs[-1].wall_time, len(refs))
        cached = self._responses.get(key)
        if cached is not None:
            low, high = json.loads(cached.body)
            return low, high
        low, high = math.inf, -math.inf
        for header in self._access.headers(request.ctx, request.experiment, request.run, info, refs):
            low = min(low, float(header.fields.get("finite_min", 0.0)))
            high = max(high, float(header.fields.get("finite_max", 0.0)))
        self._responses.put(key, json_payload([low, high]))
        return low, high

    def _filters(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref, weights, selected, norm, value_range, rgb = self._filter_request(request)

        def compute() -> Payload:
            body, _ = render.render_filters(weights[selected], norm=norm, value_range=value_range, rgb=rgb)
            return png_payload(body)

        params = (norm, value_range, request.args.get("filters", ""))
        return self._cached(self._identity(request, "filters", info, ref, *params), compute)

    def _filters_layout(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref, weights, selected, norm, value_range, rgb = self._filter_request(request)

        def compute() -> Payload:
            _, layout = render.render_filters(weights[selected], norm=norm, value_range=value_range, rgb=rgb)
            layout.update(filter_indices=selected, value_range=list(value_range) if value_range else None)
            return json_payload(layout)

        params = (norm, value_range, request.args.get("filters", ""))
        return self._cached(self._identity(request, "filters_layout", info, ref, *params), compute)

    def _filter_values(self, request: "_Request") -> tuple[Payload, tuple]:
        layer = request.layer()
        info, ref = self._tag(request, metadata.KIND_WEIGHTS, layer)
        record = self._weights_record(request, info, ref)
        weights = record.arrays["weights"]
        index = queries.integer(request.args, "filter", required=True, minimum=0)
        if index >= len(weights):
            raise NotFound(f"filter {index} outside 0..{len(weights) - 1} of layer {layer!r}")
        # Arranged as the sprite draws it (a Conv1d kernel as one row, a BatchNorm scale as one value).
        values = render.as_filter_bank(weights)[index].astype(np.float32)
        finite = values[np.isfinite(values)]
        body = {
            "layer": layer,
            "step": ref.step,
            "filter": index,
            "shape": list(values.shape),
            "weight_shape": list(weights.shape[1:]),
            "values": numbers(values),
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None,
            "mean": float(finite.mean()) if finite.size else None,
            "norm": float(np.linalg.norm(finite)) if finite.size else None,
            "nan_count": int(np.isnan(values).sum()),
            "inf_count": int(np.isinf(values).sum()),
            "total_filters": record.fields.get("total_filters", len(weights)),
            "layer_type": record.fields.get("layer_type", ""),
        }
        return json_payload(body), self._identity(request, "filter_values", info, ref, index)

    # Activations -------------------------------------------------------------

    def _activation_request(self, request: "_Request"):
        layer = request.layer()
        norm = queries.choice(request.args, "norm", ("channel", "layer"), "channel")
        image = queries.integer(request.args, "image", required=True, minimum=0)
        info, ref = self._tag(request, metadata.KIND_ACTIVATIONS, layer)
        record = self._record(request, info, ref)
        probes = record.arrays["probe_images"].tolist()
        if image not in probes:
            raise NotFound(f"image {image} is not a probe image; activations exist for images {probes}")
        position = probes.index(image)
        return info, ref, record.arrays["codes"][position], record.arrays["ranges"][position], norm, image

    def _activations(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref, codes, ranges, norm, image = self._activation_request(request)
        return self._cached(
            self._identity(request, "activations", info, ref, image, norm),
            lambda: png_payload(render.render_activations(codes, ranges, norm=norm)[0]),
        )

    def _activations_layout(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref, codes, ranges, norm, image = self._activation_request(request)

        def compute() -> Payload:
            _, layout = render.render_activations(codes, ranges, norm=norm)
            layout.update(image=image, ranges=numbers(ranges))
            return json_payload(layout)

        return self._cached(self._identity(request, "activations_layout", info, ref, image, norm), compute)

    # Predictions, confusion, clusters -------------------------------------------

    def _predictions(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_PREDICTIONS)
        image = queries.integer(request.args, "image", minimum=0)
        record = self._record(request, info, ref)
        arrays = record.arrays
        if image is None:
            body = {
                "step": ref.step,
                "probe_images": arrays["probe_images"].tolist(),
                "probe_probabilities": numbers(arrays["probe_probabilities"]),
                "predicted": arrays["predicted"].tolist(),
                "confidence": numbers(arrays["confidence"]),
            }
            return self._cached(self._identity(request, "predictions", info, ref), lambda: json_payload(body))
        if image >= len(arrays["predicted"]):
            raise NotFound(f"image {image} outside the eval set of {len(arrays['predicted'])} images")
        probes = arrays["probe_images"].tolist()
        body = {
            "step": ref.step,
            "image": image,
            "predicted": int(arrays["predicted"][image]),
            "confidence": numbers(arrays["confidence"][image : image + 1])[0],
            "probabilities": numbers(arrays["probe_probabilities"][probes.index(image)]) if image in probes else None,
        }
        return json_payload(body), self._identity(request, "prediction", info, ref, image)

    def _confusion(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_CONFUSION)
        examples = queries.integer(request.args, "examples", minimum=0, maximum=MAX_SPRITE_IMAGES, default=64)

        def compute() -> Payload:
            record = self._record(request, info, ref)
            counts = record.arrays["counts"].astype(np.int64)
            offsets = record.arrays["cell_offsets"].astype(np.int64)
            images = record.arrays["cell_images"]
            classes = len(counts)
            cells = [
                images[offsets[k] : min(offsets[k + 1], offsets[k] + examples)].tolist()
                for k in range(classes * classes)
            ]
            total = int(counts.sum())
            diagonal = np.diag(counts)
            with np.errstate(invalid="ignore", divide="ignore"):
                precision = diagonal / counts.sum(axis=0)
                recall = diagonal / counts.sum(axis=1)
            return json_payload(
                {
                    "step": ref.step,
                    "counts": counts.tolist(),
                    "cell_images": [cells[t * classes : (t + 1) * classes] for t in range(classes)],
                    "accuracy": float(diagonal.sum() / total) if total else None,
                    "precision": [None if math.isnan(v) else float(v) for v in precision],
                    "recall": [None if math.isnan(v) else float(v) for v in recall],
                }
            )

        return self._cached(self._identity(request, "confusion", info, ref, examples), compute)

    def _clusters(self, request: "_Request") -> tuple[Payload, tuple]:
        info, ref = self._tag(request, metadata.KIND_CLUSTERS)

        def compute() -> Payload:
            record = self._record(request, info, ref)
            arrays = record.arrays
            return json_payload(
                {
                    "step": ref.step,
                    "layer": record.fields.get("layer", ""),
                    "metric": record.fields.get("metric", ""),
                    "nonfinite_images": record.fields.get("nonfinite_images", 0),
                    "assignment": arrays["assignment"].tolist(),
                    "nearest": arrays["nearest"].tolist(),
                    "sizes": arrays["sizes"].tolist(),
                    "majority_class": arrays["majority_class"].tolist(),
                    "purity": numbers(arrays["purity"]),
                    "projection": numbers(arrays["projection"]),
                }
            )

        return self._cached(self._identity(request, "clusters", info, ref), compute)

    # Direct Compare --------------------------------------------------------------

    def _compare(self, request: "_Request") -> tuple[Payload, Optional[tuple]]:
        tags = self._access.run_tags(request.ctx, request.experiment, request.run)
        image = queries.integer(request.args, "image", minimum=0)
        kind = metadata.KIND_ACTIVATIONS if image is not None else metadata.KIND_WEIGHTS
        norm_options = ("channel", "layer") if image is not None else ("filter", "layer", "global")
        norm = queries.choice(request.args, "norm", norm_options, norm_options[0])
        layer_tags = {info.layer: info for info in tags.values() if info.kind == kind}
        order = self._layer_order(request, tags)
        available_layers = [name for name in order if name in layer_tags]
        layers = queries.select_names(request.args.get("layers"), available_layers, "layers")
        all_steps = sorted(
            {
                ref.step
                for name in layers
                for ref in self._access.steps(request.ctx, request.experiment, request.run, layer_tags[name])
            }
        )
        steps = queries.select_values(request.args.get("steps"), all_steps, "steps")
        if len(steps) * len(layers) > MAX_COMPARE_CELLS:
            raise RequestError(
                f"compare would return {len(steps)} checkpoints x {len(layers)} layers = {len(steps) * len(layers)} cells; "
                f"at most {MAX_COMPARE_CELLS} are allowed: narrow 'steps' or 'layers'"
            )
        filters_spec = request.args.get("filters", "")
        if filters_spec:
            queries.select_indices(filters_spec, MAX_SELECTED_FILTERS, "filters", limit=MAX_SELECTED_FILTERS)
        cells = []
        for step in steps:
            for layer in layers:
                present = step in {
                    ref.step
                    for ref in self._access.steps(request.ctx, request.experiment, request.run, layer_tags[layer])
                }
                query = {"run": request.run, "layer": layer, "step": str(step), "norm": norm}
                if image is not None:
                    query["image"] = str(image)
                    route = "activations"
                else:
                    route = "filters"
                    if filters_spec:
                        query["filters"] = filters_spec
                encoded = urlencode(query)
                cells.append(
                    {
                        "step": step,
                        "layer": layer,
                        "available": present,
                        "url": f"{route}?{encoded}" if present else None,
                        "layout_url": f"{route}_layout?{encoded}" if present else None,
                    }
                )
        body = {
            "kind": kind,
            "steps": steps,
            "layers": layers,
            "filters": filters_spec or None,
            "image": image,
            "cells": cells,
        }
        return json_payload(body), None

    def _layer_order(self, request: "_Request", tags: Mapping[str, TagInfo]) -> list[str]:
        graph = self._optional_record(request, request.run, tags, metadata.KIND_GRAPH)
        order = list((graph.fields.get("logged_layers") if graph else None) or [])
        others = sorted({info.layer for info in tags.values() if info.layer and info.layer not in order})
        return order + others

    # Training dynamics ---------------------------------------------------------------

    def _dynamics(self, request: "_Request") -> tuple[Payload, Optional[tuple]]:
        tags = self._access.run_tags(request.ctx, request.experiment, request.run)
        stats_tags = {info.layer: info for info in tags.values() if info.kind == metadata.KIND_STATISTICS}
        if not stats_tags:
            raise NotFound(f"run {request.run!r} has no layer statistics")
        order = [name for name in self._layer_order(request, tags) if name in stats_tags]
        layers = queries.select_names(request.args.get("layer"), order, "layer")
        stat = queries.choice(request.args, "stat", metadata.STATISTIC_NAMES, "norm")
        source = queries.choice(request.args, "source", metadata.STATISTIC_SOURCES, "weights")
        points = queries.integer(request.args, "points", minimum=2, maximum=100_000, default=DEFAULT_DYNAMICS_POINTS)
        freshness = tuple((name, stats_tags[name].max_step, stats_tags[name].max_wall_time) for name in order)

        def compute() -> Payload:
            every_layer = self._access.statistics(
                request.ctx, request.experiment, request.run, [stats_tags[n] for n in order]
            )
            return json_payload(_dynamics_body(every_layer, layers, stat, source, points))

        return self._cached(
            ("dynamics", request.experiment, request.run, tuple(layers), stat, source, points, freshness), compute
        )


def _dynamics_body(
    every_layer: Mapping[str, Sequence[tuple[int, np.ndarray]]],
    layers: Sequence[str],
    stat: str,
    source: str,
    points: int,
) -> dict[str, Any]:
    stat_index = metadata.STATISTIC_NAMES.index(stat)
    source_index = metadata.STATISTIC_SOURCES.index(source)
    nan_index = metadata.STATISTIC_NAMES.index("nan_count")
    inf_index = metadata.STATISTIC_NAMES.index("inf_count")
    result_series = {}
    for layer in layers:
        data = every_layer.get(layer, [])
        steps = np.array([step for step, _ in data], dtype=np.int64)
        rows = np.array([r for _, r in data]).reshape(len(data), len(metadata.STATISTIC_SOURCES), -1)
        values = rows[:, source_index, stat_index] if len(data) else np.zeros(0)
        present = rows[:, source_index, 0] > 0 if len(data) else np.zeros(0, dtype=bool)
        anomalous = (
            (rows[:, source_index, nan_index] > 0) | (rows[:, source_index, inf_index] > 0) if len(data) else present
        )
        keep = series.downsample_keeping_extremes(np.where(present, values, 0.0), anomalous, points)
        keep = keep[present[keep]] if len(keep) else keep
        result_series[layer] = {
            "steps": steps[keep].tolist(),
            "values": numbers(values[keep]),
            "nan_steps": steps[rows[:, source_index, nan_index] > 0].tolist() if len(data) else [],
            "inf_steps": steps[rows[:, source_index, inf_index] > 0].tolist() if len(data) else [],
            "total_steps": int(len(steps)),
        }
    return {"stat": stat, "source": source, "series": result_series, "first_anomaly": first_anomaly(every_layer)}


def first_anomaly(every_layer: Mapping[str, Sequence[tuple[int, np.ndarray]]]) -> Optional[dict[str, Any]]:
    """The earliest step at which any layer's weights, gradients or activations held NaN or Inf."""
    nan_index = metadata.STATISTIC_NAMES.index("nan_count")
    inf_index = metadata.STATISTIC_NAMES.index("inf_count")
    best = None
    for order, (layer, data) in enumerate(every_layer.items()):
        for step, rows in data:
            bad = [
                (source, int(rows[i, nan_index]), int(rows[i, inf_index]))
                for i, source in enumerate(metadata.STATISTIC_SOURCES)
                if rows[i, nan_index] > 0 or rows[i, inf_index] > 0
            ]
            if bad:
                candidate = (step, order, layer, bad)
                if best is None or candidate[:2] < best[:2]:
                    best = candidate
                break
    if best is None:
        return None
    step, _, layer, bad = best
    return {
        "step": step,
        "layer": layer,
        "sources": [{"source": s, "nan_count": n, "inf_count": i} for s, n, i in bad],
    }


class _Request:
    """The parts of a werkzeug request the handlers use."""

    def __init__(self, request: wrappers.Request) -> None:
        self.args = request.args
        self.ctx = plugin_util.context(request.environ)
        self.experiment = plugin_util.experiment_id(request.environ)
        self.cache_control = IMMUTABLE if request.args.get("step") else REVALIDATE

    @property
    def run(self) -> str:
        return queries.text(self.args, "run")

    def step(self) -> Optional[int]:
        return queries.integer(self.args, "step", minimum=0)

    def layer(self) -> str:
        return queries.text(self.args, "layer")


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
