"""Serving benchmark: the real `tensorboard` command over a 300-checkpoint log, both loaders.

Measures TensorBoard's start until ``index`` lists every checkpoint, then per route the
latency of cold requests (a step no request has touched yet) and warm ones (repeated), with
1 and 8 concurrent clients. Targets (docs/ARCHITECTURE.md, Performance targets): p95 <= 50 ms warm, <= 250 ms cold.

With a second run over the same eval set (``cifar_b``, another initialization), the A/B routes
are measured too: ``confusion_diff``, ``filter_match``, ``compare?runs=cifar,cifar_b`` and
``layer_similarity`` (its records are written at every checkpoint of both runs).

    python -m benchmarks.serving [--checkpoints 300] [--eval-size 5000] [--no-append]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Optional

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

from benchmarks.common import markdown_table, percentile, report
from demo.model import DeepVizNet
from tensorboard_deepviz import DeepViz, summary
from tensorboard_deepviz.analysis import clustering, similarity
from tensorboard_deepviz.analysis import moments as host_moments
from tensorboard_deepviz.contract.metadata import INPUT_STATISTIC_NAMES
from tensorboard_deepviz.writer.collectors.similarity import layer_statistic

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STEP_SPACING = 100
# Layer statistics logged per checkpoint interval (300 checkpoints: 3,000 logged steps); the
# findings figure is measured with 34 (about 10,000 steps), --statistics-per-checkpoint.
STATISTICS_PER_CHECKPOINT = 10
# The run every route reads, and the B side of the A/B routes (same eval set, another initialization).
RUN = "cifar"
RUN_B = "cifar_b"


def synthetic_cifar(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10-shaped images with a class-dependent colour cast (serving cost does not depend on content)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = torch.randn(count, 3, 32, 32, generator=generator) * 0.5
    images += torch.linspace(-1, 1, 10)[labels].view(-1, 1, 1, 1)
    return images, labels


def prepare_log(
    logdir: str | None,
    checkpoints: int,
    eval_size: int,
    *,
    prefix: str,
    statistics_per_checkpoint: int = STATISTICS_PER_CHECKPOINT,
    runs: tuple[str, ...] = (RUN,),
) -> str:
    """``logdir`` (or a new temporary directory) holding ``write_log``'s runs, each written unless already there."""
    logdir = logdir or tempfile.mkdtemp(prefix=prefix)
    for seed, run in enumerate(runs):
        if not os.path.isdir(os.path.join(logdir, run)):
            started = time.perf_counter()
            write_log(logdir, checkpoints, eval_size, statistics_per_checkpoint, run=run, seed=seed)
            print(f"wrote {checkpoints} checkpoints of {run} in {time.perf_counter() - started:.1f} s to {logdir}")
    return logdir


def write_log(
    logdir: str,
    checkpoints: int,
    eval_size: int,
    statistics_per_checkpoint: int = STATISTICS_PER_CHECKPOINT,
    *,
    run: str = RUN,
    seed: int = 0,
) -> None:
    """A run like the demo's, with ``checkpoints`` checkpoints of the 3-layer CIFAR-10 net.

    The corpus, graph and first checkpoint come from ``DeepViz`` itself; later checkpoints are
    written with the same summary functions from a model whose weights drift as in training
    and from its real probe activations and layer similarity statistics, while predictions and
    clusters are synthesized (a full eval pass and K-Means per checkpoint would take minutes and
    do not change what is served). ``seed`` picks the initialization; the eval set is always
    the same, so runs of one log can be compared image by image.
    """
    torch.manual_seed(seed)
    model = DeepVizNet()
    images, labels = synthetic_cifar(eval_size)
    run_dir = os.path.join(logdir, run)
    writer = SummaryWriter(run_dir)
    with DeepViz(writer, model, (images, labels), class_names=CLASS_NAMES, batch_size=500) as viz:
        viz.log_checkpoint(0)
        layers, probe, gradcam_layers = viz.layers, viz.probe_images, viz.gradcam_layers
    modules = dict(model.named_modules())
    file_writer = writer._get_file_writer()
    rng = np.random.default_rng(seed)
    sample = similarity.sample_indices(eval_size, 256)
    label_array = labels.numpy()
    for index in range(1, checkpoints):
        step = index * STEP_SPACING
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.002)
        outputs = {}
        hooks = [
            modules[n].register_forward_hook(lambda m, i, o, n=n, outputs=outputs: outputs.__setitem__(n, o.detach()))
            for n in layers
        ]
        with torch.no_grad():
            model(images[probe])
        for hook in hooks:
            hook.remove()
        pooled = {}  # the similarity features: each layer's output over the sample, channels averaged
        hooks = [
            modules[n].register_forward_hook(
                lambda m, i, o, n=n, pooled=pooled: pooled.__setitem__(n, o.mean(dim=(2, 3)) if o.ndim == 4 else o)
            )
            for n in layers
        ]
        with torch.no_grad():
            model(images[torch.as_tensor(sample)])
        for hook in hooks:
            hook.remove()
        for name in layers:
            module = modules[name]
            file_writer.add_summary(
                summary.weights_summary(name, module.weight.detach().numpy(), layer_type=type(module).__name__), step
            )
            file_writer.add_summary(summary.activations_summary(name, outputs[name].numpy(), probe), step)
        accuracy = min(0.95, 0.1 + index / checkpoints)
        predicted = np.where(rng.random(eval_size) < accuracy, label_array, rng.integers(0, 10, eval_size))
        probabilities = rng.dirichlet(np.ones(10), size=len(probe)).astype(np.float32)
        file_writer.add_summary(
            summary.predictions_summary(probe, probabilities, predicted, rng.random(eval_size)), step
        )
        file_writer.add_summary(summary.confusion_summary(label_array, predicted, 10), step)
        assignment = rng.integers(0, 30, eval_size)
        clusters = clustering.Clusters(
            assignment=assignment.astype(np.int32),
            nearest=rng.integers(0, eval_size, (30, 20)).astype(np.int32),
            sizes=np.bincount(assignment, minlength=30).astype(np.int32),
            majority_class=rng.integers(0, 10, 30).astype(np.int32),
            purity=rng.random(30).astype(np.float32),
            projection=rng.standard_normal((eval_size, 2)).astype(np.float32),
            nonfinite_images=0,
        )
        file_writer.add_summary(summary.clusters_summary(clusters, layer="input of fc2", metric="euclidean"), step)
        for name in layers:
            file_writer.add_summary(summary.units_summary(name, **synthetic_units(rng, outputs[name], eval_size)), step)
        file_writer.add_summary(
            summary.similarity_summary(
                sample, layers, [layer_statistic(pooled[name]).float().numpy() for name in layers]
            ),
            step,
        )
        for name in gradcam_layers:
            maps = rng.random((len(probe), *outputs[name].shape[2:])).astype(np.float32)
            file_writer.add_summary(
                summary.attribution_summary(name, probe, predicted[probe], maps, input_shape=[32, 32]), step
            )
        for offset in range(statistics_per_checkpoint):
            logged_step = step - STEP_SPACING + offset * (STEP_SPACING // statistics_per_checkpoint)
            for name in layers:
                rows = host_moments.statistics_from_moments(rng.random((3, len(host_moments.MOMENT_NAMES))) + 1)
                file_writer.add_summary(summary.layer_statistics_summary(name, rows), logged_step)
            # What log_step(step, loss=...) writes besides: the loss and the training inputs'
            # moments, which the findings route reads too.
            file_writer.add_summary(summary.loss_summary(2.3 * float(rng.random()) + 0.1), logged_step)
            inputs = host_moments.statistics_from_moments(rng.random((1, len(host_moments.MOMENT_NAMES))) + 1)[0]
            file_writer.add_summary(summary.input_statistics_summary(inputs[: len(INPUT_STATISTIC_NAMES)]), logged_step)
    writer.close()


def synthetic_units(rng: np.random.Generator, output: torch.Tensor, eval_size: int, k: int = 9) -> dict:
    """``summary.units_summary`` arguments of the right shapes for a layer whose probe output is ``output``."""
    units = output.shape[1]
    grid = tuple(output.shape[2:]) or (1, 1)
    rows = rng.integers(0, grid[0], (units, k))
    cols = rng.integers(0, grid[-1], (units, k))
    tops = np.stack([rows, cols, rows + 5, cols + 5], axis=-1)
    return {
        "top_images": rng.integers(0, eval_size, (units, k)),
        "top_values": -np.sort(-rng.random((units, k)), axis=1),
        "top_positions": np.stack([rows, cols], axis=-1),
        "top_boxes": np.clip(tops, 0, 32),
        "class_means": rng.random((units, 10)),
        "mean": rng.random(units),
        "output_shape": list(output.shape[1:]),
        "input_shape": [32, 32],
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TensorBoardProcess:
    """The `tensorboard` command on a free loopback port."""

    def __init__(self, logdir: str, loader: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/data/plugin/deepviz/"
        command = [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            logdir,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--load_fast",
            "true" if loader == "rust" else "false",
        ]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def get(self, route: str, **params: object) -> tuple[int, bytes]:
        url = self.base + route + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_for_checkpoints(self, count: int, timeout: float = 600) -> float:
        """Seconds from process start until ``index`` lists ``count`` checkpoints."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, body = self.get("index")
                if status == 200:
                    runs = json.loads(body)["runs"]
                    if runs and all(len(run["checkpoints"]) >= count for run in runs):
                        return time.perf_counter() - self.started
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"index did not list {count} checkpoints within {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def route_requests(eval_size: int, run_b: Optional[str] = None) -> dict[str, Callable[[int], dict]]:
    """For each route, a function from a step to that request's parameters (with ``run_b``, the A/B routes too)."""
    requests: dict[str, Callable[[int], dict]] = {
        "index": lambda s: {},
        "graph": lambda s: {"run": "cifar"},
        "corpus": lambda s: {"run": "cifar"},
        "thumbnail": lambda s: {"run": "cifar", "index": s % eval_size},
        "thumbnails": lambda s: {"run": "cifar", "indices": ",".join(str((s + 37 * i) % eval_size) for i in range(64))},
        "filters": lambda s: {"run": "cifar", "layer": "conv2", "step": s},
        "filters(global)": lambda s: {"run": "cifar", "layer": "conv3", "step": s, "norm": "global"},
        "filters_layout": lambda s: {"run": "cifar", "layer": "conv2", "step": s},
        "filter_values": lambda s: {"run": "cifar", "layer": "conv3", "step": s, "filter": 5},
        "activations": lambda s: {"run": "cifar", "layer": "conv1", "step": s, "image": 0},
        "predictions": lambda s: {"run": "cifar", "step": s},
        "confusion": lambda s: {"run": "cifar", "step": s},
        "clusters": lambda s: {"run": "cifar", "step": s},
        "compare": lambda s: {"run": "cifar", "steps": f"{s}:{s + 1000}"},
        "dynamics": lambda s: {"run": "cifar", "layer": "conv1", "stat": ["mean", "std", "max"][s // STEP_SPACING % 3]},
        "units": lambda s: {"run": "cifar", "layer": "conv2", "step": s},
        "top_images": lambda s: {"run": "cifar", "layer": "conv3", "step": s, "unit": s // STEP_SPACING % 64},
        "top_images_sprite": lambda s: {"run": "cifar", "layer": "conv3", "step": s, "unit": s // STEP_SPACING % 64},
        "units_history": lambda s: {"run": "cifar", "layer": ["conv1", "conv2", "conv3", "fc1"][s // STEP_SPACING % 4]},
        "class_pair_units": lambda s: {"run": "cifar", "step": s, "a": s // STEP_SPACING % 10, "b": 3},
        "attribution": lambda s: {"run": "cifar", "step": s, "image": 0},
        "findings": lambda s: {"run": "cifar"},
    }
    if run_b is not None:
        requests.update(
            {
                "confusion_diff": lambda s: {"run": "cifar", "step": s, "run_b": run_b, "step_b": s},
                "filter_match": lambda s: {"run": "cifar", "run_b": run_b, "layer": "conv2", "step": s, "step_b": s},
                "compare(runs)": lambda s: {"runs": f"cifar,{run_b}", "steps": f"{s}:{s + 1000}"},
                "layer_similarity": lambda s: {"run": "cifar", "step": s, "run_b": run_b},
                "layer_similarity(one run)": lambda s: {"run": "cifar", "step": s, "step_b": max(0, s - 1000)},
            }
        )
    return requests


def timed(server: TensorBoardProcess, route: str, params: dict) -> float:
    started = time.perf_counter()
    status, _ = server.get(route.split("(")[0], **params)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"{route} {params} answered {status}")
    return elapsed


def measure(
    server: TensorBoardProcess,
    steps: list[int],
    eval_size: int,
    clients: int,
    samples: int,
    repeats: int,
    routes: Optional[set[str]] = None,
    run_b: Optional[str] = None,
) -> dict:
    """Cold and warm latencies (ms) per route with ``clients`` concurrent clients."""
    results = {}
    rng = random.Random(clients)
    for route, params_for in route_requests(eval_size, run_b).items():
        if routes is not None and route not in routes:
            continue
        chosen = rng.sample(steps, samples)
        requests = [params_for(step) for step in chosen]
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            cold = list(pool.map(lambda p, route=route: timed(server, route, p), requests))
            warm = list(pool.map(lambda p, route=route: timed(server, route, p), requests * repeats))
        results[route] = (cold, warm)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=int, default=300)
    parser.add_argument("--eval-size", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=20, help="distinct steps per route and client count")
    parser.add_argument("--repeats", type=int, default=3, help="warm repetitions of each request")
    parser.add_argument("--logdir", help="reuse or create the log here instead of a temporary directory")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    parser.add_argument(
        "--statistics-per-checkpoint",
        type=int,
        default=STATISTICS_PER_CHECKPOINT,
        help="layer statistics logged between two checkpoints (34: about 10,000 steps over 300 checkpoints)",
    )
    parser.add_argument("--routes", help="only these routes, comma-separated (default: all)")
    args = parser.parse_args(argv)

    logdir = prepare_log(
        args.logdir,
        args.checkpoints,
        args.eval_size,
        prefix="deepviz_serving_",
        statistics_per_checkpoint=args.statistics_per_checkpoint,
        runs=(RUN, RUN_B),
    )
    chosen = set(args.routes.split(",")) if args.routes else None
    steps = [i * STEP_SPACING for i in range(args.checkpoints)]
    rows, startup = [], []
    for loader in ("python", "rust"):
        server = TensorBoardProcess(logdir, loader)
        try:
            startup.append((loader, server.wait_for_checkpoints(args.checkpoints)))
            per_clients = {
                clients: measure(server, steps, args.eval_size, clients, args.samples, args.repeats, chosen, RUN_B)
                for clients in (1, 8)
            }
        finally:
            server.stop()
        for route in route_requests(args.eval_size, RUN_B):
            if route not in per_clients[1]:
                continue
            one_cold, one_warm = per_clients[1][route]
            eight_cold, eight_warm = per_clients[8][route]
            rows.append(
                [
                    loader,
                    route,
                    percentile(one_cold, 50),
                    percentile(one_cold, 95),
                    percentile(one_warm, 50),
                    percentile(one_warm, 95),
                    percentile(eight_cold, 95),
                    percentile(eight_warm, 95),
                ]
            )
    table = markdown_table(
        ["loader", "route", "cold p50", "cold p95", "warm p50", "warm p95", "8 clients cold p95", "8 clients warm p95"],
        rows,
    )
    worst_warm = max(row[5] for row in rows)
    worst_cold = max(row[3] for row in rows)
    start_table = markdown_table(["loader", "start until index lists every checkpoint (s)"], startup)
    body = (
        f"{args.checkpoints} checkpoints of the 3-layer CIFAR-10 net in each of two runs over one eval set "
        f"(`{RUN}` and `{RUN_B}`, for the A/B routes), {args.eval_size}-image corpus, "
        f"{args.checkpoints * args.statistics_per_checkpoint} logged steps of layer statistics, real `tensorboard` "
        f"on loopback; latencies in ms over {args.samples} steps per route ({args.repeats} warm repeats).\n\n"
        f"{start_table}\n\n{table}\n\n"
        f"Worst single-client p95: warm {worst_warm:.1f} ms (target <= 50), cold {worst_cold:.1f} ms (target <= 250)."
    )
    report("Serving a 300-checkpoint log", body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
