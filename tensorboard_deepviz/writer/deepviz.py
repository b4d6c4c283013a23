"""``DeepViz``: logs what a CNN learns from inside a PyTorch training loop.

The facade users call: it checks its arguments, resolves layers, probe images and the cluster
layer once, and then only runs the model and enqueues. ``log_step`` reduces per-layer statistics
on the model's device; ``log_checkpoint`` runs one batched eval pass for every record kind
(``checkpoint``, ``collectors``). The background worker (``worker``) encodes and writes; the
queue between them is bounded: when it is full the training thread waits, nothing is dropped.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import nn

from .. import summary
from ..analysis import moments as host_moments
from ..contract import metadata
from . import budget, capture, collectors, distributed
from . import moments as device_moments
from .checkpoint import EvalPass, write_checkpoint
from .collectors.base import Collector, Setup, Tap, host_copy, record_copies
from .collectors.feature_vis import FeatureVisCollector
from .collectors.units import rectifier_after
from .eval_set import EvalData, check_labels, choose_probe_images, load_eval_data, make_thumbnails
from .feature_vis.settings import FeatureVis, feature_vis_settings
from .sinks import SummarySink
from .training_health import UpdateRatios, bounded_activations, input_statistics, saturation
from .worker import DeepVizError, Worker, close_at_exit

__all__ = ["CLUSTER_METRICS", "DeepViz", "DeepVizError", "FeatureVis"]

CLUSTER_METRICS = ("euclidean", "cosine")


@dataclasses.dataclass
class _StepStatistics:
    step: int
    # device_moments.moments_of rows on the host: the first layer's input, activations, parameters, gradients
    moments: torch.Tensor
    parameter_owners: list[int]  # the layer of each parameter row
    gradient_owners: list[int]  # the layer of each gradient row
    health: torch.Tensor  # [layers, 2] on the host: update ratio, saturation (NaN where not measured)
    loss: Optional[torch.Tensor]  # the loss the user passed, on the host
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
      top_images: how many top-activating eval images each unit of each logged layer keeps per
        checkpoint (default 9), with their receptive-field boxes, and the unit's class means and
        selectivity; 0 turns units records off.
      gradcam_layers: where the Grad-CAM of each probe image (for its predicted class) is
        computed at each checkpoint: ``"auto"`` (default) the last logged layer with a spatial
        output, a list of module names, or None for none.
      feature_vis: layers whose units get feature visualizations (an image that excites each
        unit, rendered by regularized optimization): a list of module names for the defaults, a
        ``FeatureVis`` for other settings, or None (default) for none. Rendered in the
        background on a copy of the model and written at the step of the checkpoint whose
        weights it used; ``flush()`` and ``close()`` wait for a running render (on a CPU this can
        take minutes).
      similarity_images: how many eval images (evenly spread over the eval set, the same in
        every run of an eval set of that size) each checkpoint's layer similarity statistics are
        computed over (default 256): per logged layer, its channels averaged over positions,
        for linear CKA between any two layers of two runs or checkpoints; 0 turns them off.
      checkpoint_bytes: the byte budget of one checkpoint (default 5,000,000; None: none). A
        model whose full checkpoint fits is logged in full; a deeper one keeps every layer's
        ``log_step`` statistics, the first layer's filters whole, the first filters of every
        other layer that fit (the same ones at every checkpoint), and activations and units
        records for ``activation_layers`` only (``writer.budget``; ``checkpoint_plan`` says what).
        For such a model ``log_step`` on a CPU reads each tensor of over 65,536 values whole
        only for its sum (mean, NaN and Inf exact) and takes its min, max, norm, std and zero
        fraction from one block in sixteen (``writer.moments``); None keeps everything exact.
      activation_layers: the layers whose probe activations (and, under the budget, units
        records) are logged: ``"auto"`` (default: every layer when the checkpoint fits the
        budget, else one per stage, the last layer of each top-level child of the model),
        ``"all"``, or a list of logged layer names.

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
        top_images: int = 9,
        gradcam_layers: Union[str, Sequence[str], None] = "auto",
        feature_vis: Union[str, Sequence[str], FeatureVis, None] = None,
        similarity_images: int = 256,
        checkpoint_bytes: Optional[int] = budget.DEFAULT_CHECKPOINT_BYTES,
        activation_layers: Union[str, Sequence[str]] = "auto",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        _require_positive_int("clusters", clusters)
        _require_positive_int("nearest_per_cluster", nearest_per_cluster)
        _require_positive_int("batch_size", batch_size)
        _require_positive_int("max_weight_values", max_weight_values)
        _require_positive_int("thumbnail_size", thumbnail_size)
        _require_positive_int("queue_size", queue_size)
        if isinstance(top_images, bool) or not isinstance(top_images, int) or top_images < 0:
            raise ValueError(f"top_images must be a non-negative integer, got {top_images!r}")
        if isinstance(similarity_images, bool) or not isinstance(similarity_images, int) or similarity_images < 0:
            raise ValueError(f"similarity_images must be a non-negative integer, got {similarity_images!r}")
        if cluster_metric not in CLUSTER_METRICS:
            raise ValueError(f"cluster_metric must be 'euclidean' or 'cosine', got {cluster_metric!r}")
        self._model = capture.unwrap_model(model)
        # Under torch.distributed only rank 0 writes; other ranks never touch their writer
        # (which may be None there) and take part only in log_step's reduction.
        self._sink = SummarySink(writer) if distributed.is_writing_rank() else None
        self._images, self._labels = load_eval_data(eval_data)
        for key, strings in (("image_ids", image_ids), ("captions", captions)):
            if strings is not None and len(strings) != len(self._images):
                raise ValueError(f"{key} has {len(strings)} entries for {len(self._images)} eval images")
        self._probe = choose_probe_images(probe, self._labels)
        self._eval_pass = EvalPass(self._model, self._images, self._labels, batch_size)

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
            cluster_tap = Tap(linear, input=True) if linear is not None else Tap(self._layers[-1])
        else:
            if cluster_layer not in modules or not cluster_layer:
                raise ValueError(f"unknown cluster_layer {cluster_layer!r}; pick a name from model.named_modules()")
            cluster_tap = Tap(cluster_layer)
        cluster_description = f"input of {cluster_tap.module}" if cluster_tap.input else cluster_tap.module

        attribution_layers = _gradcam_layers(gradcam_layers, self._layers, trace, modules)
        self._gradcam_layers = list(attribution_layers)
        budget.check_options(checkpoint_bytes, activation_layers, self._layers)
        self._plan = budget.plan_checkpoint(
            budget.layer_shapes(trace.graph, self._layer_modules),
            budget.EvalShape(
                images=len(self._images),
                classes=len(self._class_names),
                probes=len(self._probe),
                top_images=top_images,
                clusters=clusters,
                nearest_per_cluster=nearest_per_cluster,
                attribution_grids=budget.output_grids(trace.graph, attribution_layers),
                similarity_images=similarity_images,
            ),
            limit=checkpoint_bytes,
            max_weight_values=max_weight_values,
            activation_layers=activation_layers,
        )
        budget.warn_if_over(self._plan)
        rendering = feature_vis_settings(feature_vis)
        if rendering is not None:
            self._check_feature_vis(rendering, modules)
        setup = Setup(
            model=self._model,
            layers=list(self._layers),
            layer_modules=dict(self._layer_modules),
            probe_images=list(self._probe),
            labels=self._labels,
            class_names=list(self._class_names),
            max_weight_values=max_weight_values,
            cluster_tap=cluster_tap,
            cluster_layer=cluster_description,
            clusters=clusters,
            cluster_metric=cluster_metric,
            nearest_per_cluster=nearest_per_cluster,
            top_images=top_images,
            input_shape=(int(self._images.shape[-2]), int(self._images.shape[-1])),
            attribution_layers=attribution_layers,
            rectifiers=rectifier_after(trace.graph, self._layers),
            feature_vis=rendering,
            similarity_images=similarity_images,
            activation_layers=list(self._plan.activation_layers),
            units_layers=list(self._plan.units_layers),
            similarity_layers=list(self._plan.similarity_layers),
            kept_filters=dict(self._plan.kept_filters),
        )
        # Every record kind of a checkpoint, in the order its records are written.
        self._collectors: list[Collector[Any]] = [build(setup) for build in collectors.COLLECTORS]

        self._closed = False
        # The first logged layer's input too: the statistics of the batches training sees (findings: input_scale).
        self._last_outputs = capture.LastOutputs(self._layer_modules, input_of=self._layers[0])
        # Per-step measures for the findings: weight updates, saturation of bounded activations.
        self._update_ratios = UpdateRatios(list(self._layer_modules.values()))
        self._saturation_thresholds = bounded_activations(trace.graph, self._layers)
        self._eval_pass.last_outputs = self._last_outputs
        self._worker = Worker(queue_size)
        # Collectors with a thread of their own (feature visualization) write through the worker.
        self._background = [c for c in self._collectors if isinstance(c, FeatureVisCollector)]
        if self._sink is not None:
            late = _LateRecords(self._worker, self._sink)
            for collector in self._background:
                collector.attach(late)
        close_at_exit(self)  # a script that ends without close() still gets its queued records written
        graph = dict(trace.graph)
        for node in graph["nodes"]:
            node["logged"] = node["module"] in self._layer_modules
        # checkpoint_markers: each checkpoint ends with a marker record (summary.checkpoint_summary).
        graph.update(
            logged_layers=list(self._layers),
            cluster_layer=cluster_description,
            checkpoint_markers=True,
            # How far from normalized the eval images are, as the model sees them (findings: input_scale).
            eval_inputs=input_statistics(self._images),
        )
        sink = self._sink
        if sink is not None:
            thumbnails = _Thumbnails(thumbnail_size, thumbnail_transform, image_ids, captions)
            self._worker.submit("corpus and graph", lambda: self._write_corpus_and_graph(sink, graph, thumbnails))

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
    def gradcam_layers(self) -> list[str]:
        """The layers whose Grad-CAM of the probe images each checkpoint logs (resolved from ``"auto"``)."""
        return list(self._gradcam_layers)

    @property
    def checkpoint_plan(self) -> budget.CheckpointPlan:
        """What every checkpoint logs under ``checkpoint_bytes``: kept filters, activation and units layers, bytes."""
        return self._plan

    @property
    def class_names(self) -> list[str]:
        """One name per class, in the order of the model's outputs."""
        return list(self._class_names)

    def log_checkpoint(self, step: int) -> None:
        """Snapshot the model at ``step``: weights, probe activations, predictions, confusion, clusters.

        Runs no-grad forward passes over the eval set with the model in eval mode (each module's
        mode is restored after) and the global RNG state untouched; the rest happens in the
        background. Blocks only while the worker's queue is full. Under torch.distributed every
        rank must call it: each evaluates its own slice of the eval set on its own device, the
        results are gathered to rank 0, and rank 0 writes (``writer.distributed``).
        """
        self._check_open()
        job = self._eval_pass.run(int(step), self._collectors)
        sink = self._sink
        if job is None or sink is None:
            return
        what = f"checkpoint {step}"

        def write() -> None:
            for where, error in write_checkpoint(job, sink):
                self._worker.report(what, error, where)

        self._worker.submit(what, write)

    def log_step(self, step: int, loss: Optional[Union[float, torch.Tensor]] = None) -> None:
        """Record per-layer statistics at ``step`` (call after ``optimizer.step()``).

        For every logged layer: mean, std, min, max, norm, zero fraction, NaN and Inf counts of
        its parameters, of their gradients from the last backward pass, and of its output in the
        last forward pass; the update ratio of its weights (how far this step moved them, relative
        to their norm, on a fixed sample of them) and, for a layer followed by tanh, sigmoid or
        hardtanh, the share of its outputs that saturate it. Under torch.distributed the
        activation statistics are combined across ranks (every rank must call this; weights and
        gradients are taken as the replicas DDP keeps) and only rank 0 writes.

        Args:
          step: the training step.
          loss: the step's loss, optional (a float or a tensor; a tensor is copied without waiting
            for the device).
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
            # The first layer's input leads: a handful of numbers more in the same reduction.
            first_input = self._last_outputs.latest_input
            # A deep model on a CPU: tensors over 65,536 values give their extremes, squares
            # and zeros from a sample (their sums, NaN and Inf stay exact), to keep log_step cheap.
            moments = device_moments.moments_of(
                [first_input, *activations, *parameters, *gradients], sample_large=self._plan.deep
            )
            if distributed.world_size() > 1:
                # Weights and (DDP-averaged) gradients are replicas; each rank's input and activations differ.
                layers = 1 + len(activations)
                moments[:layers] = device_moments.reduce_moments_across_ranks(moments[:layers])
            sink = self._sink
            if sink is None:
                return
            ratios = self._update_ratios.measure().to(moments.device)
            saturated = saturation(activations, self._layers, self._saturation_thresholds)
            if saturated is None:
                saturated = torch.full_like(ratios, float("nan"))
            health = torch.stack([ratios, saturated.to(moments.device)], dim=1)
            loss_value = None
            if loss is not None:
                loss_value = host_copy(torch.as_tensor(loss).detach().reshape(()), torch.float64)
            host, copies_done = host_copy(moments), record_copies(moments.device)
            health_host = host_copy(health)
        job = _StepStatistics(int(step), host, parameter_owners, gradient_owners, health_host, loss_value, copies_done)
        self._worker.submit(f"statistics at step {step}", lambda: self._write_statistics(job, sink))

    def flush(self) -> None:
        """Wait until every queued record is written (and a running feature visualization), then flush the writer."""
        self._settle_background()
        self._worker.join()
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
            self._settle_background()
            for collector in self._background:
                collector.close()
            self._worker.stop()
            if self._sink is not None:
                self._sink.close()
        finally:
            self._last_outputs.remove()
            self._eval_pass.release()
        self._worker.raise_failures()

    def __enter__(self) -> DeepViz:
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

    def _settle_background(self) -> None:
        """Let background renders finish and queue their records, after every checkpoint queued so far is written."""
        if not self._background:
            return
        self._worker.join()  # every queued checkpoint's marker is written: late records may follow
        for collector in self._background:
            collector.drain()

    def _check_feature_vis(self, settings: FeatureVis, modules: dict[str, nn.Module]) -> None:
        """Refuse feature visualization settings this model cannot render, naming the problem."""
        settings.check_channels(int(self._images.shape[1]))
        unknown = [name for name in settings.layers if name not in modules or not name]
        if unknown:
            raise ValueError(f"unknown feature_vis layers {unknown}; pick names from model.named_modules()")
        shapes: dict[str, list[int]] = {}

        def keep_shape(name: str) -> Callable[..., None]:
            def hook(module: nn.Module, inputs: Any, output: Any) -> None:
                tensor = capture.first_tensor(output)
                shapes.setdefault(name, list(tensor.shape) if tensor is not None else [])

            return hook

        hooks = [modules[name].register_forward_hook(keep_shape(name)) for name in settings.layers]
        try:
            with self._eval_pass.isolated():
                self._model(self._images[:1].to(self._eval_pass.device(), self._eval_pass.input_dtype()))
        finally:
            for hook in hooks:
                hook.remove()
        never = [name for name in settings.layers if name not in shapes]
        if never:
            raise ValueError(f"feature_vis layers {never} are not called in the model's forward pass")
        flat = [name for name in settings.layers if len(shapes[name]) < 2]
        if flat:
            raise ValueError(f"feature visualization needs layers with outputs [batch, units, ...]; {flat} have none")

    def _trace(self, logged: Sequence[str]) -> capture.GraphTrace:
        with self._eval_pass.isolated():
            example = self._images[:1].to(self._eval_pass.device(), self._eval_pass.input_dtype())
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

    # ----------------------------------------------------------- worker side

    def _write_corpus_and_graph(self, sink: SummarySink, graph: dict[str, Any], thumbnails: _Thumbnails) -> None:
        sink.add(summary.graph_summary(graph), 0)
        pictures = make_thumbnails(self._images, size=thumbnails.size, transform=thumbnails.transform)
        corpus = summary.corpus_summary(
            pictures, self._labels.numpy(), self._class_names, ids=thumbnails.image_ids, captions=thumbnails.captions
        )
        sink.add(corpus, 0)

    def _write_statistics(self, job: _StepStatistics, sink: SummarySink) -> None:
        if job.copies_done is not None:
            job.copies_done.synchronize()
        all_moments = job.moments.numpy()
        moments = host_moments.layer_moments(
            all_moments[1:], len(self._layers), job.parameter_owners, job.gradient_owners
        )
        rows = host_moments.statistics_from_moments(moments)
        health = job.health.numpy()
        weights = metadata.STATISTIC_SOURCES.index("weights")
        activations = metadata.STATISTIC_SOURCES.index("activations")
        rows[:, weights, metadata.STATISTIC_NAMES.index("update_ratio")] = health[:, 0]
        rows[:, activations, metadata.STATISTIC_NAMES.index("saturation")] = health[:, 1]
        for name, layer_rows in zip(self._layers, rows):
            sink.add(summary.layer_statistics_summary(name, layer_rows), job.step)
        if job.loss is not None:
            sink.add(summary.loss_summary(float(job.loss)), job.step)
        first_input = host_moments.statistics_from_moments(all_moments[0])[: len(metadata.INPUT_STATISTIC_NAMES)]
        if first_input[0] > 0:  # a forward pass has run since the logger started
            sink.add(summary.input_statistics_summary(first_input), job.step)


class _LateRecords:
    """Records a collector finishes after its checkpoint (feature visualization), queued on the writer's worker."""

    def __init__(self, worker: Worker, sink: SummarySink) -> None:
        self._worker = worker
        self._sink = sink

    def post(self, what: str, step: int, record: Any) -> None:
        sink = self._sink
        self._worker.submit(what, lambda: sink.add(record, step))

    def report(self, what: str, error: BaseException) -> None:
        self._worker.report(what, error)


@dataclasses.dataclass
class _Thumbnails:
    """How the corpus record shows the eval images: thumbnail size and transform, ids, captions."""

    size: int
    transform: Optional[Callable[[torch.Tensor], torch.Tensor]]
    image_ids: Optional[Sequence[str]]
    captions: Optional[Sequence[str]]


def _require_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _gradcam_layers(
    choice: Union[str, Sequence[str], None], logged: Sequence[str], trace: capture.GraphTrace, modules: dict[str, Any]
) -> list[str]:
    """The layers whose Grad-CAM is logged: by default the last logged layer with a spatial output."""
    if choice is None:
        return []
    shapes = {node["module"]: node.get("output_shape") or [] for node in trace.graph["nodes"] if node["module"]}
    spatial = {name for name, shape in shapes.items() if len(shape) == 4}
    if isinstance(choice, str):
        if choice != "auto":
            raise ValueError(f"gradcam_layers must be 'auto', a list of module names or None, got {choice!r}")
        return [layer for layer in logged if layer in spatial][-1:]
    chosen = [str(name) for name in choice]
    unknown = [name for name in chosen if name not in modules or not name]
    if unknown:
        raise ValueError(f"unknown gradcam_layers {unknown}; pick names from model.named_modules()")
    flat = [name for name in chosen if name in shapes and name not in spatial]
    if flat:
        raise ValueError(f"Grad-CAM needs a layer with a spatial output [batch, C, h, w]; {flat} have none")
    return chosen
