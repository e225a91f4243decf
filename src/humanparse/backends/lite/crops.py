"""Person crops: the affine map from a person's box to the network's fixed input, and back.

Training (:mod:`humanparse.train.data`) and inference (:mod:`.backend`) build crops with the same
function, so the network sees people framed the same way in both. No PyTorch here.
"""

from __future__ import annotations

import cv2
import numpy as np

INPUT_HW = (384, 256)
"""Network input ``(height, width)`` in pixels: people are mostly upright, so 3:2 (measured choice,
docs/backend-lite.md: 384x256 trains at ~4.7 crops/s on 2 cores and runs in ~40 ms)."""

MARGIN = 1.2
"""The box is enlarged by this factor around its centre before fitting the 3:2 aspect (training
draws the factor from a range around it)."""

PAD_VALUE = (124, 116, 104)
"""RGB fill outside the image: the ImageNet mean (normalises to ~0)."""


def crop_matrix(box, out_hw: tuple[int, int] = INPUT_HW, margin: float = MARGIN,
                shift: tuple[float, float] = (0.0, 0.0), angle: float = 0.0) -> np.ndarray:
    """Affine map from image pixels to crop pixels for a person box.

    Args:
        box: ``(x1, y1, x2, y2)`` in image pixels (x2, y2 exclusive), x2 > x1, y2 > y1.
        out_hw: crop ``(height, width)``.
        margin: enlargement of the box around its centre (>= 1 keeps the whole box).
        shift: centre shift as fractions of the enlarged box's ``(width, height)``.
        angle: rotation in degrees (counter-clockwise), about the box centre.
    Returns:
        ``(2, 3)`` float64 matrix for :func:`cv2.warpAffine` (image -> crop).
    Raises:
        ValueError: an empty box.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"empty box {box}")
    oh, ow = out_hw
    bw, bh = (x2 - x1) * margin, (y2 - y1) * margin
    cx, cy = (x1 + x2) / 2 + shift[0] * bw, (y1 + y2) / 2 + shift[1] * bh
    scale = min(ow / bw, oh / bh)  # the whole enlarged box fits; the other side gets context
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[0, 2] += ow / 2 - cx
    m[1, 2] += oh / 2 - cy
    return m


def warp_image(image: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int] = INPUT_HW) -> np.ndarray:
    """Crop ``image`` (``(H, W, 3)`` uint8) with ``matrix``; outside pixels are :data:`PAD_VALUE`."""
    return cv2.warpAffine(image, matrix, (out_hw[1], out_hw[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=PAD_VALUE)


def warp_labels(labels: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int] = INPUT_HW,
                fill: int = 0) -> np.ndarray:
    """Crop a label map (``(H, W)`` uint8) with nearest-neighbour sampling; outside pixels are ``fill``."""
    return cv2.warpAffine(labels, matrix, (out_hw[1], out_hw[0]), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=int(fill))


def warp_mask(mask: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int] = INPUT_HW) -> np.ndarray:
    """Crop a soft person mask (``(H, W)`` float 0..1, or uint8 0..255) with bilinear sampling into
    ``out_hw`` uint8 0..255, the network's mask channel; outside pixels are 0."""
    if mask.dtype != np.uint8:
        mask = np.clip(np.rint(mask * 255.0), 0, 255).astype(np.uint8)
    return cv2.warpAffine(mask, matrix, (out_hw[1], out_hw[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def paste_box(matrix: np.ndarray, out_hw: tuple[int, int], image_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """Image-pixel box ``(x1, y1, x2, y2)`` covered by a crop, clipped to the image (may be empty)."""
    inv = cv2.invertAffineTransform(matrix)
    oh, ow = out_hw
    corners = np.array([[0, 0, 1], [ow, 0, 1], [0, oh, 1], [ow, oh, 1]], np.float64) @ inv.T
    h, w = image_hw
    x1, y1 = np.floor(corners.min(0)).astype(int)
    x2, y2 = np.ceil(corners.max(0)).astype(int)
    return max(0, x1), max(0, y1), min(w, x2), min(h, y2)


def unwarp(maps: np.ndarray, matrix: np.ndarray, box: tuple[int, int, int, int],
           out_hw: tuple[int, int] = INPUT_HW, fill: float = 0.0) -> np.ndarray:
    """Map crop-space planes back onto the image region ``box``.

    Args:
        maps: ``(h, w, C)`` float32 planes over a crop of size ``out_hw``, at any resolution (e.g. the
            network's stride-4 logits: map pixel ``k`` covers crop pixels ``[s k, s k + s)``).
        matrix: the crop's :func:`crop_matrix` (image -> crop pixel indices).
        box: image region ``(x1, y1, x2, y2)`` to fill (from :func:`paste_box`).
        out_hw: the crop's ``(height, width)``.
        fill: value outside the crop.
    Returns:
        ``(y2 - y1, x2 - x1, C)`` float32, bilinear.
    """
    x1, y1, x2, y2 = box
    h, w, c = maps.shape
    if x2 <= x1 or y2 <= y1:
        return np.zeros((max(0, y2 - y1), max(0, x2 - x1), c), np.float32)
    sy, sx = out_hw[0] / h, out_hw[1] / w
    # box-local pixel (u, v) -> image (u + x1, v + y1) -> crop index c -> map index (c + 0.5) / s - 0.5
    m = matrix.astype(np.float64).copy()
    m[:, 2] += m[:, :2] @ np.array([x1, y1], np.float64)
    m[0] /= sx
    m[1] /= sy
    m[0, 2] += 0.5 / sx - 0.5
    m[1, 2] += 0.5 / sy - 0.5
    out = cv2.warpAffine(np.ascontiguousarray(maps, np.float32), m, (x2 - x1, y2 - y1),
                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=fill)
    return out.reshape(y2 - y1, x2 - x1, c)
