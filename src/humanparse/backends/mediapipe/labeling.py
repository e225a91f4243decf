"""Turn one person's skeleton regions plus colour into CIHP-20 classes.

Rules (per pixel of the person):
  * person seen from behind (no face mesh, left shoulder on the image's left): head region -> hair;
  * face polygon -> face; rest of the head region -> face if skin below the eye line, else hair;
  * neck -> face if skin (CIHP annotates the neck with the face), else upper-clothes;
  * torso -> torso-skin if skin, else upper-clothes, or lower clothes near the hips when the pixel's
    colour is closer to the thighs' clothing than to the chest's;
  * skin in the torso region along a visible forearm/hand -> that arm (arms in front of the body);
  * upper arm / forearm -> left/right-arm if skin, else upper-clothes (sleeve);
  * hand -> left/right-arm if skin or near the hand bone, else upper-clothes;
  * lower body with guessed (hidden) legs -> lower clothes, or the leg of the nearer hip if skin;
  * thigh / shin -> left/right-leg if skin, else lower clothes (pants, or skirt when clothing fills
    the gap between the knees); foot below the ankle -> left/right-shoe unless skin (bare foot -> leg);
  * hair-coloured pixels (colour of the non-skin head region above the face) hanging beside the neck
    and over the shoulders -> hair.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...labels import get_label_set
from ...persons import pose as L
from ...persons.pose import body_scale
from .geometry import MIN_LEG, Region, forearm_distance
from .skin import SkinModel, lab, mean_lab

CIHP = get_label_set("cihp")
C = {name: CIHP.index(name) for name in CIHP.classes}

ARM_RADIUS = 0.1
"""Skin in the torso region closer than this many body scales to a visible forearm/hand bone is arm."""

HAND_RADIUS = 0.08
"""Non-skin pixels of the hand region closer than this many body scales to the hand bone are still arm."""

SKIN_SMOOTH = 0.04
"""Median-filter window for the skin mask, as a fraction of body scale (removes speckle on patterned cloth)."""

SKIRT_STANDING = 0.4
"""The skirt test runs only when the knees are at least this many torso lengths below the hips."""

FOREHEAD = 0.12
"""Skin within this fraction of the face height around the face-mesh outline is face (forehead)."""

HAIR_DOWN = 0.1
"""Long hair is searched down to this fraction of the shoulder-to-hip axis (0 = shoulder line)."""

HAIR_LAB_DIST = 22.0
"""Lab distance (OpenCV 8-bit units) within which a pixel counts as hair-coloured."""


def smooth_mask(mask: np.ndarray, size: float) -> np.ndarray:
    """Majority (median) filter of a bool mask with an odd window of about ``size`` pixels (>= 3)."""
    k = max(3, int(size) | 1)
    return cv2.medianBlur(mask.astype(np.uint8) * 255, k) > 127


def _arm(reg: np.ndarray, side: str) -> np.ndarray:
    regs = (Region.L_UPPER_ARM, Region.L_FOREARM, Region.L_HAND) if side == "l" else \
        (Region.R_UPPER_ARM, Region.R_FOREARM, Region.R_HAND)
    return np.isin(reg, regs)


def _leg(reg: np.ndarray, side: str) -> np.ndarray:
    regs = (Region.L_THIGH, Region.L_SHIN) if side == "l" else (Region.R_THIGH, Region.R_SHIN)
    return np.isin(reg, regs)


def _is_skirt(person: np.ndarray, skin: np.ndarray, lm: np.ndarray) -> bool:
    """Clothing fills the space between the thighs (checked on a small disc between hips and knees)."""
    p = lm[:, :2]
    if min(lm[L.L_KNEE, 2], lm[L.R_KNEE, 2], lm[L.L_HIP, 3], lm[L.R_HIP, 3]) < 0.5:
        return False
    knees = np.linalg.norm(p[L.L_KNEE] - p[L.R_KNEE])
    hips = np.linalg.norm(p[L.L_HIP] - p[L.R_HIP])
    torso = np.linalg.norm((p[L.L_SHOULDER] + p[L.R_SHOULDER]) / 2 - (p[L.L_HIP] + p[L.R_HIP]) / 2)
    thigh = min(np.linalg.norm(p[L.L_HIP] - p[L.L_KNEE]), np.linalg.norm(p[L.R_HIP] - p[L.R_KNEE]))
    if thigh < MIN_LEG * torso:  # implausible (guessed) knees
        return False
    drop = (p[L.L_KNEE, 1] + p[L.R_KNEE, 1] - p[L.L_HIP, 1] - p[L.R_HIP, 1]) / 2
    if drop < SKIRT_STANDING * torso:  # sitting: the lap between the knees is not a skirt
        return False
    if knees < 0.9 * hips:  # legs together: a gap check says nothing
        return False
    c = 0.65 * (p[L.L_KNEE] + p[L.R_KNEE]) / 2 + 0.35 * (p[L.L_HIP] + p[L.R_HIP]) / 2  # below shorts' crotch
    r = max(2, int(0.15 * knees))
    disc = np.zeros(person.shape, np.uint8)
    cv2.circle(disc, (int(c[0]), int(c[1])), r, 1, -1)
    disc = disc.astype(bool)
    if disc.sum() == 0:
        return False
    cloth = (person & ~skin)[disc].mean()
    return bool(cloth > 0.85)


@dataclass
class _Person:
    """What the labelling steps share for one person (all arrays ``(h, w)`` over the crop)."""

    rgb: np.ndarray
    person: np.ndarray
    regions: np.ndarray
    dist: np.ndarray
    face: np.ndarray
    skin: np.ndarray
    lm: np.ndarray
    scale: float
    ys: np.ndarray
    xs: np.ndarray
    along: np.ndarray  # position on the shoulder-to-hip axis: 0 at the shoulders, 1 at the hips


def label_person(rgb: np.ndarray, person: np.ndarray, regions: np.ndarray, dist: np.ndarray,
                 face: np.ndarray, skin_model: SkinModel, lm: np.ndarray, back_view: bool = False) -> np.ndarray:
    """CIHP label map of one person inside a crop (rules in the module docstring).

    Args:
        rgb: ``(h, w, 3)`` uint8 crop. person: ``(h, w)`` bool, pixels of this person.
        regions: ``(h, w)`` uint8 :class:`Region` map; dist: ``(h, w)`` float32 pixel distance to the
            nearest bone. face: ``(h, w)`` bool face polygon.
        skin_model: this person's skin model. lm: ``(33, 4)`` landmarks in crop pixels.
        back_view: the person faces away: the whole head region is hair and ``face`` is ignored.
    Returns:
        ``(h, w)`` uint8 CIHP class ids, 0 outside ``person``.
    """
    scale = body_scale(lm)
    p = lm[:, :2]
    ys, xs = np.ogrid[0:person.shape[0], 0:person.shape[1]]
    smid, hmid = (p[L.L_SHOULDER] + p[L.R_SHOULDER]) / 2, (p[L.L_HIP] + p[L.R_HIP]) / 2
    tlen = float(np.linalg.norm(hmid - smid)) + 1e-6
    axis = (hmid - smid) / tlen
    along = ((xs - smid[0]) * axis[0] + (ys - smid[1]) * axis[1]) / tlen
    skin = smooth_mask(skin_model.predict(rgb) & person, SKIN_SMOOTH * scale)
    if back_view:
        face = np.zeros_like(face)
    ctx = _Person(rgb, person, regions, dist, face, skin, lm, scale, ys, xs, along)
    out = np.zeros(person.shape, np.uint8)
    _head_and_upper_body(ctx, out, back_view)
    lower_name = "skirt" if _is_skirt(person, skin, lm) else "pants"
    _legs(ctx, out, lower_name)
    _waist(ctx, out, lower_name)
    _long_hair(ctx, out)
    out[face & person] = C["face"]
    out[~person] = 0
    return out


def _head_and_upper_body(c: _Person, out: np.ndarray, back_view: bool) -> None:
    """Head (face / hair), neck, torso and arms, in place."""
    regions, skin, p = c.regions, c.skin, c.lm[:, :2]
    eye_y = np.inf if back_view else (p[L.L_EYE, 1] + p[L.R_EYE, 1]) / 2
    head = regions == Region.HEAD
    out[head] = C["hair"]
    out[head & skin & (c.ys > eye_y)] = C["face"]  # ears, jaw outside the outline; skin above the eyes
    # is mostly blond/brown hair, whose chroma is skin-like, except a thin forehead band above the outline
    fy = np.nonzero(c.face.any(1))[0]
    if len(fy):
        band = int(FOREHEAD * (fy.max() - fy.min() + 1)) | 1
        near_face = cv2.dilate(c.face.astype(np.uint8), np.ones((band, band), np.uint8)) > 0
        out[head & skin & near_face] = C["face"]
    neck = regions == Region.NECK
    out[neck & skin] = C["face"]
    out[neck & ~skin] = C["upper-clothes"]
    torso = regions == Region.TORSO
    out[torso & skin] = C["torso-skin"]
    out[torso & ~skin] = C["upper-clothes"]
    near_bone = c.dist < HAND_RADIUS * c.scale
    for side, arm_cls in (("l", "left-arm"), ("r", "right-arm")):
        arm = _arm(regions, side)
        hand = regions == (Region.L_HAND if side == "l" else Region.R_HAND)
        out[arm & skin] = C[arm_cls]
        out[arm & ~skin] = C["upper-clothes"]
        out[hand & (skin | near_bone)] = C[arm_cls]  # fingers may look non-skin; held objects do not
    # skin over the chest along a visible forearm is the arm lying in front of the body
    fdist, fleft = forearm_distance(c.lm, c.person.shape)
    over = (torso | neck) & skin & (fdist < ARM_RADIUS * c.scale)
    out[over & fleft] = C["left-arm"]
    out[over & ~fleft] = C["right-arm"]


def _legs(c: _Person, out: np.ndarray, lower_name: str) -> None:
    """Thighs, shins, feet and the unsided lower body, in place."""
    regions, skin, p = c.regions, c.skin, c.lm[:, :2]
    for side, leg_cls, shoe_cls in (("l", "left-leg", "left-shoe"), ("r", "right-leg", "right-shoe")):
        leg = _leg(regions, side)
        out[leg & skin] = C[leg_cls]
        out[leg & ~skin] = C[lower_name]
        foot = regions == (Region.L_FOOT if side == "l" else Region.R_FOOT)
        ankle_y = p[L.L_ANKLE if side == "l" else L.R_ANKLE, 1]
        shin_like = foot & (c.ys < ankle_y)  # above the ankle: still the leg / trouser hem
        out[shin_like & skin] = C[leg_cls]
        out[shin_like & ~skin] = C[lower_name]
        shoe = foot & ~shin_like
        out[shoe & skin] = C[leg_cls]
        out[shoe & ~skin] = C[shoe_cls]
    lower = regions == Region.LOWER
    out[lower & ~skin] = C[lower_name]
    if lower.any():
        left_side = (c.xs - p[L.L_HIP, 0]) ** 2 + (c.ys - p[L.L_HIP, 1]) ** 2 < \
            (c.xs - p[L.R_HIP, 0]) ** 2 + (c.ys - p[L.R_HIP, 1]) ** 2
        out[lower & skin & left_side] = C["left-leg"]
        out[lower & skin & ~left_side] = C["right-leg"]


def _waist(c: _Person, out: np.ndarray, lower_name: str) -> None:
    """Torso clothing near the hips that looks like the leg clothing becomes lower clothing, in place."""
    torso = c.regions == Region.TORSO
    upper_cloth = c.person & torso & ~c.skin
    chest = upper_cloth & (c.along > 0.2) & (c.along < 0.55)
    legs_cloth = c.person & (out == C[lower_name])
    up_c = mean_lab(c.rgb, chest)
    enough_legs = legs_cloth.sum() >= 0.1 * max(int((c.person & torso).sum()), 1)
    low_c = mean_lab(c.rgb, legs_cloth) if enough_legs else None
    if up_c is not None and low_c is not None and np.linalg.norm(up_c - low_c) > 15:
        waist = upper_cloth & (c.along > 0.6)
        idx = np.nonzero(waist)
        px = lab(c.rgb)[idx]
        closer = ((px - low_c) ** 2).sum(-1) < ((px - up_c) ** 2).sum(-1)
        out[idx[0][closer], idx[1][closer]] = C[lower_name]
    elif low_c is not None:
        out[upper_cloth & (c.along > 0.85)] = C[lower_name]


def _long_hair(c: _Person, out: np.ndarray) -> None:
    """Hair-coloured pixels beside the neck / over the shoulders, connected to the head hair, in place."""
    hair = out == C["hair"]
    fy = np.nonzero(c.face.any(1))[0]
    if hair.sum() <= 20 or not len(fy):
        return
    above = hair & (c.ys < fy.min() + 0.25 * (fy.max() - fy.min()))
    hair_c = mean_lab(c.rgb, above) if above.sum() > 20 else mean_lab(c.rgb, hair)
    if hair_c is None:
        return
    fx = np.nonzero(c.face.any(0))[0]
    fw = fx.max() - fx.min() + 1
    fcx = (fx.max() + fx.min()) / 2
    zone = c.person & ~c.skin & (c.ys > fy.min()) & (c.along < HAIR_DOWN) & (np.abs(c.xs - fcx) < 1.1 * fw) \
        & np.isin(c.regions, (Region.NECK, Region.TORSO, Region.L_UPPER_ARM, Region.R_UPPER_ARM, Region.HEAD))
    idx = np.nonzero(zone)
    near = ((lab(c.rgb)[idx] - hair_c) ** 2).sum(-1) < HAIR_LAB_DIST ** 2
    cand = np.zeros_like(zone)
    cand[idx[0][near], idx[1][near]] = True
    _, comp = cv2.connectedComponents((cand | hair).astype(np.uint8), connectivity=8)
    attached = np.unique(comp[hair])
    out[np.isin(comp, attached[attached > 0]) & cand] = C["hair"]


