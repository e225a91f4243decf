"""Running figures of a live stream: frames per second and latency percentiles over a recent window."""

from __future__ import annotations

import time
from collections import deque

import numpy as np


class RateMeter:
    """Frames/s and latency (ms) over the last ``window`` frames.

    Call :meth:`add` once per finished frame with its latency in seconds.
    """

    def __init__(self, window: int = 120) -> None:
        if window < 2:
            raise ValueError(f"window must be >= 2, got {window}")
        self._times: deque[float] = deque(maxlen=window)
        self._lat: deque[float] = deque(maxlen=window)
        self.count = 0

    def add(self, latency_s: float, now: float | None = None) -> None:
        """Record one finished frame with ``latency_s`` seconds (>= 0) from its arrival to its answer."""
        self._times.append(time.perf_counter() if now is None else now)
        self._lat.append(max(0.0, float(latency_s)))
        self.count += 1

    @property
    def fps(self) -> float:
        """Finished frames per second over the window (0.0 with fewer than 2 frames)."""
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])

    def latency_ms(self, q: float) -> float:
        """The ``q``-th percentile (0..100) of the window's latencies in ms (0.0 with no frame)."""
        return float(np.percentile(np.asarray(self._lat) * 1000.0, q)) if self._lat else 0.0

    def summary(self) -> dict:
        """``{"frames", "fps", "latency_ms_p50", "latency_ms_p95"}`` rounded for display."""
        return {"frames": self.count, "fps": round(self.fps, 2), "latency_ms_p50": round(self.latency_ms(50), 1),
                "latency_ms_p95": round(self.latency_ms(95), 1)}
