"""Top-down composition for detector boxes: per-person logits pasted back, every pixel given one owner.

Each detected person's crop logits (:mod:`.crops`) are warped back onto the photo. A pixel can belong
only to a person whose box (enlarged by :data:`BOX_SLACK`) holds it; among those it goes to the person
maximising ``P(person) x centre prior``, where ``P(person)`` is 1 - that person's network background
probability and the prior ``exp(-(u^2 + v^2) / (2 CENTRE_SIGMA^2))``, ``(u, v)`` the pixel's offset from the
box centre in box widths and heights, favours the person whose crop is centred on it (two people
overlapping in a crowd both see the pixel as "person"; the network was trained to segment the person
its crop is framed on, so the better-centred crop is the better judge). The pixel is foreground when
its owner's ``P(person)``, mixed with a whole-photo person alpha (:data:`ALPHA_BLEND`), exceeds 0.5,
and its class is the owner's arg-max over the part classes. No pixel is owned twice. A crop's head
pixels (hat, hair, sunglasses, face) weigh less the lower they lie in its box (:data:`HEAD_TOP`): the
head of a person sitting in front of another is near the centre of the standing person's box, but at
the top of its own.
"""

from __future__ import annotations

import numpy as np

from ...labels import get_label_set
from ...persons.record import enlarged_box
from .crops import INPUT_HW, paste_box, unwarp

CENTRE_SIGMA = 0.5
"""Width of the centre prior, in box sides (see module doc). On ``cihp_val`` 0.3, 0.5 and 1.0 gave the
same figures within 0.1 point (``bench/crowds_val.py``; docs/backend-lite.md)."""

BOX_SLACK = 1.25
"""A person may own pixels only inside its detector box enlarged by this factor around its centre
(detector boxes are tight; hair and hands reach a little past them). Chosen on ``cihp_val`` beside CCP
validation (``bench/crowds_val.py``; docs/backend-lite.md): with the selfie alpha, 1.25 against 1.1
gave +0.1 mIoU on both sets, person IoU equal."""


ALPHA_BLEND = 0.5
"""Weight of a whole-photo person alpha (MediaPipe's selfie segmenter, ``general`` model) in the
foreground decision: a pixel is foreground when ``(1 - ALPHA_BLEND) x P(person) + ALPHA_BLEND x alpha``
exceeds :data:`FG_THRESHOLD` (0: the network alone). Chosen on ``cihp_val`` beside CCP validation
(``bench/crowds_val.py``; docs/backend-lite.md): 0 / 0.3 / 0.5 / 0.7 / 1.0 gave cihp_val person IoU
72.4 / 73.6 / 76.7 / 77.5 / 75.6 % at the first settings tried, and 0.5 was best on CCP validation
and on cihp_val mIoU; each person's own pose mask in its place was worse on both sets."""

ALPHA_TRUST, ALPHA_TRUST_HEIGHT = 0.5, 0.5
"""The alpha is not mixed in for a person it misses (its mean over the pixels the person owns and the
person's network calls person is below ``ALPHA_TRUST``; 0.5 beat 0.3 and 0.6 on ``cihp_val``, CCP
validation equal) whose box is at least ``ALPHA_TRUST_HEIGHT`` times as tall as the tallest box. Only
the person's own pixels count: a person standing behind another one also "sees" the front person's
body in its crop, where the alpha is high, which hid that the alpha missed the person itself (the
woman at the back right of ``office_group.jpg`` kept 35k of her ~94k pixels; ``cihp_val`` and CCP
validation figures identical either way, ``bench/crowds_val.py``, 2026-12-06). The rule exists because
MediaPipe's selfie segmenter misses some prominent people entirely (the astronaut of
``humanparse.samples.two_person_photo``: mean alpha 0.002 over her half), and a mix with an alpha of 0
would erase a person the detector and the network both see. Small people it misses keep the mix (it
drops far bystanders, which was part of its gain on validation)."""

HEAD_CLASSES = ("hat", "hair", "sunglasses", "face")
"""Part classes that make up a head (CIHP names; the same ids in ``cihp`` and ``cihp-bag``)."""
HEAD_LUT = np.zeros(256, bool)
HEAD_LUT[[get_label_set("cihp").classes.index(c) for c in HEAD_CLASSES]] = True
"""``HEAD_LUT[part_id]``: True for the :data:`HEAD_CLASSES`."""

HEAD_TOP, HEAD_SIGMA = 0.3, 0.15
"""Where a crop labels a pixel as head, its ownership score is multiplied by
``exp(-max(t - HEAD_TOP, 0)^2 / (2 HEAD_SIGMA^2))``, ``t`` = the pixel's depth below the top of that
person's box in box heights: an upright person's head lies in the top ~15 % (standing) to ~25 %
(seated) of their box. Set before measuring, not tuned: it gives a seated man's head back to him
from the woman standing behind him in ``office_group.jpg`` (her crop called it hair and face near her
box's centre); ``cihp_val`` CIHP-20 mIoU 29.01 -> 29.10 %, person IoU and CCP validation equal, and
multi_person person APr (evaluation, measured once afterwards) unchanged (``bench/crowds_val.py``,
2026-12-06)."""

FG_THRESHOLD = 0.5
"""A pixel is foreground when its owner's ``P(person)``, mixed with the alpha (:data:`ALPHA_BLEND`),
exceeds this (0.4 was tried on validation: cihp_val person IoU +0.2, CCP validation -2.6 mIoU)."""

def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax of float32 logits along ``axis`` (a new array)."""
    x = x - x.max(axis, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis, keepdims=True)
    return x


def person_planes(logits: np.ndarray, matrix: np.ndarray,
                  region: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One crop's network output pasted onto a photo region.

    Args:
        logits: ``(C, h, w)`` float32 logits of the crop (channel 0 = background).
        matrix: the crop's matrix (photo -> crop, :func:`.crops.crop_matrix`).
        region: photo region ``(x1, y1, x2, y2)`` to fill, non-empty.
    Returns:
        ``(fg, inside, part)``, each ``(y2 - y1, x2 - x1)``: ``P(person)`` float32 0..1 (1 - the background
        probability, at the network's resolution then bilinear), the crop's extent float32 (> 0.5
        inside the crop), and the arg-max over the part classes uint8 (ids 1..C-1).
    """
    planes = logits.transpose(1, 2, 0)
    fg = 1.0 - softmax(planes.copy())[..., :1]
    fg, inside = np.moveaxis(unwarp(np.concatenate([fg, np.ones_like(fg)], -1), matrix, region), -1, 0)
    part = (unwarp(planes[..., 1:], matrix, region).argmax(-1) + 1).astype(np.uint8)
    return fg, inside, part


def centre_prior(box: tuple[float, float, float, float], region: tuple[int, int, int, int],
                 sigma: float) -> np.ndarray:
    """``exp(-(u^2 + v^2) / (2 sigma^2))`` over ``region`` ``(x1, y1, x2, y2)``, ``(u, v)`` the offset of
    each pixel centre from ``box``'s centre in box widths / heights; ``(y2 - y1, x2 - x1)`` float32 in (0, 1]."""
    bx1, by1, bx2, by2 = box
    x1, y1, x2, y2 = region
    u = ((np.arange(x1, x2, dtype=np.float32) + 0.5) - (bx1 + bx2) / 2) / max(bx2 - bx1, 1.0)
    v = ((np.arange(y1, y2, dtype=np.float32) + 0.5) - (by1 + by2) / 2) / max(by2 - by1, 1.0)
    k = np.float32(-0.5 / sigma ** 2)
    return np.exp(k * v[:, None] ** 2) * np.exp(k * u[None, :] ** 2)


def head_prior(box: tuple[float, float, float, float], region: tuple[int, int, int, int]) -> np.ndarray:
    """``exp(-max(t - HEAD_TOP, 0)^2 / (2 HEAD_SIGMA^2))`` per row of ``region`` ``(x1, y1, x2, y2)``,
    ``t`` the row centre's depth below ``box``'s top in box heights; ``(y2 - y1, 1)`` float32 in (0, 1]."""
    _, y1, _, y2 = region
    t = ((np.arange(y1, y2, dtype=np.float32) + 0.5) - box[1]) / max(box[3] - box[1], 1.0)
    return np.exp(-np.maximum(t - HEAD_TOP, 0.0) ** 2 / (2 * HEAD_SIGMA ** 2))[:, None].astype(np.float32)


def compose_boxes(hw: tuple[int, int], logits: np.ndarray, mats: list[np.ndarray],
                  boxes: list[tuple[float, float, float, float]], sigma: float | None = None,
                  slack: float | None = None, alpha: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Label and instance maps from per-person crop logits (module doc).

    Args:
        hw: photo ``(H, W)``.
        logits: ``(N, C, h, w)`` float32 network outputs of the N crops (channel 0 = background).
        mats: the N crop matrices (photo -> crop, :func:`.crops.crop_matrix`).
        boxes: the N detector boxes ``(x1, y1, x2, y2)`` in photo pixels.
        sigma / slack: :data:`CENTRE_SIGMA` / :data:`BOX_SLACK` (None: the module's values).
        alpha: ``(H, W)`` float32 0..1 person alpha of the whole photo, mixed into the foreground
            decision with weight :data:`ALPHA_BLEND`; None: the network alone.
    Returns:
        ``(labels (H, W) uint8 class ids, instances (H, W) uint16)``: person ``k`` is ``boxes[k - 1]``;
        0 where no person is foreground. A person may own no pixel at all.
    """
    sigma = CENTRE_SIGMA if sigma is None else sigma
    slack = BOX_SLACK if slack is None else slack
    H, W = hw
    tallest = max((b[3] - b[1] for b in boxes), default=0.0)
    best = np.zeros((H, W), np.float32)
    owner = np.zeros((H, W), np.uint16)
    labels = np.zeros((H, W), np.uint8)
    planes = []
    for k, (lg, m, box) in enumerate(zip(logits, mats, boxes), start=1):     # 1: who owns each pixel
        cx1, cy1, cx2, cy2 = paste_box(m, INPUT_HW, hw)
        sx1, sy1, sx2, sy2 = enlarged_box(box, slack, hw)
        region = x1, y1, x2, y2 = max(cx1, sx1), max(cy1, sy1), min(cx2, sx2), min(cy2, sy2)
        if x2 <= x1 or y2 <= y1:
            continue
        fg, inside, part = person_planes(lg, m, region)
        score = fg * centre_prior(box, region, sigma)
        score *= np.where(HEAD_LUT[part], head_prior(box, region), np.float32(1.0))
        win = (score > best[y1:y2, x1:x2]) & (inside > 0.5)
        best[y1:y2, x1:x2][win] = score[win]
        owner[y1:y2, x1:x2][win] = k
        planes.append((k, box, region, fg, part))
    for k, box, (x1, y1, x2, y2), fg, part in planes:                         # 2: is it foreground
        own = owner[y1:y2, x1:x2] == k
        keep = fg[own]
        if alpha is not None and ALPHA_BLEND > 0:
            a = alpha[y1:y2, x1:x2]
            seen = (fg > 0.5) & own                        # the person's own pixels (ALPHA_TRUST)
            missed = seen.any() and float(a[seen].mean()) < ALPHA_TRUST
            if not (missed and box[3] - box[1] >= ALPHA_TRUST_HEIGHT * tallest):
                keep = (1 - ALPHA_BLEND) * keep + ALPHA_BLEND * a[own]
        labels[y1:y2, x1:x2][own] = np.where(keep > FG_THRESHOLD, part[own], 0)
    owner[labels == 0] = 0
    return labels, owner
