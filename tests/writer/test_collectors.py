"""Each built-in collector on a tiny model, run by the eval pass alone (no DeepViz): its records are exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tensorboard_deepviz.contract import codes
from tensorboard_deepviz.writer.checkpoint import EvalPass, write_checkpoint
from tensorboard_deepviz.writer.collectors import (
    ActivationsCollector,
    ClustersCollector,
    Collector,
    PredictionsCollector,
    Tap,
    WeightsCollector,
)
from tests.support.checkpoints import make_setup, memory_sink
from tests.support.models import make_images

NUM_CLASSES = 4


class Tiny(nn.Module):
    """conv -> in-place ReLU -> pool -> linear -> in-place ReLU -> linear: both tapped outputs are overwritten in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc1 = nn.Linear(20, 6)
        self.fc2 = nn.Linear(6, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.conv(x))).flatten(1)
        return self.fc2(self.relu(self.fc1(x)))


LAYERS = ["conv", "fc1", "fc2"]


def _run(collector_types, *, probe=(0, 1, 2), count=20, batch_size=6, steps=(0,), **setup_args) -> tuple:
    torch.manual_seed(0)
    model = Tiny()
    images, labels = make_images(count, num_classes=NUM_CLASSES)
    setup = make_setup(
        model,
        labels,
        layers=LAYERS,
        probe_images=probe,
        num_classes=NUM_CLASSES,
        cluster_tap=Tap("fc2", input=True),
        **setup_args,
    )
    collectors: list[Collector] = [build(setup) for build in collector_types]
    eval_pass = EvalPass(model, images, labels, batch_size)
    sink, writer = memory_sink()
    for step in steps:
        assert write_checkpoint(eval_pass.run(step, collectors), sink) == []
    return model, images, labels, writer


def _outputs(model: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each layer's output before any in-place change, from one independent no-grad pass."""
    found: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())

    def keep(name: str):
        def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:  # None: the output stays
            found.setdefault(name, output.clone())

        return hook

    handles = [modules[name].register_forward_hook(keep(name)) for name in LAYERS]
    with torch.no_grad():
        found["logits"] = model.eval()(images)
    for handle in handles:
        handle.remove()
    return found


def test_weights_are_copied_as_float16_and_capped_by_whole_filters():
    model, _, _, writer = _run([WeightsCollector], max_weight_values=60)
    assert writer.tags(0) == [f"deepviz/weights/{name}" for name in LAYERS] + ["deepviz/checkpoint"]
    conv = writer.record("deepviz/weights/conv", 0)
    # 27 values per conv filter: two filters fit in 60; fc1 keeps 3 of its 6 rows of 20.
    assert conv.arrays["weights"].shape == (2, 3, 3, 3) and conv.fields["total_filters"] == 5
    np.testing.assert_array_equal(conv.arrays["weights"], model.conv.weight[:2].detach().half().numpy())
    assert writer.record("deepviz/weights/fc1", 0).arrays["weights"].shape == (3, 20)
    assert writer.record("deepviz/weights/fc2", 0).fields["layer_type"] == "Linear"


@pytest.mark.parametrize("probe", [[0, 1, 2], [13, 2, 19, 7]])
def test_probe_activations_are_the_rows_of_the_batched_pass_in_probe_order(probe):
    model, images, _, writer = _run([ActivationsCollector], probe=probe)
    truth = _outputs(model, images)
    for layer in LAYERS:
        record = writer.record(f"deepviz/activations/{layer}", 0)
        assert list(record.arrays["probe_images"]) == probe
        values = codes.dequantize_activations(record.arrays["codes"], record.arrays["ranges"])
        expected = truth[layer][probe].numpy()
        ranges = record.arrays["ranges"]
        step_size = (ranges[..., 1] - ranges[..., 0]).max() / (codes.FINITE_LEVELS - 1)
        np.testing.assert_allclose(values, expected, atol=step_size * 0.51 + 1e-6)
    # Copied inside the forward pass: the in-place ReLU after conv did not reach the record.
    conv = writer.record("deepviz/activations/conv", 0)
    assert (conv.arrays["ranges"][..., 0] < 0).any()


def test_predictions_and_confusion_follow_the_logits():
    model, images, labels, writer = _run([PredictionsCollector], probe=[3, 1])
    logits = _outputs(model, images)["logits"]
    probabilities = torch.softmax(logits, dim=1)
    predictions = writer.record("deepviz/predictions", 0)
    np.testing.assert_array_equal(predictions.arrays["predicted"], logits.argmax(1).numpy())
    np.testing.assert_allclose(
        predictions.arrays["probe_probabilities"].astype(np.float32), probabilities[[3, 1]].numpy(), atol=1e-3
    )
    confusion = writer.record("deepviz/confusion", 0)
    expected = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(expected, (labels.numpy(), logits.argmax(1).numpy()), 1)
    np.testing.assert_array_equal(confusion.arrays["counts"], expected)
    assert writer.tags(0) == ["deepviz/predictions", "deepviz/confusion", "deepviz/checkpoint"]


def test_clusters_cover_every_eval_image_at_every_checkpoint():
    _, _, _, writer = _run([ClustersCollector], steps=(0, 1), clusters=3)
    for step in (0, 1):
        record = writer.record("deepviz/clusters", step)
        assert record.arrays["assignment"].shape == (20,) and record.arrays["sizes"].sum() == 20
        assert record.fields["layer"] == "input of fc2"
    # The same weights give the same clusters, numbered the same (the worker keeps the previous ones).
    np.testing.assert_array_equal(
        writer.record("deepviz/clusters", 0).arrays["assignment"],
        writer.record("deepviz/clusters", 1).arrays["assignment"],
    )


def test_the_built_in_collectors_write_in_their_order_and_the_marker_names_them_all():
    _, _, _, writer = _run([WeightsCollector, ActivationsCollector, PredictionsCollector, ClustersCollector])
    tags = writer.tags(0)
    assert tags[-1] == "deepviz/checkpoint" and writer.marker_tags(0) == tags[:-1]
    assert tags[:-1] == [
        *(f"deepviz/weights/{name}" for name in LAYERS),
        *(f"deepviz/activations/{name}" for name in LAYERS),
        "deepviz/predictions",
        "deepviz/confusion",
        "deepviz/clusters",
    ]
