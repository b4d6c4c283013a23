"""Feature visualization records: for each selected unit of chosen layers, an image that excites it, as a film over training.

Rendering takes hundreds of forward and backward passes per layer, so it never runs in the
checkpoint's pass. At a due checkpoint this collector, on the training thread and inside the
pass's isolation, only takes a copy of the model (``copy.deepcopy`` of the unwrapped module, its
gradients not copied; eval mode, frozen parameters) and, at the first one, the eval set's
per-channel statistics and the variance of each unit over the eval pass (to choose which units to
render); ``finish`` hands that to its own background thread (``feature_vis.runner``) and returns.
The training model's mode, gradients and the global RNG are never touched: the job uses the copy
and a ``torch.Generator`` of its own; on a GPU it runs on its own CUDA stream, after the copy.

One job runs at a time: a checkpoint due while the previous job still runs is deferred to the next
checkpoint. A job's records are written at the step of the checkpoint whose weights it used,
after that checkpoint's marker (the runner waits until ``write`` of that checkpoint has begun in
the worker). Each unit continues from its parameters of the previous record (warm start), so the
images form a coherent film. ``DeepViz.flush`` and ``close`` wait for a running job.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import threading
import zlib
from typing import Any, Iterator, Optional

import torch
from torch import nn

from ... import summary
from ..feature_vis.optimize import InputMap, LayerState, Probe, model_device, model_dtype, optimize_layer, prepare_copy
from ..feature_vis.runner import Job, LateRecords, Publish, Runner
from ..feature_vis.settings import FeatureVis
from .base import Batch, CheckpointContext, CheckpointSink, Collector, Setup, Tap, record_copies


@dataclasses.dataclass
class _Moments:
    """Running per-unit sums of a layer's output over the eval pass (float64, on the device)."""

    count: torch.Tensor
    total: torch.Tensor
    squares: torch.Tensor

    def variance(self) -> torch.Tensor:
        mean = self.total / self.count.clamp(min=1)
        return (self.squares / self.count.clamp(min=1) - mean * mean).clamp(min=0)


@dataclasses.dataclass
class _Prepared:
    """What a due checkpoint hands to the runner (device tensors may still be being computed until ``ready``)."""

    step: int
    model: nn.Module
    channels: int
    size: tuple[int, int]
    eval_moments: Optional[tuple[torch.Tensor, torch.Tensor]]  # per-channel mean and variance of the eval images
    layer_moments: dict[str, _Moments]
    ready: Optional[Any]  # a CUDA event after the copy and the sums, or None


class FeatureVisCollector(Collector[int]):
    """Renders ``setup.feature_vis``'s layers in the background; one feature_vis record per layer and rendered checkpoint.

    Besides the collector protocol, ``DeepViz`` calls ``attach`` (where the records go), ``drain``
    (``flush``) and ``close``.
    """

    name = "feature visualization"
    # Renders in rank 0's background thread; under torch.distributed the units of a layer wider
    # than ``units`` are chosen by their variance over rank 0's slice of the eval set.
    rank_zero_only = True

    def __init__(self, setup: Setup) -> None:
        self._settings: Optional[FeatureVis] = setup.feature_vis
        self._input_shape = (int(setup.input_shape[0]), int(setup.input_shape[1]))
        self._runner = Runner()
        self._attached = False
        self._checkpoints = 0  # checkpoints seen, for the cadence
        self._wanted = False  # a render is due (deferred while a job runs)
        # Per-checkpoint state, training thread only (begin .. finish).
        self._prepared: Optional[_Prepared] = None
        self._tapping: list[str] = []
        # Kept between jobs. Written by the runner thread; read on the training thread only while
        # no job runs (``due`` starts one only then), so never concurrently.
        self._lock = threading.Lock()
        self._selections: dict[str, list[int]] = {}
        self._states: dict[str, tuple[int, LayerState]] = {}  # layer -> (step of the record, state)
        self._input_map: Optional[InputMap] = None
        if self._settings is not None and self._settings.normalization is not None:
            mean, std = self._settings.normalization
            self._input_map = InputMap(tuple(mean), tuple(std), learned=False)

    # ------------------------------------------------------------ DeepViz's side

    def attach(self, late: LateRecords) -> None:
        """Where finished records and failures go (the writer's worker); without it nothing is rendered."""
        self._runner.attach(late)
        self._attached = True

    def drain(self) -> None:
        """Wait for a running job and let it write its records (call after the worker wrote every checkpoint)."""
        self._runner.drain()

    def close(self) -> None:
        """``drain``, then end the background thread."""
        self._runner.close()

    # ------------------------------------------------------------ training thread

    def due(self, step: int) -> bool:
        settings = self._settings
        if settings is None or not self._attached:
            return False
        position = self._checkpoints
        self._checkpoints += 1
        if position % settings.every == 0:
            self._wanted = True
        if not self._wanted or self._runner.busy():
            return False  # deferred to the next checkpoint while a job runs
        self._wanted = False
        return True

    def taps(self) -> list[Tap]:
        return [Tap(layer) for layer in self._tapping]

    def begin(self, context: CheckpointContext) -> None:
        settings = self._settings
        assert settings is not None
        self._prepared = None
        images = context.images
        channels = int(images.shape[1]) if images.ndim >= 2 else 1
        settings.check_channels(channels)
        eval_moments = None
        if self._input_map is None:
            dims = [d for d in range(images.ndim) if d != 1]
            variance, mean = torch.var_mean(images.float(), dim=dims, correction=0)
            eval_moments = (mean.double(), variance.double())
        with self._lock:
            self._tapping = [layer for layer in settings.layers if layer not in self._selections]
        self._prepared = _Prepared(
            step=context.step,
            model=copy_model(context.model),
            channels=channels,
            size=settings.image_size(self._input_shape),
            eval_moments=eval_moments,
            layer_moments={},
            ready=None,
        )

    def on_tap(self, batch: Batch, tap: Tap, tensor: torch.Tensor) -> None:
        prepared = self._prepared
        if prepared is None or tensor.ndim < 2 or not tensor.is_floating_point():
            return
        dims = [d for d in range(tensor.ndim) if d != 1]
        # One pass over the output per batch (no squared copy of it), combined in float64.
        variance, mean = torch.var_mean(tensor, dim=dims, correction=0)
        count = tensor.numel() // tensor.shape[1]
        moments = prepared.layer_moments.get(tap.module)
        if moments is None:
            zeros = torch.zeros(tensor.shape[1], dtype=torch.float64, device=tensor.device)
            moments = _Moments(count=zeros.clone(), total=zeros.clone(), squares=zeros)
            prepared.layer_moments[tap.module] = moments
        mean, variance = mean.double(), variance.double()
        moments.count += count
        moments.total += mean * count
        moments.squares += (variance + mean * mean) * count

    def finish(self) -> int:
        prepared, self._prepared = self._prepared, None
        self._tapping = []
        assert prepared is not None
        prepared.ready = record_copies(model_device(prepared.model))
        what = f"feature visualization at step {prepared.step}"
        self._runner.start(Job(prepared.step, what, functools.partial(self._render, prepared)))
        return prepared.step

    # ------------------------------------------------------------ the worker

    def write(self, snapshot: int, sink: CheckpointSink) -> None:
        # The checkpoint's own records are being written: the job's may follow its marker.
        self._runner.release(snapshot)

    # ------------------------------------------------------------ the runner thread

    def _render(self, prepared: _Prepared, publish: Publish) -> None:
        settings = self._settings
        assert settings is not None
        model = prepared.model
        device = model_device(model)
        if device.type == "cpu":
            share_cpu_threads()
        with _own_stream(device, prepared.ready):
            input_map = self._input_map
            if input_map is None:
                assert prepared.eval_moments is not None
                mean, variance = prepared.eval_moments
                input_map = InputMap.from_eval_statistics(mean.tolist(), variance.sqrt().tolist())
                self._input_map = input_map
            for layer in settings.layers:
                probe = Probe(model, layer)
                output_shape = _output_shape(probe, prepared.channels, prepared.size, device)
                units = self._units(layer, output_shape[0], prepared.layer_moments.get(layer))
                with self._lock:
                    previous = self._states.get(layer)
                generator = torch.Generator().manual_seed(_seed(settings.seed, layer, prepared.step))
                result = optimize_layer(
                    probe,
                    units,
                    settings,
                    input_map,
                    prepared.size,
                    prepared.channels,
                    generator=generator,
                    previous=previous[1] if previous else None,
                )
                with self._lock:
                    self._states[layer] = (prepared.step, result.state)
                record = summary.feature_vis_summary(
                    layer,
                    images=result.images.numpy(),
                    units=result.units,
                    objective=result.objective.numpy(),
                    no_signal=result.no_signal.numpy(),
                    warm=result.warm.numpy(),
                    method=settings.method,
                    steps=result.steps,
                    seconds=result.seconds,
                    normalization=input_map.describe(),
                    warm_from=previous[0] if previous and bool(result.warm.any()) else None,
                    output_shape=output_shape,
                )
                publish(record)

    def _units(self, layer: str, count: int, moments: Optional[_Moments]) -> list[int]:
        """The layer's units: kept from the first render; all up to ``units``, else the most variable over the eval set."""
        settings = self._settings
        assert settings is not None
        with self._lock:
            chosen = self._selections.get(layer)
        if chosen is not None and all(unit < count for unit in chosen):
            return chosen
        if count <= settings.units:
            chosen = list(range(count))
        elif moments is not None and len(moments.total) == count:
            top = torch.topk(moments.variance(), settings.units).indices
            chosen = sorted(top.tolist())
        else:  # the layer did not run in the eval pass: its first units
            chosen = list(range(settings.units))
        with self._lock:
            self._selections[layer] = chosen
        return chosen


def copy_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` to render with: its parameters and buffers copied, its gradients not, hooks of this package dropped."""
    # Each parameter's .grad maps to None in the memo, so deepcopy copies no gradient.
    memo: dict[int, Any] = {id(p.grad): None for p in model.parameters() if p.grad is not None}
    return prepare_copy(copy.deepcopy(model, memo))


def _output_shape(probe: Probe, channels: int, size: tuple[int, int], device: torch.device) -> list[int]:
    """The layer's output per image for one grey image (units first)."""
    grey = torch.zeros((1, channels, *size), dtype=model_dtype(probe.model), device=device)
    with probe.hooks() as captured, torch.no_grad():
        output = probe.output(captured, grey)
    if output.ndim < 2:
        raise ValueError(
            f"layer {probe.layer!r} outputs shape {list(output.shape)}; feature visualization needs [batch, units, ...]"
        )
    return [int(d) for d in output.shape[1:]]


def _seed(seed: int, layer: str, step: int) -> int:
    """A seed per (settings seed, layer, step): reproducible renders, independent between layers."""
    return (seed * 1_000_003 + zlib.crc32(layer.encode("utf-8")) * 7919 + step) % (2**63)


_thread_state = threading.local()


def share_cpu_threads() -> None:
    """Give this (the runner's) thread half of the CPU threads training uses, at least one.

    The training thread keeps its own count: intra-op thread counts are per thread. Setting ours
    also changes the default that threads starting later inherit, so a short-lived thread sets
    that default back.
    """
    if getattr(_thread_state, "shared", False):
        return
    total = torch.get_num_threads()
    torch.set_num_threads(max(1, total // 2))
    restore = threading.Thread(target=torch.set_num_threads, args=(total,), name="deepviz-threads")
    restore.start()
    restore.join()
    _thread_state.shared = True


@functools.cache
def _stream_for(device: torch.device) -> Any:
    return torch.cuda.Stream(device=device)


@contextlib.contextmanager
def _own_stream(device: torch.device, ready: Optional[Any]) -> Iterator[None]:
    """On CUDA: the runner's own stream on ``device``, after ``ready``, so that training's stream is not held up."""
    if device.type != "cuda":
        yield
        return
    stream = _stream_for(device)
    if ready is not None:
        stream.wait_event(ready)
    with torch.cuda.device(device), torch.cuda.stream(stream):
        try:
            yield
        finally:
            stream.synchronize()  # before the copy and the job's tensors are freed
