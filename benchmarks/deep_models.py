"""Deep models: a standard ResNet-50 under the checkpoint byte budget, and serving its 300-checkpoint log.

Figures (docs/ARCHITECTURE.md, Performance targets; issue "Deep models and many GPUs"):
  * bytes per checkpoint of a ResNet-50 (bottleneck 3-4-6-3) at 64 x 64 px with 1,000 eval
    images and DeepViz's defaults, per record kind, measured in the event file, beside the
    budget's plan (target <= 5 MB);
  * log_checkpoint's blocking time over the floor (the same forward passes alone; target <= 1.10);
  * log_step's share of a batch-64 training step (target <= 5%);
  * a 300-checkpoint log of that setting (the real records of one checkpoint, written again at
    every step, as benchmarks/serving.py synthesizes its log) served by the real `tensorboard`
    with the Rust loader: p50/p95 of cold and warm requests per route (targets 250 / 50 ms),
    and TensorBoard's start time with both loaders.

    python -m benchmarks.deep_models [--checkpoints 300] [--eval-size 1000] [--no-append]
"""

from __future__ import annotations

import argparse
import collections
import functools
import glob
import os
import random
import statistics as stats
import sys
import tempfile
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import summary_pb2
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from benchmarks.common import markdown_table, percentile, report
from benchmarks.models import ResNet50
from benchmarks.serving import CLASS_NAMES, TensorBoardProcess, timed
from tensorboard_deepviz import DeepViz, summary
from tensorboard_deepviz.analysis import moments as host_moments

PIXELS = 64
STEP_SPACING = 100


def progress(message: str) -> None:
    print(f"[deep_models {time.strftime('%H:%M:%S')}] {message}", flush=True)


def synthetic_images(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """64 x 64 images with a class-dependent colour cast (bytes and timings do not depend on content)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % len(CLASS_NAMES)
    images = torch.randn(count, 3, PIXELS, PIXELS, generator=generator) * 0.5
    images += torch.linspace(-1, 1, len(CLASS_NAMES))[labels].view(-1, 1, 1, 1)
    return images, labels


def events(run_dir: str):
    for path in sorted(glob.glob(os.path.join(run_dir, "events*"))):
        yield from event_file_loader.EventFileLoader(path).Load()


def bytes_per_kind(run_dir: str, step: int) -> dict[str, int]:
    """Event-file bytes of each record kind at ``step`` (an event's proto plus its 16 bytes of framing)."""
    sizes: dict[str, int] = collections.defaultdict(int)
    for event in events(run_dir):
        if event.step != step:
            continue
        for value in event.summary.value:
            if value.tag.startswith("deepviz/") and value.tensor.string_val:
                sizes[value.tag.split("/")[1]] += event.ByteSize() + 16
    return dict(sizes)


def forward_floor(model: nn.Module, images: torch.Tensor, batch: int) -> None:
    """The forward passes a checkpoint cannot avoid: the eval set, no grad, eval mode."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(images), batch):
            model(images[start : start + batch])
    model.train(was_training)


def measure_checkpoints(eval_size: int, batch: int, repeats: int, run_dir: str) -> dict:
    """Bytes per kind of one checkpoint, and blocking time against the floor (medians, alternating)."""
    torch.manual_seed(0)
    model = ResNet50(len(CLASS_NAMES))
    images, labels = synthetic_images(eval_size)
    writer = SummaryWriter(run_dir)
    viz = DeepViz(writer, model, (images, labels), class_names=CLASS_NAMES, batch_size=batch)
    progress(f"plan: {viz.checkpoint_plan.total / 1e6:.2f} MB, activations at {viz.checkpoint_plan.activation_layers}")
    viz.log_checkpoint(1)  # warm-up, and the first checkpoint measures receptive fields once
    viz.flush()
    floors, blocking = [], []
    for repeat in range(repeats):
        step = repeat + 2
        contenders = ["floor", "deepviz"] if repeat % 2 == 0 else ["deepviz", "floor"]  # alternate who goes first
        for contender in contenders:
            if contender == "floor":
                floors.append(_seconds(lambda: forward_floor(model, images, batch)))
            else:
                blocking.append(_seconds(functools.partial(viz.log_checkpoint, step)))
                viz.flush()  # the worker's encoding and clustering do not overlap the next measurement
        progress(
            f"round {repeat + 1}/{repeats}: floor {floors[-1][0]:.1f} s ({floors[-1][1]:.1f} s CPU), "
            f"log_checkpoint {blocking[-1][0]:.1f} s ({blocking[-1][1]:.1f} s CPU)"
        )
    plan = viz.checkpoint_plan
    viz.close()
    writer.close()
    return {
        "floor": stats.median(wall for wall, _ in floors),
        "blocking": stats.median(wall for wall, _ in blocking),
        "floor_cpu": stats.median(cpu for _, cpu in floors),
        "blocking_cpu": stats.median(cpu for _, cpu in blocking),
        "rounds": list(zip(floors, blocking)),
        "bytes": bytes_per_kind(run_dir, 2),
        "plan": plan,
        "layers": viz.layers,
    }


def _seconds(action: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds and the process's CPU seconds (all threads) of ``action``.

    On a machine other work loads, CPU time is what the contenders themselves cost: it does
    not count the time they waited for a core.
    """
    started, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - started, time.process_time() - cpu


def measure_log_step(batch: int, repeats: int) -> dict:
    """Median batch-``batch`` training step of ResNet-50 with and without log_step; log_step timed inside."""
    torch.manual_seed(0)
    model = ResNet50(len(CLASS_NAMES))
    images, labels = synthetic_images(batch, seed=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    viz = DeepViz(tempfile.mkdtemp(prefix="deepviz_deep_step_"), model, synthetic_images(64), clusters=4, probe=4)
    plain, inside = [], []  # (wall, CPU) seconds
    for step in range(repeats + 1):
        for log in (step % 2 == 0, step % 2 == 1):
            started, cpu = time.perf_counter(), time.process_time()
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if log:
                before, before_cpu = time.perf_counter(), time.process_time()
                viz.log_step(step)
                if step > 0:
                    inside.append((time.perf_counter() - before, time.process_time() - before_cpu))
                viz.flush()  # the worker's statistics record does not overlap the next step
            elif step > 0:
                plain.append((time.perf_counter() - started, time.process_time() - cpu))
        progress(f"training step {step}/{repeats}")
    viz.close()
    return {
        "step": stats.median(wall for wall, _ in plain),
        "log_step": stats.median(wall for wall, _ in inside),
        "step_cpu": stats.median(cpu for _, cpu in plain),
        "log_step_cpu": stats.median(cpu for _, cpu in inside),
    }


def write_log(run_dir: str, source_dir: str, checkpoints: int, layers: list[str]) -> int:
    """``checkpoints`` checkpoints of the measured run: its corpus and graph, then its step-2 records written
    again at every step (the content does not change what serving costs), and each layer's statistics."""
    once, checkpoint = [], []
    for event in events(source_dir):
        for value in event.summary.value:
            if not value.tag.startswith("deepviz/"):
                continue
            record = summary_pb2.Summary(value=[value])
            if event.step == 0:
                once.append(record)
            elif event.step == 2 and value.tensor.string_val:
                checkpoint.append(record)
    rng = np.random.default_rng(0)
    statistics = [
        summary.layer_statistics_summary(layer, host_moments.statistics_from_moments(rng.random((3, moments)) + 1))
        for layer in layers
        for moments in [len(host_moments.MOMENT_NAMES)]
    ]
    writer = SummaryWriter(run_dir)
    file_writer = writer._get_file_writer()
    for record in once:
        file_writer.add_summary(record, 0)
    for index in range(checkpoints):
        step = index * STEP_SPACING
        for record in [*statistics, *checkpoint]:
            file_writer.add_summary(record, step)
        if index % 50 == 0:
            progress(f"writing checkpoint {index}/{checkpoints}")
    writer.close()
    return sum(os.path.getsize(path) for path in glob.glob(os.path.join(run_dir, "events*")))


def route_requests(plan, eval_size: int) -> dict[str, Callable[[int], dict]]:
    """For each route, a function from a step to that request's parameters (run "resnet50")."""
    stage = plan.activation_layers[len(plan.activation_layers) // 2]  # a deep layer with activations and units
    deep = "layer3.2.conv2"  # a layer with statistics and its first filters only
    run = "resnet50"
    return {
        "index": lambda s: {},
        "graph": lambda s: {"run": run},
        "filters (first layer)": lambda s: {"run": run, "layer": "conv1", "step": s},
        "filters (deep layer, kept filters)": lambda s: {"run": run, "layer": deep, "step": s},
        "filters_layout": lambda s: {"run": run, "layer": deep, "step": s},
        "filter_values": lambda s: {"run": run, "layer": stage, "step": s, "filter": 0},
        "activations": lambda s: {"run": run, "layer": stage, "step": s, "image": plan_probe(s)},
        "predictions": lambda s: {"run": run, "step": s},
        "confusion": lambda s: {"run": run, "step": s},
        "clusters": lambda s: {"run": run, "step": s},
        "units": lambda s: {"run": run, "layer": stage, "step": s},
        "top_images": lambda s: {"run": run, "layer": stage, "step": s, "unit": s // STEP_SPACING % 64},
        "attribution": lambda s: {"run": run, "step": s, "image": plan_probe(s)},
        "dynamics": lambda s: {"run": run, "layer": deep},
        "units_history": lambda s: {"run": run, "layer": stage},
    }


_PROBES: list[int] = []


def plan_probe(step: int) -> int:
    return _PROBES[step // STEP_SPACING % len(_PROBES)]


def serve(logdir: str, checkpoints: int, plan, eval_size: int, samples: int, repeats: int) -> tuple[list, list]:
    steps = [index * STEP_SPACING for index in range(checkpoints)]
    startup, rows = [], []
    for loader in ("rust", "python"):
        progress(f"starting TensorBoard with the {loader} loader")
        server = TensorBoardProcess(logdir, loader)
        try:
            startup.append([loader, server.wait_for_checkpoints(checkpoints, timeout=1200)])
            progress(f"{loader}: index lists every checkpoint after {startup[-1][1]:.1f} s")
            if loader != "rust":
                continue  # the routes are measured through the Rust loader
            rng = random.Random(0)
            for route, params_for in route_requests(plan, eval_size).items():
                requests = [params_for(step) for step in rng.sample(steps, samples)]
                name = route.split(" (")[0]
                cold = [timed(server, name, params) for params in requests]
                warm = [timed(server, name, params) for params in requests * repeats]
                rows.append(
                    [route, percentile(cold, 50), percentile(cold, 95), percentile(warm, 50), percentile(warm, 95)]
                )
                progress(f"{route}: cold p95 {rows[-1][2]:.1f} ms, warm p95 {rows[-1][4]:.1f} ms")
        finally:
            server.stop()
    return startup, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds of floor and log_checkpoint")
    parser.add_argument("--step-batch", type=int, default=64)
    parser.add_argument("--step-repeats", type=int, default=6)
    parser.add_argument("--checkpoints", type=int, default=300)
    parser.add_argument("--samples", type=int, default=20, help="distinct steps per route")
    parser.add_argument("--serve-repeats", type=int, default=3, help="warm repetitions of each request")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    parser.add_argument("--log-step-only", action="store_true", help="measure only log_step's share of a step")
    args = parser.parse_args(argv)
    if args.log_step_only:
        progress("log_step on a batch-64 training step")
        step = measure_log_step(args.step_batch, args.step_repeats)
        rows = [
            [f"training step, batch {args.step_batch} (ms)", step["step"] * 1000, ""],
            ["log_step (ms, timed inside the logged steps)", step["log_step"] * 1000, ""],
            ["log_step / step (wall time)", f"{step['log_step'] / step['step']:.1%}", "<= 5%"],
            ["log_step / step (CPU time)", f"{step['log_step_cpu'] / step['step_cpu']:.1%}", "<= 5%"],
        ]
        body = f"Standard ResNet-50 at {PIXELS} x {PIXELS} px, DeepViz defaults.\n\n" + markdown_table(
            ["figure", "measured", "target"], rows
        )
        report("Deep models: log_step on ResNet-50", body, append=not args.no_append)
        return 0

    root = tempfile.mkdtemp(prefix="deepviz_deep_")
    progress(f"ResNet-50 at {PIXELS} px, {args.eval_size} eval images: checkpoints into {root}")
    figures = measure_checkpoints(args.eval_size, args.batch_size, args.repeats, os.path.join(root, "measured"))
    plan = figures["plan"]
    measured = figures["bytes"]
    kinds = sorted(set(measured) | set(plan.estimate), key=lambda kind: -measured.get(kind, 0))
    byte_rows = [[kind, measured.get(kind, 0) / 1e6, plan.estimate.get(kind, 0) / 1e6] for kind in kinds]
    byte_rows.append(["total", sum(measured.values()) / 1e6, plan.total / 1e6])
    kept = plan.kept_filters
    deeper = sorted(set(list(kept.values())[1:]))
    progress("log_step on a batch-64 training step")
    step = measure_log_step(args.step_batch, args.step_repeats)

    _PROBES.extend(_probe_images(os.path.join(root, "measured")))
    logdir = os.path.join(root, "served")
    progress(f"writing {args.checkpoints} checkpoints")
    log_bytes = write_log(
        os.path.join(logdir, "resnet50"), os.path.join(root, "measured"), args.checkpoints, figures["layers"]
    )
    startup, rows = serve(logdir, args.checkpoints, plan, args.eval_size, args.samples, args.serve_repeats)

    body = (
        f"Standard ResNet-50 (bottleneck 3-4-6-3, {len(figures['layers'])} Conv2d/Linear layers) at {PIXELS} x {PIXELS} px, "
        f"{args.eval_size} eval images, 16 probes, DeepViz defaults (checkpoint_bytes={plan.limit}); "
        f"activations and units at {', '.join(plan.activation_layers)}; first layer's {kept.get('conv1')} filters whole, "
        f"{'/'.join(str(count) for count in deeper)} first filters of every other layer (fewer where a layer has fewer).\n\n"
        + markdown_table(["record kind", "MB per checkpoint (event file)", "MB planned (upper bound)"], byte_rows)
        + "\n\n"
        + markdown_table(
            ["figure", "measured", "target"],
            [
                ["bytes per checkpoint (MB)", sum(measured.values()) / 1e6, "<= 5"],
                ["log_checkpoint blocking (s), median", figures["blocking"], ""],
                ["floor: the eval forward passes alone (s), median", figures["floor"], ""],
                ["blocking / floor (wall time)", figures["blocking"] / figures["floor"], "<= 1.10"],
                ["log_checkpoint blocking, CPU time of the process (s), median", figures["blocking_cpu"], ""],
                ["floor, CPU time (s), median", figures["floor_cpu"], ""],
                ["blocking / floor (CPU time)", figures["blocking_cpu"] / figures["floor_cpu"], "<= 1.10"],
                [f"training step, batch {args.step_batch} (ms)", step["step"] * 1000, ""],
                ["log_step (ms, timed inside the logged steps)", step["log_step"] * 1000, ""],
                ["log_step / step (wall time)", f"{step['log_step'] / step['step']:.1%}", "<= 5%"],
                ["log_step / step (CPU time)", f"{step['log_step_cpu'] / step['step_cpu']:.1%}", "<= 5%"],
            ],
        )
        + "\n\nRounds (floor, log_checkpoint), wall / CPU seconds: "
        + "; ".join(f"({f[0]:.1f} / {f[1]:.1f}, {b[0]:.1f} / {b[1]:.1f})" for f, b in figures["rounds"])
        + f"\n\nServing {args.checkpoints} checkpoints of that setting ({log_bytes / 1e9:.2f} GB of event files; "
        f"the measured checkpoint's records written again at every step) with the real `tensorboard` on loopback, "
        f"one client, {args.samples} steps per route ({args.serve_repeats} warm repeats), latencies in ms through the "
        f"Rust loader (`--load_fast=true`):\n\n"
        + markdown_table(["loader", "start until index lists every checkpoint (s)"], startup)
        + "\n\n"
        + markdown_table(["route", "cold p50", "cold p95", "warm p50", "warm p95"], rows)
        + f"\n\nWorst p95: cold {max(row[2] for row in rows):.1f} ms (target <= 250), "
        f"warm {max(row[4] for row in rows):.1f} ms (target <= 50)."
    )
    report(
        "Deep models: ResNet-50 under the checkpoint byte budget, and serving its log", body, append=not args.no_append
    )
    return 0


def _probe_images(run_dir: str) -> list[int]:
    from tensorboard_deepviz.contract import records

    for event in events(run_dir):
        for value in event.summary.value:
            if value.tag == "deepviz/predictions":
                return records.decode_record(list(value.tensor.string_val)).arrays["probe_images"].tolist()
    return [0]


if __name__ == "__main__":
    sys.exit(main())
