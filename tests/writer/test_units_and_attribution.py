"""Units and Grad-CAM records on hand-set units whose answers are known by construction.

The eval set: coloured squares on a grey background, the square's colour giving the class (red,
green, blue) and its position random. A hand-set 1x1 convolution has a red detector, a green
detector and a unit with a large negative bias that never fires; a linear head reads the pooled
detectors. The red unit's top images must be red squares with boxes on the square, its class
selectivity high for the red class; the negative unit must be dead; Grad-CAM must peak on the
square. A random network checks the streaming top-k and class means against brute force.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.analysis.units import class_selectivity, dead_units
from tensorboard_deepviz.writer.checkpoint import EvalPass, write_checkpoint
from tensorboard_deepviz.writer.collectors import AttributionCollector, Tap, UnitsCollector
from tensorboard_deepviz.writer.collectors.attribution import grad_cam
from tensorboard_deepviz.writer.receptive_field import measure_receptive_fields
from tests.support.checkpoints import MemoryWriter, make_setup, memory_sink

SIDE = 16
SQUARE = 4
COLOURS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # red, green, blue = classes 0, 1, 2


def coloured_squares(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images [N, 3, 16, 16] (grey with one coloured 4x4 square), labels, and each square's (top, left)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 3
    corners = torch.randint(0, SIDE - SQUARE + 1, (count, 2), generator=generator)
    images = torch.full((count, 3, SIDE, SIDE), 0.3)
    for index, (label, (top, left)) in enumerate(zip(labels, corners)):
        images[index, :, top : top + SQUARE, left : left + SQUARE] = COLOURS[label][:, None, None]
    return images, labels, corners


class Detectors(nn.Module):
    """A 1x1 conv with hand-set units (red, green, never firing), a 3x3 conv, global pooling and a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.colour = nn.Conv2d(3, 3, 1)
        self.relu = nn.ReLU(inplace=True)  # in place: the tapped output is overwritten after the hook
        self.spread = nn.Conv2d(3, 3, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(3, 3)
        with torch.no_grad():
            self.colour.weight.zero_()
            self.colour.weight[0, :, 0, 0] = torch.tensor([1.0, -1.0, -1.0])  # red minus the rest
            self.colour.weight[1, :, 0, 0] = torch.tensor([-1.0, 1.0, -1.0])  # green minus the rest
            self.colour.weight[2, :, 0, 0] = torch.tensor([1.0, 1.0, 1.0])
            self.colour.bias.copy_(torch.tensor([0.0, 0.0, -100.0]))  # unit 2 never fires
            self.spread.weight.zero_()
            for unit in range(3):
                self.spread.weight[unit, unit] = 1.0 / 9
            self.spread.bias.zero_()
            self.head.weight.copy_(torch.tensor([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [-5.0, -5.0, 0.0]]))
            self.head.bias.copy_(torch.tensor([0.0, 0.0, 0.3]))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.colour(images))
        x = self.spread(x)
        return self.head(self.pool(x).flatten(1))


def _checkpoint(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, layers: list[str], batch_size: int = 7, **setup: Any
):
    collectors_setup = make_setup(
        model,
        labels,
        layers=layers,
        probe_images=setup.pop("probe_images", [0, 1, 2]),
        num_classes=3,
        cluster_tap=Tap(layers[-1]),
        input_shape=(SIDE, SIDE),
        **setup,
    )
    collectors = [UnitsCollector(collectors_setup), AttributionCollector(collectors_setup)]
    eval_pass = EvalPass(model, images, labels, batch_size=batch_size)
    sink, writer = memory_sink()
    job = eval_pass.run(0, collectors)
    assert job.failures == []
    assert write_checkpoint(job, sink) == []
    return writer


def test_a_red_detector_has_red_squares_for_top_images_with_boxes_on_the_square():
    images, labels, corners = coloured_squares(30)
    writer = _checkpoint(Detectors(), images, labels, ["colour", "spread", "head"], attribution_layers=["spread"])
    record = writer.record("deepviz/units/colour", 0)
    top = record.arrays["top_images"][0]
    assert len(top) == 9 and (labels.numpy()[top] == 0).all(), "the red unit's best images are red squares"
    assert record.arrays["top_values"][0, 0] == pytest.approx(1.0)  # 1*1 - 0 - 0 on a red pixel
    for image, box in zip(top, record.arrays["top_boxes"][0]):
        square_top, square_left = corners[image].tolist()
        top_px, left_px, bottom_px, right_px = box.tolist()
        # A 1x1 unit sees one pixel: the box is that pixel, inside the square.
        assert (bottom_px - top_px, right_px - left_px) == (1, 1)
        assert square_top <= top_px < square_top + SQUARE and square_left <= left_px < square_left + SQUARE
    # The 3x3 layer's field around the same position is 3x3 (clipped at the image's edge).
    spread = writer.record("deepviz/units/spread", 0)
    heights = spread.arrays["top_boxes"][0, :, 2] - spread.arrays["top_boxes"][0, :, 0]
    assert set(heights.tolist()) <= {2, 3}


def test_class_means_give_the_detectors_their_class_and_a_high_selectivity():
    images, labels, _ = coloured_squares(30)
    record = _checkpoint(Detectors(), images, labels, ["colour"]).record("deepviz/units/colour", 0)
    means = record.arrays["class_means"]
    # Red unit on a red image: 16 of 256 pixels at 1, the rest grey (0.3 - 0.6 < 0).
    assert means[0, 0] == pytest.approx(16 / 256, abs=1e-5) and means[0, 1] == pytest.approx(0.0, abs=1e-6)
    selectivity, top_class = class_selectivity(means)
    assert top_class[:2].tolist() == [0, 1]
    assert selectivity[0] > 0.99 and selectivity[1] > 0.99
    assert record.fields["rectified"] is True and record.fields["output_shape"] == [3, SIDE, SIDE]


def test_a_unit_with_a_large_negative_bias_is_dead_and_the_detectors_are_not():
    images, labels, _ = coloured_squares(30)
    record = _checkpoint(Detectors(), images, labels, ["colour"]).record("deepviz/units/colour", 0)
    assert dead_units(record.arrays["top_values"][:, 0]).tolist() == [False, False, True]
    assert record.arrays["class_means"][2].tolist() == [0.0, 0.0, 0.0]


def test_grad_cam_peaks_on_the_square_that_decides_the_class():
    images, labels, corners = coloured_squares(12, seed=3)
    model = Detectors().eval()
    probe = [0, 1, 3, 4]
    maps = grad_cam(model, images[probe], ["spread"])
    targets, values = maps["spread"]
    assert targets.tolist() == labels[probe].tolist()
    for row, image in enumerate(probe):
        peak = np.unravel_index(int(values[row].argmax()), values[row].shape)
        square_top, square_left = corners[image].tolist()
        assert square_top <= peak[0] < square_top + SQUARE and square_left <= peak[1] < square_left + SQUARE
        outside = values[row].clone()
        outside[square_top : square_top + SQUARE, square_left : square_left + SQUARE] = 0
        assert float(outside.max()) < 0.5 * float(values[row].max())


def test_grad_cam_record_leaves_the_model_its_gradients_mode_and_rng():
    images, labels, _ = coloured_squares(12)
    model = Detectors().train()
    model.head.weight.grad = torch.full_like(model.head.weight, 7.0)
    torch.manual_seed(5)
    expected_draw = torch.rand(3)
    torch.manual_seed(5)
    writer = _checkpoint(model, images, labels, ["colour", "spread"], attribution_layers=["spread"])
    assert torch.equal(torch.rand(3), expected_draw)
    assert model.training and model.colour.training
    assert torch.equal(model.head.weight.grad, torch.full_like(model.head.weight, 7.0))
    assert model.colour.weight.grad is None
    record = writer.record("deepviz/attribution/spread", 0)
    assert record.arrays["maps"].shape == (3, SIDE, SIDE)
    assert record.fields["maxima"] == pytest.approx(record.arrays["maps"].reshape(3, -1).max(axis=1).tolist())


def test_streaming_top_images_and_class_means_equal_brute_force_over_the_whole_eval_set():
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, stride=2), nn.Flatten(), nn.LazyLinear(3)
    )
    images = torch.randn(50, 3, 12, 12)
    labels = torch.arange(50) % 3
    model(images[:1])
    layers = ["0", "2", "4"]
    writer = _checkpoint(model, images, labels, layers, batch_size=8, top_images=5)
    outputs: dict[str, torch.Tensor] = {}
    handles = [
        dict(model.named_modules())[n].register_forward_hook(
            lambda m, i, o, n=n: outputs.__setitem__(n, o.detach().clone())
        )
        for n in layers
    ]
    with torch.no_grad():
        model(images)
    for handle in handles:
        handle.remove()
    for layer in layers:
        record = writer.record(f"deepviz/units/{layer}", 0)
        flat = outputs[layer].reshape(50, outputs[layer].shape[1], -1)
        maxima = flat.amax(dim=2)  # [N, U]
        expected_top = maxima.argsort(dim=0, descending=True)[:5].T  # [U, 5]
        np.testing.assert_array_equal(record.arrays["top_images"], expected_top.numpy())
        np.testing.assert_allclose(
            record.arrays["top_values"], maxima.sort(dim=0, descending=True).values[:5].T.numpy(), rtol=1e-6
        )
        positions = flat.argmax(dim=2)  # [N, U]
        if flat.shape[2] > 1:
            width = outputs[layer].shape[-1]
            expected_positions = positions[expected_top, torch.arange(flat.shape[1])[:, None]]
            np.testing.assert_array_equal(record.arrays["top_positions"][..., 0], (expected_positions // width).numpy())
            np.testing.assert_array_equal(record.arrays["top_positions"][..., 1], (expected_positions % width).numpy())
        rectified = torch.relu(flat).mean(dim=2)  # [N, U]
        expected_means = torch.stack([rectified[labels == c].mean(dim=0) for c in range(3)], dim=1)
        np.testing.assert_allclose(record.arrays["class_means"], expected_means.numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(record.arrays["mean"], rectified.mean(dim=0).numpy(), rtol=1e-4, atol=1e-6)


def test_receptive_fields_of_padded_pooled_and_strided_layers():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, stride=2), nn.ReLU()
    )
    fields = measure_receptive_fields(model, torch.randn(8, 3, 32, 32), ["0", "3"])
    first, second = fields["0"], fields["3"]
    # conv 5x5 pad 2: position i sees rows i-2 .. i+2.
    assert first.boxes(np.array([[0, 0], [10, 7], [31, 31]])).tolist() == [
        [0, 0, 3, 3],
        [8, 5, 13, 10],
        [29, 29, 32, 32],
    ]
    # pool 2, then conv 3x3 stride 2 without padding: position i sees pool rows 2i .. 2i+2, so input
    # rows 4i - 2 .. 4i + 7 through the first conv.
    assert second.output_shape == (7, 7)
    assert second.boxes(np.array([[0, 0], [3, 1]])).tolist() == [[0, 0, 8, 8], [10, 2, 20, 12]]


def test_deepviz_writes_units_and_grad_cam_by_default_and_both_can_be_turned_off():
    images, labels, _ = coloured_squares(24)
    writer = MemoryWriter()
    with DeepViz(writer, Detectors(), (images, labels), probe=3, clusters=2) as viz:
        viz.log_checkpoint(0)
    tags = writer.tags(0)
    assert {"deepviz/units/colour", "deepviz/units/spread", "deepviz/units/head"} <= set(tags)
    assert "deepviz/attribution/spread" in tags  # the last logged layer with a spatial output
    assert set(writer.marker_tags(0)) >= {"deepviz/units/colour", "deepviz/attribution/spread"}
    quiet = MemoryWriter()
    with DeepViz(quiet, Detectors(), (images, labels), probe=3, clusters=2, top_images=0, gradcam_layers=None) as viz:
        viz.log_checkpoint(0)
    assert not [tag for tag in quiet.tags(0) if "/units/" in tag or "/attribution/" in tag]


def test_wrong_units_and_grad_cam_arguments_name_the_problem():
    images, labels, _ = coloured_squares(6)
    with pytest.raises(ValueError, match="top_images must be a non-negative integer"):
        DeepViz(MemoryWriter(), Detectors(), (images, labels), top_images=-1)
    with pytest.raises(ValueError, match="unknown gradcam_layers"):
        DeepViz(MemoryWriter(), Detectors(), (images, labels), gradcam_layers=["nope"])
    with pytest.raises(ValueError, match="spatial output"):
        DeepViz(MemoryWriter(), Detectors(), (images, labels), gradcam_layers=["head"])


def test_units_are_read_after_a_relu_module_only_when_it_follows_the_layer_alone():
    from tensorboard_deepviz.writer import capture
    from tensorboard_deepviz.writer.collectors.units import rectifier_after
    from tests.support.models import SmallResNet

    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Flatten(), nn.LazyLinear(2))
    plain(torch.randn(1, 3, 8, 8))
    graph = capture.trace_graph(plain, torch.randn(1, 3, 8, 8), ["0", "2", "4"]).graph
    assert rectifier_after(graph, ["0", "2", "4"]) == {"0": "1"}
    # A residual block's ReLU module runs twice per forward pass: its first call is not the one
    # after every layer, so no layer is read there.
    resnet = SmallResNet()
    graph = capture.trace_graph(resnet, torch.randn(1, 3, 32, 32), []).graph
    assert "stage.0.conv1" not in rectifier_after(graph, ["stage.0.conv1", "stage.0.bn1"])
