"""Feature visualization inside DeepViz: in the background, after the marker, deferred while busy, and never perturbing training."""

from __future__ import annotations

import threading
from typing import Any, Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import tensorboard_deepviz
from tensorboard_deepviz import DeepViz, DeepVizError, FeatureVis
from tensorboard_deepviz.writer.collectors import feature_vis as collector
from tests.support.checkpoints import MemoryWriter
from tests.support.models import SmallResNet, make_images

FAST = {"steps": 8, "warm_steps": 4}
TAG = "deepviz/feature_vis/"


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models, tiny operations: one CPU thread for the training side too (see test_feature_vis.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _viz(writer: Any, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, **settings: Any) -> DeepViz:
    options = {"layers": ["stem.0", "stage"], **FAST, **settings}
    return DeepViz(writer, model, (images, labels), clusters=2, probe=2, feature_vis=FeatureVis(**options))


def _rendered_steps(writer: MemoryWriter, layer: str = "stage") -> list[int]:
    return [step for tag, step, _ in writer.summaries if tag == TAG + layer]


def _train(
    seed: int, feature_vis: bool
) -> tuple[dict[str, torch.Tensor], torch.Tensor, list[torch.Tensor], MemoryWriter]:
    torch.manual_seed(seed)
    model = SmallResNet()
    images, labels = make_images(64)
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    writer = MemoryWriter()
    viz = _viz(writer, model, images, labels, every=1) if feature_vis else None
    step = 0
    for _ in range(2):
        for batch_images, batch_labels in loader:
            loss = F.cross_entropy(model(batch_images), batch_labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if viz is not None:
                viz.log_step(step)
                if step % 2 == 0:
                    viz.log_checkpoint(step)  # the render runs while training goes on
            step += 1
    if viz is not None:
        viz.close()
    gradients = [p.grad.clone() for p in model.parameters()]
    return {k: v.clone() for k, v in model.state_dict().items()}, torch.get_rng_state(), gradients, writer


def test_training_is_identical_with_and_without_feature_visualization():
    plain, plain_rng, plain_grads, _ = _train(5, feature_vis=False)
    rendered, rendered_rng, rendered_grads, writer = _train(5, feature_vis=True)
    assert plain.keys() == rendered.keys()
    for name in plain:
        assert torch.equal(plain[name], rendered[name]), name
    assert torch.equal(plain_rng, rendered_rng), "the global RNG is untouched"
    assert all(torch.equal(a, b) for a, b in zip(plain_grads, rendered_grads))
    assert _rendered_steps(writer), "feature visualization did run"


def test_records_follow_their_checkpoints_marker_at_its_step_and_the_marker_does_not_name_them():
    torch.manual_seed(0)
    images, labels = make_images(24)
    writer = MemoryWriter()
    with _viz(writer, SmallResNet(), images, labels) as viz:
        viz.log_checkpoint(7)
    order = [(tag, step) for tag, step, _ in writer.summaries]
    marker = order.index(("deepviz/checkpoint", 7))
    rendered = [i for i, (tag, step) in enumerate(order) if tag.startswith(TAG)]
    assert [order[i] for i in rendered] == [(TAG + "stem.0", 7), (TAG + "stage", 7)]
    assert min(rendered) > marker
    assert not any(tag.startswith(TAG) for tag in writer.marker_tags(7))
    record = writer.record(TAG + "stem.0", 7)
    assert record.arrays["units"].tolist() == list(range(8)) and record.arrays["images"].shape == (8, 16, 16, 3)
    assert record.fields["method"] == "fourier" and record.fields["steps"] == 8 and record.fields["size"] == [16, 16]
    assert record.fields["normalization"]["learned"] is True and record.fields["output_shape"] == [8, 16, 16]


def test_a_later_checkpoint_with_the_same_weights_continues_the_film():
    torch.manual_seed(0)
    images, labels = make_images(24)
    writer = MemoryWriter()
    with _viz(writer, SmallResNet(), images, labels, steps=48, warm_steps=6) as viz:
        viz.log_checkpoint(0)
        viz.flush()  # the first render is written before the next checkpoint is due
        viz.log_checkpoint(1)
    first, second = (writer.record(TAG + "stage", step) for step in (0, 1))
    assert second.fields["warm_started"] is True and second.fields["warm_from"] == 0 and second.fields["steps"] == 6
    assert first.fields["warm_started"] is False and first.fields["steps"] == 48
    change = np.abs(second.arrays["images"].astype(float) - first.arrays["images"].astype(float)).mean() / 255
    assert change < 0.05, change


def test_a_checkpoint_due_while_a_render_runs_is_deferred_to_the_next_one(monkeypatch):
    started, release = threading.Event(), threading.Event()
    real = collector.optimize_layer

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(timeout=60)
        return real(*args, **kwargs)

    monkeypatch.setattr(collector, "optimize_layer", slow)
    torch.manual_seed(0)
    images, labels = make_images(24)
    writer = MemoryWriter()
    with _viz(writer, SmallResNet(), images, labels, layers=["stage"]) as viz:
        viz.log_checkpoint(0)
        assert started.wait(timeout=60)
        viz.log_checkpoint(1)  # due, but the render of 0 runs: deferred
        viz.log_checkpoint(2)  # still running: deferred again
        release.set()
        viz.flush()
        viz.log_checkpoint(3)  # the deferred render, with the weights of checkpoint 3
    assert _rendered_steps(writer) == [0, 3]


def test_every_nth_checkpoint_is_rendered(monkeypatch):
    torch.manual_seed(0)
    images, labels = make_images(24)
    writer = MemoryWriter()
    with _viz(writer, SmallResNet(), images, labels, layers=["stage"], every=2) as viz:
        for step in range(5):
            viz.log_checkpoint(step * 10)
            viz.flush()
    assert _rendered_steps(writer) == [0, 20, 40]
    assert writer.marker_tags(40) and [tag for tag, step, _ in writer.summaries if step == 10 and TAG in tag] == []


def test_a_failing_render_is_warned_about_and_raised_at_close_and_the_checkpoint_is_kept(monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("out of memory while rendering")

    monkeypatch.setattr(collector, "optimize_layer", broken)
    torch.manual_seed(0)
    images, labels = make_images(24)
    writer = MemoryWriter()
    viz = _viz(writer, SmallResNet(), images, labels)
    with pytest.warns(RuntimeWarning, match=r"feature visualization at step 4 failed.*out of memory while rendering"):
        viz.log_checkpoint(4)
        viz.flush()
    with pytest.raises(DeepVizError, match="feature visualization at step 4"):
        viz.close()
    assert "deepviz/weights/stem.0" in writer.marker_tags(4) and _rendered_steps(writer) == []
    viz.close()  # closing again is harmless


def test_the_units_of_a_wide_layer_are_its_most_variable_over_the_eval_set():
    model = SmallResNet()
    with torch.no_grad():  # channel c of the stem's convolution varies c times as much as channel 1
        model.stem[0].weight.mul_(torch.tensor([1.0, 8, 2, 7, 3, 1, 1, 1])[:, None, None, None])
        model.stem[0].bias.zero_()
    images, labels = make_images(24)
    writer = MemoryWriter()
    with _viz(writer, model, images, labels, layers=["stem.0"], units=2) as viz:
        viz.log_checkpoint(0)
        viz.flush()
        viz.log_checkpoint(1)
    assert writer.record(TAG + "stem.0", 0).arrays["units"].tolist() == [1, 3]
    assert writer.record(TAG + "stem.0", 1).arrays["units"].tolist() == [1, 3], "kept for the whole run"


def test_given_normalization_is_used_as_is():
    images, labels = make_images(24)
    writer = MemoryWriter()
    normalization = ([0.4, 0.5, 0.6], [0.2, 0.25, 0.3])
    with _viz(writer, SmallResNet(), images, labels, layers=["stage"], normalization=normalization) as viz:
        viz.log_checkpoint(0)
    assert writer.record(TAG + "stage", 0).fields["normalization"] == {
        "mean": [0.4, 0.5, 0.6],
        "std": [0.2, 0.25, 0.3],
        "learned": False,
    }


@pytest.mark.parametrize(
    "feature_vis, message",
    [
        (["stem.0", "nope"], r"unknown feature_vis layers \['nope'\]"),
        (["unused"], r"feature_vis layers \['unused'\] are not called in the model's forward pass"),
        (7, "feature_vis must be a list of layer names, a FeatureVis or None"),
        (FeatureVis(layers=["stage"], normalization=([0.5], [0.5])), "normalization has 1 values per statistic"),
    ],
)
def test_wrong_feature_vis_arguments_name_the_problem(feature_vis, message):
    model = SmallResNet()
    model.unused = nn.Linear(2, 2)  # a module the forward pass never calls
    images, labels = make_images(8)
    with pytest.raises(ValueError, match=message):
        DeepViz(MemoryWriter(), model, (images, labels), layers=["stem.0"], clusters=2, feature_vis=feature_vis)


def test_eval_images_of_other_than_one_or_three_channels_are_refused():
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.LazyLinear(3))
    images, labels = torch.randn(6, 2, 8, 8), torch.arange(6) % 3
    model(images[:1])
    with pytest.raises(ValueError, match="1- or 3-channel images; the eval images have 2"):
        DeepViz(MemoryWriter(), model, (images, labels), clusters=2, feature_vis=["0"])


def test_feature_vis_is_exported_lazily_with_deepviz():
    assert tensorboard_deepviz.FeatureVis is FeatureVis
    assert "FeatureVis" in tensorboard_deepviz.__all__


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_model_renders_on_its_own_stream_and_training_is_unchanged():
    plain, plain_rng, _, _ = _train_on("cuda", feature_vis=False)
    rendered, rendered_rng, _, writer = _train_on("cuda", feature_vis=True)
    for name in plain:
        assert torch.equal(plain[name], rendered[name]), name
    assert torch.equal(plain_rng, rendered_rng)
    record = writer.record(TAG + "stage", 0)
    assert record.arrays["images"].shape == (8, 16, 16, 3) and record.fields["steps"] == 8


def _train_on(device: str, feature_vis: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor, None, MemoryWriter]:
    torch.manual_seed(2)
    model = SmallResNet().to(device)
    images, labels = make_images(32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    writer = MemoryWriter()
    viz = _viz(writer, model, images, labels) if feature_vis else None
    for step in range(4):
        loss = F.cross_entropy(model(images[:16].to(device)), labels[:16].to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if viz is not None and step % 2 == 0:
            viz.log_checkpoint(step)
    if viz is not None:
        viz.close()
    rng = torch.cuda.get_rng_state(torch.device(device))
    return {k: v.clone() for k, v in model.state_dict().items()}, rng, None, writer
