"""Numbers computed from a model's tensors: layer moments, quantization, confusion, clusters.

Functions on torch tensors run on the tensor's device and never synchronize it; functions on
numpy arrays run in the background worker.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from . import metadata

# Layer moments: one row of raw, additive-or-extremal quantities per tensor, so that rows from
# several ranks can be combined before the finished statistics are derived.
MOMENT_NAMES = ("count", "sum", "sum_squares", "min", "max", "zeros", "nan_count", "inf_count")
_ADDITIVE_MOMENTS = [0, 1, 2, 5, 6, 7]

# Activation quantization: finite values map to 0..FINITE_LEVELS-1; the last codes mark
# values that have no place on a linear scale.
FINITE_LEVELS = 253
CODE_NEG_INF = 253
CODE_POS_INF = 254
CODE_NAN = 255


def tensor_moments(tensor: Optional[torch.Tensor]) -> torch.Tensor:
    """Return a float64 row of ``MOMENT_NAMES`` for ``tensor`` (all zeros when it is None or empty).

    The one-tensor case of ``moments_of``.
    """
    return moments_of([tensor])[0]


def moments_of(tensors: Sequence[Optional[torch.Tensor]]) -> torch.Tensor:
    """Return float64 rows ``[K, len(MOMENT_NAMES)]`` for K tensors (a zero row for None or empty).

    The rows are on the first tensor's CUDA device, or on the CPU. Sums and extremes include
    NaN/Inf values, so a tensor that holds them has NaN/Inf moments; ``nan_count`` and
    ``inf_count`` say how many there are.

    Host tensors are counted by numpy. On a CUDA device each tensor costs three kernels, and all
    of them one synchronization: NaN and Inf are counted only in tensors whose sum is not finite.
    Tensors on other accelerators (MPS has no float64, for one) are copied to the host first.
    """
    if not tensors:
        return torch.zeros((0, len(MOMENT_NAMES)), dtype=torch.float64)
    rows: list[Optional[torch.Tensor]] = [None] * len(tensors)
    on_device: dict[tuple[torch.device, torch.dtype], list[tuple[int, torch.Tensor]]] = {}
    for index, tensor in enumerate(tensors):
        if tensor is None or tensor.numel() == 0:
            continue
        values = _flat_float(tensor)
        if values.device.type not in ("cpu", "cuda"):
            values = values.to("cpu")
        host = _host_array(values)
        if host is not None:
            rows[index] = _host_moments(values, host)
        else:
            on_device.setdefault((values.device, values.dtype), []).append((index, values))
    for group in on_device.values():
        for (index, _), row in zip(group, _device_moments([values for _, values in group])):
            rows[index] = row
    devices = [tensor.device for tensor in tensors if tensor is not None]
    device = devices[0] if devices and devices[0].type == "cuda" else torch.device("cpu")
    empty = torch.zeros(len(MOMENT_NAMES), dtype=torch.float64, device=device)
    return torch.stack([empty if row is None else row.to(device) for row in rows])


def _flat_float(tensor: torch.Tensor) -> torch.Tensor:
    values = tensor.detach().reshape(-1)
    if not values.is_floating_point() or values.dtype in (torch.float16, torch.bfloat16):
        values = values.float()  # half-precision sums overflow and lose precision
    return values


def _host_moments(values: torch.Tensor, host: np.ndarray) -> torch.Tensor:
    # Measured on CPU: sum, dot and aminmax are single fast passes (var_mean is several times
    # slower); dot's sum of squares is also ~8x more accurate than vector_norm's in float32.
    # Counting is left to numpy: torch's element counts ((x == 0).sum(), count_nonzero) are not
    # vectorized on the CPU and were most of log_step's time on ResNet-18.
    minimum, maximum = torch.aminmax(values)
    total = float(values.sum(dtype=values.dtype))
    if math.isfinite(total):  # a finite sum proves there is no NaN or Inf
        nans = infs = 0
    else:
        nans = _count_where(np.isnan, host)
        infs = _count_where(np.isinf, host)
    zeros = _count_where(_is_zero, host)
    squares = float(torch.dot(values, values))
    row = [values.numel(), total, squares, float(minimum), float(maximum), zeros, nans, infs]
    return torch.tensor(row, dtype=torch.float64)


def _device_moments(group: Sequence[torch.Tensor]) -> torch.Tensor:
    """Rows for flat tensors of one device and dtype, computed there (one synchronization).

    Three reductions per tensor (aminmax, sum, and an order-0 norm counting non-zeros in one
    pass) and one multi-tensor norm for all of them, as ``clip_grad_norm_`` does: on a GPU each
    launch costs more CPU time than a small tensor's reduction does.
    """
    device = group[0].device
    norms = torch._foreach_norm(list(group), 2)  # in every torch 2.x (setup.py requires >= 2.0)
    floats, nonzeros = [], []
    for values in group:
        minimum, maximum = torch.aminmax(values)
        floats += [values.sum(), minimum, maximum]
        nonzeros.append(torch.linalg.vector_norm(values, 0, dtype=torch.float64))  # float64: exact counts
    sums_and_extremes = torch.stack(floats).reshape(len(group), 3).double()
    squares = torch.stack(norms).double().square()
    nan_inf = torch.zeros((len(group), 2), dtype=torch.float64, device=device)
    # The only synchronization: which sums are not finite. Only those tensors can hold NaN/Inf.
    for index in torch.nonzero(~torch.isfinite(sums_and_extremes[:, 0])).flatten().tolist():
        values = group[index]
        nan_inf[index] = torch.stack([torch.isnan(values).sum(), torch.isinf(values).sum()]).double()
    # After that synchronization, this copy waits for nothing.
    sizes = torch.tensor([float(values.numel()) for values in group], dtype=torch.float64, device=device)
    zeros = sizes - torch.stack(nonzeros)
    columns = [sizes, sums_and_extremes[:, 0], squares, sums_and_extremes[:, 1], sums_and_extremes[:, 2], zeros]
    return torch.cat([torch.stack(columns, dim=1), nan_inf], dim=1)


# Elements counted per numpy call: the boolean block stays in cache and its memory stays small.
_COUNT_BLOCK = 1 << 18


def _is_zero(block: np.ndarray) -> np.ndarray:
    return block == 0


def _count_where(predicate: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> int:
    """How many elements of the flat array ``values`` satisfy ``predicate`` (a vectorized test)."""
    blocks = (values[start : start + _COUNT_BLOCK] for start in range(0, values.size, _COUNT_BLOCK))
    return sum(int(np.count_nonzero(predicate(block))) for block in blocks)


def _host_array(values: torch.Tensor) -> Optional[np.ndarray]:
    """A numpy view of a flat CPU float tensor (no copy), or None where there is none."""
    if values.device.type != "cpu" or values.dtype not in (torch.float32, torch.float64) or not values.is_contiguous():
        return None
    return values.numpy()


def combine_moments(rows: np.ndarray) -> np.ndarray:
    """Combine moment rows ``[K, len(MOMENT_NAMES)]`` of K tensors into one row (empty rows ignored).

    The combined extremes are NaN when any row's are (NaN in, NaN out); no rows give zeros.
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(MOMENT_NAMES))
    present = rows[rows[:, 0] > 0]
    combined = present.sum(axis=0) if len(present) else np.zeros(len(MOMENT_NAMES))
    if len(present):
        combined[3] = present[:, 3].min()  # numpy's min and max propagate NaN
        combined[4] = present[:, 4].max()
    return combined


def layer_moments(
    moments: np.ndarray, layers: int, parameter_owners: Sequence[int], gradient_owners: Sequence[int]
) -> np.ndarray:
    """Arrange ``moments_of`` rows into ``[layers, len(STATISTIC_SOURCES), len(MOMENT_NAMES)]``.

    ``moments`` holds one activation row per layer, then a row per parameter, then a row per
    gradient; the owners give each parameter's and gradient's layer. A layer's parameters
    (weight and bias) are combined into one row, and so are their gradients.
    """
    moments = np.asarray(moments, dtype=np.float64)
    parameters = moments[layers : layers + len(parameter_owners)]
    gradients = moments[layers + len(parameter_owners) :]
    if len(gradients) != len(gradient_owners):
        raise ValueError(
            f"{len(moments)} moment rows do not match {layers} layers, "
            f"{len(parameter_owners)} parameters and {len(gradient_owners)} gradients"
        )
    parameter_owners, gradient_owners = np.asarray(parameter_owners, dtype=int), np.asarray(gradient_owners, dtype=int)
    table = np.zeros((layers, len(metadata.STATISTIC_SOURCES), len(MOMENT_NAMES)))
    weights, grads, activations = (metadata.STATISTIC_SOURCES.index(s) for s in ("weights", "gradients", "activations"))
    for layer in range(layers):
        table[layer, weights] = combine_moments(parameters[parameter_owners == layer])
        table[layer, grads] = combine_moments(gradients[gradient_owners == layer])
        table[layer, activations] = moments[layer]
    return table


def reduce_moments_across_ranks(moments: torch.Tensor) -> torch.Tensor:
    """Combine per-rank moment rows (``[..., len(MOMENT_NAMES)]``) under torch.distributed."""
    import torch.distributed as dist

    additive = moments[..., _ADDITIVE_MOMENTS].contiguous()
    minimum = moments[..., 3].contiguous()
    maximum = moments[..., 4].contiguous()
    dist.all_reduce(additive, op=dist.ReduceOp.SUM)
    dist.all_reduce(minimum, op=dist.ReduceOp.MIN)
    dist.all_reduce(maximum, op=dist.ReduceOp.MAX)
    combined = moments.clone()
    combined[..., _ADDITIVE_MOMENTS] = additive
    combined[..., 3] = minimum
    combined[..., 4] = maximum
    # A rank's NaN extremes do not survive MIN/MAX reductions: keep "NaN in, NaN out".
    has_nan = combined[..., 6] > 0
    combined[..., 3] = torch.where(has_nan, torch.full_like(minimum, float("nan")), combined[..., 3])
    combined[..., 4] = torch.where(has_nan, torch.full_like(maximum, float("nan")), combined[..., 4])
    return combined


def statistics_from_moments(moments: np.ndarray) -> np.ndarray:
    """Turn moment rows ``[..., len(MOMENT_NAMES)]`` into ``metadata.STATISTIC_NAMES`` rows (float64).

    A row with count 0 (no tensor) stays all zeros.
    """
    moments = np.asarray(moments, dtype=np.float64)
    count, total, squares, minimum, maximum, zeros, nans, infs = np.moveaxis(moments, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_count = np.where(count > 0, count, 1.0)
        mean = total / safe_count
        variance = np.maximum(squares / safe_count - mean * mean, 0.0)
        rows = np.stack(
            [count, mean, np.sqrt(variance), minimum, maximum, np.sqrt(squares), zeros / safe_count, nans, infs],
            axis=-1,
        )
    rows[count == 0] = 0.0
    assert rows.shape[-1] == len(metadata.STATISTIC_NAMES)
    return rows


def quantize_activations(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantize ``[N, C, ...]`` (or ``[N, F]``) activations to 8 bits with a range per image and channel.

    Returns ``(codes, ranges)``: ``codes`` is uint8 with the input's shape; finite values map
    linearly onto ``0..FINITE_LEVELS-1`` between the range's ends, NaN to ``CODE_NAN``, -Inf/+Inf
    to ``CODE_NEG_INF``/``CODE_POS_INF``. ``ranges`` is float32 ``[N, C, 2]`` (min, max of the
    finite values) for rank >= 3 and ``[N, 1, 2]`` (one range per image) for rank 2.
    """
    values = np.asarray(activations, dtype=np.float32)
    if values.ndim < 2:
        raise ValueError(f"activations need a batch dimension and features, got shape {values.shape}")
    grouped = values.reshape(values.shape[0], values.shape[1], -1) if values.ndim >= 3 else values[:, None, :]
    finite = np.isfinite(grouped)
    all_finite = bool(finite.all())
    if all_finite:
        low = grouped.min(axis=2, initial=np.inf)
        high = grouped.max(axis=2, initial=-np.inf)
    else:
        low = np.where(finite, grouped, np.inf).min(axis=2, initial=np.inf)
        high = np.where(finite, grouped, -np.inf).max(axis=2, initial=-np.inf)
    empty = ~np.isfinite(low)  # a channel with no finite value
    low = np.where(empty, 0.0, low).astype(np.float32)
    high = np.where(empty, 0.0, high).astype(np.float32)
    span = np.where(high > low, high - low, 1.0)
    with np.errstate(invalid="ignore"):
        scaled = (grouped - low[..., None]) * ((FINITE_LEVELS - 1) / span)[..., None]
    codes = np.clip(np.rint(scaled), 0, FINITE_LEVELS - 1)
    if not all_finite:
        codes = np.where(finite, codes, 0)
    codes = codes.astype(np.uint8)
    if not all_finite:
        codes[np.isnan(grouped)] = CODE_NAN
        codes[np.isposinf(grouped)] = CODE_POS_INF
        codes[np.isneginf(grouped)] = CODE_NEG_INF
    return codes.reshape(values.shape), np.stack([low, high], axis=-1)


def dequantize_activations(codes: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Inverse of ``quantize_activations`` (float32, NaN/Inf restored from their codes)."""
    codes = np.asarray(codes)
    grouped = codes.reshape(codes.shape[0], ranges.shape[1], -1).astype(np.float32)
    low = ranges[..., 0:1].astype(np.float32)
    high = ranges[..., 1:2].astype(np.float32)
    values = low + grouped * (high - low) / (FINITE_LEVELS - 1)
    raw = codes.reshape(grouped.shape)
    values[raw == CODE_NAN] = np.nan
    values[raw == CODE_POS_INF] = np.inf
    values[raw == CODE_NEG_INF] = -np.inf
    return values.reshape(codes.shape)


@dataclasses.dataclass
class Confusion:
    """Confusion counts (rows: true class, columns: predicted class) and the images in each cell.

    The eval-image indices of cell ``(t, p)`` are ``cell_images[cell_offsets[k]:cell_offsets[k+1]]``
    with ``k = t * num_classes + p``, in ascending order.
    """

    counts: np.ndarray
    cell_offsets: np.ndarray
    cell_images: np.ndarray


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> Confusion:
    """Count (true, predicted) pairs and group eval-image indices by cell."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if labels.shape != predicted.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and predictions {predicted.shape} must be equal-length vectors")
    for name, values in (("label", labels), ("predicted class", predicted)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} outside 0..{num_classes - 1}")
    cells = labels * num_classes + predicted
    order = np.argsort(cells, kind="stable")
    per_cell = np.bincount(cells, minlength=num_classes * num_classes)
    offsets = np.concatenate([[0], np.cumsum(per_cell)])
    return Confusion(
        counts=per_cell.reshape(num_classes, num_classes),
        cell_offsets=offsets.astype(np.int64),
        cell_images=order.astype(np.int32),
    )


@dataclasses.dataclass
class Clusters:
    """K-Means clusters of eval-image features and their summary."""

    assignment: np.ndarray  # [N] cluster of each eval image
    nearest: np.ndarray  # [K, M] eval images nearest each centre, nearest first
    sizes: np.ndarray  # [K]
    majority_class: np.ndarray  # [K], -1 for an empty cluster
    purity: np.ndarray  # [K] fraction of members in the majority class
    projection: np.ndarray  # [N, 2] PCA projection of the features
    nonfinite_images: int  # images whose features had NaN/Inf (clustered as zeros)


def cluster_features(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    num_clusters: int,
    num_classes: int,
    metric: str = "euclidean",
    nearest_per_cluster: int = 20,
    seed: int = 0,
) -> Clusters:
    """K-Means (scikit-learn) on ``[N, D]`` features; ``metric="cosine"`` clusters unit-length rows.

    Uses a fixed ``seed`` so results are reproducible and no global random state is touched.
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"cluster metric must be 'euclidean' or 'cosine', got {metric!r}")
    points = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    labels = np.asarray(labels, dtype=np.int64)
    finite_rows = np.isfinite(points).all(axis=1)
    nonfinite = int((~finite_rows).sum())
    if nonfinite:
        points = np.where(np.isfinite(points), points, 0.0).astype(np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(points, axis=1, keepdims=True)
        points = points / np.where(norms > 0, norms, 1.0)
    count = len(points)
    k = max(1, min(num_clusters, count))
    kmeans = KMeans(n_clusters=k, n_init=1, random_state=seed)
    with warnings.catch_warnings():
        # Fewer distinct points than clusters (an untrained net) is data, not a problem.
        warnings.simplefilter("ignore", ConvergenceWarning)
        assignment = kmeans.fit_predict(points)
    distances = kmeans.transform(points)  # [N, K]
    m = min(nearest_per_cluster, count)
    nearest = np.argsort(distances, axis=0, kind="stable")[:m].T
    sizes = np.bincount(assignment, minlength=k)
    class_counts = np.zeros((k, num_classes), dtype=np.int64)
    np.add.at(class_counts, (assignment, labels), 1)
    majority = np.where(sizes > 0, class_counts.argmax(axis=1), -1)
    purity = np.where(sizes > 0, class_counts.max(axis=1) / np.maximum(sizes, 1), 0.0)
    projection = _project_2d(points, seed)
    return Clusters(
        assignment=assignment.astype(np.int32),
        nearest=nearest.astype(np.int32),
        sizes=sizes.astype(np.int32),
        majority_class=majority.astype(np.int32),
        purity=purity.astype(np.float32),
        projection=projection.astype(np.float32),
        nonfinite_images=nonfinite,
    )


def follow_previous(clusters: Clusters, previous: Optional[Clusters]) -> Clusters:
    """Renumber ``clusters`` and orient its projection to follow ``previous`` (the last checkpoint's).

    K-Means numbers its clusters arbitrarily and PCA's axes have no sign, so from one checkpoint
    to the next cluster 3 could become cluster 17 and the scatter could mirror. Here each new
    cluster takes the number of the previous cluster it shares most images with (an optimal
    one-to-one matching), and each projection axis is flipped where that makes it agree with
    the previous one. Without a comparable previous result, ``clusters`` is returned unchanged.
    """
    comparable = previous is not None and previous.assignment.shape == clusters.assignment.shape
    if not comparable or len(previous.sizes) != len(clusters.sizes):
        return clusters
    from scipy.optimize import linear_sum_assignment

    k = len(clusters.sizes)
    overlap = np.zeros((k, k), dtype=np.int64)  # [previous, new]
    np.add.at(overlap, (previous.assignment, clusters.assignment), 1)
    previous_ids, new_ids = linear_sum_assignment(overlap, maximize=True)
    number_of = np.empty(k, dtype=np.int32)  # new cluster -> its number now
    number_of[new_ids] = previous_ids
    order = np.argsort(number_of)  # the new cluster shown under each number
    projection = clusters.projection.copy()
    for axis in range(projection.shape[1]):
        if float(np.dot(projection[:, axis], previous.projection[:, axis])) < 0:
            projection[:, axis] = -projection[:, axis]
    return dataclasses.replace(
        clusters,
        assignment=number_of[clusters.assignment],
        nearest=clusters.nearest[order],
        sizes=clusters.sizes[order],
        majority_class=clusters.majority_class[order],
        purity=clusters.purity[order],
        projection=projection,
    )


def _project_2d(points: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    count, dims = points.shape
    components = min(2, count, dims)
    projection = np.zeros((count, 2), dtype=np.float32)
    if components >= 1 and count > 1 and float(points.var(axis=0).sum()) > 0:  # identical points have no axes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a single varying direction leaves a 0/0 ratio
            projection[:, :components] = PCA(n_components=components, random_state=seed).fit_transform(points)
    return projection


def spread_over_classes(labels: Sequence[int], count: int) -> list[int]:
    """Pick ``count`` eval-image indices round-robin over classes (first images of each class first)."""
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(index)
    queues = [by_class[c] for c in sorted(by_class)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < count and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < count:
                chosen.append(queue[depth])
        depth += 1
    return sorted(chosen)
