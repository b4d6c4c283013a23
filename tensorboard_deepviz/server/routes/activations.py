"""The activation routes: one probe image's activations of a layer at a checkpoint, as a sprite and its layout."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...contract import metadata
from .. import params, render
from ..access import RecordRef, RunAccess
from ..errors import NotFound, RequestError
from ..routing import Reply, Route, RouteRequest, json_payload, numbers, png_payload

ValueRange = tuple[float, float]


def probe_activations(run: RunAccess, at: RecordRef, image: int) -> tuple[np.ndarray, np.ndarray]:
    """The stored codes and ranges of probe image ``image`` (an eval-set index); ``NotFound`` for another image."""
    record = run.read(at)
    probes = record.arrays["probe_images"].tolist()
    if image not in probes:
        raise NotFound(f"image {image} is not a probe image; activations exist for images {probes}")
    position = probes.index(image)
    return record.arrays["codes"][position], record.arrays["ranges"][position]


def answer_activations(
    run: RunAccess, at: RecordRef, *, image: int, norm: str, value_range: Optional[ValueRange] = None
) -> bytes:
    """PNG sprite of probe image ``image``'s activations (``render.render_activations``; ``norm`` in
    ``ACTIVATION_NORMS``; ``value_range``, with norm "layer", the scale's ends instead of the image's own)."""
    codes, ranges = probe_activations(run, at, image)
    return render.render_activations(codes, ranges, norm=norm, value_range=value_range)[0]


def answer_activations_layout(
    run: RunAccess, at: RecordRef, *, image: int, norm: str, value_range: Optional[ValueRange] = None
) -> dict[str, Any]:
    """The layout of ``answer_activations``' sprite, with the ``image`` and the ``ranges`` of its channels."""
    codes, ranges = probe_activations(run, at, image)
    _, layout = render.render_activations(codes, ranges, norm=norm, value_range=value_range)
    layout.update(image=image, ranges=numbers(ranges))
    return layout


def locate_activations(run: RunAccess, layer: str, step: Optional[int]) -> RecordRef:
    """The layer's activations record; for a logged layer without one, ``NotFound`` saying how to log it.

    A deep model's log keeps activations for one layer per stage (the writer's byte budget);
    the other layers have weights and statistics only.
    """
    logged = run.layers_with(metadata.KIND_ACTIVATIONS)
    if layer not in logged and (
        layer in run.layers_with(metadata.KIND_WEIGHTS) or layer in run.layers_with(metadata.KIND_STATISTICS)
    ):
        raise NotFound(
            f"run {run.run!r} has no activations for layer {layer!r}; layers: {', '.join(sorted(logged)) or 'none'}. "
            f"Activations were not logged for this layer: add it to DeepViz(activation_layers=[...]) to log them"
        )
    return run.locate(metadata.KIND_ACTIVATIONS, layer, step)


def _query(request: RouteRequest) -> tuple[RunAccess, RecordRef, int, str, Optional[ValueRange]]:
    run = request.run()
    layer = request.layer()
    norm = params.choice(request.args, "norm", render.ACTIVATION_NORMS)
    image = params.integer(request.args, "image", minimum=0)
    value_range = params.optional_range(request.args, "range")
    if value_range is not None and norm != "layer":
        raise RequestError("parameter 'range' needs norm=layer (one scale for the whole layer)")
    return run, locate_activations(run, layer, request.step()), image, norm, value_range


def _identity(image: int, norm: str, value_range: Optional[ValueRange]) -> tuple:
    """What the answer depends on besides the record (the range only when given: earlier identities stay)."""
    return (image, norm) if value_range is None else (image, norm, value_range)


def activations_route(request: RouteRequest) -> Reply:
    """``activations?run=&layer=&image=[&step=][&norm=channel|layer][&range=low,high]``: PNG sprite.

    ``range`` (with norm=layer) fixes the colour scale's ends: A and B drawn on one scale."""
    run, at, image, norm, value_range = _query(request)
    return Reply(
        lambda: png_payload(answer_activations(run, at, image=image, norm=norm, value_range=value_range)),
        at.identity("activations", *_identity(image, norm, value_range)),
    )


def activations_layout_route(request: RouteRequest) -> Reply:
    """``activations_layout``, same parameters: the sprite's layout (JSON)."""
    run, at, image, norm, value_range = _query(request)
    return Reply(
        lambda: json_payload(answer_activations_layout(run, at, image=image, norm=norm, value_range=value_range)),
        at.identity("activations_layout", *_identity(image, norm, value_range)),
    )


ROUTES = (
    Route("activations", activations_route),
    Route("activations_layout", activations_layout_route),
)
