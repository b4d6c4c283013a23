"""Sharded checkpoints: two gloo processes, each evaluating half the eval set, write what one process writes."""

from __future__ import annotations

import glob
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tensorboard_deepviz.writer import distributed
from tests.support.logreader import open_logs

WORLD_SIZE = 2
EVAL_IMAGES = 37  # odd, so the ranks' slices differ in length
CHECKPOINTS = (3, 6)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train_and_log(logdir: str | None) -> None:
    """The same training and logging in every process: identical weights, as DDP keeps them."""
    from tensorboard_deepviz import DeepViz
    from tests.support.models import SmallResNet, make_images, train_logged

    torch.manual_seed(0)
    model = SmallResNet()
    images, labels = make_images(EVAL_IMAGES)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    options = dict(clusters=3, nearest_per_cluster=4, batch_size=8, probe=[0, 5, 20, 36], top_images=4)
    with DeepViz(logdir, model, (images, labels), **options) as viz:
        train_logged(viz, model, optimizer, images, labels, CHECKPOINTS)


def _rank_main(rank: int, port: int, logdir: str) -> None:
    import sys

    sys.path.insert(0, REPO_ROOT)  # spawned processes import the test helpers from the repository
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    try:
        _train_and_log(os.path.join(logdir, "sharded") if rank == 0 else None)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("sharded")
    mp.start_processes(_rank_main, args=(_free_port(), str(logdir)), nprocs=WORLD_SIZE, start_method="spawn")
    _train_and_log(str(logdir / "single"))
    return logdir


def test_two_ranks_write_what_one_process_writes(logs):
    assert glob.glob(str(logs / "sharded" / "events.out.tfevents*"))
    with open_logs(str(logs), "python") as reader:
        single_tags = reader.blob_tags("single")
        sharded_tags = reader.blob_tags("sharded")
        assert sorted(sharded_tags) == sorted(single_tags)
        kinds = {info.kind for info in single_tags.values()}
        assert {"weights", "activations", "predictions", "confusion", "clusters", "units", "attribution"} <= kinds
        for tag in sorted(single_tags):
            steps = reader.record_steps("single", tag)
            assert reader.record_steps("sharded", tag) == steps, tag
            for step in steps:
                one, two = reader.record("single", tag, step), reader.record("sharded", tag, step)
                _assert_same_fields(two.fields, one.fields, f"{tag} {step}")
                assert sorted(one.arrays) == sorted(two.arrays), (tag, step)
                tied = _tied_top_entries(one) if single_tags[tag].kind == "units" else None
                for name, expected in one.arrays.items():
                    got = two.arrays[name]
                    if tied is not None and name in ("top_images", "top_positions", "top_boxes"):
                        # Images that tie on a unit's score (a unit silent on many images) are
                        # equally right in either order: compare the others.
                        expected, got = expected[~tied], got[~tied]
                    if expected.dtype == np.uint8:  # 8-bit codes: a value on a rounding edge may land one off
                        assert np.abs(got.astype(int) - expected.astype(int)).max(initial=0) <= 1, (tag, step, name)
                    elif expected.dtype.kind in "iub":  # indices, counts, classes: exactly the same
                        np.testing.assert_array_equal(got, expected, err_msg=f"{tag} {step} {name}")
                    else:  # float16 values may round the other way
                        rtol, atol = (2e-3, 1e-4) if expected.dtype == np.float16 else (1e-4, 1e-5)
                        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"{tag} {step} {name}")


def _tied_top_entries(units) -> np.ndarray:
    """``[units, k]``: whether each kept score ties with another eval image's (in the list, or at its end)."""
    values = units.arrays["top_values"]
    tied = np.zeros(values.shape, dtype=bool)
    for unit, row in enumerate(values):
        for slot, value in enumerate(row):
            tied[unit, slot] = np.count_nonzero(row == value) > 1 or value == row[-1]
    return tied


def _assert_same_fields(got: object, expected: object, where: str) -> None:
    """Equal JSON fields; floats (maxima, scales) to rounding, since thread counts differ between the runs."""
    if isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-7, nan_ok=True), where
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(expected), where
        for key in expected:
            _assert_same_fields(got[key], expected[key], f"{where} {key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for index, (a, b) in enumerate(zip(got, expected)):
            _assert_same_fields(a, b, f"{where}[{index}]")
    else:
        assert got == expected, where


def test_the_slices_cover_the_eval_set_once_in_rank_order():
    for size in (0, 1, 5, 37, 1000):
        for world in (1, 2, 3, 8):
            slices = [distributed.eval_share(size, rank, world) for rank in range(world)]
            assert [i for s in slices for i in s] == list(range(size))
            assert max(map(len, slices)) - min(map(len, slices)) <= 1
    with pytest.raises(ValueError, match="rank 2 is not in a world of 2"):
        distributed.eval_share(10, 2, 2)


def test_a_collector_that_failed_on_one_rank_is_reported_with_that_rank():
    parts = [
        distributed.RankPart(snapshots={0: "a", 1: "b"}, failures={}),
        distributed.RankPart(snapshots={0: "c"}, failures={1: "ValueError: broken unit"}),
    ]
    assert distributed.merge_parts(parts, 0) == (["a", "c"], [])
    snapshots, failures = distributed.merge_parts(parts, 1)
    assert snapshots == ["b"]
    assert failures == ["on rank 1: ValueError: broken unit"]
    _, missing = distributed.merge_parts(parts, 2)
    assert missing == [f"on rank {rank}: the collector did not take part in this checkpoint" for rank in (0, 1)]
