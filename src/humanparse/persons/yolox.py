"""YOLOX-Nano person detector: letterbox, the ONNX network, decode, NMS, and tiles for wide photos.

The network is Megvii's YOLOX-Nano trained on COCO (Ge et al., "YOLOX: Exceeding YOLO Series in 2021",
arXiv:2107.08430; Apache-2.0), exported to ONNX (``weights/yolox_nano.onnx``, shipped in the package with
its licence and ``NOTICE``; SHA-256 checked at load). Its contract (``../shared/models/yolox-nano/SOURCE.md``):

* input ``images``: ``(1, 3, 416, 416)`` float32 **BGR** 0..255, the photo resized by
  ``r = min(416 / h, 416 / w)`` into the top-left corner of a canvas filled with 114 (:func:`letterbox`);
* output ``output``: ``(1, 3549, 85)`` raw anchor-point predictions, 52x52 + 26x26 + 13x13 points at strides
  8, 16, 32 (row-major per level), each ``(dx, dy, log w, log h, objectness, 80 class scores)``:
  centre = ``(dx + grid x, dy + grid y) x stride``, size = ``exp(log w, log h) x stride`` in canvas pixels,
  score = objectness x class score; COCO class 0 is person (:func:`decode`).

Decode and NMS are vectorised NumPy (as YOLOX's own ``demo/ONNXRuntime`` does them); no Python loop runs
over the anchor points. A photo much wider (or taller) than square is also cut into overlapping square
tiles (:func:`tiles`), each detected on its own, so small people in a group row keep enough pixels.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

from ..errors import WeightsNotFoundError
from ..logs import ort_session_options
from ..models.integrity import ChecksumMismatchError, sha256_file
from .record import Detection

WEIGHTS = Path(__file__).with_name("weights") / "yolox_nano.onnx"
WEIGHTS_SHA256 = "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14"
"""SHA-256 of the shipped YOLOX-Nano ONNX file (``../shared/models/yolox-nano/SOURCE.md``)."""

INPUT_SIZE = 416
"""Side of YOLOX-Nano's square input (pixels)."""

STRIDES = (8, 16, 32)
PAD_VALUE = 114
"""Canvas fill of YOLOX's letterbox (its ``preproc``)."""

PERSON = 0
"""COCO class id of person."""

SCORE_THRESHOLD = 0.2
"""Default person score threshold (objectness x class score). Chosen on ``cihp_val`` beside CCP
validation (``bench/crowds_val.py``; docs/backend-lite.md): with the ``lite`` backend, 0.2 against 0.3
gave cihp_val CIHP-20 mIoU 28.0 against 27.5 %, person IoU 78.4 against 77.2 %, no photo without a
person (0.3: one), and CCP validation +0.7 mIoU; 0.15 gave the same figures as 0.2."""

NMS_IOU = 0.45
"""Boxes overlapping a better one by more than this IoU are dropped (the YOLOX sample's default)."""

TILE_ASPECT = 1.6
"""A photo whose long side exceeds this many short sides is also detected in square tiles."""

TILE_OVERLAP = 0.25
"""Overlap between neighbouring tiles, a fraction of the tile side."""

FLIP_TTA = True
"""Also detect on the mirrored photo and merge the boxes (test-time augmentation, one more ~13 ms pass).
Chosen on ``cihp_val`` beside CCP validation (``bench/crowds_val.py``): person IoU 77.9 -> 78.4 % on
cihp_val, 91.0 -> 92.3 % on CCP validation."""

TILE_EDGE = 0.01
"""A tile's box within this fraction of the tile side of an inner tile edge is a person cut by the tile
and is dropped (the overlap makes sure a neighbouring tile, or the whole photo, holds that person whole)."""


def letterbox(image: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """YOLOX's input: ``image`` resized by ``r = min(size / h, size / w)`` into the top-left corner of a
    ``size x size`` canvas filled with :data:`PAD_VALUE`.

    Args:
        image: ``(H, W, 3)`` uint8 (any channel order; the caller passes BGR to the network).
        size: canvas side in pixels.
    Returns:
        ``(canvas (size, size, 3) uint8, r)``: a photo point ``p`` is at ``p x r`` on the canvas.
    """
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    nh, nw = max(1, int(round(h * r))), max(1, int(round(w * r)))
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)   # as YOLOX's preproc
    return canvas, r


def grids(size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """Anchor-point grid ``(N, 2)`` float32 (x, y cell indices) and stride ``(N, 1)`` float32 of every
    output row, levels in :data:`STRIDES` order, row-major within a level (N = 3549 for 416)."""
    xy, st = [], []
    for s in strides:
        n = size // s
        yv, xv = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        xy.append(np.stack([xv.ravel(), yv.ravel()], 1))
        st.append(np.full((n * n, 1), s))
    return np.concatenate(xy).astype(np.float32), np.concatenate(st).astype(np.float32)


def decode(raw: np.ndarray, size: int = INPUT_SIZE, cls: int = PERSON) -> tuple[np.ndarray, np.ndarray]:
    """Boxes and scores of class ``cls`` from YOLOX's raw output.

    Args:
        raw: ``(N, 5 + classes)`` float32 network output for one image (N = 3549 at 416).
        size: the input side the output was made at.
        cls: class index.
    Returns:
        ``(boxes (N, 4) float32 x1, y1, x2, y2 in canvas pixels, scores (N,) float32 in 0..1)``.
    Raises:
        ValueError: the row count does not match ``size``'s grid.
    """
    grid, stride = grids(size)
    if raw.shape[0] != len(grid):
        raise ValueError(f"YOLOX output has {raw.shape[0]} rows; a {size}x{size} input gives {len(grid)}")
    centre = (raw[:, :2] + grid) * stride
    half = np.exp(np.minimum(raw[:, 2:4], 20.0)) * stride / 2
    boxes = np.concatenate([centre - half, centre + half], 1)
    return boxes.astype(np.float32), (raw[:, 4] * raw[:, 5 + cls]).astype(np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` ``(N, 4)`` with every box in ``b`` ``(M, 4)`` (x1, y1, x2, y2): ``(N, M)``."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), -1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), -1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), -1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first.

    One pairwise IoU matrix, then a pass over the boxes in score order (only the candidates, tens at
    most after the score threshold, not the anchor points).
    """
    order = np.argsort(-scores, kind="stable")
    if len(order) == 0:
        return order
    m = box_iou(boxes[order], boxes[order])
    keep = np.ones(len(order), bool)
    for i in range(len(order)):
        if keep[i]:
            keep[i + 1:] &= m[i, i + 1:] <= iou
    return order[keep]


def tiles(height: int, width: int, aspect: float = TILE_ASPECT,
          overlap: float = TILE_OVERLAP) -> list[tuple[int, int, int, int]]:
    """Square tiles ``(x1, y1, x2, y2)`` (side = the short side) along the long side of a photo longer
    than ``aspect`` x its short side, neighbours overlapping by ``overlap`` of the side; ``[]`` for
    other photos (the whole photo is always detected too)."""
    long_, short = max(height, width), min(height, width)
    if long_ <= aspect * short:
        return []
    n = int(np.ceil((long_ - short) / ((1 - overlap) * short))) + 1
    starts = np.linspace(0, long_ - short, n).round().astype(int)
    if width >= height:
        return [(int(s), 0, int(s) + short, height) for s in starts]
    return [(0, int(s), width, int(s) + short) for s in starts]


def verified_detector_weights(path: Path | str | None = None) -> Path:
    """The YOLOX ONNX file to load, its SHA-256 checked.

    Args:
        path: another file (a test's copy); None = the shipped one. Always checked against
            :data:`WEIGHTS_SHA256`.
    Raises:
        WeightsNotFoundError: the file is missing.
        ChecksumMismatchError: the digest differs (a corrupt install or a modified file).
    """
    p = Path(path) if path else WEIGHTS
    if not p.is_file():
        raise WeightsNotFoundError(f"person detector weights not found: {p} (reinstall humanparse)")
    got = sha256_file(p)
    if got != WEIGHTS_SHA256:
        raise ChecksumMismatchError(f"{p}: SHA-256 {got} does not match the expected {WEIGHTS_SHA256}; "
                                    "the file is corrupt or was modified")
    return p


class YoloxDetector:
    """Person boxes from YOLOX-Nano (ONNX Runtime, CPU).

    Args:
        score_threshold: keep boxes whose person score (objectness x class score, 0..1) exceeds this.
        nms_iou: NMS IoU threshold (:data:`NMS_IOU`).
        use_tiles: also detect in square tiles of very wide or tall photos (:func:`tiles`).
        flip: also detect on the mirrored photo and merge (default :data:`FLIP_TTA`).
        num_threads: ONNX Runtime intra-op threads (default: the CPU count, at most 4).
        weights: another copy of the ONNX file (checked against the shipped digest).
    Raises:
        WeightsNotFoundError / ChecksumMismatchError: see :func:`verified_detector_weights`.
    Thread safety: one instance may be shared by threads (inference is serialised).
    """

    def __init__(self, score_threshold: float = SCORE_THRESHOLD, nms_iou: float = NMS_IOU, use_tiles: bool = True,
                 num_threads: int | None = None, weights: Path | str | None = None, flip: bool | None = None) -> None:
        if not 0.0 <= score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in [0, 1), got {score_threshold}")
        if not 0.0 < nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in (0, 1], got {nms_iou}")
        import onnxruntime as ort

        path = verified_detector_weights(weights)
        so = ort_session_options()
        so.intra_op_num_threads = int(num_threads or min(4, os.cpu_count() or 1))
        so.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.score_threshold, self.nms_iou, self.use_tiles = float(score_threshold), float(nms_iou), bool(use_tiles)
        self.flip = FLIP_TTA if flip is None else bool(flip)
        self._lock = threading.Lock()

    def raw(self, canvas_bgr: np.ndarray) -> np.ndarray:
        """The network's raw ``(3549, 85)`` float32 output for one ``(416, 416, 3)`` uint8 BGR canvas."""
        x = np.ascontiguousarray(canvas_bgr.transpose(2, 0, 1)[None], np.float32)
        with self._lock:
            (y,) = self._session.run(None, {self._input: x})
        return y[0]

    def _candidates(self, rgb: np.ndarray, tile: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (photo pixels) and scores above the threshold, of the whole photo or of one ``tile``;
        a tile's boxes touching one of its inner edges (an edge that is not the photo's) are dropped:
        that person is cut there, and the whole photo or the neighbouring tile sees it whole."""
        x0, y0, x1, y1 = tile or (0, 0, rgb.shape[1], rgb.shape[0])
        canvas, r = letterbox(rgb[y0:y1, x0:x1, ::-1])
        boxes, scores = decode(self.raw(canvas))
        ok = scores > self.score_threshold
        boxes, scores = boxes[ok] / r, scores[ok]
        if tile is not None:
            h, w = rgb.shape[:2]
            near = TILE_EDGE * (x1 - x0)
            cut = np.zeros(len(boxes), bool)
            if x0 > 0:
                cut |= boxes[:, 0] < near
            if x1 < w:
                cut |= boxes[:, 2] > (x1 - x0) - near
            if y0 > 0:
                cut |= boxes[:, 1] < near
            if y1 < h:
                cut |= boxes[:, 3] > (y1 - y0) - near
            boxes, scores = boxes[~cut], scores[~cut]
        boxes[:, [0, 2]] += x0
        boxes[:, [1, 3]] += y0
        return boxes, scores

    def detect(self, rgb: np.ndarray, max_persons: int | None = None) -> list[Detection]:
        """Persons in a photo, best score first.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB, any size (letterboxed to 416 inside).
            max_persons: keep at most this many (None: all).
        Returns:
            :class:`Detection` list, boxes in ``rgb``'s pixels clipped to the photo, ``landmarks`` and
            ``mask`` None; ``[]`` when nobody is found.
        """
        h, w = rgb.shape[:2]
        parts = [self._candidates(rgb)]
        if self.flip:
            boxes, scores = self._candidates(np.ascontiguousarray(rgb[:, ::-1]))
            boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
            parts.append((boxes, scores))
        if self.use_tiles:
            for tile in tiles(h, w):
                parts.append(self._candidates(rgb, tile))
        boxes = np.concatenate([b for b, _ in parts])
        scores = np.concatenate([s for _, s in parts])
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        ok = (boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2)
        boxes, scores = boxes[ok], scores[ok]
        keep = nms(boxes, scores, self.nms_iou)
        if len(parts) > 1:
            keep = keep[~_inside_better(boxes[keep])]
        if max_persons is not None:
            keep = keep[:max_persons]
        return [Detection(tuple(float(v) for v in boxes[i]), float(scores[i])) for i in keep]


def _inside_better(boxes: np.ndarray, contained: float = 0.8) -> np.ndarray:
    """For boxes in score order: True where a box lies for ``contained`` of its area inside a better
    one (a tile's cut-off part of a person the whole photo found), ``(N,)`` bool."""
    lt = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), -1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], -1)
    frac = inter / np.maximum(area[:, None], 1e-9)        # frac[i, j]: part of box i inside box j
    better = np.tri(len(boxes), k=-1, dtype=bool)          # j < i
    return ((frac > contained) & better).any(1)
