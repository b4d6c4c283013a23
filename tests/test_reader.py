"""LogAccess over a real TensorBoard data provider: reading ahead while a timeline plays."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from tensorboard import context as tb_context

from logreader import open_logs
from models import write_training_run
from tensorboard_deepviz import metadata
from tensorboard_deepviz.reader import READ_AHEAD_STEPS, LogAccess

CHECKPOINTS = list(range(12))


class CountingProvider:
    """TensorBoard's own data provider, counting the blobs read through it."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self.blob_reads: list[str] = []

    def read_blob(self, ctx: Any, *, blob_key: str) -> bytes:
        with self._lock:
            self.blob_reads.append(blob_key)
        return self._provider.read_blob(ctx, blob_key=blob_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("reader"))
    write_training_run(path, "run", CHECKPOINTS, class_names=["a", "b"])
    return path


def _wait_for_reads(provider: CountingProvider, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while len(provider.blob_reads) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_reading_step_after_step_keeps_the_next_steps_read_ahead(logdir):
    with open_logs(logdir, "python") as reader:
        provider = CountingProvider(reader.provider)
        access = LogAccess(provider)
        ctx = tb_context.RequestContext()
        info = access.tag_info(ctx, "", "run", metadata.KIND_WEIGHTS, "stem.0")
        refs = access.steps(ctx, "", "run", info)
        assert [ref.step for ref in refs] == CHECKPOINTS
        blobs_per_record = len(refs[0].blob_keys)

        access.record(ctx, "", "run", info, refs[0])
        access.record(ctx, "", "run", info, refs[1])  # follows step 0: playback, so read ahead
        _wait_for_reads(provider, (2 + READ_AHEAD_STEPS) * blobs_per_record)
        for ref in refs[2:4]:  # served from what was read ahead; the window moves on
            assert access.record(ctx, "", "run", info, ref).arrays["weights"].shape[0] == 8
        last = 3 + READ_AHEAD_STEPS
        _wait_for_reads(provider, (last + 1) * blobs_per_record)
        time.sleep(0.3)  # and nothing beyond the window follows
        expected = [key for ref in refs[: last + 1] for key in ref.blob_keys]
        assert sorted(provider.blob_reads) == sorted(expected)  # each blob once


def test_a_jump_reads_only_what_it_asks_for(logdir):
    with open_logs(logdir, "python") as reader:
        provider = CountingProvider(reader.provider)
        access = LogAccess(provider)
        ctx = tb_context.RequestContext()
        info = access.tag_info(ctx, "", "run", metadata.KIND_WEIGHTS, "stem.0")
        refs = access.steps(ctx, "", "run", info)
        access.record(ctx, "", "run", info, refs[0])
        access.record(ctx, "", "run", info, refs[7])  # step 6 was never read: not playback
        time.sleep(0.3)
        assert sorted(provider.blob_reads) == sorted(refs[0].blob_keys + refs[7].blob_keys)
