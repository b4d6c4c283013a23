"""Confusion counts with the eval images of each cell, and the per-class figures derived from them."""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np


@dataclasses.dataclass
class Confusion:
    """Confusion counts (rows: true class, columns: predicted class) and the images in each cell.

    The eval-image indices of cell ``(t, p)`` are ``cell_images[cell_offsets[k]:cell_offsets[k+1]]``
    with ``k = t * num_classes + p``, in ascending order.
    """

    counts: np.ndarray
    cell_offsets: np.ndarray
    cell_images: np.ndarray


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> Confusion:
    """Count (true, predicted) pairs and group eval-image indices by cell."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if labels.shape != predicted.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and predictions {predicted.shape} must be equal-length vectors")
    for name, values in (("label", labels), ("predicted class", predicted)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} outside 0..{num_classes - 1}")
    cells = labels * num_classes + predicted
    order = np.argsort(cells, kind="stable")
    per_cell = np.bincount(cells, minlength=num_classes * num_classes)
    offsets = np.concatenate([[0], np.cumsum(per_cell)])
    return Confusion(
        counts=per_cell.reshape(num_classes, num_classes),
        cell_offsets=offsets.astype(np.int64),
        cell_images=order.astype(np.int32),
    )


@dataclasses.dataclass(frozen=True)
class ClassFigures:
    """Accuracy and per-class precision and recall of a confusion matrix; None where undefined."""

    accuracy: Optional[float]
    precision: list[Optional[float]]  # per predicted class: None when nothing was predicted as it
    recall: list[Optional[float]]  # per true class: None when the eval set has none of it


def class_figures(counts: np.ndarray) -> ClassFigures:
    """Accuracy, precision and recall from confusion counts (rows: true class, columns: predicted).

    A class with an empty column (never predicted) has no precision and one with an empty row
    (absent from the eval set) no recall: None, not 0, so the page can tell "unknown" from "bad".
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion counts must be a square matrix, got shape {counts.shape}")
    total = int(counts.sum())
    diagonal = np.diag(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = diagonal / counts.sum(axis=0)
        recall = diagonal / counts.sum(axis=1)
    return ClassFigures(
        accuracy=float(diagonal.sum() / total) if total else None,
        precision=[None if math.isnan(v) else float(v) for v in precision],
        recall=[None if math.isnan(v) else float(v) for v in recall],
    )
