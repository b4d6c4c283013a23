"""Confusion counts and the images of each cell."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz.analysis.confusion import confusion_matrix


def test_confusion_groups_images_by_cell():
    labels = np.array([0, 1, 1, 2, 2, 2])
    predicted = np.array([0, 1, 2, 2, 0, 2])
    confusion = confusion_matrix(labels, predicted, 3)
    np.testing.assert_array_equal(confusion.counts, [[1, 0, 0], [0, 1, 1], [1, 0, 2]])
    cell = 2 * 3 + 2
    assert list(confusion.cell_images[confusion.cell_offsets[cell] : confusion.cell_offsets[cell + 1]]) == [3, 5]
    with pytest.raises(ValueError, match=r"predicted class outside 0\.\.2"):
        confusion_matrix(labels, predicted + 1, 3)
