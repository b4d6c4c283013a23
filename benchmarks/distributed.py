"""Sharded checkpoints: log_checkpoint's time with 1 and 2 torch.distributed ranks (gloo, CPU).

Every rank holds the same model and eval set and calls ``log_checkpoint``; each evaluates its
slice, rank 0 gathers and writes (docs/ARCHITECTURE.md, "Many GPUs"). Each process gets the same
number of CPU threads, so 2 ranks have twice the compute of 1, as two GPUs have twice one's.
Reports the time the training thread is blocked per checkpoint (median over checkpoints after a
warm-up one) and the time until everything is written (``flush``), for 1 and 2 ranks.

    python -m benchmarks.distributed [--model deepviz3|resnet18] [--images 1000] [--checkpoints 4]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from benchmarks.common import markdown_table, report

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, options: dict, out: str) -> None:
    sys.path.insert(0, REPO_ROOT)
    from benchmarks.models import MODELS
    from benchmarks.serving import CLASS_NAMES, synthetic_cifar
    from tensorboard_deepviz import DeepViz

    torch.set_num_threads(options["threads"])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = MODELS[options["model"]]()
        images, labels = synthetic_cifar(options["images"])
        logdir = os.path.join(out, f"world{world}") if rank == 0 else None
        blocked: list[float] = []
        with DeepViz(logdir, model, (images, labels), class_names=CLASS_NAMES) as viz:
            for checkpoint in range(options["checkpoints"] + 1):
                dist.barrier()
                start = time.perf_counter()
                viz.log_checkpoint(checkpoint)
                blocked.append(time.perf_counter() - start)
            start = time.perf_counter()
            viz.flush()
            flushed = time.perf_counter() - start
        if rank == 0:
            with open(os.path.join(out, f"world{world}.json"), "w") as result:
                json.dump({"blocked": blocked[1:], "flush": flushed}, result)  # the first checkpoint warms up
    finally:
        dist.destroy_process_group()


def measure(world: int, options: dict, out: str) -> dict:
    print(f"  {world} rank(s): {options['checkpoints']} checkpoints of {options['model']} ...", flush=True)
    mp.start_processes(_rank_main, args=(world, _free_port(), options, out), nprocs=world, start_method="spawn")
    with open(os.path.join(out, f"world{world}.json")) as result:
        return json.load(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deepviz3", choices=("deepviz3", "resnet18"))
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    options = {"model": args.model, "images": args.images, "checkpoints": args.checkpoints, "threads": args.threads}
    rows = []
    with tempfile.TemporaryDirectory() as out:
        results = {world: measure(world, options, out) for world in (1, 2)}
    one = statistics.median(results[1]["blocked"])
    for world, result in results.items():
        blocked = statistics.median(result["blocked"])
        rows.append(
            [world, args.threads, f"{blocked * 1000:.0f}", f"{result['flush'] * 1000:.0f}", f"{one / blocked:.2f}"]
        )
    body = (
        f"{args.model}, {args.images} eval images, median of {args.checkpoints} checkpoints after a warm-up one; "
        "each rank evaluates its slice, rank 0 gathers (gloo) and writes.\n\n"
        + markdown_table(
            ["ranks", "threads per rank", "blocking ms per checkpoint", "flush after ms", "speed-up over 1 rank"], rows
        )
    )
    report(f"Sharded checkpoints ({args.model}, cpu)", body, append=not args.no_append)


if __name__ == "__main__":
    main()
