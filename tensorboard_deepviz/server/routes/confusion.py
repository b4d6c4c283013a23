"""The confusion route: counts of (true, predicted) classes at a checkpoint, example images of each cell,
accuracy, and per-class precision and recall."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...analysis.confusion import class_figures
from ...contract import metadata
from .. import params
from ..access import RecordRef, RunAccess
from ..errors import Unreadable
from ..routing import Reply, Route, RouteRequest, json_payload

# Most example images a request may ask for per cell.
MAX_EXAMPLES = 10_000
DEFAULT_EXAMPLES = 64


def answer_confusion(run: RunAccess, at: RecordRef, *, examples: int = DEFAULT_EXAMPLES) -> dict[str, Any]:
    """The confusion matrix at a checkpoint.

    Args:
      run: the run's records.
      at: the confusion record at the checkpoint.
      examples: at most this many eval images per cell, in eval-set order.

    Returns:
      ``{"step", "counts" [true][predicted], "cell_images" [true][predicted] -> image indices,
      "accuracy", "precision", "recall"}``; accuracy, and a class's precision or recall, are None
      where undefined (``analysis.confusion.class_figures``).
    """
    record = run.read(at)
    counts = record.arrays["counts"].astype(np.int64)
    offsets = record.arrays["cell_offsets"].astype(np.int64)
    images = record.arrays["cell_images"]
    classes = len(counts)
    if counts.shape != (classes, classes) or offsets.shape != (classes * classes + 1,):
        raise Unreadable(
            f"{at.tag} at step {at.step} has counts {list(counts.shape)} and {len(offsets)} cell offsets; "
            f"expected a square matrix and one offset more than its cells"
        )
    cells = [images[offsets[k] : min(offsets[k + 1], offsets[k] + examples)].tolist() for k in range(classes * classes)]
    figures = class_figures(counts)
    return {
        "step": at.step,
        "counts": counts.tolist(),
        "cell_images": [cells[t * classes : (t + 1) * classes] for t in range(classes)],
        "accuracy": figures.accuracy,
        "precision": figures.precision,
        "recall": figures.recall,
    }


def confusion_route(request: RouteRequest) -> Reply:
    """``confusion?run=[&step=][&examples=64]``: the confusion matrix (JSON)."""
    run = request.run()
    at = run.locate(metadata.KIND_CONFUSION, step=request.step())
    examples = params.optional_integer(
        request.args, "examples", minimum=0, maximum=MAX_EXAMPLES, default=DEFAULT_EXAMPLES
    )
    return Reply(lambda: json_payload(answer_confusion(run, at, examples=examples)), at.identity("confusion", examples))


ROUTES = (Route("confusion", confusion_route),)
