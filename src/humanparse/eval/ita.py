"""Individual Typology Angle (ITA): an estimate of *apparent* skin tone from the pixels of a photo.

ITA = arctan((L* - 50) / b*) * 180 / pi, with L* and b* from CIELAB (D65), after Chardon, Cretois &
Hourseau, "Skin colour typology and suntanning pathways", Int. J. Cosmet. Sci. 13:191-208 (1991).
The six groups and their limits follow Del Bino & Bernerd, "Variations in skin colour and the
biological consequences of ultraviolet radiation exposure", Br. J. Dermatol. 169 Suppl. 3:33-40 (2013):

====================  ======================
group                 ITA (degrees)
====================  ======================
very-light            ITA > 55
light                 41 < ITA <= 55
intermediate          28 < ITA <= 41
tan                   10 < ITA <= 28
brown                 -30 <= ITA <= 10
dark                  ITA < -30
====================  ======================

Caveats: ITA was defined for colorimeter readings of skin, not for camera pixels. Here it measures skin
*as it appears* in an uncalibrated photo, so lighting, white balance, make-up and shadows move it; treat
groups as a rough stratification, not as anyone's skin type.

Lab conversion uses OpenCV (``cv2.COLOR_RGB2Lab`` on float sRGB in [0, 1]: L* in [0, 100], b* unscaled),
which agrees with ``skimage.color.rgb2lab`` to within 0.4 units.
"""

from __future__ import annotations

import numpy as np

GROUPS = ("very-light", "light", "intermediate", "tan", "brown", "dark")
"""The six ITA groups of Del Bino & Bernerd (2013), lightest first."""

UNKNOWN = "unknown"
"""Group of a person whose ITA is undefined (too few skin pixels, or b* <= 0)."""

LIMITS = (55.0, 41.0, 28.0, 10.0, -30.0)
"""Group limits in degrees (Del Bino & Bernerd 2013); see the module table for which side is inclusive."""

MIN_SKIN_PIXELS = 100
"""Fewest skin pixels for which a person's ITA is computed."""


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB to CIELAB (D65).

    Args:
        rgb: ``(..., 3)`` uint8 sRGB.
    Returns:
        ``(..., 3)`` float32: L* in [0, 100], a* and b* roughly in [-128, 127].
    Raises:
        ValueError: last axis is not 3 or dtype is not uint8.
    """
    import cv2

    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,) or rgb.dtype != np.uint8:
        raise ValueError(f"expected (..., 3) uint8 RGB, got shape {rgb.shape} dtype {rgb.dtype}")
    flat = rgb.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def ita_degrees(lightness, b_star) -> np.ndarray | float:
    """ITA in degrees from L* and b* (arrays broadcast).

    Uses ``arctan2(L* - 50, b*)``, equal to ``arctan((L* - 50) / b*)`` for ``b* > 0`` without dividing
    by zero. For ``b* <= 0`` (neutral or bluish colour, not skin) ITA is undefined: NaN.
    """
    L = np.asarray(lightness, np.float64)
    b = np.asarray(b_star, np.float64)
    ita = np.degrees(np.arctan2(L - 50.0, b))
    return np.where(b > 0, ita, np.nan)[()]


def ita_group(ita) -> str:
    """Group name of one ITA value (degrees); :data:`UNKNOWN` for NaN/None."""
    if ita is None or not np.isfinite(ita):
        return UNKNOWN
    very_light, light, intermediate, tan, brown = LIMITS
    if ita > very_light:
        return "very-light"
    if ita > light:
        return "light"
    if ita > intermediate:
        return "intermediate"
    if ita > tan:
        return "tan"
    if ita >= brown:
        return "brown"
    return "dark"


def person_ita(image: np.ndarray, skin: np.ndarray, min_pixels: int = MIN_SKIN_PIXELS) -> tuple[float, int]:
    """ITA of one person from their skin pixels.

    The per-person colour is the median L* and median b* over the skin pixels (robust to highlights
    and shadows), then :func:`ita_degrees`.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        skin: ``(H, W)`` bool mask of the person's skin pixels.
        min_pixels: fewer skin pixels give NaN.
    Returns:
        ``(ita_degrees or NaN, number of skin pixels)``.
    Raises:
        ValueError: shapes differ.
    """
    image, skin = np.asarray(image), np.asarray(skin, bool)
    if image.shape[:2] != skin.shape or image.ndim != 3:
        raise ValueError(f"image {image.shape} and skin mask {skin.shape} differ in size")
    n = int(skin.sum())
    if n < max(1, min_pixels):
        return float("nan"), n
    lab = rgb_to_lab(image[skin])
    return float(ita_degrees(np.median(lab[:, 0]), np.median(lab[:, 2]))), n


def skin_mask(labels: np.ndarray, skin_ids, face_ids=(), person: np.ndarray | None = None,
              top_fraction: float = 0.25, min_pixels: int = MIN_SKIN_PIXELS) -> np.ndarray:
    """Which ground-truth pixels to read a person's skin tone from.

    * If the label set has face classes (``face_ids`` non-empty, e.g. CIHP): all skin classes
      (face, arms, legs, torso-skin) of the person.
    * Otherwise (e.g. CCP, where ``skin`` covers face, arms and legs alike): skin pixels in the top
      ``top_fraction`` of the person's height (head, neck, shoulders), to favour the face over legs
      (often in tights or shadow); all skin pixels if that leaves fewer than ``min_pixels``.

    Args:
        labels: ``(H, W)`` ground-truth class ids.
        skin_ids: class ids that are bare skin (face included).
        face_ids: class ids that are the face.
        person: ``(H, W)`` bool mask of the person (default: every non-background pixel).
    Returns:
        ``(H, W)`` bool.
    """
    labels = np.asarray(labels)
    person = (labels > 0) & (labels != 255) if person is None else np.asarray(person, bool)
    lut = np.zeros(256, bool)
    lut[list(skin_ids)] = True
    skin = lut[labels.astype(np.intp) & 0xFF] & person
    if len(tuple(face_ids)) or not skin.any():
        return skin
    rows = np.nonzero(person.any(1))[0]
    top, bottom = rows[0], rows[-1] + 1
    cut = top + int(np.ceil((bottom - top) * top_fraction))
    upper = skin.copy()
    upper[cut:] = False
    return upper if upper.sum() >= min_pixels else skin


__all__ = ["GROUPS", "UNKNOWN", "LIMITS", "MIN_SKIN_PIXELS", "rgb_to_lab", "ita_degrees", "ita_group",
           "person_ita", "skin_mask"]
