"""DeepViz inside a training loop: NaN/Inf counting, no side effects, errors, writers, hooks."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tensorboard.util import tensor_util
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter

from tensorboard_deepviz import DeepViz, DeepVizError
from tensorboard_deepviz.contract import metadata, records
from tests.support.logreader import LOADERS, open_logs
from tests.support.models import SmallResNet, make_images

NAMES = list(metadata.STATISTIC_NAMES)


def _train_step(model, images, labels, optimizer) -> None:
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@pytest.mark.parametrize("loader", LOADERS)
def test_statistics_count_planted_nan_and_inf_exactly(tmp_path, loader):
    torch.manual_seed(0)
    model = SmallResNet()
    images, labels = make_images(32)
    writer = SummaryWriter(str(tmp_path / "run"))
    viz = DeepViz(writer, model, (images, labels), clusters=3)
    with torch.no_grad():
        model.stem[0].weight[0, 0, 0, 0] = float("nan")
        model.stem[0].weight[1, 0, 0, 0] = float("inf")
        model.stem[0].weight[2, 0, 0, 0] = float("-inf")
        model.head[3].weight[0, :5] = float("nan")
    captured = {}
    hooks = [
        model.stem[0].register_forward_hook(lambda m, i, o: captured.__setitem__("stem.0", o.detach().clone())),
        model.head[3].register_forward_hook(lambda m, i, o: captured.__setitem__("head.3", o.detach().clone())),
    ]
    model(images[:8]).sum().backward()
    for hook in hooks:
        hook.remove()
    viz.log_step(7)
    viz.close()
    writer.close()
    with open_logs(str(tmp_path), loader) as reader:
        for layer, planted_nan, planted_inf in (("stem.0", 1, 2), ("head.3", 5, 0)):
            rows = reader.statistics("run", layer)[7]
            module = dict(model.named_modules())[layer]
            gradients = torch.cat([p.grad.reshape(-1) for p in module.parameters()])
            assert rows[0][NAMES.index("nan_count")] == planted_nan
            assert rows[0][NAMES.index("inf_count")] == planted_inf
            assert rows[1][NAMES.index("nan_count")] == int(torch.isnan(gradients).sum())
            assert rows[1][NAMES.index("inf_count")] == int(torch.isinf(gradients).sum())
            assert rows[2][NAMES.index("nan_count")] == int(torch.isnan(captured[layer]).sum())
            assert rows[2][NAMES.index("inf_count")] == int(torch.isinf(captured[layer]).sum())
            assert rows[2][NAMES.index("nan_count")] > 0
        clean = reader.statistics("run", "stage.0.conv1")[7]
        assert clean[0][NAMES.index("nan_count")] == 0 and clean[0][NAMES.index("inf_count")] == 0


def _train(seed: int, with_logging: bool, logdir: str) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = SmallResNet()
    images, labels = make_images(64)
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    viz = DeepViz(logdir, model, (images, labels), clusters=4, probe=4) if with_logging else None
    step = 0
    for _ in range(2):
        for batch_images, batch_labels in loader:
            _train_step(model, batch_images, batch_labels, optimizer)
            if viz is not None:
                viz.log_step(step)
                if step % 2 == 0:
                    viz.log_checkpoint(step)
            step += 1
    if viz is not None:
        viz.close()
    return {name: value.clone() for name, value in model.state_dict().items()}


def test_logging_leaves_training_unchanged(tmp_path):
    """Same seed with and without DeepViz: identical weights, BatchNorm statistics and data order."""
    plain = _train(3, False, str(tmp_path / "plain"))
    logged = _train(3, True, str(tmp_path / "logged"))
    assert plain.keys() == logged.keys()
    for name in plain:
        assert torch.equal(plain[name], logged[name]), name
    assert os.listdir(tmp_path / "logged")  # logging did happen


def test_checkpoint_restores_each_module_mode():
    model = SmallResNet()
    model.train()
    model.stem.eval()  # a user's mixed setting must survive
    viz = DeepViz(_MemoryWriter(), model, make_images(16), clusters=2)
    viz.log_checkpoint(0)
    viz.close()
    assert model.training and model.head.training and model.stage.training
    assert not model.stem.training and not model.stem[0].training


class _MemoryWriter:
    """A writer keeping summaries in memory (anything with add_summary works)."""

    def __init__(self, fail_on: str = "") -> None:
        self.summaries = []
        self.protos = {}  # the latest summary of each tag
        self.fail_on = fail_on

    def add_summary(self, summary, global_step=None) -> None:
        tag = summary.value[0].tag
        if self.fail_on and self.fail_on in tag:
            raise OSError(f"disk full while writing {tag}")
        self.summaries.append((tag, global_step))
        self.protos[tag] = summary

    def flush(self) -> None:
        pass


def test_worker_error_is_warned_training_continues_and_close_raises():
    model = SmallResNet()
    images, labels = make_images(16)
    writer = _MemoryWriter(fail_on="deepviz/confusion")
    viz = DeepViz(writer, model, (images, labels), clusters=2)
    with pytest.warns(RuntimeWarning, match="writing checkpoint 4 failed.*disk full"):
        viz.log_checkpoint(4)
        viz.flush()
    viz.log_step(5)  # training goes on
    viz.flush()
    assert ("deepviz/weights/stem.0", 4) in writer.summaries
    assert ("deepviz/statistics/stem.0", 5) in writer.summaries
    with pytest.raises(DeepVizError, match=r"1 record\(s\).*checkpoint 4.*disk full"):
        viz.close()


def _marker_tags(writer: _MemoryWriter) -> list[str]:
    blobs = writer.protos["deepviz/checkpoint"].value[0].tensor.string_val
    return records.decode_record(list(blobs)).fields["tags"]


def test_each_checkpoint_ends_with_a_marker_naming_its_records():
    model = SmallResNet()
    writer = _MemoryWriter()
    with DeepViz(writer, model, make_images(16), clusters=2) as viz:
        viz.log_step(3)
        viz.log_checkpoint(3)
    at_step = [tag for tag, step in writer.summaries if step == 3 and "statistics" not in tag]
    assert at_step[-1] == "deepviz/checkpoint"
    assert _marker_tags(writer) == at_step[:-1]
    assert {"deepviz/weights/stem.0", "deepviz/activations/head.5", "deepviz/confusion", "deepviz/clusters"} <= set(
        at_step
    )


def test_a_failed_checkpoint_still_ends_with_a_marker_of_what_was_written():
    writer = _MemoryWriter(fail_on="deepviz/confusion")
    viz = DeepViz(writer, SmallResNet(), make_images(16), clusters=2)
    with pytest.warns(RuntimeWarning, match="disk full"):
        viz.log_checkpoint(4)
        viz.flush()
    assert ("deepviz/checkpoint", 4) in writer.summaries
    tags = _marker_tags(writer)
    assert "deepviz/predictions" in tags and "deepviz/confusion" not in tags and "deepviz/clusters" not in tags
    with pytest.raises(DeepVizError, match="disk full"):
        viz.close()


def test_full_queue_makes_training_wait_and_drops_nothing(tmp_path):
    model = SmallResNet()
    images, labels = make_images(32)
    writer = _MemoryWriter()
    with DeepViz(writer, model, (images, labels), clusters=2, queue_size=1) as viz:
        for step in range(12):
            viz.log_checkpoint(step)
            viz.log_step(step)
    assert sorted(step for tag, step in writer.summaries if tag == "deepviz/confusion") == list(range(12))
    assert sorted(step for tag, step in writer.summaries if tag == "deepviz/statistics/head.5") == list(range(12))


def test_hooks_are_removed_on_close():
    model = SmallResNet()
    before = {name: (len(m._forward_hooks), len(m._forward_pre_hooks)) for name, m in model.named_modules()}
    viz = DeepViz(_MemoryWriter(), model, make_images(16), clusters=2)
    assert any(len(m._forward_hooks) for m in model.modules())  # log_step's output hooks
    viz.log_checkpoint(0)
    viz.close()
    after = {name: (len(m._forward_hooks), len(m._forward_pre_hooks)) for name, m in model.named_modules()}
    assert before == after
    with pytest.raises(RuntimeError, match="closed"):
        viz.log_step(1)


def test_tensorboardx_writer_keeps_the_data_class(tmp_path):
    tensorboard_x = pytest.importorskip("tensorboardX")
    writer = tensorboard_x.SummaryWriter(str(tmp_path / "tbx"))
    model = SmallResNet()
    images, labels = make_images(16)
    with DeepViz(writer, model, (images, labels), clusters=2) as viz:
        viz.log_step(1)
        viz.log_checkpoint(1)
    writer.close()
    with open_logs(str(tmp_path), "python") as reader:
        assert "deepviz/confusion" in reader.blob_tags("tbx")
        assert reader.record("tbx", "deepviz/confusion", 1).arrays["counts"].sum() == 16
        assert 1 in reader.statistics("tbx", "stem.0")


def test_log_directory_as_writer_and_dataloader_as_eval_data(tmp_path):
    model = SmallResNet()
    images, labels = make_images(24)
    loader = DataLoader(TensorDataset(images, labels), batch_size=10)
    with DeepViz(str(tmp_path / "dir"), model, loader, clusters=2, probe=[1, 5]) as viz:
        viz.log_checkpoint(2)
    with open_logs(str(tmp_path), "python") as reader:
        predictions = reader.record("dir", "deepviz/predictions", 2)
        assert list(predictions.arrays["probe_images"]) == [1, 5]
        assert predictions.arrays["predicted"].shape == (24,)


def test_checkpoint_under_autocast_and_half_precision_eval():
    model = SmallResNet()
    images, labels = make_images(16)
    writer = _MemoryWriter()
    with DeepViz(writer, model, (images, labels), clusters=2) as viz, torch.autocast("cpu", dtype=torch.bfloat16):
        model(images[:4]).float().sum().backward()
        viz.log_step(0)
        viz.log_checkpoint(0)
    assert ("deepviz/clusters", 0) in writer.summaries


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_models_in_double_and_half_precision(dtype):
    model = SmallResNet().to(dtype)
    images, labels = make_images(16)
    writer = _MemoryWriter()
    with DeepViz(writer, model, (images, labels), clusters=2) as viz:
        model(images[:4].to(dtype)).float().sum().backward()
        viz.log_step(0)
        viz.log_checkpoint(0)
    tags = {tag for tag, step in writer.summaries if step == 0}
    layers = ["stem.0", "stage.0.conv1", "stage.0.conv2", "head.3"]
    assert {f"deepviz/statistics/{layer}" for layer in layers} <= tags
    assert {f"deepviz/weights/{layer}" for layer in layers} <= tags
    assert {"deepviz/confusion", "deepviz/clusters"} <= tags


def test_compiled_model_keeps_its_layer_names_and_its_forward_passes_are_seen():
    model = SmallResNet()
    compiled = torch.compile(model, backend="eager")  # dynamo's tracing, without a C++ compiler
    images, labels = make_images(16)
    writer = _MemoryWriter()
    with DeepViz(writer, compiled, (images, labels), clusters=2, layers=["stem.0", "head.3"]) as viz:
        compiled(images[:4]).sum().backward()
        viz.log_step(0)
        viz.log_checkpoint(0)
    tags = {tag for tag, _ in writer.summaries}
    assert {"deepviz/weights/stem.0", "deepviz/statistics/head.3", "deepviz/activations/head.3"} <= tags
    assert not any("_orig_mod" in tag for tag in tags)
    # head.3's output in the compiled forward pass (4 images x 16 features) was seen by log_step.
    rows = tensor_util.make_ndarray(writer.protos["deepviz/statistics/head.3"].value[0].tensor)
    activations = rows[metadata.STATISTIC_SOURCES.index("activations")]
    assert activations[metadata.STATISTIC_NAMES.index("count")] == 4 * model.head[3].out_features


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_model_with_amp(tmp_path):
    model = SmallResNet().cuda()
    images, labels = make_images(64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cuda")
    writer = SummaryWriter(str(tmp_path / "cuda"))
    with DeepViz(writer, model, (images, labels), clusters=3) as viz:
        for step in range(3):
            with torch.autocast("cuda", dtype=torch.float16):
                loss = F.cross_entropy(model(images[:16].cuda()), labels[:16].cuda())
            optimizer.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            viz.log_step(step)
            viz.log_checkpoint(step)
            weights_now = model.stem[0].weight.detach().cpu().clone()
    writer.close()
    with open_logs(str(tmp_path), "python") as reader:
        logged = reader.record("cuda", "deepviz/weights/stem.0", 2).arrays["weights"].astype(np.float32)
        np.testing.assert_allclose(logged, weights_now.numpy(), rtol=1e-3, atol=1e-4)
        assert reader.record("cuda", "deepviz/confusion", 2).arrays["counts"].sum() == 64


# ------------------------------------------------------------------ wrong arguments


class _NoLayers(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda m, x, y: DeepViz(_MemoryWriter(), _NoLayers(), (x, y[:0] + 0)), "16 images but 0 labels"),
        (lambda m, x, y: DeepViz(_MemoryWriter(), _NoLayers(), (x, y % 3)), "found no Conv2d or Linear"),
        (
            lambda m, x, y: DeepViz(
                _MemoryWriter(), m, (x, y), class_names=["a", "b", "c", "d"], layers=["stem.0", "nope"]
            ),
            r"unknown layer name\(s\) \['nope'\]",
        ),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y + 1), class_names=["a", "b", "c", "d"]),
            r"eval label 4 \(image 3\) is outside 0..3: class_names has 4 names",
        ),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y), class_names=["a", "b"]),
            "class_names has 2 names but the model outputs 4",
        ),
        (lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y[:10])), "16 images but 10 labels"),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y), cluster_metric="manhattan"),
            "cluster_metric must be 'euclidean' or 'cosine'",
        ),
        (lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y), clusters=0), "clusters must be a positive integer"),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y), probe=[0, 99]),
            r"probe indices \[99\] are outside the eval set of 16",
        ),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y), cluster_layer="head.99"),
            "unknown cluster_layer 'head.99'",
        ),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, (x[:, :, :, 0], y)),
            r"eval images must have shape \[N, C, H, W\]",
        ),
        (lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y.float())), "eval labels must be a 1-D integer tensor"),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, (x, y), image_ids=["a"]),
            "image_ids has 1 entries for 16 eval images",
        ),
        (
            lambda m, x, y: DeepViz(_MemoryWriter(), m, [1, 2, 3]),
            r"eval_data batch 0 is not an \(images, labels\) pair",
        ),
        (lambda m, x, y: DeepViz(_MemoryWriter(), m, (x[:1, :1], y[:1])), "running the model on one eval image failed"),
    ],
)
def test_wrong_arguments_raise_value_error_naming_the_problem(build, message):
    images, labels = make_images(16)
    with pytest.raises(ValueError, match=message):
        build(SmallResNet(), images, labels)


def test_wrong_writer_and_model_types_raise_type_error():
    images, labels = make_images(16)
    with pytest.raises(TypeError, match="writer must be"):
        DeepViz(object(), SmallResNet(), (images, labels))
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        DeepViz(_MemoryWriter(), lambda x: x, (images, labels))


def test_a_script_that_never_calls_close_loses_nothing(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))!r})
        from tests.support.models import SmallResNet, make_images
        from tensorboard_deepviz import DeepViz
        viz = DeepViz({str(tmp_path / "run")!r}, SmallResNet(), make_images(16), clusters=2)
        for step in range(5):
            viz.log_checkpoint(step)
            viz.log_step(step)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    with open_logs(str(tmp_path), "python") as reader:
        assert reader.record_steps("run", "deepviz/clusters") == [0, 1, 2, 3, 4]
        assert sorted(reader.statistics("run", "head.5")) == [0, 1, 2, 3, 4]
