"""Accuracy, precision and recall from confusion counts, None where a class leaves them undefined."""

from __future__ import annotations

import pytest

from tensorboard_deepviz.analysis.confusion import class_figures


def test_precision_is_per_predicted_class_and_recall_per_true_class():
    figures = class_figures([[3, 1], [2, 4]])  # rows: true class, columns: predicted
    assert figures.accuracy == pytest.approx(7 / 10)
    assert figures.precision == pytest.approx([3 / 5, 4 / 5])
    assert figures.recall == pytest.approx([3 / 4, 4 / 6])


def test_a_class_never_predicted_has_no_precision_and_an_absent_class_no_recall():
    figures = class_figures([[2, 0, 1], [0, 0, 0], [1, 0, 3]])
    assert figures.precision[1] is None  # nothing predicted as class 1
    assert figures.recall[1] is None  # no image of class 1
    assert figures.precision[0] == pytest.approx(2 / 3) and figures.recall[2] == pytest.approx(3 / 4)


def test_an_empty_matrix_has_no_accuracy():
    figures = class_figures([[0, 0], [0, 0]])
    assert figures.accuracy is None and figures.precision == [None, None] and figures.recall == [None, None]


def test_counts_must_be_square():
    with pytest.raises(ValueError, match="square"):
        class_figures([[1, 2, 3], [4, 5, 6]])
