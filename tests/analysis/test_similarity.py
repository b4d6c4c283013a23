"""analysis.similarity: linear CKA from stored Gram matrices equals CKA from the features, with its invariances."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.analysis import similarity
from tensorboard_deepviz.contract import records

RNG = np.random.default_rng(7)


def _related(n: int = 200, p: int = 12, q: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Two feature sets sharing part of their signal."""
    x = RNG.standard_normal((n, p))
    y = np.tanh(x @ RNG.standard_normal((p, q))) + 0.5 * RNG.standard_normal((n, q))
    return x, y


def _orthogonal(p: int) -> np.ndarray:
    q, _ = np.linalg.qr(RNG.standard_normal((p, p)))
    return q


def test_cka_of_gram_matrices_equals_the_feature_formula():
    x, y = _related()
    from_features = similarity.feature_cka(x, y)
    from_grams = similarity.linear_cka(x @ x.T, y @ y.T)  # uncentered Grams: centered inside
    assert 0.05 < from_features < 0.95
    assert from_grams == pytest.approx(from_features, abs=1e-10)
    matrix = similarity.cka_matrix([similarity.centered_gram(x)], [similarity.centered_gram(y)])
    assert matrix[0, 0] == pytest.approx(from_features, abs=1e-10)


def test_orthogonal_transforms_isotropic_scaling_and_shifts_leave_cka_at_one():
    x, _ = _related()
    transformed = 3.7 * x @ _orthogonal(x.shape[1]) + 5.0
    assert similarity.feature_cka(x, transformed) == pytest.approx(1.0, abs=1e-10)
    assert similarity.linear_cka(similarity.centered_gram(x), similarity.centered_gram(transformed)) == pytest.approx(
        1.0, abs=1e-10
    )
    # A permutation of units is an orthogonal transform.
    assert similarity.feature_cka(x, x[:, RNG.permutation(x.shape[1])]) == pytest.approx(1.0, abs=1e-10)


def test_an_anisotropic_scaling_lowers_cka():
    x, _ = _related()
    stretched = x * np.linspace(0.1, 10.0, x.shape[1])
    assert similarity.feature_cka(x, stretched) < 0.9


def test_unrelated_random_features_have_low_cka():
    a = RNG.standard_normal((256, 16))
    b = RNG.standard_normal((256, 16))
    assert similarity.feature_cka(a, b) < 0.15


def test_not_computable_layers_are_nan_and_the_rest_still_answer():
    x, y = _related()
    constant = np.ones((len(x), 4))
    matrix = similarity.cka_matrix(
        [similarity.centered_gram(x), None, similarity.centered_gram(constant)], [similarity.centered_gram(y)]
    )
    assert np.isfinite(matrix[0, 0]) and np.isnan(matrix[1, 0]) and np.isnan(matrix[2, 0])


def test_a_gram_restricted_to_some_images_is_the_gram_of_those_images():
    x, _ = _related()
    keep = np.arange(0, len(x), 3)
    restricted = similarity.restrict_gram(similarity.centered_gram(x), keep)
    np.testing.assert_allclose(restricted, similarity.centered_gram(x[keep]), atol=1e-9)


def test_the_triangle_round_trips_and_the_smaller_form_is_chosen():
    gram = similarity.centered_gram(RNG.standard_normal((9, 20)))
    rows, cols = np.triu_indices(9)
    np.testing.assert_array_equal(similarity.gram_from_triangle(gram[rows, cols], 9), gram)
    assert similarity.stores_features(256, 128) and not similarity.stores_features(256, 129)


def test_a_low_rank_layer_is_stored_as_a_small_exact_factor():
    n = 64
    x = RNG.standard_normal((n, 3)) @ RNG.standard_normal((3, 200))  # 200 features of rank 3
    rows, cols = np.triu_indices(n)
    for statistic in (x, similarity.centered_gram(x)[rows, cols]):  # from the features, or from the triangle
        form, factor = similarity.compact(statistic, n)
        assert form == "factor" and factor.shape == (n, 3)
        np.testing.assert_allclose(factor @ factor.T, similarity.centered_gram(x), atol=1e-8)


def test_a_full_rank_wide_layer_keeps_its_gram_triangle():
    n = 64
    x = RNG.standard_normal((n, 200))  # a flat spectrum: a factor would need more values than the triangle
    form, triangle = similarity.compact(x, n)
    assert form == "gram" and triangle.shape == (similarity.triangle_size(n),)
    np.testing.assert_allclose(similarity.gram_from_triangle(triangle, n), similarity.centered_gram(x), atol=1e-9)


def test_the_components_left_out_barely_move_cka():
    n = 128
    # A decaying spectrum, as layers of trained networks have: many small components to leave out.
    x = RNG.standard_normal((n, 100)) * (0.7 ** np.arange(100))
    y = np.tanh(x[:, :10]) + 0.05 * RNG.standard_normal((n, 10))
    form, factor = similarity.compact(x, n)
    assert form == "factor" and factor.shape[1] < 40
    exact = similarity.feature_cka(x, y)
    assert similarity.linear_cka(factor @ factor.T, similarity.centered_gram(y)) == pytest.approx(exact, abs=1e-3)


def test_the_sample_is_evenly_spread_and_the_same_for_every_run_of_the_eval_set():
    sample = similarity.sample_indices(1000, 256)
    assert len(sample) == 256 and sample[0] == 0 and sample[-1] < 1000
    assert np.all(np.diff(sample) >= 3)  # spread over the whole set, not its first images
    np.testing.assert_array_equal(sample, similarity.sample_indices(1000, 256))
    np.testing.assert_array_equal(similarity.sample_indices(10, 256), np.arange(10))
    assert len(similarity.sample_indices(1000, 0)) == 0


@pytest.mark.parametrize("width", [8, 200])  # stored as features, and as a Gram triangle
def test_the_stored_float16_record_gives_the_cka_of_the_features(width):
    n = 64
    x = RNG.standard_normal((n, width)) * 300.0 + 40.0  # large values: float16 would overflow unscaled
    y = np.tanh(x[:, :8] / 300.0) + 0.3 * RNG.standard_normal((n, 8))
    statistics = []
    for features in (x, y):
        centered = features - features.mean(axis=0)
        if similarity.stores_features(n, features.shape[1]):
            statistics.append(centered)
        else:
            rows, cols = np.triu_indices(n)
            statistics.append((centered @ centered.T)[rows, cols])
    proto = summary.similarity_summary(np.arange(n) * 2, ["x", "y"], statistics)
    record = records.decode_record(list(proto.value[0].tensor.string_val))
    forms = record.fields["forms"]
    assert forms == ["factor" if width == 8 else "gram", "factor"]
    grams = [similarity.stored_gram(f, record.arrays[similarity.array_name(i)], n) for i, f in enumerate(forms)]
    matrix = similarity.cka_matrix(grams, grams)
    assert matrix[0, 1] == pytest.approx(similarity.feature_cka(x, y), abs=2e-3)
    np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-6)


def test_nonfinite_and_constant_layers_are_recorded_without_values():
    n = 8
    nan_features = np.ones((n, 3))
    nan_features[2, 1] = np.nan
    proto = summary.similarity_summary(
        range(n), ["nan", "flat", "ok"], [nan_features, np.zeros((n, 2)), np.eye(n)[:, :3]]
    )
    record = records.decode_record(list(proto.value[0].tensor.string_val))
    assert record.fields["forms"] == ["nonfinite", "constant", "factor"]
    assert set(record.arrays) == {"images", "layer2"}
    with pytest.raises(ValueError, match="must be"):
        summary.similarity_summary(range(n), ["bad"], [np.zeros(5)])
