"""Feature visualization routes: one unit's image, all rendered units of a layer as a sprite, and that sprite's layout.

A feature_vis record (``summary.feature_vis_summary``) holds, for the selected units of a layer,
an image that excites each, rendered from one checkpoint's weights. Rendering runs in the
background and only at some checkpoints, so a checkpoint usually has no record of its own: for a
requested ``step`` these routes answer with the latest record at or before it (the layout says
which step that is), and with the newest record when ``step`` is absent. Such a fall-back answer
may still change (the step's own record may yet be written), so it is not marked immutable.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...contract import metadata, records
from .. import params, render
from ..access import RecordRef, RunAccess
from ..errors import NotFound, Unreadable
from ..routing import Reply, Route, RouteRequest, json_payload, numbers, png_payload

# Columns a sprite may be asked for.
MAX_COLUMNS = 1024
_ARRAYS = ("images", "units", "objective", "no_signal")


def at_or_before(run: RunAccess, layer: str, step: Optional[int]) -> RecordRef:
    """The layer's feature_vis record at ``step``, or the latest before it; the newest when ``step`` is None.

    Raises:
      NotFound: the run has none for the layer (naming the layers that have), or none at or before
        ``step`` (naming the first step that has one).
    """
    info = run.tag(metadata.KIND_FEATURE_VIS, layer)
    refs = run.steps(info)
    if not refs:
        raise NotFound(f"{info.tag} in run {run.run!r} has no steps yet")
    if step is None:
        return run.record_at(info, refs[-1])
    earlier = [ref for ref in refs if ref.step <= step]
    if not earlier:
        raise NotFound(
            f"run {run.run!r} has no feature visualization of layer {layer!r} at or before step {step}; "
            f"the first is at step {refs[0].step}"
        )
    return run.record_at(info, earlier[-1])


def feature_vis_record(run: RunAccess, at: RecordRef) -> records.Record:
    """The feature_vis record at ``at``, checked; ``Unreadable`` for one whose arrays do not fit together."""
    record = run.read(at, arrays=_ARRAYS)
    where = f"{at.tag} at step {at.step}"
    arrays = record.arrays
    images = arrays["images"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or not len(images):
        raise Unreadable(f"{where}: images must be uint8 [units, H, W, 3], got {images.dtype} {list(images.shape)}")
    if min(images.shape[1:3]) < 1:
        raise Unreadable(f"{where}: images are empty ({list(images.shape)})")
    count = len(images)
    for name in _ARRAYS[1:] + (("warm",) if "warm" in arrays else ()):
        if arrays[name].shape != (count,):
            raise Unreadable(f"{where}: {name} must have one entry per image ({count}), got {list(arrays[name].shape)}")
    if arrays["units"].dtype.kind not in "iu":
        raise Unreadable(f"{where}: units must be integers, got {arrays['units'].dtype}")
    return record


def _position(record: records.Record, at: RecordRef, unit: int) -> int:
    units = record.arrays["units"].tolist()
    if unit not in units:
        shown = ", ".join(map(str, units)) if len(units) <= 16 else f"{len(units)} units from {units[0]} to {units[-1]}"
        raise NotFound(
            f"unit {unit} of layer {at.info.layer!r} has no feature visualization at step {at.step}; {shown}"
        )
    return int(units.index(unit))


def answer_feature_vis(run: RunAccess, at: RecordRef, unit: int) -> bytes:
    """PNG of one unit's image (the layer's record at ``at``).

    Raises:
      NotFound: a unit the record does not hold, naming those it does.
    """
    record = feature_vis_record(run, at)
    return render.render_image(record.arrays["images"][_position(record, at, unit)])


def answer_feature_vis_sprite(run: RunAccess, at: RecordRef, columns: Optional[int] = None) -> bytes:
    """PNG sprite of every image of the record, in its units' order, in a grid without gaps (``render.thumbnails_layout``)."""
    images = feature_vis_record(run, at).arrays["images"]
    return render.render_thumbnails(images, columns=columns)[0]


def answer_feature_vis_layout(
    run: RunAccess, at: RecordRef, requested: Optional[int] = None, columns: Optional[int] = None
) -> dict[str, Any]:
    """The layout of ``answer_feature_vis_sprite``'s sprite and what each of its cells shows.

    Returns:
      ``render.thumbnails_layout``'s ``{"count", "thumb": [h, w], "columns", "rows", "width",
      "height"}`` and ``{"layer", "step" (the record's: the weights' checkpoint),
      "requested_step", "units", "objective", "no_signal", "warm", "method", "steps",
      "warm_started", "warm_from", "seconds", "normalization", "output_shape"}``; per-cell lists
      follow the sprite's order.
    """
    record = feature_vis_record(run, at)
    arrays, fields = record.arrays, record.fields
    images = arrays["images"]
    layout = render.thumbnails_layout(len(images), images.shape[1:3], columns=columns)
    warm = arrays["warm"] if "warm" in arrays else np.zeros(len(images), dtype=bool)
    layout.update(
        layer=at.info.layer,
        step=at.step,
        requested_step=requested,
        units=arrays["units"].tolist(),
        objective=numbers(arrays["objective"]),
        no_signal=[bool(v) for v in arrays["no_signal"]],
        warm=[bool(v) for v in warm],
        method=fields.get("method", ""),
        steps=fields.get("steps"),
        warm_started=bool(fields.get("warm_started", False)),
        warm_from=fields.get("warm_from"),
        seconds=fields.get("seconds"),
        normalization=fields.get("normalization"),
        output_shape=fields.get("output_shape", []),
    )
    return layout


# ----------------------------------------------------------------------------- routes


def _query(request: RouteRequest) -> tuple[RunAccess, RecordRef, Optional[int], bool]:
    run = request.run()
    layer = request.layer()
    requested = request.step()
    at = at_or_before(run, layer, requested)
    # An answer for the step's own record never changes; a fall-back may (the step's record may come).
    final = requested is None or at.step == requested
    return run, at, requested, final


def _columns(request: RouteRequest) -> Optional[int]:
    return params.optional_integer(request.args, "columns", minimum=1, maximum=MAX_COLUMNS)


def feature_vis_route(request: RouteRequest) -> Reply:
    """``feature_vis?run=&layer=&unit=[&step=]``: the unit's image (PNG), from the latest record at or before ``step``."""
    run, at, _, final = _query(request)
    unit = params.integer(request.args, "unit", minimum=0)
    return Reply(lambda: png_payload(answer_feature_vis(run, at, unit)), at.identity("feature_vis", unit), final=final)


def feature_vis_sprite_route(request: RouteRequest) -> Reply:
    """``feature_vis_sprite?run=&layer=[&step=][&columns=]``: every rendered unit of the layer (PNG)."""
    run, at, _, final = _query(request)
    columns = _columns(request)
    return Reply(
        lambda: png_payload(answer_feature_vis_sprite(run, at, columns)),
        at.identity("feature_vis_sprite", columns),
        final=final,
    )


def feature_vis_layout_route(request: RouteRequest) -> Reply:
    """``feature_vis_layout``, same parameters: the sprite's layout and each unit's objective and flags (JSON)."""
    run, at, requested, final = _query(request)
    columns = _columns(request)
    return Reply(
        lambda: json_payload(answer_feature_vis_layout(run, at, requested, columns)),
        at.identity("feature_vis_layout", columns, requested),
        final=final,
    )


ROUTES = (
    Route("feature_vis", feature_vis_route),
    Route("feature_vis_sprite", feature_vis_sprite_route),
    Route("feature_vis_layout", feature_vis_layout_route),
)
