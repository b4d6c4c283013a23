"""The similarity collector in the eval pass: its record gives each layer's CKA, also from ranks' slices combined."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tensorboard_deepviz.analysis import similarity
from tensorboard_deepviz.contract import records
from tensorboard_deepviz.writer.checkpoint import CheckpointJob, EvalPass, write_checkpoint
from tensorboard_deepviz.writer.collectors import SimilarityCollector, Tap
from tensorboard_deepviz.writer.collectors.similarity import SimilaritySnapshot
from tests.support.checkpoints import make_setup, memory_sink
from tests.support.models import make_images

LAYERS = ["conv", "wide", "fc"]
TAG = "deepviz/similarity"


class Net(nn.Module):
    """A narrow conv, a linear layer wider than half the sample (its Gram is sent, not its features), the output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)  # overwrites conv's output after the tap
        self.wide = nn.Linear(5, 40)
        self.fc = nn.Linear(40, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.relu(self.conv(x)).mean(dim=(2, 3))
        return self.fc(torch.tanh(self.wide(pooled)))


class Slice(EvalPass):
    """The eval pass of one rank of several: its contiguous slice of the eval set."""

    def __init__(self, share: range, *args) -> None:
        super().__init__(*args)
        self.share = share

    def my_share(self) -> range:
        return self.share


def _collector(model: nn.Module, labels: torch.Tensor, images: int) -> SimilarityCollector:
    setup = make_setup(
        model, labels, layers=LAYERS, probe_images=[0], num_classes=4, cluster_tap=Tap("fc"), similarity_images=images
    )
    return SimilarityCollector(setup)


def _record(snapshot: SimilaritySnapshot, collector: SimilarityCollector) -> records.Record:
    """The record ``collector`` writes from ``snapshot`` in the worker."""
    sink, writer = memory_sink()
    assert write_checkpoint(CheckpointJob(0, [(collector, snapshot)], [], None), sink) == []
    return writer.record(TAG, 0)


def _features(model: Net, images: torch.Tensor) -> dict[str, np.ndarray]:
    with torch.no_grad():
        conv = model.conv(images)
        wide = model.wide(torch.relu(conv).mean(dim=(2, 3)))
        fc = model.fc(torch.tanh(wide))
    return {"conv": conv.mean(dim=(2, 3)).numpy(), "wide": wide.numpy(), "fc": fc.numpy()}


def _cka(record: records.Record) -> np.ndarray:
    n = len(record.arrays["images"])
    grams = [
        similarity.stored_gram(form, record.arrays.get(similarity.array_name(i)), n)
        for i, form in enumerate(record.fields["forms"])
    ]
    return similarity.cka_matrix(grams, grams)


def test_the_record_holds_each_layer_s_statistic_over_the_sample():
    torch.manual_seed(0)
    model = Net()
    images, labels = make_images(60, num_classes=4)
    collector = _collector(model, labels, images=24)
    sink, writer = memory_sink()
    assert write_checkpoint(EvalPass(model, images, labels, 7).run(0, [collector]), sink) == []
    record = writer.record(TAG, 0)
    sample = similarity.sample_indices(60, 24)
    np.testing.assert_array_equal(record.arrays["images"], sample)
    assert record.fields["layers"] == LAYERS
    assert set(record.fields["forms"]) <= {"factor", "gram"}
    features = _features(model, images[torch.as_tensor(sample)])
    expected = [[similarity.feature_cka(features[a], features[b]) for b in LAYERS] for a in LAYERS]
    np.testing.assert_allclose(_cka(record), expected, atol=2e-3)


def test_ranks_slices_combined_give_the_record_of_one_pass():
    torch.manual_seed(0)
    model = Net()
    images, labels = make_images(60, num_classes=4)
    whole = _collector(model, labels, images=24)
    single = _record(EvalPass(model, images, labels, 7).run(0, [whole]).snapshots[0][1], whole)
    collector = _collector(model, labels, images=24)
    parts = [
        Slice(share, model, images, labels, 7).run(0, [collector]).snapshots[0][1]
        for share in (range(0, 31), range(31, 60))
    ]
    combined = _record(collector.combine(parts), collector)
    assert combined.fields == single.fields
    np.testing.assert_array_equal(combined.arrays["images"], single.arrays["images"])
    np.testing.assert_allclose(_cka(combined), _cka(single), atol=1e-3)  # a factor's signs are its own


def test_a_layer_with_nan_is_recorded_as_such_and_the_others_still_are():
    torch.manual_seed(0)
    model = Net()
    with torch.no_grad():
        model.wide.weight[3, 0] = float("nan")
    images, labels = make_images(30, num_classes=4)
    collector = _collector(model, labels, images=16)
    sink, writer = memory_sink()
    assert write_checkpoint(EvalPass(model, images, labels, 8).run(0, [collector]), sink) == []
    record = writer.record(TAG, 0)
    assert record.fields["forms"] == ["factor", "nonfinite", "nonfinite"]  # fc is computed from wide
    assert similarity.array_name(0) in record.arrays


@pytest.mark.parametrize("images", [0, 1])
def test_no_record_when_turned_off_or_too_few_images(images):
    model = Net()
    _, labels = make_images(30, num_classes=4)
    assert not _collector(model, labels, images=images).due(0)


def test_only_the_layers_the_budget_keeps_are_recorded():
    torch.manual_seed(0)
    model = Net()
    images, labels = make_images(30, num_classes=4)
    setup = make_setup(
        model, labels, layers=LAYERS, probe_images=[0], num_classes=4, cluster_tap=Tap("fc"), similarity_layers=["fc"]
    )
    sink, writer = memory_sink()
    assert write_checkpoint(EvalPass(model, images, labels, 8).run(0, [SimilarityCollector(setup)]), sink) == []
    assert writer.record(TAG, 0).fields["layers"] == ["fc"]
