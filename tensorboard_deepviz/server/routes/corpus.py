"""The eval set's routes: its labels and names, one thumbnail, and sprites of many thumbnails with their layout."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...contract import metadata
from .. import params, render
from ..access import RecordRef, RunAccess
from ..errors import NotFound
from ..routing import Reply, Route, RouteRequest, json_payload, png_payload

# A thumbnail sprite holds at most this many images.
MAX_SPRITE_IMAGES = 10_000


def answer_corpus(run: RunAccess, at: RecordRef) -> dict[str, Any]:
    """``{"count", "class_names", "labels", "ids", "captions", "thumbnail_shape"}`` of the eval set."""
    record = run.read(at)
    labels = record.arrays["labels"]
    return {
        "count": len(labels),
        "class_names": record.fields.get("class_names", []),
        "labels": labels.tolist(),
        "ids": record.fields.get("ids"),
        "captions": record.fields.get("captions"),
        "thumbnail_shape": list(record.arrays["thumbnails"].shape[1:]),
    }


def answer_thumbnail(run: RunAccess, at: RecordRef, index: int) -> bytes:
    """PNG of eval image ``index``'s thumbnail; ``NotFound`` outside the eval set."""
    thumbnails = run.read(at).arrays["thumbnails"]
    if index >= len(thumbnails):
        raise NotFound(f"image {index} outside the corpus of {len(thumbnails)} images")
    return render.render_image(thumbnails[index])


def _thumbnails(run: RunAccess, at: RecordRef, indices: Optional[str]) -> tuple[np.ndarray, list[int]]:
    thumbnails = run.read(at).arrays["thumbnails"]
    return thumbnails, params.select_indices(indices, len(thumbnails), "indices", limit=MAX_SPRITE_IMAGES)


def answer_thumbnails(run: RunAccess, at: RecordRef, indices: Optional[str], columns: Optional[int]) -> bytes:
    """PNG sprite of the thumbnails ``indices`` selects (all when None), ``columns`` wide (near-square when None)."""
    thumbnails, selected = _thumbnails(run, at, indices)
    body, _ = render.render_thumbnails(thumbnails[selected], columns=columns)
    return body


def answer_thumbnails_layout(
    run: RunAccess, at: RecordRef, indices: Optional[str], columns: Optional[int]
) -> dict[str, Any]:
    """The layout of ``answer_thumbnails``' sprite (``render.thumbnails_layout``) and the ``indices`` it holds."""
    thumbnails, selected = _thumbnails(run, at, indices)
    layout = render.thumbnails_layout(len(selected), thumbnails.shape[1:3], columns=columns)
    layout["indices"] = selected
    return layout


def corpus_route(request: RouteRequest) -> Reply:
    """``corpus?run=``: the eval set (JSON)."""
    run = request.run()
    at = run.locate(metadata.KIND_CORPUS, step=request.step())
    return Reply(lambda: json_payload(answer_corpus(run, at)), at.identity("corpus"))


def thumbnail_route(request: RouteRequest) -> Reply:
    """``thumbnail?run=&index=``: one thumbnail (PNG)."""
    run = request.run()
    at = run.locate(metadata.KIND_CORPUS, step=request.step())
    index = params.integer(request.args, "index", minimum=0)
    return Reply(lambda: png_payload(answer_thumbnail(run, at, index)), at.identity("thumbnail", index))


def _sprite_query(request: RouteRequest) -> tuple[RunAccess, RecordRef, Optional[str], Optional[int]]:
    run = request.run()
    at = run.locate(metadata.KIND_CORPUS, step=request.step())
    columns = params.optional_integer(request.args, "columns", minimum=1, maximum=MAX_SPRITE_IMAGES)
    # Not length-limited like other parameters: a selection may list up to MAX_SPRITE_IMAGES indices.
    return run, at, request.args.get("indices"), columns


def thumbnails_route(request: RouteRequest) -> Reply:
    """``thumbnails?run=[&indices=][&columns=]``: a thumbnail sprite (PNG)."""
    run, at, indices, columns = _sprite_query(request)
    return Reply(
        lambda: png_payload(answer_thumbnails(run, at, indices, columns)),
        at.identity("thumbnails", (indices or "", columns)),
    )


def thumbnails_layout_route(request: RouteRequest) -> Reply:
    """``thumbnails_layout``, same parameters: the sprite's layout (JSON)."""
    run, at, indices, columns = _sprite_query(request)
    return Reply(
        lambda: json_payload(answer_thumbnails_layout(run, at, indices, columns)),
        at.identity("thumbnails_layout", indices or "", columns),
        keep=False,
    )


ROUTES = (
    Route("corpus", corpus_route),
    Route("thumbnail", thumbnail_route),
    Route("thumbnails", thumbnails_route),
    Route("thumbnails_layout", thumbnails_layout_route),
)
