"""The background thread that renders feature visualizations, one job at a time, and when its records may be written.

A job takes seconds to minutes, far longer than a checkpoint's pass, so it cannot run on the
training thread nor in the writer's worker (whose queue the next checkpoint waits on). It runs
here, on a copy of the model taken at the checkpoint, and its records are handed to the writer's
worker afterwards, at the step of the checkpoint whose weights they used.

The order of records in the log: a checkpoint's records end with its marker, which names them
(``writer.checkpoint``). A job's records come later and must come *after* that marker, so that
a reader never takes them for part of a half-written checkpoint. The runner therefore holds a
job's records until the checkpoint's own records are being written by the worker
(``release(step)``, called from the collector's ``write`` in the worker): anything posted to the
worker's queue from then on is written after the marker. ``drain`` (from ``flush`` and
``close``, after the worker has written every queued checkpoint) releases everything and waits
for the running job.

Threads: ``busy``, ``start``, ``drain`` and ``close`` are called by the training thread;
``release`` by the worker; the job runs on this runner's own daemon thread, at a lower CPU
priority where the system allows it (Linux: nice +10 for this thread and the compute threads it
starts), so that on a CPU the training loop's threads go first.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
from typing import Callable, Optional, Protocol

from tensorboard.compat.proto import summary_pb2

# Added to the runner thread's nice value (Linux; elsewhere the priority is left alone).
BACKGROUND_NICENESS = 10

Publish = Callable[[summary_pb2.Summary], None]


class LateRecords(Protocol):
    """Where records finished after their checkpoint go: the writer's worker (``DeepViz`` provides it)."""

    def post(self, what: str, step: int, record: summary_pb2.Summary) -> None:
        """Queue ``record`` for writing at ``step``; ``what`` names it in a failure report."""

    def report(self, what: str, error: BaseException) -> None:
        """Report a failure like the worker's own: a warning now, ``DeepVizError`` at ``close()``."""


@dataclasses.dataclass
class Job:
    """One job: the records of the checkpoint at ``step``, made by ``work``, which hands each one to ``publish``.

    Args:
      step: the checkpoint whose weights the job uses; its records are written at this step.
      what: how failure reports name the job.
      work: does the job; raises on failure.
    """

    step: int
    what: str
    work: Callable[[Publish], None]


class Runner:
    """Runs one ``Job`` at a time on its own thread, started with the first job.

    Args:
      name: the thread's name.
    """

    def __init__(self, name: str = "deepviz-feature-vis") -> None:
        self._name = name
        self._late: Optional[LateRecords] = None
        self._condition = threading.Condition()
        self._job: Optional[Job] = None
        self._released = -1  # records of steps up to this one may be posted
        self._closing = False
        self._thread: Optional[threading.Thread] = None

    def attach(self, late: LateRecords) -> None:
        """Where finished records and failures go; needed before ``start``."""
        self._late = late

    def busy(self) -> bool:
        """Whether a job is running (or waiting to post its records)."""
        with self._condition:
            return self._job is not None

    def start(self, job: Job) -> None:
        """Hand ``job`` to the thread and return at once; refused while another job runs."""
        if self._late is None:
            raise RuntimeError("the feature visualization runner has nowhere to write its records")
        with self._condition:
            if self._closing:
                raise RuntimeError("the feature visualization runner is closed")
            if self._job is not None:
                raise RuntimeError("a feature visualization job is already running")
            self._job = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def release(self, step: int) -> None:
        """The checkpoint at ``step`` is being written: records of steps up to it may follow its marker."""
        with self._condition:
            self._released = max(self._released, step)
            self._condition.notify_all()

    def drain(self) -> None:
        """Release the running job's records and wait until it is done.

        Call it only once the worker has written every checkpoint handed to it (``DeepViz.flush``
        joins the worker first), so that the job's checkpoint marker is already in the log.
        """
        with self._condition:
            if self._job is not None:
                self._released = max(self._released, self._job.step)
                self._condition.notify_all()
            self._condition.wait_for(lambda: self._job is None)

    def close(self) -> None:
        """``drain``, then end the thread. Safe to call more than once."""
        self.drain()
        with self._condition:
            self._closing = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # ---------------------------------------------------------------- the thread

    def _work(self) -> None:
        _lower_priority()
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._job is not None or self._closing)
                job = self._job
                if job is None:
                    return
            try:
                job.work(functools.partial(self._publish, job))
            except Exception as error:  # reported, never raised into training
                late = self._late
                if late is not None:
                    late.report(job.what, error)
            finally:
                with self._condition:
                    self._job = None
                    self._condition.notify_all()

    def _publish(self, job: Job, record: summary_pb2.Summary) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._released >= job.step)
        late = self._late
        if late is not None:
            late.post(job.what, job.step, record)


def _lower_priority() -> None:
    """Raise this thread's nice value on Linux, where it is per thread (and inherited by threads it starts)."""
    if not (hasattr(os, "setpriority") and hasattr(threading, "get_native_id")):
        return
    try:
        thread_id = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + BACKGROUND_NICENESS))
    except OSError:  # not permitted or not supported: run at the usual priority
        pass
