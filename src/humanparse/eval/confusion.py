"""One confusion matrix, accumulated pixel by pixel over an evaluation set.

Layout: ``matrix[g, p]`` counts pixels whose ground-truth class is ``g`` and predicted class is ``p``,
for ``g, p`` in ``0..K-1`` of the comparison label set. The matrix has one extra last column, index
``K`` (:data:`UNMAPPED_COLUMN`): pixels whose *prediction* is :data:`~humanparse.labels.IGNORE` (255),
i.e. a predicted class with no counterpart in the comparison set (e.g. MediaPipe ``clothes`` when
comparing in ``coarse``, which splits upper and lower clothes). Those pixels count as errors for the
ground-truth class (never as a hit), so a parser cannot raise its score by abstaining.
Pixels whose *ground truth* is 255 (unlabelled, or a class with no counterpart) are ignored entirely,
as in the LIP/CIHP evaluation code.
"""

from __future__ import annotations

import numpy as np

from ..labels import IGNORE

UNMAPPED_COLUMN = -1
"""Index (from the end) of the column counting predictions with no counterpart (value 255)."""


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Confusion matrix of one pair of label maps.

    Args:
        gt: ``(H, W)`` integer ground-truth class ids in ``0..num_classes-1``, or 255 (ignored pixel).
        pred: ``(H, W)`` integer predicted class ids in ``0..num_classes-1``, or 255 (no counterpart:
            counted in the last column).
        num_classes: ``K``, classes of the comparison label set (1..255).
    Returns:
        ``(K, K + 1)`` int64 matrix; rows = ground truth, columns = prediction (+ unmapped column).
    Raises:
        ValueError: shapes differ, ``num_classes`` out of range, or a value is neither a class id nor 255.
    """
    if not 1 <= num_classes < IGNORE:
        raise ValueError(f"num_classes must be in 1..{IGNORE - 1}, got {num_classes}")
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
    g = gt.ravel().astype(np.int64)
    p = pred.ravel().astype(np.int64)
    for name, a in (("ground truth", g), ("prediction", p)):
        bad = (a < 0) | ((a >= num_classes) & (a != IGNORE))
        if bad.any():
            raise ValueError(f"{name} has value {int(a[bad][0])}, not a class id (0..{num_classes - 1}) or {IGNORE}")
    keep = g != IGNORE
    g = g[keep]
    p = np.where(p[keep] == IGNORE, num_classes, p[keep])
    width = num_classes + 1
    return np.bincount(g * width + p, minlength=num_classes * width).reshape(num_classes, width)


class ConfusionAccumulator:
    """Sum of :func:`confusion_matrix` over many images.

    Attributes:
        matrix: ``(K, K + 1)`` int64 running total.
        images: number of updates.
    """

    def __init__(self, num_classes: int) -> None:
        self.num_classes = int(num_classes)
        self.matrix = np.zeros((self.num_classes, self.num_classes + 1), np.int64)
        self.images = 0

    def update(self, gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Add one image pair (see :func:`confusion_matrix`); returns that image's own matrix."""
        m = confusion_matrix(gt, pred, self.num_classes)
        self.matrix += m
        self.images += 1
        return m


__all__ = ["UNMAPPED_COLUMN", "confusion_matrix", "ConfusionAccumulator"]
