"""Which label set a SegFormer checkpoint predicts, read from its ``config.id2label``, and how its
classes translate into CIHP.

A checkpoint's class names are matched (case-, ``_``- and space-insensitive) to humanparse's label
sets: ``atr`` (``mattmdjaga/segformer_b2_clothes``), ``fashn`` (``fashn-ai/fashn-human-parser``), and
``lip`` / ``cihp``. An unknown set becomes an ad-hoc :class:`~humanparse.labels.LabelSet` and its
classes are mapped into CIHP by name (with a few synonyms such as ``top`` -> ``upper-clothes``).

Classes with no CIHP counterpart fall in two groups, resolved later per pixel (see
:mod:`.postprocess`): body parts without a left/right split (``arms``, ``hands``, ``legs``, ``feet``)
get a side, and anything else (e.g. ``jewelry``) takes the class of the nearest labelled pixel.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from ...labels import IGNORE, LabelSet, get_label_set, mapping_lut

KNOWN_SETS = ("atr", "fashn", "lip", "cihp")
"""Label sets a checkpoint's ``id2label`` is matched against, in order."""

SIDE_NONE, SIDE_ARM, SIDE_LEG, SIDE_SHOE = 0, 1, 2, 3
SIDED_CLASSES = {SIDE_ARM: ("left-arm", "right-arm"), SIDE_LEG: ("left-leg", "right-leg"),
                 SIDE_SHOE: ("left-shoe", "right-shoe")}
"""Side kind -> (person's left class, person's right class) in CIHP."""

SIDE_KIND = {"arm": SIDE_ARM, "arms": SIDE_ARM, "hand": SIDE_ARM, "hands": SIDE_ARM,
             "leg": SIDE_LEG, "legs": SIDE_LEG,
             "foot": SIDE_SHOE, "feet": SIDE_SHOE, "shoe": SIDE_SHOE, "shoes": SIDE_SHOE}
"""Side-less class names and the CIHP pair they split into. CIHP's arms include the hands."""

SYNONYMS = {"top": "upper-clothes", "upper-clothes": "upper-clothes", "shirt": "upper-clothes",
            "t-shirt": "upper-clothes", "jacket": "coat", "glasses": "sunglasses", "torso": "torso-skin",
            "jumpsuits": "dress", "jumpsuit": "dress", "gloves": "glove", "sock": "socks", "trousers": "pants",
            "belt": "pants", "bag": "background", "background": "background"}
"""Names of unknown label sets mapped into CIHP besides exact CIHP names (ATR/LIP conventions:
a belt counts as pants, a bag is not part of the person)."""


def normalise(name) -> str:
    """Lowercase-hyphenated class name: ``"Upper_clothes"`` -> ``"upper-clothes"``."""
    return "-".join(str(name).strip().lower().replace("_", " ").replace("-", " ").split())


def _palette(n: int) -> np.ndarray:
    """``(n, 3)`` uint8 distinct colours (golden-ratio hues), black for class 0."""
    pal = np.zeros((n, 3), np.uint8)
    for k in range(1, n):
        pal[k] = [round(255 * c) for c in colorsys.hsv_to_rgb((k * 0.61803398875) % 1.0, 0.7, 0.95)]
    return pal


def native_label_set(id2label: dict) -> tuple[LabelSet, np.ndarray]:
    """The label set of a checkpoint and the look-up table from its class ids into that set.

    Args:
        id2label: ``config.id2label`` (``{0: "Background", 1: "Hat", ...}``; keys may be strings).
    Returns:
        ``(label_set, lut)``: a known set (``atr``, ``fashn``, ``lip``, ``cihp``) whose class names are a
        permutation of the checkpoint's, or an ad-hoc set named ``"native"`` with the checkpoint's names;
        ``lut`` is ``(256,)`` uint8 with ``lut[model_id] = label_set_id``.
    Raises:
        ValueError: ``id2label`` is empty or its ids are not 0..K-1.
    """
    ids = sorted(int(k) for k in id2label)
    if not ids or ids != list(range(len(ids))):
        raise ValueError(f"config.id2label must map ids 0..K-1 to names, got ids {ids[:5]}...")
    names = [normalise(id2label[k] if k in id2label else id2label[str(k)]) for k in ids]
    lut = np.full(256, IGNORE, np.uint8)
    for candidate in KNOWN_SETS:
        ls = get_label_set(candidate)
        if sorted(names) == sorted(ls.classes):
            for i, n in enumerate(names):
                lut[i] = ls.index(n)
            return ls, lut
    ls = LabelSet(name="native", title="checkpoint's own classes (config.id2label)", classes=tuple(names),
                  palette=_palette(len(names)), source="model config.id2label")
    lut[: len(names)] = np.arange(len(names), dtype=np.uint8)
    return ls, lut


@dataclass(frozen=True)
class CihpTranslation:
    """How the classes of one label set become CIHP classes.

    Attributes:
        lut: ``(256,)`` uint8, native id -> CIHP id; :data:`~humanparse.labels.IGNORE` (255) for classes
            resolved per pixel (``side`` > 0: by side; otherwise: nearest labelled pixel).
        side: ``(256,)`` uint8, native id -> side kind (:data:`SIDE_ARM`, :data:`SIDE_LEG`,
            :data:`SIDE_SHOE`, or :data:`SIDE_NONE`).
    """

    lut: np.ndarray
    side: np.ndarray


def cihp_translation(native: LabelSet) -> CihpTranslation:
    """The :class:`CihpTranslation` of ``native`` into CIHP: the label set's own mapping table when it
    has one (``labels/data/<set>.json``), else by name and :data:`SYNONYMS`; side-less limbs via
    :data:`SIDE_KIND`."""
    cihp = get_label_set("cihp")
    try:
        lut = mapping_lut(native, cihp).copy()
    except (ValueError, KeyError):
        lut = np.full(256, IGNORE, np.uint8)
        for i, name in enumerate(native.classes):
            target = name if name in cihp.classes else SYNONYMS.get(name)
            if target is not None:
                lut[i] = cihp.index(target)
    side = np.zeros(256, np.uint8)
    for i, name in enumerate(native.classes):
        if lut[i] == IGNORE and name in SIDE_KIND:
            side[i] = SIDE_KIND[name]
    return CihpTranslation(lut, side)


__all__ = ["CihpTranslation", "KNOWN_SETS", "SIDED_CLASSES", "SIDE_KIND", "cihp_translation",
           "native_label_set", "normalise"]
