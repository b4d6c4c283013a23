"""The background worker: a bounded queue of write jobs and the one thread that runs them.

The training thread only enqueues; encoding, clustering and writing happen here, in order. The
queue is bounded, so a slow disk makes the training thread wait rather than hold an unbounded
number of checkpoints in memory; nothing is dropped. A job's failure never reaches the training
loop: it is warned about at once and raised as ``DeepVizError`` by ``close()``.
"""

from __future__ import annotations

import atexit
import queue
import threading
import warnings
import weakref
from typing import Callable, Optional, Protocol


class DeepVizError(RuntimeError):
    """Raised by ``close()`` when the background worker failed to write some records."""


class Worker:
    """Runs write jobs on one daemon thread, in the order they were submitted.

    Args:
      queue_size: jobs that may wait before ``submit`` blocks.
      name: the thread's name.
    """

    def __init__(self, queue_size: int, name: str = "deepviz-writer") -> None:
        self._queue: queue.Queue[Optional[Callable[[], None]]] = queue.Queue(maxsize=queue_size)
        self._errors: list[tuple[str, BaseException]] = []
        self._errors_lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, what: str, write: Callable[[], None]) -> None:
        """Queue ``write``, waiting while the queue is full; if it raises, ``what`` names it in the report."""

        def job() -> None:
            try:
                write()
            except Exception as error:  # reported, never raised into the training loop
                self.report(what, error)

        self._queue.put(job)

    def report(self, what: str, error: BaseException, where: str = "") -> None:
        """Record a failed write: warn now, raise at ``raise_failures``. ``where`` says which part failed."""
        part = f" ({where})" if where else ""
        with self._errors_lock:
            self._errors.append((what + part, error))
        # On the worker thread: the warning points at no line of the user's, so none is named.
        warnings.warn(
            f"deepviz: writing {what} failed{part}: {error!r}; training continues", RuntimeWarning, stacklevel=1
        )

    def join(self) -> None:
        """Wait until every queued job has run."""
        self._queue.join()

    def stop(self) -> None:
        """Run what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def raise_failures(self) -> None:
        """Raise ``DeepVizError`` naming the first failed write and counting all of them, if any failed."""
        with self._errors_lock:
            errors = list(self._errors)
        if errors:
            what, first = errors[0]
            raise DeepVizError(
                f"deepviz failed to write {len(errors)} record(s); the first, {what}, failed with: {first!r}"
            ) from first

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                job()
            finally:
                self._queue.task_done()


class _Closable(Protocol):
    def close(self) -> None: ...


def close_at_exit(owner: _Closable) -> None:
    """Call ``owner.close()`` when the interpreter exits, unless ``owner`` is gone by then.

    A training script that ends without ``close()`` still gets its queued records written; a
    ``DeepVizError`` from that late close becomes a warning. Only a weak reference is held.
    """
    atexit.register(_close_at_exit, weakref.ref(owner))


def _close_at_exit(owner_ref: weakref.ReferenceType[_Closable]) -> None:
    owner = owner_ref()
    if owner is not None:
        try:
            owner.close()
        except DeepVizError as error:
            warnings.warn(str(error), RuntimeWarning, stacklevel=1)
