"""Body-part regions of one person from pose landmarks (and an optional face mesh).

The skeleton is drawn as "bones" (face polygon, neck, torso core, upper/lower arms, hands, thighs,
shins, feet) into a small canvas around the person; every pixel then takes the bone nearest to it
(one Euclidean distance transform with per-pixel labels, OpenCV ``distanceTransformWithLabels``).
That splits the person's mask into regions; colour decides the class inside each region
(:mod:`.labeling`). Left/right are the person's own sides, as in MediaPipe and in CIHP.
"""

from __future__ import annotations

from enum import IntEnum

import cv2
import numpy as np

from ...persons import pose as L
from ...persons.pose import body_scale


class Region(IntEnum):
    """Skeleton regions (0 = none)."""

    HEAD = 1
    NECK = 2
    TORSO = 3
    L_UPPER_ARM = 4
    L_FOREARM = 5
    L_HAND = 6
    R_UPPER_ARM = 7
    R_FOREARM = 8
    R_HAND = 9
    L_THIGH = 10
    L_SHIN = 11
    L_FOOT = 12
    R_THIGH = 13
    R_SHIN = 14
    R_FOOT = 15
    LOWER = 16  # legs MediaPipe guesses (low visibility): lower body of unknown side


FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
"""Face-mesh landmark indices of the face outline in drawing order (MediaPipe ``FACEMESH_FACE_OVAL``)."""

FACE_CORE = (1, 4, 5, 6, 50, 101, 118, 119, 120, 100, 142, 203, 205, 206, 280, 330, 347, 348, 349, 329,
             371, 423, 425, 426, 197, 195, 36, 266)
"""Face-mesh points on the nose and cheeks, used to sample skin colour (no eyes, brows, lips, hair)."""

LIMBS = {
    Region.L_UPPER_ARM: (L.L_SHOULDER, L.L_ELBOW), Region.L_FOREARM: (L.L_ELBOW, L.L_WRIST),
    Region.R_UPPER_ARM: (L.R_SHOULDER, L.R_ELBOW), Region.R_FOREARM: (L.R_ELBOW, L.R_WRIST),
    Region.L_THIGH: (L.L_HIP, L.L_KNEE), Region.L_SHIN: (L.L_KNEE, L.L_ANKLE),
    Region.R_THIGH: (L.R_HIP, L.R_KNEE), Region.R_SHIN: (L.R_KNEE, L.R_ANKLE),
}
HANDS = {Region.L_HAND: (L.L_WRIST, L.L_INDEX, L.L_PINKY), Region.R_HAND: (L.R_WRIST, L.R_INDEX, L.R_PINKY)}
FEET = {Region.L_FOOT: (L.L_ANKLE, L.L_HEEL, L.L_FOOT), Region.R_FOOT: (L.R_ANKLE, L.R_HEEL, L.R_FOOT)}

LEGS = (Region.L_THIGH, Region.L_SHIN, Region.R_THIGH, Region.R_SHIN)
MIN_LEG = 0.5
"""Thigh/shin bones shorter than this fraction of the torso length are not drawn (implausible legs)."""

TORSO_CORE = 0.45
"""Width of the torso bone (a quadrilateral) at the shoulders, as a fraction of shoulder width; pixels
between it and the upper-arm bones split by distance."""

MIN_LEG_VIS = 0.5
"""Leg bones below this visibility at either end are drawn as :attr:`Region.LOWER` and feet are not
drawn (MediaPipe guesses hidden legs)."""

MIN_PRESENCE = 0.3
"""Landmarks with presence below this (mostly outside the frame) draw no bone."""


def face_polygon_from_pose(lm: np.ndarray) -> np.ndarray:
    """Fallback face outline when no face mesh was found: an ellipse over the head landmarks.

    Returns:
        ``(36, 2)`` float32 pixel polygon. Half-width = 0.6 x ear distance (at least 1.3 x eye
        distance), half-height = 1.35 x half-width, centred slightly below the eye line.
    """
    p = lm[:, :2]
    eyes = (p[L.L_EYE] + p[L.R_EYE]) / 2
    mouth = (p[L.MOUTH_L] + p[L.MOUTH_R]) / 2
    hw = max(0.6 * np.linalg.norm(p[L.L_EAR] - p[L.R_EAR]), 1.3 * np.linalg.norm(p[L.L_EYE] - p[L.R_EYE]), 2.0)
    centre = (eyes + mouth) / 2
    up = eyes - mouth
    n = np.linalg.norm(up)
    up = up / n if n > 1e-3 else np.array([0.0, -1.0])
    side = np.array([-up[1], up[0]])
    t = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    pts = centre + np.outer(np.cos(t) * hw, side) + np.outer(np.sin(t) * 1.35 * hw, up)
    return pts.astype(np.float32)


def _line(canvas: np.ndarray, a, b, value: int, thickness: int) -> None:
    cv2.line(canvas, (int(round(a[0])), int(round(a[1]))), (int(round(b[0])), int(round(b[1]))),
             int(value), thickness=max(1, thickness))


def draw_skeleton(lm: np.ndarray, face_poly: np.ndarray, shape: tuple[int, int],
                  offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Rasterise the bones of one person.

    Args:
        lm: ``(33, 4)`` landmarks in full-image pixels.
        face_poly: ``(K, 2)`` face outline in full-image pixels.
        shape: ``(h, w)`` of the canvas; ``offset``: ``(x0, y0)`` of the canvas in the image.
    Returns:
        ``(h, w)`` uint8 with :class:`Region` values on bone pixels, 0 elsewhere. Limbs whose end points
        are visible are drawn over the torso (an arm in front of the body stays an arm).
    """
    x0, y0 = offset
    p = lm[:, :2] - np.array([x0, y0], np.float32)
    pres = lm[:, 3]
    vis = lm[:, 2]
    scale = body_scale(lm)
    torso = float(np.linalg.norm((p[L.L_SHOULDER] + p[L.R_SHOULDER]) / 2 - (p[L.L_HIP] + p[L.R_HIP]) / 2))
    # a leg bone is plausible if it is not much shorter than the torso and the bone above it is too
    leg_ok = {}
    for upper, lower in ((Region.L_THIGH, Region.L_SHIN), (Region.R_THIGH, Region.R_SHIN)):
        for reg, ok_above in ((upper, True), (lower, None)):
            a, b = LIMBS[reg]
            above = leg_ok[upper] if ok_above is None else True
            leg_ok[reg] = above and np.linalg.norm(p[a] - p[b]) >= MIN_LEG * torso
    canvas = np.zeros(shape, np.uint8)
    th = max(1, int(scale * 0.02))

    def limbs(front: bool) -> None:
        for reg, (a, b) in LIMBS.items():
            if min(pres[a], pres[b]) < MIN_PRESENCE:
                continue
            if reg in LEGS and not leg_ok[reg]:
                continue  # legs guessed outside the frame
            if (min(vis[a], vis[b]) > 0.5) == front:
                hidden = reg in LEGS and min(vis[a], vis[b]) < MIN_LEG_VIS
                _line(canvas, p[a], p[b], Region.LOWER if hidden else reg, th)
        for reg, (w, i, k) in HANDS.items():
            if pres[w] < MIN_PRESENCE or (vis[w] > 0.5) != front:
                continue
            tip = (p[i] + p[k]) / 2
            _line(canvas, p[w], p[w] + 1.3 * (tip - p[w]), reg, th)
        for reg, (a, h, f) in FEET.items():
            shin = Region.L_SHIN if reg == Region.L_FOOT else Region.R_SHIN
            if pres[a] < MIN_PRESENCE or vis[a] < MIN_LEG_VIS or (vis[a] > 0.5) != front or not leg_ok[shin]:
                continue
            _line(canvas, p[a], p[h], reg, th)
            _line(canvas, p[h], p[f], reg, th)
            _line(canvas, p[a], p[f], reg, th)

    limbs(front=False)
    ls, rs, lh, rh = p[L.L_SHOULDER], p[L.R_SHOULDER], p[L.L_HIP], p[L.R_HIP]
    smid, hmid = (ls + rs) / 2, (lh + rh) / 2
    core = np.array([smid + TORSO_CORE * (ls - smid), smid + TORSO_CORE * (rs - smid),
                     hmid + 0.8 * (rh - hmid), hmid + 0.8 * (lh - hmid)])
    cv2.fillPoly(canvas, [np.round(core).astype(np.int32)], int(Region.TORSO))
    fp = face_poly - np.array([x0, y0], np.float32)
    chin = fp[np.argmax(fp[:, 1])]
    _line(canvas, chin + 0.3 * (smid - chin), smid + 0.1 * (chin - smid), Region.NECK, th)
    cv2.fillPoly(canvas, [np.round(fp).astype(np.int32)], int(Region.HEAD))
    limbs(front=True)
    return canvas


def nearest_region(canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give every pixel the region of its nearest bone pixel.

    Args:
        canvas: ``(h, w)`` uint8 from :func:`draw_skeleton`.
    Returns:
        ``(regions, dist)``: ``(h, w)`` uint8 :class:`Region` values and ``(h, w)`` float32 distance in
        pixels to that bone. All zero/inf when the canvas has no bone.
    """
    bone = canvas > 0
    if not bone.any():
        return np.zeros(canvas.shape, np.uint8), np.full(canvas.shape, np.inf, np.float32)
    src = np.where(bone, 0, 255).astype(np.uint8)
    dist, lab = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    values = canvas.ravel()[np.flatnonzero(bone.ravel())]  # label k = k-th bone pixel in raster order
    lut = np.concatenate([[0], values]).astype(np.uint8)
    return lut[lab], dist


def forearm_distance(lm: np.ndarray, shape: tuple[int, int], offset: tuple[int, int] = (0, 0)
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest visible forearm or hand bone, and which side it is.

    Used to give arms lying in front of the torso back to the arm (the torso bone is a filled
    polygon, so without this every pixel over the chest is torso).

    Args:
        lm: ``(33, 4)`` landmarks in image pixels; ``shape``/``offset`` as in :func:`draw_skeleton`.
    Returns:
        ``(dist, left)``: ``(h, w)`` float32 pixels (inf when no forearm is visible) and ``(h, w)``
        bool, True where the nearest forearm is the person's left one.
    """
    x0, y0 = offset
    p = lm[:, :2] - np.array([x0, y0], np.float32)
    canvas = np.zeros(shape, np.uint8)
    for value, (e, w, i, k) in ((1, (L.L_ELBOW, L.L_WRIST, L.L_INDEX, L.L_PINKY)),
                                (2, (L.R_ELBOW, L.R_WRIST, L.R_INDEX, L.R_PINKY))):
        if min(lm[e, 2], lm[w, 2]) < 0.5:
            continue
        tip = p[w] + 1.3 * ((p[i] + p[k]) / 2 - p[w])
        _line(canvas, p[e], p[w], value, 1)
        _line(canvas, p[w], tip, value, 1)
    regions, dist = nearest_region(canvas)
    return dist, regions == 1
