"""Feature visualization cost: seconds per layer (64 units, 512 steps), bytes per checkpoint, and what training feels.

For each benchmark network (benchmarks/models.py) and a few of its layers, renders the layer's
first 64 units (all of them when it has fewer) as one batch with the default settings, the way
the background runner does (on a CPU with half the training thread count, at least one):

  * seconds per layer for a fresh render (512 steps) and for a warm-started checkpoint (128);
    on a CPU, where the larger layers take many minutes, the time of ``--measure-steps`` steps is
    scaled to 512 and 128 (a step's cost does not change with its number), and the table says so;
  * bytes of the layer's feature_vis record (64 images of the model's input size, zlib);
  * the copy of the model a due checkpoint takes on the training thread (the only part of the
    feature visualization that blocks it);
  * on the 3-layer net: the training step's time alone and while a render runs in the
    background (one CPU is shared; on a GPU the render runs on its own CUDA stream).

    python -m benchmarks.feature_vis [--device cuda] [--measure-steps 32] [--no-append]
"""

from __future__ import annotations

import argparse
import statistics as stats
import sys
import threading
import time
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import markdown_table, report
from benchmarks.models import MODELS
from tensorboard_deepviz import FeatureVis, summary
from tensorboard_deepviz.writer.collectors.feature_vis import copy_model, share_cpu_threads
from tensorboard_deepviz.writer.feature_vis.optimize import InputMap, Probe, optimize_layer

LAYERS = {
    "deepviz3": ["conv1", "conv2", "conv3", "fc1"],
    "resnet18": ["conv1", "layer1", "layer2", "layer3", "layer4"],
}
UNITS = 64
SIDE = 32
# CIFAR-10's statistics: the benchmark networks see normalized CIFAR-sized images.
NORMALIZATION = InputMap((0.49, 0.48, 0.45), (0.25, 0.24, 0.26), learned=False)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def render_layer(model: nn.Module, layer: str, settings: FeatureVis, device: torch.device) -> Any:
    """One layer's render on its own thread, as the runner does it; returns (result, seconds)."""
    out: dict[str, Any] = {}

    def work() -> None:
        if device.type == "cpu":
            share_cpu_threads()
            out["threads"] = torch.get_num_threads()
        copy = copy_model(model)
        probe = Probe(copy, layer)
        with torch.no_grad(), probe.hooks() as captured:
            units = probe.output(captured, torch.zeros(1, 3, SIDE, SIDE, device=device)).shape[1]
        chosen = list(range(min(UNITS, units)))
        synchronize(device)
        started = time.perf_counter()
        out["result"] = optimize_layer(
            probe, chosen, settings, NORMALIZATION, (SIDE, SIDE), 3, generator=torch.Generator().manual_seed(0)
        )
        synchronize(device)
        out["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return out


def copy_milliseconds(model: nn.Module, device: torch.device, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        copy_model(model)
        synchronize(device)
        times.append((time.perf_counter() - started) * 1000)
    return stats.median(times)


def training_step_ms(
    model: nn.Module, device: torch.device, steps: int, background: Optional[threading.Thread] = None
) -> float:
    """Median training step of the 3-layer net at batch 128, optionally while ``background`` runs."""
    images = torch.randn(128, 3, SIDE, SIDE, device=device)
    labels = torch.randint(0, 10, (128,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    times = []
    if background is not None:
        background.start()
    for _ in range(steps):
        synchronize(device)
        started = time.perf_counter()
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        synchronize(device)
        times.append((time.perf_counter() - started) * 1000)
    if background is not None:
        background.join()
    return stats.median(times)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", default="deepviz3,resnet18")
    parser.add_argument(
        "--measure-steps",
        type=int,
        default=None,
        help="steps timed and scaled to 512 (default: 512 on a GPU, 32 on a CPU)",
    )
    parser.add_argument("--note", default="", help="a sentence printed under the table (e.g. the machine was busy)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    defaults = FeatureVis(layers=["x"])
    full, warm = defaults.total_steps, defaults.continued_steps
    measured = args.measure_steps or (full if device.type == "cuda" else 32)
    settings = FeatureVis(layers=["x"], steps=measured)
    rows, copies, threads = [], [], None
    checkpoint_bytes: dict[str, int] = {}
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = MODELS[name]().to(device).eval()
        copies.append([name, copy_milliseconds(model, device)])
        for layer in LAYERS[name]:
            out = render_layer(model, layer, settings, device)
            threads = out.get("threads", threads)
            result = out["result"]
            per_step = out["seconds"] / measured
            record = summary.feature_vis_summary(
                layer,
                images=result.images.numpy(),
                units=result.units,
                objective=result.objective.numpy(),
                no_signal=result.no_signal.numpy(),
                method="fourier",
                steps=result.steps,
                seconds=out["seconds"],
                normalization=NORMALIZATION.describe(),
            )
            size = record.ByteSize()
            checkpoint_bytes[name] = checkpoint_bytes.get(name, 0) + size
            rows.append([name, layer, len(result.units), per_step * full, per_step * warm, size / 1000])
            print(rows[-1], flush=True)
    scaled = "" if measured == full else f" (timed over {measured} steps and scaled)"
    where = f"{device.type}" + (f", {threads} thread(s) for the render" if threads else "")
    table = markdown_table(
        [
            "model",
            "layer",
            "units",
            f"s per layer, {full} steps{scaled}",
            f"s per warm checkpoint, {warm} steps",
            "record kB",
        ],
        rows,
    )
    per_checkpoint = markdown_table(
        ["model", "layers", "kB per rendered checkpoint", "model copy blocking training (ms)"],
        [
            [name, ", ".join(LAYERS[name]), checkpoint_bytes[name] / 1000, ms]
            for name, ms in copies
            if name in checkpoint_bytes
        ],
    )
    torch.manual_seed(0)
    small = MODELS["deepviz3"]().to(device)
    alone = training_step_ms(small, device, 20)
    background = threading.Thread(
        target=render_layer, args=(MODELS["deepviz3"]().to(device).eval(), "conv3", settings, device)
    )
    shared = training_step_ms(small, device, 20, background)
    training = markdown_table(
        ["3-layer net training step, batch 128", "median ms"],
        [["alone", alone], ["while a render of conv3 runs in the background", shared]],
    )
    body = (
        f"Default settings (Fourier parameterization, Adam 0.05, {full} steps, {warm} when warm-started), "
        f"{UNITS} units per layer (all when fewer) as one batch, {SIDE} x {SIDE} images, {where}.\n\n"
        + table
        + "\n\n"
        + per_checkpoint
        + "\n\n"
        + training
        + (f"\n\n{args.note}" if args.note else "")
    )
    report(f"Feature visualization ({device.type})", body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
