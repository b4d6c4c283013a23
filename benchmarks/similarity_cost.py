"""Layer similarity records: what they add to log_checkpoint's blocking time and to a checkpoint's bytes.

Two DeepViz loggers on the same model, the same eval set and every other option alike, one with
``similarity_images`` (default 256), one with 0; their ``log_checkpoint`` calls alternate, medians
of several rounds (as ``benchmarks.logging_cost`` measures). Also timed: the similarity
collector's own calls on the training thread (``on_tap`` and ``finish``), which the difference of
two noisy medians can hide. Bytes: the similarity record of one checkpoint, from the event files.

    python -m benchmarks.similarity_cost [--model deepviz3|resnet18] [--eval-size 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics as stats
import sys
import tempfile
import time
from typing import Any, Callable

import torch
from torch.utils.tensorboard import SummaryWriter

from benchmarks.common import markdown_table, report
from benchmarks.logging_cost import directory_bytes, synchronize
from benchmarks.models import MODELS
from benchmarks.serving import CLASS_NAMES, synthetic_cifar
from tensorboard_deepviz import DeepViz
from tensorboard_deepviz.analysis import similarity
from tensorboard_deepviz.contract import records
from tensorboard_deepviz.writer.collectors import SimilarityCollector


class CollectorClock:
    """Adds up the time the similarity collector spends in ``on_tap`` and ``finish`` (the training thread's share)."""

    def __init__(self, collector: SimilarityCollector, device: torch.device) -> None:
        self.seconds = 0.0
        for name in ("begin", "on_tap", "finish"):
            setattr(collector, name, self._timed(getattr(collector, name), device))

    def _timed(self, method: Callable[..., Any], device: torch.device) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            synchronize(device)
            started = time.perf_counter()
            result = method(*args)
            synchronize(device)
            self.seconds += time.perf_counter() - started
            return result

        return timed


def measure(model_name: str, device: torch.device, eval_size: int, batch: int, repeats: int, images: int) -> dict:
    torch.manual_seed(0)
    model = MODELS[model_name]().to(device)
    eval_images, labels = synthetic_cifar(eval_size)
    root = tempfile.mkdtemp(prefix="deepviz_similarity_")
    writers = {name: SummaryWriter(os.path.join(root, name)) for name in ("on", "off")}
    loggers = {
        name: DeepViz(
            writers[name],
            model,
            (eval_images, labels),
            class_names=CLASS_NAMES,
            batch_size=batch,
            similarity_images=images if name == "on" else 0,
        )
        for name in ("on", "off")
    }
    collector = next(c for c in loggers["on"]._collectors if isinstance(c, SimilarityCollector))
    clock = CollectorClock(collector, device)
    results: dict[str, list[float]] = {"on": [], "off": [], "collector": [], "on_bytes": [], "off_bytes": []}
    for repeat in range(repeats + 1):  # the first round is a warm-up, not counted
        order = ["on", "off"] if repeat % 2 == 0 else ["off", "on"]
        for name in order:
            before = directory_bytes(os.path.join(root, name))
            clock.seconds = 0.0
            synchronize(device)
            started = time.perf_counter()
            loggers[name].log_checkpoint(repeat + 1)
            synchronize(device)
            elapsed = time.perf_counter() - started
            loggers[name].flush()
            if repeat > 0:
                results[name].append(elapsed)
                results[f"{name}_bytes"].append(directory_bytes(os.path.join(root, name)) - before)
                if name == "on":
                    results["collector"].append(clock.seconds)
    for writer in writers.values():
        writer.flush()
    record_bytes, layers = similarity_records(os.path.join(root, "on"))
    widths = layer_widths(model, layers, eval_images[:1].to(device))
    n = min(images, eval_size)
    for logger in loggers.values():
        logger.close()
    for writer in writers.values():
        writer.close()
    medians = {key: stats.median(values) for key, values in results.items()}
    medians["record"] = stats.median(record_bytes)
    medians["layers"] = len(layers)
    medians["n"] = n
    # Without leaving any component out: per layer, float16 features or the Gram triangle, the smaller.
    medians["bound"] = sum(2 * min(n * width, similarity.triangle_size(n)) for width in widths)
    return medians


def similarity_records(run_dir: str) -> tuple[list[int], list[str]]:
    """The serialized size of each similarity record in ``run_dir``'s event files, and the layers the last covers."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    sizes, layers = [], []
    for name in sorted(os.listdir(run_dir)):
        for event in EventFileLoader(os.path.join(run_dir, name)).Load():
            for value in event.summary.value:
                if value.tag == "deepviz/similarity":
                    sizes.append(value.ByteSize())
                    blobs = list(value.tensor.string_val)
                    layers = list(records.decode_record(blobs).fields["layers"])
    return sizes, layers


def layer_widths(model: torch.nn.Module, layers: list[str], image: torch.Tensor) -> list[int]:
    """Each layer's features per image: its channels (or outputs)."""
    modules = dict(model.named_modules())
    widths: dict[str, int] = {}
    hooks = [
        modules[name].register_forward_hook(lambda m, i, o, name=name: widths.__setitem__(name, o.shape[1]))
        for name in layers
    ]
    with torch.no_grad():
        model.eval()(image)
    for hook in hooks:
        hook.remove()
    return [widths[name] for name in layers]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(MODELS), default="deepviz3")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--eval-size", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=256, help="similarity_images of the logger measured")
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    m = measure(args.model, device, args.eval_size, args.batch, args.repeats, args.images)
    extra_bytes = m["record"]
    table = markdown_table(
        ["per checkpoint", "value"],
        [
            ["log_checkpoint blocking, similarity off (ms)", m["off"] * 1000],
            ["log_checkpoint blocking, similarity on (ms)", m["on"] * 1000],
            ["difference of the medians (ms)", (m["on"] - m["off"]) * 1000],
            ["similarity collector's own calls (ms)", m["collector"] * 1000],
            ["of the blocking time with it off", f"{m['collector'] / m['off']:.1%}"],
            ["bytes written, similarity off", m["off_bytes"]],
            ["bytes written, similarity on", m["on_bytes"]],
            ["similarity record (bytes, serialized)", extra_bytes],
            ["of the checkpoint's bytes with it on", f"{extra_bytes / max(m['on_bytes'], 1):.1%}"],
            ["at most (every component kept: features or triangle, float16)", m["bound"]],
        ],
    )
    body = (
        f"Model `{args.model}` on `{args.device}`, {args.eval_size} eval images, batch {args.batch}, "
        f"similarity over {m['n']} images at {m['layers']} layers (a layer of up to "
        f"{m['n'] // 2} channels is sent as features, a wider one as a Gram triangle of "
        f"{similarity.triangle_size(m['n'])} values; the record keeps each Gram's smallest factor that leaves out "
        f"{similarity.TOLERANCE:g} of its squared norm, or the triangle; under the checkpoint byte budget a "
        f"deep model's record covers the layers the budget keeps, and the bytes the budget counts for it can "
        f"leave less room to other records); medians of {args.repeats} alternating "
        f"rounds. The images are synthetic (a colour cast per class) and the model untrained: its layers' features "
        f"have few components, so the record is near its smallest; the last row bounds it for any model.\n\n{table}"
    )
    report(f"Layer similarity cost ({args.model}, {args.device})", body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
