"""The rule-based backend: :class:`MediaPipeBackend` (the default before ``lite``, kept for comparison).

Pipeline (all on a working copy of the image whose longest side is at most ``work_size``):
1. Persons (:mod:`humanparse.persons`): YOLOX-Nano boxes, then MediaPipe's PoseLandmarker on each box's
   crop (:func:`humanparse.persons.pose_finder.poses_in_boxes`): 33 landmarks + a segmentation mask per
   person. ``persons="pose"``: the previous finder, pose passes over the whole photo
   (:func:`humanparse.persons.pose.find_persons`).
2. Per person: face mesh on an upscaled head crop (MediaPipe Face Mesh) or a pose-based face ellipse;
   a skin-colour model fitted on the face's cheeks and nose (:mod:`.skin`); skeleton regions
   (:mod:`.geometry`).
3. Overlaps: a pixel inside several persons' masks (> 0.5) goes to the person whose skeleton is
   nearest relative to body size.
4. Classes per person from region + colour (:mod:`.labeling`); label and instance maps are resized
   back to the input size with nearest-neighbour.
Persons are numbered 1..N left to right by the x1 of their bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...parsing import Parsing
from ..base import MAX_PERSONS, Backend, check_image, parsing_left_to_right
from ...persons import YoloxDetector, finder_threshold
from ...persons import pose as L
from ...persons.pose import Detector, PosePerson, body_scale
from ...persons.pose_finder import detect_persons, face_mesh_on_head, poses_in_boxes, resize_for_work
from .geometry import FACE_CORE, FACE_OVAL, draw_skeleton, face_polygon_from_pose, nearest_region
from .labeling import label_person
from .skin import SkinModel

MAX_BONE_DIST = 0.9
"""Mask pixels farther than this many body scales from every bone of their person are dropped
(chairs, tables and neighbours that bled into the pose landmarker's mask)."""


@dataclass
class _Work:
    """Intermediate per-person data in working-image pixels."""

    pose: PosePerson
    box: tuple[int, int, int, int]
    face_poly: np.ndarray
    regions: np.ndarray
    pixels: np.ndarray
    cost: np.ndarray
    face: np.ndarray
    skin: SkinModel
    scale: float
    back: bool


def _seen_from_behind(lm: np.ndarray) -> bool:
    """True when the person's left shoulder is clearly on the image's left (MediaPipe's sides are the
    person's own, so facing the camera puts the left shoulder on the image's right)."""
    width = abs(float(lm[L.L_SHOULDER, 0] - lm[L.R_SHOULDER, 0]))
    return bool(min(lm[L.L_SHOULDER, 2], lm[L.R_SHOULDER, 2]) > 0.5
                and lm[L.L_SHOULDER, 0] < lm[L.R_SHOULDER, 0] and width > 0.15 * body_scale(lm))


class MediaPipeBackend(Backend):
    """Multi-person CIHP-20 parsing from MediaPipe pose/face landmarkers, skeleton geometry and skin colour.

    Offline: uses only the ``.tflite`` files inside the mediapipe==0.10.21 wheel (bundled on first use
    into the cache dir, see :mod:`.assets`). Produces: hair, upper-clothes, pants, skirt, torso-skin,
    face, left/right-arm, left/right-leg, left/right-shoe. Never produces: hat, glove, sunglasses,
    dress, coat, socks, scarf.

    Args:
        max_persons: most persons returned (the most confident ones; ties -> the larger).
        work_size: longest side in pixels of the working copy (default 1024); larger inputs are
            downscaled, smaller ones below ``min_size`` (default 256) upscaled; maps are resized back.
        min_pose_detection_confidence: pose detector threshold (default 0.3).
        use_windows: also detect on square windows of wide/tall images (default True).
        face_mesh: refine faces with MediaPipe Face Mesh on head crops (default True); also used to
            confirm people found in the painted-out detection pass of ``persons="pose"``.
        persons: ``"yolox"`` (default: YOLOX boxes, a pose per box) or ``"pose"`` (the previous finder).
        score_threshold: YOLOX person score threshold in [0, 1) (default :data:`humanparse.persons.yolox.SCORE_THRESHOLD`).
    Thread safety: one instance may be shared by threads; MediaPipe calls are serialised by a lock.
    """

    name = "mediapipe"
    label_set = "cihp"

    def __init__(self, max_persons: int = MAX_PERSONS, work_size: int = 1024, min_size: int = 256,
                 min_pose_detection_confidence: float = 0.3, use_windows: bool = True,
                 face_mesh: bool = True, persons: str = "yolox", score_threshold: float | None = None,
                 **options) -> None:
        super().__init__(max_persons=max_persons, **options)
        threshold = finder_threshold(persons, score_threshold)
        if work_size < 64 or min_size < 32 or min_size > work_size:
            raise ValueError(f"need 64 <= work_size and 32 <= min_size <= work_size, got {work_size}, {min_size}")
        if not 0.0 < min_pose_detection_confidence < 1.0:
            raise ValueError(f"min_pose_detection_confidence must be in (0, 1), got {min_pose_detection_confidence}")
        self.work_size, self.min_size = int(work_size), int(min_size)
        self.use_windows, self.face_mesh = bool(use_windows), bool(face_mesh)
        self.options.update(work_size=work_size, min_pose_detection_confidence=min_pose_detection_confidence,
                            use_windows=use_windows, face_mesh=face_mesh, persons=persons,
                            score_threshold=threshold)
        self.persons = persons
        self._yolox = YoloxDetector(threshold) if persons == "yolox" else None
        self._detector = Detector(num_poses=max(self.max_persons + 2, 4),
                                  min_pose_detection_confidence=min_pose_detection_confidence)

    def close(self) -> None:
        """Release the MediaPipe landmarkers."""
        self._detector.close()

    # ------------------------------------------------------------------ main entry
    def predict(self, image: np.ndarray) -> Parsing:
        """Parse ``image`` (``(H, W, 3)`` uint8 RGB) into a CIHP :class:`Parsing`.

        Raises:
            ImageError: not an ``(H, W, 3)`` uint8 array.
        """
        image = check_image(image)
        h, w = image.shape[:2]
        work, s = resize_for_work(image, self.work_size, self.min_size)
        if self._yolox is not None:
            dets = self._yolox.detect(work, self.max_persons)
            persons = []
            for d, p in zip(dets, poses_in_boxes(self._detector, work, [d.box for d in dets])):
                if p is not None:
                    p.score = d.score
                    persons.append(p)
        else:
            persons = detect_persons(self._detector, work, self.max_persons, self.use_windows, self.face_mesh)
        items = [it for it in (self._prepare(work, p) for p in persons) if it is not None]
        if not items:
            return Parsing.empty(h, w, self.label_set)
        labels, inst = self._compose(work, items)
        if s != 1.0:
            labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
            inst = cv2.resize(inst, (w, h), interpolation=cv2.INTER_NEAREST)
        return parsing_left_to_right(labels, inst, [it.pose.score for it in items])

    # ------------------------------------------------------------------ steps
    def _face_mesh(self, work: np.ndarray, lm: np.ndarray) -> np.ndarray | None:
        """Face mesh ``(468, 2)`` in working pixels, or None (see :func:`.persons.face_mesh_on_head`)."""
        return face_mesh_on_head(self._detector, work, lm) if self.face_mesh else None

    def _prepare(self, work: np.ndarray, pose: PosePerson) -> _Work | None:
        H, W = work.shape[:2]
        lm = pose.landmarks
        mask = pose.mask > 0.5
        if not mask.any():
            return None
        scale = body_scale(lm)
        mesh = self._face_mesh(work, lm)
        face_poly = mesh[list(FACE_OVAL)] if mesh is not None else face_polygon_from_pose(lm)
        ys, xs = np.nonzero(mask)
        x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        fx1, fy1 = face_poly.min(0)
        fx2, fy2 = face_poly.max(0)
        pad = int(0.05 * scale) + 2
        x1, y1 = max(0, int(min(x1, fx1)) - pad), max(0, int(min(y1, fy1)) - pad)
        x2, y2 = min(W, int(max(x2, fx2)) + pad), min(H, int(max(y2, fy2)) + pad)
        if x2 <= x1 or y2 <= y1:
            return None
        shape = (y2 - y1, x2 - x1)
        canvas = draw_skeleton(lm, face_poly, shape, (x1, y1))
        regions, dist = nearest_region(canvas)
        face = np.zeros(shape, np.uint8)
        cv2.fillPoly(face, [np.round(face_poly - [x1, y1]).astype(np.int32)], 1)
        face = face.astype(bool)
        pixels = (mask[y1:y2, x1:x2] & (dist < MAX_BONE_DIST * scale)) | face
        crop = work[y1:y2, x1:x2]
        back = mesh is None and _seen_from_behind(lm)
        skin = SkinModel.prior() if back else self._skin_model(crop, mesh, face, (x1, y1))
        return _Work(pose, (x1, y1, x2, y2), face_poly, regions, pixels, dist / scale, face, skin, scale, back)

    @staticmethod
    def _skin_model(crop: np.ndarray, mesh: np.ndarray | None, face: np.ndarray, offset) -> SkinModel:
        """Skin model from the cheeks/nose of the mesh, else from the inner half of the face ellipse."""
        sample = np.zeros(face.shape, np.uint8)
        if mesh is not None:
            pts = mesh[list(FACE_CORE)] - np.array(offset, np.float32)
            r = max(1, int(0.04 * np.ptp(mesh[:, 0])))
            for x, y in pts:
                cv2.circle(sample, (int(round(x)), int(round(y))), r, 1, -1)
        else:
            inner = cv2.erode(face.astype(np.uint8), np.ones((3, 3), np.uint8),
                              iterations=max(1, int(0.25 * np.sqrt(face.sum()))))
            sample = inner
        return SkinModel.fit(crop[sample.astype(bool)])

    def _compose(self, work: np.ndarray, items: list[_Work]) -> tuple[np.ndarray, np.ndarray]:
        """Resolve overlaps (nearest skeleton wins) and label each person; working-size maps."""
        H, W = work.shape[:2]
        best = np.full((H, W), np.inf, np.float32)
        owner = np.zeros((H, W), np.uint16)
        for k, it in enumerate(items, start=1):
            x1, y1, x2, y2 = it.box
            cost = np.where(it.pixels, it.cost, np.inf)
            cost[it.face] = 0.0  # a detected face belongs to its person
            sub_best, sub_owner = best[y1:y2, x1:x2], owner[y1:y2, x1:x2]
            win = cost < sub_best
            sub_best[win] = cost[win]
            sub_owner[win] = k

        labels = np.zeros((H, W), np.uint8)
        for k, it in enumerate(items, start=1):
            x1, y1, x2, y2 = it.box
            mine = owner[y1:y2, x1:x2] == k
            if not mine.any():
                continue
            lm = it.pose.landmarks.copy()
            lm[:, 0] -= x1
            lm[:, 1] -= y1
            lab = label_person(work[y1:y2, x1:x2], mine, it.regions, it.cost * it.scale, it.face & mine, it.skin, lm,
                               back_view=it.back)
            med = cv2.medianBlur(lab, 5)  # despeckle, but never erase a person's own border pixels
            lab = np.where(mine & (med > 0), med, lab).astype(np.uint8)
            labels[y1:y2, x1:x2][mine] = lab[mine]
        owner[labels == 0] = 0
        return labels, owner
