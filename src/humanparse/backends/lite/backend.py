"""The offline default backend: :class:`LiteBackend`, our own trained part network, top-down.

Pipeline (on a working copy whose long side is at most ``work_size``), ``persons="yolox"`` (default):
1. Persons: YOLOX-Nano boxes (:class:`humanparse.persons.YoloxDetector`, shipped in the package; very
   wide photos also in tiles), person score above ``score_threshold`` (:data:`humanparse.persons.yolox.SCORE_THRESHOLD`).
2. Each box is enlarged by :data:`CROP_MARGIN`, fitted to 3:2 and warped to the 384x256 network input
   (:mod:`.crops`); all crops go through the network in one batch.
3. The ONNX network (EfficientNet-Lite0 + FPN, :mod:`humanparse.nn.parsenet`, trained by
   :mod:`humanparse.train`) predicts ``cihp-bag`` logits (CIHP-20 + bag, 21 classes) at stride 4.
   (A 20-channel network, as shipped until run 4, gives plain CIHP-20.)
4. Logits are warped back onto the image and each pixel gets one owner: the person whose crop is
   centred on it among those whose network calls it person; it is foreground when the owner's
   network and MediaPipe's selfie segmenter (whole photo, ``general`` model), mixed, say so
   (:func:`.compose.compose_boxes`).

``persons="pose"`` is the pipeline of the previous release, kept for comparison (``bench/bench_parsers.py``):
1. Persons: MediaPipe pose passes confirmed by a face mesh (:func:`humanparse.persons.pose_finder.detect_persons`,
   the same people the rule-based ``mediapipe`` backend finds): landmarks, a soft mask and a score each.
2. Each person's box (mask box united with the visible landmarks) is enlarged by
   :data:`BOX_MARGIN`, fitted to 3:2 and warped to the network input. A network with a fourth input
   channel also gets the person's pose mask, warped like the crop.
3. Overlaps are resolved with the person masks: a pixel goes to the person maximising
   ``P(person) x max(mask, MASK_FLOOR)`` (``P(person)`` = 1 - the network's background probability)
   times a skeleton-distance term (:data:`SKELETON_TAU`), and is foreground when that person's
   network and pose mask, mixed (:data:`MASK_BLEND`), say so; its class is that person's arg-max over the part classes.
Persons are numbered 1..N left to right; left/right classes are the person's own.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from ...logs import ort_session_options
from ...parsing import Parsing
from ..base import MAX_PERSONS as BASE_MAX_PERSONS, Backend, check_image, parsing_left_to_right
from ...persons.pose import Detector, PosePerson, body_scale
from ...persons.pose_finder import detect_persons, resize_for_work
from ...labels.flip import flip_channels
from ...persons import YoloxDetector, finder_threshold
from ...persons.segmenter import PersonSegmenter
from . import compose as _compose
from .compose import compose_boxes, person_planes
from .crops import INPUT_HW, crop_matrix, paste_box, warp_image, warp_mask
from .weights import card, verified_weights

MASK_FLOOR = 0.05
"""Weight of a person's own network output where its pose mask is ~0 (hair, feet and loose clothes
the mask misses), so such pixels stay that person's unless another person's mask covers them."""

FG_POWER = 1.0
"""Exponent of ``P(person)`` in the owner score ``P(person) ** FG_POWER x max(mask, MASK_FLOOR)``
(0: the pose mask alone picks the owner)."""

SKELETON_TAU = 0.5
"""With ``SKELETON_TAU > 0`` the owner score is also multiplied by ``exp(-d / (SKELETON_TAU x s))``, ``d``
the pixel's distance to the person's drawn skeleton (:func:`..mediapipe.geometry.draw_skeleton`) and
``s`` its body scale: in a crowd, a pixel leans to the person whose bones are nearest, as the
``mediapipe`` backend decides (0: off). 0.5 was chosen on validation data only (synthetic group photos
of CCP validation people, ``bench/groups_val.py --taus 0,0.5,1``; docs/training-log.md, run 5):
with the crop margin of 1.2, APr@0.5 +1.8 points on 2-4 person groups and +0.9 on 4-7 person crowds,
part mIoU and person IoU unchanged; with :data:`BOX_MARGIN` 1.05, chosen after it, the gain shrinks to
APr_vol +0.2 to +1.0 (APr@0.5 equal, or -2.0 with flip averaging)."""

BOX_MARGIN = 1.05
"""Enlargement of the person box around its centre for the network crop. Smaller than the 1.2 that
training frames its validation crops with (:data:`.crops.MARGIN`; training draws 1.05-1.45): the box
here is the pose mask's box united with the visible landmarks, already looser than the ground-truth
person box training crops are framed on, and a tighter crop gives the person more of the 384x256
input. Chosen on validation data only (``bench/groups_val.py --margins``; docs/training-log.md,
run 5): from 1.2 to 1.05, CCP validation coarse mIoU 64.3 -> 66.7 %, person IoU 92.3 -> 92.9 %, and
on synthetic group photos APr@0.5 67.1 -> 79.3 %."""

MASK_BLEND = 0.4
"""Weight of the person's pose mask in the foreground decision: a pixel its owner wins is foreground
when ``(1 - MASK_BLEND) x P(person) + MASK_BLEND x mask > 0.5`` (0: the network alone decides; 1: the
pose mask alone). A mix of the two segmenters beat the network alone and a mask-heavy mix (0.8) on
every validation figure. 0.4 was
chosen on validation data only (``bench/groups_val.py --blends 0,0.2,0.3,0.4,0.5,0.6,0.8 --ccp-val``,
with and without ``--crowd``; docs/training-log.md, run 5): from 0 to 0.4, CCP validation coarse mIoU
66.7 -> 67.5 %, person IoU 92.9 -> 94.1 %; synthetic group photos part mIoU 47.3 -> 48.1 %, person IoU
85.0 -> 86.5 %, APr@0.5 79.3 -> 80.4 %; crowds person IoU 76.1 -> 77.6 %, APr_vol 40.2 -> 42.1 %.
0.4 was the best value on every one of these but APr (0.5-0.6: +1.8 on groups, +0.3 on crowds)."""

CROP_MARGIN = 1.05
"""Enlargement of a YOLOX box around its centre for the network crop (``persons="yolox"``). Chosen on
``cihp_val`` beside CCP validation (``bench/crowds_val.py``; docs/backend-lite.md): against 1.15, CCP
validation coarse mIoU 65.5 -> 66.7 %, cihp_val equal (1.25 was worse on both)."""

LANDMARK_SLACK = 0.05
"""Landmarks off the image count towards the person box only this far out (fraction of the image side)."""

BATCH = 8
"""Crops per network call."""

WORK_SIZE, MIN_SIZE, MAX_PERSONS = 1024, 256, BASE_MAX_PERSONS
"""Defaults of :class:`LiteBackend`: long side of the working copy (at most / at least, pixels) and most
persons returned. A mask-input network's training masks are made with the same
(:mod:`humanparse.train.posemasks`)."""


def pose_detector(max_persons: int = MAX_PERSONS) -> Detector:
    """The MediaPipe detector of a backend returning at most ``max_persons``: two pose slots more, so
    a spurious pose does not crowd out a person (at least 4)."""
    return Detector(num_poses=max(max_persons + 2, 4))


OUTPUT_LABEL_SETS = {20: "cihp", 21: "cihp-bag"}
"""Label set of a network by its number of output channels."""


def person_box(p: PosePerson, hw: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """``(x1, y1, x2, y2)`` of a person in work pixels: the mask (> 0.5) box united with the landmarks
    of presence > 0.5 (clipped to :data:`LANDMARK_SLACK` outside the image); None when both are empty."""
    h, w = hw
    m = p.mask > 0.5
    boxes = []
    if m.any():
        rows, cols = np.nonzero(m.any(1))[0], np.nonzero(m.any(0))[0]
        boxes.append((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    lm = p.landmarks
    ok = lm[:, 3] > 0.5
    if ok.any():
        xs = np.clip(lm[ok, 0], -LANDMARK_SLACK * w, (1 + LANDMARK_SLACK) * w)
        ys = np.clip(lm[ok, 1], -LANDMARK_SLACK * h, (1 + LANDMARK_SLACK) * h)
        boxes.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    if not boxes:
        return None
    b = np.array(boxes, np.float64)
    x1, y1, x2, y2 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    return (x1, y1, x2, y2) if x2 - x1 >= 2 and y2 - y1 >= 2 else None


def _skeleton_weight(lm: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``exp(-d / (SKELETON_TAU x body scale))`` over ``box``, ``d`` = distance (pixels) to the person's
    drawn skeleton; ``(y2 - y1, x2 - x1)`` float32 in (0, 1]."""
    from ..mediapipe.geometry import draw_skeleton, face_polygon_from_pose

    x1, y1, x2, y2 = box
    bones = draw_skeleton(lm, face_polygon_from_pose(lm), (y2 - y1, x2 - x1), (x1, y1))
    if not bones.any():
        return np.ones((y2 - y1, x2 - x1), np.float32)
    d = cv2.distanceTransform((bones == 0).astype(np.uint8), cv2.DIST_L2, 3)
    return np.exp(-d / (SKELETON_TAU * max(body_scale(lm), 1.0))).astype(np.float32)


class LiteBackend(Backend):
    """Multi-person human parsing with our EfficientNet-Lite0 part network (ONNX Runtime, CPU).

    Offline: the network ships inside the package (Apache-2.0 weights, SHA-256 checked at load);
    persons come from YOLOX-Nano, shipped too (Apache-2.0, :mod:`humanparse.persons`), or with
    ``persons="pose"`` from the MediaPipe models inside the mediapipe wheel. Label set ``cihp-bag``: the 20
    CIHP classes (same ids) plus ``bag`` (20), carried bags being part of the person; the label set
    follows the network's output channels (20 -> ``cihp``, 21 -> ``cihp-bag``).

    Args:
        max_persons: most persons returned (the most confident).
        weights: another ONNX file of the same network (e.g. from ``humanparse train``); default the shipped one.
        work_size / min_size: long side of the working copy for detection and pasting (default 1024 / 256).
        num_threads: ONNX Runtime intra-op threads (default: the CPU count, at most 4).
        persons: ``"yolox"`` (default: YOLOX-Nano boxes, top-down) or ``"pose"`` (the previous release's
            MediaPipe pose passes and pose-mask composition, kept for comparison).
        score_threshold: YOLOX person score threshold in [0, 1) (default :data:`humanparse.persons.yolox.SCORE_THRESHOLD`).
        use_windows / face_mesh: ``persons="pose"`` detection options, as in the ``mediapipe`` backend.
        flip: also run each crop mirrored and average the logits (left/right classes swapped back):
            test-time augmentation, twice the network's cost (~11 ms more per person on 2 cores). None
            (default): on with ``persons="yolox"`` (chosen on ``cihp_val``: CIHP-20 mIoU 28.0 -> 28.8 %,
            person IoU 78.5 -> 78.7 %, CCP validation 66.7 -> 66.9 %; five people at 640 px stay
            1.5x faster than the previous release), off with ``persons="pose"`` (as that release).
    Raises:
        WeightsNotFoundError / ChecksumMismatchError: the ONNX file is missing or its digest differs.
        ValueError: the network's output channels match no label set (20 or 21), or it takes other
            than 3 (RGB) or 4 (RGB + person mask, only with ``persons="pose"``) input channels; an
            unknown ``persons`` or a ``score_threshold`` outside [0, 1).
    Thread safety: one instance may be shared by threads (detection and inference are serialised).
    """

    name = "lite"
    label_set = "cihp-bag"

    def __init__(self, max_persons: int = MAX_PERSONS, weights: str | Path | None = None,
                 work_size: int = WORK_SIZE, min_size: int = MIN_SIZE, num_threads: int | None = None,
                 use_windows: bool = True, face_mesh: bool = True, flip: bool | None = None, persons: str = "yolox",
                 score_threshold: float | None = None, **options) -> None:
        super().__init__(max_persons=max_persons, **options)
        if work_size < 64 or min_size < 32 or min_size > work_size:
            raise ValueError(f"need 64 <= work_size and 32 <= min_size <= work_size, got {work_size}, {min_size}")
        threshold = finder_threshold(persons, score_threshold)
        import onnxruntime as ort

        path = verified_weights(weights)
        self.work_size, self.min_size = int(work_size), int(min_size)
        self.use_windows, self.face_mesh = bool(use_windows), bool(face_mesh)
        self.flip = (persons == "yolox") if flip is None else bool(flip)
        self.persons, self.score_threshold = persons, threshold
        self.options.update(weights=str(path), work_size=work_size, use_windows=use_windows, face_mesh=face_mesh,
                            flip=self.flip, persons=persons, score_threshold=threshold)
        so = ort_session_options()
        so.intra_op_num_threads = int(num_threads or min(4, os.cpu_count() or 1))
        so.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.input_channels = int(self._session.get_inputs()[0].shape[1])
        if self.input_channels not in (3, 4):
            raise ValueError(f"{path}: the network takes {self.input_channels} input channels; expected 3 "
                             "(RGB) or 4 (RGB + person mask)")
        channels = self._session.get_outputs()[0].shape[1]
        if channels not in OUTPUT_LABEL_SETS:
            raise ValueError(f"{path}: the network has {channels} output channels; expected one of "
                             f"{', '.join(f'{k} ({v})' for k, v in OUTPUT_LABEL_SETS.items())}")
        self.label_set, self._channels = OUTPUT_LABEL_SETS[channels], int(channels)
        self._card = card(path)
        if self.input_channels == 4 and persons != "pose":
            raise ValueError(f"{path}: a mask-input network needs the pose masks of persons='pose'")
        self._lock = threading.Lock()
        self._detector = pose_detector(self.max_persons) if persons == "pose" else None
        self._yolox = YoloxDetector(threshold, num_threads=num_threads) if persons == "yolox" else None
        self._segmenter = PersonSegmenter("general") if persons == "yolox" and _compose.ALPHA_BLEND > 0 else None

    def close(self) -> None:
        """Release the MediaPipe landmarkers (the ONNX sessions are freed with the object)."""
        if self._detector is not None:
            self._detector.close()
        if self._segmenter is not None:
            self._segmenter.close()

    def info(self) -> dict:
        d = super().info()
        d["weights_sha256"] = self._card.get("sha256", "")
        return d

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Network logits of person crops.

        Args:
            crops: ``(N, 384, 256, C)`` uint8 crops, C = :attr:`input_channels`: RGB
                (:func:`.crops.warp_image`), then for a mask-input network the person mask 0..255
                (:func:`.crops.warp_mask`).
        Returns:
            ``(N, C, 96, 64)`` float32 logits at stride 4 (C = 21 for ``cihp-bag``, 20 for ``cihp``) (with ``flip``, the mean of the crop's
            and its mirror's, the mirror's left/right classes swapped back).
        """
        out = []
        step = BATCH // 2 if self.flip else BATCH
        for s in range(0, len(crops), step):
            x = np.ascontiguousarray(crops[s:s + step].transpose(0, 3, 1, 2), np.float32)
            n = len(x)
            if self.flip:
                x = np.concatenate([x, x[..., ::-1]])
            with self._lock:
                (y,) = self._session.run(None, {self._input: x})
            if self.flip:
                y = 0.5 * (y[:n] + y[n:, flip_channels(y.shape[1]), :, ::-1])
            out.append(y)
        return np.concatenate(out) if out else np.zeros((0, self._channels) + tuple(v // 4 for v in INPUT_HW), np.float32)

    def predict(self, image: np.ndarray) -> Parsing:
        """Parse ``image`` (``(H, W, 3)`` uint8 RGB) into a ``cihp-bag`` :class:`Parsing` of the same size.

        Raises:
            ImageError: not an ``(H, W, 3)`` uint8 array.
        """
        image = check_image(image)
        h, w = image.shape[:2]
        work, _ = resize_for_work(image, self.work_size, self.min_size)
        if self._yolox is not None:
            labels, inst, scores = self._predict_boxes(work)
        else:
            labels, inst, scores = self._predict_poses(work)
        if labels is None or not inst.any():
            return Parsing.empty(h, w, self.label_set)
        # persons counted on the working copy's maps, then the maps upscaled nearest-neighbour to (h, w)
        return parsing_left_to_right(labels, inst, scores, self.label_set, size=(h, w))

    def _predict_boxes(self, work: np.ndarray):
        """Label map, instance map and scores on the working copy from YOLOX boxes (or Nones)."""
        dets = self._yolox.detect(work, self.max_persons)
        if not dets:
            return None, None, None
        mats = [crop_matrix(d.box, margin=CROP_MARGIN) for d in dets]
        logits = self.logits(np.stack([warp_image(work, m) for m in mats]))
        alpha = self._segmenter(work) if self._segmenter is not None else None
        labels, inst = compose_boxes(work.shape[:2], logits, mats, [d.box for d in dets], alpha=alpha)
        return labels, inst, [d.score for d in dets]

    def _predict_poses(self, work: np.ndarray):
        """The previous release's path (``persons="pose"``): label map, instance map and scores (or Nones)."""
        persons = detect_persons(self._detector, work, self.max_persons, self.use_windows, self.face_mesh)
        framed = [(p, b) for p in persons if (b := person_box(p, work.shape[:2])) is not None]
        if not framed:
            return None, None, None
        mats = [crop_matrix(b, margin=BOX_MARGIN) for _, b in framed]
        crops = [warp_image(work, m) for m in mats]
        if self.input_channels == 4:
            crops = [np.dstack([c, warp_mask(p.mask, m)]) for c, (p, _), m in zip(crops, framed, mats)]
        logits = self.logits(np.stack(crops))
        labels, inst = self.compose(work.shape[:2], logits, mats, [p.mask for p, _ in framed],
                                    [p.landmarks for p, _ in framed])
        return labels, inst, [p.score for p, _ in framed]

    @staticmethod
    def compose(hw: tuple[int, int], logits: np.ndarray, mats: list[np.ndarray],
                masks: list[np.ndarray], landmarks: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Paste per-person logits onto the image and resolve overlaps (module doc, step 4).

        Args:
            hw: image ``(H, W)``.
            logits: ``(N, C, h, w)`` float32 network outputs of the crops (channel 0 = background).
            mats: the N crop matrices (image -> crop).
            masks: the N person masks ``(H, W)`` float32 0..1.
            landmarks: the N persons' ``(33, 4)`` pose landmarks in image pixels (used with
                :data:`SKELETON_TAU` > 0; None: not used).
        Returns:
            ``(labels (H, W) uint8, instances (H, W) uint16)``, person ``k`` = index ``k - 1``.
        """
        H, W = hw
        best = np.zeros((H, W), np.float32)
        owner = np.zeros((H, W), np.uint16)
        labels = np.zeros((H, W), np.uint8)
        for k, (lg, m, mask) in enumerate(zip(logits, mats, masks), start=1):
            box = x1, y1, x2, y2 = paste_box(m, INPUT_HW, hw)
            if x2 <= x1 or y2 <= y1:
                continue
            fg, inside, part = person_planes(lg, m, box)
            score = (fg if FG_POWER == 1.0 else fg ** FG_POWER) * np.maximum(mask[y1:y2, x1:x2], MASK_FLOOR)
            if SKELETON_TAU > 0 and landmarks is not None:
                score *= _skeleton_weight(landmarks[k - 1], box)
            win = (score > best[y1:y2, x1:x2]) & (inside > 0.5)
            best[y1:y2, x1:x2][win] = score[win]
            owner[y1:y2, x1:x2][win] = k
            keep = (1 - MASK_BLEND) * fg[win] + MASK_BLEND * mask[y1:y2, x1:x2][win]
            labels[y1:y2, x1:x2][win] = np.where(keep > 0.5, part[win], 0)
        owner[labels == 0] = 0
        return labels, owner
