"""Pure functions that turn arrays into deepviz ``Summary`` protos.

Each returns a ``tensorboard.compat.proto.summary_pb2.Summary`` that any writer can add
(``SummaryWriter._get_file_writer().add_summary(summary, step)`` for torch, see
``tensorboard_deepviz.writer.sinks`` for tensorboardX). No I/O and no state: the high-level
``DeepViz`` logger is built on these, and training code with its own loop can call them
directly. The record layouts are described in each function's docstring.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.util import tensor_util

from .analysis import similarity
from .analysis.clustering import Clusters
from .analysis.confusion import confusion_matrix
from .contract import metadata, records
from .contract.codes import quantize_activations

# Confusion matrices up to this many classes are also in the record's header (10,000 counts at most).
HEADER_COUNTS_MAX_CLASSES = 100


def _blob_summary(kind: str, blobs: Sequence[bytes], layer: str = "") -> summary_pb2.Summary:
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(blobs))]),
        string_val=list(blobs),
    )
    value = summary_pb2.Summary.Value(
        tag=metadata.tag_for(kind, layer),
        metadata=metadata.create_summary_metadata(kind, layer),
        tensor=tensor,
    )
    return summary_pb2.Summary(value=[value])


def _check_class_names(class_names: Sequence[str]) -> list[str]:
    names = [str(name) for name in class_names]
    if not names:
        raise ValueError("class_names must not be empty")
    return names


def corpus_summary(
    thumbnails: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    ids: Optional[Sequence[str]] = None,
    captions: Optional[Sequence[str]] = None,
    compression_level: int = 6,
) -> summary_pb2.Summary:
    """The eval set, written once: thumbnails, labels, class names and optional ids/captions.

    Args:
      thumbnails: uint8 ``[N, H, W, C]`` with C in (1, 3).
      labels: int ``[N]`` class of each image, in ``0..len(class_names)-1``.
      class_names: one name per class.
      ids: optional string id per image (searchable in the dashboard); default the index.
      captions: optional caption per image.

    Record: fields ``class_names``, ``ids``, ``captions``; arrays ``thumbnails`` (uint8, zlib),
    ``labels`` (int32).
    """
    thumbnails = np.asarray(thumbnails)
    labels = np.asarray(labels)
    names = _check_class_names(class_names)
    if thumbnails.dtype != np.uint8 or thumbnails.ndim != 4 or thumbnails.shape[3] not in (1, 3):
        raise ValueError(f"thumbnails must be uint8 [N, H, W, 1 or 3], got {thumbnails.dtype} {thumbnails.shape}")
    if labels.shape != (len(thumbnails),):
        raise ValueError(f"{len(thumbnails)} thumbnails but labels of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(f"labels must lie in 0..{len(names) - 1} (one per class name)")
    fields: dict[str, Any] = {"class_names": names}
    for key, strings in (("ids", ids), ("captions", captions)):
        if strings is not None:
            if len(strings) != len(thumbnails):
                raise ValueError(f"{len(strings)} {key} for {len(thumbnails)} images")
            fields[key] = [str(s) for s in strings]
    blobs = records.encode_record(
        fields,
        {"thumbnails": thumbnails, "labels": labels.astype(np.int32)},
        compress=["thumbnails"],
        compression_level=compression_level,
    )
    return _blob_summary(metadata.KIND_CORPUS, blobs)


def graph_summary(graph: Mapping[str, Any]) -> summary_pb2.Summary:
    """The layer graph, written once: a JSON object (see ``capture.trace_graph``) in the fields."""
    if not isinstance(graph.get("nodes"), list) or not isinstance(graph.get("edges"), list):
        raise ValueError("graph must have 'nodes' and 'edges' lists")
    return _blob_summary(metadata.KIND_GRAPH, records.encode_record(dict(graph), {}))


def weights_summary(
    layer: str,
    weights: np.ndarray,
    *,
    layer_type: str = "",
    total_filters: Optional[int] = None,
) -> summary_pb2.Summary:
    """A layer's weights at one checkpoint, stored as float16.

    Args:
      layer: module name.
      weights: ``[filters, ...]`` e.g. ``[out, in, kh, kw]`` for Conv2d, ``[out, in]`` for Linear.
      layer_type: the module's class name, shown in the dashboard.
      total_filters: the layer's full number of filters when ``weights`` holds only the first
        ones (the logger's cap on large layers); default ``len(weights)``.

    Record: fields ``layer_type``, ``total_filters``, ``finite_min``, ``finite_max`` (range of the
    finite stored values, 0 when there are none: lets a reader find a range over all checkpoints
    from the headers alone); array ``weights`` (float16).
    """
    values = np.asarray(weights)
    if values.ndim < 1:
        raise ValueError(f"weights of {layer!r} must have a filter dimension, got a scalar")
    stored = values.astype(np.float16, copy=False)
    finite = stored[np.isfinite(stored)]
    fields = {
        "layer_type": layer_type,
        "total_filters": int(total_filters if total_filters is not None else len(values)),
        "finite_min": float(finite.min()) if finite.size else 0.0,
        "finite_max": float(finite.max()) if finite.size else 0.0,
    }
    blobs = records.encode_record(fields, {"weights": stored})
    return _blob_summary(metadata.KIND_WEIGHTS, blobs, layer)


def activations_summary(
    layer: str,
    activations: np.ndarray,
    probe_images: Sequence[int],
    *,
    compression_level: int = 1,
) -> summary_pb2.Summary:
    """A layer's outputs for the probe images at one checkpoint, quantized to 8 bits.

    Args:
      layer: module name.
      activations: ``[P, C, H, W]`` (or ``[P, F]``) outputs for the P probe images.
      probe_images: the eval-set index of each of the P images.

    Record: arrays ``codes`` (uint8, see ``contract.codes.quantize_activations`` for the NaN/Inf
    codes), ``ranges`` (float32 ``[P, C, 2]``), ``probe_images`` (int32 ``[P]``).
    """
    values = np.asarray(activations)
    probe = np.asarray(probe_images, dtype=np.int32)
    if len(values) != len(probe):
        raise ValueError(f"{len(values)} activation rows for {len(probe)} probe images")
    codes, ranges = quantize_activations(values)
    blobs = records.encode_record(
        {},
        {"codes": codes, "ranges": ranges, "probe_images": probe},
        compress=["codes"],
        compression_level=compression_level,
    )
    return _blob_summary(metadata.KIND_ACTIVATIONS, blobs, layer)


def predictions_summary(
    probe_images: Sequence[int],
    probe_probabilities: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
) -> summary_pb2.Summary:
    """Predictions at one checkpoint.

    Args:
      probe_images: eval-set index of each probe image ``[P]``.
      probe_probabilities: ``[P, num_classes]`` class probabilities of the probe images.
      predicted: ``[N]`` predicted class of every eval image.
      confidence: ``[N]`` probability of the predicted class.

    Record: arrays ``probe_images`` (int32), ``probe_probabilities`` (float16), ``predicted``
    (int32), ``confidence`` (float16).
    """
    probabilities = np.asarray(probe_probabilities, dtype=np.float32)
    predicted = np.asarray(predicted)
    confidence = np.asarray(confidence)
    if probabilities.ndim != 2 or len(probabilities) != len(probe_images):
        raise ValueError(f"probe_probabilities must be [{len(probe_images)}, classes], got {probabilities.shape}")
    if predicted.shape != confidence.shape or predicted.ndim != 1:
        raise ValueError(f"predicted {predicted.shape} and confidence {confidence.shape} must be equal-length vectors")
    blobs = records.encode_record(
        {"num_classes": int(probabilities.shape[1])},
        {
            "probe_images": np.asarray(probe_images, dtype=np.int32),
            "probe_probabilities": probabilities.astype(np.float16),
            "predicted": predicted.astype(np.int32),
            "confidence": confidence.astype(np.float16),
        },
        compress=["predicted"],
    )
    return _blob_summary(metadata.KIND_PREDICTIONS, blobs)


def confusion_summary(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> summary_pb2.Summary:
    """The confusion matrix at one checkpoint, with the eval images of every cell.

    Record: fields ``num_classes`` and, for up to ``HEADER_COUNTS_MAX_CLASSES`` classes, ``counts``
    (the matrix as lists: readers judging a run over many checkpoints need only the headers);
    arrays ``counts`` (int32 ``[C, C]``, rows true, columns predicted), ``cell_offsets`` (int32
    ``[C*C+1]``), ``cell_images`` (int32 ``[N]``); see ``analysis.confusion.Confusion``.
    """
    confusion = confusion_matrix(labels, predicted, num_classes)
    fields: dict[str, Any] = {"num_classes": int(num_classes)}
    if num_classes <= HEADER_COUNTS_MAX_CLASSES:
        fields["counts"] = confusion.counts.astype(np.int64).tolist()
    blobs = records.encode_record(
        fields,
        {
            "counts": confusion.counts.astype(np.int32),
            "cell_offsets": confusion.cell_offsets.astype(np.int32),
            "cell_images": confusion.cell_images,
        },
        compress=["cell_images"],
    )
    return _blob_summary(metadata.KIND_CONFUSION, blobs)


def clusters_summary(clusters: Clusters, *, layer: str, metric: str) -> summary_pb2.Summary:
    """K-Means clusters of one layer's features at one checkpoint (see ``analysis.clustering.cluster_features``).

    Record: fields ``layer``, ``metric``, ``nonfinite_images``; arrays ``assignment``, ``nearest``,
    ``sizes``, ``majority_class`` (int32), ``purity`` (float32), ``projection`` (float16 ``[N, 2]``).
    """
    blobs = records.encode_record(
        {"layer": layer, "metric": metric, "nonfinite_images": int(clusters.nonfinite_images)},
        {
            "assignment": clusters.assignment.astype(np.int32),
            "nearest": clusters.nearest.astype(np.int32),
            "sizes": clusters.sizes.astype(np.int32),
            "majority_class": clusters.majority_class.astype(np.int32),
            "purity": clusters.purity.astype(np.float32),
            "projection": clusters.projection.astype(np.float16),
        },
        compress=["assignment"],
    )
    return _blob_summary(metadata.KIND_CLUSTERS, blobs)


def units_summary(
    layer: str,
    *,
    top_images: np.ndarray,
    top_values: np.ndarray,
    top_positions: np.ndarray,
    top_boxes: np.ndarray,
    class_means: np.ndarray,
    mean: np.ndarray,
    output_shape: Sequence[int],
    input_shape: Sequence[int],
) -> summary_pb2.Summary:
    """What each unit of a layer responds to over the whole eval set, at one checkpoint.

    A unit is an output channel of a convolution (or an output of a linear layer). Its score on
    an eval image is its spatial maximum; its class means are of its rectified output (``ReLU``
    of what the module outputs, usually the pre-activation), averaged over positions and then
    over each class's images.

    Args:
      layer: module name.
      top_images: int ``[U, k]`` eval-image indices of each unit's k best images, best first;
        -1 where the eval set has fewer than k images.
      top_values: float ``[U, k]`` their scores (the unit's spatial maximum on each image).
      top_positions: int ``[U, k, 2]`` (row, column) of that maximum in the layer's output.
      top_boxes: int ``[U, k, 4]`` receptive field of that position in input pixels: top, left,
        bottom, right (bottom and right exclusive).
      class_means: float ``[U, classes]`` mean rectified, spatially averaged output per class.
      mean: float ``[U]`` the same over every eval image.
      output_shape: the layer's output per image (``[C, H, W]`` or ``[F]``).
      input_shape: the model's input image ``[H, W]`` (the boxes' frame).

    Record: fields ``k``, ``output_shape``, ``input_shape``, ``rectified`` (true), ``units`` and
    ``dead_units`` (how many units were never positive: readers judging a run over many
    checkpoints need only the headers); arrays
    ``top_images`` (int32), ``top_values`` (float32), ``top_positions`` (int16), ``top_boxes``
    (int16), ``class_means`` (float32), ``mean`` (float32).
    """
    images = np.asarray(top_images)
    units, k = images.shape if images.ndim == 2 else (0, 0)
    if images.ndim != 2:
        raise ValueError(f"top_images of {layer!r} must be [units, k], got shape {images.shape}")
    expected = {
        "top_values": ((units, k), top_values),
        "top_positions": ((units, k, 2), top_positions),
        "top_boxes": ((units, k, 4), top_boxes),
        "mean": ((units,), mean),
    }
    for name, (shape, array) in expected.items():
        if np.shape(array) != shape:
            raise ValueError(f"{name} of {layer!r} must have shape {list(shape)}, got {list(np.shape(array))}")
    means = np.asarray(class_means, dtype=np.float32)
    if means.ndim != 2 or len(means) != units:
        raise ValueError(f"class_means of {layer!r} must be [{units}, classes], got shape {means.shape}")
    best = np.asarray(top_values, dtype=np.float64)[:, 0] if k else np.full(units, np.nan)
    blobs = records.encode_record(
        {
            "k": int(k),
            "output_shape": [int(d) for d in output_shape],
            "input_shape": [int(d) for d in input_shape],
            "rectified": True,
            "units": int(units),
            "dead_units": int(np.count_nonzero(best <= 0)),
        },
        {
            "top_images": images.astype(np.int32),
            "top_values": np.asarray(top_values, dtype=np.float32),
            "top_positions": np.asarray(top_positions).astype(np.int16),
            "top_boxes": np.asarray(top_boxes).astype(np.int16),
            "class_means": means,
            "mean": np.asarray(mean, dtype=np.float32),
        },
    )
    return _blob_summary(metadata.KIND_UNITS, blobs, layer)


def attribution_summary(
    layer: str,
    probe_images: Sequence[int],
    targets: Sequence[int],
    maps: np.ndarray,
    *,
    input_shape: Sequence[int],
) -> summary_pb2.Summary:
    """Grad-CAM of the probe images at one layer and checkpoint.

    Args:
      layer: the module whose output the maps are computed at.
      probe_images: eval-set index of each of the P probe images.
      targets: the class each map explains (the predicted class at this checkpoint).
      maps: float ``[P, h, w]`` rectified Grad-CAM at the layer's resolution, not normalized, so
        that maps of different checkpoints share a scale.
      input_shape: the model's input image ``[H, W]`` the maps are laid over.

    Record: fields ``input_shape``, ``maxima`` (each map's largest finite value: a reader finds one
    colour scale per probe over all checkpoints from the headers alone); arrays ``probe_images``,
    ``targets`` (int32), ``maps`` (float32).
    """
    values = np.asarray(maps, dtype=np.float32)
    probe = np.asarray(probe_images, dtype=np.int32)
    target = np.asarray(targets, dtype=np.int32)
    if values.ndim != 3 or len(values) != len(probe) or target.shape != probe.shape:
        raise ValueError(
            f"Grad-CAM of {layer!r} needs maps [P, h, w] with one probe image and target each, got maps "
            f"{list(values.shape)}, {len(probe)} probe images and {len(target)} targets"
        )
    maxima = [float(np.max(m[np.isfinite(m)])) if np.isfinite(m).any() else 0.0 for m in values]
    blobs = records.encode_record(
        {"input_shape": [int(d) for d in input_shape], "maxima": maxima},
        {"probe_images": probe, "targets": target, "maps": values},
    )
    return _blob_summary(metadata.KIND_ATTRIBUTION, blobs, layer)


def feature_vis_summary(
    layer: str,
    *,
    images: np.ndarray,
    units: Sequence[int],
    objective: np.ndarray,
    no_signal: np.ndarray,
    warm: Optional[np.ndarray] = None,
    method: str,
    steps: int,
    seconds: float,
    normalization: Mapping[str, Any],
    warm_from: Optional[int] = None,
    output_shape: Sequence[int] = (),
) -> summary_pb2.Summary:
    """Feature visualization of a layer's units: for each, an image that excites it, rendered from one checkpoint's weights.

    Written at the step of the checkpoint whose weights it used, after that checkpoint's marker
    (it is rendered in the background and is not named by the marker), and only at some
    checkpoints: a reader shows, for a checkpoint, the latest record at or before it.

    Args:
      layer: module name.
      images: uint8 ``[U, H, W, 3]``, one image per unit, in [0, 1] scaled to 0..255 (the image
        optimized, before it is mapped into the model's input space).
      units: the unit (channel, or output of a linear layer) of each image.
      objective: float ``[U]`` each unit's objective on its image: the mean of its channel over
        positions (or its value), with the image mapped into the model's input space.
      no_signal: bool ``[U]`` units whose objective never moved during the optimization (dead or
        constant for every image tried): their image is the starting noise and means nothing.
      warm: bool ``[U]`` units whose optimization continued from the record at ``warm_from``
        (default: none).
      method: ``"fourier"`` or ``"toolbox"`` (``FeatureVis``).
      steps: optimization steps run.
      seconds: wall-clock time of the layer's optimization.
      normalization: how an image in [0, 1] became the model's input, ``(image - mean) / std``:
        ``{"mean": [per channel], "std": [per channel], "learned": true when derived from the
        eval set}``.
      warm_from: the step of the record whose parameters the warm units continued from.
      output_shape: the layer's output per image (``[C, h, w]`` or ``[F]``).

    Record: fields ``method``, ``steps``, ``size`` (``[H, W]``), ``warm_started`` (every unit
    continued from ``warm_from``), ``warm_from``, ``seconds``, ``normalization``,
    ``output_shape``; arrays ``images`` (uint8, zlib), ``units`` (int32), ``objective``
    (float32), ``no_signal`` (bool), ``warm`` (bool).
    """
    pictures = np.asarray(images)
    if pictures.dtype != np.uint8 or pictures.ndim != 4 or pictures.shape[3] != 3:
        raise ValueError(f"images of {layer!r} must be uint8 [U, H, W, 3], got {pictures.dtype} {list(pictures.shape)}")
    count = len(pictures)
    unit_indices = np.asarray(units)
    warm_units = np.zeros(count, dtype=bool) if warm is None else np.asarray(warm, dtype=bool)
    for name, array in (
        ("units", unit_indices),
        ("objective", objective),
        ("no_signal", no_signal),
        ("warm", warm_units),
    ):
        if np.shape(array) != (count,):
            raise ValueError(
                f"{name} of {layer!r} must have one entry per image ({count}), got shape {list(np.shape(array))}"
            )
    if method not in ("fourier", "toolbox"):
        raise ValueError(f"method must be 'fourier' or 'toolbox', got {method!r}")
    fields = {
        "method": method,
        "steps": int(steps),
        "size": [int(pictures.shape[1]), int(pictures.shape[2])],
        "warm_started": bool(count and warm_units.all()),
        "warm_from": None if warm_from is None else int(warm_from),
        "seconds": float(seconds),
        "normalization": {
            "mean": [float(v) for v in normalization.get("mean", [])],
            "std": [float(v) for v in normalization.get("std", [])],
            "learned": bool(normalization.get("learned", False)),
        },
        "output_shape": [int(d) for d in output_shape],
    }
    blobs = records.encode_record(
        fields,
        {
            "images": pictures,
            "units": unit_indices.astype(np.int32),
            "objective": np.asarray(objective, dtype=np.float32),
            "no_signal": np.asarray(no_signal, dtype=bool),
            "warm": warm_units,
        },
        compress=["images"],
        compression_level=6,
    )
    return _blob_summary(metadata.KIND_FEATURE_VIS, blobs, layer)


def similarity_summary(
    images: Sequence[int],
    layers: Sequence[str],
    statistics: Sequence[np.ndarray],
    *,
    tolerance: float = similarity.TOLERANCE,
) -> summary_pb2.Summary:
    """What linear CKA between any two logged layers needs, at one checkpoint (``analysis.similarity``).

    Args:
      images: the eval-set indices of the n sampled images (``analysis.similarity.sample_indices``).
      layers: the layers, in forward order.
      statistics: per layer, over the n images in ``images`` order, either its features ``[n, p]``
        (a convolution's channels averaged over positions) or the upper triangle, row by row, of
        its centered linear Gram ``X X^T`` (``n (n + 1) / 2`` values). Any scale.
      tolerance: the share of each Gram's squared norm its stored factor may leave out
        (``analysis.similarity.compact``; 0 keeps every component).

    Record: fields ``layers``, ``forms`` (per layer ``"factor"``, ``"gram"``, or, with no array,
    ``"nonfinite"`` for NaN or Inf values and ``"constant"`` for values all 0 once centered);
    arrays ``images`` (int32 ``[n]``) and ``layer<i>`` (float16, scaled to a largest magnitude of
    1) for the i-th layer: a factor ``F`` ``[n, r]`` whose ``F F^T`` is its centered Gram, or that
    Gram's upper triangle.
    """
    indices = np.asarray(images, dtype=np.int64)
    n = len(indices)
    if indices.ndim != 1 or n < 2:
        raise ValueError(f"similarity needs at least 2 sampled images, got {n}")
    if len(layers) != len(statistics):
        raise ValueError(f"{len(layers)} layers but {len(statistics)} statistics")
    forms: list[str] = []
    arrays: dict[str, np.ndarray] = {"images": indices.astype(np.int32)}
    for position, (layer, statistic) in enumerate(zip(layers, statistics)):
        values = np.asarray(statistic, dtype=np.float64)
        if not (values.ndim == 2 and values.shape[0] == n) and values.shape != (similarity.triangle_size(n),):
            raise ValueError(
                f"the statistic of {layer!r} must be [{n}, features] or a Gram triangle of "
                f"{similarity.triangle_size(n)} values, got shape {list(values.shape)}"
            )
        if not np.isfinite(values).all():
            forms.append(similarity.FORM_NONFINITE)
            continue
        form, stored = similarity.compact(values, n, tolerance)
        largest = float(np.abs(stored).max()) if stored.size else 0.0
        # Constant features center to zeros; a tiny remainder is rounding of a constant.
        if largest == 0.0 or largest <= 1e-12 * max(float(np.abs(values).max()), 1e-300):
            forms.append(similarity.FORM_CONSTANT)
            continue
        forms.append(form)
        arrays[similarity.array_name(position)] = (stored / largest).astype(np.float16)
    blobs = records.encode_record({"layers": [str(layer) for layer in layers], "forms": forms}, arrays)
    return _blob_summary(metadata.KIND_SIMILARITY, blobs)


def checkpoint_summary(tags: Sequence[str]) -> summary_pb2.Summary:
    """The marker that ends a checkpoint: the tags written for it, all before this record."""
    return _blob_summary(metadata.KIND_CHECKPOINT, records.encode_record({"tags": [str(tag) for tag in tags]}, {}))


def layer_statistics_summary(layer: str, statistics_rows: np.ndarray) -> summary_pb2.Summary:
    """Per-step statistics of one layer, a float64 tensor ``[3, 11]``.

    Rows are ``metadata.STATISTIC_SOURCES`` (weights, gradients, activations), columns
    ``metadata.STATISTIC_NAMES`` (count, mean, std, min, max, norm, zero_fraction, nan_count,
    inf_count, update_ratio, saturation). A row with count 0 was not available at that step.
    ``[3, 9]`` rows (the moments only) are accepted: update_ratio and saturation are then NaN.
    """
    rows = np.asarray(statistics_rows, dtype=np.float64)
    sources, names = len(metadata.STATISTIC_SOURCES), len(metadata.STATISTIC_NAMES)
    moments_only = len(metadata.STATISTIC_NAMES_V1)
    if rows.shape == (sources, moments_only):
        rows = np.concatenate([rows, np.full((sources, names - moments_only), np.nan)], axis=1)
    if rows.shape != (sources, names):
        raise ValueError(
            f"statistics of {layer!r} must have shape {(sources, names)} (or {(sources, moments_only)}), got {rows.shape}"
        )
    value = summary_pb2.Summary.Value(
        tag=metadata.tag_for(metadata.KIND_STATISTICS, layer),
        metadata=metadata.create_summary_metadata(metadata.KIND_STATISTICS, layer),
        tensor=tensor_util.make_tensor_proto(rows),
    )
    return summary_pb2.Summary(value=[value])


def loss_summary(loss: float) -> summary_pb2.Summary:
    """The training loss at one step, a float64 scalar tensor (NaN and Inf kept: they are data)."""
    value = summary_pb2.Summary.Value(
        tag=metadata.tag_for(metadata.KIND_LOSS),
        metadata=metadata.create_summary_metadata(metadata.KIND_LOSS),
        tensor=tensor_util.make_tensor_proto(np.asarray(float(loss), dtype=np.float64)),
    )
    return summary_pb2.Summary(value=[value])


def input_statistics_summary(statistics: np.ndarray) -> summary_pb2.Summary:
    """Statistics of the first logged layer's input in one training step, a float64 vector.

    Its entries are ``metadata.INPUT_STATISTIC_NAMES`` (count, mean, std, min, max, norm,
    zero_fraction, nan_count, inf_count) of the batch the layer received: how far from
    normalized the images training sees are (findings: ``input_scale``).
    """
    values = np.asarray(statistics, dtype=np.float64)
    if values.shape != (len(metadata.INPUT_STATISTIC_NAMES),):
        raise ValueError(
            f"input statistics must have shape {(len(metadata.INPUT_STATISTIC_NAMES),)} "
            f"({', '.join(metadata.INPUT_STATISTIC_NAMES)}), got {values.shape}"
        )
    value = summary_pb2.Summary.Value(
        tag=metadata.tag_for(metadata.KIND_INPUTS),
        metadata=metadata.create_summary_metadata(metadata.KIND_INPUTS),
        tensor=tensor_util.make_tensor_proto(values),
    )
    return summary_pb2.Summary(value=[value])
