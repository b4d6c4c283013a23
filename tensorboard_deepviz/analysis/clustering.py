"""K-Means clusters of eval-image features, kept comparable from one checkpoint to the next."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Optional

import numpy as np


@dataclasses.dataclass
class Clusters:
    """K-Means clusters of eval-image features and their summary."""

    assignment: np.ndarray  # [N] cluster of each eval image
    nearest: np.ndarray  # [K, M] eval images nearest each centre, nearest first
    sizes: np.ndarray  # [K]
    majority_class: np.ndarray  # [K], -1 for an empty cluster
    purity: np.ndarray  # [K] fraction of members in the majority class
    projection: np.ndarray  # [N, 2] PCA projection of the features
    nonfinite_images: int  # images whose features had NaN/Inf (clustered as zeros)


def cluster_features(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    num_clusters: int,
    num_classes: int,
    metric: str = "euclidean",
    nearest_per_cluster: int = 20,
    seed: int = 0,
) -> Clusters:
    """K-Means (scikit-learn) on ``[N, D]`` features; ``metric="cosine"`` clusters unit-length rows.

    Uses a fixed ``seed`` so results are reproducible and no global random state is touched.
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"cluster metric must be 'euclidean' or 'cosine', got {metric!r}")
    points: np.ndarray = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    labels = np.asarray(labels, dtype=np.int64)
    finite_rows = np.isfinite(points).all(axis=1)
    nonfinite = int((~finite_rows).sum())
    if nonfinite:
        points = np.where(np.isfinite(points), points, 0.0).astype(np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(points, axis=1, keepdims=True)
        points = points / np.where(norms > 0, norms, 1.0)
    count = len(points)
    k = max(1, min(num_clusters, count))
    kmeans = KMeans(n_clusters=k, n_init=1, random_state=seed)
    with warnings.catch_warnings():
        # Fewer distinct points than clusters (an untrained net) is data, not a problem.
        warnings.simplefilter("ignore", ConvergenceWarning)
        assignment = kmeans.fit_predict(points)
    distances = kmeans.transform(points)  # [N, K]
    m = min(nearest_per_cluster, count)
    nearest = np.argsort(distances, axis=0, kind="stable")[:m].T
    sizes = np.bincount(assignment, minlength=k)
    class_counts = np.zeros((k, num_classes), dtype=np.int64)
    np.add.at(class_counts, (assignment, labels), 1)
    majority = np.where(sizes > 0, class_counts.argmax(axis=1), -1)
    purity = np.where(sizes > 0, class_counts.max(axis=1) / np.maximum(sizes, 1), 0.0)
    projection = _project_2d(points, seed)
    return Clusters(
        assignment=assignment.astype(np.int32),
        nearest=nearest.astype(np.int32),
        sizes=sizes.astype(np.int32),
        majority_class=majority.astype(np.int32),
        purity=purity.astype(np.float32),
        projection=projection.astype(np.float32),
        nonfinite_images=nonfinite,
    )


def follow_previous(clusters: Clusters, previous: Optional[Clusters]) -> Clusters:
    """Renumber ``clusters`` and orient its projection to follow ``previous`` (the last checkpoint's).

    K-Means numbers its clusters arbitrarily and PCA's axes have no sign, so from one checkpoint
    to the next cluster 3 could become cluster 17 and the scatter could mirror. Here each new
    cluster takes the number of the previous cluster it shares most images with (an optimal
    one-to-one matching), and each projection axis is flipped where that makes it agree with
    the previous one. Without a comparable previous result, ``clusters`` is returned unchanged.
    """
    if (
        previous is None
        or previous.assignment.shape != clusters.assignment.shape
        or len(previous.sizes) != len(clusters.sizes)
    ):
        return clusters
    from scipy.optimize import linear_sum_assignment

    k = len(clusters.sizes)
    overlap = np.zeros((k, k), dtype=np.int64)  # [previous, new]
    np.add.at(overlap, (previous.assignment, clusters.assignment), 1)
    previous_ids, new_ids = linear_sum_assignment(overlap, maximize=True)
    number_of = np.empty(k, dtype=np.int32)  # new cluster -> its number now
    number_of[new_ids] = previous_ids
    order = np.argsort(number_of)  # the new cluster shown under each number
    projection = clusters.projection.copy()
    for axis in range(projection.shape[1]):
        if float(np.dot(projection[:, axis], previous.projection[:, axis])) < 0:
            projection[:, axis] = -projection[:, axis]
    return dataclasses.replace(
        clusters,
        assignment=number_of[clusters.assignment],
        nearest=clusters.nearest[order],
        sizes=clusters.sizes[order],
        majority_class=clusters.majority_class[order],
        purity=clusters.purity[order],
        projection=projection,
    )


def _project_2d(points: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    count, dims = points.shape
    components = min(2, count, dims)
    projection = np.zeros((count, 2), dtype=np.float32)
    if components >= 1 and count > 1 and float(points.var(axis=0).sum()) > 0:  # identical points have no axes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a single varying direction leaves a 0/0 ratio
            projection[:, :components] = PCA(n_components=components, random_state=seed).fit_transform(points)
    return projection
