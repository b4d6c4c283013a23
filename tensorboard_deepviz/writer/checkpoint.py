"""A checkpoint's one batched eval pass, and the writing of its records in the worker.

Every record kind of a checkpoint is a collector (``writer.collectors``). ``EvalPass.run`` asks
each collector which module outputs/inputs it needs, installs one hook per tapped module, runs
the eval set through the model once in batches and hands every collector its tensors on the
device; then each collector starts its host copies and the pass records one CUDA event after
them. ``write_checkpoint`` runs in the background worker: it waits for that event, lets each
collector write its records and ends the checkpoint with the marker record naming every tag
written, also after a failure (docs/ARCHITECTURE.md).

The pass is isolated from training: no grad, eval mode (each module's own mode restored after),
the global RNG states forked, and ``log_step``'s recording of layer outputs paused, so training
with and without DeepViz gives identical weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Iterator, Optional, Sequence

import torch
from torch import nn

from .. import summary
from . import capture, distributed
from .collectors.base import Batch, CheckpointContext, Collector, Tap, record_copies
from .sinks import SummarySink

Failure = tuple[str, BaseException]  # (the collector's name, what it raised)


@dataclasses.dataclass
class CheckpointJob:
    """One checkpoint on its way to the worker: each collector's snapshot, possibly still being copied."""

    step: int
    snapshots: list[tuple[Collector[Any], Any]]
    failures: list[Failure]  # collectors that failed on the training thread
    copies_done: Optional[Any]  # a torch.cuda.Event, or None when nothing came from a GPU


class EvalPass:
    """Runs the model over the eval set for the collectors, isolated from training.

    Args:
      model: the (unwrapped) model.
      images: ``[N, C, H, W]`` eval images on the CPU; moved to the model's device at the first
        checkpoint and kept there.
      labels: ``[N]`` eval labels on the CPU.
      batch_size: images per forward pass.
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> None:
        self.model = model
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        #: Paused while the pass runs, so that log_step sees only training's forward passes.
        self.last_outputs: Optional[capture.LastOutputs] = None
        self._on_device: Optional[tuple[torch.Tensor, torch.Tensor]] = None

    # ------------------------------------------------------------ the model's side

    def device(self) -> torch.device:
        """The device of the model's first parameter (or buffer); the CPU for a model with neither."""
        for parameter in self.model.parameters():
            return parameter.device
        for buffer in self.model.buffers():
            return buffer.device
        return torch.device("cpu")

    def input_dtype(self) -> torch.dtype:
        """The dtype of the model's first floating-point parameter, else the eval images' own."""
        for tensor in self.model.parameters():
            if tensor.is_floating_point():
                return tensor.dtype
        return self.images.dtype

    def on_device(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The eval images (in the model's dtype) and labels on the model's device, copied once."""
        device, dtype = self.device(), self.input_dtype()
        cached = self._on_device
        if cached is None or cached[0].device != device or cached[0].dtype != dtype:
            cached = (self.images.to(device, dtype), self.labels.to(device))
            self._on_device = cached
        return cached

    def release(self) -> None:
        """Drop the device copy of the eval set."""
        self._on_device = None

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """No grad, eval mode (restored per module), RNG states restored, the pass not recorded for log_step."""
        modes = [(m, m.training) for m in self.model.modules()]
        device = self.device()
        rng_devices = (
            [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
        )
        self._pause_last_outputs(True)
        try:
            with torch.random.fork_rng(devices=rng_devices), torch.no_grad():
                self.model.eval()
                yield
        finally:
            for module, training in modes:
                module.training = training
            self._pause_last_outputs(False)

    def _pause_last_outputs(self, paused: bool) -> None:
        if self.last_outputs is not None:
            self.last_outputs.paused = paused

    def my_share(self) -> range:
        """The eval-set indices this process evaluates: all of them, or its rank's slice.

        Under torch.distributed each rank evaluates its own contiguous slice
        (``distributed.eval_share``); the batches, and the eval-set indices collectors see,
        follow it.
        """
        return distributed.eval_share(len(self.images), distributed.rank(), distributed.world_size())

    # ------------------------------------------------------------ one checkpoint

    def run(self, step: int, collectors: Sequence[Collector[Any]]) -> Optional[CheckpointJob]:
        """Run the collectors due at ``step`` through one isolated pass; return their snapshots.

        A collector that raises drops out of the rest of the checkpoint and is named in the
        job's failures; the model's own errors propagate, as from any forward pass. Under
        torch.distributed every rank must call this for the same step: each evaluates its slice
        of the eval set, rank 0 receives and combines every rank's snapshots and returns the
        job; other ranks return None (``writer.distributed``).
        """
        world = distributed.world_size()
        writing = distributed.is_writing_rank()
        members = _Members()
        for collector in collectors:
            if collector.rank_zero_only and not writing:
                continue
            with members.guard(collector, joining=True):
                if collector.due(step):
                    members.active.append(collector)
        with self.isolated():
            images, labels = self.on_device()
            context = CheckpointContext(step=step, model=self.model, images=images, labels=labels)
            for collector in members.now():
                with members.guard(collector):
                    collector.begin(context)
            if any(collector.needs_eval_pass for collector in members.active):
                self._batches(images, labels, members)
            snapshots: list[tuple[Collector[Any], Any]] = []
            for collector in members.now():
                with members.guard(collector):
                    snapshots.append((collector, collector.finish()))
            # One event after every host copy of the checkpoint: the worker waits for it.
            copies_done = record_copies(images.device)
        job = CheckpointJob(step, snapshots, members.failures, copies_done)
        if world > 1:
            return _combine_ranks(job, list(collectors), members.failed)
        return job

    def _batches(self, images: torch.Tensor, labels: torch.Tensor, members: _Members) -> None:
        """The eval pass: one set of hooks, every batch once, each tapped tensor to the collectors that asked."""
        modules = dict(self.model.named_modules())
        wanted: dict[Tap, list[Collector[Any]]] = {}
        for collector in members.now():
            with members.guard(collector):
                taps = list(collector.taps())
                unknown = [tap.module for tap in taps if tap.module not in modules]
                if unknown:
                    raise ValueError(f"taps of modules the model does not have: {unknown}")
                for tap in taps:
                    wanted.setdefault(tap, []).append(collector)
        current: list[Batch] = []  # the batch in the model now
        seen: set[Tap] = set()

        def deliver(tap: Tap, value: Any) -> None:
            tensor = capture.first_tensor(value)
            if not current or tensor is None or tap in seen:
                return
            seen.add(tap)  # a module called twice in one forward pass: its first call counts
            for collector in wanted[tap]:
                if collector in members.active:
                    with members.guard(collector):
                        collector.on_tap(current[0], tap, tensor.detach())

        with _Hooks(modules, list(wanted), deliver):
            share = self.my_share()
            for start in range(0, len(share), self.batch_size):
                indices = share[start : start + self.batch_size]
                rows = slice(indices.start, indices.stop, indices.step)
                batch = Batch(indices=indices, images=images[rows], labels=labels[rows])
                current[:] = [batch]
                seen.clear()
                batch.logits = capture.first_tensor(self.model(batch.images))
                current.clear()
                for collector in members.now():
                    with members.guard(collector):
                        collector.on_batch(batch)


def _combine_ranks(
    job: CheckpointJob, collectors: list[Collector[Any]], failed: dict[int, BaseException]
) -> Optional[CheckpointJob]:
    """Gather every rank's snapshots of the sharded collectors to rank 0 and combine them there.

    ``failed`` maps ``id(collector)`` to what it raised on this rank. The host copies are waited
    for first (the snapshots are pickled). Rank-0-only collectors keep rank 0's snapshot; a
    sharded collector that failed on any rank is reported with that rank and not written, since
    its records would miss a slice of the eval set.
    """
    if job.copies_done is not None:
        job.copies_done.synchronize()
    sharded = [(index, c) for index, c in enumerate(collectors) if not c.rank_zero_only]
    own = {id(collector): snapshot for collector, snapshot in job.snapshots}
    part = distributed.RankPart(snapshots={}, failures={})
    for index, collector in sharded:
        if id(collector) in failed:
            error = failed[id(collector)]
            part.failures[index] = f"{type(error).__name__}: {error}"
        elif id(collector) in own:
            part.snapshots[index] = own[id(collector)]
    parts = distributed.gather_to_rank_zero(part)
    if parts is None:
        return None
    # Rank-0-only collectors' own failures stand; a sharded one's are in the parts, named by rank.
    rank_zero_names = {collector_name(c) for c in collectors if c.rank_zero_only}
    failures = [(name, error) for name, error in job.failures if name in rank_zero_names]
    snapshots: list[tuple[Collector[Any], Any]] = []
    for index, collector in enumerate(collectors):  # records in the usual order
        if collector.rank_zero_only:
            if id(collector) in own:
                snapshots.append((collector, own[id(collector)]))
            continue
        if not any(index in p.snapshots or index in p.failures for p in parts):
            continue  # not due at this checkpoint on any rank
        pieces, errors = distributed.merge_parts(parts, index)
        if errors:
            failures.append((collector_name(collector), RuntimeError("; ".join(errors))))
            continue
        try:
            snapshots.append((collector, collector.combine(pieces)))
        except Exception as error:  # reported by the worker, like any collector's failure
            failures.append((collector_name(collector), error))
    return CheckpointJob(job.step, snapshots, failures, None)


class _Members:
    """The collectors taking part in one checkpoint: one that raises drops out and is named in ``failures``."""

    def __init__(self) -> None:
        self.active: list[Collector[Any]] = []
        self.failures: list[Failure] = []
        self.failed: dict[int, BaseException] = {}  # by id(collector)

    def now(self) -> list[Collector[Any]]:
        """The collectors still taking part (a copy: one may drop out while the caller iterates)."""
        return list(self.active)

    @contextlib.contextmanager
    def guard(self, collector: Collector[Any], *, joining: bool = False) -> Iterator[None]:
        try:
            yield
        except Exception as error:  # reported by the worker, never raised into the training loop
            if not joining:
                self.active.remove(collector)
            self.failures.append((collector_name(collector), error))
            self.failed[id(collector)] = error


def collector_name(collector: Collector[Any]) -> str:
    """How failure reports name ``collector``."""
    return collector.name or type(collector).__name__


class _Hooks(contextlib.AbstractContextManager):
    """One forward hook (or pre-hook, for an input) per tap, all removed on exit whatever happens."""

    def __init__(self, modules: dict[str, nn.Module], taps: list[Tap], deliver: Callable[[Tap, Any], None]) -> None:
        self._handles: list[Any] = []
        try:
            for tap in taps:
                module = modules[tap.module]
                if tap.input:
                    hook = _input_hook(tap, deliver)
                    self._handles.append(module.register_forward_pre_hook(hook))
                else:
                    self._handles.append(module.register_forward_hook(_output_hook(tap, deliver)))
        except BaseException:
            self.remove()
            raise

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def _output_hook(tap: Tap, deliver: Callable[[Tap, Any], None]) -> Callable[..., None]:
    return lambda module, inputs, output: deliver(tap, output)


def _input_hook(tap: Tap, deliver: Callable[[Tap, Any], None]) -> Callable[..., None]:
    return lambda module, inputs: deliver(tap, inputs)


class _CheckpointSink:
    """A ``CheckpointSink`` that remembers the tags written and whether the writer itself failed."""

    def __init__(self, sink: SummarySink, step: int) -> None:
        self.step = step
        self.written: list[str] = []
        self.writer_failed = False
        self._sink = sink

    def add(self, record: Any) -> None:
        try:
            self._sink.add(record, self.step)
        except Exception:
            self.writer_failed = True
            raise
        self.written.extend(value.tag for value in record.value)


def write_checkpoint(job: CheckpointJob, sink: SummarySink) -> list[Failure]:
    """In the worker: each collector's records, then the marker naming the tags written; returns the failures.

    A collector's failure loses its own remaining records; the others are still written. A
    failure of the writer itself (disk full, a closed writer) ends the checkpoint there: the
    marker is still attempted, so that the dashboard lists the checkpoint with what it has.
    """
    if job.copies_done is not None:
        job.copies_done.synchronize()
    failures = list(job.failures)
    out = _CheckpointSink(sink, job.step)
    for collector, snapshot in job.snapshots:
        try:
            collector.write(snapshot, out)
        except Exception as error:
            failures.append((collector_name(collector), error))
            if out.writer_failed:
                break
    try:
        sink.add(summary.checkpoint_summary(out.written), job.step)
    except Exception as error:
        if not out.writer_failed:  # after the writer failed once, the first failure is the one reported
            failures.append(("checkpoint marker", error))
    return failures
