"""``DeepViz``: logs what a CNN learns from inside a PyTorch training loop.

The training thread only runs no-grad forward passes and enqueues device-to-host copies;
a background worker quantizes, computes confusion and clusters, and writes summaries. The
queue between them is bounded: when it is full the training thread waits, nothing is dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import queue
import threading
import warnings
import weakref
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import torch
from torch import nn

from .. import summary
from ..analysis import clustering
from ..analysis import moments as host_moments
from . import capture
from . import moments as device_moments
from .eval_set import EvalData, check_labels, choose_probe_images, load_eval_data, make_thumbnails
from .sinks import SummarySink

CLUSTER_METRICS = ("euclidean", "cosine")


class DeepVizError(RuntimeError):
    """Raised by ``close()`` when the background worker failed to write some records."""


@dataclasses.dataclass
class _Snapshot:
    """Host copies taken at one checkpoint, possibly still in flight from the device."""

    step: int
    weights: dict[str, torch.Tensor]
    probe_activations: dict[str, torch.Tensor]
    logits: list[torch.Tensor]
    features: list[torch.Tensor]
    copies_done: Optional[Any]  # a torch.cuda.Event, or None when everything is on the CPU


@dataclasses.dataclass
class _StepStatistics:
    step: int
    moments: torch.Tensor  # device_moments.moments_of rows on the host: activations, parameters, gradients
    parameter_owners: list[int]  # the layer of each parameter row
    gradient_owners: list[int]  # the layer of each gradient row
    copies_done: Optional[Any]


class DeepViz:
    """Log filters, activations, predictions, confusion and clusters of a CNN while it trains.

    Example::

        writer = SummaryWriter("runs/exp1")
        with DeepViz(writer, model, eval_data=(images, labels), class_names=names) as viz:
            for step, (x, y) in enumerate(loader):
                ...  # forward, backward, optimizer step
                viz.log_step(step)
                if step % 500 == 0:
                    viz.log_checkpoint(step)

    Args:
      writer: a ``torch.utils.tensorboard.SummaryWriter``, a ``tensorboardX.SummaryWriter``, or a
        log directory. The user keeps ownership: ``close()`` flushes it but does not close it.
        Under torch.distributed only rank 0 uses it; other ranks may pass None.
      model: the ``nn.Module`` being trained (DataParallel, DDP and torch.compile wrappers are
        unwrapped), on any device and dtype. Its output must be ``[batch, classes]`` logits.
      eval_data: ``(images [N, C, H, W] float, labels [N] int)`` tensors, or a DataLoader yielding
        such pairs. Kept on the CPU; batches are moved to the model's device at each checkpoint.
      class_names: one name per class (default ``"0"``, ``"1"``, ...); its length must equal the
        model's number of outputs.
      probe: how many eval images get per-layer activations (default 16, spread over classes),
        or a list of eval-image indices.
      layers: ``"auto"`` (every Conv2d and Linear, in forward order) or a list of module names
        as in ``model.named_modules()``.
      clusters: number of K-Means clusters (default 30; fewer if the eval set is smaller).
      cluster_layer: module whose output is clustered; default the input of the last Linear.
      cluster_metric: ``"euclidean"`` or ``"cosine"`` (cosine clusters unit-length features).
      nearest_per_cluster: images stored nearest each cluster centre (default 20).
      batch_size: eval-set batch size for the checkpoint forward passes (default 500).
      max_weight_values: cap on stored weight values per layer (default 1,000,000); a larger
        layer stores its first filters (output units) that fit, and records the full count.
      thumbnail_size: longest side of the stored eval thumbnails in pixels (default 32).
      thumbnail_transform: maps an image batch to display values in [0, 1] (for example undoing
        normalization); default stretches the eval set's global range.
      image_ids: optional string id per eval image, searchable in the dashboard.
      captions: optional caption per eval image.
      queue_size: checkpoints that may wait for the worker before the training thread waits
        (default 2). Each waiting checkpoint holds its host copies in memory.

    Raises:
      ValueError: for wrong arguments, naming the problem.
      TypeError: for a writer or model of the wrong type.
    """

    def __init__(
        self,
        writer: Any,
        model: nn.Module,
        eval_data: EvalData,
        *,
        class_names: Optional[Sequence[str]] = None,
        probe: Union[int, Sequence[int]] = 16,
        layers: Union[str, Sequence[str]] = "auto",
        clusters: int = 30,
        cluster_layer: Optional[str] = None,
        cluster_metric: str = "euclidean",
        nearest_per_cluster: int = 20,
        batch_size: int = 500,
        max_weight_values: int = 1_000_000,
        thumbnail_size: int = 32,
        thumbnail_transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        image_ids: Optional[Sequence[str]] = None,
        captions: Optional[Sequence[str]] = None,
        queue_size: int = 2,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        _require_positive_int("clusters", clusters)
        _require_positive_int("nearest_per_cluster", nearest_per_cluster)
        _require_positive_int("batch_size", batch_size)
        _require_positive_int("max_weight_values", max_weight_values)
        _require_positive_int("thumbnail_size", thumbnail_size)
        _require_positive_int("queue_size", queue_size)
        if cluster_metric not in CLUSTER_METRICS:
            raise ValueError(f"cluster_metric must be 'euclidean' or 'cosine', got {cluster_metric!r}")
        self._model = capture.unwrap_model(model)
        # Under torch.distributed only rank 0 writes; other ranks never touch their writer
        # (which may be None there) and take part only in log_step's reduction.
        self._writes = _is_writing_rank()
        self._sink = SummarySink(writer) if self._writes else None
        self._images, self._labels = load_eval_data(eval_data)
        for key, strings in (("image_ids", image_ids), ("captions", captions)):
            if strings is not None and len(strings) != len(self._images):
                raise ValueError(f"{key} has {len(strings)} entries for {len(self._images)} eval images")
        self._probe = choose_probe_images(probe, self._labels)
        self._batch_size = batch_size
        self._max_weight_values = max_weight_values
        self._clusters = clusters
        self._cluster_metric = cluster_metric
        self._nearest_per_cluster = nearest_per_cluster
        self._device_images: Optional[torch.Tensor] = None

        if not isinstance(layers, str):
            capture.resolve_layers(self._model, layers, call_order=())  # names checked before any forward pass
        trace = self._trace(layers if not isinstance(layers, str) else ())
        self._layers = capture.resolve_layers(self._model, layers, trace.call_order)
        modules = dict(self._model.named_modules())
        self._layer_modules = {name: modules[name] for name in self._layers}

        num_outputs = self._num_outputs(trace)
        if class_names is None:
            self._class_names = [str(i) for i in range(num_outputs)]
        else:
            self._class_names = [str(name) for name in class_names]
            if len(self._class_names) != num_outputs:
                raise ValueError(
                    f"class_names has {len(self._class_names)} names but the model outputs {num_outputs} scores per image"
                )
        check_labels(self._labels, len(self._class_names), class_names is not None)

        if cluster_layer is None:
            linear = capture.last_linear(self._model, trace.call_order)
            self._cluster_tap = (linear, True) if linear is not None else (self._layers[-1], False)
        else:
            if cluster_layer not in modules or not cluster_layer:
                raise ValueError(f"unknown cluster_layer {cluster_layer!r}; pick a name from model.named_modules()")
            self._cluster_tap = (cluster_layer, False)
        cluster_name, cluster_input = self._cluster_tap
        self._cluster_description = f"input of {cluster_name}" if cluster_input else cluster_name

        self._queue: "queue.Queue[Optional[Callable[[], None]]]" = queue.Queue(maxsize=queue_size)
        self._errors: list[tuple[str, BaseException]] = []
        self._errors_lock = threading.Lock()
        self._closed = False
        self._last_outputs = capture.LastOutputs(self._layer_modules)
        self._previous_clusters: Optional[clustering.Clusters] = None  # the worker's, for continuity
        self._worker = threading.Thread(target=self._work, name="deepviz-writer", daemon=True)
        self._worker.start()
        # A script that ends without close() still gets its queued records written.
        atexit.register(_close_at_exit, weakref.ref(self))
        graph = dict(trace.graph)
        for node in graph["nodes"]:
            node["logged"] = node["module"] in self._layer_modules
        # checkpoint_markers: each checkpoint ends with a marker record (summary.checkpoint_summary).
        graph.update(logged_layers=list(self._layers), cluster_layer=self._cluster_description, checkpoint_markers=True)
        corpus_args = dict(
            thumbnail_size=thumbnail_size,
            thumbnail_transform=thumbnail_transform,
            image_ids=image_ids,
            captions=captions,
        )
        if self._writes:
            self._enqueue("corpus and graph", lambda: self._write_corpus_and_graph(graph, **corpus_args))

    # ----------------------------------------------------------------- public API

    @property
    def layers(self) -> list[str]:
        """Names of the logged layers, in forward order."""
        return list(self._layers)

    @property
    def probe_images(self) -> list[int]:
        """Eval-set indices of the probe images."""
        return list(self._probe)

    @property
    def class_names(self) -> list[str]:
        return list(self._class_names)

    def log_checkpoint(self, step: int) -> None:
        """Snapshot the model at ``step``: weights, probe activations, predictions, confusion, clusters.

        Runs no-grad forward passes over the eval set with the model in eval mode (each module's
        mode is restored after) and the global RNG state untouched; the rest happens in the
        background. Blocks only while the worker's queue is full. Under torch.distributed it
        does nothing on ranks other than 0.
        """
        self._check_open()
        if not self._writes:
            return
        snapshot = self._take_snapshot(int(step))
        self._enqueue(f"checkpoint {step}", lambda: self._write_checkpoint(snapshot))

    def log_step(self, step: int) -> None:
        """Record per-layer statistics at ``step`` (call after ``optimizer.step()``).

        For every logged layer: mean, std, min, max, norm, zero fraction, NaN and Inf counts of
        its parameters, of their gradients from the last backward pass, and of its output in the
        last forward pass. Under torch.distributed the activation statistics are combined across
        ranks (every rank must call this; weights and gradients are taken as the replicas DDP
        keeps) and only rank 0 writes.
        """
        self._check_open()
        with torch.no_grad():
            activations = [self._last_outputs.latest.get(name) for name in self._layers]
            parameters: list[torch.Tensor] = []
            gradients: list[torch.Tensor] = []
            parameter_owners: list[int] = []
            gradient_owners: list[int] = []
            for layer, module in enumerate(self._layer_modules.values()):
                for parameter in module.parameters(recurse=False):
                    parameters.append(parameter)
                    parameter_owners.append(layer)
                    if parameter.grad is not None:
                        gradients.append(parameter.grad)
                        gradient_owners.append(layer)
            # One batch of tensors, activations first: on an accelerator, one synchronization in
            # all; under torch.distributed, the activation rows are one slice to reduce.
            moments = device_moments.moments_of(activations + parameters + gradients)
            if _distributed_world_size() > 1:
                # Weights and (DDP-averaged) gradients are replicas; each rank's activations differ.
                layers = len(activations)
                moments[:layers] = device_moments.reduce_moments_across_ranks(moments[:layers])
            if not self._writes:
                return
            host, copies_done = _to_host(moments)
        job = _StepStatistics(int(step), host, parameter_owners, gradient_owners, copies_done)
        self._enqueue(f"statistics at step {step}", lambda: self._write_statistics(job))

    def flush(self) -> None:
        """Wait until every queued record is written, then flush the writer."""
        self._queue.join()
        if self._sink is not None:
            self._sink.flush()

    def close(self) -> None:
        """Write everything queued, remove hooks, flush the writer; raise ``DeepVizError`` if records failed.

        Safe to call more than once. The writer itself stays open.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(None)
            self._worker.join()
            if self._sink is not None:
                self._sink.close()
        finally:
            self._last_outputs.remove()
            self._device_images = None
        with self._errors_lock:
            errors = list(self._errors)
        if errors:
            what, first = errors[0]
            raise DeepVizError(
                f"deepviz failed to write {len(errors)} record(s); the first, {what}, failed with: {first!r}"
            ) from first

    def __enter__(self) -> "DeepViz":
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # the training loop's own exception matters more than ours
            self.close()
        except DeepVizError as error:
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)

    # ------------------------------------------------------- training-thread side

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this DeepViz logger is closed")

    def _enqueue(self, what: str, write: Callable[[], None]) -> None:
        def job() -> None:
            try:
                write()
            except Exception as error:  # reported, never raised into the training loop
                with self._errors_lock:
                    self._errors.append((what, error))
                warnings.warn(f"deepviz: writing {what} failed: {error!r}; training continues", RuntimeWarning)

        self._queue.put(job)

    @contextlib.contextmanager
    def _isolated_forward(self) -> Iterator[None]:
        """No grad, eval mode (restored per module), RNG states restored, our passes not recorded."""
        modes = [(m, m.training) for m in self._model.modules()]
        device = self._device()
        rng_devices = (
            [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
        )
        self._last_outputs_paused(True)
        try:
            with torch.random.fork_rng(devices=rng_devices), torch.no_grad():
                self._model.eval()
                yield
        finally:
            for module, training in modes:
                module.training = training
            self._last_outputs_paused(False)

    def _last_outputs_paused(self, paused: bool) -> None:
        if hasattr(self, "_last_outputs"):
            self._last_outputs.paused = paused

    def _device(self) -> torch.device:
        for tensor in self._model.parameters():
            return tensor.device
        for tensor in self._model.buffers():
            return tensor.device
        return torch.device("cpu")

    def _input_dtype(self) -> torch.dtype:
        for tensor in self._model.parameters():
            if tensor.is_floating_point():
                return tensor.dtype
        return self._images.dtype

    def _trace(self, logged: Sequence[str]) -> capture.GraphTrace:
        with self._isolated_forward():
            example = self._images[:1].to(self._device(), self._input_dtype())
            try:
                return capture.trace_graph(self._model, example, logged)
            except Exception as error:
                raise ValueError(f"running the model on one eval image failed: {error!r}") from error

    def _num_outputs(self, trace: capture.GraphTrace) -> int:
        output_node = next(n for n in trace.graph["nodes"] if n["id"] == capture.OUTPUT_NODE)
        shape = output_node["output_shape"]
        if len(shape) != 2:
            raise ValueError(f"the model's output must be [batch, classes] logits, got shape {shape}")
        return int(shape[1])

    def _eval_images_on_device(self) -> torch.Tensor:
        device, dtype = self._device(), self._input_dtype()
        cached = self._device_images
        if cached is None or cached.device != device or cached.dtype != dtype:
            cached = self._images.to(device, dtype)
            self._device_images = cached
        return cached

    def _take_snapshot(self, step: int) -> _Snapshot:
        with self._isolated_forward():
            images = self._eval_images_on_device()
            weights = {}
            for name, module in self._layer_modules.items():
                weight = getattr(module, "weight", None)
                if isinstance(weight, torch.Tensor) and weight.ndim >= 1:
                    per_filter = max(1, weight[0].numel())
                    keep = max(1, min(len(weight), self._max_weight_values // per_filter))
                    weights[name] = _host_copy(weight[:keep], torch.float16)
            with capture.OutputTap(self._layer_modules, transform=_host_copy) as tap:
                self._model(images[self._probe])
                probe_activations = dict(tap.collected)
            cluster_name, cluster_input = self._cluster_tap
            cluster_module = {cluster_name: dict(self._model.named_modules())[cluster_name]}
            logits, features = [], []
            with capture.OutputTap(
                cluster_module, inputs_of=[cluster_name] if cluster_input else [], transform=_host_copy
            ) as tap:
                for start in range(0, len(images), self._batch_size):
                    tap.clear()
                    output = capture.first_tensor(self._model(images[start : start + self._batch_size]))
                    logits.append(_host_copy(output))
                    features.append(tap.collected[cluster_name])
            copies_done = _record_copies(self._device())
        return _Snapshot(step, weights, probe_activations, logits, features, copies_done)

    # ----------------------------------------------------------- worker side

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                job()
            finally:
                self._queue.task_done()

    def _write_corpus_and_graph(self, graph: dict[str, Any], **corpus_args: Any) -> None:
        self._sink.add(summary.graph_summary(graph), 0)
        thumbnails = make_thumbnails(
            self._images, size=corpus_args["thumbnail_size"], transform=corpus_args["thumbnail_transform"]
        )
        self._sink.add(
            summary.corpus_summary(
                thumbnails,
                self._labels.numpy(),
                self._class_names,
                ids=corpus_args["image_ids"],
                captions=corpus_args["captions"],
            ),
            0,
        )

    def _write_checkpoint(self, snapshot: _Snapshot) -> None:
        if snapshot.copies_done is not None:
            snapshot.copies_done.synchronize()
        step = snapshot.step
        written: list[str] = []

        def add(record: Any) -> None:
            self._sink.add(record, step)
            written.append(record.value[0].tag)

        try:
            for name, weights in snapshot.weights.items():
                module = self._layer_modules[name]
                add(
                    summary.weights_summary(
                        name, weights.numpy(), layer_type=type(module).__name__, total_filters=len(module.weight)
                    )
                )
            for name, activations in snapshot.probe_activations.items():
                add(summary.activations_summary(name, activations.float().numpy(), self._probe))
            probabilities = torch.softmax(torch.cat(snapshot.logits).float(), dim=1)
            confidence, predicted = probabilities.max(dim=1)
            add(
                summary.predictions_summary(
                    self._probe, probabilities[self._probe].numpy(), predicted.numpy(), confidence.numpy()
                )
            )
            labels = self._labels.numpy()
            add(summary.confusion_summary(labels, predicted.numpy(), len(self._class_names)))
            features = torch.cat([f.float().reshape(len(f), -1) for f in snapshot.features]).numpy()
            clusters = clustering.cluster_features(
                features,
                labels,
                num_clusters=self._clusters,
                num_classes=len(self._class_names),
                metric=self._cluster_metric,
                nearest_per_cluster=self._nearest_per_cluster,
            )
            # Checkpoints are written in order by this one worker: each follows the one before.
            clusters = clustering.follow_previous(clusters, self._previous_clusters)
            self._previous_clusters = clusters
            add(summary.clusters_summary(clusters, layer=self._cluster_description, metric=self._cluster_metric))
        except BaseException:
            # The checkpoint still ends, with what it has, so the dashboard lists it (a missing
            # record is then an error the view names); the first failure is the one reported.
            with contextlib.suppress(Exception):
                self._sink.add(summary.checkpoint_summary(written), step)
            raise
        self._sink.add(summary.checkpoint_summary(written), step)

    def _write_statistics(self, job: _StepStatistics) -> None:
        if job.copies_done is not None:
            job.copies_done.synchronize()
        moments = host_moments.layer_moments(
            job.moments.numpy(), len(self._layers), job.parameter_owners, job.gradient_owners
        )
        rows = host_moments.statistics_from_moments(moments)
        for name, layer_rows in zip(self._layers, rows):
            self._sink.add(summary.layer_statistics_summary(name, layer_rows), job.step)


def _close_at_exit(logger_ref: "weakref.ReferenceType[DeepViz]") -> None:
    logger = logger_ref()
    if logger is not None and not logger._closed:
        try:
            logger.close()
        except DeepVizError as error:
            warnings.warn(str(error), RuntimeWarning)


def _require_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _host_copy(tensor: torch.Tensor, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """A private host copy, taken now: later in-place changes on the device do not reach it.

    From a CUDA tensor the copy is asynchronous (pinned memory); ``_record_copies`` marks when
    it is complete.
    """
    tensor = tensor.detach()
    if dtype is not None:
        tensor = tensor.to(dtype)
    return tensor.to("cpu", copy=True, non_blocking=tensor.is_cuda)


def _to_host(tensor: torch.Tensor) -> tuple[torch.Tensor, Optional[Any]]:
    return _host_copy(tensor), _record_copies(tensor.device)


def _record_copies(device: torch.device) -> Optional[Any]:
    if device.type != "cuda":
        return None
    event = torch.cuda.Event()
    event.record(torch.cuda.current_stream(device))
    return event


def _distributed_world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _is_writing_rank() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
