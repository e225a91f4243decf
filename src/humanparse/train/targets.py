"""CCP-59 ground truth -> CIHP-20 + bag training targets, with BodyPix splitting ``skin`` and ``shoes``.

The targets are in the ``cihp-bag`` label set (:data:`LABEL_SET`): CIHP's 20 classes with the same ids,
plus ``bag`` = 20, because CCP counts carried bags as part of the person (6.6 % of its person pixels)
and a parser without the class cannot reach CCP's person outline.

CCP (Yang et al., CVPR 2014) labels garments finely but marks all exposed body as ``skin`` and has no
left/right. The rules:

* garment classes map directly (:data:`CCP_TO_CIHP`): e.g. blazer/jacket/coat/cardigan/cape/suit ->
  ``coat``; shirt/t-shirt/blouse/top/sweater/hoodie/... -> ``upper-clothes``; jeans/shorts/leggings ->
  ``pants``; glasses -> ``sunglasses`` (CIHP's class covers eyewear);
* ``skin`` and the leg-covering hosiery (``tights``, ``stockings``) -> the BodyPix part under the
  pixel (:data:`BODY_PART_TO_CIHP`): face, torso-skin, left/right arm (hands included), left/right
  leg (feet included);
* every shoe class -> ``left-shoe`` / ``right-shoe`` by whichever of BodyPix's left or right
  lower-leg/foot logits is higher there;
* ``bag``, ``purse`` and ``wallet`` -> ``bag``;
* jewellery, belts, watches and the generic ``accessories`` -> 255 (ignored: CIHP has no class
  for them and labels them inconsistently).

Left/right are the person's own (BodyPix's convention, checked in :mod:`.teacher`).
"""

from __future__ import annotations

import numpy as np

from ..labels import IGNORE, get_label_set
from ..labels.flip import flip_channels

CCP_TO_CIHP: dict[str, str | None] = {
    "background": "background",
    "hat": "hat", "hair": "hair", "gloves": "glove", "sunglasses": "sunglasses", "glasses": "sunglasses",
    "scarf": "scarf", "socks": "socks", "skirt": "skirt",
    **dict.fromkeys(("blouse", "bodysuit", "bra", "shirt", "t-shirt", "top", "vest", "sweater", "sweatshirt",
                     "jumper", "hoodie", "tie"), "upper-clothes"),
    **dict.fromkeys(("blazer", "cardigan", "coat", "jacket", "cape", "suit"), "coat"),
    **dict.fromkeys(("dress", "romper", "intimate", "swimwear"), "dress"),
    **dict.fromkeys(("jeans", "pants", "leggings", "shorts", "panties"), "pants"),
    **dict.fromkeys(("bag", "purse", "wallet"), "bag"),
    **dict.fromkeys(("accessories", "belt", "bracelet", "earrings", "necklace", "ring", "watch"), None),
}
"""CCP classes with one ``cihp-bag`` counterpart (``None`` = ignored). ``skin``, hosiery and shoes are split."""

LABEL_SET = "cihp-bag"
"""Label set of the targets and of the network's output channels."""

CLASSES = len(get_label_set(LABEL_SET))
"""Output channels of the network (21)."""

BODY_SKIN = ("skin", "tights", "stockings")
SHOES = ("boots", "clogs", "flats", "heels", "loafers", "pumps", "sandals", "shoes", "sneakers", "wedges")

BODY_PART_TO_CIHP: tuple[str, ...] = (
    "face", "face",
    "left-arm", "left-arm", "right-arm", "right-arm", "left-arm", "left-arm", "right-arm", "right-arm",
    "left-arm", "right-arm",
    "torso-skin", "torso-skin",
    "left-leg", "left-leg", "right-leg", "right-leg", "left-leg", "left-leg", "right-leg", "right-leg",
    "left-leg", "right-leg",
)
"""CIHP class of each BodyPix part (:data:`.teacher.PARTS` order): hands go with arms, feet with legs."""

LEFT_FOOT_PARTS = (18, 19, 22)
RIGHT_FOOT_PARTS = (20, 21, 23)
"""BodyPix lower-leg (front, back) and foot channels of each side, used to split shoes."""

def _luts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ccp, cihp = get_label_set("ccp"), get_label_set(LABEL_SET)
    direct = np.full(256, IGNORE, np.uint8)
    kind = np.zeros(256, np.uint8)  # 0 direct, 1 body skin, 2 shoe
    for name in ccp.classes:
        i = ccp.index(name)
        if name in BODY_SKIN:
            kind[i] = 1
        elif name in SHOES:
            kind[i] = 2
        else:
            dst = CCP_TO_CIHP[name]  # KeyError: a CCP class with no rule
            direct[i] = IGNORE if dst is None else cihp.index(dst)
    body = np.array([cihp.index(n) for n in BODY_PART_TO_CIHP], np.uint8)
    return direct, kind, body


DIRECT_LUT, KIND_LUT, BODY_LUT = _luts()


def ccp_to_cihp(ccp_labels: np.ndarray, part_logits: np.ndarray) -> np.ndarray:
    """CIHP-20 + bag target of one CCP photo.

    Args:
        ccp_labels: ``(H, W)`` uint8 CCP-59 class ids.
        part_logits: ``(H, W, 24)`` float32 BodyPix part logits (:meth:`.teacher.BodyPixTeacher.part_logits`).
    Returns:
        ``(H, W)`` uint8 ``cihp-bag`` ids (CIHP-20 ids, bag = 20), 255 = ignored.
    Raises:
        ValueError: shapes differ.
    """
    if part_logits.shape[:2] != ccp_labels.shape or part_logits.shape[2] != len(BODY_PART_TO_CIHP):
        raise ValueError(f"part logits {part_logits.shape} do not match labels {ccp_labels.shape} x 24")
    out = DIRECT_LUT[ccp_labels]
    kind = KIND_LUT[ccp_labels]
    body = kind == 1
    if body.any():
        out[body] = BODY_LUT[part_logits[body].argmax(-1)]
    shoe = kind == 2
    if shoe.any():
        lg = part_logits[shoe]
        left = lg[:, LEFT_FOOT_PARTS].max(-1) >= lg[:, RIGHT_FOOT_PARTS].max(-1)
        cihp = get_label_set(LABEL_SET)
        out[shoe] = np.where(left, cihp.index("left-shoe"), cihp.index("right-shoe"))
    return out


def flip_logits_channels() -> list[int]:
    """Channel order that swaps left/right classes of ``(N, 21, H, W)`` logits (for flip test-time use)."""
    return [int(i) for i in flip_channels(CLASSES)]
