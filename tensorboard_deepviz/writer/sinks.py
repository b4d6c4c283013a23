"""Adapts the user's writer (torch, tensorboardX, or a log directory) to one ``add(summary, step)``."""

from __future__ import annotations

import os
import threading
from typing import Any, Union

from tensorboard.compat.proto import summary_pb2


class SummarySink:
    """Writes deepviz ``Summary`` protos through whatever writer the user has.

    Accepted writers:
      * ``torch.utils.tensorboard.SummaryWriter`` (its file writer takes TensorBoard's protos);
      * ``tensorboardX.SummaryWriter`` (its own Summary class lacks ``data_class``, so the proto
        is re-parsed into that class; the field survives as an unknown field);
      * any object with ``add_summary(summary, global_step)`` (e.g. a file writer);
      * a log directory path: a TensorBoard ``EventFileWriter`` is opened there and closed by
        ``close()``.
    """

    def __init__(self, writer: Union[str, os.PathLike, Any]) -> None:
        self._owned = None
        self._lock = threading.Lock()
        self._convert = None
        if isinstance(writer, (str, os.PathLike)):
            from tensorboard.summary.writer.event_file_writer import EventFileWriter

            self._owned = EventFileWriter(os.fspath(writer))
            self._target = _EventTarget(self._owned)
            self._flusher = self._owned
        elif hasattr(writer, "_get_file_writer"):
            self._target = writer._get_file_writer()
            self._flusher = writer
            if type(writer).__module__.startswith("tensorboardX"):
                from tensorboardX.proto import summary_pb2 as tbx_summary_pb2

                self._convert = lambda summary: tbx_summary_pb2.Summary.FromString(summary.SerializeToString())
        elif hasattr(writer, "add_summary"):
            self._target = writer
            self._flusher = writer
        else:
            raise TypeError(
                "writer must be a torch.utils.tensorboard.SummaryWriter, a tensorboardX.SummaryWriter, "
                f"an object with add_summary(summary, global_step), or a log directory; got {type(writer).__name__}"
            )

    def add(self, summary: summary_pb2.Summary, step: int) -> None:
        """Append ``summary`` at ``step``; safe to call from the background worker."""
        if self._convert is not None:
            summary = self._convert(summary)
        with self._lock:
            self._target.add_summary(summary, int(step))

    def flush(self) -> None:
        if hasattr(self._flusher, "flush"):
            self._flusher.flush()

    def close(self) -> None:
        """Flush; close the event file only if this sink opened it (the user owns their writer)."""
        self.flush()
        if self._owned is not None:
            self._owned.close()


class _EventTarget:
    """``add_summary`` for a bare ``EventFileWriter``."""

    def __init__(self, event_writer: Any) -> None:
        self._event_writer = event_writer

    def add_summary(self, summary: summary_pb2.Summary, global_step: int) -> None:
        import time

        from tensorboard.compat.proto import event_pb2

        self._event_writer.add_event(event_pb2.Event(wall_time=time.time(), step=global_step, summary=summary))
