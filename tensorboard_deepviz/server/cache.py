"""A thread-safe least-recently-used cache bounded by the bytes it holds.

The plugin caches decoded records and rendered responses: the data of a (run, tag, step)
never changes, so entries never go stale; only memory bounds them.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Hashable, Optional


class ByteBoundedLRU:
    """Maps keys to values, evicting the least recently used once ``max_bytes`` is exceeded.

    Each value's size comes from ``sizeof(value)``; a value larger than the whole budget is
    returned to the caller but not kept.
    """

    def __init__(self, max_bytes: int, sizeof: Callable[[Any], int]) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._max_bytes = max_bytes
        self._sizeof = sizeof
        self._entries: collections.OrderedDict[Hashable, tuple[Any, int]] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Optional[Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: Any) -> None:
        size = int(self._sizeof(value))
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self._max_bytes:
                return
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Cached value for ``key``, computing (outside the lock) and storing it on a miss."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value
