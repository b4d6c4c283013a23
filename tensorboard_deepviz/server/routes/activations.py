"""The activation routes: one probe image's activations of a layer at a checkpoint, as a sprite and its layout."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...contract import metadata
from .. import params, render
from ..access import RecordRef, RunAccess
from ..errors import NotFound
from ..routing import Reply, Route, RouteRequest, json_payload, numbers, png_payload


def probe_activations(run: RunAccess, at: RecordRef, image: int) -> tuple[np.ndarray, np.ndarray]:
    """The stored codes and ranges of probe image ``image`` (an eval-set index); ``NotFound`` for another image."""
    record = run.read(at)
    probes = record.arrays["probe_images"].tolist()
    if image not in probes:
        raise NotFound(f"image {image} is not a probe image; activations exist for images {probes}")
    position = probes.index(image)
    return record.arrays["codes"][position], record.arrays["ranges"][position]


def answer_activations(run: RunAccess, at: RecordRef, *, image: int, norm: str) -> bytes:
    """PNG sprite of probe image ``image``'s activations (``render.render_activations``; ``norm`` in ``ACTIVATION_NORMS``)."""
    codes, ranges = probe_activations(run, at, image)
    return render.render_activations(codes, ranges, norm=norm)[0]


def answer_activations_layout(run: RunAccess, at: RecordRef, *, image: int, norm: str) -> dict[str, Any]:
    """The layout of ``answer_activations``' sprite, with the ``image`` and the ``ranges`` of its channels."""
    codes, ranges = probe_activations(run, at, image)
    _, layout = render.render_activations(codes, ranges, norm=norm)
    layout.update(image=image, ranges=numbers(ranges))
    return layout


def _query(request: RouteRequest) -> tuple[RunAccess, RecordRef, int, str]:
    run = request.run()
    layer = request.layer()
    norm = params.choice(request.args, "norm", render.ACTIVATION_NORMS)
    image = params.integer(request.args, "image", minimum=0)
    return run, run.locate(metadata.KIND_ACTIVATIONS, layer, request.step()), image, norm


def activations_route(request: RouteRequest) -> Reply:
    """``activations?run=&layer=&image=[&step=][&norm=channel|layer]``: PNG sprite."""
    run, at, image, norm = _query(request)
    return Reply(
        lambda: png_payload(answer_activations(run, at, image=image, norm=norm)),
        at.identity("activations", image, norm),
    )


def activations_layout_route(request: RouteRequest) -> Reply:
    """``activations_layout``, same parameters: the sprite's layout (JSON)."""
    run, at, image, norm = _query(request)
    return Reply(
        lambda: json_payload(answer_activations_layout(run, at, image=image, norm=norm)),
        at.identity("activations_layout", image, norm),
    )


ROUTES = (
    Route("activations", activations_route),
    Route("activations_layout", activations_layout_route),
)
