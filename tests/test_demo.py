"""Tests of the demo package: the network, the two dataset loaders and the training command."""

from __future__ import annotations

import contextlib
import glob
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing import event_accumulator

# demo/ is not an installed package (setup.py ships tensorboard_deepviz only): pytest.ini puts the
# repository root on the import path.
from demo.data import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    ImageDataset,
    load_cifar10,
    load_digits_dataset,
    load_shapes_dataset,
)
from demo.model import DeepVizNet, ResNet20
from demo.shapes import CLASS_NAMES, CLASSES, COLOURS, generate_shapes
from demo.train import main, parse_args, with_mistake

REPO_ROOT = Path(__file__).resolve().parent.parent

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
LAYERS = ("conv1", "conv2", "conv3", "fc1", "fc2")


# ------------------------------------------------------------------------------------ model


def test_model_maps_cifar_sized_images_to_ten_logits() -> None:
    model = DeepVizNet()
    out = model(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10)
    assert torch.isfinite(out).all()


def test_model_layers_follow_the_paper() -> None:
    model = DeepVizNet(in_channels=1, num_classes=7, image_size=16)
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 7)
    assert [model.conv1.out_channels, model.conv2.out_channels, model.conv3.out_channels] == [32, 32, 64]
    assert all(conv.kernel_size == (5, 5) for conv in (model.conv1, model.conv2, model.conv3))
    assert model.fc1.in_features == 64 * 2 * 2 and model.fc1.out_features == 64
    # The readable names the dashboard shows are the module names.
    names = {name for name, _ in model.named_modules()}
    assert set(LAYERS) <= names


def test_resnet20_has_three_stages_of_blocks_whose_later_blocks_are_alike() -> None:
    model = ResNet20(num_classes=10)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 3 * 3 * 2 + 2  # stem, two per block, the projections of stages 2 and 3
    for stage in (model.layer1, model.layer2, model.layer3):
        # The blocks after the first have the same structure: the dashboard's graph folds them.
        shapes = [[tuple(p.shape) for p in block.parameters()] for block in stage]
        assert shapes[1] == shapes[2]
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(0.27e6, rel=0.02)  # the paper's 0.27M


def test_model_rejects_an_image_size_the_poolings_cannot_divide() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        DeepVizNet(image_size=30)


# ------------------------------------------------------------------------------------ shapes


def test_generated_shapes_are_balanced_deterministic_and_in_range() -> None:
    images, labels = generate_shapes(50, side=32, seed=3)
    again, same_labels = generate_shapes(50, side=32, seed=3)
    other, _ = generate_shapes(50, side=32, seed=4)
    assert images.shape == (50, 3, 32, 32) and images.dtype == np.float32 and labels.dtype == np.int64
    assert np.bincount(labels, minlength=len(CLASSES)).tolist() == [5] * len(CLASSES)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, same_labels)
    assert not np.array_equal(images, other)
    assert images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize("label", range(len(CLASSES)))
def test_each_class_is_drawn_in_its_colour(label: int) -> None:
    images, labels = generate_shapes(40, seed=label)
    colour = np.array(COLOURS[CLASSES[label][0]])
    for image in images[labels == label]:
        # The shape's pixels are the ones farthest from the dark grey background.
        pixels = image.reshape(3, -1).T
        shape_pixels = pixels[np.linalg.norm(pixels - np.median(pixels, axis=0), axis=1) > 0.3]
        assert len(shape_pixels) > 20
        assert np.abs(np.median(shape_pixels, axis=0) - colour).max() < 0.15


def test_every_colour_and_every_shape_is_shared_by_several_classes() -> None:
    # Neither colour nor shape alone names a class: the network needs detectors of both.
    colours = [colour for colour, _ in CLASSES]
    shapes = [shape for _, shape in CLASSES]
    assert len(set(CLASSES)) == len(CLASSES)
    assert all(colours.count(c) >= 2 for c in colours) and all(shapes.count(s) == 2 for s in shapes)


def test_shapes_dataset_is_normalized_with_its_own_statistics() -> None:
    dataset = load_shapes_dataset(train_size=200, test_size=40)
    assert dataset.train_images.shape == (200, 3, 32, 32) and dataset.test_images.shape == (40, 3, 32, 32)
    assert dataset.class_names == CLASS_NAMES
    means = dataset.train_images.mean(dim=(0, 2, 3))
    stds = dataset.train_images.std(dim=(0, 2, 3))
    np.testing.assert_allclose(means.numpy(), 0.0, atol=1e-4)
    np.testing.assert_allclose(stds.numpy(), 1.0, atol=1e-2)
    shown = dataset.denormalize(dataset.test_images[:4])
    assert shown.min() >= 0.0 and shown.max() <= 1.0


def test_the_unnormalized_mistake_feeds_byte_values_and_still_shows_the_images() -> None:
    dataset = load_shapes_dataset(train_size=30, test_size=10)
    mistaken = with_mistake(dataset, "unnormalized")
    assert 200.0 < float(mistaken.train_images.max()) <= 255.0 and float(mistaken.train_images.min()) >= 0.0
    np.testing.assert_allclose(
        mistaken.denormalize(mistaken.test_images).numpy(), dataset.denormalize(dataset.test_images).numpy(), atol=1e-5
    )
    assert "MISTAKE" in mistaken.description
    assert with_mistake(dataset, "none") is dataset


# ------------------------------------------------------------------------------------ digits


@pytest.fixture(scope="module")
def digits() -> ImageDataset:
    return load_digits_dataset()


def test_digits_shapes_ranges_and_classes(digits: ImageDataset) -> None:
    assert digits.train_images.shape == (1437, 3, 32, 32)
    assert digits.test_images.shape == (360, 3, 32, 32)
    assert digits.train_images.dtype == torch.float32
    assert digits.train_labels.dtype == torch.int64 and digits.train_labels.shape == (1437,)
    assert digits.test_labels.shape == (360,)
    assert digits.class_names == [str(d) for d in range(10)]
    both = torch.cat([digits.train_images, digits.test_images])
    # [0, 1] pixels normalized with mean 0.5 std 0.5 span [-1, 1]; the background is exactly -1.
    assert float(both.min()) == pytest.approx(-1.0) and float(both.max()) <= 1.0 + 1e-6
    assert float(both.max()) > 0.9
    # The gray digits are replicated to three identical channels.
    assert torch.equal(both[:, 0], both[:, 1]) and torch.equal(both[:, 0], both[:, 2])
    assert torch.allclose(digits.denormalize(both[:5]), (both[:5] + 1) / 2)


def test_digits_split_is_stratified_and_deterministic(digits: ImageDataset) -> None:
    train_counts = torch.bincount(digits.train_labels, minlength=10)
    test_counts = torch.bincount(digits.test_labels, minlength=10)
    assert ((test_counts >= 35) & (test_counts <= 37)).all(), test_counts  # 20% of ~180 per class
    assert int(train_counts.sum() + test_counts.sum()) == 1797
    again = load_digits_dataset()
    assert torch.equal(again.train_images, digits.train_images)
    assert torch.equal(again.test_labels, digits.test_labels)
    # No image is in both halves (the 1,797 original images are all distinct).
    train_keys = {image.numpy().tobytes() for image in digits.train_images}
    assert not any(image.numpy().tobytes() in train_keys for image in digits.test_images)


def test_digits_upsampling_keeps_the_digit(digits: ImageDataset) -> None:
    from sklearn.datasets import load_digits

    small = load_digits_dataset(image_size=8)
    assert small.train_images.shape[1:] == (3, 8, 8)
    # At 8x8 nothing is interpolated: the values are the original pixels, scaled and normalized.
    original = torch.from_numpy(load_digits().images.astype(np.float32)) / 16.0 * 2 - 1
    assert any(torch.allclose(small.test_images[0, 0], image) for image in original)
    # Downsampling the 32x32 version by area averaging recovers a similar 8x8 image.
    pooled = torch.nn.functional.avg_pool2d(digits.test_images[:1, :1], 4)[0, 0]
    assert torch.corrcoef(torch.stack([pooled.flatten(), small.test_images[0, 0].flatten()]))[0, 1] > 0.9


# ------------------------------------------------------------------------------------ CIFAR-10


def _write_pickle(path: Path, content: Any) -> None:
    with open(path, "wb") as f:
        pickle.dump(content, f, protocol=2)


def make_fake_cifar10(root: Path, per_batch: int = 8, test_count: int = 20) -> Path:
    """A CIFAR-10 python-format folder with a few random images; the first image is pure red."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(1, 6):
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        if index == 1:
            data[0] = 0
            data[0, :1024] = 255  # red plane first, then green, then blue
        labels = [(index + i) % 10 for i in range(per_batch)]
        _write_pickle(
            folder / f"data_batch_{index}", {b"batch_label": b"training batch", b"data": data, b"labels": labels}
        )
    test = rng.integers(0, 256, size=(test_count, 3072), dtype=np.uint8)
    _write_pickle(folder / "test_batch", {b"data": test, b"labels": [i % 10 for i in range(test_count)]})
    _write_pickle(folder / "batches.meta", {b"label_names": [name.encode() for name in CIFAR_NAMES], b"num_vis": 3072})
    return folder


def test_load_cifar10_reads_the_python_format(tmp_path: Path) -> None:
    folder = make_fake_cifar10(tmp_path)
    dataset = load_cifar10(folder)
    assert dataset.train_images.shape == (40, 3, 32, 32)
    assert dataset.test_images.shape == (20, 3, 32, 32)
    assert dataset.class_names == CIFAR_NAMES
    assert dataset.train_labels.dtype == torch.int64
    assert dataset.train_labels[:8].tolist() == [(1 + i) % 10 for i in range(8)]
    assert dataset.test_labels.tolist() == [i % 10 for i in range(20)]
    # The channel layout is right: the pure red image is red after undoing the normalization.
    red = dataset.denormalize(dataset.train_images[:1])[0]
    assert torch.allclose(red[0], torch.ones(32, 32), atol=1e-5)
    assert torch.allclose(red[1:], torch.zeros(2, 32, 32), atol=1e-5)
    expected = (1.0 - CIFAR10_MEAN[0]) / CIFAR10_STD[0]
    assert float(dataset.train_images[0, 0, 0, 0]) == pytest.approx(expected, rel=1e-5)
    # The parent folder works too and gives the same data.
    assert torch.equal(load_cifar10(tmp_path).test_images, dataset.test_images)


def test_load_cifar10_names_a_missing_file(tmp_path: Path) -> None:
    folder = make_fake_cifar10(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        load_cifar10(folder)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")


def test_load_cifar10_names_a_malformed_file(tmp_path: Path) -> None:
    folder = make_fake_cifar10(tmp_path)
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="test_batch"):
        load_cifar10(folder)
    _write_pickle(folder / "test_batch", {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    with pytest.raises(ValueError, match=r"test_batch.*\[N, 3072\]"):
        load_cifar10(folder)


# ------------------------------------------------------------------------------------ training command


def _read_run(run_dir: Path) -> event_accumulator.EventAccumulator:
    accumulator = event_accumulator.EventAccumulator(
        str(run_dir), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    return accumulator


DIGITS_ARGS = ["--epochs", "1", "--eval-size", "50", "--no-progress"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One short digits run through ``main``: its log directory and what it printed."""
    logdir = tmp_path_factory.mktemp("digits_run") / "logs"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["--logdir", str(logdir), "--checkpoint-every", "20", *DIGITS_ARGS])
    assert status == 0
    return logdir, printed.getvalue()


def test_main_trains_digits_and_writes_deepviz_logs(digits_run: tuple[Path, str]) -> None:
    from tensorboard_deepviz.contract import metadata

    logdir, printed = digits_run
    run_dir = logdir / "digits"
    assert glob.glob(os.path.join(run_dir, "events.out.tfevents*"))
    run = _read_run(run_dir)
    # 1437 images in batches of 64 are 23 steps: checkpoints at 0, every 20 steps, and the end.
    assert [e.step for e in run.Scalars("accuracy/test")] == [0, 20, 23]
    assert [e.step for e in run.Scalars("loss/train")] == [20, 23]
    assert all(0.0 <= e.value <= 1.0 for e in run.Scalars("accuracy/test"))
    assert np.isfinite([e.value for e in run.Scalars("loss/train")]).all()

    deepviz_tags = set(run.PluginTagToContent(metadata.PLUGIN_NAME))
    for layer in LAYERS:
        assert metadata.tag_for(metadata.KIND_WEIGHTS, layer) in deepviz_tags
        assert metadata.tag_for(metadata.KIND_ACTIVATIONS, layer) in deepviz_tags
        # log_step runs after every optimizer step.
        assert [e.step for e in run.Tensors(metadata.tag_for(metadata.KIND_STATISTICS, layer))] == list(range(1, 24))
    for kind in (metadata.KIND_PREDICTIONS, metadata.KIND_CONFUSION, metadata.KIND_CLUSTERS):
        assert [e.step for e in run.Tensors(metadata.tag_for(kind))] == [0, 20, 23]
    assert metadata.tag_for(metadata.KIND_CORPUS) in deepviz_tags

    final_line = printed.strip().splitlines()[-1]
    assert "test accuracy" in final_line and f"tensorboard --logdir {logdir}" in final_line
    final_accuracy = run.Scalars("accuracy/test")[-1].value
    assert f"test accuracy {final_accuracy:.2%}" in final_line


def test_same_seed_gives_the_same_training_whatever_the_logging(digits_run: tuple[Path, str], tmp_path: Path) -> None:
    """Checkpoints every 5 instead of 20 steps must not change the training: same seed, same numbers."""
    first = _read_run(digits_run[0] / "digits")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["--logdir", str(tmp_path), "--checkpoint-every", "5", *DIGITS_ARGS]) == 0
    second = _read_run(tmp_path / "digits")
    accuracy = {e.step: e.value for e in second.Scalars("accuracy/test")}
    assert sorted(accuracy) == [0, 5, 10, 15, 20, 23]
    for event in first.Scalars("accuracy/test"):
        assert accuracy[event.step] == event.value
    # Both runs average the training loss of steps 21..23 into their last loss/train point.
    assert second.Scalars("loss/train")[-1].value == pytest.approx(first.Scalars("loss/train")[-1].value, rel=1e-6)


def test_main_trains_on_a_local_cifar10_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_fake_cifar10(tmp_path / "data")
    logdir = tmp_path / "logs"
    # --cifar10-dir alone selects the cifar10 dataset; the run is named after it.
    argv = ["--cifar10-dir", str(tmp_path / "data"), "--logdir", str(logdir), "--epochs", "1", "--batch-size", "16"]
    assert main(argv + ["--no-progress"]) == 0
    run = _read_run(logdir / "cifar10")
    assert [e.step for e in run.Scalars("accuracy/test")] == [0, 1, 2, 3]  # 40 images / 16 = 3 steps
    assert "on 20 test images" in capsys.readouterr().out


def test_main_reports_a_missing_cifar10_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--cifar10-dir", str(tmp_path), "--logdir", str(tmp_path / "logs"), "--no-progress"]) == 1
    assert "data_batch_1" in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()  # nothing is logged for a run that cannot start


def test_main_rejects_cifar10_without_a_directory() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", "cifar10"])
    assert exit_info.value.code == 2


def test_a_mistake_run_is_named_after_its_dataset_and_mistake() -> None:
    assert parse_args(["--dataset", "shapes", "--mistake", "unnormalized"]).run_name == "shapes-unnormalized"
    assert parse_args(["--dataset", "shapes"]).run_name == "shapes"
    resnet = parse_args(["--dataset", "shapes", "--model", "resnet20"])
    assert (resnet.run_name, resnet.lr) == ("shapes-resnet20", 0.1)
    with pytest.raises(SystemExit):
        parse_args(["--mistake", "typo"])


def test_help_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo.train", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for option in ("--logdir", "--dataset", "--cifar10-dir", "--checkpoint-every", "--eval-size", "--device"):
        assert option in result.stdout
