"""Virtual try-on "clothing-agnostic" masks: the region a try-on model repaints for a new garment.

Definitions (CIHP class names; other label sets are first mapped to CIHP with
:func:`humanparse.labels.map_labels`):

=========  ============================================================  =============================================
preset     repainted (then dilated, holes closed)                        always kept (subtracted after dilation)
=========  ============================================================  =============================================
``upper``  upper-clothes, coat, dress, torso-skin, left-arm, right-arm   hat, hair, sunglasses, face, pants, skirt,
                                                                         left/right-leg, left/right-shoe, socks
``lower``  pants, skirt, left-leg, right-leg                             hat, hair, sunglasses, face, upper-clothes,
                                                                         coat, dress, torso-skin, arms, shoes
``full``   upper + lower + dress                                         hat, hair, sunglasses, face, shoes
=========  ============================================================  =============================================

Sources: ``upper`` follows the parse-agnostic map of VITON-HD (Choi et al., "VITON-HD: High-Resolution
Virtual Try-On via Misalignment-Aware Normalization", CVPR 2021, ``get_parse_agnostic``: upper-clothes,
dress, coat, neck and both arms are removed; head and lower body are kept), also used by HR-VITON
(Lee et al., ECCV 2022). ``lower`` and ``full`` follow the ``lower_body`` and ``dresses`` categories of
Dress Code (Morelli et al., "Dress Code: High-Resolution Multi-Category Virtual Try-On", CVPR 2022),
whose masks cover the garment and the limbs it may cover. CIHP has no neck class: its neck is part of
``torso-skin``. CIHP arms include the hands; where the label set has its own ``hands`` class (FASHN),
hands are kept, so a held object or a gesture survives the repaint (our choice). FASHN's side-less
``arms`` / ``legs`` / ``feet`` count as CIHP arms / legs / shoes (:data:`SIDELESS`).

The mask is dilated by :data:`DILATE_FRACTION` of each person's height so a new garment of another cut
(longer sleeves, looser fit) has room, and never spreads onto another person.
"""

from __future__ import annotations

import numpy as np

from ..labels import get_label_set, map_labels
from ..parsing import Parsing
from .trimap import dilate

_HEAD = ("hat", "hair", "sunglasses", "face")
PRESETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "upper": (("upper-clothes", "coat", "dress", "torso-skin", "left-arm", "right-arm"),
              _HEAD + ("pants", "skirt", "left-leg", "right-leg", "left-shoe", "right-shoe", "socks")),
    "lower": (("pants", "skirt", "left-leg", "right-leg"),
              _HEAD + ("upper-clothes", "coat", "dress", "torso-skin", "left-arm", "right-arm",
                       "left-shoe", "right-shoe")),
    "full": (("upper-clothes", "coat", "dress", "torso-skin", "left-arm", "right-arm",
              "pants", "skirt", "left-leg", "right-leg"),
             _HEAD + ("left-shoe", "right-shoe")),
}
"""``{preset: (repainted CIHP classes, kept CIHP classes)}``."""

DILATE_FRACTION = 0.02
"""Dilation radius of the repainted region as a fraction of the person's bbox height (2 %: ~10 px at 512 px)."""

AGNOSTIC_GRAY = (128, 128, 128)
"""Fill colour of the agnostic image (VITON-HD's ``get_img_agnostic`` paints the region 'gray')."""


SIDELESS = {"arms": "left-arm", "legs": "left-leg", "feet": "left-shoe"}
"""Classes of label sets without left/right (FASHN) that the CIHP mapping leaves out, and the CIHP class
that plays their role in a preset."""


def _cihp_labels(parsing: Parsing) -> np.ndarray:
    ls = parsing.label_set
    if ls.name == "cihp":
        return parsing.labels
    try:
        out = map_labels(parsing.labels, ls, "cihp")
        for name, role in SIDELESS.items():
            if name in ls.classes:
                out[parsing.labels == ls.index(name)] = get_label_set("cihp").index(role)
        return out
    except ValueError:
        raise ValueError(
            f"try-on presets need garment classes (upper-clothes, pants, ...); label set "
            f"{parsing.label_set.name!r} cannot be mapped to CIHP. Use a backend with a CIHP/LIP/ATR label set "
            "(e.g. --backend m2fp or segformer)") from None


def _lut(names) -> np.ndarray:
    cihp = get_label_set("cihp")
    lut = np.zeros(256, bool)
    lut[[cihp.index(n) for n in names]] = True
    return lut


def agnostic_mask(parsing: Parsing, preset: str, person=None) -> np.ndarray:
    """The try-on repaint region of ``preset`` for some or all persons.

    Args:
        parsing: a :class:`humanparse.Parsing` whose label set maps to CIHP.
        preset: ``"upper"``, ``"lower"`` or ``"full"`` (see the module docstring).
        person: a person id, a list of ids, or ``None`` for every person.
    Returns:
        ``(H, W)`` bool mask.
    Raises:
        ValueError: unknown preset, or a label set without garment classes (e.g. ``mediapipe``).
        KeyError: unknown person id.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown try-on preset {preset!r}; choose from {', '.join(PRESETS)}")
    labels = _cihp_labels(parsing)
    repaint_names, keep_names = PRESETS[preset]
    repaint, keep = _lut(repaint_names)[labels], _lut(keep_names)[labels]
    if "hands" in parsing.label_set.classes:
        keep |= parsing.labels == parsing.label_set.index("hands")
    if person is None:
        ids = [p.id for p in parsing.persons]
    else:
        ids = [int(person)] if np.isscalar(person) else [int(i) for i in person]
    out = np.zeros(labels.shape, bool)
    for pid in ids:
        p = parsing.person(pid)
        own = parsing.instances == pid
        region = repaint & own
        if not region.any():
            continue
        r = max(2, int(round(DILATE_FRACTION * (p.bbox[3] - p.bbox[1]))))
        closed = ~dilate(~dilate(region, r), r)          # morphological closing: joins arms and torso
        grown = dilate(closed, r)
        grown &= (parsing.instances == 0) | own        # never onto another person
        out |= grown
    return out & ~keep


def agnostic_image(image: np.ndarray, mask: np.ndarray, fill=AGNOSTIC_GRAY) -> np.ndarray:
    """The person image with the repaint region painted ``fill`` (VITON-HD's "agnostic image").

    Args:
        image: ``(H, W, 3)`` uint8 RGB; mask: ``(H, W)`` bool from :func:`agnostic_mask`.
    Returns:
        ``(H, W, 3)`` uint8 copy of ``image``.
    Raises:
        ValueError: shapes differ.
    """
    image = np.asarray(image)
    if image.ndim != 3 or mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} and image {image.shape} differ in size")
    out = image[..., :3].copy()
    out[mask] = np.asarray(fill, np.uint8)
    return out
