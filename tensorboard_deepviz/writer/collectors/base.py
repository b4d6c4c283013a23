"""The collector protocol: how one record kind takes part in a checkpoint.

A checkpoint runs one batched, isolated pass over the eval set (``writer.checkpoint``). Every
record kind is a *collector*: it says which modules' outputs (or inputs) it needs from that pass,
reduces what it receives on the model's device while the pass runs, hands a small host snapshot
to the background worker, and there turns the snapshot into summaries. Adding a record kind is
adding a collector (docs/ARCHITECTURE.md); the pass, the worker and the ``DeepViz`` facade stay
as they are.

Threads: ``due``, ``begin``, ``on_tap``, ``on_batch`` and ``finish`` run on the training thread,
in that order, once per checkpoint; ``write`` runs later in the worker, checkpoints in order. The
snapshot ``finish`` returns is the only thing that crosses between them, so per-checkpoint state
kept on the collector by ``begin`` .. ``finish`` never races with ``write``, and state kept by
``write`` (for example the previous checkpoint's clusters) is the worker's alone.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING, Any, Generic, Optional, Protocol, Sequence, TypeVar

import torch
from tensorboard.compat.proto import summary_pb2
from torch import nn

if TYPE_CHECKING:
    from ..feature_vis.settings import FeatureVis

SnapshotT = TypeVar("SnapshotT")


@dataclasses.dataclass(frozen=True)
class Tap:
    """A module whose output (or, with ``input=True``, whose first input) a collector needs on every batch.

    ``module`` is a name from ``model.named_modules()``. When a module runs more than once in a
    forward pass, its first call is the one tapped.
    """

    module: str
    input: bool = False


@dataclasses.dataclass
class Setup:
    """What ``DeepViz`` resolved from its arguments: every collector is built from this.

    Args:
      model: the user's module, unwrapped from DataParallel, DDP and torch.compile.
      layers: names of the logged layers, in forward order.
      layer_modules: the logged layers' modules, by name, in the same order.
      probe_images: eval-set indices of the probe images, in the order records store them.
      labels: ``[N]`` int64 class of every eval image, on the CPU.
      class_names: one name per class.
      max_weight_values: cap on stored weight values per layer.
      cluster_tap: the module whose output (or input) is clustered.
      cluster_layer: how the cluster records name it ("input of fc", or the module name).
      clusters: number of K-Means clusters.
      cluster_metric: ``"euclidean"`` or ``"cosine"``.
      nearest_per_cluster: eval images stored nearest each cluster centre.
      top_images: how many top images each unit keeps (0: no units records).
      input_shape: ``(H, W)`` of the eval images.
      attribution_layers: the layers whose Grad-CAM of the probe images is logged.
      rectifiers: for layers whose output goes straight into a ReLU module (called once per
        forward pass), that module's name: the units collector reads them there.
      feature_vis: the feature visualization settings (None: none is rendered).
      similarity_images: how many eval images (evenly spread) the layer similarity statistics
        are computed over (0: no similarity records).
      activation_layers: the layers whose probe activations are logged (None: every logged
        layer); under a checkpoint byte budget, one per stage of a deep model (``writer.budget``).
      units_layers: the layers whose units records are logged (None: every logged layer).
      similarity_layers: the layers the similarity record covers (None: every logged layer).
      kept_filters: per layer, how many of its first filters each weights record stores (a
        layer not named: as many as ``max_weight_values`` allows).
    """

    model: nn.Module
    layers: list[str]
    layer_modules: dict[str, nn.Module]
    probe_images: list[int]
    labels: torch.Tensor
    class_names: list[str]
    max_weight_values: int
    cluster_tap: Tap
    cluster_layer: str
    clusters: int
    cluster_metric: str
    nearest_per_cluster: int
    top_images: int = 9
    input_shape: tuple[int, int] = (0, 0)
    attribution_layers: list[str] = dataclasses.field(default_factory=list)
    rectifiers: dict[str, str] = dataclasses.field(default_factory=dict)
    feature_vis: Optional[FeatureVis] = None
    activation_layers: Optional[list[str]] = None
    units_layers: Optional[list[str]] = None
    similarity_layers: Optional[list[str]] = None
    kept_filters: dict[str, int] = dataclasses.field(default_factory=dict)
    similarity_images: int = 256


@dataclasses.dataclass
class CheckpointContext:
    """The checkpoint a collector's ``begin`` takes part in.

    ``begin`` runs inside the pass's isolation: the model in eval mode, the global RNG states
    forked, no grad, and ``log_step``'s recording of layer outputs paused. A collector that needs
    gradients (Grad-CAM of the probe images) enables them itself with ``torch.enable_grad()`` and
    takes them with ``torch.autograd.grad``, so no parameter's ``.grad`` changes.

    Args:
      step: the training step of the checkpoint.
      model: the model (unwrapped), on its own device.
      images: every eval image on the model's device, in its floating-point dtype.
      labels: every eval label on the model's device.
    """

    step: int
    model: nn.Module
    images: torch.Tensor
    labels: torch.Tensor

    @property
    def device(self) -> torch.device:
        """The model's device."""
        return self.images.device


@dataclasses.dataclass
class Batch:
    """One batch of the checkpoint's eval pass.

    Args:
      indices: the eval-set indices of the batch's images (under torch.distributed, part of this
        rank's share of the eval set).
      images: the batch's images on the model's device, in its floating-point dtype.
      labels: the batch's labels on the model's device.
      logits: the model's output for the batch; None while the forward pass is running
        (``on_tap``), set before ``on_batch``.
    """

    indices: range
    images: torch.Tensor
    labels: torch.Tensor
    logits: Optional[torch.Tensor] = None

    def rows_of(self, eval_indices: Sequence[int]) -> list[tuple[int, int]]:
        """``(position in eval_indices, row in this batch)`` of those eval images that are in the batch."""
        return [
            (position, self.indices.index(index))
            for position, index in enumerate(eval_indices)
            if index in self.indices
        ]


class CheckpointSink(Protocol):
    """Where a collector's ``write`` adds its summaries: the checkpoint's step is already bound.

    Every tag added is named by the checkpoint's marker record, also when a later record fails.
    """

    step: int

    def add(self, summary: summary_pb2.Summary) -> None:
        """Write ``summary`` at the checkpoint's step."""


class Collector(abc.ABC, Generic[SnapshotT]):
    """One record kind of a checkpoint (see the module docstring for which thread runs what).

    A subclass is constructed with the logger's ``Setup`` and registered in
    ``collectors.COLLECTORS``. It overrides ``finish`` and ``write``, and what else it needs:

    * ``taps()``: the module outputs/inputs it needs from the eval pass;
    * ``needs_eval_pass``: False for a collector that needs no batch at all (weights);
    * ``due(step)``: False at checkpoints it skips (a record kind on its own cadence);
    * ``begin(context)``: per-checkpoint set-up, or work of its own on the training thread;
    * ``on_tap(batch, tap, tensor)``: a tapped tensor, during the forward pass;
    * ``on_batch(batch)``: after the batch's forward pass (``batch.logits`` is set);
    * ``rank_zero_only`` / ``combine(snapshots)``: how it runs under torch.distributed
      (``writer.distributed``).

    Keep what is held between batches small and on the device (reduce there); ``finish`` starts
    non-blocking host copies (``host_copy``) and returns them, and the pass marks when they are
    complete before ``write`` reads them. A failure in any method loses this collector's records
    of that checkpoint only; it is reported (a warning now, ``DeepVizError`` at ``close()``).
    """

    #: How the collector is named in failure reports.
    name: str = ""
    #: Whether the collector needs the batches of the eval pass.
    needs_eval_pass: bool = True
    #: Under torch.distributed: True runs the collector on rank 0 alone (it needs no eval-set
    #: batches); False runs it on every rank over that rank's slice, and rank 0 ``combine``s.
    rank_zero_only: bool = False

    def due(self, step: int) -> bool:
        """Whether this collector takes part in the checkpoint at ``step`` (default: every checkpoint)."""
        return True

    def taps(self) -> Sequence[Tap]:
        """The modules whose outputs (or inputs) ``on_tap`` receives on every batch."""
        return ()

    def begin(self, context: CheckpointContext) -> None:
        """Start a checkpoint: reset per-checkpoint state, copy what needs no eval pass."""

    def on_tap(self, batch: Batch, tap: Tap, tensor: torch.Tensor) -> None:
        """Receive ``tap``'s tensor for ``batch``, inside the forward pass.

        ``tensor`` is valid only during this call: a later in-place operation of the model (such
        as ``ReLU(inplace=True)``) may change it. Reduce or copy what is kept, now.
        """

    def on_batch(self, batch: Batch) -> None:
        """Receive ``batch`` after its forward pass; ``batch.logits`` holds the model's output."""

    @abc.abstractmethod
    def finish(self) -> SnapshotT:
        """End the checkpoint on the training thread: return the host snapshot ``write`` needs.

        Start device-to-host copies with ``host_copy`` (non-blocking from a GPU); do not wait
        for them.
        """

    def combine(self, snapshots: list[SnapshotT]) -> SnapshotT:
        """On rank 0 under torch.distributed: one snapshot from every rank's, in rank order.

        Each rank saw a contiguous slice of the eval set (rank 0's first), with eval-set indices
        as in a single process; the result must be what one process over the whole eval set
        would have returned from ``finish``. Called on host snapshots whose copies are complete.
        """
        raise NotImplementedError(f"the {self.name or type(self).__name__} collector cannot combine the ranks' slices")

    @abc.abstractmethod
    def write(self, snapshot: SnapshotT, sink: CheckpointSink) -> None:
        """In the background worker: turn ``snapshot`` into summaries and ``sink.add`` each."""


def host_copy(tensor: torch.Tensor, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """A private host copy of ``tensor``, taken now: later in-place changes on the device do not reach it.

    From a CUDA tensor the copy is asynchronous (pinned memory): it is complete once the event
    the checkpoint records after every collector's ``finish`` has passed, which the worker waits
    for before ``write``.

    Args:
      tensor: any tensor.
      dtype: convert to this dtype first, on the tensor's device (fewer bytes to copy).

    Returns:
      A CPU tensor that shares no memory with ``tensor``.
    """
    tensor = tensor.detach()
    if dtype is not None:
        tensor = tensor.to(dtype)
    return tensor.to("cpu", copy=True, non_blocking=tensor.is_cuda)


def to_host(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` on the host, for a tensor the caller just made and owns: no second copy on the CPU.

    Like ``host_copy``, asynchronous from a CUDA tensor.
    """
    if tensor.device.type == "cpu":
        return tensor.detach()
    return host_copy(tensor)


def record_copies(device: torch.device) -> Optional[Any]:
    """A CUDA event after every copy queued so far on ``device``'s current stream; None off CUDA."""
    if device.type != "cuda":
        return None
    event = torch.cuda.Event()
    event.record(torch.cuda.current_stream(device))
    return event
