"""The predictions route: every eval image's predicted class and confidence at a checkpoint, or one image's."""

from __future__ import annotations

from typing import Any

from ...contract import metadata
from .. import params
from ..access import RecordRef, RunAccess
from ..errors import NotFound
from ..routing import Reply, Route, RouteRequest, json_payload, numbers


def answer_predictions(run: RunAccess, at: RecordRef) -> dict[str, Any]:
    """``{"step", "probe_images", "probe_probabilities", "predicted", "confidence"}`` of the whole eval set."""
    arrays = run.read(at).arrays
    return {
        "step": at.step,
        "probe_images": arrays["probe_images"].tolist(),
        "probe_probabilities": numbers(arrays["probe_probabilities"]),
        "predicted": arrays["predicted"].tolist(),
        "confidence": numbers(arrays["confidence"]),
    }


def answer_prediction(run: RunAccess, at: RecordRef, image: int) -> dict[str, Any]:
    """``{"step", "image", "predicted", "confidence", "probabilities"}`` of one eval image.

    ``probabilities`` (every class's) exist for probe images only; None for the others.
    """
    arrays = run.read(at).arrays
    if image >= len(arrays["predicted"]):
        raise NotFound(f"image {image} outside the eval set of {len(arrays['predicted'])} images")
    probes = arrays["probe_images"].tolist()
    return {
        "step": at.step,
        "image": image,
        "predicted": int(arrays["predicted"][image]),
        "confidence": numbers(arrays["confidence"][image : image + 1])[0],
        "probabilities": numbers(arrays["probe_probabilities"][probes.index(image)]) if image in probes else None,
    }


def predictions_route(request: RouteRequest) -> Reply:
    """``predictions?run=[&step=][&image=]``: the eval set's or one image's (JSON)."""
    run = request.run()
    at = run.locate(metadata.KIND_PREDICTIONS, step=request.step())
    image = params.optional_integer(request.args, "image", minimum=0)
    if image is None:
        return Reply(lambda: json_payload(answer_predictions(run, at)), at.identity("predictions"))
    return Reply(lambda: json_payload(answer_prediction(run, at, image)), at.identity("prediction", image), keep=False)


ROUTES = (Route("predictions", predictions_route),)
