"""What each unit responds to, from per-unit summaries of one eval pass: selectivity, top images, stability.

A unit is an output channel of a convolution or an output of a linear layer. The writer reduces
each unit's output on the model's device (its spatial maximum per eval image, and the class means
of its rectified spatial mean); these functions finish and compare those small summaries, in the
writer's worker (one checkpoint) and in the server (across checkpoints or runs). numpy only.
"""

from __future__ import annotations

import numpy as np

# Added to the selectivity index's denominator, so a unit that never fires gets 0, not 0/0.
SELECTIVITY_EPSILON = 1e-7


def class_selectivity(class_means: np.ndarray, epsilon: float = SELECTIVITY_EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """The class selectivity index of each unit (Morcos et al. 2018) and its top class.

    ``SI = (mu_max - mu_rest) / (mu_max + mu_rest + epsilon)``, with ``mu_max`` a unit's largest
    class mean and ``mu_rest`` the mean of its other classes' means. Means must be of a
    non-negative activity (the rectified output): SI is then 0 for a unit equally active for
    every class and 1 for one active for a single class only. High selectivity does not mean
    that a unit matters for the network's decisions.

    Args:
      class_means: float ``[units, classes]`` class-conditional mean activity of each unit.
      epsilon: added to the denominator (default ``SELECTIVITY_EPSILON``).

    Returns:
      ``(selectivity, top_class)``: float64 ``[units]`` in [0, 1] and int64 ``[units]``. With a
      single class, or a unit with no activity, the selectivity is 0.

    Raises:
      ValueError: for a matrix that is not ``[units, classes]`` or holds negative means.
    """
    means = np.asarray(class_means, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"class means must be [units, classes], got shape {means.shape}")
    if means.size and np.nanmin(means) < 0:
        raise ValueError("class means must be of a non-negative (rectified) activity")
    units, classes = means.shape
    if classes == 0:
        return np.zeros(units), np.zeros(units, dtype=np.int64)
    finite = np.where(np.isfinite(means), means, 0.0)
    top_class = finite.argmax(axis=1)
    mu_max = finite[np.arange(units), top_class]
    if classes == 1:
        return np.zeros(units), top_class.astype(np.int64)
    mu_rest = (finite.sum(axis=1) - mu_max) / (classes - 1)
    selectivity = (mu_max - mu_rest) / (mu_max + mu_rest + epsilon)
    return np.clip(selectivity, 0.0, 1.0), top_class.astype(np.int64)


def merge_top_images(
    scores: np.ndarray, images: np.ndarray, more_scores: np.ndarray, more_images: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two per-unit top lists into the ``k`` best of both, best first.

    Used to combine the top images of several batches or ranks. Ties go to the lower image
    index, so the result does not depend on the order the lists came in.

    Args:
      scores, images: ``[units, a]`` scores and eval-image indices of one list.
      more_scores, more_images: ``[units, b]`` of the other.
      k: how many to keep (at most ``a + b``).

    Returns:
      ``(scores, images)`` ``[units, min(k, a + b)]``, each row sorted by descending score.
      The positions in the merged list index into ``concatenate([images, more_images], 1)``
      when the caller needs to carry more per-entry data: use ``top_order`` for that.
    """
    all_scores = np.concatenate([scores, more_scores], axis=1)
    all_images = np.concatenate([images, more_images], axis=1)
    order = top_order(all_scores, all_images, k)
    return np.take_along_axis(all_scores, order, axis=1), np.take_along_axis(all_images, order, axis=1)


def top_order(scores: np.ndarray, images: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` best entries of each row: highest score first, lower image on ties.

    NaN scores rank last. Returns int64 ``[units, min(k, columns)]``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    keyed = np.where(np.isnan(scores), -np.inf, scores)
    # lexsort sorts by the last key first: descending score, then ascending image index.
    order = np.lexsort((np.asarray(images), -keyed), axis=1)
    return order[:, : max(0, min(k, scores.shape[1]))].astype(np.int64)


def top_image_stability(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Jaccard overlap of each unit's top images at two checkpoints: 1 when they are the same set.

    Args:
      previous, current: int ``[units, k]`` eval-image indices (negative entries are padding).
        The two lists may have different lengths ``k``; an image listed twice counts once.

    Returns:
      float64 ``[units]`` in [0, 1]; 1 for a unit with no top images at either checkpoint.
    """
    previous, current = np.asarray(previous), np.asarray(current)
    if previous.ndim != 2 or current.ndim != 2:
        raise ValueError(f"top images must be [units, k], got shapes {previous.shape} and {current.shape}")
    if previous.shape[0] != current.shape[0]:
        raise ValueError(f"top images of {previous.shape[0]} and {current.shape[0]} units cannot be compared")
    # Vectorized over units (a log's history compares hundreds of units at hundreds of checkpoints):
    # sorted rows mark each distinct image once, then every pair of marked entries is compared.
    previous, current = np.sort(previous, axis=1), np.sort(current, axis=1)
    before, after = _distinct(previous), _distinct(current)
    common = ((previous[:, :, None] == current[:, None, :]) & before[:, :, None] & after[:, None, :]).sum(axis=(1, 2))
    union = before.sum(axis=1) + after.sum(axis=1) - common
    return np.where(union > 0, common / np.maximum(union, 1), 1.0).astype(np.float64)


def _distinct(images: np.ndarray) -> np.ndarray:
    """bool ``[units, k]`` of rows sorted ascending: the entries that are images (not padding) and not repeats."""
    repeated = np.zeros(images.shape, dtype=bool)
    repeated[:, 1:] = images[:, 1:] == images[:, :-1]
    return (images >= 0) & ~repeated


def dead_units(max_scores: np.ndarray) -> np.ndarray:
    """Units never positive on any eval image: their largest output over the eval set is <= 0.

    Args:
      max_scores: float ``[units]``, each unit's maximum output over every eval image and position
        (the best top-image score). NaN counts as not dead: the unit is broken, not silent.

    Returns:
      bool ``[units]``.
    """
    scores = np.asarray(max_scores, dtype=np.float64)
    return scores <= 0.0


def class_pair_scores(class_means: np.ndarray, a: int, b: int, epsilon: float = SELECTIVITY_EPSILON) -> np.ndarray:
    """How much each unit responds to both classes ``a`` and ``b``, relative to its average class.

    ``score = min(mu_a, mu_b) / max(mean of the unit's class means, epsilon)``: above 1 for a unit
    more active for each of the two classes than for the average class, 0 for a unit silent for
    either. Non-finite means give a NaN score (compared as not above anything).

    Args:
      class_means: float ``[units, classes]`` class-conditional mean of a non-negative activity.
      a, b: two class indices in ``0..classes-1`` (they may be equal).
      epsilon: the smallest denominator (a silent unit scores 0, not 0/0).

    Returns:
      float64 ``[units]``.

    Raises:
      ValueError: for a matrix that is not ``[units, classes]`` or a class outside it.
    """
    means = np.asarray(class_means, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"class means must be [units, classes], got shape {means.shape}")
    classes = means.shape[1]
    for name, value in (("a", a), ("b", b)):
        if not 0 <= value < classes:
            raise ValueError(f"class {name}={value} outside 0..{classes - 1}")
    both = np.minimum(means[:, a], means[:, b])
    with np.errstate(invalid="ignore"):
        return both / np.maximum(means.mean(axis=1), epsilon)


def selectivity_histogram(selectivity: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Counts of selectivity indices in ``bins`` equal bins over [0, 1] (the last bin includes 1).

    Returns:
      ``(edges, counts)``: float64 ``[bins + 1]`` from 0 to 1 and int64 ``[bins]``. NaN values are
      not counted.
    """
    values = np.asarray(selectivity, dtype=np.float64)
    values = values[np.isfinite(values)]
    counts, edges = np.histogram(np.clip(values, 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    return edges, counts.astype(np.int64)
