"""Findings calibration: healthy training runs must raise no warning, and by how much they stay clear.

Trains the demo network on generated coloured shapes and on digits over seeds and learning rates
(the healthy settings a user would choose) with DeepViz, then asks the findings route, and for
each rule reports how close the run came to its threshold: the largest value each condition
reached where it would have to persist (3 consecutive checkpoints) against the threshold.

    python -m benchmarks.findings_calibration [--epochs 10] [--logdir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

import numpy as np
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_ingester, plugin_event_multiplexer
from tensorboard.backend.event_processing import data_provider as multiplexer_provider

from benchmarks.common import markdown_table, report
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
    updates, saturations = [], []
    for layer in layers:
        stats = evidence.statistics[layer]
        if stats.rows.shape[2] > metadata.STATISTIC_NAMES.index("update_ratio"):
            steps, values = stats.series("weights", "update_ratio")
            updates.append(_persistent_peak(rules._at_checkpoints(steps, values, checkpoints)[1:]))
            steps, values = stats.series("activations", "saturation")
            saturations.append(_persistent_peak(rules._at_checkpoints(steps, values, checkpoints)))
    result["update ratio, highest held"] = np.nanmax(updates) if updates else float("nan")
    if evidence.confusion is not None:
        _, counts = evidence.confusion
        rows = counts.sum(axis=2, keepdims=True)
        shares = np.where(rows > 0, counts / np.maximum(rows, 1), 0.0) * (1 - np.eye(counts.shape[1]))[None]
        # The worst pair at the last checkpoints (resolved early confusion is information only).
        result["confused share at the end"] = float(shares[-rules.PERSIST :].min(axis=0).max())
        accuracy = np.trace(counts, axis1=1, axis2=2) / np.maximum(counts.sum(axis=(1, 2)), 1)
        result["final accuracy / chance"] = float(accuracy[-1] * counts.shape[1])
    return result


def train_and_judge(logdir: str, dataset: str, lr: float, seed: int, epochs: int) -> tuple[dict[str, float], list]:
    from demo.train import main as train_demo

    name = f"{dataset}-lr{lr}-seed{seed}"
    train_demo(
        ["--dataset", dataset, "--lr", str(lr), "--seed", str(seed), "--epochs", str(epochs)]
        + ["--logdir", logdir, "--run-name", name, "--eval-size", "1000", "--no-progress"]
    )
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--logdir", help="where the runs are written (default: a temporary directory)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    logdir = args.logdir or tempfile.mkdtemp(prefix="deepviz_calibration_")
    rows: list[list[Any]] = []
    alarms = 0
    keys: list[str] = []
    for dataset, lr, seed in SETTINGS:
        measured, raised = train_and_judge(logdir, dataset, lr, seed, args.epochs)
        alarms += len(raised)
        keys = keys or list(measured)
        rows.append(
            [f"{dataset} lr {lr} seed {seed}", len(raised)] + [f"{measured.get(key, float('nan')):.3g}" for key in keys]
        )
        print(rows[-1], [f.message for f in raised], flush=True)
    thresholds = [
        "",
        "0",
        f"> {rules.EXPLODING_RATIO:g}",
        f"< {rules.VANISHING_RATIO:g}",
        f">= {rules.DEAD_WARNING_SHARE:g}",
        f">= {rules.UNSTABLE_UPDATE_RATIO:g}",
        f">= {rules.CONFUSED_SHARE:g}",
        f"<= {rules.CHANCE_FACTOR:g}",
    ]
    table = markdown_table(["healthy run", "warnings and errors", *keys], [*rows, ["threshold", *thresholds[1:]]])
    body = (
        f"The demo network trained {args.epochs} epochs per run, 1,000 eval images, a checkpoint about every 4% of "
        f"training; each column is the most a rule's condition held over {rules.PERSIST} consecutive checkpoints "
        f"(the end of training for confusion, accuracy at the last checkpoint).\n\n{table}\n\n"
        f"Warnings and errors raised by healthy runs: {alarms} (target 0)."
    )
    report("Findings calibration on healthy runs", body, append=not args.no_append)
    return 0 if alarms == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
