"""Temporal stability of a matte sequence.

``flicker`` = mean over consecutive frame pairs of the mean absolute alpha change per pixel,
``mean_t mean_x |a_t(x) - a_{t-1}(x)|``, in alpha units (0..1; 0.01 = one percent of full opacity per
pixel per frame). On a static-camera shot of a still person every change is an error, so the figure
measures flicker directly; with real motion it also counts true change, so compare smoothing modes
on the same clip only. (The temporal-change term of video matting metrics such as dtSSD, Erofeev et
al., "Perceptually Motivated Benchmark for Video Matting", BMVC 2015, without the ground truth.)
"""

from __future__ import annotations

from typing import Iterable

import numpy as np


class FlickerMeter:
    """Running :func:`flicker`: call :meth:`update` with each frame's alpha, read :attr:`value`."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._sum = 0.0
        self.pairs = 0

    def update(self, alpha: np.ndarray) -> None:
        """Add the next ``(H, W)`` alpha (float in [0, 1], or uint8 0..255 which is divided by 255).

        Raises:
            ValueError: not 2-D, or a size different from the previous frame's.
        """
        a = np.asarray(alpha)
        if a.ndim != 2:
            raise ValueError(f"alpha must be (H, W), got shape {a.shape}")
        a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32, copy=False)
        if self._prev is not None:
            if self._prev.shape != a.shape:
                raise ValueError(f"alpha size changed from {self._prev.shape} to {a.shape}")
            self._sum += float(np.abs(a - self._prev).mean())
            self.pairs += 1
        self._prev = a

    @property
    def value(self) -> float:
        """Mean absolute alpha change between consecutive frames (0..1); 0.0 with fewer than 2 frames."""
        return self._sum / self.pairs if self.pairs else 0.0


def flicker(alphas: Iterable[np.ndarray]) -> float:
    """Flicker of a sequence of ``(H, W)`` alpha mattes (see module doc); 0.0 for fewer than 2 frames."""
    meter = FlickerMeter()
    for a in alphas:
        meter.update(a)
    return meter.value
