"""The background worker: jobs in order, failures warned at once and raised by raise_failures."""

from __future__ import annotations

import threading

import pytest

from tensorboard_deepviz.writer.worker import DeepVizError, Worker


def test_jobs_run_in_order_on_one_thread():
    worker = Worker(queue_size=1)
    ran: list[tuple[int, str]] = []
    for index in range(5):
        worker.submit(f"job {index}", lambda index=index: ran.append((index, threading.current_thread().name)))
    worker.join()
    assert [index for index, _ in ran] == list(range(5))
    assert {name for _, name in ran} == {"deepviz-writer"}
    worker.stop()
    worker.raise_failures()  # nothing failed: no error


def test_a_failing_job_is_warned_the_next_still_runs_and_raise_failures_counts_them():
    worker = Worker(queue_size=2)
    ran = []

    def fail() -> None:
        raise OSError("disk full")

    with pytest.warns(RuntimeWarning, match=r"deepviz: writing checkpoint 1 failed: OSError\('disk full'\)"):
        worker.submit("checkpoint 1", fail)
        worker.submit("checkpoint 2", lambda: ran.append(2))
        worker.join()
    with pytest.warns(RuntimeWarning, match=r"writing checkpoint 2 failed \(clusters\): ValueError"):
        worker.report("checkpoint 2", ValueError("no points"), "clusters")
    worker.stop()
    assert ran == [2]
    with pytest.raises(DeepVizError, match=r"2 record\(s\); the first, checkpoint 1, failed with: OSError") as raised:
        worker.raise_failures()
    assert isinstance(raised.value.__cause__, OSError)
