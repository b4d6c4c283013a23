"""The eval set: probe choice and thumbnails."""

from __future__ import annotations

import numpy as np
import torch

from tensorboard_deepviz.writer import eval_set


def test_probe_images_are_spread_over_classes():
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    assert eval_set.spread_over_classes(labels, 4) == [0, 1, 3, 5]
    assert eval_set.spread_over_classes(labels, 100) == list(range(9))


def test_thumbnails_stretch_the_finite_range_and_survive_nan():
    from tensorboard_deepviz.writer.eval_set import make_thumbnails

    images = torch.zeros(2, 3, 4, 4)
    images[0] = -1.0
    images[1] = 3.0
    images[1, 0, 0, 0] = float("nan")
    images[1, 1, 0, 0] = float("inf")
    thumbnails = make_thumbnails(images)
    assert thumbnails.shape == (2, 4, 4, 3) and thumbnails.dtype == np.uint8
    assert thumbnails[0].max() == 0 and thumbnails[1, 1, 1].tolist() == [255, 255, 255]
    assert thumbnails[1, 0, 0].tolist() == [0, 255, 255]  # NaN shows dark, +Inf bright
