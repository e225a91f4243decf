"""One found person, whatever found it: the record every person finder returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def enlarged_box(box: tuple[float, float, float, float], factor: float,
                 hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` ``(x1, y1, x2, y2)`` enlarged ``factor`` times around its centre, rounded outwards to whole
    pixels and clipped to a photo of ``hw`` ``(H, W)``."""
    x1, y1, x2, y2 = box
    cx, cy, half_w, half_h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * factor / 2, (y2 - y1) * factor / 2
    H, W = hw
    return (max(0, int(np.floor(cx - half_w))), max(0, int(np.floor(cy - half_h))),
            min(W, int(np.ceil(cx + half_w))), min(H, int(np.ceil(cy + half_h))))


@dataclass
class Detection:
    """A person found in a photo (not yet parsed; the parsed result is :class:`humanparse.Person`).

    Attributes:
        box: ``(x1, y1, x2, y2)`` float pixels of the photo the finder saw (x2, y2 exclusive).
        score: confidence 0..1 (YOLOX: objectness x person class score; MediaPipe pose: mean presence
            of the head and torso landmarks).
        landmarks: ``(33, 4)`` float32 BlazePose landmarks (x, y pixels, visibility, presence), or None.
        mask: ``(H, W)`` float32 0..1 soft person mask over the whole photo, or None.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = None
    mask: np.ndarray | None = None

    def scaled(self, s: float) -> "Detection":
        """The box (and landmarks' x, y) multiplied by ``s`` (a photo resized by ``s``); the mask is dropped
        unless ``s`` is 1."""
        lm = None
        if self.landmarks is not None:
            lm = self.landmarks.copy()
            lm[:, :2] *= s
        return Detection(tuple(float(v) * s for v in self.box), self.score, lm, self.mask if s == 1 else None)
