"""Layer x layer similarity of two networks' representations: linear CKA over the same eval images.

Linear centered kernel alignment (Kornblith, Norouzi, Lee and Hinton, "Similarity of Neural
Network Representations Revisited", ICML 2019, eq. 3 and section 4): with ``X`` ``[n, p]`` and
``Y`` ``[n, q]`` the features of n images at two layers, each column centered,

    CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F) = <K, L>_F / (||K||_F ||L||_F),

where ``K = X X^T`` and ``L = Y Y^T`` are the centered linear Gram matrices (``H G H`` with
``H = I - 11^T / n`` for an uncentered Gram ``G``). It is 1 for representations equal up to an
orthogonal transform and isotropic scaling, and lies in [0, 1].

Only each layer's centered Gram is needed, and any factor ``F`` ``[n, r]`` with ``F F^T = K`` gives
it. A record stores, per layer, the smallest factor that keeps all but ``TOLERANCE`` of the Gram's
squared Frobenius norm (its leading principal components, ``compact``), or, when that factor would
hold more values than the Gram's upper triangle (``n (n + 1) / 2``), that triangle. Dropping a
share ``eps`` of ``||K||_F^2`` changes a CKA value by at most about ``2 sqrt(eps)`` (0.006 for the
default; in practice far less, and float16 rounding adds about 0.001). Any scale is fine (CKA does
not see it): records store each layer scaled to a largest magnitude of 1, so float16 keeps it.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

#: How a record stores a layer's statistic: a factor ``F`` ``[n, r]`` of its centered Gram (``F F^T``),
#: or the centered Gram's upper triangle.
FORM_FACTOR = "factor"
FORM_GRAM = "gram"
#: Layers whose statistic could not be computed (no array stored): features with NaN or Inf, or
#: constant over the sampled images (a Gram of zeros, for which CKA is undefined).
FORM_NONFINITE = "nonfinite"
FORM_CONSTANT = "constant"
FORMS = (FORM_FACTOR, FORM_GRAM, FORM_NONFINITE, FORM_CONSTANT)
#: The share of a layer's squared Gram norm a stored factor may leave out.
TOLERANCE = 1e-5


def array_name(position: int) -> str:
    """The name of the array holding the ``position``-th layer's statistic in a similarity record."""
    return f"layer{position}"


def sample_indices(eval_size: int, images: int) -> np.ndarray:
    """The eval images a run's similarity statistics are computed over: ``images`` evenly spread indices.

    The same in every run of the same eval-set size, so runs sharing an eval set compare over the
    same images; evenly spread rather than the first ones because eval sets are often sorted by
    class. All of them when the eval set has no more than ``images``.
    """
    if eval_size < 0 or images < 0:
        raise ValueError(f"eval_size and images must be non-negative, got {eval_size} and {images}")
    count = min(eval_size, images)
    return (np.arange(count, dtype=np.int64) * eval_size) // max(count, 1)


def triangle_size(images: int) -> int:
    """How many values the upper triangle (diagonal included) of an ``[images, images]`` matrix holds."""
    return images * (images + 1) // 2


def stores_features(images: int, width: int) -> bool:
    """Whether a layer's features ``[images, width]`` are no more values than its Gram's upper triangle."""
    return images * width <= triangle_size(images)


def compact(statistic: np.ndarray, images: int, tolerance: float = TOLERANCE) -> tuple[str, np.ndarray]:
    """The fewest values that give a layer's centered Gram up to ``tolerance``: ``(form, array)``.

    Args:
      statistic: the layer's features ``[images, p]`` (centered here) or the upper triangle of
        its centered Gram (``triangle_size(images)`` values, row by row).
      images: n, the number of images.
      tolerance: the share of ``||K||_F^2`` the factor may leave out (0: exact, the Gram's rank).

    Returns:
      ``(FORM_FACTOR, F)`` with ``F`` ``[n, r]``, its columns the Gram's leading principal
      components scaled by the square roots of their eigenvalues, r the fewest that keep
      ``1 - tolerance`` of ``sum(eigenvalue^2)``; or ``(FORM_GRAM, triangle)`` when ``n r`` would
      exceed the triangle. float64, finite input assumed.
    """
    values = np.asarray(statistic, dtype=np.float64)
    if values.ndim == 2:
        x = values - values.mean(axis=0, keepdims=True)
        basis, singular, _ = np.linalg.svd(x, full_matrices=False)
        eigenvalues = singular**2
    else:
        eigenvalues, basis = np.linalg.eigh(center_gram(gram_from_triangle(values, images)))
        eigenvalues, basis = np.clip(eigenvalues[::-1], 0.0, None), basis[:, ::-1]
    energy = np.cumsum(eigenvalues**2)
    if energy[-1] > 0:
        rank = int(np.searchsorted(energy, (1.0 - tolerance) * energy[-1]) + 1)
    else:
        rank = 1
    rank = min(rank, len(eigenvalues))
    if images * rank > triangle_size(images):
        if values.ndim == 2:
            x = values - values.mean(axis=0, keepdims=True)
            gram = x @ x.T
        else:
            gram = center_gram(gram_from_triangle(values, images))
        rows, cols = np.triu_indices(images)
        return FORM_GRAM, gram[rows, cols]
    return FORM_FACTOR, basis[:, :rank] * np.sqrt(eigenvalues[:rank])


def gram_from_triangle(triangle: np.ndarray, images: int) -> np.ndarray:
    """The symmetric ``[images, images]`` matrix whose upper triangle (row by row) is ``triangle``."""
    values = np.asarray(triangle, dtype=np.float64).reshape(-1)
    if values.size != triangle_size(images):
        raise ValueError(f"a Gram triangle of {images} images has {triangle_size(images)} values, got {values.size}")
    gram = np.zeros((images, images))
    rows, cols = np.triu_indices(images)
    gram[rows, cols] = values
    gram[cols, rows] = values
    return gram


def center_gram(gram: np.ndarray) -> np.ndarray:
    """``H G H``: the Gram of the column-centered features (rows and columns of ``gram`` summing to 0)."""
    gram = np.asarray(gram, dtype=np.float64)
    centered = gram - gram.mean(axis=0, keepdims=True)
    return centered - centered.mean(axis=1, keepdims=True)


def centered_gram(features: np.ndarray) -> np.ndarray:
    """The centered linear Gram ``X X^T`` of ``features`` ``[n, p]`` (spatial dimensions already pooled)."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be [images, features], got shape {x.shape}")
    x = x - x.mean(axis=0, keepdims=True)
    # einsum, not BLAS: see cka_matrix (a few hundred images by a few hundred features).
    return np.einsum("ik,jk->ij", x, x)


def linear_cka(gram_a: np.ndarray, gram_b: np.ndarray) -> float:
    """Linear CKA of two Gram matrices over the same images (centered here); NaN when one is all zeros."""
    a, b = center_gram(gram_a), center_gram(gram_b)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"Gram matrices must be square and of equal size, got {a.shape} and {b.shape}")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if not np.isfinite(norms) or norms == 0:
        return float("nan")
    return float(np.vdot(a, b) / norms)


def feature_cka(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Linear CKA computed from the features themselves: ``||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)``."""
    x = np.asarray(features_a, dtype=np.float64)
    y = np.asarray(features_b, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    denominator = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if denominator == 0:
        return float("nan")
    return float(np.linalg.norm(y.T @ x) ** 2 / denominator)


def stored_gram(form: str, values: Optional[np.ndarray], images: int) -> Optional[np.ndarray]:
    """A layer's centered Gram ``[images, images]`` from what a record stores; None for a layer without one."""
    if form == FORM_FACTOR:
        if values is None or values.ndim != 2 or values.shape[0] != images:
            raise ValueError(
                f"a stored factor must be [{images}, rank], got {None if values is None else values.shape}"
            )
        return centered_gram(values)
    if form == FORM_GRAM:
        if values is None:
            raise ValueError("a stored Gram triangle is missing")
        return center_gram(gram_from_triangle(values, images))
    if form in (FORM_NONFINITE, FORM_CONSTANT):
        return None
    raise ValueError(f"unknown similarity form {form!r}; expected one of {', '.join(FORMS)}")


def restrict_gram(gram: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The centered Gram over a subset of its images (positions ``keep``): the sub-matrix, centered again."""
    return center_gram(gram[np.ix_(keep, keep)])


def cka_matrix(grams_a: Sequence[Optional[np.ndarray]], grams_b: Sequence[Optional[np.ndarray]]) -> np.ndarray:
    """Linear CKA ``[len(grams_a), len(grams_b)]`` between every layer of A and every layer of B.

    Args:
      grams_a: each layer's centered Gram over the same n images (None: not computable).
      grams_b: the same for B, over the same images in the same order.

    Returns:
      float64 values in [0, 1] (clipped against rounding); NaN where a layer has no Gram or a
      Gram of zeros. One product over the unit-norm flattened Grams, so a deep network's L x L
      comparison costs one pass over its Grams. ``einsum``, not BLAS: a multi-threaded BLAS call
      on these long vectors waits for its thread pool to wake, tens to hundreds of milliseconds
      on a busy machine, for work a single core does in a few.
    """

    def unit_rows(grams: Sequence[Optional[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        sizes = {g.shape for g in grams if g is not None}
        if len(sizes) > 1:
            raise ValueError(f"Gram matrices of different sizes: {sorted(sizes)}")
        n = next(iter(sizes))[0] if sizes else 0
        rows = np.zeros((len(grams), n * n))
        valid = np.zeros(len(grams), dtype=bool)
        for i, gram in enumerate(grams):
            if gram is None:
                continue
            flat = np.asarray(gram, dtype=np.float64).reshape(-1)
            norm = float(np.sqrt(np.einsum("i,i->", flat, flat)))
            if np.isfinite(norm) and norm > 0:
                rows[i], valid[i] = flat / norm, True
        return rows, valid

    rows_a, valid_a = unit_rows(grams_a)
    rows_b, valid_b = unit_rows(grams_b)
    if rows_a.shape[1] != rows_b.shape[1] and valid_a.any() and valid_b.any():
        raise ValueError("the two sides' Gram matrices are over different numbers of images")
    if not (valid_a.any() and valid_b.any()):
        return np.full((len(grams_a), len(grams_b)), np.nan)
    result = np.clip(np.einsum("ik,jk->ij", rows_a, rows_b), 0.0, 1.0)
    result[~valid_a, :] = np.nan
    result[:, ~valid_b] = np.nan
    return result
