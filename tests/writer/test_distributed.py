"""Under torch.distributed, statistics are combined across ranks and only rank 0 writes."""

from __future__ import annotations

import glob
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tensorboard_deepviz.contract import metadata
from tests.support.logreader import open_logs

WORLD_SIZE = 2
NAMES = list(metadata.STATISTIC_NAMES)


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_main(rank: int, port: int, logdir: str) -> None:
    import sys

    sys.path.insert(0, REPO_ROOT)  # spawned processes import the test helpers from the repository
    from tensorboard_deepviz import DeepViz
    from tests.support.models import SmallResNet, make_images

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    try:
        torch.manual_seed(0)  # identical weights on both ranks, as after DDP's broadcast
        model = SmallResNet()
        images, labels = make_images(32)
        writer_dir = os.path.join(logdir, f"rank{rank}")
        with DeepViz(writer_dir, model, (images, labels), clusters=2) as viz:
            # Each rank sees its own batch: rank 1's batch is scaled so the ranks' activations differ.
            batch = images[rank * 8 : rank * 8 + 8] * (1 + 9 * rank)
            model(batch)
            viz.log_step(1)
            torch.save(viz._last_outputs.latest["stem.0"], os.path.join(logdir, f"stem_output_{rank}.pt"))
            if rank == 1:
                batch[0, 0, 0, 0] = float("nan")
            model(batch)
            viz.log_step(2)
            torch.save(viz._last_outputs.latest["stem.0"], os.path.join(logdir, f"stem_output_nan_{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_statistics_are_combined_across_ranks_and_only_rank_0_writes(tmp_path):
    mp.start_processes(_rank_main, args=(_free_port(), str(tmp_path)), nprocs=WORLD_SIZE, start_method="spawn")
    assert glob.glob(str(tmp_path / "rank0" / "events.out.tfevents*"))
    assert not glob.glob(str(tmp_path / "rank1" / "events.out.tfevents*"))
    with open_logs(str(tmp_path), "python") as reader:
        by_step = reader.statistics("rank0", "stem.0")
    source = metadata.STATISTIC_SOURCES.index("activations")

    outputs = [torch.load(tmp_path / f"stem_output_{rank}.pt") for rank in range(WORLD_SIZE)]
    both = torch.cat([o.reshape(-1) for o in outputs]).double().numpy()
    activations = by_step[1][source]
    assert activations[NAMES.index("count")] == both.size
    assert activations[NAMES.index("mean")] == pytest.approx(both.mean(), rel=1e-5)
    assert activations[NAMES.index("std")] == pytest.approx(both.std(), rel=1e-4)
    assert activations[NAMES.index("min")] == pytest.approx(both.min())
    assert activations[NAMES.index("max")] == pytest.approx(both.max())  # rank 1's larger values count
    assert activations[NAMES.index("zero_fraction")] == pytest.approx((both == 0).sum() / both.size)
    assert activations[NAMES.index("nan_count")] == 0

    outputs = [torch.load(tmp_path / f"stem_output_nan_{rank}.pt") for rank in range(WORLD_SIZE)]
    both = torch.cat([o.reshape(-1) for o in outputs]).double().numpy()
    activations = by_step[2][source]
    assert activations[NAMES.index("nan_count")] == int(np.isnan(both).sum()) > 0
    assert np.isnan(activations[NAMES.index("max")])  # NaN in, NaN out, whichever rank had it

    weights = by_step[1][metadata.STATISTIC_SOURCES.index("weights")]
    assert weights[NAMES.index("count")] == 8 * 3 * 3 * 3 + 8  # replicas: one copy counted
