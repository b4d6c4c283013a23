"""Sharded checkpoints under torch.distributed: each rank evaluates its slice, rank 0 writes.

Every rank passes the same eval set and calls ``log_checkpoint``. Rank ``r`` of ``world`` runs
the eval pass over its own contiguous slice of the eval set (``eval_share``), on its own device;
collectors reduce what they see as in a single process. Then every rank sends its collectors'
host snapshots to rank 0 with one ``gather_object`` collective, and rank 0 merges them with each
collector's ``combine`` (slices are in rank order, so concatenating them gives the eval set's
order) and writes. Collectors that need no eval-set batches (weights, Grad-CAM of the probe
images, feature visualization) run on rank 0 alone (docs/ARCHITECTURE.md, "Many GPUs").

The same code runs over gloo (CPU) and NCCL (GPU): with NCCL, each process must have selected
its device (``torch.cuda.set_device``) before the first checkpoint, as DDP itself requires.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence


def world_size() -> int:
    """The number of processes of the default torch.distributed group; 1 without one."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank in the default torch.distributed group; 0 without one."""
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_writing_rank() -> bool:
    """Whether this process writes records: rank 0, or the only process."""
    return rank() == 0


def eval_share(size: int, rank: int, world: int) -> range:
    """The contiguous slice of ``size`` eval images that ``rank`` of ``world`` evaluates.

    Slices differ in length by at most one (the first ``size % world`` ranks take one more) and
    follow each other in rank order, so rank 0's slice, then rank 1's, ... is the whole eval set.
    A rank beyond the eval set's size gets an empty slice.
    """
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in a world of {world} processes")
    base, extra = divmod(size, world)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (1 if rank < extra else 0))


@dataclasses.dataclass
class RankPart:
    """What one rank sends to rank 0 for a checkpoint: snapshots and failures, by collector position."""

    snapshots: dict[int, Any]
    failures: dict[int, str]  # the error as text: an exception object may not survive pickling


def gather_to_rank_zero(part: RankPart) -> Optional[list[RankPart]]:
    """Send ``part`` to rank 0; rank 0 receives every rank's part in rank order, others None.

    A collective: every rank of the default group must call it for the same checkpoint.
    """
    import torch.distributed as dist

    parts: Optional[list[Any]] = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(part, parts, dst=0)
    return [part for part in parts if isinstance(part, RankPart)] if parts is not None else None


def merge_parts(parts: Sequence[RankPart], position: int) -> tuple[list[Any], list[str]]:
    """Every rank's snapshot of the collector at ``position``, and the failures reported for it.

    A rank that failed contributes its error instead of a snapshot (named with the rank); the
    caller combines the snapshots only when none failed, since a missing slice would give a
    wrong answer, not a smaller one.
    """
    snapshots: list[Any] = []
    failures: list[str] = []
    for source, part in enumerate(parts):
        if position in part.failures:
            failures.append(f"on rank {source}: {part.failures[position]}")
        elif position in part.snapshots:
            snapshots.append(part.snapshots[position])
        else:
            failures.append(f"on rank {source}: the collector did not take part in this checkpoint")
    return snapshots, failures
