"""Left/right classes of a label map under a horizontal mirror: a person's left becomes their right.

Used by training (mirror augmentation, :mod:`humanparse.train.data`) and by inference (flip averaging of
the ``lite`` backend's logits), so it lives here, below both.
"""

from __future__ import annotations

import numpy as np

from . import get_label_set

FLIP_PAIRS = (("left-arm", "right-arm"), ("left-leg", "right-leg"), ("left-shoe", "right-shoe"))
"""CIHP classes that swap under a horizontal flip (the person's left becomes their right)."""


def flip_lut(label_set: str = "cihp-bag") -> np.ndarray:
    """``(256,)`` uint8 look-up table swapping the :data:`FLIP_PAIRS` classes of ``label_set`` (a CIHP
    set: ``cihp`` or ``cihp-bag``, same ids); identity elsewhere, bag and 255 kept.

    Raises:
        KeyError / ValueError: ``label_set`` is unknown or lacks one of the classes.
    """
    ls = get_label_set(label_set)
    lut = np.arange(256, dtype=np.uint8)
    for a, b in FLIP_PAIRS:
        ia, ib = ls.index(a), ls.index(b)
        lut[ia], lut[ib] = ib, ia
    return lut


FLIP_LUT = flip_lut()
""":func:`flip_lut` of ``cihp-bag`` (it is also CIHP-20's: the same ids)."""


def flip_channels(n: int) -> np.ndarray:
    """Channel order ``(n,)`` intp that swaps the left/right classes of ``(N, n, H, W)`` logits of a CIHP
    set (``n`` = 20 or 21) under a horizontal flip."""
    return FLIP_LUT[:n].astype(np.intp)


def flip_labels(labels: np.ndarray) -> np.ndarray:
    """Mirror a CIHP label map left-right and swap the left/right classes (``(H, W)`` uint8)."""
    return FLIP_LUT[labels[:, ::-1]]
