"""A/B routes: two runs, or two checkpoints of one run, compared (``analysis.comparison``).

``confusion_diff`` answers B minus A of the confusion matrices and the eval images whose
correctness flipped; ``filter_match`` matches a layer's units between A and B. Image-level
comparisons need A and B to share the eval set: its labels and thumbnails are checked, and a
difference is a 4xx naming it.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...analysis import comparison
from ...analysis.confusion import class_figures
from ...contract import codes, metadata
from .. import params
from ..access import RecordRef, RunAccess
from ..errors import RequestError, Unreadable
from ..routing import Reply, Route, RouteRequest, json_payload, numbers


def check_same_eval_set(run_a: RunAccess, run_b: RunAccess) -> None:
    """Raise ``RequestError`` naming how the two runs' eval sets differ (size, labels or images)."""
    if run_a.run == run_b.run:
        return
    corpus_a, corpus_b = run_a.locate(metadata.KIND_CORPUS), run_b.locate(metadata.KIND_CORPUS)
    a = run_a.read(corpus_a, arrays=("labels", "thumbnails")).arrays
    b = run_b.read(corpus_b, arrays=("labels", "thumbnails")).arrays
    names = f"runs {run_a.run!r} and {run_b.run!r}"
    if len(a["labels"]) != len(b["labels"]):
        raise RequestError(f"{names} have different eval sets: {len(a['labels'])} and {len(b['labels'])} images")
    differing = int(np.count_nonzero(a["labels"] != b["labels"]))
    if differing:
        raise RequestError(f"{names} have different eval sets: {differing} images have other labels")
    if a["thumbnails"].shape != b["thumbnails"].shape or not np.array_equal(a["thumbnails"], b["thumbnails"]):
        raise RequestError(f"{names} have different eval sets: the same labels, but other images")


def _counts(run: RunAccess, at: RecordRef) -> np.ndarray:
    """A confusion record's counts: from its header when it holds them (one blob read, not the cell images)."""
    header = run.read(at, header_only=True).fields.get("counts")
    if isinstance(header, list) and header and all(isinstance(row, list) for row in header):
        counts = np.asarray(header, dtype=np.int64)
        if counts.ndim == 2 and counts.shape[0] == counts.shape[1]:
            return counts
    return run.read(at, arrays=("counts",)).arrays["counts"].astype(np.int64)


def _predicted(run: RunAccess, at: RecordRef) -> np.ndarray:
    return run.read(at, arrays=("predicted",)).arrays["predicted"].astype(np.int64)


def answer_confusion_diff(run_a: RunAccess, at_a: RecordRef, run_b: RunAccess, at_b: RecordRef) -> dict[str, Any]:
    """``{"run", "step", "run_b", "step_b", "counts_a", "counts_b", "diff", "row_shares_diff", "accuracy_a",
    "accuracy_b", "flips": {"right_to_wrong", "wrong_to_right"}}``: B minus A."""
    check_same_eval_set(run_a, run_b)
    counts_a, counts_b = _counts(run_a, at_a), _counts(run_b, at_b)
    if counts_a.shape != counts_b.shape:
        raise RequestError(f"confusion matrices of {counts_a.shape[0]} and {counts_b.shape[0]} classes")
    labels = run_a.read(run_a.locate(metadata.KIND_CORPUS), arrays=("labels",)).arrays["labels"]
    predicted_a = _predicted(run_a, run_a.locate(metadata.KIND_PREDICTIONS, step=at_a.step))
    predicted_b = _predicted(run_b, run_b.locate(metadata.KIND_PREDICTIONS, step=at_b.step))
    if not len(labels) == len(predicted_a) == len(predicted_b):
        raise Unreadable("predictions do not cover the eval set")
    flipped = comparison.flips(labels, predicted_a, predicted_b)

    def shares(counts: np.ndarray) -> np.ndarray:
        rows = counts.sum(axis=1, keepdims=True)
        return np.where(rows > 0, counts / np.maximum(rows, 1), 0.0)

    return {
        "run": run_a.run,
        "step": at_a.step,
        "run_b": run_b.run,
        "step_b": at_b.step,
        "counts_a": counts_a.tolist(),
        "counts_b": counts_b.tolist(),
        "diff": (counts_b - counts_a).tolist(),
        "row_shares_diff": numbers(shares(counts_b) - shares(counts_a)),
        "accuracy_a": class_figures(counts_a).accuracy,
        "accuracy_b": class_figures(counts_b).accuracy,
        "flips": {
            "right_to_wrong": flipped.right_to_wrong.tolist(),
            "wrong_to_right": flipped.wrong_to_right.tolist(),
        },
    }


def _responses(run: RunAccess, layer: str, step: Optional[int]) -> tuple[str, np.ndarray, Optional[list[int]], int]:
    """(basis, [units, values], probe images, step): activations over the probe images, else the weights."""
    if metadata.tag_for(metadata.KIND_ACTIVATIONS, layer) in run.tags():
        at = run.locate(metadata.KIND_ACTIVATIONS, layer, step)
        record = run.read(at, arrays=("codes", "ranges", "probe_images"))
        values = codes.dequantize_activations(record.arrays["codes"], record.arrays["ranges"])  # [P, U, ...]
        units = values.shape[1] if values.ndim >= 2 else 0
        flat = np.moveaxis(values.reshape(values.shape[0], units, -1), 1, 0).reshape(units, -1)
        return "activations", flat, record.arrays["probe_images"].tolist(), at.step
    flat, at_step = _weights(run, layer, step)
    return "weights", flat, None, at_step


def _weights(run: RunAccess, layer: str, step: Optional[int]) -> tuple[np.ndarray, int]:
    """Each unit's weights flattened ``[units, values]``, and the step they are from."""
    at = run.locate(metadata.KIND_WEIGHTS, layer, step)
    weights = run.read(at, arrays=("weights",)).arrays["weights"].astype(np.float32)
    return weights.reshape(len(weights), -1), at.step


def answer_filter_match(
    run_a: RunAccess, run_b: RunAccess, layer: str, step: Optional[int], step_b: Optional[int]
) -> dict[str, Any]:
    """``{"layer", "step", "step_b", "basis", "pairs": [{"a", "b", "similarity"}], "unmatched_a", "unmatched_b"}``."""
    basis_a, responses_a, probes_a, at_a = _responses(run_a, layer, step)
    basis_b, responses_b, probes_b, at_b = _responses(run_b, layer, step_b)
    if basis_a != basis_b or probes_a != probes_b or responses_a.shape[1] != responses_b.shape[1]:
        # Activations over other probe images (or of other shapes) cannot be compared: fall back to weights.
        basis_a = basis_b = "weights"
        responses_a, at_a = _weights(run_a, layer, at_a)
        responses_b, at_b = _weights(run_b, layer, at_b)
        if responses_a.shape[1] != responses_b.shape[1]:
            raise RequestError(
                f"layer {layer!r} has filters of {responses_a.shape[1]} and {responses_b.shape[1]} values in the two "
                "runs, and no activations of the same probe images: its units cannot be matched"
            )
    if basis_a == "activations" and run_a.run != run_b.run:
        check_same_eval_set(run_a, run_b)
    match = comparison.match_units(responses_a, responses_b)
    return {
        "layer": layer,
        "step": at_a,
        "step_b": at_b,
        "basis": basis_a,
        "pairs": [{"a": a, "b": b, "similarity": similarity} for a, b, similarity in match.pairs],
        "unmatched_a": match.unmatched_a,
        "unmatched_b": match.unmatched_b,
        "threshold": comparison.MATCH_THRESHOLD,
    }


def _run_b(request: RouteRequest, run_a: RunAccess) -> RunAccess:
    name = params.optional_text(request.args, "run_b")
    return run_a if name is None or name == run_a.run else request.experiment.for_run(name)


def confusion_diff_route(request: RouteRequest) -> Reply:
    """``confusion_diff?run=&step=&run_b=&step_b=`` (run_b absent: the same run): B minus A (JSON)."""
    run_a = request.run()
    run_b = _run_b(request, run_a)
    at_a = run_a.locate(metadata.KIND_CONFUSION, step=request.step())
    at_b = run_b.locate(metadata.KIND_CONFUSION, step=params.optional_integer(request.args, "step_b", minimum=0))
    identity = ("confusion_diff", at_a.identity("a"), at_b.identity("b"))
    return Reply(lambda: json_payload(answer_confusion_diff(run_a, at_a, run_b, at_b)), identity)


def filter_match_route(request: RouteRequest) -> Reply:
    """``filter_match?run=&run_b=&layer=&step=&step_b=``: a layer's units matched between A and B (JSON)."""
    run_a = request.run()
    run_b = _run_b(request, run_a)
    layer = request.layer()
    step, step_b = request.step(), params.optional_integer(request.args, "step_b", minimum=0)
    freshness = tuple(
        sorted(
            (info.tag, info.max_step) for run in (run_a, run_b) for info in run.tags().values() if info.layer == layer
        )
    )
    identity = ("filter_match", run_a.experiment, run_a.run, run_b.run, layer, step, step_b, freshness)
    return Reply(lambda: json_payload(answer_filter_match(run_a, run_b, layer, step, step_b)), identity)


ROUTES = (Route("confusion_diff", confusion_diff_route), Route("filter_match", filter_match_route))
