"""Logging cost: DeepViz.log_checkpoint against the forward passes alone and the hand-made recipe.

Per checkpoint, in one process, contenders alternating, medians of several repetitions:
  * floor: the forward passes alone (no grad, hooks collecting the probe activations);
  * recipe: what users write by hand: filter grids via add_image, probe activation grids via
    add_images, a matplotlib confusion figure via add_figure, last-layer features via
    add_embedding with labels and thumbnails;
  * deepviz: DeepViz.log_checkpoint with every record kind.
Reports time blocking the training thread, time until the data is on disk, bytes written, and
the ratios of docs/ARCHITECTURE.md, Performance targets. Then log_step's cost over a ResNet-18 training step.

    python -m benchmarks.logging_cost [--device cuda] [--model deepviz3|resnet18] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics as stats
import sys
import tempfile
import time
from typing import Any, Callable
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.tensorboard import SummaryWriter

from benchmarks.common import markdown_table, report
from benchmarks.models import MODELS, ResNet18
from benchmarks.serving import CLASS_NAMES, synthetic_cifar
from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.writer import moments as deepviz_moments
from tensorboard_deepviz.writer.collectors.attribution import grad_cam


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def directory_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def logged_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def forward_passes(
    model: nn.Module, images: torch.Tensor, probe: list[int], batch: int, *, features_of: nn.Module | None = None
):
    """The floor: probe pass with hooks on every layer, then the eval passes; returns what was collected."""
    collected: dict[str, torch.Tensor] = {}
    hooks = [
        m.register_forward_hook(lambda mod, i, o, n=n: collected.__setitem__(n, o.detach()))
        for n, m in logged_layers(model).items()
    ]
    was_training = model.training
    model.eval()
    features: list[torch.Tensor] = []
    feature_hook = None
    try:
        with torch.no_grad():
            model(images[probe])
            probe_outputs = dict(collected)
            for hook in hooks:
                hook.remove()
            hooks = []
            if features_of is not None:
                feature_hook = features_of.register_forward_pre_hook(
                    lambda mod, inputs: features.append(inputs[0].detach())
                )
            logits = [model(images[start : start + batch]) for start in range(0, len(images), batch)]
    finally:
        for hook in hooks:
            hook.remove()
        if feature_hook is not None:
            feature_hook.remove()
        model.train(was_training)
    return probe_outputs, torch.cat(logits), (torch.cat(features) if features_of is not None else None)


def grid(tiles: torch.Tensor, columns: int) -> torch.Tensor:
    """[N, C, H, W] tiles in [0, 1] -> one [C, rows*(H+1), columns*(W+1)] image (a hand-made make_grid)."""
    count, channels, height, width = tiles.shape
    rows = math.ceil(count / columns)
    canvas = torch.zeros(channels, rows * (height + 1), columns * (width + 1))
    for index in range(count):
        r, c = divmod(index, columns)
        canvas[:, r * (height + 1) : r * (height + 1) + height, c * (width + 1) : c * (width + 1) + width] = tiles[
            index
        ]
    return canvas


def normalize(tiles: torch.Tensor) -> torch.Tensor:
    flat = tiles.reshape(len(tiles), -1)
    low, high = flat.min(1).values.view(-1, 1, 1, 1), flat.max(1).values.view(-1, 1, 1, 1)
    return (tiles - low) / (high - low).clamp_min(1e-8)


def recipe_checkpoint(
    writer: SummaryWriter,
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    thumbnails: torch.Tensor,
    probe: list[int],
    batch: int,
    step: int,
) -> None:
    """The hand-made recipe, all on the training thread as users write it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    last_linear = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    probe_outputs, logits, features = forward_passes(model, images, probe, batch, features_of=last_linear)
    for name, module in logged_layers(model).items():
        weight = module.weight.detach().float().cpu()
        if weight.ndim == 4:
            tiles = weight if weight.shape[1] == 3 else weight.reshape(-1, 1, *weight.shape[2:])
        else:
            tiles = weight.reshape(weight.shape[0], 1, 1, -1)
        writer.add_image(f"filters/{name}", grid(normalize(tiles), columns=int(math.sqrt(len(tiles))) + 1), step)
        output = probe_outputs[name].float().cpu()
        if output.ndim == 4:
            per_image = torch.stack(
                [grid(normalize(o.unsqueeze(1)), columns=int(math.sqrt(o.shape[0])) + 1) for o in output]
            )
        else:
            per_image = normalize(output.reshape(len(output), 1, 1, -1))
        writer.add_images(f"activations/{name}", per_image, step)
    predicted = logits.argmax(1).cpu().numpy()
    counts = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counts, (labels.numpy(), predicted), 1)
    figure, axes = plt.subplots(figsize=(6, 6))
    axes.imshow(counts, cmap="Blues")
    for (i, j), value in np.ndenumerate(counts):
        axes.text(j, i, str(value), ha="center", va="center", fontsize=7)
    axes.set_xticks(range(10), CLASS_NAMES, rotation=90)
    axes.set_yticks(range(10), CLASS_NAMES)
    writer.add_figure("confusion", figure, step)
    writer.add_embedding(
        features.float().cpu(), metadata=labels.tolist(), label_img=thumbnails, global_step=step, tag="features"
    )
    writer.flush()


def measure_checkpoints(model_name: str, device: torch.device, eval_size: int, batch: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = MODELS[model_name]().to(device)
    images_cpu, labels = synthetic_cifar(eval_size)
    images = images_cpu.to(device)
    thumbnails = ((images_cpu - images_cpu.min()) / (images_cpu.max() - images_cpu.min())).clamp(0, 1)
    probe = list(range(16))
    root = tempfile.mkdtemp(prefix="deepviz_logging_")
    writers = {name: SummaryWriter(os.path.join(root, name)) for name in ("recipe", "deepviz", "core")}
    viz = DeepViz(
        writers["deepviz"], model, (images_cpu, labels), class_names=CLASS_NAMES, probe=probe, batch_size=batch
    )
    # The same without the units records and Grad-CAM, to show what those cost.
    core = DeepViz(
        writers["core"],
        model,
        (images_cpu, labels),
        class_names=CLASS_NAMES,
        probe=probe,
        batch_size=batch,
        top_images=0,
        gradcam_layers=None,
    )
    gradcam_layer = viz.gradcam_layers  # the layer DeepViz chose ("auto")
    viz.flush()
    core.flush()
    forward_passes(model, images, probe, batch)  # warm-up: allocator, kernels
    results: dict[str, list[float]] = {
        key: []
        for key in (
            "floor",
            "recipe",
            "deepviz_blocking",
            "deepviz_total",
            "recipe_bytes",
            "deepviz_bytes",
            "core_blocking",
            "core_bytes",
            "gradcam",
        )
    }

    def timed(action: Callable[[], None]) -> float:
        synchronize(device)
        started = time.perf_counter()
        action()
        synchronize(device)
        return time.perf_counter() - started

    for repeat in range(repeats + 1):  # the first round is a warm-up, not counted
        step = repeat + 1
        order = ["floor", "recipe", "deepviz", "core", "gradcam"]
        order = order[repeat % 5 :] + order[: repeat % 5]  # alternate who goes first
        round_results = {}
        for contender in order:
            if contender == "floor":
                round_results["floor"] = timed(lambda: forward_passes(model, images, probe, batch))
            elif contender == "recipe":
                before = directory_bytes(os.path.join(root, "recipe"))
                round_results["recipe"] = timed(
                    lambda step=step: recipe_checkpoint(
                        writers["recipe"], model, images, labels, thumbnails, probe, batch, step
                    )
                )
                round_results["recipe_bytes"] = directory_bytes(os.path.join(root, "recipe")) - before
            elif contender == "core":
                before = directory_bytes(os.path.join(root, "core"))
                round_results["core_blocking"] = timed(lambda step=step: core.log_checkpoint(step))
                core.flush()
                round_results["core_bytes"] = directory_bytes(os.path.join(root, "core")) - before
            elif contender == "gradcam":
                round_results["gradcam"] = timed(lambda: time_grad_cam(model, images[probe], gradcam_layer))
            else:
                before = directory_bytes(os.path.join(root, "deepviz"))
                started = time.perf_counter()
                round_results["deepviz_blocking"] = timed(lambda step=step: viz.log_checkpoint(step))
                viz.flush()
                round_results["deepviz_total"] = time.perf_counter() - started
                round_results["deepviz_bytes"] = directory_bytes(os.path.join(root, "deepviz")) - before
        if repeat > 0:
            for key, value in round_results.items():
                results[key].append(value)
    viz.close()
    core.close()
    for writer in writers.values():
        writer.close()
    medians = {key: stats.median(values) for key, values in results.items()}
    medians["gradcam_layer"] = ", ".join(gradcam_layer)
    return medians


def time_grad_cam(model: nn.Module, probes: torch.Tensor, layers: list[str]) -> None:
    """Grad-CAM of the probe images as DeepViz computes it at a checkpoint (model in eval mode)."""
    was_training = model.training
    model.eval()
    try:
        grad_cam(model, probes, layers)
    finally:
        model.train(was_training)


class _OpCounter(TorchDispatchMode):
    """Counts the tensor operations dispatched (views included): on a GPU, roughly its kernel launches."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.count += 1
        return func(*args, **(kwargs or {}))


def count_log_step_ops(viz: DeepViz, step: int, *, accelerator_formulation: bool) -> int:
    """Operations one log_step dispatches; with ``accelerator_formulation`` CPU tensors take the GPU path."""
    with (
        mock.patch.object(deepviz_moments, "_host_array", lambda values: None)
        if accelerator_formulation
        else contextlib.nullcontext(),
        _OpCounter() as counter,
    ):
        viz.log_step(step)
    return counter.count


def measure_log_step(device: torch.device, batch: int, repeats: int) -> dict:
    """Median training-step time of ResNet-18 with and without log_step, alternating.

    Also times log_step itself inside the logged steps: the difference of two noisy step medians
    is a poor estimate of a cost of a few percent.
    """
    torch.manual_seed(0)
    model = ResNet18().to(device)
    images, labels = synthetic_cifar(batch)
    images, labels = images.to(device), labels.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    viz = DeepViz(tempfile.mkdtemp(prefix="deepviz_step_"), model, synthetic_cifar(64), clusters=4, probe=4)
    log_step_times: list[float] = []

    def train_step(log: bool, step: int) -> float:
        synchronize(device)
        started = time.perf_counter()
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if log:
            synchronize(device)
            before = time.perf_counter()
            viz.log_step(step)
            synchronize(device)
            log_step_times.append(time.perf_counter() - before)
        synchronize(device)
        return time.perf_counter() - started

    plain, logged = [], []
    for step in range(repeats + 2):
        first, second = (True, False) if step % 2 else (False, True)
        a = train_step(first, step)
        b = train_step(second, step)
        if step >= 2:  # warm-up rounds not counted
            (logged if first else plain).append(a)
            (logged if second else plain).append(b)
    ops = count_log_step_ops(viz, repeats + 2, accelerator_formulation=device.type == "cpu")
    viz.close()
    return {
        "ops": ops,
        "step": stats.median(plain),
        "step_with_log_step": stats.median(logged),
        "log_step": stats.median(log_step_times[2:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", choices=sorted(MODELS), default="deepviz3")
    parser.add_argument("--eval-size", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--step-batch", type=int, default=128, help="ResNet-18 training batch for the log_step figure")
    parser.add_argument("--step-repeats", type=int, default=10)
    parser.add_argument("--skip-log-step", action="store_true")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device(args.device)

    figures = measure_checkpoints(args.model, device, args.eval_size, args.batch_size, args.repeats)
    floor, recipe, blocking = figures["floor"], figures["recipe"], figures["deepviz_blocking"]
    rows = [
        ["floor (forward passes alone)", floor * 1000, "", ""],
        ["hand-made recipe", recipe * 1000, recipe * 1000, figures["recipe_bytes"] / 1e6],
        ["DeepViz.log_checkpoint", blocking * 1000, figures["deepviz_total"] * 1000, figures["deepviz_bytes"] / 1e6],
        [
            "DeepViz without units records and Grad-CAM",
            figures["core_blocking"] * 1000,
            "",
            figures["core_bytes"] / 1e6,
        ],
    ]
    table = markdown_table(["per checkpoint", "blocking training (ms)", "until on disk (ms)", "MB written"], rows)
    ratios = markdown_table(
        ["ratio", "measured", "target"],
        [
            ["deepviz blocking / floor", blocking / floor, "<= 1.10"],
            ["(deepviz blocking - floor) / (recipe - floor)", (blocking - floor) / (recipe - floor), "<= 0.10"],
            ["deepviz bytes / recipe bytes", figures["deepviz_bytes"] / figures["recipe_bytes"], "<= 0.25"],
        ],
    )
    parts = markdown_table(
        ["part of log_checkpoint", "ms", "of the floor"],
        [
            [
                "units records (top images, class means) and Grad-CAM",
                (blocking - figures["core_blocking"]) * 1000,
                f"{(blocking - figures['core_blocking']) / floor:.1%}",
            ],
            [
                f"Grad-CAM of the 16 probes at {figures['gradcam_layer']} alone",
                figures["gradcam"] * 1000,
                f"{figures['gradcam'] / floor:.1%}",
            ],
        ],
    )
    body = (
        f"Model `{args.model}` on `{device}`, {args.eval_size} eval images, 16 probes, batch {args.batch_size}; "
        f"medians of {args.repeats} alternating rounds.\n\n{table}\n\n{ratios}\n\n{parts}"
    )
    if not args.skip_log_step:
        step = measure_log_step(device, args.step_batch, args.step_repeats)
        body += "\n\n" + markdown_table(
            ["ResNet-18 training step, batch " + str(args.step_batch), "ms"],
            [
                ["step", step["step"] * 1000],
                ["step + log_step", step["step_with_log_step"] * 1000],
                ["log_step alone (timed inside the logged steps)", step["log_step"] * 1000],
                ["log_step / step (target <= 3%)", f"{step['log_step'] / step['step']:.1%}"],
                ["(step + log_step) / step - 1", f"{step['step_with_log_step'] / step['step'] - 1:.1%}"],
            ],
        )
        where = (
            "on the CPU, counted with CPU tensors taking the accelerator path"
            if device.type == "cpu"
            else f"on `{device}`"
        )
        body += f"\n\nTensor operations one log_step dispatches ({where}; on a GPU, about one kernel launch each): {step['ops']}."
    report(f"Logging cost ({args.model}, {device})", body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
