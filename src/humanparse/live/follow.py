"""``mode=parts``: make the last parsing follow *this* frame's person.

The parser is far slower than the camera, so the parsing used for a frame was made from an older frame; drawn
as is, its masks lag behind a moving person (ghosts over a replaced background, holes with ``transparent``).
Every frame also gets the selfie segmenter's person alpha (:class:`humanparse.persons.segmenter.PersonSegmenter`,
about 5 ms). :func:`follow_mask` moves the parsing's mask by the motion of the selfie person's centre of mass
between the parsed frame and this one (the person's box motion), then keeps only what lies within
``gate`` px of where the selfie segmenter sees a person now: the per-frame alpha decides where people are, the
parsing gives the shape and the part labels. Measured against optical-flow warping in ``docs/live.md``.
"""

from __future__ import annotations

import cv2
import numpy as np

GATE_FRACTION = 0.04
"""Gate radius as a fraction of the frame's longer side (26 px at 640 x 360): moved parsing pixels farther than
this from the selfie segmenter's person (alpha > 0.5) are dropped."""
MIN_MASS = 50.0
"""Less selfie alpha than this (in pixels' worth) has no meaningful centre: no motion is estimated."""


def alpha_centre(alpha: np.ndarray) -> tuple[float, float] | None:
    """Centre of mass ``(x, y)`` in px of a soft ``(H, W)`` float alpha, or ``None`` when it holds less than
    :data:`MIN_MASS` (nobody)."""
    a = np.asarray(alpha, np.float32)
    mass = float(a.sum())
    if mass < MIN_MASS:
        return None
    ys = np.arange(a.shape[0], dtype=np.float32)
    xs = np.arange(a.shape[1], dtype=np.float32)
    return float(a.sum(axis=0) @ xs) / mass, float(a.sum(axis=1) @ ys) / mass


def translate(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``mask`` (``(H, W)``, any dtype) moved by whole pixels ``(dx, dy)``; what comes in from outside is 0."""
    h, w = mask.shape[:2]
    out = np.zeros_like(mask)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        mask[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def follow_mask(mask: np.ndarray, alpha_then: np.ndarray | None, alpha_now: np.ndarray,
                gate_fraction: float = GATE_FRACTION) -> np.ndarray:
    """Move a parsing's mask from the frame it was parsed from to this frame.

    Args:
        mask: ``(H, W)`` bool, the parsing's mask (whole person or the chosen parts) at this frame's size.
        alpha_then: ``(H, W)`` float32 selfie alpha of the frame that was parsed (``None``: unknown, no motion).
        alpha_now: ``(H, W)`` float32 selfie alpha of this frame.
        gate_fraction: gate radius / the frame's longer side (:data:`GATE_FRACTION`); ``<= 0``: no gate.
    Returns:
        ``(H, W)`` float32 alpha in {0, 1}: ``mask`` shifted by the selfie person's motion, restricted to within
        the gate of this frame's selfie person.
    Raises:
        ValueError: shapes differ.
    """
    m = np.asarray(mask, bool)
    now = np.asarray(alpha_now, np.float32)
    if m.shape != now.shape or (alpha_then is not None and np.shape(alpha_then) != now.shape):
        raise ValueError(f"mask {m.shape}, alpha_then {None if alpha_then is None else np.shape(alpha_then)} and "
                         f"alpha_now {now.shape} must all be (H, W) of the same size")
    c_now = alpha_centre(now)
    c_then = None if alpha_then is None else alpha_centre(alpha_then)
    if c_now is not None and c_then is not None:
        m = translate(m, round(c_now[0] - c_then[0]), round(c_now[1] - c_then[1]))
    if gate_fraction > 0:
        r = max(1, round(gate_fraction * max(m.shape)))
        person = now > 0.5
        if not person.any():
            return np.zeros(m.shape, np.float32)
        # distance to the nearest person pixel (a 3x3-mask L2 estimate): ~1 ms, where a 53 px dilation is ~100
        m = m & (cv2.distanceTransform((~person).astype(np.uint8), cv2.DIST_L2, 3) <= r)
    return m.astype(np.float32)
