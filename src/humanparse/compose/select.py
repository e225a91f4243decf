"""Choosing what to cut out: parts to keep or remove and which persons, as a mask or an alpha matte."""

from __future__ import annotations

import cv2
import numpy as np

from ..labels import resolve_parts
from ..parsing import Parsing


def person_ids(value) -> list[int] | None:
    """Person selection as a list of instance ids.

    Args:
        value: ``None`` (all persons), an id, an iterable of ids, or a string like ``"2"`` / ``"1,3"``.
    Returns:
        the ids (1-based, as in :attr:`Parsing.instances`), or ``None`` for all persons.
    Raises:
        ValueError: a string that is not a comma-separated list of integers.
    """
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    if isinstance(value, str):
        try:
            return [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"bad person list {value!r}: expected ids like 1 or 1,3") from None
    return [int(v) for v in value]


def selection_mask(parsing: Parsing, keep=None, remove=None, person=None) -> np.ndarray:
    """Boolean mask of the selected parts of the selected persons.

    Args:
        parsing: a :class:`humanparse.Parsing`.
        keep: parts to keep (names of the parsing's label set, coarse names such as ``"shoes"`` or
            ``"lower-clothes"``, or ``"person"``; comma-separated string or list); ``None`` = whole person.
        remove: parts taken away from the kept ones (same naming); ``None`` = nothing.
        person: person id, list of ids or ``"1,3"``; ``None`` = every person.
    Returns:
        ``(H, W)`` bool.
    Raises:
        KeyError: unknown part name or person id (the message lists the valid ones).
        ValueError: malformed person list.
    """
    ls = parsing.label_set
    lut = np.zeros(256, bool)
    lut[resolve_parts(ls, keep) if keep is not None else list(range(1, len(ls)))] = True
    if remove is not None:
        lut[resolve_parts(ls, remove)] = False
    m = lut[parsing.labels]
    ids = person_ids(person)
    if ids is not None:
        for i in ids:
            parsing.person(i)   # KeyError with the valid range
        m &= np.isin(parsing.instances, ids)
    return m


def hair_mask(parsing: Parsing) -> np.ndarray:
    """``(H, W)`` bool mask of hair pixels (any class that maps to coarse ``hair``); all False if the
    label set has no hair class. Used to widen the trimap's unknown band (:func:`make_trimap`)."""
    try:
        return parsing.mask("hair")
    except KeyError:
        return np.zeros(parsing.labels.shape, bool)


def nearest_fill(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Give every pixel the value of its nearest ``valid`` pixel (valid pixels keep their own).

    Used to extend a label or part selection a few pixels outwards, under a soft matte edge that
    reaches past the label map. Linear time (``cv2.distanceTransformWithLabels``, whose per-pixel labels
    number the zero pixels in raster order).

    Args:
        values: ``(H, W)`` array; valid: ``(H, W)`` bool, at least one True (else ``values`` is returned).
    Returns:
        ``(H, W)`` array of ``values.dtype``.
    """
    valid = np.asarray(valid, bool)
    if valid.all() or not valid.any():
        return values.copy()
    _, lab = cv2.distanceTransformWithLabels((~valid).astype(np.uint8), cv2.DIST_L2, 5,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    src = values[valid]                         # raster order, like the labels
    return src[lab.astype(np.intp) - 1].reshape(values.shape)


INNER_RAMP_PX = 2.5
"""Depth (px) inside a selection at which its alpha is 1 whatever the matte says: the matte only shapes
the selection's outer edge (a small head lies wholly inside the wide unknown band around hair, where
closed-form matting alone would leave the face and eyes see-through)."""

FEATHER_PX = 2.0
"""Width (px) of the feather across the boundary between a kept and a removed part of the same person."""


def _depth(mask: np.ndarray) -> np.ndarray:
    """Distance (px) of every True pixel of ``mask`` to its nearest False pixel (0 on False pixels);
    the image border does not count as False: a person cut by the frame stays opaque up to it."""
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    if mask.all():
        return np.full(mask.shape, np.inf, np.float32)
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)


def part_weight(sel: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """How much each pixel belongs to the selected parts: 1 / 0 on the selected / unselected parts of the
    selected persons, a linear feather :data:`FEATHER_PX` wide across their common boundary, and outside
    the persons the weight of the nearest person pixel (the matte's soft edge follows the part it leaves).

    Args:
        sel: ``(H, W)`` bool selected parts; persons: ``(H, W)`` bool selected persons (a superset of ``sel``).
    Returns:
        ``(H, W)`` float32 in [0, 1].
    """
    rest = persons & ~sel
    w = sel.astype(np.float32)
    if sel.any() and rest.any():
        half = FEATHER_PX / 2.0
        to_rest = cv2.distanceTransform((~rest).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
        to_sel = cv2.distanceTransform((~sel).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
        # pixel centres: the boundary lies half a pixel from each side's first pixel
        soft = np.where(sel, 0.5 + (to_rest - 0.5) / (2 * half), 0.5 - (to_sel - 0.5) / (2 * half))
        w = np.clip(soft, 0.0, 1.0).astype(np.float32)
        w[~persons] = 0.0
    return nearest_fill(w, persons)


def selection_alpha(image: np.ndarray, parsing: Parsing, keep=None, remove=None, person=None,
                    method: str = "fast") -> np.ndarray:
    """Alpha matte of the selected parts of the selected persons.

    A selection is opaque inside and soft only at its outer boundary. The matte is solved for the
    selected persons as a whole (:func:`alpha_matte` with a wider band around hair that borders the
    background) and gives the person / background edge; a boundary between a kept and a removed part of
    a person (face / collar) gets a narrow feather (:data:`FEATHER_PX`; matting an inner part boundary
    would mix the two parts' colours, which are both foreground). Every selected pixel at least
    :data:`INNER_RAMP_PX` from the selection's boundary has alpha exactly 1 (nearer, alpha rises
    linearly to it at least). Soft edge pixels outside the label map belong to the part of their nearest
    labelled pixel.

    Args:
        image: ``(H, W, 3)`` uint8 RGB; parsing: its :class:`humanparse.Parsing`; keep / remove /
            person: as in :func:`selection_mask`; method: ``"off"``, ``"fast"`` or ``"quality"``.
    Returns:
        ``(H, W)`` float32 alpha in [0, 1].
    Raises:
        KeyError: unknown part or person; ValueError: bad method or image.
    Photos above :data:`humanparse.compose.large.LARGE_PIXELS` (8 MP) are matted on a ~2 MP copy and
    upsampled guided by the photo (:func:`humanparse.compose.large.upsample_alpha`).
    """
    from .large import LARGE_PIXELS, reduced_parsing, reduced_size, upsample_alpha

    image = np.asarray(image)
    if method != "off" and image.ndim == 3 and image.shape[:2] == parsing.labels.shape \
            and image.shape[0] * image.shape[1] > LARGE_PIXELS:
        # a large photo: the same matte on a ~2 MP copy, upsampled guided by the photo (module compose.large)
        size = reduced_size(*image.shape[:2])
        small = cv2.resize(image, size[::-1], interpolation=cv2.INTER_AREA)
        selection_mask(parsing, keep, remove, person)       # unknown parts / persons: the error of the full size
        alpha = _direct_alpha(small, reduced_parsing(parsing, size), keep, remove, person, method)
        return upsample_alpha(alpha, small, image)
    return _direct_alpha(image, parsing, keep, remove, person, method)


def _direct_alpha(image: np.ndarray, parsing: Parsing, keep, remove, person, method: str) -> np.ndarray:
    """:func:`selection_alpha` at the photo's own size."""
    from .matting import alpha_matte

    persons = selection_mask(parsing, None, None, person)
    alpha = alpha_matte(image, persons, method, hair=hair_mask(parsing) & persons)
    sel = persons if keep is None and remove is None else selection_mask(parsing, keep, remove, person)
    if method == "off":
        return sel.astype(np.float32)
    if sel is not persons:
        alpha = alpha * part_weight(sel, persons)
    floor = np.clip(_depth(sel) / INNER_RAMP_PX, 0.0, 1.0)
    return np.maximum(alpha, floor).astype(np.float32)
