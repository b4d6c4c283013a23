"""Numbers computed from tensors: moments, quantization, confusion, clusters, probe choice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tensorboard_deepviz import metadata, statistics


def _finished(tensor):
    return statistics.statistics_from_moments(statistics.tensor_moments(tensor).numpy())


def test_statistics_match_numpy():
    values = torch.tensor([[0.0, 1.5, -2.0], [3.0, 0.0, 4.25]])
    row = dict(zip(metadata.STATISTIC_NAMES, _finished(values)))
    flat = values.double().numpy().ravel()
    assert row["count"] == 6
    assert row["mean"] == pytest.approx(flat.mean())
    assert row["std"] == pytest.approx(flat.std())
    assert (row["min"], row["max"]) == (-2.0, 4.25)
    assert row["norm"] == pytest.approx(np.linalg.norm(flat))
    assert row["zero_fraction"] == pytest.approx(2 / 6)
    assert (row["nan_count"], row["inf_count"]) == (0, 0)


def test_nan_and_inf_are_counted_and_missing_tensors_give_empty_rows():
    values = torch.tensor([1.0, float("nan"), float("inf"), float("-inf"), float("nan")], dtype=torch.float16)
    row = dict(zip(metadata.STATISTIC_NAMES, _finished(values)))
    assert (row["nan_count"], row["inf_count"], row["count"]) == (2, 2, 5)
    assert not np.any(_finished(None))


@pytest.mark.parametrize(
    "values",
    [
        torch.tensor([[0.0, 1.5, -2.0], [3.0, 0.0, 4.25]]),
        torch.tensor([1.0, float("nan"), float("inf"), float("-inf"), 0.0, float("nan")]),
        torch.randn(4, 3, 5, 5).relu(),
        torch.randn(6, 8).t(),  # not contiguous
        torch.tensor([0.5, -0.0, 2.0], dtype=torch.float64),
    ],
)
def test_accelerator_formulation_gives_the_rows_of_the_host_one(values, monkeypatch):
    # The numpy shortcut only runs on host tensors; elsewhere every moment is computed by torch
    # on the device. Disabling the shortcut runs that formulation here, on CPU tensors.
    host_row = statistics.tensor_moments(values)
    monkeypatch.setattr(statistics, "_host_array", lambda values: None)
    device_row = statistics.tensor_moments(values)
    assert device_row.dtype == torch.float64 and device_row.shape == host_row.shape
    torch.testing.assert_close(device_row, host_row, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_zero_fraction_counts_negative_zero_and_not_nan():
    values = torch.tensor([0.0, -0.0, float("nan"), 1.0])
    row = dict(zip(metadata.STATISTIC_NAMES, _finished(values)))
    assert row["zero_fraction"] == pytest.approx(2 / 4)
    assert row["nan_count"] == 1


def test_combined_moments_equal_moments_of_the_concatenation():
    a, b = torch.randn(7, 3), torch.randn(5)
    combined = statistics.combine_moments(statistics.moments_of([a, None, b]).numpy())
    direct = statistics.tensor_moments(torch.cat([a.reshape(-1), b])).numpy()
    np.testing.assert_allclose(combined, direct, rtol=1e-6, atol=1e-6)  # float32 sums
    assert not np.any(statistics.combine_moments(np.zeros((0, len(statistics.MOMENT_NAMES)))))


def test_combined_extremes_are_nan_when_a_part_holds_nan():
    rows = statistics.moments_of([torch.tensor([1.0, float("nan")]), torch.tensor([-3.0, 4.0])]).numpy()
    combined = dict(zip(statistics.MOMENT_NAMES, statistics.combine_moments(rows)))
    assert np.isnan(combined["min"]) and np.isnan(combined["max"]) and combined["nan_count"] == 1


@pytest.mark.parametrize("host", [True, False], ids=["host", "accelerator formulation"])
def test_moments_of_many_tensors_equal_each_tensors_moments(host, monkeypatch):
    tensors = [
        torch.randn(3, 4, 5).relu(),
        None,
        torch.zeros(0),
        torch.tensor([1.0, float("nan"), float("-inf"), 0.0]),
        torch.randn(7, dtype=torch.float64),
        torch.tensor([2.0, float("inf")], dtype=torch.float16),
        torch.arange(6).reshape(2, 3),
    ]
    expected = torch.stack([statistics.tensor_moments(t) for t in tensors])
    if not host:
        monkeypatch.setattr(statistics, "_host_array", lambda values: None)
    rows = statistics.moments_of(tensors)
    assert rows.shape == (len(tensors), len(statistics.MOMENT_NAMES)) and rows.dtype == torch.float64
    torch.testing.assert_close(rows, expected, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert not rows[1].any() and not rows[2].any()
    assert rows[3].tolist()[5:] == [1, 1, 1]  # zeros, NaN, Inf
    assert statistics.moments_of([]).shape == (0, len(statistics.MOMENT_NAMES))


def test_layer_moments_combine_each_layers_parameters_and_gradients():
    weight, bias, other = torch.randn(4, 3), torch.randn(4), torch.randn(5)
    activations = [torch.randn(2, 4), torch.randn(2, 5)]
    rows = statistics.moments_of(activations + [weight, bias, other] + [bias * 2]).numpy()
    table = statistics.layer_moments(rows, 2, parameter_owners=[0, 0, 1], gradient_owners=[0])
    assert table.shape == (2, len(metadata.STATISTIC_SOURCES), len(statistics.MOMENT_NAMES))
    sources = {name: i for i, name in enumerate(metadata.STATISTIC_SOURCES)}
    expected_weights = statistics.tensor_moments(torch.cat([weight.reshape(-1), bias])).numpy()
    np.testing.assert_allclose(table[0, sources["weights"]], expected_weights, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(table[0, sources["gradients"]], statistics.tensor_moments(bias * 2).numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        table[1, sources["activations"]], statistics.tensor_moments(activations[1]).numpy(), rtol=1e-6
    )
    assert not table[1, sources["gradients"]].any()  # no gradient for layer 1
    with pytest.raises(ValueError, match="moment rows"):
        statistics.layer_moments(rows, 2, parameter_owners=[0, 0, 1], gradient_owners=[])


def test_quantization_round_trip_and_special_codes():
    rng = np.random.default_rng(1)
    activations = rng.standard_normal((2, 3, 4, 4)).astype(np.float32) * 5
    activations[0, 1, 0, 0] = np.nan
    activations[1, 2, 3, 3] = np.inf
    activations[1, 0, 2, 2] = -np.inf
    codes, ranges = statistics.quantize_activations(activations)
    assert codes.dtype == np.uint8 and codes.shape == activations.shape and ranges.shape == (2, 3, 2)
    assert codes[0, 1, 0, 0] == statistics.CODE_NAN
    assert codes[1, 2, 3, 3] == statistics.CODE_POS_INF
    assert codes[1, 0, 2, 2] == statistics.CODE_NEG_INF
    finite = np.isfinite(activations)
    assert codes[finite].max() <= statistics.FINITE_LEVELS - 1
    restored = statistics.dequantize_activations(codes, ranges)
    step = (ranges[..., 1] - ranges[..., 0]).max() / (statistics.FINITE_LEVELS - 1)
    np.testing.assert_allclose(restored[finite], activations[finite], atol=step / 2 + 1e-6)
    assert np.isnan(restored[0, 1, 0, 0]) and restored[1, 2, 3, 3] == np.inf and restored[1, 0, 2, 2] == -np.inf


def test_quantization_of_linear_outputs_and_constant_channels():
    codes, ranges = statistics.quantize_activations(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]], dtype=np.float32))
    assert ranges.shape == (2, 1, 2)
    assert list(codes[0]) == [0, 126, 252]
    np.testing.assert_allclose(statistics.dequantize_activations(codes, ranges)[1], [5.0, 5.0, 5.0])


def test_confusion_groups_images_by_cell():
    labels = np.array([0, 1, 1, 2, 2, 2])
    predicted = np.array([0, 1, 2, 2, 0, 2])
    confusion = statistics.confusion_matrix(labels, predicted, 3)
    np.testing.assert_array_equal(confusion.counts, [[1, 0, 0], [0, 1, 1], [1, 0, 2]])
    cell = 2 * 3 + 2
    assert list(confusion.cell_images[confusion.cell_offsets[cell] : confusion.cell_offsets[cell + 1]]) == [3, 5]
    with pytest.raises(ValueError, match="predicted class outside 0..2"):
        statistics.confusion_matrix(labels, predicted + 1, 3)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_clusters_find_separated_groups(metric):
    rng = np.random.default_rng(0)
    centres = np.array([[10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=np.float32)
    labels = np.repeat(np.arange(3), 30)
    features = centres[labels] + rng.standard_normal((90, 3)).astype(np.float32) * 0.3
    clusters = statistics.cluster_features(features, labels, num_clusters=3, num_classes=3, metric=metric)
    np.testing.assert_allclose(clusters.purity, 1.0)
    assert sorted(clusters.majority_class) == [0, 1, 2]
    assert clusters.nearest.shape == (3, 20)
    for cluster, nearest in enumerate(clusters.nearest):
        assert (clusters.assignment[nearest] == cluster).all()
    assert clusters.projection.shape == (90, 2)


def test_clusters_survive_nan_features_and_tiny_eval_sets():
    features = np.ones((4, 5), dtype=np.float32)
    features[1] = np.nan
    clusters = statistics.cluster_features(features, np.array([0, 1, 0, 1]), num_clusters=30, num_classes=2)
    assert clusters.nonfinite_images == 1
    assert clusters.assignment.shape == (4,) and clusters.sizes.sum() == 4


def test_probe_images_are_spread_over_classes():
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    assert statistics.spread_over_classes(labels, 4) == [0, 1, 3, 5]
    assert statistics.spread_over_classes(labels, 100) == list(range(9))


def test_thumbnails_stretch_the_finite_range_and_survive_nan():
    from tensorboard_deepviz.eval_set import make_thumbnails

    images = torch.zeros(2, 3, 4, 4)
    images[0] = -1.0
    images[1] = 3.0
    images[1, 0, 0, 0] = float("nan")
    images[1, 1, 0, 0] = float("inf")
    thumbnails = make_thumbnails(images)
    assert thumbnails.shape == (2, 4, 4, 3) and thumbnails.dtype == np.uint8
    assert thumbnails[0].max() == 0 and thumbnails[1, 1, 1].tolist() == [255, 255, 255]
    assert thumbnails[1, 0, 0].tolist() == [0, 255, 255]  # NaN shows dark, +Inf bright


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    labels = np.repeat(np.arange(4), 25)
    return (centres[labels] + rng.normal(scale=0.5, size=(100, 3))).astype(np.float32), labels


def test_clusters_keep_their_numbers_and_the_scatter_its_orientation_across_checkpoints():
    features, labels = _blobs()
    first = statistics.cluster_features(features, labels, num_clusters=4, num_classes=4, nearest_per_cluster=5)
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
    followed = statistics.follow_previous(renumbered, first)
    for field in ("assignment", "nearest", "sizes", "majority_class", "purity", "projection"):
        np.testing.assert_array_equal(getattr(followed, field), getattr(first, field), err_msg=field)
    assert statistics.follow_previous(renumbered, None) is renumbered


def test_following_a_previous_result_of_another_size_changes_nothing():
    features, labels = _blobs()
    four = statistics.cluster_features(features, labels, num_clusters=4, num_classes=4)
    three = statistics.cluster_features(features, labels, num_clusters=3, num_classes=4)
    assert statistics.follow_previous(three, four) is three
