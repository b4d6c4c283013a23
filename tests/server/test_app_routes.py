"""The plugin inside the real TensorBoard app, over logs written by DeepViz, for both loaders."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from tensorboard_deepviz import DeepViz, summary
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server import render
from tests.support.logreader import LOADERS, open_logs
from tests.support.models import SMALL_RESNET_LAYERS, write_training_run
from tests.support.tbapp import tensorboard_app, wait_for, wait_for_checkpoints

CLASS_NAMES = ["up-left", "up-right", "down-left", "down-right"]
CHECKPOINTS = [0, 2, 4]
NAN_STEP = 3


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("plugin"))
    write_training_run(path, "healthy", CHECKPOINTS, class_names=CLASS_NAMES)
    write_training_run(path, "diverged", CHECKPOINTS, class_names=CLASS_NAMES, plant_nan_at=NAN_STEP)
    return path


@pytest.fixture(scope="module", params=LOADERS)
def client(request, logdir):
    with tensorboard_app(logdir, request.param) as client:
        wait_for_checkpoints(client, "healthy", len(CHECKPOINTS))
        wait_for_checkpoints(client, "diverged", len(CHECKPOINTS))
        yield client


@pytest.fixture(scope="module")
def logged(logdir):
    """What the event files hold, read independently of the plugin."""
    with open_logs(logdir, "python") as reader:
        weights = {
            (layer, step): reader.record("healthy", metadata.tag_for("weights", layer), step).arrays["weights"]
            for layer in SMALL_RESNET_LAYERS
            for step in CHECKPOINTS
        }
        activations = {
            step: reader.record("healthy", metadata.tag_for("activations", "stage.0.conv1"), step)
            for step in CHECKPOINTS
        }
        confusion = {step: reader.record("healthy", "deepviz/confusion", step) for step in CHECKPOINTS}
        corpus = reader.record("healthy", "deepviz/corpus", 0)
    return {"weights": weights, "activations": activations, "confusion": confusion, "corpus": corpus}


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.get_data())).convert("RGB"))


def _diverging_index(value: float, scale: float) -> float:
    return (np.clip(value / scale, -1, 1) + 1) / 2 * 255


def test_plugin_is_listed_and_index_describes_each_run(client):
    listing = client.client.get("/data/plugins_listing").get_json()
    assert listing["deepviz"]["enabled"] is True
    assert listing["deepviz"]["loading_mechanism"] == {"type": "IFRAME", "module_path": "/data/plugin/deepviz/index.js"}
    index = client.json("index")
    assert index["version"] == metadata.PROTO_VERSION
    runs = {entry["run"]: entry for entry in index["runs"]}
    assert set(runs) == {"healthy", "diverged"}
    healthy = runs["healthy"]
    assert [layer["name"] for layer in healthy["layers"]] == SMALL_RESNET_LAYERS
    assert healthy["layers"][0]["kind"] == "Conv2d" and healthy["layers"][0]["parameter_shapes"]["weight"] == [
        8,
        3,
        3,
        3,
    ]
    assert healthy["checkpoints"] == CHECKPOINTS
    assert healthy["statistics_steps"] == {"count": 5, "first": 0, "last": 4}
    assert healthy["class_names"] == CLASS_NAMES
    assert healthy["corpus_size"] == 48
    assert {"weights", "activations", "predictions", "confusion", "clusters", "statistics", "corpus", "graph"} <= set(
        healthy["kinds"]
    )


@pytest.mark.parametrize("norm", ["filter", "layer", "global"])
def test_filter_sprite_pixels_match_the_logged_weights(client, logged, norm):
    layer = "stage.0.conv1"
    every_step = np.stack([logged["weights"][(layer, s)].astype(np.float32) for s in CHECKPOINTS])
    scales_seen = []
    for step in CHECKPOINTS:
        weights = logged["weights"][(layer, step)].astype(np.float32)
        layout = client.json("filters_layout", run="healthy", layer=layer, step=step, norm=norm)
        pixels = _png(client.get("filters", run="healthy", layer=layer, step=step, norm=norm))
        assert pixels.shape[:2] == (layout["height"], layout["width"])
        for f, c, r, k in [(0, 0, 0, 0), (3, 5, 1, 2), (7, 7, 2, 2), (5, 2, 0, 1)]:
            if norm == "filter":
                scale = np.abs(weights[f]).max()
            elif norm == "layer":
                scale = np.abs(weights).max()
            else:
                scale = np.abs(every_step).max()
            x, y = render.filter_pixel_origin(layout, f, c, r, k)
            expected = _diverging_index(weights[f, c, r, k], scale)
            candidates = render.DIVERGING[[int(np.floor(expected)), min(255, int(np.ceil(expected)))]].astype(int)
            assert np.abs(candidates - pixels[y, x].astype(int)).sum(axis=1).min() <= 3, (f, c, r, k)
            assert render.locate_filter_pixel(layout, x, y) == (f, c, r, k)
        scales_seen.append(layout["scales"])
    if norm == "global":  # the same scale at every step
        assert scales_seen[0] == scales_seen[1] == scales_seen[2]
        assert scales_seen[0][0] == pytest.approx(float(np.abs(every_step).max()), rel=1e-3)


def test_first_layer_filters_are_drawn_in_colour(client, logged):
    layout = client.json("filters_layout", run="healthy", layer="stem.0", step=4)
    assert layout["kind"] == "conv_rgb"
    conv = client.json("filters_layout", run="healthy", layer="stage.0.conv1", step=4)
    assert conv["kind"] == "conv"
    linear = client.json("filters_layout", run="healthy", layer="head.3", step=4)
    assert linear["kind"] == "linear"


def test_filter_values_equal_the_logged_weights(client, logged):
    body = client.json("filter_values", run="healthy", layer="stage.0.conv2", step=2, filter=6)
    expected = logged["weights"][("stage.0.conv2", 2)][6].astype(np.float32)
    np.testing.assert_array_equal(np.array(body["values"], dtype=np.float32), expected)
    assert body["shape"] == [8, 3, 3] and body["layer_type"] == "Conv2d"
    assert body["min"] == pytest.approx(float(expected.min()))


class _SequenceNet(nn.Module):
    """A Conv2d, its BatchNorm, then a Conv1d over the flattened positions: weights of rank 4, 1 and 3."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4)
        self.sequence = nn.Conv1d(4, 5, 3)
        self.head = nn.Linear(5 * 34, len(CLASS_NAMES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(x)).relu().flatten(2)
        return self.head(self.sequence(x).flatten(1))


@pytest.mark.parametrize("loader", LOADERS)
def test_batchnorm_and_conv1d_weights_are_drawn_value_by_value(tmp_path, loader):
    model = _SequenceNet()
    with torch.no_grad():
        model.norm.weight.copy_(torch.tensor([0.5, -1.0, 2.0, 0.25]))
    images, labels = torch.randn(24, 3, 8, 8), torch.arange(24) % len(CLASS_NAMES)
    writer = SummaryWriter(str(tmp_path / "run"))
    with DeepViz(
        writer, model, (images, labels), layers=["conv", "norm", "sequence", "head"], clusters=2, probe=2
    ) as viz:
        viz.log_checkpoint(0)
    writer.close()
    with tensorboard_app(str(tmp_path), loader) as client:
        wait_for_checkpoints(client, "run", 1)
        for layer, parameter in (("norm", model.norm.weight), ("sequence", model.sequence.weight)):
            weights = parameter.detach().half().float().numpy()
            layout = client.json("filters_layout", run="run", layer=layer, step=0, norm="layer")
            pixels = _png(client.get("filters", run="run", layer=layer, step=0, norm="layer"))
            assert layout["weight_shape"] == list(weights.shape)
            bank = render.as_filter_bank(weights)
            scale = np.abs(weights).max()
            for f in range(len(weights)):
                positions = (
                    [(0, 0, 0)]
                    if bank.ndim == 2
                    else [(c, 0, k) for c in range(bank.shape[1]) for k in range(bank.shape[3])]
                )
                for c, r, k in positions:
                    x, y = render.filter_pixel_origin(layout, f, c, r, k)
                    value = bank[f, 0] if bank.ndim == 2 else bank[f, c, r, k]
                    expected = _diverging_index(value, scale)
                    candidates = render.DIVERGING[[int(np.floor(expected)), min(255, int(np.ceil(expected)))]].astype(
                        int
                    )
                    assert np.abs(candidates - pixels[y, x].astype(int)).sum(axis=1).min() <= 3, (layer, f, c, k)
            values = client.json("filter_values", run="run", layer=layer, step=0, filter=1)
            assert values["weight_shape"] == list(weights.shape[1:])
            np.testing.assert_array_equal(np.array(values["values"], dtype=np.float32).reshape(-1), bank[1].reshape(-1))


def test_activation_sprite_pixels_follow_the_stored_codes(client, logged):
    record = logged["activations"][4]
    probe = int(record.arrays["probe_images"][1])
    layout = client.json("activations_layout", run="healthy", layer="stage.0.conv1", step=4, image=probe)
    pixels = _png(client.get("activations", run="healthy", layer="stage.0.conv1", step=4, image=probe))
    codes = record.arrays["codes"][1]
    for channel, row, col in [(0, 0, 0), (3, 7, 9), (7, 15, 15)]:
        x, y = render.activation_pixel_origin(layout, channel, row, col)
        np.testing.assert_array_equal(pixels[y, x], render.SEQUENTIAL[codes[channel, row, col]])


def test_predictions_and_confusion_equal_the_logged_records(client, logged):
    for step in CHECKPOINTS:
        body = client.json("confusion", run="healthy", step=step)
        counts = logged["confusion"][step].arrays["counts"]
        assert body["counts"] == counts.tolist()
        assert body["accuracy"] == pytest.approx(np.trace(counts) / counts.sum())
        offsets = logged["confusion"][step].arrays["cell_offsets"]
        cells = logged["confusion"][step].arrays["cell_images"]
        assert body["cell_images"][1][2] == cells[offsets[1 * 4 + 2] : offsets[1 * 4 + 3]].tolist()[:64]
    predictions = client.json("predictions", run="healthy", step=4)
    assert len(predictions["predicted"]) == 48
    probe = predictions["probe_images"][0]
    single = client.json("predictions", run="healthy", step=4, image=probe)
    assert single["predicted"] == predictions["predicted"][probe]
    assert len(single["probabilities"]) == 4 and sum(single["probabilities"]) == pytest.approx(1, abs=1e-2)


def test_clusters_and_latest_step_default(client):
    body = client.json("clusters", run="healthy")
    assert body["step"] == CHECKPOINTS[-1]
    assert len(body["assignment"]) == 48 and sum(body["sizes"]) == 48
    assert len(body["projection"]) == 48


def test_corpus_thumbnails_match_the_logged_corpus(client, logged):
    corpus = client.json("corpus", run="healthy")
    assert corpus["class_names"] == CLASS_NAMES and corpus["count"] == 48
    thumbnails = logged["corpus"].arrays["thumbnails"]
    single = _png(client.get("thumbnail", run="healthy", index=5))
    np.testing.assert_array_equal(single, thumbnails[5])
    layout = client.json("thumbnails_layout", run="healthy", indices="3,7,9")
    sprite = _png(client.get("thumbnails", run="healthy", indices="3,7,9"))
    assert layout["indices"] == [3, 7, 9]
    h, w = layout["thumb"]
    columns = layout["columns"]
    for position, index in enumerate([3, 7, 9]):
        row, col = divmod(position, columns)
        np.testing.assert_array_equal(sprite[row * h : (row + 1) * h, col * w : (col + 1) * w], thumbnails[index])


def test_compare_returns_exactly_the_selected_cells(client):
    body = client.json("compare", run="healthy", steps="0:2", layers="stem.0,head.5", filters="0:3")
    assert body["steps"] == [0, 2] and body["layers"] == ["stem.0", "head.5"]
    assert [(cell["step"], cell["layer"]) for cell in body["cells"]] == [
        (0, "stem.0"),
        (0, "head.5"),
        (2, "stem.0"),
        (2, "head.5"),
    ]
    route, _, query = body["cells"][0]["url"].partition("?")
    assert client.get(route, **dict(parse_qsl(query))).status_code == 200
    ranged = client.json("compare", run="healthy", layers="stage.0.conv1:head.3", steps="4")
    assert ranged["layers"] == ["stage.0.conv1", "stage.0.conv2", "head.3"] and ranged["steps"] == [4]
    everything = client.json("compare", run="healthy")
    assert len(everything["cells"]) == len(CHECKPOINTS) * len(SMALL_RESNET_LAYERS)
    with_image = client.json("compare", run="healthy", steps="2,4", layers="stem.0", image=0)
    assert with_image["kind"] == "activations" and all("activations?" in cell["url"] for cell in with_image["cells"])
    missing = client.json("compare", 404, run="healthy", steps="3")
    assert "not available" in missing["error"]


def test_compare_refuses_more_cells_than_its_limit(client, monkeypatch):
    from tensorboard_deepviz.server.routes import compare

    monkeypatch.setattr(compare, "MAX_COMPARE_CELLS", 4)
    body = client.json("compare", 400, run="healthy")
    assert "3 checkpoints x 5 layers = 15 cells; at most 4 are allowed" in body["error"]


def test_dynamics_finds_the_first_anomaly_and_keeps_nan_steps(client):
    body = client.json("dynamics", run="diverged", stat="mean", source="weights")
    assert body["first_anomaly"]["step"] == NAN_STEP
    assert body["first_anomaly"]["layer"] == "head.3"
    sources = {entry["source"] for entry in body["first_anomaly"]["sources"]}
    assert "weights" in sources and "activations" in sources
    head = body["series"]["head.3"]
    assert NAN_STEP in head["nan_steps"] and NAN_STEP in head["steps"]
    assert client.json("dynamics", run="healthy", layer="stem.0")["first_anomaly"] is None
    short = client.json("dynamics", run="diverged", layer="head.3", stat="max", points=2)
    assert NAN_STEP in short["series"]["head.3"]["steps"]


@pytest.mark.parametrize(
    "route, params, status, message",
    [
        ("confusion", {"run": "nope"}, 404, "unknown run 'nope'"),
        ("confusion", {}, 400, "missing required parameter 'run'"),
        ("confusion", {"run": "healthy", "step": "x"}, 400, "'step' must be an integer"),
        ("confusion", {"run": "healthy", "step": "3"}, 404, "has no step 3"),
        ("filters", {"run": "healthy"}, 400, "missing required parameter 'layer'"),
        ("filters", {"run": "healthy", "layer": "fc9"}, 404, "no weights for layer 'fc9'"),
        ("filters", {"run": "healthy", "layer": "stem.0", "norm": "max"}, 400, "'norm' must be one of"),
        ("filter_values", {"run": "healthy", "layer": "stem.0", "filter": "99"}, 404, "filter 99 outside"),
        ("activations", {"run": "healthy", "layer": "stem.0", "image": "47"}, 404, "not a probe image"),
        ("thumbnail", {"run": "healthy", "index": "48"}, 404, "outside the corpus"),
        ("compare", {"run": "healthy", "filters": "5:2"}, 400, "empty or negative range"),
        ("compare", {"run": "healthy", "layers": "stem.0,fc9"}, 404, "unknown layers 'fc9'"),
        ("dynamics", {"run": "healthy", "stat": "median"}, 400, "'stat' must be one of"),
    ],
)
def test_bad_requests_get_a_json_error_naming_the_problem(client, route, params, status, message):
    body = client.json(route, status, **params)
    assert message in body["error"]


def test_responses_carry_etags_and_cache_headers(client):
    first = client.get("filters", run="healthy", layer="stem.0", step=2)
    assert first.status_code == 200
    assert "immutable" in first.headers["Cache-Control"]
    again = client.client.get(
        "/data/plugin/deepviz/filters",
        query_string={"run": "healthy", "layer": "stem.0", "step": "2"},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304
    latest = client.get("confusion", run="healthy")
    assert latest.headers["Cache-Control"] == "no-cache" and latest.headers["ETag"]


@pytest.mark.parametrize("loader", LOADERS)
def test_units_and_attribution_written_with_the_summary_functions_are_served(tmp_path, loader):
    # Three 8 x 8 thumbnails of a 16 x 16 input, each grey with a square of its own colour at rows
    # and columns 2..5 (input pixels 4..11).
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    thumbnails = np.full((3, 8, 8, 3), 128, dtype=np.uint8)
    for image, colour in enumerate(colours):
        thumbnails[image, 2:6, 2:6] = colour
    square = [4, 4, 12, 12]
    maps = np.arange(2 * 2 * 2, dtype=np.float32).reshape(2, 2, 2)
    writer = SummaryWriter(str(tmp_path / "run"))
    file_writer = writer._get_file_writer()
    file_writer.add_summary(summary.corpus_summary(thumbnails, np.array([0, 1, 2]), ["a", "b", "c"]), 0)
    for step in (0, 1):
        top_images = [[2, 0], [1, 0]] if step == 0 else [[2, 1], [1, 0]]
        record = summary.units_summary(
            "conv",
            top_images=np.array(top_images),
            top_values=np.array([[2.0, 1.0], [-1.0, -2.0]]),  # unit 1 is dead
            top_positions=np.zeros((2, 2, 2)),
            top_boxes=np.array([[square, square]] * 2),
            class_means=np.array([[2.0, 0.0, 2.0], [0.0, 0.0, 0.0]]),
            mean=np.array([4 / 3, 0.0]),
            output_shape=[2, 4, 4],
            input_shape=[16, 16],
        )
        file_writer.add_summary(record, step)
        grad_cam = summary.attribution_summary("conv", [0, 2], [0, 2], maps * (2 - step), input_shape=[16, 16])
        file_writer.add_summary(grad_cam, step)
    writer.close()
    with tensorboard_app(str(tmp_path), loader) as client:
        history = wait_for(
            lambda: client.get("units_history", run="run", layer="conv"),
            lambda response: response.status_code == 200 and response.get_json()["steps"] == [0, 1],
        ).get_json()
        assert history["stability"] == [[1.0, 1.0], [pytest.approx(1 / 3, abs=1e-4), 1.0]]
        assert history["dead_fraction"] == [0.5, 0.5]
        layer = client.json("index")["runs"][0]["layers"][0]
        assert (layer["name"], layer["has_units"], layer["has_attribution"]) == ("conv", True, True)
        body = client.json("units", run="run", layer="conv")
        assert body["step"] == 1 and [unit["dead"] for unit in body["units"]] == [False, True]
        assert body["units"][0]["top_class"] == 0 and body["units"][0]["selectivity"] == pytest.approx(1 / 3, abs=1e-6)
        top = client.json("top_images", run="run", layer="conv", unit=0, step=0)
        assert top["images"] == [2, 0] and top["boxes"] == [square, square]
        route, _, query = top["sprite"].partition("?")
        sprite = _png(client.get(route, **dict(parse_qsl(query)), size=8))
        assert sprite.shape == (8, 17, 3)
        assert (sprite[:, :8] == colours[2]).all() and (sprite[:, 9:] == colours[0]).all()
        pair = client.json("class_pair_units", run="run", a=0, b=2)
        assert [(u["layer"], u["unit"]) for u in pair["units"]] == [("conv", 0)]
        assert pair["units"][0]["score"] == pytest.approx(1.5)
        grad_cam = client.json("attribution", run="run", image=2)
        assert grad_cam["layer"] == "conv" and grad_cam["step"] == 1 and grad_cam["target"] == 2
        assert grad_cam["values"] == maps[1].ravel().tolist() and grad_cam["scale"] == [0.0, 14.0]
        assert client.json("attribution", 404, run="run", image=1)["error"].startswith("image 1 is not a probe")
        assert "unit 2 outside 0..1" in client.json("top_images", 404, run="run", layer="conv", unit=2)["error"]
