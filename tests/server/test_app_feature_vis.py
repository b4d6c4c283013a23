"""Feature visualization written by DeepViz, served by the real TensorBoard app through both loaders.

Its records are written after their checkpoint's marker, so the event file holds steps out of
order across tags (a render of step 0 may follow the marker of step 4); each loader must keep
them, and the routes must fall back to the latest render at or before a step.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.tensorboard import SummaryWriter

from tensorboard_deepviz import DeepViz, FeatureVis
from tensorboard_deepviz.server.plugin import IMMUTABLE, REVALIDATE
from tests.support.logreader import LOADERS, open_logs
from tests.support.models import SmallResNet, make_images, train_logged
from tests.support.tbapp import tensorboard_app, wait_for_checkpoints

CHECKPOINTS = [0, 2, 4]
RENDERED = [0, 4]  # every other checkpoint
TAG = "deepviz/feature_vis/stage"


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("feature_vis"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny operations (see tests/writer/test_feature_vis.py)
    try:
        torch.manual_seed(0)
        model = SmallResNet()
        images, labels = make_images(32)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        writer = SummaryWriter(os.path.join(path, "run"))
        settings = FeatureVis(layers=["stem.0", "stage"], every=2, steps=8, warm_steps=4)
        with DeepViz(writer, model, (images, labels), clusters=2, probe=2, feature_vis=settings) as viz:

            def flush_first(step: int) -> None:
                if step == 0:
                    viz.flush()  # then a render of 0 is written before checkpoint 2 is due

            train_logged(viz, model, optimizer, images, labels, CHECKPOINTS, after_checkpoint=flush_first)
        writer.close()
    finally:
        torch.set_num_threads(threads)
    return path


@pytest.fixture(scope="module")
def logged(logdir):
    with open_logs(logdir, "python") as reader:
        return {step: reader.record("run", TAG, step) for step in RENDERED}


@pytest.fixture(scope="module", params=LOADERS)
def client(request, logdir):
    with tensorboard_app(logdir, request.param) as client:
        wait_for_checkpoints(client, "run", len(CHECKPOINTS))
        yield client


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.get_data())).convert("RGB"))


def test_the_index_lists_every_checkpoint_and_the_layers_with_renders(client):
    run = client.json("index")["runs"][0]
    assert run["checkpoints"] == CHECKPOINTS and run["partial_checkpoints"] == []
    layers = {layer["name"]: layer for layer in run["layers"]}
    assert layers["stage"]["has_feature_vis"] and layers["stem.0"]["has_feature_vis"]
    assert not layers["head.3"]["has_feature_vis"]
    assert "feature_vis" in run["kinds"]


def test_each_checkpoint_shows_the_latest_render_at_or_before_it(client, logged):
    for requested, rendered in ((0, 0), (2, 0), (4, 4), (None, 4)):
        layout = client.json("feature_vis_layout", run="run", layer="stage", step=requested)
        assert layout["step"] == rendered and layout["requested_step"] == requested
        record = logged[rendered]
        assert layout["units"] == record.arrays["units"].tolist() == list(range(8))
        sprite = _png(client.get("feature_vis_sprite", run="run", layer="stage", step=requested))
        assert sprite.shape == (layout["height"], layout["width"], 3)
        h, w = layout["thumb"]
        for position, unit in ((0, 0), (5, 5)):
            row, col = divmod(position, layout["columns"])
            expected = record.arrays["images"][position]
            np.testing.assert_array_equal(sprite[row * h : (row + 1) * h, col * w : (col + 1) * w], expected)
            single = _png(client.get("feature_vis", run="run", layer="stage", unit=unit, step=requested))
            np.testing.assert_array_equal(single, expected)
    later = client.json("feature_vis_layout", run="run", layer="stage", step=4)
    assert later["warm_started"] is True and later["warm_from"] == 0 and later["steps"] == 4


def test_a_fallback_answer_is_revalidated_and_an_exact_one_is_immutable(client):
    exact = client.get("feature_vis_sprite", run="run", layer="stage", step=4)
    fallback = client.get("feature_vis_sprite", run="run", layer="stage", step=2)
    assert exact.headers["Cache-Control"] == IMMUTABLE and fallback.headers["Cache-Control"] == REVALIDATE


@pytest.mark.parametrize(
    "route, params, status, message",
    [
        ("feature_vis", {"layer": "stage", "unit": "99"}, 404, "unit 99 of layer 'stage' has no feature visualization"),
        ("feature_vis", {"layer": "stage"}, 400, "missing required parameter 'unit'"),
        ("feature_vis_layout", {"layer": "head.3"}, 404, "no feature_vis for layer 'head.3'"),
        ("feature_vis_sprite", {"layer": "stage", "columns": "x"}, 400, "'columns' must be an integer"),
    ],
)
def test_bad_requests_name_the_problem(client, route, params, status, message):
    assert message in client.json(route, status, run="run", **params)["error"]
