"""``layer_similarity``: linear CKA between every logged layer of A and every logged layer of B.

A and B are two runs, or two checkpoints of one run. Each similarity record holds, per layer,
its centered features or Gram matrix over a fixed sample of eval images (``summary.similarity_summary``);
CKA is computed here (``analysis.similarity``), over the sampled images both records share.
Image-level, so two runs must share the eval set (``comparison.check_same_eval_set``).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...analysis import similarity
from ...contract import metadata
from .. import params
from ..access import RecordRef, RunAccess
from ..errors import NotFound, RequestError, Unreadable
from ..routing import Reply, Route, RouteRequest, json_payload
from .comparison import check_same_eval_set

# Two records sampled differently (written with other ``similarity_images``) are compared over
# the images both sampled; fewer than this say too little.
MIN_SHARED_IMAGES = 16


def _side(run: RunAccess, at: RecordRef) -> tuple[list[str], np.ndarray, list[Optional[np.ndarray]]]:
    """One record's layers, sampled eval indices and each layer's centered Gram (None: not computable)."""
    record = run.read(at, arrays=("images",))
    layers, forms = record.fields.get("layers"), record.fields.get("forms")
    if not isinstance(layers, list) or not isinstance(forms, list) or len(layers) != len(forms):
        raise Unreadable(f"{at.tag} at step {at.step} in run {run.run!r} has no matching layers and forms")
    images = record.arrays["images"].astype(np.int64)
    grams = []
    for position, form in enumerate(forms):
        try:
            grams.append(similarity.stored_gram(form, record.arrays.get(similarity.array_name(position)), len(images)))
        except ValueError as error:
            raise Unreadable(
                f"{at.tag} at step {at.step} in run {run.run!r}, layer {layers[position]!r}: {error}"
            ) from None
    return [str(layer) for layer in layers], images, grams


def answer_layer_similarity(run_a: RunAccess, at_a: RecordRef, run_b: RunAccess, at_b: RecordRef) -> dict[str, Any]:
    """``{"run", "step", "run_b", "step_b", "layers_a", "layers_b", "cka": [[...]], "images"}``.

    ``cka[i][j]`` is linear CKA between ``layers_a[i]`` of A and ``layers_b[j]`` of B over the
    ``images`` sampled eval images both records hold, or None where a layer's features were
    non-finite or constant.
    """
    check_same_eval_set(run_a, run_b)
    layers_a, images_a, grams_a = _side(run_a, at_a)
    layers_b, images_b, grams_b = _side(run_b, at_b)
    if not np.array_equal(images_a, images_b):
        shared, keep_a, keep_b = np.intersect1d(images_a, images_b, assume_unique=True, return_indices=True)
        if len(shared) < MIN_SHARED_IMAGES:
            raise RequestError(
                f"the similarity records sampled other eval images ({len(images_a)} in A, {len(images_b)} in B, "
                f"{len(shared)} in both; at least {MIN_SHARED_IMAGES} are needed): log both runs with the same "
                "similarity_images"
            )
        grams_a = [None if g is None else similarity.restrict_gram(g, keep_a) for g in grams_a]
        grams_b = [None if g is None else similarity.restrict_gram(g, keep_b) for g in grams_b]
        images_a = shared
    cka = similarity.cka_matrix(grams_a, grams_b)
    return {
        "run": run_a.run,
        "step": at_a.step,
        "run_b": run_b.run,
        "step_b": at_b.step,
        "layers_a": layers_a,
        "layers_b": layers_b,
        "cka": [[None if np.isnan(value) else round(float(value), 6) for value in row] for row in cka],
        "images": len(images_a),
    }


def _locate(run: RunAccess, step: Optional[int]) -> RecordRef:
    """The run's similarity record at ``step`` (newest when None); a 404 that says why old logs lack one."""
    if metadata.tag_for(metadata.KIND_SIMILARITY) not in run.tags():
        raise NotFound(
            f"run {run.run!r} has no similarity records: layer similarity needs logs written by a "
            "tensorboard-deepviz that records them, with similarity_images > 0"
        )
    return run.locate(metadata.KIND_SIMILARITY, step=step)


def layer_similarity_route(request: RouteRequest) -> Reply:
    """``layer_similarity?run=&step=&run_b=&step_b=`` (run_b absent: the same run; step_b absent: A's step): CKA (JSON)."""
    run_a = request.run()
    name_b = params.optional_text(request.args, "run_b")
    run_b = run_a if name_b is None or name_b == run_a.run else request.experiment.for_run(name_b)
    at_a = _locate(run_a, request.step())
    step_b = params.optional_integer(request.args, "step_b", minimum=0)
    at_b = _locate(run_b, at_a.step if step_b is None else step_b)
    identity = ("layer_similarity", at_a.identity("a"), at_b.identity("b"))
    return Reply(lambda: json_payload(answer_layer_similarity(run_a, at_a, run_b, at_b)), identity)


ROUTES = (Route("layer_similarity", layer_similarity_route),)
