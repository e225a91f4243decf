"""Persons in a photo from MediaPipe: pose detection passes confirmed by a face mesh on the head.

Used by the ``mediapipe`` (rule-based) backend and by the ``lite`` backend's ``persons="pose"`` path
(the previous release's person finder), so both find the same people.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import pose as L
from .pose import Detector, PosePerson, find_persons, head_box
from .record import enlarged_box

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


BOX_CONTEXT = 1.3
"""A detector box is enlarged this much around its centre before the pose landmarker sees it (the
landmarker wants the whole body with some room around it)."""

RETRY_CONTEXTS = (2.0, 3.0)
"""When the landmarker finds nobody in the :data:`BOX_CONTEXT` crop, the box is tried again with these
enlargements, in turn, until someone is found. MediaPipe's pose detector finds some people only with
more of the scene around them (measured 2026-12-06 on ../shared/data/unlabeled_photos): the middle
astronaut of ``apollo11_crew.jpg`` is found from 1.6x his box on. With this retry the ``mediapipe``
backend gained on ``cihp_val`` (``bench/crowds_val.py --configs mediapipe``; docs/backend-mediapipe.md)."""

RETRY_INSIDE = 0.6
"""A pose found in a wider retry crop counts only when at least this share of its mask (> 0.5) lies
inside the detector box itself: a wide crop may hold someone (or something) else. In ``jockey.jpg`` the
3x crop's pose is the horse (the rider's box holds 34 % of its mask), so the rider stays without a pose
rather than being given the horse."""


def _pose_in_crop(detector: Detector, work: np.ndarray, box: tuple[float, float, float, float],
                  crop: tuple[int, int, int, int], min_inside: float = 0.0) -> PosePerson | None:
    """The pose of ``work[crop]`` whose mask lies most inside ``box`` (photo pixels, mask over the whole
    photo), or None when the landmarker finds nobody there, the crop is under 8 px, or less than
    ``min_inside`` of that pose's mask (> 0.5) lies inside ``box``."""
    x1, y1, x2, y2 = crop
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    found = detector.poses(np.ascontiguousarray(work[y1:y2, x1:x2]))
    if not found:
        return None
    bx1, by1, bx2, by2 = box
    ix1, iy1 = int(bx1) - x1, int(by1) - y1
    ix2, iy2 = int(np.ceil(bx2)) - x1, int(np.ceil(by2)) - y1

    def share_and_area(p: PosePerson) -> tuple[float, float]:
        m = p.mask > 0.5
        area = float(m.sum())
        return float(m[max(iy1, 0):iy2, max(ix1, 0):ix2].sum()) / max(area, 1.0), area

    def inside(p: PosePerson) -> float:
        share, area = share_and_area(p)
        return share * area ** 0.5

    best = max(found, key=inside)
    if share_and_area(best)[0] < min_inside:
        return None
    best.landmarks[:, 0] += x1
    best.landmarks[:, 1] += y1
    full = np.zeros(work.shape[:2], np.float32)
    full[y1:y2, x1:x2] = best.mask
    best.mask = full
    return best


def poses_in_boxes(detector: Detector, work: np.ndarray, boxes: list[tuple[float, float, float, float]],
                   context: float = BOX_CONTEXT,
                   retry_contexts: tuple[float, ...] = RETRY_CONTEXTS) -> list[PosePerson | None]:
    """One MediaPipe pose per detector box, found on the box's own crop (a single-person model at its best).

    Args:
        detector: the landmarkers (:class:`.pose.Detector`).
        work: ``(H, W, 3)`` uint8 RGB photo.
        boxes: ``(x1, y1, x2, y2)`` person boxes in ``work`` pixels (e.g. :class:`.yolox.YoloxDetector`'s).
        context: enlargement of each box around its centre for the crop (:data:`BOX_CONTEXT`).
        retry_contexts: where nobody is found, tries with these enlargements in turn (:data:`RETRY_CONTEXTS`),
            keeping a pose only if :data:`RETRY_INSIDE` of its mask lies in the box; ``()``: no retry.
    Returns:
        per box, the pose whose mask lies most inside the box (landmarks in ``work`` pixels, mask over
        the whole photo, zero outside the crop), or None when the landmarker finds nobody there.
    """
    hw = work.shape[:2]
    out: list[PosePerson | None] = []
    for box in boxes:
        near = enlarged_box(box, context, hw)
        pose = _pose_in_crop(detector, work, box, near)
        for wider in retry_contexts:
            if pose is not None:
                break
            pose = _pose_in_crop(detector, work, box, enlarged_box(box, wider, hw), min_inside=RETRY_INSIDE)
        out.append(pose)
    return out
