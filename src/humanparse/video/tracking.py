"""Person tracking across video frames: stable person ids, and no person lost to one missed detection.

Per-frame parsing finds each frame's people afresh, so ids follow the left-to-right order of the frame and
a detector miss (a person touching every edge, motion blur) makes a person vanish for that frame.
:class:`PersonTracker` runs after the parser, frame by frame (the video pipeline and the live path)::

    tracker = PersonTracker()
    for rgb in frames:
        tracked = tracker.update(rgb, backend.predict(rgb))   # a Parsing whose person ids are track ids
        tracker.states                                        # {track id: "detected" | "kept"}

Each frame, every track's last person mask (and part labels) is moved into the new frame along the dense
optical flow (DIS, as in :mod:`.smoothing`), then detections are matched to the moved masks by mask IoU
(Hungarian assignment, :data:`MATCH_IOU`; the SORT / ByteTrack association step, Bewley et al. 2016,
Zhang et al. 2022, with masks instead of boxes and flow instead of a Kalman filter). A matched
detection continues its track's id; an unmatched one starts a new id. A track without a detection is
*kept* with its moved mask unless there is evidence that the person is gone:

* the image under the moved mask changed (mean grey-level flow residual above :data:`GONE_RESIDUAL`:
  a scene cut, the person walked off faster than the flow follows),
* the moved mask left the frame or shrank below :data:`GONE_AREA` of its last detected size,
* another person's detection covers it (:data:`COVERED`), or
* it has been kept for :data:`MAX_KEPT` frames in a row without a detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..labels import get_label_set
from ..parsing import Parsing, instance_ids
from .smoothing import FLOW_DEADZONE, flow_gray, warp

MATCH_IOU = 0.3
"""Least mask IoU between a detection and a track's moved mask for them to be the same person."""
GONE_RESIDUAL = 20.0
"""Mean absolute grey-level residual (0..255) under a kept track's moved mask above which the person is gone."""
GONE_AREA = 0.2
"""A kept track whose moved mask has less than this fraction of its last detected area is gone."""
COVERED = 0.6
"""A kept track whose moved mask lies for this fraction under other persons' detections is gone."""
MAX_KEPT = 50
"""Most consecutive frames a track is kept without a detection (2 s at 25 frames/s)."""


@dataclass
class Track:
    """One person followed across frames.

    Attributes:
        id: stable person id (1, 2, ... in order of first appearance; never reused).
        labels: ``(H, W)`` uint8 part labels of the person in the latest frame (0 outside the person).
        score: score of the latest detection.
        area: pixels of the latest detection.
        kept: consecutive frames kept without a detection (0 = detected in the latest frame).
        frames: frames the track has been present in.
    """

    id: int
    labels: np.ndarray
    score: float
    area: int
    kept: int = 0
    frames: int = 1

    @property
    def mask(self) -> np.ndarray:
        return self.labels > 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.count_nonzero(a & b)
    if inter == 0:
        return 0.0
    return inter / float(np.count_nonzero(a | b))


def _assign(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs ``(row, col)`` of a maximum-IoU one-to-one assignment, each with IoU >= ``threshold``."""
    if iou.size == 0:
        return []
    try:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(-iou)
        pairs = list(zip(rows.tolist(), cols.tolist()))
    except ImportError:  # pragma: no cover - scipy comes with pymatting; greedy otherwise
        pairs, used_r, used_c = [], set(), set()
        for flat in np.argsort(-iou, axis=None):
            r, c = divmod(int(flat), iou.shape[1])
            if r not in used_r and c not in used_c:
                pairs.append((r, c))
                used_r.add(r)
                used_c.add(c)
    return [(r, c) for r, c in pairs if iou[r, c] >= threshold]


def tracked_parsing(labels: np.ndarray, instances: np.ndarray, label_set, scores: dict[int, float]) -> Parsing:
    """A :class:`Parsing` that keeps the given person ids (``instances`` values, any positive ints) instead of
    renumbering them 1..N as :meth:`Parsing.from_maps` does; persons listed in id order.

    Args:
        labels: ``(H, W)`` uint8 class ids; instances: ``(H, W)`` uint16 track ids (0 = none);
        scores: ``{id: score}`` (missing ids get 1.0).
    """
    ids = instance_ids(instances)
    n = max(ids, default=0)
    ls = get_label_set(label_set)
    persons = Parsing._persons(labels.astype(np.uint8), instances.astype(np.uint16), ls,
                               [scores.get(k, 1.0) for k in range(1, n + 1)])
    present = set(ids)
    return Parsing(labels, instances, ls, [p for p in persons if p.id in present])


class PersonTracker:
    """Stable person ids across frames, and people kept through detector misses (see the module doc).

    Args:
        match_iou: :data:`MATCH_IOU`; gone_residual: :data:`GONE_RESIDUAL`; max_kept: :data:`MAX_KEPT`.
    Raises:
        ValueError: ``match_iou`` outside (0, 1], ``max_kept`` < 0.
    """

    def __init__(self, match_iou: float = MATCH_IOU, gone_residual: float = GONE_RESIDUAL,
                 max_kept: int = MAX_KEPT) -> None:
        if not 0.0 < match_iou <= 1.0:
            raise ValueError(f"match_iou must be in (0, 1], got {match_iou}")
        if max_kept < 0:
            raise ValueError(f"max_kept must be >= 0, got {max_kept}")
        self.match_iou = float(match_iou)
        self.gone_residual = float(gone_residual)
        self.max_kept = int(max_kept)
        self.tracks: list[Track] = []
        self.states: dict[int, str] = {}
        """Track id -> ``"detected"`` or ``"kept"`` for the persons of the latest :meth:`update`."""
        self._next_id = 1
        self._gray: np.ndarray | None = None
        self._shape: tuple[int, int] | None = None
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)

    def reset(self) -> None:
        """Forget all tracks (a scene cut); ids keep counting up."""
        self.tracks, self.states, self._gray, self._shape = [], {}, None, None

    # ------------------------------------------------------------------ motion
    def _move(self, image: np.ndarray) -> tuple[np.ndarray | None, float]:
        """Move every track into this frame along the optical flow; returns the full-size residual map
        (grey levels, or None on the first frame) and the flow scale."""
        gray, scale = flow_gray(image)
        prev, self._gray = self._gray, gray
        if prev is None or prev.shape != gray.shape or not self.tracks:
            return None, scale
        flow = self._dis.calc(gray, prev, None)
        flow[(flow ** 2).sum(axis=2) < FLOW_DEADZONE ** 2] = 0.0
        resid = np.abs(gray.astype(np.float32) - warp(prev, flow).astype(np.float32))
        h, w = image.shape[:2]
        if scale < 1.0:
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) / scale
            resid = cv2.resize(resid, (w, h), interpolation=cv2.INTER_LINEAR)
        for t in self.tracks:
            t.labels = warp(t.labels, flow, cv2.INTER_NEAREST)
        return resid, scale

    # ------------------------------------------------------------------ the step
    def update(self, image: np.ndarray, parsing: Parsing) -> Parsing:
        """Track the persons of the next frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB frame; parsing: the parser's :class:`Parsing` of it.
        Returns:
            a :class:`Parsing` of the frame whose person ids are track ids (stable across frames, any
            positive int, see :func:`tracked_parsing`), with the persons kept through a detector miss
            painted in where no detected person is. :attr:`states` says which is which.
        Raises:
            ValueError: ``image`` and ``parsing`` differ in size.
        """
        h, w = parsing.labels.shape
        if image.shape[:2] != (h, w):
            raise ValueError(f"image {image.shape[:2]} and parsing {(h, w)} differ in size")
        if self._shape is not None and self._shape != (h, w):
            self.reset()
        self._shape = (h, w)
        resid, _ = self._move(image)
        dets = [(p, parsing.instances == p.id) for p in parsing.persons]
        dets = [(p, m) for p, m in dets if m.any()]
        iou = np.array([[_iou(m, t.mask) for t in self.tracks] for _, m in dets], np.float64).reshape(
            len(dets), len(self.tracks))
        pairs = _assign(iou, self.match_iou)
        matched_tracks = {c for _, c in pairs}
        det_track: dict[int, Track] = {r: self.tracks[c] for r, c in pairs}

        labels = np.zeros((h, w), np.uint8)
        inst = np.zeros((h, w), np.uint16)
        scores: dict[int, float] = {}
        states: dict[int, str] = {}
        alive: list[Track] = []
        detected_any = np.zeros((h, w), bool)
        for r, (p, m) in enumerate(dets):
            t = det_track.get(r)
            own = np.where(m, parsing.labels, 0).astype(np.uint8)
            if t is None:
                t = Track(self._next_id, own, p.score, int(m.sum()))
                self._next_id += 1
            else:
                t.labels, t.score, t.area, t.kept, t.frames = own, p.score, int(m.sum()), 0, t.frames + 1
            labels[m] = parsing.labels[m]
            inst[m] = t.id
            detected_any |= m
            scores[t.id], states[t.id] = t.score, "detected"
            alive.append(t)
        for c, t in enumerate(self.tracks):
            if c in matched_tracks or not self._still_there(t, resid, detected_any):
                continue
            free = t.mask & ~detected_any & (inst == 0)
            labels[free] = t.labels[free]
            inst[free] = t.id
            t.kept += 1
            t.frames += 1
            scores[t.id], states[t.id] = t.score, "kept"
            alive.append(t)
        self.tracks = sorted(alive, key=lambda t: t.id)
        self.states = {k: states[k] for k in sorted(states)}
        out = tracked_parsing(labels, inst, parsing.label_set, scores)
        out.timings = dict(parsing.timings)
        return out

    def _still_there(self, t: Track, resid: np.ndarray | None, detected: np.ndarray) -> bool:
        """No evidence that the undetected person of track ``t`` is gone (module doc)."""
        if t.kept >= self.max_kept or resid is None:
            return False
        m = t.mask
        area = int(m.sum())
        if area < GONE_AREA * t.area:
            return False
        if np.count_nonzero(m & detected) >= COVERED * area:
            return False
        return float(resid[m].mean()) <= self.gone_residual
