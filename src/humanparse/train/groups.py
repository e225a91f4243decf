"""Synthetic group photos from CCP single-person photos, with exact label and instance maps.

CCP has one annotated person per photo, so it cannot measure how a top-down parser separates people
who stand close together. :func:`group_scene` builds such a scene from 2-4 photos of one split: each
photo is cropped to a strip around its person, the strips are scaled to one person height and laid
side by side, each overlapping its left neighbour, and each person is drawn in front of the ones
before it (its pixels replace theirs; its background fills only what is still empty). The label map
is the photos' CIHP targets (:mod:`.data`, 255 = ignored, kept), the instance map says whose pixel
each is. Used to choose how the ``lite`` backend composes its per-person outputs
(``bench/groups_val.py``) on the **validation** split; the test split is never read by it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .data import person_box


@dataclass
class GroupScene:
    """One synthetic group photo.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` uint8 ``cihp-bag`` ids (CIHP-20 + bag), 255 = ignored (jewellery, belts).
        instances: ``(H, W)`` uint16, 0 = background, k = the k-th photo's person (left to right).
        ids: the CCP photo ids used, in instance order.
    """

    image: np.ndarray
    labels: np.ndarray
    instances: np.ndarray
    ids: list[str]


def group_scene(photos: list[tuple[str, np.ndarray, np.ndarray]], rng: np.random.Generator,
                height: int = 480, overlap: tuple[float, float] = (0.0, 0.5),
                sizes: tuple[float, float] = (0.65, 1.0)) -> GroupScene:
    """Lay 2 or more single-person photos side by side into one group photo (module doc).

    Args:
        photos: ``(id, image (H, W, 3) uint8, target (H, W) uint8 CIHP with 255 = ignored)`` each.
        rng: draws the strip widths (person box x 1.1-1.5), overlaps (a fraction in ``overlap`` of the
            narrower person's width) and person heights (a fraction in ``sizes`` of 85 % of the scene:
            nearer and farther people).
        height: scene height in pixels.
        overlap / sizes: ranges of those draws (defaults: 0-50 %, 0.65-1.0).
    Returns:
        :class:`GroupScene`.
    Raises:
        ValueError: fewer than 2 photos.
    """
    if len(photos) < 2:
        raise ValueError("a group scene needs at least 2 photos")
    strips = []
    for pid, image, target in photos:
        x1, y1, x2, y2 = person_box(target)
        s = 0.85 * height * rng.uniform(*sizes) / max(y2 - y1, 1)
        pw = (x2 - x1) * s
        half = pw * rng.uniform(1.1, 1.5) / 2
        cx = (x1 + x2) / 2 * s
        top = (y1 * s) - (height - (y2 - y1) * s) * rng.uniform(0.3, 0.7)  # person's vertical placement
        m = np.array([[s, 0, half - cx], [0, s, -top]], np.float64)
        w = int(round(2 * half))
        img = cv2.warpAffine(image, m, (w, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        lab = cv2.warpAffine(target, m, (w, height), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)
        strips.append((pid, img, lab, pw))
    xs = [0]
    for (_, a, _, pa), (_, b, _, pb) in zip(strips, strips[1:]):
        shared = rng.uniform(*overlap) * min(pa, pb) + (a.shape[1] - pa) / 2 + (b.shape[1] - pb) / 2
        xs.append(xs[-1] + a.shape[1] - int(round(shared)))
    width = max(x + s[1].shape[1] for x, s in zip(xs, strips))
    image = np.zeros((height, width, 3), np.uint8)
    filled = np.zeros((height, width), bool)
    labels = np.zeros((height, width), np.uint8)
    inst = np.zeros((height, width), np.uint16)
    for k, (x, (_, img, lab, _)) in enumerate(zip(xs, strips), start=1):
        sl = np.s_[:, x:x + img.shape[1]]
        person = lab != 0
        empty = ~filled[sl]
        take = person | empty
        image[sl][take] = img[take]
        labels[sl][person] = lab[person]
        inst[sl][person] = k
        filled[sl] |= take
    return GroupScene(image, labels, inst, [p[0] for p in photos])
