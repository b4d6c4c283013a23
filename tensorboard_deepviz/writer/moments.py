"""Layer moments of a model's tensors, computed where the tensors live.

Functions here run on the tensors' device and never synchronize it; the rows they return are
finished into statistics on the host by ``analysis.moments`` in the background worker.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ..analysis.moments import ADDITIVE_MOMENTS, MOMENT_NAMES


def tensor_moments(tensor: Optional[torch.Tensor]) -> torch.Tensor:
    """Return a float64 row of ``MOMENT_NAMES`` for ``tensor`` (all zeros when it is None or empty).

    The one-tensor case of ``moments_of``.
    """
    return moments_of([tensor])[0]


#: With ``sample_large``, CPU tensors of more elements than this take their extremes, sum of
#: squares and zero count from a sample: one block of ``SAMPLE_BLOCK`` in ``SAMPLE_EVERY``.
SAMPLED_ABOVE = 1 << 16
SAMPLE_BLOCK = 1 << 10
SAMPLE_EVERY = 16


def moments_of(tensors: Sequence[Optional[torch.Tensor]], *, sample_large: bool = False) -> torch.Tensor:
    """Return float64 rows ``[K, len(MOMENT_NAMES)]`` for K tensors (a zero row for None or empty).

    The rows are on the first tensor's CUDA device, or on the CPU. Sums and extremes include
    NaN/Inf values, so a tensor that holds them has NaN/Inf moments; ``nan_count`` and
    ``inf_count`` say how many there are.

    Host tensors are counted by numpy. On a CUDA device each tensor costs three kernels, and all
    of them one synchronization: NaN and Inf are counted only in tensors whose sum is not finite.
    Tensors on other accelerators (MPS has no float64, for one) are copied to the host first.

    With ``sample_large`` (a deep model's ``log_step`` on a CPU, where four passes over every
    tensor cost more than the target share of a training step), a host tensor of more than
    ``SAMPLED_ABOVE`` elements is read whole once, for its exact sum (so the mean, and whether
    it holds NaN or Inf, are exact); its min, max, sum of squares and zero count come from one
    block in ``SAMPLE_EVERY``, the latter two scaled to the whole. A tensor holding NaN or Inf
    is always measured whole.
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
            sampled = sample_large and values.numel() > SAMPLED_ABOVE
            rows[index] = _sampled_host_moments(values) if sampled else None
            if rows[index] is None:
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


def _sampled_host_moments(values: torch.Tensor) -> Optional[torch.Tensor]:
    """Moments from one full pass (the sum) and a sample; None when the tensor holds NaN or Inf."""
    total = float(values.sum(dtype=values.dtype))
    if not math.isfinite(total):
        return None  # measured whole, exactly: the counts and extremes of a broken tensor matter
    whole_blocks = values.numel() // SAMPLE_BLOCK
    # Blocks spread evenly over the tensor (every filter, image or unit region has some), copied
    # once into a small contiguous tensor that the three reductions then read from cache.
    sample = values[: whole_blocks * SAMPLE_BLOCK].view(whole_blocks, SAMPLE_BLOCK)[::SAMPLE_EVERY].reshape(-1)
    minimum, maximum = torch.aminmax(sample)
    scale = values.numel() / sample.numel()
    squares = float(torch.dot(sample, sample)) * scale
    zeros = _count_where(_is_zero, sample.numpy()) * scale
    row = [values.numel(), total, squares, float(minimum), float(maximum), zeros, 0, 0]
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


def reduce_moments_across_ranks(moments: torch.Tensor) -> torch.Tensor:
    """Combine per-rank moment rows (``[..., len(MOMENT_NAMES)]``) under torch.distributed."""
    import torch.distributed as dist

    additive = moments[..., ADDITIVE_MOMENTS].contiguous()
    minimum = moments[..., 3].contiguous()
    maximum = moments[..., 4].contiguous()
    dist.all_reduce(additive, op=dist.ReduceOp.SUM)
    dist.all_reduce(minimum, op=dist.ReduceOp.MIN)
    dist.all_reduce(maximum, op=dist.ReduceOp.MAX)
    combined = moments.clone()
    combined[..., ADDITIVE_MOMENTS] = additive
    combined[..., 3] = minimum
    combined[..., 4] = maximum
    # A rank's NaN extremes do not survive MIN/MAX reductions: keep "NaN in, NaN out".
    has_nan = combined[..., 6] > 0
    combined[..., 3] = torch.where(has_nan, torch.full_like(minimum, float("nan")), combined[..., 3])
    combined[..., 4] = torch.where(has_nan, torch.full_like(maximum, float("nan")), combined[..., 4])
    return combined
