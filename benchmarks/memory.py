"""Memory: peak RSS of a training process with and without DeepViz, and of TensorBoard serving a log.

    python -m benchmarks.memory [--steps 60] [--checkpoint-every 20] [--no-append]

Training runs in fresh subprocesses (the 3-layer CIFAR-10 net, 5,000 eval images); TensorBoard
serves the 300-checkpoint log of ``benchmarks.serving`` and its peak RSS (with the Rust data
server's, a child process) is read after every route was visited at several steps.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile

from benchmarks.common import markdown_table, report


def train(variant: str, steps: int, checkpoint_every: int, eval_size: int) -> None:
    """Runs in a subprocess: train, then print the peak RSS in MB.

    ``variant``: "plain" (training alone), "floor" (plus the checkpoints' eval forward passes,
    done by hand), or "deepviz" (plus DeepViz.log_step and log_checkpoint).
    """
    import torch
    import torch.nn.functional as F
    from torch.utils.tensorboard import SummaryWriter

    from benchmarks.serving import CLASS_NAMES, synthetic_cifar
    from demo.model import DeepVizNet
    from tensorboard_deepviz import DeepViz

    torch.manual_seed(0)
    model = DeepVizNet()
    images, labels = synthetic_cifar(eval_size)
    train_images, train_labels = synthetic_cifar(64, seed=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    writer = SummaryWriter(tempfile.mkdtemp(prefix="deepviz_memory_"))
    viz = DeepViz(writer, model, (images, labels), class_names=CLASS_NAMES) if variant == "deepviz" else None
    for step in range(steps):
        loss = F.cross_entropy(model(train_images), train_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        writer.add_scalar("loss", loss.item(), step)
        if viz is not None:
            viz.log_step(step)
            if step % checkpoint_every == 0:
                viz.log_checkpoint(step)
        elif variant == "floor" and step % checkpoint_every == 0:
            from benchmarks.logging_cost import forward_passes

            forward_passes(model, images, list(range(16)), 500)
    if viz is not None:
        viz.close()
    writer.close()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process and its children, in MB."""
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            pids += [int(child) for child in children.read().split()]
    except OSError:
        pass
    for each in pids:
        try:
            with open(f"/proc/{each}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def serving_peak(logdir: str, loader: str, checkpoints: int) -> float:
    from benchmarks.serving import STEP_SPACING, TensorBoardProcess, route_requests

    server = TensorBoardProcess(logdir, loader)
    try:
        server.wait_for_checkpoints(checkpoints)
        for route, params_for in route_requests(5000).items():
            for index in range(0, checkpoints, max(1, checkpoints // 10)):
                server.get(route.split("(")[0], **params_for(index * STEP_SPACING))
        return peak_rss_mb(server.process.pid)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--checkpoint-every", type=int, default=20)
    parser.add_argument("--eval-size", type=int, default=5000)
    parser.add_argument("--checkpoints", type=int, default=300)
    parser.add_argument("--logdir", help="reuse the serving benchmark's log here")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--train-child", choices=["plain", "floor", "deepviz"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.train_child:
        train(args.train_child, args.steps, args.checkpoint_every, args.eval_size)
        return 0

    training = {}
    for variant in ("plain", "floor", "deepviz"):
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--train-child",
                variant,
                "--steps",
                str(args.steps),
                "--checkpoint-every",
                str(args.checkpoint_every),
                "--eval-size",
                str(args.eval_size),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        training[variant] = float(output.stdout.strip().splitlines()[-1])
    from benchmarks.serving import prepare_log

    logdir = prepare_log(args.logdir, args.checkpoints, args.eval_size, prefix="deepviz_memory_serving_")
    serving = {loader: serving_peak(logdir, loader, args.checkpoints) for loader in ("python", "rust")}
    rows = [
        ["training, no DeepViz", training["plain"]],
        ["training + the checkpoints' eval forward passes by hand (floor)", training["floor"]],
        ["training with DeepViz", training["deepviz"]],
        ["DeepViz's extra over training alone", training["deepviz"] - training["plain"]],
        ["DeepViz's extra over the floor", training["deepviz"] - training["floor"]],
        ["TensorBoard (Python loader), every route visited", serving["python"]],
        ["TensorBoard + Rust data server, every route visited", serving["rust"]],
    ]
    body = (
        f"3-layer CIFAR-10 net, {args.eval_size} eval images, {args.steps} steps, a checkpoint every "
        f"{args.checkpoint_every}; TensorBoard over a {args.checkpoints}-checkpoint log.\n\n"
        + markdown_table(["peak RSS", "MB"], rows)
    )
    report("Memory", body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
