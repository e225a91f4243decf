"""``mode=parts``: the default parser runs beside the stream, its last result reused while a new one is computed.

The parser is far slower than the camera (about a second per frame on 2 cores). :class:`PartsFollower` hands
it the newest frame whenever it is idle and answers every frame at once with the most recent finished
:class:`humanparse.Parsing`, so the stream keeps the camera's rate and the part masks refresh at the parser's.
Frames are never queued for the parser: at most one is in work.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Callable

import numpy as np

from ..parsing import Parsing

Submit = Callable[[np.ndarray], Future]
"""Starts parsing one ``(H, W, 3)`` uint8 RGB frame, returns a Future of its :class:`Parsing`. May raise
(e.g. the service's ``QueueFullError``): the frame is then simply not parsed."""


class PartsFollower:
    """Keeps the latest parsing of a stream, computed by ``submit`` in the background.

    Args:
        submit: see :data:`Submit`.
        first_timeout_s: how long :meth:`update` waits for the very first parsing (later calls never wait).
    Attributes:
        parsed: parsings finished so far; ``errors``: parser failures (the last message in ``last_error``).
    """

    def __init__(self, submit: Submit, first_timeout_s: float = 60.0) -> None:
        self._submit = submit
        self._lock = threading.Lock()
        self._pending: Future | None = None
        self._latest: Parsing | None = None
        self._latest_context = None
        self._latest_at = 0.0
        self.first_timeout_s = float(first_timeout_s)
        self.parsed = 0
        self.errors = 0
        self.last_error: str | None = None

    def _done(self, fut: Future, context=None) -> None:
        with self._lock:
            if self._pending is fut:
                self._pending = None
            if fut.cancelled():
                return
            exc = fut.exception()
            if exc is not None:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                return
            self._latest, self._latest_at = fut.result(), time.perf_counter()
            self._latest_context = context
            self.parsed += 1

    def update(self, rgb: np.ndarray) -> Parsing | None:
        """Offer frame ``rgb`` to the parser (taken only if it is idle) and return the latest parsing.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB frame.
        Returns:
            the most recent finished :class:`Parsing` (of this or an earlier frame; its size may differ from
            ``rgb``'s after a resolution change), or ``None`` if none has finished yet: only then does the call
            wait, up to ``first_timeout_s``, for the first one.
        """
        return self.follow(rgb)[0]

    def follow(self, rgb: np.ndarray, context=None) -> tuple[Parsing | None, object]:
        """As :meth:`update`, with ``context`` kept beside the frame if the parser takes it (e.g. the frame's
        selfie alpha) and handed back with the parsing made from that frame.

        Returns:
            ``(latest parsing or None, the context given with the frame it was parsed from)``.
        """
        with self._lock:
            start = self._pending is None
        fut = None
        if start:
            try:
                fut = self._submit(np.array(rgb, copy=True))   # the caller may reuse its buffer
            except Exception as e:  # noqa: BLE001 - a refused frame is skipped, the stream goes on
                self.errors += 1
                self.last_error = f"{type(e).__name__}: {e}"
            else:
                with self._lock:
                    self._pending = fut
                fut.add_done_callback(lambda f, c=context: self._done(f, c))
        with self._lock:
            latest, latest_context, pending = self._latest, self._latest_context, self._pending
        if latest is None and pending is not None:
            try:
                pending.result(timeout=self.first_timeout_s)
            except Exception:  # noqa: BLE001 - recorded by _done
                pass
            with self._lock:
                latest, latest_context = self._latest, self._latest_context
        return latest, latest_context

    @property
    def age_s(self) -> float | None:
        """Seconds since the latest parsing finished (``None``: none yet)."""
        return None if self._latest is None else time.perf_counter() - self._latest_at

    def close(self, timeout: float = 30.0) -> None:
        """Wait for the parsing in work, if any (its result is discarded)."""
        with self._lock:
            pending = self._pending
        if pending is not None:
            try:
                pending.result(timeout=timeout)
            except Exception:  # noqa: BLE001
                pass
