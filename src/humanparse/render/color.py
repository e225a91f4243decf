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
    pal = get_label_set(label_set).palette
    lut = np.full((256, 3), 255, dtype=np.uint8)
    lut[: len(pal)] = pal
    return lut[np.asarray(label_map).astype(np.intp) & 0xFF]


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
    color = colorize(label_map, label_set).astype(np.float32)
    out = image[..., :3].astype(np.float32)
    fg = (label_map > 0)[..., None]
    blended = out * (1.0 - opacity) + color * opacity
    return np.where(fg, blended, out).round().astype(np.uint8)


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
