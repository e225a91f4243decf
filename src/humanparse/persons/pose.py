"""MediaPipe person finding: run MediaPipe's PoseLandmarker (per-person landmarks + masks) and Face Mesh (468 face points).

The pose landmarker is the Tasks API in IMAGE mode (bundle from :mod:`.assets`). Faces use the legacy
``mediapipe.solutions.face_mesh`` graph in static-image mode, which runs the wheel's
``face_landmark.tflite`` with its own graph: the Tasks ``FaceLandmarker`` accepts that model in a bundle
but decodes its output in the wrong layout (checked: nose/chin points land off the face), because it
expects the 478-point attention model that the wheel does not carry. Both are created once per
:class:`Detector` and serialised by one lock, so a detector can serve many images from several threads.
Their native log lines are kept off the terminal by :func:`humanparse.logs.native_stderr_quieted`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from ..logs import native_stderr_quieted
from .mediapipe_assets import bundle_path

# Pose landmark indices (BlazePose 33-point topology; MediaPipe "left" = the person's own left).
NOSE, L_EYE, R_EYE, L_EAR, R_EAR, MOUTH_L, MOUTH_R = 0, 2, 5, 7, 8, 9, 10
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_PINKY, R_PINKY, L_INDEX, R_INDEX, L_THUMB, R_THUMB = 17, 18, 19, 20, 21, 22
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
L_HEEL, R_HEEL, L_FOOT, R_FOOT = 29, 30, 31, 32
HEAD = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)


@dataclass
class PosePerson:
    """One person found by the pose landmarker.

    Attributes:
        landmarks: ``(33, 4)`` float32: x, y in pixels of the full image, visibility, presence (0..1).
        mask: ``(H, W)`` float32 segmentation confidence 0..1 over the full image.
        score: person confidence 0..1 (mean presence of the torso and head landmarks).
    """

    landmarks: np.ndarray
    mask: np.ndarray
    score: float

    def point(self, i: int) -> np.ndarray:
        """``(2,)`` float32 pixel position of landmark ``i``."""
        return self.landmarks[i, :2]

    def landmark_box(self) -> tuple[float, float, float, float]:
        """``(x1, y1, x2, y2)`` of the landmarks with presence > 0.5 (all landmarks if none)."""
        lm = self.landmarks
        ok = lm[:, 3] > 0.5
        pts = lm[ok, :2] if ok.any() else lm[:, :2]
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _mp_image(rgb: np.ndarray):
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb, dtype=np.uint8))


class Detector:
    """Pose and face landmarkers, created once and reused.

    Args:
        num_poses: most persons the pose landmarker returns per call.
        min_pose_detection_confidence: pose-detector threshold; 0.3 finds people that 0.5 misses in
            group photos (measured on /work/shared/data/multi_person, see docs/backend-mediapipe.md).
        min_face_detection_confidence: face-detector threshold on head crops.
    """

    def __init__(self, num_poses: int = 10, min_pose_detection_confidence: float = 0.3,
                 min_face_detection_confidence: float = 0.4) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self._lock = threading.Lock()
        self.num_poses = int(num_poses)
        with native_stderr_quieted():
            self._pose = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(bundle_path("pose_landmarker"))),
                running_mode=vision.RunningMode.IMAGE, num_poses=self.num_poses,
                min_pose_detection_confidence=min_pose_detection_confidence,
                min_pose_presence_confidence=0.5, min_tracking_confidence=0.5,
                output_segmentation_masks=True))
            from mediapipe.python.solutions import face_mesh

            self._face = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False,
                                            min_detection_confidence=min_face_detection_confidence)
            # The graphs finish starting up in MediaPipe's own threads after creation returns (and log then):
            # one call on a blank image waits for that inside the quiet block.
            blank = np.zeros((64, 64, 3), np.uint8)
            self._pose.detect(_mp_image(blank))
            self._face.process(blank)

    def poses(self, rgb: np.ndarray) -> list[PosePerson]:
        """Persons in ``rgb`` (``(H, W, 3)`` uint8), unordered, at most ``num_poses``."""
        h, w = rgb.shape[:2]
        with self._lock:
            with native_stderr_quieted():    # sub-graphs log when they first run (first image with a person)
                res = self._pose.detect(_mp_image(rgb))
        out = []
        for i, lms in enumerate(res.pose_landmarks):
            lm = np.array([[p.x * w, p.y * h, p.visibility or 0.0, p.presence or 0.0] for p in lms], np.float32)
            mask = np.array(res.segmentation_masks[i].numpy_view(), np.float32).reshape(h, w)
            core = list(HEAD) + [L_SHOULDER, R_SHOULDER, L_HIP, R_HIP]
            out.append(PosePerson(lm, mask, float(np.clip(lm[core, 3].mean(), 0, 1))))
        return out

    def face(self, rgb: np.ndarray) -> np.ndarray | None:
        """Face mesh of the most confident face in ``rgb`` (a head crop, ``(h, w, 3)`` uint8):
        ``(468, 2)`` float32 pixels in MediaPipe's canonical face-mesh order, or None."""
        h, w = rgb.shape[:2]
        with self._lock:
            with native_stderr_quieted():    # as in poses()
                res = self._face.process(np.ascontiguousarray(rgb, dtype=np.uint8))
        if not res.multi_face_landmarks:
            return None
        return np.array([[p.x * w, p.y * h] for p in res.multi_face_landmarks[0].landmark], np.float32)

    def close(self) -> None:
        """Release both landmarkers."""
        with self._lock:
            self._pose.close()
            self._face.close()


def body_scale(lm: np.ndarray) -> float:
    """A person's size in pixels: the largest of shoulder width, torso length and 3x ear distance.

    Args:
        lm: ``(33, 4)`` landmarks (x, y pixels, visibility, presence).
    """
    p = lm[:, :2]
    torso = np.linalg.norm((p[L_SHOULDER] + p[R_SHOULDER]) / 2 - (p[L_HIP] + p[R_HIP]) / 2)
    return float(max(np.linalg.norm(p[L_SHOULDER] - p[R_SHOULDER]), torso,
                     3 * np.linalg.norm(p[L_EAR] - p[R_EAR]), 4.0))


def head_box(lm: np.ndarray, margin: float = 2.4) -> tuple[float, float, float]:
    """Square around the head for the face landmarker: ``(cx, cy, side)`` in pixels.

    Face width is estimated as the largest of ear distance, 2.2x eye distance and 0.45x shoulder width
    (works for frontal and profile heads); ``side = margin * face width``.
    """
    p = lm[:, :2]
    head = p[list(HEAD)]
    cx, cy = head.mean(0)
    width = max(np.linalg.norm(p[L_EAR] - p[R_EAR]), 2.2 * np.linalg.norm(p[L_EYE] - p[R_EYE]),
                0.45 * np.linalg.norm(p[L_SHOULDER] - p[R_SHOULDER]), 4.0)
    return float(cx), float(cy), float(margin * width)



# ---------------------------------------------------------------------------------------------------
# multi-pass detection: the pose detector sees the image letterboxed to 224x224, so people in wide
# group photos are small; square windows along the long side find them.

CORE = (NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
SAME_PERSON = 0.45
"""Two detections are one person when the median distance of their CORE landmarks is below this
fraction of the smaller body scale (tuned on /work/shared/data/multi_person: 0.3 leaves duplicates from
the windows, 0.6 merges neighbours)."""


WINDOW_STRIDE = 0.6
"""Window step as a fraction of the window side: neighbours overlap by >= 40 %, so anybody narrower than
that is whole in some window (0.5 finds the same persons on /work/shared/data with more calls)."""


CONTAINED = 0.7
BODY_START = 0.3
"""A window detection whose mask lies for CONTAINED inside the mask of an already found person and
whose nose is on that person's body (past BODY_START of the shoulder-to-hip axis) is dropped unless a
face confirms it: prints on clothes were detected as people (/work/shared/data/ccp 0025, 0029), while
a jockey inside his horse's mask (unlabeled_photos/jockey.jpg) has his head above it."""


TALL_ASPECT = 2.0
"""Portrait photos get windows only when taller than this many widths: a standing person is tall and
narrow, so in a portrait photo people already fill the detector's letterbox, and square windows stacked
vertically cut them in two (such detections are dropped). Measured on the 101 CCP validation photos
at 640 px (portrait, one annotated person): the two vertical windows added a person in 2 photos (both
unannotated bystanders) and cost two of the four detector passes (docs/backend-lite.md)."""


def windows(height: int, width: int, aspect: float = 1.3, stride: float = WINDOW_STRIDE,
            tall_aspect: float = TALL_ASPECT) -> list[tuple[int, int, int, int]]:
    """Square windows ``(x1, y1, x2, y2)`` along the long side of a ``height x width`` image, at most
    ``stride`` x the short side apart: for a landscape image wider than ``aspect`` x its height, for a
    portrait one taller than ``tall_aspect`` x its width (:data:`TALL_ASPECT`); ``[]`` otherwise."""
    long_, short = max(height, width), min(height, width)
    if long_ <= (aspect if width >= height else tall_aspect) * short:
        return []
    n = int(np.ceil((long_ - short) / (stride * short))) + 1
    starts = np.linspace(0, long_ - short, n).round().astype(int)
    if width >= height:
        return [(int(s), 0, int(s) + short, height) for s in starts]
    return [(0, int(s), width, int(s) + short) for s in starts]


def _scale(p: PosePerson) -> float:
    lm = p.landmarks[:, :2]
    torso = np.linalg.norm((lm[L_SHOULDER] + lm[R_SHOULDER]) / 2 - (lm[L_HIP] + lm[R_HIP]) / 2)
    return float(max(np.linalg.norm(lm[L_SHOULDER] - lm[R_SHOULDER]), torso,
                     3 * np.linalg.norm(lm[L_EAR] - lm[R_EAR]), 1.0))


def same_person(a: PosePerson, b: PosePerson) -> bool:
    """Whether two detections are the same person (see :data:`SAME_PERSON`)."""
    d = np.linalg.norm(a.landmarks[list(CORE), :2] - b.landmarks[list(CORE), :2], axis=1)
    return bool(np.median(d) < SAME_PERSON * min(_scale(a), _scale(b)))


def _cut_by_window(mask: np.ndarray, box: tuple[int, int, int, int], height: int, width: int) -> bool:
    """True when a window detection's mask runs along an inner window edge (a person cut in two)."""
    x1, y1, x2, y2 = box
    m = mask > 0.5
    area = int(m.sum())
    if area == 0:
        return True
    edges = []
    if x1 > 0:
        edges.append(m[:, :3].sum())
    if x2 < width:
        edges.append(m[:, -3:].sum())
    if y1 > 0:
        edges.append(m[:3].sum())
    if y2 < height:
        edges.append(m[-3:].sum())
    return any(e > 0.25 * np.sqrt(area) for e in edges)


def _inside_body(p: PosePerson, mask: np.ndarray, found: list[PosePerson]) -> bool:
    """Whether detection ``p`` (full-image ``mask``) lies mostly (:data:`CONTAINED`) inside a found
    person and has its nose on that person's body, below :data:`BODY_START` of the torso."""
    area = max(int(mask.sum()), 1)
    nose = p.landmarks[NOSE, :2]
    for q in found:
        if (mask & (q.mask > 0.5)).sum() <= CONTAINED * area:
            continue
        lm = q.landmarks[:, :2]
        sh, hip = (lm[L_SHOULDER] + lm[R_SHOULDER]) / 2, (lm[L_HIP] + lm[R_HIP]) / 2
        axis = hip - sh
        if float(np.dot(nose - sh, axis)) > BODY_START * float(np.dot(axis, axis)):
            return True
    return False


def find_persons(detector: Detector, rgb: np.ndarray, use_windows: bool = True,
                 confirm: Callable[[PosePerson], bool] | None = None) -> list[PosePerson]:
    """All persons in ``rgb``: one pass on the whole image plus, for wide/tall images, one per window,
    plus one pass on the image with the persons found so far painted out.

    Window detections cut by an inner window edge, or lying on the body of a person found before
    (:data:`BODY_START`) without ``confirm`` accepting them, are dropped; duplicates (:func:`same_person`) keep
    the first found (whole image first). Masks of window detections are pasted into full-size maps.
    The painted-out pass finds people the detector skipped (e.g. someone standing behind two others);
    its detections are kept only if their nose is outside the painted area and ``confirm`` (e.g. "a
    face mesh is found on its head") accepts them; without ``confirm`` that pass is skipped.

    Args:
        rgb: ``(H, W, 3)`` uint8.
    Returns:
        persons in discovery order (unsorted).
    """
    h, w = rgb.shape[:2]
    found: list[PosePerson] = []

    def add(p: PosePerson) -> None:
        if not any(same_person(p, q) for q in found):
            found.append(p)

    for p in detector.poses(rgb):
        add(p)
    if use_windows:
        for box in windows(h, w):
            x1, y1, x2, y2 = box
            for p in detector.poses(rgb[y1:y2, x1:x2]):
                if _cut_by_window(p.mask, box, h, w):
                    continue
                p.landmarks[:, 0] += x1
                p.landmarks[:, 1] += y1
                full = np.zeros((h, w), np.float32)
                full[y1:y2, x1:x2] = p.mask
                p.mask = full
                if _inside_body(p, full > 0.5, found) and (confirm is None or not confirm(p)):
                    continue  # a small faceless "person" inside someone found already (a print on a dress)
                add(p)
    if confirm is not None and found:
        covered = np.zeros((h, w), bool)
        for p in found:
            covered |= p.mask > 0.5
        covered = cv2.dilate(covered.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        painted = rgb.copy()
        painted[covered] = rgb.reshape(-1, 3).mean(0).astype(np.uint8)
        for p in detector.poses(painted):
            nx, ny = np.clip(p.landmarks[NOSE, :2], 0, [w - 1, h - 1]).astype(int)
            if covered[ny, nx] or any(same_person(p, q) for q in found):
                continue
            if confirm(p):
                p.mask = np.where(covered, np.minimum(p.mask, 0.49), p.mask)  # only its uncovered part
                found.append(p)
    return found
