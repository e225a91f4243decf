"""Frame dropping: a one-place mailbox where a newer frame replaces one not yet taken.

A live stream must stay live: when frames arrive faster than they are processed, the oldest waiting one is
thrown away instead of queued, so at most one frame ever waits (memory stays bounded and the answer is at
most one frame old), and every drop is counted.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds at most one item. Thread-safe; non-blocking (callers wait with their own event / loop).

    Attributes:
        received: items put so far.
        dropped: items replaced by a newer one before they were taken (never processed).
        taken: items handed out by :meth:`take`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self._full = False
        self.received = 0
        self.dropped = 0
        self.taken = 0

    def put(self, item: T) -> bool:
        """Store ``item``; returns True if it replaced a waiting item (which counts as dropped)."""
        with self._lock:
            replaced = self._full
            self._item, self._full = item, True
            self.received += 1
            self.dropped += replaced
            return replaced

    def take(self) -> T | None:
        """The waiting item (removed), or ``None`` if there is none."""
        with self._lock:
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            self.taken += 1
            return item

    def discard(self) -> bool:
        """Throw the waiting item away (counted as dropped); True if there was one."""
        with self._lock:
            had = self._full
            self._item, self._full = None, False
            self.dropped += had
            return had

    def __len__(self) -> int:
        return int(self._full)
