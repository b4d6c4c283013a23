"""routes.predictions: every eval image's prediction at a checkpoint, or one image's."""

from __future__ import annotations

import pytest

from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.errors import NotFound, RequestError
from tensorboard_deepviz.server.routes import predictions
from tests.server.small_log import PROBES, RUN, predicted, probabilities, route_request, small_log


@pytest.fixture(scope="module")
def run():
    return small_log().run(RUN)


def test_the_whole_eval_set_at_a_checkpoint(run):
    body = predictions.answer_predictions(run, run.locate(metadata.KIND_PREDICTIONS, step=2))
    assert body["step"] == 2 and body["probe_images"] == PROBES
    assert body["predicted"] == predicted(2).tolist() and body["confidence"] == [0.5] * 6
    assert body["probe_probabilities"] == probabilities(2).tolist()


def test_one_image_has_class_probabilities_only_if_it_is_a_probe_image(run):
    at = run.locate(metadata.KIND_PREDICTIONS)
    probe = predictions.answer_prediction(run, at, 3)
    assert probe == {"step": 2, "image": 3, "predicted": 0, "confidence": 0.5, "probabilities": [0.5, 0.25, 0.25]}
    assert predictions.answer_prediction(run, at, 2)["probabilities"] is None
    with pytest.raises(NotFound, match="image 6 outside the eval set of 6 images"):
        predictions.answer_prediction(run, at, 6)


def test_one_images_answer_is_named_but_not_kept():
    log = small_log()
    every = predictions.predictions_route(route_request(log, run=RUN, step="0"))
    assert every.identity[0] == "predictions" and every.keep
    one = predictions.predictions_route(route_request(log, run=RUN, image="4"))
    assert one.identity[0] == "prediction" and one.identity[-1] == (4,) and not one.keep
    with pytest.raises(RequestError, match="parameter 'image' must be at least 0, got -2"):
        predictions.predictions_route(route_request(log, run=RUN, image="-2"))
