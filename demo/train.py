"""Train the deepViz CNN on digits or CIFAR-10 and log what it learns for TensorBoard's deepviz tab.

Usage::

    python -m demo.train                                  # scikit-learn digits, about a minute on a CPU
    python -m demo.train --dataset shapes                 # generated coloured shapes
    python -m demo.train --dataset shapes --mistake unnormalized   # the same with a common mistake
    python -m demo.train --dataset shapes --model resnet20         # a deeper network (folded graph)
    python -m demo.train --cifar10-dir ~/data/cifar-10-batches-py --epochs 20
    tensorboard --logdir runs/demo
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from typing import Any, Optional

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter

from tensorboard_deepviz import DeepViz, DeepVizError

from .data import ImageDataset, load_cifar10, load_digits_dataset, load_shapes_dataset
from .model import DeepVizNet, ResNet20

DEFAULT_EPOCHS = {"digits": 6, "shapes": 10, "cifar10": 10}
# Digits reach 96-98% test accuracy in 6 epochs at 0.03 (0.01 is slower: 91-95%); for
# CIFAR-10 the common, more cautious 0.01. Shapes at 0.01 reach 97-100% in 10 epochs over seeds
# 0-2; at 0.02-0.03 some seeds diverge.
DEFAULT_LR = {"digits": 0.03, "shapes": 0.01, "cifar10": 0.01}
# The networks --model picks; ResNet-20 has BatchNorm and takes the usual 0.1 of its paper.
MODELS = {"deepviz": "the deepViz paper's 3-layer CNN", "resnet20": "the CIFAR ResNet-20 (3 stages of 3 blocks)"}
RESNET_LR = 0.1
# Common mistakes the demo can make on purpose, so that a second run shows what goes wrong.
MISTAKES = {
    "none": "none",
    "unnormalized": "pixel values fed as 0..255 instead of normalized (a forgotten ToTensor/Normalize)",
}
TARGET_CHECKPOINTS = 25  # the default --checkpoint-every spreads about this many over the run
DEFAULT_EVAL_SIZE = 5000
EVAL_BATCH_SIZE = 1000


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m demo.train``."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.train",
        description=(
            "Train the deepViz paper's 3-layer CNN and log filters, activations, predictions, confusion, "
            "clusters and layer statistics for TensorBoard's deepviz tab."
        ),
    )
    parser.add_argument(
        "--logdir", default=os.path.join("runs", "demo"), help="TensorBoard log directory (default: %(default)s)"
    )
    parser.add_argument(
        "--dataset",
        choices=("digits", "shapes", "cifar10"),
        default=None,
        help="digits: scikit-learn's bundled 8x8 digits, upsampled to 32x32 (no download); "
        "shapes: generated 32x32 coloured shapes, ten (colour, shape) classes (no download); "
        "cifar10: a local CIFAR-10 copy given by --cifar10-dir. Default: cifar10 when --cifar10-dir is given, "
        "else digits",
    )
    parser.add_argument(
        "--model",
        choices=tuple(MODELS),
        default="deepviz",
        help="; ".join(f"{name}: {meaning}" for name, meaning in MODELS.items()) + " (default: %(default)s)",
    )
    parser.add_argument(
        "--cifar10-dir",
        metavar="PATH",
        default=None,
        help="the extracted 'cifar-10-batches-py' folder of CIFAR-10's python version, or its parent "
        "(required for --dataset cifar10; nothing is downloaded)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"passes over the training set (default {DEFAULT_EPOCHS['digits']} for digits, "
        f"{DEFAULT_EPOCHS['cifar10']} for cifar10)",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="training batch size (default: %(default)s)")
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"learning rate of SGD with momentum 0.9 (default {DEFAULT_LR['digits']} for digits, "
        f"{DEFAULT_LR['cifar10']} for cifar10)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="STEPS",
        help="optimizer steps between deepviz checkpoints (full snapshots); checkpoints are also taken at "
        f"step 0 and at the end. Default: about {TARGET_CHECKPOINTS} checkpoints over the run",
    )
    parser.add_argument(
        "--eval-size",
        type=int,
        default=DEFAULT_EVAL_SIZE,
        help="how many test images (the first ones) form the deepviz eval set; capped at the test set's size (default: %(default)s)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto (the default) uses CUDA when it is available",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for weight initialization and batch order (default: %(default)s)"
    )
    parser.add_argument(
        "--run-name", default=None, help="run folder under --logdir (default: the dataset name, e.g. 'digits')"
    )
    parser.add_argument(
        "--mistake",
        choices=tuple(MISTAKES),
        default="none",
        help="train with a common mistake on purpose: "
        + "; ".join(f"{name}: {meaning}" for name, meaning in MISTAKES.items() if name != "none"),
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it is also off when stderr is not a terminal)"
    )
    return parser


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Parse ``argv`` and fill the defaults that depend on the dataset; exits with a usage error if invalid."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dataset is None:
        args.dataset = "cifar10" if args.cifar10_dir is not None else "digits"
    if args.dataset == "cifar10" and args.cifar10_dir is None:
        parser.error("--dataset cifar10 needs --cifar10-dir PATH (the demo never downloads CIFAR-10)")
    if args.dataset != "cifar10" and args.cifar10_dir is not None:
        parser.error("--cifar10-dir only applies to --dataset cifar10")
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS[args.dataset]
    if args.lr is None:
        args.lr = RESNET_LR if args.model == "resnet20" else DEFAULT_LR[args.dataset]
    for name in ("epochs", "batch_size", "eval_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        parser.error(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        parser.error(f"--lr must be a positive number, got {args.lr}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda was requested but torch.cuda.is_available() is False")
    if args.run_name is None:
        parts = (
            [args.dataset]
            + ([args.model] if args.model != "deepviz" else [])
            + ([args.mistake] if args.mistake != "none" else [])
        )
        args.run_name = "-".join(parts)
    return args


def choose_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def load_dataset(args: argparse.Namespace) -> ImageDataset:
    """The dataset chosen by ``--dataset``."""
    if args.dataset == "cifar10":
        dataset = load_cifar10(args.cifar10_dir)
    elif args.dataset == "shapes":
        dataset = load_shapes_dataset()
    else:
        dataset = load_digits_dataset()
    return with_mistake(dataset, args.mistake)


def with_mistake(dataset: ImageDataset, mistake: str) -> ImageDataset:
    """``dataset`` as a training script with ``mistake`` (one of ``MISTAKES``) would feed it."""
    if mistake == "none":
        return dataset
    if mistake == "unnormalized":
        # Undo the normalization and scale to bytes: what a pipeline without ToTensor's /255 gives.
        def as_bytes(images: torch.Tensor) -> torch.Tensor:
            return dataset.denormalize(images) * 255.0

        return dataclasses.replace(
            dataset,
            train_images=as_bytes(dataset.train_images),
            test_images=as_bytes(dataset.test_images),
            description=f"{dataset.description}; MISTAKE: {MISTAKES[mistake]}",
            mean=(0.0,) * len(dataset.mean),
            std=(1.0 / 255.0,) * len(dataset.std),
        )
    raise ValueError(f"unknown mistake {mistake!r}; expected one of {', '.join(MISTAKES)}")


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = EVAL_BATCH_SIZE) -> float:
    """Fraction of ``images`` (already on the model's device) that ``model`` classifies as ``labels``."""
    was_training = model.training
    model.eval()
    try:
        correct = torch.zeros((), dtype=torch.long, device=labels.device)
        for start in range(0, len(images), batch_size):
            predicted = model(images[start : start + batch_size]).argmax(dim=1)
            correct += (predicted == labels[start : start + batch_size]).sum()
        return int(correct) / max(1, len(labels))
    finally:
        model.train(was_training)


def _progress_bar(total: int, description: str, disable: bool) -> Any:
    """A tqdm bar over ``total`` steps, or a stand-in that does nothing when disabled or tqdm is missing."""
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is an optional extra; train without a bar
        disable = True
    if disable:
        return _NoProgress()
    return tqdm(total=total, desc=description, unit="step", dynamic_ncols=True)


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values: object) -> None:
        pass

    def close(self) -> None:
        pass


def train(args: argparse.Namespace, dataset: Optional[ImageDataset] = None) -> float:
    """Run the training described by ``args`` (on ``dataset``, default the one it names); return the test accuracy."""
    if dataset is None:
        dataset = load_dataset(args)
    torch.manual_seed(args.seed)
    device = choose_device(args.device)
    channels, height, _width = dataset.image_shape
    model: nn.Module
    if args.model == "resnet20":
        model = ResNet20(in_channels=channels, num_classes=dataset.num_classes)
    else:
        model = DeepVizNet(in_channels=channels, num_classes=dataset.num_classes, image_size=height)
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_function = nn.CrossEntropyLoss()

    loader = DataLoader(
        TensorDataset(dataset.train_images, dataset.train_labels),
        batch_size=args.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(args.seed),  # same batch order for the same --seed
        pin_memory=device.type == "cuda",
    )
    total_steps = args.epochs * len(loader)
    checkpoint_every = args.checkpoint_every or max(1, math.ceil(total_steps / TARGET_CHECKPOINTS))
    eval_size = min(args.eval_size, len(dataset.test_labels))
    eval_images, eval_labels = dataset.test_images[:eval_size], dataset.test_labels[:eval_size]
    # The full test set stays on the device for the accuracy scalar at every checkpoint.
    test_images = dataset.test_images.to(device)
    test_labels = dataset.test_labels.to(device)

    run_dir = os.path.join(args.logdir, args.run_name)
    print(f"dataset: {dataset.description}")
    print(
        f"training {type(model).__name__} on {device} for {args.epochs} epoch(s), {total_steps} steps; deepviz checkpoint every "
        f"{checkpoint_every} steps on {eval_size} eval images; logging to {run_dir}",
        flush=True,
    )

    writer = SummaryWriter(run_dir)
    progress = _progress_bar(total_steps, args.run_name, args.no_progress or not sys.stderr.isatty())
    started = time.perf_counter()
    try:
        with DeepViz(
            writer,
            model,
            eval_data=(eval_images, eval_labels),
            class_names=dataset.class_names,
            probe=16,
            layers="auto",
            clusters=30,
            batch_size=500,
            thumbnail_transform=dataset.denormalize,  # thumbnails show the images as a person sees them
        ) as viz:
            # Training loss is summed on the device and read once per checkpoint, not every step,
            # so the loop never waits for the GPU just to print a number.
            loss_sum = torch.zeros((), device=device)
            losses_since_checkpoint = 0

            def checkpoint(step: int) -> float:
                nonlocal loss_sum, losses_since_checkpoint
                viz.log_checkpoint(step)
                accuracy = evaluate(model, test_images, test_labels)
                writer.add_scalar("accuracy/test", accuracy, step)
                postfix = {"test_acc": f"{accuracy:.3f}"}
                if losses_since_checkpoint:  # none yet at step 0
                    mean_loss = float(loss_sum) / losses_since_checkpoint
                    writer.add_scalar("loss/train", mean_loss, step)
                    postfix["loss"] = f"{mean_loss:.3f}"
                    loss_sum.zero_()
                    losses_since_checkpoint = 0
                progress.set_postfix(**postfix)
                return accuracy

            step = 0
            accuracy = checkpoint(step)  # the untrained network, for comparison
            model.train()
            for _ in range(args.epochs):
                for images, labels in loader:
                    images = images.to(device, non_blocking=True)
                    labels = labels.to(device, non_blocking=True)
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_function(model(images), labels)
                    loss.backward()
                    optimizer.step()
                    step += 1
                    viz.log_step(step, loss=loss.detach())  # the loss feeds the loss-spike finding
                    loss_sum += loss.detach()
                    losses_since_checkpoint += 1
                    if step % checkpoint_every == 0:
                        accuracy = checkpoint(step)
                    progress.update()
            if step % checkpoint_every:
                accuracy = checkpoint(step)
    finally:
        progress.close()
        writer.close()
    elapsed = time.perf_counter() - started
    print(
        f"test accuracy {accuracy:.2%} on {len(test_labels)} test images after {step} steps in {elapsed:.0f} s; "
        f"logs in {run_dir}; view them with: tensorboard --logdir {args.logdir}"
    )
    return accuracy


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point; returns the process exit status (0 on success, 1 on a data or logging error)."""
    args = parse_args(argv)
    try:
        dataset = load_dataset(args)
    except (FileNotFoundError, ValueError) as error:  # a missing or malformed dataset: no traceback needed
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        train(args, dataset)
    except DeepVizError as error:
        print(f"error: some deepviz records were not written: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
