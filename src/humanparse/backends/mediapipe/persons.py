"""Persons in a photo from MediaPipe: pose detection passes confirmed by a face mesh on the head.

Shared by the ``mediapipe`` (rule-based) and ``lite`` (trained network) backends, so both find the
same people.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import detect as L
from .detect import Detector, PosePerson, find_persons
from .geometry import head_box

FACE_CROP = 256
"""Side in pixels the head crop is resized to before the face landmarker (its detector wants faces
filling a good part of a 128x128 input)."""


def face_mesh_on_head(detector: Detector, work: np.ndarray, lm: np.ndarray) -> np.ndarray | None:
    """Face mesh ``(468, 2)`` float32 in ``work`` pixels from an upscaled head crop, or None.

    Args:
        work: ``(H, W, 3)`` uint8 RGB.
        lm: ``(33, 4)`` pose landmarks of the person (:class:`.detect.PosePerson`).
    Returns None when the head is not visible, too small (< 8 px), or the mesh found does not sit on
    this person's head at a plausible size.
    """
    if lm[list(L.HEAD), 3].mean() < 0.5:
        return None
    cx, cy, side = head_box(lm)
    if side < 8:
        return None
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    n = int(round(side))
    crop = np.zeros((n, n, 3), np.uint8)
    H, W = work.shape[:2]
    sx1, sy1, sx2, sy2 = max(x0, 0), max(y0, 0), min(x0 + n, W), min(y0 + n, H)
    if sx2 <= sx1 or sy2 <= sy1:
        return None
    crop[sy1 - y0:sy2 - y0, sx1 - x0:sx2 - x0] = work[sy1:sy2, sx1:sx2]
    mesh = detector.face(cv2.resize(crop, (FACE_CROP, FACE_CROP), interpolation=cv2.INTER_LINEAR))
    if mesh is None:
        return None
    mesh = mesh * (n / FACE_CROP) + np.array([x0, y0], np.float32)
    # sanity: the mesh must sit on this person's head, at a plausible size
    centre = mesh.mean(0)
    width = np.ptp(mesh[:, 0])
    if np.linalg.norm(centre - np.array([cx, cy])) > 0.35 * side or not (0.15 * side < width < 0.9 * side):
        return None
    return mesh


def detect_persons(detector: Detector, work: np.ndarray, max_persons: int, use_windows: bool = True,
                   face_mesh: bool = True) -> list[PosePerson]:
    """The ``max_persons`` most confident persons of ``work`` (``(H, W, 3)`` uint8 RGB).

    :func:`.detect.find_persons` with, when ``face_mesh``, a face mesh on the head confirming people
    found in the painted-out pass; sorted by score (rounded to 0.01), ties to the larger mask.
    """
    confirm = (lambda p: face_mesh_on_head(detector, work, p.landmarks) is not None) if face_mesh else None
    persons = find_persons(detector, work, use_windows=use_windows, confirm=confirm)
    persons.sort(key=lambda p: (-round(p.score, 2), -int((p.mask > 0.5).sum())))
    return persons[:max_persons]


def resize_for_work(image: np.ndarray, work_size: int, min_size: int) -> tuple[np.ndarray, float]:
    """Working copy of ``image`` whose long side is at most ``work_size`` and at least ``min_size``.

    Returns ``(work, scale)`` with ``scale`` = work / original (1.0: ``image`` itself, not a copy).
    """
    h, w = image.shape[:2]
    long_ = max(h, w)
    s = 1.0
    if long_ > work_size:
        s = work_size / long_
    elif long_ < min_size:
        s = min_size / long_
    if s == 1.0:
        return image, 1.0
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR), s
