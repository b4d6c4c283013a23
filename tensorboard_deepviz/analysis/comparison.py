"""Two runs (or two checkpoints) compared: confusion differences, flipped images, matched units.

Unit i of one run is not unit i of another: units are matched by an optimal one-to-one assignment
on the correlation of their responses (activations over the same probe images, or their weights),
and what stays unmatched is what only one side learned. numpy, with scipy's assignment solver.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# A matched pair less correlated than this is no match: both units count as unmatched.
MATCH_THRESHOLD = 0.5


@dataclasses.dataclass(frozen=True)
class Flips:
    """Eval images whose correctness changed from A to B."""

    right_to_wrong: np.ndarray  # right in A, wrong in B
    wrong_to_right: np.ndarray  # wrong in A, right in B


def flips(labels: np.ndarray, predicted_a: np.ndarray, predicted_b: np.ndarray) -> Flips:
    """Images right in A and wrong in B, and the reverse (eval indices, ascending)."""
    labels, a, b = (np.asarray(x, dtype=np.int64) for x in (labels, predicted_a, predicted_b))
    if not (labels.shape == a.shape == b.shape) or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and predictions {a.shape}, {b.shape} must be equal-length vectors")
    right_a, right_b = a == labels, b == labels
    return Flips(np.nonzero(right_a & ~right_b)[0], np.nonzero(~right_a & right_b)[0])


@dataclasses.dataclass(frozen=True)
class UnitMatch:
    """Matched units of two layers and the leftovers."""

    pairs: list[tuple[int, int, float]]  # (unit of A, unit of B, correlation), best first
    unmatched_a: list[int]
    unmatched_b: list[int]


def correlations(responses_a: np.ndarray, responses_b: np.ndarray) -> np.ndarray:
    """Pearson correlation ``[Ua, Ub]`` of each unit's response vector ``[U, D]`` (0 for a constant one)."""
    a = np.asarray(responses_a, dtype=np.float64)
    b = np.asarray(responses_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"responses must be [units, values] of equal length, got {a.shape} and {b.shape}")
    a = np.where(np.isfinite(a), a, 0.0)
    b = np.where(np.isfinite(b), b, 0.0)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norm_a = np.linalg.norm(a, axis=1, keepdims=True)
    norm_b = np.linalg.norm(b, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        # einsum, not BLAS: a multi-threaded BLAS product waits for its thread pool to wake, tens to
        # hundreds of milliseconds on a busy machine, for a product one core does in a few.
        result = np.einsum("ik,jk->ij", a, b) / (norm_a * norm_b.T)
    return np.where(np.isfinite(result), result, 0.0)


def match_units(responses_a: np.ndarray, responses_b: np.ndarray, threshold: float = MATCH_THRESHOLD) -> UnitMatch:
    """Match units of A to units of B one to one, maximizing the summed correlation of their responses.

    Args:
      responses_a: ``[Ua, D]`` each unit's responses (its activations over the same probe images
        and positions, flattened, or its weights).
      responses_b: ``[Ub, D]`` the same for B.
      threshold: a pair correlated less than this is not a match.

    Returns:
      The pairs (best first) and the units of each side left without a match.
    """
    from scipy.optimize import linear_sum_assignment

    similarity = correlations(responses_a, responses_b)
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    pairs = [(int(r), int(c), float(similarity[r, c])) for r, c in zip(rows, cols) if similarity[r, c] >= threshold]
    pairs.sort(key=lambda pair: -pair[2])
    matched_a = {a for a, _, _ in pairs}
    matched_b = {b for _, b, _ in pairs}
    return UnitMatch(
        pairs=pairs,
        unmatched_a=[u for u in range(similarity.shape[0]) if u not in matched_a],
        unmatched_b=[u for u in range(similarity.shape[1]) if u not in matched_b],
    )
