"""K-Means clusters of features, and their continuity across checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tensorboard_deepviz.analysis import clustering


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_clusters_find_separated_groups(metric):
    rng = np.random.default_rng(0)
    centres = np.array([[10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=np.float32)
    labels = np.repeat(np.arange(3), 30)
    features = centres[labels] + rng.standard_normal((90, 3)).astype(np.float32) * 0.3
    clusters = clustering.cluster_features(features, labels, num_clusters=3, num_classes=3, metric=metric)
    np.testing.assert_allclose(clusters.purity, 1.0)
    assert sorted(clusters.majority_class) == [0, 1, 2]
    assert clusters.nearest.shape == (3, 20)
    for cluster, nearest in enumerate(clusters.nearest):
        assert (clusters.assignment[nearest] == cluster).all()
    assert clusters.projection.shape == (90, 2)


def test_clusters_survive_nan_features_and_tiny_eval_sets():
    features = np.ones((4, 5), dtype=np.float32)
    features[1] = np.nan
    clusters = clustering.cluster_features(features, np.array([0, 1, 0, 1]), num_clusters=30, num_classes=2)
    assert clusters.nonfinite_images == 1
    assert clusters.assignment.shape == (4,) and clusters.sizes.sum() == 4


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    labels = np.repeat(np.arange(4), 25)
    return (centres[labels] + rng.normal(scale=0.5, size=(100, 3))).astype(np.float32), labels


def test_clusters_keep_their_numbers_and_the_scatter_its_orientation_across_checkpoints():
    features, labels = _blobs()
    first = clustering.cluster_features(features, labels, num_clusters=4, num_classes=4, nearest_per_cluster=5)
    # The next checkpoint as K-Means and PCA may well give it: other numbers, a mirrored axis.
    permutation = np.array([2, 0, 3, 1])  # old cluster -> its number in the next result
    order = np.argsort(permutation)
    renumbered = dataclasses.replace(
        first,
        assignment=permutation[first.assignment].astype(np.int32),
        nearest=first.nearest[order],
        sizes=first.sizes[order],
        majority_class=first.majority_class[order],
        purity=first.purity[order],
        projection=first.projection * np.array([-1.0, 1.0], dtype=np.float32),
    )
    followed = clustering.follow_previous(renumbered, first)
    for field in ("assignment", "nearest", "sizes", "majority_class", "purity", "projection"):
        np.testing.assert_array_equal(getattr(followed, field), getattr(first, field), err_msg=field)
    assert clustering.follow_previous(renumbered, None) is renumbered


def test_following_a_previous_result_of_another_size_changes_nothing():
    features, labels = _blobs()
    four = clustering.cluster_features(features, labels, num_clusters=4, num_classes=4)
    three = clustering.cluster_features(features, labels, num_clusters=3, num_classes=4)
    assert clustering.follow_previous(three, four) is three
