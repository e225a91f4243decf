"""From a semantic label map (one map, no instances) to a multi-person CIHP :class:`Parsing`.

SegFormer parsers predict one label map for the whole image. humanparse derives persons from it:

* **Persons** are the 8-connected components of the person mask (every class but background).
  Components smaller than ``min_person_fraction`` of the image (default 0.2 %) are fragments
  (a detached hand, noise) and join the nearest person; if nothing is that large, the largest
  component is the person. Only the ``max_persons`` largest persons are kept (the others become
  background). Persons are numbered left to right by the x of their centroid.
  **Limitation:** people who touch or overlap in the image merge into one person.
* **Sides.** Classes without left/right (FASHN ``arms``, ``hands``, ``legs``, ``feet``) get one from
  the person's vertical axis: the median x of the person's central classes (face, hair, hat,
  upper-clothes, coat, dress, torso-skin, scarf; all its pixels if it has none). Assuming the person
  faces the camera, pixels right of the axis in the image are the person's *left* (CIHP ``left-arm``
  etc. name the person's own side). Persons seen from the back get left and right swapped.
* Remaining classes with no CIHP counterpart (e.g. ``jewelry``) take the class of the nearest pixel
  that has one, so a :class:`Parsing` never holds 255.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...labels import IGNORE, get_label_set
from .labels import SIDE_NONE, SIDED_CLASSES, CihpTranslation

CORE_CLASSES = ("face", "hair", "hat", "upper-clothes", "coat", "dress", "torso-skin", "scarf")
"""CIHP classes on a person's vertical axis, used to place it."""


def person_instances(person: np.ndarray, max_persons: int, min_person_fraction: float = 0.002) -> np.ndarray:
    """Split a person mask into persons (connected components), numbered left to right.

    Args:
        person: ``(H, W)`` bool, True on any person pixel.
        max_persons: keep at most this many persons (the largest).
        min_person_fraction: components below this fraction of ``H * W`` pixels join the nearest person.
    Returns:
        ``(H, W)`` uint16 instance map: 0 = no person (including dropped persons), 1..N left to right.
    """
    h, w = person.shape
    n, comp, stats, centroids = cv2.connectedComponentsWithStats(person.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros((h, w), np.uint16)
    areas = stats[1:, cv2.CC_STAT_AREA]
    order = np.argsort(-areas, kind="stable") + 1  # component ids, largest first
    big = [int(c) for c in order if areas[c - 1] >= max(1.0, min_person_fraction * h * w)] or [int(order[0])]
    kept = big[:max_persons]
    dropped = big[max_persons:]
    kept_lr = sorted(kept, key=lambda c: centroids[c][0])
    lut = np.zeros(n, np.uint16)
    for k, c in enumerate(kept_lr, start=1):
        lut[c] = k
    inst = lut[comp]
    fragments = person & (inst == 0)
    for c in dropped:
        fragments &= comp != c
    if fragments.any():
        inst[fragments] = nearest_values(inst, inst > 0, fragments)
    return inst


def nearest_values(values: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """For each ``target`` pixel, the value of the nearest ``source`` pixel (Euclidean distance,
    OpenCV ``distanceTransformWithLabels`` with per-pixel labels).

    Args:
        values: ``(H, W)`` array; source: ``(H, W)`` bool (must have a True pixel); target: ``(H, W)`` bool.
    Returns:
        1-D array of ``values.dtype``, one value per True pixel of ``target`` in row-major order.
    """
    src = np.where(source, 0, 1).astype(np.uint8)
    _, lab = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    seeds = values[source]  # seeds are labelled 1..N in row-major order
    return seeds[lab[target] - 1]


def person_axes(labels: np.ndarray, instances: np.ndarray, n: int) -> np.ndarray:
    """Vertical axis x (pixels) of persons 1..n: median x of their CORE_CLASSES pixels, else of all
    their pixels. Returns ``(n + 1,)`` float64 (index 0 unused)."""
    cihp = get_label_set("cihp")
    core = np.zeros(256, bool)
    core[[cihp.index(c) for c in CORE_CLASSES]] = True
    axes = np.zeros(n + 1)
    ys, xs = np.nonzero(instances)
    ids = instances[ys, xs]
    is_core = core[labels[ys, xs]]
    for k in range(1, n + 1):
        mine = ids == k
        sel = mine & is_core
        axes[k] = np.median(xs[sel]) if sel.any() else (np.median(xs[mine]) if mine.any() else 0.0)
    return axes


def to_cihp(native: np.ndarray, translation: CihpTranslation, max_persons: int,
            min_person_fraction: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    """CIHP label map and instance map from a native label map (see the module notes for the rules).

    Args:
        native: ``(H, W)`` uint8 class ids of the native label set.
        translation: from :func:`.labels.cihp_translation`.
    Returns:
        ``(labels, instances)``: ``(H, W)`` uint8 CIHP ids (never 255) and ``(H, W)`` uint16 person ids;
        ``labels > 0`` exactly where ``instances > 0``.
    """
    cihp = get_label_set("cihp")
    labels = translation.lut[native]
    side = translation.side[native]
    instances = person_instances(labels != 0, max_persons, min_person_fraction)
    labels = np.where(instances > 0, labels, 0).astype(np.uint8)
    side[instances == 0] = SIDE_NONE
    n = int(instances.max(initial=0))
    if n and (side != SIDE_NONE).any():
        axes = person_axes(labels, instances, n)
        ys, xs = np.nonzero(side)
        persons_left = xs > axes[instances[ys, xs]]  # image right of the axis = person's left (facing camera)
        for kind, (left, right) in SIDED_CLASSES.items():
            sel = side[ys, xs] == kind
            labels[ys[sel], xs[sel]] = np.where(persons_left[sel], cihp.index(left), cihp.index(right))
    rest = labels == IGNORE
    if rest.any():
        valid = (labels != IGNORE) & (labels != 0)
        if valid.any():
            labels[rest] = nearest_values(labels, valid, rest)
        else:  # a person made only of unmappable classes: count it as torso skin
            labels[rest] = cihp.index("torso-skin")
    return labels, instances


__all__ = ["CORE_CLASSES", "nearest_values", "person_axes", "person_instances", "to_cihp"]
