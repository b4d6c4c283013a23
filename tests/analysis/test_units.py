"""Per-unit summaries: selectivity on hand-set class means, top-image merging, stability, dead units."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz.analysis import units


def test_a_unit_active_for_one_class_only_has_selectivity_one_and_that_top_class():
    means = np.array([[0.0, 0.0, 4.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [3.0, 1.0, 1.0, 1.0]])
    selectivity, top = units.class_selectivity(means)
    assert selectivity[0] == pytest.approx(1.0, abs=1e-6) and top[0] == 2
    assert selectivity[1] == pytest.approx(0.0) and selectivity[2] == 0.0  # uniform, and silent
    assert selectivity[3] == pytest.approx((3 - 1) / (3 + 1), abs=1e-6) and top[3] == 0


def test_selectivity_needs_rectified_means_and_a_matrix():
    with pytest.raises(ValueError, match="non-negative"):
        units.class_selectivity(np.array([[1.0, -0.5]]))
    with pytest.raises(ValueError, match=r"\[units, classes\]"):
        units.class_selectivity(np.ones(3))
    selectivity, top = units.class_selectivity(np.array([[2.0], [0.0]]))
    assert selectivity.tolist() == [0.0, 0.0] and top.tolist() == [0, 0]


def test_merging_top_lists_keeps_the_best_with_ties_to_the_lower_image():
    scores = np.array([[5.0, 3.0], [1.0, np.nan]])
    images = np.array([[10, 11], [20, 21]])
    more_scores = np.array([[4.0, 3.0], [2.0, 1.0]])
    more_images = np.array([[12, 7], [22, 19]])
    merged_scores, merged_images = units.merge_top_images(scores, images, more_scores, more_images, k=3)
    assert merged_images.tolist() == [[10, 12, 7], [22, 19, 20]]
    assert merged_scores[0].tolist() == [5.0, 4.0, 3.0]
    # The order the lists arrive in does not matter.
    _, again_images = units.merge_top_images(more_scores, more_images, scores, images, k=3)
    np.testing.assert_array_equal(again_images, merged_images)


def test_stability_is_the_jaccard_overlap_of_consecutive_top_images():
    before = np.array([[1, 2, 3], [1, 2, 3], [-1, -1, -1]])
    after = np.array([[3, 2, 1], [4, 5, 3], [-1, -1, -1]])
    np.testing.assert_allclose(units.top_image_stability(before, after), [1.0, 1 / 5, 1.0])


def test_a_unit_is_dead_when_never_positive():
    np.testing.assert_array_equal(units.dead_units(np.array([-3.0, 0.0, 1e-6, np.nan])), [True, True, False, False])


def test_stability_counts_each_image_once_and_compares_lists_of_any_length():
    before = np.array([[1, 1, 2], [7, -1, -1]])
    after = np.array([[2, 3], [-1, -1]])
    # {1, 2} and {2, 3}: 1 / 3; {7} and nothing: 0.
    np.testing.assert_allclose(units.top_image_stability(before, after), [1 / 3, 0.0])
    with pytest.raises(ValueError, match="cannot be compared"):
        units.top_image_stability(before, after[:1])


def test_a_class_pair_score_is_the_lesser_of_the_two_means_over_the_average_class():
    means = np.array([[2.0, 0.0, 2.0], [4.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [np.nan, 1.0, 1.0]])
    scores = units.class_pair_scores(means, 0, 2)
    np.testing.assert_allclose(scores[:4], [1.5, 0.0, 1.0, 0.0])
    assert np.isnan(scores[4])
    np.testing.assert_allclose(units.class_pair_scores(means, 1, 1)[:3], [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"class b=3 outside 0\.\.2"):
        units.class_pair_scores(means, 0, 3)


def test_the_selectivity_histogram_has_ten_bins_over_zero_to_one():
    edges, counts = units.selectivity_histogram(np.array([0.0, 0.05, 0.1, 0.95, 1.0, np.nan]))
    np.testing.assert_allclose(edges, np.linspace(0, 1, 11))
    assert counts.tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
