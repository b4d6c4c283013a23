"""routes.confusion: counts, example images per cell, accuracy, precision and recall."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.errors import RequestError, Unreadable
from tensorboard_deepviz.server.routes import confusion
from tests.server.small_log import RUN, route_request, small_log


@pytest.fixture(scope="module")
def run():
    return small_log().run(RUN)


def test_counts_cells_and_figures_at_a_checkpoint(run):
    body = confusion.answer_confusion(run, run.locate(metadata.KIND_CONFUSION, step=2))
    assert body["step"] == 2
    assert body["counts"] == [[2, 0, 0], [0, 2, 0], [1, 1, 0]]
    assert body["cell_images"][2] == [[5], [2], []] and body["cell_images"][0][0] == [0, 3]
    assert body["accuracy"] == pytest.approx(4 / 6)
    # Nothing is predicted as a bird: no precision for it, and none of the birds is found.
    assert body["precision"] == [pytest.approx(2 / 3), pytest.approx(2 / 3), None]
    assert body["recall"] == [1.0, 1.0, 0.0]


def test_examples_limit_the_images_of_each_cell(run):
    body = confusion.answer_confusion(run, run.locate(metadata.KIND_CONFUSION, step=0), examples=1)
    assert body["cell_images"][0][0] == [0] and body["accuracy"] == 1.0
    assert confusion.answer_confusion(run, run.locate(metadata.KIND_CONFUSION), examples=0)["cell_images"][0][0] == []


def test_a_record_whose_arrays_disagree_is_unreadable():
    log = small_log()
    arrays = {
        "counts": np.ones((2, 3), np.int32),
        "cell_offsets": np.zeros(7, np.int32),
        "cell_images": np.zeros(6, np.int32),
    }
    log.add_record(RUN, 4, metadata.KIND_CONFUSION, {"num_classes": 3}, arrays)
    run = log.run(RUN)
    with pytest.raises(Unreadable, match="deepviz/confusion at step 4 has counts \\[2, 3\\] and 7 cell offsets"):
        confusion.answer_confusion(run, run.locate(metadata.KIND_CONFUSION, step=4))


def test_the_route_names_the_examples_and_bounds_them():
    log = small_log()
    assert confusion.confusion_route(route_request(log, run=RUN)).identity[-1] == (64,)
    assert confusion.confusion_route(route_request(log, run=RUN, examples="3")).identity[-1] == (3,)
    with pytest.raises(RequestError, match="parameter 'examples' must be at least 0, got -1"):
        confusion.confusion_route(route_request(log, run=RUN, examples="-1"))
    with pytest.raises(RequestError, match="parameter 'step' must be an integer, got 'x'"):
        confusion.confusion_route(route_request(log, run=RUN, step="x"))
