"""The eval set: loading it from tensors or a DataLoader, validating it, making thumbnails."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

EvalData = Union[tuple[torch.Tensor, torch.Tensor], Iterable[Any]]


def load_eval_data(eval_data: EvalData) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images [N, C, H, W] float, labels [N] int64)`` on the CPU.

    ``eval_data`` is an ``(images, labels)`` pair of tensors (or arrays), or an iterable such
    as a DataLoader yielding ``(images, labels)`` batches; raises ``ValueError`` naming the
    problem otherwise.
    """
    if isinstance(eval_data, (tuple, list)) and len(eval_data) == 2 and not _is_batch_list(eval_data):
        images, labels = (torch.as_tensor(part) for part in eval_data)
    elif isinstance(eval_data, Iterable) and not isinstance(eval_data, (str, bytes, torch.Tensor)):
        image_batches, label_batches = [], []
        for position, batch in enumerate(eval_data):
            if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                raise ValueError(f"eval_data batch {position} is not an (images, labels) pair")
            image_batches.append(torch.as_tensor(batch[0]).detach().cpu())
            label_batches.append(torch.as_tensor(batch[1]).detach().cpu())
        if not image_batches:
            raise ValueError("eval_data yielded no batches")
        images, labels = torch.cat(image_batches), torch.cat(label_batches)
    else:
        raise ValueError("eval_data must be an (images, labels) pair of tensors or a DataLoader of such pairs")
    images = images.detach().cpu()
    labels = labels.detach().cpu()
    if images.ndim != 4:
        raise ValueError(f"eval images must have shape [N, C, H, W], got {list(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"eval images must be a floating-point tensor, got {images.dtype}")
    if labels.ndim != 1 or labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"eval labels must be a 1-D integer tensor, got {labels.dtype} of shape {list(labels.shape)}")
    if len(images) != len(labels):
        raise ValueError(f"eval_data has {len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError("eval_data is empty")
    return images, labels.long()


def _is_batch_list(pair: Sequence[Any]) -> bool:
    """A two-element list of (images, labels) batches rather than one (images, labels) pair."""
    return all(isinstance(item, (tuple, list)) for item in pair)


def check_labels(labels: torch.Tensor, num_classes: int, class_names_given: bool) -> None:
    """Raise ``ValueError`` naming the first label outside ``0..num_classes-1``."""
    bad = (labels < 0) | (labels >= num_classes)
    if bool(bad.any()):
        index = int(bad.nonzero()[0, 0])
        where = (
            f"class_names has {num_classes} names" if class_names_given else f"the model outputs {num_classes} classes"
        )
        raise ValueError(f"eval label {int(labels[index])} (image {index}) is outside 0..{num_classes - 1}: {where}")


def choose_probe_images(probe: Union[int, Sequence[int]], labels: torch.Tensor) -> list[int]:
    """Eval-set indices of the probe images: a count spread over classes, or explicit indices."""
    count = len(labels)
    if isinstance(probe, bool):
        raise ValueError(f"probe must be a count or a list of eval-image indices, got {probe!r}")
    if isinstance(probe, int):
        if probe < 1:
            raise ValueError(f"probe must be at least 1, got {probe}")
        return spread_over_classes(labels.tolist(), min(probe, count))
    indices = [int(i) for i in probe]
    if not indices:
        raise ValueError("probe lists no eval images")
    outside = [i for i in indices if not 0 <= i < count]
    if outside:
        raise ValueError(f"probe indices {outside} are outside the eval set of {count} images")
    if len(set(indices)) != len(indices):
        raise ValueError("probe lists an eval image more than once")
    return indices


def _finite_range(images: torch.Tensor) -> tuple[float, float]:
    """(min, max) of the finite values, (0, 1) when there are none.

    Boolean-mask indexing would build int64 indices of every element (8 bytes per dimension
    per value); masking with ``where`` costs one temporary of the images' size, and only when
    NaN/Inf are present.
    """
    low, high = (float(v) for v in torch.aminmax(images))
    if math.isfinite(low) and math.isfinite(high):
        return low, high
    finite = torch.isfinite(images)
    if not bool(finite.any()):
        return 0.0, 1.0
    low = float(torch.where(finite, images, torch.tensor(math.inf, dtype=images.dtype)).min())
    high = float(torch.where(finite, images, torch.tensor(-math.inf, dtype=images.dtype)).max())
    return low, high


def make_thumbnails(
    images: torch.Tensor,
    *,
    size: int = 32,
    transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    batch_size: int = 1024,
) -> np.ndarray:
    """uint8 ``[N, h, w, C]`` thumbnails (C = 1 or 3), longest side at most ``size``.

    ``transform`` maps a batch ``[B, C, H, W]`` to display values in [0, 1] (for example undoing
    the dataset normalization); by default the eval set's global minimum and maximum are
    stretched to [0, 1], which keeps images comparable with each other. Images with other than
    1 or 3 channels show their first channel (or first three, for 4).
    """
    if size < 1:
        raise ValueError(f"thumbnail size must be at least 1, got {size}")
    if transform is None:
        low, high = _finite_range(images)
        span = high - low if high > low else 1.0
        transform = lambda batch: (batch - low) / span  # noqa: E731
    height, width = images.shape[2], images.shape[3]
    scale = min(1.0, size / max(height, width))
    target = (max(1, round(height * scale)), max(1, round(width * scale)))
    pieces = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].float()
        if batch.shape[1] not in (1, 3):
            batch = batch[:, :3] if batch.shape[1] >= 3 else batch[:, :1]
        batch = torch.nan_to_num(transform(batch).float(), nan=0.0, posinf=1.0, neginf=0.0)
        if target != (height, width):
            batch = F.interpolate(batch, size=target, mode="area")
        pieces.append((batch.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return np.concatenate(pieces)


def spread_over_classes(labels: Sequence[int], count: int) -> list[int]:
    """Pick ``count`` eval-image indices round-robin over classes (first images of each class first)."""
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(index)
    queues = [by_class[c] for c in sorted(by_class)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < count and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < count:
                chosen.append(queue[depth])
        depth += 1
    return sorted(chosen)
