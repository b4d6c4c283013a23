"""Per-step measures for the findings: update ratios, saturation, the eval images' scale, the loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tensorboard.util import tensor_util
from torch import nn

from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.writer.training_health import (
    UPDATE_SAMPLE,
    UpdateRatios,
    bounded_activations,
    input_statistics,
    saturation,
)
from tests.support.checkpoints import MemoryWriter


def test_the_update_ratio_is_the_change_over_the_norm_and_nan_at_first():
    layer = nn.Linear(10, 3, bias=False)
    small = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.fill_(2.0)
        small.weight.fill_(1.0)
    ratios = UpdateRatios([layer, nn.ReLU(), small])
    assert torch.isnan(ratios.measure()).all()
    with torch.no_grad():
        layer.weight.add_(0.02)  # every weight moves by 1% of itself
    measured = ratios.measure()
    assert measured[0].item() == pytest.approx(0.02 / 2.02)
    assert math.isnan(measured[1].item()) and measured[2].item() == 0.0  # no weight; did not move


def test_a_large_layer_is_measured_on_a_fixed_sample():
    layer = nn.Linear(200, 100)  # 20,000 weights
    ratios = UpdateRatios([layer])
    ratios.measure()
    assert ratios._indices[0] is not None and len(ratios._indices[0]) == UPDATE_SAMPLE
    with torch.no_grad():
        layer.weight.mul_(1.5)
    assert ratios.measure()[0].item() == pytest.approx(0.5 / 1.5)


def test_saturation_counts_outputs_beyond_the_bounded_activation_threshold():
    graph = {
        "nodes": [{"id": "fc", "type": "Linear"}, {"id": "act", "type": "Tanh"}, {"id": "conv", "type": "Conv2d"}],
        "edges": [{"source": "fc", "target": "act"}, {"source": "conv", "target": "fc"}],
    }
    thresholds = bounded_activations(graph, ["conv", "fc"])
    assert thresholds == {"fc": pytest.approx(math.atanh(0.99))}
    outputs = [torch.zeros(4), torch.tensor([0.0, 3.0, -5.0, 1.0])]
    shares = saturation(outputs, ["conv", "fc"], thresholds)
    assert math.isnan(shares[0].item()) and shares[1].item() == 0.5
    assert saturation(outputs, ["conv", "fc"], {}) is None


def test_input_statistics_ignore_non_finite_values():
    images = torch.tensor([0.0, 255.0, float("nan"), 127.5])
    stats = input_statistics(images)
    assert stats == {"mean": 127.5, "std": pytest.approx(np.std([0.0, 255.0, 127.5])), "min": 0.0, "max": 255.0}


class Bounded(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(12, 6)
        self.tanh = nn.Tanh()
        self.out = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.tanh(self.hidden(self.flatten(x))))


def test_log_step_writes_update_ratios_saturation_and_the_loss_and_the_graph_the_eval_scale():
    torch.manual_seed(0)
    model = Bounded()
    images, labels = torch.rand(8, 3, 2, 2) * 255, torch.arange(8) % 2
    writer = MemoryWriter()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with DeepViz(writer, model, (images, labels), probe=2, clusters=2, top_images=0, gradcam_layers=None) as viz:
        for step in range(2):
            loss = nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            viz.log_step(step, loss=loss)
    graph = writer.record("deepviz/graph", 0).fields
    assert graph["eval_inputs"]["max"] > 200 and graph["eval_inputs"]["min"] >= 0
    rows = {
        tag: summary.value[0].tensor
        for tag, step, summary in writer.summaries
        if step == 1 and tag.startswith("deepviz/statistics/")
    }
    hidden = tensor_util.make_ndarray(rows["deepviz/statistics/hidden"])
    assert hidden.shape == (3, len(metadata.STATISTIC_NAMES))
    weights, activations = metadata.STATISTIC_SOURCES.index("weights"), metadata.STATISTIC_SOURCES.index("activations")
    ratio = hidden[weights, metadata.STATISTIC_NAMES.index("update_ratio")]
    assert 0 < ratio < 1
    # 0..255 inputs into a linear layer before tanh: nearly every output saturates it.
    assert hidden[activations, metadata.STATISTIC_NAMES.index("saturation")] > 0.8
    out = tensor_util.make_ndarray(rows["deepviz/statistics/out"])
    assert np.isnan(out[activations, metadata.STATISTIC_NAMES.index("saturation")])  # nothing bounded after it
    losses = [(step, s) for tag, step, s in writer.summaries if tag == "deepviz/loss"]
    assert [step for step, _ in losses] == [0, 1]
    assert tensor_util.make_ndarray(losses[1][1].value[0].tensor) == pytest.approx(loss.item())
