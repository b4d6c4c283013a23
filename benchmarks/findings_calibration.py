"""Findings calibration: healthy training runs must raise no warning, and by how much they stay clear.

Trains, with DeepViz, the demo network on generated coloured shapes and on digits over seeds and
learning rates (the healthy settings a user would choose, through the demo's own script, which passes the
loss), then
the benchmark networks (``benchmarks.models``: the deepViz paper's network under SGD and Adam, a
ResNet-18 with BatchNorm and residual blocks) on the coloured shapes in a loop of this module that
passes the loss to ``log_step``, to good accuracy. It then asks the findings route, and for each
rule reports how close the run came to its threshold: the largest value each condition reached
where it would have to persist (3 consecutive checkpoints, 3 logged steps for the loss) against
the threshold, and the loss spikes found (none expected).

On a CPU the ResNet-18 is narrowed (first stage 8 channels instead of 64: the same depth,
BatchNorm and residual blocks) and trained on 16x16 shapes, so that each run takes minutes.

    python -m benchmarks.findings_calibration [--epochs 5] [--logdir DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import math
import multiprocessing
import os
import tempfile
import time
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_ingester, plugin_event_multiplexer
from tensorboard.backend.event_processing import data_provider as multiplexer_provider
from torch.utils.tensorboard import SummaryWriter

from benchmarks.common import markdown_table, report
from benchmarks.models import MODELS
from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.analysis import findings as rules
from tensorboard_deepviz.contract import metadata
from tensorboard_deepviz.server.access import LogAccess
from tensorboard_deepviz.server.routes import findings as route

# (dataset, learning rate, seed): the demo's defaults and their neighbours.
SETTINGS = [
    ("shapes", 0.01, 0),
    ("shapes", 0.01, 1),
    ("shapes", 0.01, 2),
    ("shapes", 0.005, 0),
    ("digits", 0.03, 0),
    ("digits", 0.01, 1),
]


@dataclasses.dataclass(frozen=True)
class Network:
    """A benchmark network trained on the coloured shapes in this module's loop (which passes the loss)."""

    name: str
    model: str  # a key of benchmarks.models.MODELS
    optimizer: str  # "sgd" (momentum 0.9, weight decay 5e-4) or "adam"
    lr: float
    seed: int
    image_size: int = 32
    width: Optional[int] = None  # ResNet-18's first stage
    epochs: Optional[int] = None  # default: --epochs


NETWORKS = [
    Network("deepviz3 SGD lr 0.02 seed 3", "deepviz3", "sgd", 0.02, 3),
    Network("deepviz3 Adam lr 0.001 seed 0", "deepviz3", "adam", 0.001, 0),
    Network("resnet18/8 16px SGD lr 0.05 seed 0", "resnet18", "sgd", 0.05, 0, image_size=16, width=8, epochs=12),
    Network("resnet18/8 16px SGD lr 0.1 seed 1", "resnet18", "sgd", 0.1, 1, image_size=16, width=8, epochs=12),
    Network("resnet18/8 16px Adam lr 0.001 seed 2", "resnet18", "adam", 0.001, 2, image_size=16, width=8, epochs=12),
]


def _persistent_peak(values: np.ndarray) -> float:
    """The largest value held at 3 consecutive checkpoints (what a rule would need to fire)."""
    finite = np.where(np.isfinite(values), values, -np.inf)
    if len(finite) < rules.PERSIST:
        return float("nan")
    windows = np.lib.stride_tricks.sliding_window_view(finite, rules.PERSIST).min(axis=1)
    return float(windows.max())


def margins(evidence: rules.RunEvidence) -> dict[str, float]:
    """How far each rule's condition stayed from its threshold in a run."""
    checkpoints = list(evidence.checkpoints)
    layers = [layer for layer in evidence.layers if layer in evidence.statistics]
    result: dict[str, float] = {}
    first, last = evidence.statistics[layers[0]], evidence.statistics[layers[-1]]
    ratio = rules._at_checkpoints(*first.series("gradients", "norm"), checkpoints) / rules._at_checkpoints(
        *last.series("gradients", "norm"), checkpoints
    )
    result["gradient ratio, highest held"] = _persistent_peak(ratio[1:])
    result["gradient ratio, lowest held"] = -_persistent_peak(-ratio[1:])
    judged = evidence.judged_for_dead_units or frozenset(evidence.layers[:-1])
    dead = [share for layer, (_, share) in evidence.dead_units.items() if layer in judged]
    result["dead share, highest held"] = max((_persistent_peak(s) for s in dead), default=float("nan"))
    updates, updates_at_end, saturations = [], [], []
    for layer in layers:
        stats = evidence.statistics[layer]
        if stats.rows.shape[2] > metadata.STATISTIC_NAMES.index("update_ratio"):
            steps, values = stats.series("weights", "update_ratio")  # the rule's median between checkpoints
            medians = rules._interval_medians(steps, values, checkpoints)
            updates.append(_persistent_peak(medians[1:]))
            # What decides a warning: held over the last checkpoints (an earlier spell is resolved: information).
            updates_at_end.append(float(np.min(medians[-rules.PERSIST :])) if len(medians) >= rules.PERSIST else np.nan)
            steps, values = stats.series("activations", "saturation")
            saturations.append(_persistent_peak(rules._at_checkpoints(steps, values, checkpoints)))
    result["update ratio, highest held"] = _nanmax(updates)
    result["update ratio, held at the end"] = _nanmax(updates_at_end)
    result["saturated share, highest held"] = _nanmax(saturations)
    result.update(_input_margins(evidence, checkpoints))
    result.update(_loss_margins(evidence))
    if evidence.confusion is not None:
        _, counts = evidence.confusion
        rows = counts.sum(axis=2, keepdims=True)
        shares = np.where(rows > 0, counts / np.maximum(rows, 1), 0.0) * (1 - np.eye(counts.shape[1]))[None]
        # The worst pair held at the last checkpoints (resolved early confusion is information only).
        result["confused share at the end"] = float(shares[-rules.CONFUSED_PERSIST :].min(axis=0).max())
        # The worst pair held anywhere (a spell that ended is information: what decides is the end).
        windows = np.lib.stride_tricks.sliding_window_view(shares, rules.CONFUSED_PERSIST, axis=0).min(axis=-1)
        result["confused share, highest held"] = float(windows.max()) if len(windows) else float("nan")
        accuracy = np.trace(counts, axis1=1, axis2=2) / np.maximum(counts.sum(axis=(1, 2)), 1)
        result["final accuracy / chance"] = float(accuracy[-1] * counts.shape[1])
    return result


def _nanmax(values: list[float]) -> float:
    finite = [value for value in values if np.isfinite(value)]
    return max(finite) if finite else float("nan")


def _input_margins(evidence: rules.RunEvidence, checkpoints: list[int]) -> dict[str, float]:
    """The training inputs' largest held |mean|, std and magnitude, and their std over the eval images'."""
    result = {"training input magnitude, highest held": float("nan"), "training / eval input std": float("nan")}
    if evidence.training_inputs is None:
        return result
    steps, rows = evidence.training_inputs
    names = metadata.INPUT_STATISTIC_NAMES
    medians = {
        name: rules._interval_medians(steps, rows[:, names.index(name)], checkpoints) for name in ("std", "min", "max")
    }
    magnitude = np.fmax(np.abs(medians["min"]), np.abs(medians["max"]))
    result["training input magnitude, highest held"] = _persistent_peak(magnitude)
    if evidence.eval_inputs:
        ratio = float(np.nanmedian(medians["std"])) / float(evidence.eval_inputs["std"])
        result["training / eval input std"] = ratio
    return result


def _loss_margins(evidence: rules.RunEvidence) -> dict[str, float]:
    """Loss spikes found, and the most the loss stayed above its band over 3 logged steps (a spike needs > 1)."""
    if evidence.loss is None:
        return {"loss spikes": float("nan"), "loss over its band, highest held": float("nan")}
    _, values = evidence.loss
    values = values[np.isfinite(values)]
    _, thresholds = rules._loss_bands(values)
    held = np.lib.stride_tricks.sliding_window_view(values, rules.LOSS_SPIKE_PERSIST).min(axis=1)
    ratio = held / thresholds[: len(held)]
    return {
        "loss spikes": float(len(rules.loss_spikes(evidence))),
        "loss over its band, highest held": float(np.nanmax(ratio)) if np.isfinite(ratio).any() else float("nan"),
    }


def judge(logdir: str, name: str) -> tuple[dict[str, float], list]:
    """Read run ``name`` back through TensorBoard's loader and the findings route: margins and alarms."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance=data_ingester.DEFAULT_SIZE_GUIDANCE, tensor_size_guidance={metadata.PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    provider = multiplexer_provider.MultiplexerDataProvider(multiplexer, logdir)
    run = LogAccess(provider).for_experiment(tb_context.RequestContext(), "").for_run(name)
    evidence = route.gather_evidence(run)
    found = rules.find(evidence)
    return margins(evidence), [f for f in found if f.severity != "info"]


def train_demo_run(logdir: str, dataset: str, lr: float, seed: int, epochs: int) -> tuple[str, float]:
    """One run of the demo's training (its script's arguments); returns its name and test accuracy."""
    from demo.train import parse_args, train

    name = f"{dataset}-lr{lr}-seed{seed}"
    accuracy = train(
        parse_args(
            ["--dataset", dataset, "--lr", str(lr), "--seed", str(seed), "--epochs", str(epochs)]
            + ["--logdir", logdir, "--run-name", name, "--eval-size", "1000", "--no-progress"]
        )
    )
    return name, accuracy


def train_network(logdir: str, network: Network, epochs: int) -> tuple[str, float]:
    """Train a benchmark network on the coloured shapes, DeepViz logging (the loss included); its test accuracy."""
    from demo.data import load_shapes_dataset

    dataset = load_shapes_dataset(image_size=network.image_size)
    torch.manual_seed(network.seed)
    make: Callable[..., torch.nn.Module] = MODELS[network.model]
    classes = dataset.num_classes
    if network.model == "deepviz3":
        model = make(in_channels=3, num_classes=classes, image_size=network.image_size)
    else:
        model = make(num_classes=classes, **({"width": network.width} if network.width else {}))
    if network.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=network.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=network.lr, momentum=0.9, weight_decay=5e-4)
    batch = 64
    epochs = network.epochs or epochs
    generator = torch.Generator().manual_seed(network.seed)
    count = len(dataset.train_labels)
    steps_per_epoch = math.ceil(count / batch)
    total = epochs * steps_per_epoch
    every = max(1, math.ceil(total / 25))  # about 25 checkpoints, like the demo
    name = network.name.replace(" ", "-").replace("/", "w")
    writer = SummaryWriter(os.path.join(logdir, name))
    eval_images, eval_labels = dataset.test_images[:500], dataset.test_labels[:500]
    started = time.perf_counter()
    with DeepViz(writer, model, (eval_images, eval_labels), class_names=dataset.class_names, batch_size=250) as viz:
        step = 0
        viz.log_checkpoint(0)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(count, generator=generator)
            for start in range(0, count, batch):
                chosen = order[start : start + batch]
                loss = F.cross_entropy(model(dataset.train_images[chosen]), dataset.train_labels[chosen])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                viz.log_step(step, loss=loss)
                if step % every == 0 or step == total:
                    viz.log_checkpoint(step)
    writer.close()
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(chunk).argmax(1) for chunk in dataset.test_images.split(250)])
    accuracy = float((predicted == dataset.test_labels).float().mean())
    print(
        f"{network.name}: {total} steps in {time.perf_counter() - started:.0f} s, test accuracy {accuracy:.1%}",
        flush=True,
    )
    return name, accuracy


def labels() -> list[str]:
    """Every healthy setting's label, demo runs first."""
    demo = [f"demo {dataset} lr {lr} seed {seed}" for dataset, lr, seed in SETTINGS]
    return demo + [network.name for network in NETWORKS]


def run_setting(label: str, logdir: str, epochs: int) -> tuple[str, float, dict[str, float], list[str]]:
    """Train the setting ``label`` and judge it: its accuracy, margins and the alarms' messages.

    Runs in a worker process with ``--jobs``: one thread each, so that workers do not oversubscribe the cores.
    """
    torch.set_num_threads(1)
    for dataset, lr, seed in SETTINGS:
        if label == f"demo {dataset} lr {lr} seed {seed}":
            name, accuracy = train_demo_run(logdir, dataset, lr, seed, epochs)
            break
    else:
        (network,) = [network for network in NETWORKS if network.name == label]
        name, accuracy = train_network(logdir, network, epochs)
    measured, raised = judge(logdir, name)
    return label, accuracy, measured, [finding.message for finding in raised]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="epochs per run (the ResNet-18 runs name their own)")
    parser.add_argument("--logdir", help="where the runs are written (default: a temporary directory)")
    parser.add_argument("--only", nargs="*", help="run only the settings whose name contains one of these")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once, each in a process of one thread")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    logdir = args.logdir or tempfile.mkdtemp(prefix="deepviz_calibration_")
    chosen = [label for label in labels() if not args.only or any(part in label for part in args.only)]
    if args.jobs > 1:
        longest_first = sorted(chosen, key=lambda label: "resnet" not in label)
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
            done = pool.map(run_setting, longest_first, [logdir] * len(chosen), [args.epochs] * len(chosen))
            results = sorted(done, key=lambda result: chosen.index(result[0]))
    else:
        results = [run_setting(label, logdir, args.epochs) for label in chosen]
    rows: list[list[Any]] = []
    alarms = 0
    keys: list[str] = []
    for label, accuracy, measured, raised in results:
        alarms += len(raised)
        keys = keys or list(measured)
        rows.append(
            [label, f"{accuracy:.1%}", len(raised)] + [f"{measured.get(key, float('nan')):.3g}" for key in keys]
        )
        print(rows[-1], raised, flush=True)
    thresholds = {
        "gradient ratio, highest held": f"> {rules.EXPLODING_RATIO:g}",
        "gradient ratio, lowest held": f"< {rules.VANISHING_RATIO:g}",
        "dead share, highest held": f">= {rules.DEAD_WARNING_SHARE:g}",
        "update ratio, highest held": f">= {rules.UNSTABLE_UPDATE_RATIO:g} (then resolved: info)",
        "update ratio, held at the end": f">= {rules.UNSTABLE_UPDATE_RATIO:g}",
        "saturated share, highest held": f">= {rules.SATURATED_SHARE:g}",
        "training input magnitude, highest held": f"> {rules.INPUT_MAGNITUDE_LIMIT:g}",
        "training / eval input std": f">= {rules.INPUT_MISMATCH_RATIO:g} or <= {1 / rules.INPUT_MISMATCH_RATIO:g}",
        "loss spikes": "0",
        "loss over its band, highest held": "> 1",
        "confused share at the end": f">= {rules.CONFUSED_SHARE:g}",
        "confused share, highest held": f">= {rules.CONFUSED_SHARE:g} (then resolved: info)",
        "final accuracy / chance": f"<= {rules.CHANCE_FACTOR:g}",
    }
    table = markdown_table(
        ["healthy run", "test accuracy", "warnings and errors", *keys],
        [*rows, ["threshold", "", "0", *(thresholds.get(key, "") for key in keys)]],
    )
    body = (
        f"{args.epochs} epochs per run (the ResNet-18 runs: 12); the demo's runs through its script (1,000 eval images), the "
        "benchmark networks in this module's loop on the coloured shapes (500 eval images, the loss passed to "
        "log_step; resnet18/8: ResNet-18 with an 8-channel first stage on 16x16 images, SGD with momentum 0.9 "
        "and weight decay 5e-4); a checkpoint about every 4% of training. Each column is the most a rule's "
        f"condition held over {rules.PERSIST} consecutive checkpoints (confused pairs over {rules.CONFUSED_PERSIST}; the update ratio as the rule reads it: the "
        "median between checkpoints; the loss over 3 logged steps, against the top of its band; confusion at the "
        "end of training; accuracy at the last checkpoint); nan: not measured (no bounded activation, no "
        f"loss passed).\n\n{table}\n\nWarnings and errors raised by healthy runs: {alarms} (target 0)."
    )
    report("Findings calibration on healthy runs", body, append=not args.no_append)
    return 0 if alarms == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
