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


def selection_alpha(image: np.ndarray, parsing: Parsing, keep=None, remove=None, person=None,
                    method: str = "fast") -> np.ndarray:
    """Alpha matte of the selected parts of the selected persons.

    The matte is solved for the selected persons as a whole (:func:`alpha_matte` with a wider band
    around hair that borders the background), then cut by the part selection: a boundary between a
    kept and a removed part of a person (face / collar) stays the parsing's hard boundary, while
    the person / background boundary keeps its soft matte (matting an inner part boundary would
    mix the two parts' colours, which are both foreground). Soft edge pixels outside the label map
    belong to the part of their nearest labelled pixel.

    Args:
        image: ``(H, W, 3)`` uint8 RGB; parsing: its :class:`humanparse.Parsing`; keep / remove /
            person: as in :func:`selection_mask`; method: ``"off"``, ``"fast"`` or ``"quality"``.
    Returns:
        ``(H, W)`` float32 alpha in [0, 1].
    Raises:
        KeyError: unknown part or person; ValueError: bad method or image.
    """
    from .matting import alpha_matte

    persons = selection_mask(parsing, None, None, person)
    alpha = alpha_matte(image, persons, method, hair=hair_mask(parsing) & persons)
    if keep is None and remove is None:
        return alpha
    sel = selection_mask(parsing, keep, remove, person)
    if method == "off":
        return sel.astype(np.float32)
    return alpha * nearest_fill(sel, persons)
