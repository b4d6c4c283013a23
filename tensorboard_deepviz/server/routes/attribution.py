"""The attribution route: a probe image's Grad-CAM map at a layer and checkpoint, with one colour scale per probe.

An attribution record (``summary.attribution_summary``) holds, per probe image, the rectified
Grad-CAM map of its predicted class at the layer's resolution, not normalized, and each map's
maximum in its header. The scale a probe's maps are drawn with is the largest of its maxima over
every checkpoint of the layer, read from the records' headers alone and kept between requests
(as the filters' global range is), so maps of different checkpoints compare.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from ...contract import metadata, records
from .. import params
from ..access import RecordRef, RunAccess, TagInfo
from ..errors import NotFound, Unreadable
from ..index import run_layer_order
from ..routing import Reply, Route, RouteRequest, json_payload, numbers


def attribution_layers(run: RunAccess) -> list[str]:
    """The layers with attribution records, in the model's forward order."""
    tags = run.layers_with(metadata.KIND_ATTRIBUTION)
    return [name for name in run_layer_order(run) if name in tags]


def default_layer(layers: Sequence[str], run: str) -> str:
    """The layer an attribution request without ``layer`` reads: the only one, or the deepest (last in forward order)."""
    if not layers:
        raise NotFound(f"run {run!r} has no attribution records")
    return layers[-1]


def attribution_maxima(run: RunAccess, info: TagInfo) -> list[float]:
    """The largest map maximum of each probe position over every checkpoint of a layer, from the headers alone.

    Position ``p`` is the ``p``-th probe image of each record (``DeepViz`` picks the probe images
    once, so a position is the same image at every checkpoint). Maxima that are not finite
    numbers are ignored; a position without any counts 0.
    """
    largest: list[float] = []
    for header in run.headers(info, run.steps(info)):
        maxima = header.fields.get("maxima")
        if not isinstance(maxima, list):
            continue
        for position, value in enumerate(maxima):
            if position == len(largest):
                largest.append(0.0)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                largest[position] = max(largest[position], float(value))
    return largest


def _read(run: RunAccess, at: RecordRef) -> records.Record:
    """The attribution record at ``at``; ``Unreadable`` for one whose arrays do not fit together."""
    record = run.read(at, arrays=("probe_images", "targets", "maps"))
    where = f"{at.tag} at step {at.step}"
    arrays = record.arrays
    probes, targets, maps = arrays["probe_images"], arrays["targets"], arrays["maps"]
    if probes.ndim != 1 or targets.shape != probes.shape or maps.ndim != 3 or len(maps) != len(probes):
        raise Unreadable(
            f"{where}: needs maps [P, h, w] with one probe image and target each, got maps {list(maps.shape)}, "
            f"probe_images {list(probes.shape)} and targets {list(targets.shape)}"
        )
    return record


def answer_attribution(
    run: RunAccess,
    at: RecordRef,
    image: int,
    *,
    maxima: Optional[Sequence[float]] = None,
    layers: Optional[Sequence[str]] = None,
) -> dict[str, Any]:
    """Probe image ``image``'s Grad-CAM map at a layer and checkpoint, with its scale over every checkpoint.

    Args:
      run: the run's records.
      at: the layer's attribution record at the checkpoint.
      image: an eval-set index that is a probe image.
      maxima: ``attribution_maxima`` of the layer (read from the headers when None).
      layers: ``attribution_layers`` of the run (listed when None).

    Returns:
      ``{"layer", "step", "image", "target", "shape": [h, w], "values": [h * w, row-major],
      "input_shape": [H, W], "scale": [0, the probe's largest maximum over every checkpoint],
      "layers"}``.

    Raises:
      NotFound: an image that is not a probe image, naming the probe images.
    """
    record = _read(run, at)
    probes = record.arrays["probe_images"].tolist()
    if image not in probes:
        raise NotFound(f"image {image} is not a probe image; attribution exists for images {probes}")
    position = probes.index(image)
    values = record.arrays["maps"][position]
    largest = list(maxima) if maxima is not None else attribution_maxima(run, at.info)
    # This record's own map is part of the scale, whatever its header says.
    finite = values[np.isfinite(values)]
    own = float(finite.max()) if finite.size else 0.0
    scale = max(largest[position] if position < len(largest) else 0.0, own, 0.0)
    return {
        "layer": at.info.layer,
        "step": at.step,
        "image": image,
        "target": int(record.arrays["targets"][position]),
        "shape": list(values.shape),
        "values": numbers(values.reshape(-1)),
        "input_shape": record.fields.get("input_shape", []),
        "scale": [0.0, scale],
        "layers": list(layers) if layers is not None else attribution_layers(run),
    }


def attribution_route(request: RouteRequest) -> Reply:
    """``attribution?run=&image=[&step=][&layer=]``: a probe image's Grad-CAM map (JSON); the deepest layer by default."""
    run = request.run()
    image = params.integer(request.args, "image", minimum=0)
    layers = attribution_layers(run)
    layer = params.optional_text(request.args, "layer") or default_layer(layers, run.run)
    at = run.locate(metadata.KIND_ATTRIBUTION, layer, request.step())
    # The scale grows with the log: it is kept per length of the layer's history, and names the answer.
    refs = run.steps(at.info)
    key = ("attribution-scale", at.experiment, at.run, at.tag, refs[-1].step, refs[-1].wall_time, len(refs))
    maxima = tuple(request.memo(key, lambda: attribution_maxima(run, at.info)))
    return Reply(
        lambda: json_payload(answer_attribution(run, at, image, maxima=maxima, layers=layers)),
        at.identity("attribution", image, maxima, tuple(layers)),
    )


ROUTES = (Route("attribution", attribution_route),)
