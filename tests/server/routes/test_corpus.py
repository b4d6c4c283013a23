"""routes.corpus: the eval set, one thumbnail, and thumbnail sprites with their layout."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.errors import NotFound, RequestError
from tensorboard_deepviz.server.routes import corpus
from tests.server.routes._png import pixels
from tests.server.small_log import CLASS_NAMES, LABELS, RUN, route_request, small_log, thumbnails


@pytest.fixture(scope="module")
def run():
    return small_log().run(RUN)


def _at(run):
    return run.locate(metadata.KIND_CORPUS)


def test_the_corpus_lists_labels_names_and_ids(run):
    body = corpus.answer_corpus(run, _at(run))
    assert body == {
        "count": 6,
        "class_names": CLASS_NAMES,
        "labels": LABELS.tolist(),
        "ids": [f"img{i}" for i in range(6)],
        "captions": None,
        "thumbnail_shape": [4, 4, 3],
    }


def test_a_thumbnail_is_the_logged_image(run):
    np.testing.assert_array_equal(pixels(corpus.answer_thumbnail(run, _at(run), 5)), thumbnails()[5])
    with pytest.raises(NotFound, match="image 6 outside the corpus of 6 images"):
        corpus.answer_thumbnail(run, _at(run), 6)


def test_a_sprite_places_the_selected_thumbnails_in_reading_order(run):
    layout = corpus.answer_thumbnails_layout(run, _at(run), "4,1,2", 2)
    assert layout == {
        "count": 3,
        "thumb": [4, 4],
        "columns": 2,
        "rows": 2,
        "width": 8,
        "height": 8,
        "indices": [4, 1, 2],
    }
    sprite = pixels(corpus.answer_thumbnails(run, _at(run), "4,1,2", 2))
    np.testing.assert_array_equal(sprite[0:4, 4:8], thumbnails()[1])
    np.testing.assert_array_equal(sprite[4:8, 0:4], thumbnails()[2])
    assert corpus.answer_thumbnails_layout(run, _at(run), None, None)["indices"] == list(range(6))


def test_a_selection_outside_the_eval_set_is_refused(run):
    with pytest.raises(NotFound, match=r"indices \[9\] outside 0..5"):
        corpus.answer_thumbnails(run, _at(run), "1,9", None)
    with pytest.raises(RequestError, match="'indices' has an empty or negative range"):
        corpus.answer_thumbnails_layout(run, _at(run), "3:1", None)


def test_the_routes_parse_their_parameters_before_reading():
    log = small_log()
    with pytest.raises(RequestError, match="missing required parameter 'index'"):
        corpus.thumbnail_route(route_request(log, run=RUN))
    with pytest.raises(RequestError, match="parameter 'columns' must be at least 1, got 0"):
        corpus.thumbnails_route(route_request(log, run=RUN, columns="0"))
    sprite = corpus.thumbnails_route(route_request(log, run=RUN, indices="0:2", columns="3"))
    assert sprite.identity[0] == "thumbnails" and sprite.identity[-1] == (("0:2", 3),)
    layout = corpus.thumbnails_layout_route(route_request(log, run=RUN))
    assert layout.identity[-1] == ("", None) and not layout.keep
    assert corpus.thumbnail_route(route_request(log, run=RUN, index="2")).compute().content_type == "image/png"
