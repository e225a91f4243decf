"""Colour rendering of label maps (the "puzzle" picture) and overlays on the photo."""

from __future__ import annotations

import numpy as np

from ..labels import LabelSet, get_label_set


def colorize(label_map: np.ndarray, label_set: str | LabelSet = "cihp") -> np.ndarray:
    """Paint each class with its palette colour.

    Args:
        label_map: ``(H, W)`` integer class ids of ``label_set``; ids outside the palette paint white.
    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    import cv2

    lut = _lut(label_set)
    label_map = np.asarray(label_map)
    if label_map.dtype != np.uint8:
        return lut[label_map.astype(np.intp) & 0xFF]
    if label_map.ndim != 2 or label_map.size == 0:
        return lut[label_map]
    # uint8: an OpenCV table look-up in place on the 3-channel copy, no (H, W) intp index array (8 bytes a pixel)
    out = cv2.cvtColor(np.ascontiguousarray(label_map), cv2.COLOR_GRAY2RGB)
    return cv2.LUT(out, lut.reshape(256, 1, 3), dst=out)


def _lut(label_set: str | LabelSet) -> np.ndarray:
    """``(256, 3)`` uint8 palette table: class ``k`` -> its colour, ids past the palette -> white."""
    pal = get_label_set(label_set).palette
    lut = np.full((256, 3), 255, dtype=np.uint8)
    lut[: len(pal)] = pal
    return lut


OVERLAY_STRIP = 256
"""Rows blended at a time by :func:`overlay` (bounds its temporaries: ~256 x width x 7 bytes)."""


def overlay(image: np.ndarray, label_map: np.ndarray, label_set: str | LabelSet = "cihp",
            opacity: float = 0.5) -> np.ndarray:
    """Blend the colour map over the photo where a class is present (background keeps the photo).

    Args:
        image: ``(H, W, 3)`` uint8 RGB, same size as ``label_map``.
        opacity: weight of the colour map in [0, 1] on labelled pixels.
    Returns:
        ``(H, W, 3)`` uint8 RGB.
    Raises:
        ValueError: sizes differ or opacity is outside [0, 1].
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    image = np.asarray(image)
    if image.shape[:2] != label_map.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and label map {label_map.shape[:2]} differ in size")
    import cv2

    out = np.array(image[..., :3], dtype=np.uint8, order="C")
    rows = np.flatnonzero(np.asarray(label_map).max(axis=1, initial=0))   # (max: no bool copy)
    if rows.size == 0:
        return out
    cols = np.flatnonzero(np.asarray(label_map)[rows[0]:rows[-1] + 1].max(axis=0))
    # uint8 blending (OpenCV, rounded to nearest) of the labelled pixels' box, in strips of rows:
    # no float copies of the photo, temporaries of a strip's size only
    x1, x2 = cols[0], cols[-1] + 1
    for y in range(rows[0], rows[-1] + 1, OVERLAY_STRIP):
        strip = np.s_[y:min(y + OVERLAY_STRIP, rows[-1] + 1), x1:x2]
        labels = np.asarray(label_map)[strip]
        blended = cv2.addWeighted(out[strip], 1.0 - opacity, colorize(labels, label_set), opacity, 0.0)
        np.copyto(out[strip], blended, where=(labels > 0)[..., None])
    return out


def legend(label_set: str | LabelSet, present: list[int] | None = None, swatch: int = 18,
           width: int = 220) -> np.ndarray:
    """A legend image: one row per class (all, or only ``present`` ids) with its colour and name.

    Returns:
        ``(rows * swatch, width, 3)`` uint8 RGB (white background), drawn with OpenCV's Hershey font.
    """
    import cv2

    ls = get_label_set(label_set)
    ids = list(range(len(ls))) if present is None else list(present)
    img = np.full((max(1, len(ids)) * swatch, width, 3), 255, dtype=np.uint8)
    for row, k in enumerate(ids):
        y = row * swatch
        img[y + 2 : y + swatch - 2, 2 : swatch - 2] = ls.palette[k]
        cv2.putText(img, f"{k} {ls.classes[k]}", (swatch + 4, y + swatch - 5), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return img
