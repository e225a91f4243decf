"""Semantic-parsing metrics from a confusion matrix (see :mod:`humanparse.eval.confusion`).

Definitions (as in the LIP / CIHP evaluation, Gong et al. CVPR 2017 / ECCV 2018), for a matrix ``M``
of shape ``(..., K, K + 1)`` (rows = ground truth, last column = predictions with no counterpart):

* pixel accuracy = ``sum_c M[c, c] / sum M`` (ignored ground-truth pixels are not in ``M``);
* class accuracy ``c`` = ``M[c, c] / sum_p M[c, p]`` (recall of class ``c``);
* IoU ``c`` = ``M[c, c] / (row_c + col_c - M[c, c])``;
* mean class accuracy and mIoU average over the classes **present in the ground truth**
  (``row_c > 0``), background included. A class absent from the ground truth has IoU NaN and is
  left out, even if it was predicted (its false positives still lower the recall of the true classes).

All functions accept a stack of matrices (leading axes) so bootstrap resamples are computed at once.
Values are fractions in [0, 1]; NaN where undefined.
"""

from __future__ import annotations

import numpy as np


def _check(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2] + 1:
        raise ValueError(f"expected a (..., K, K + 1) confusion matrix, got shape {m.shape}")
    return m.astype(np.float64, copy=False)


def _diag(m: np.ndarray) -> np.ndarray:
    k = m.shape[-2]
    return m[..., np.arange(k), np.arange(k)]


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def pixel_accuracy(m: np.ndarray) -> np.ndarray | float:
    """Fraction of (non-ignored) pixels whose predicted class is right. NaN for an empty matrix."""
    m = _check(m)
    return _div(_diag(m).sum(-1), m.sum((-1, -2)))[()]


def class_accuracy(m: np.ndarray) -> np.ndarray:
    """Per-class accuracy (recall), shape ``(..., K)``; NaN for classes absent from the ground truth."""
    m = _check(m)
    return _div(_diag(m), m.sum(-1))


def class_iou(m: np.ndarray) -> np.ndarray:
    """Per-class IoU, shape ``(..., K)``; NaN for classes absent from the ground truth."""
    m = _check(m)
    tp = _diag(m)
    rows = m.sum(-1)
    cols = m[..., :-1].sum(-2)
    iou = _div(tp, rows + cols - tp)
    return np.where(rows > 0, iou, np.nan)


def _nanmean(x: np.ndarray) -> np.ndarray | float:
    with np.errstate(invalid="ignore"):
        n = np.sum(~np.isnan(x), -1)
        s = np.nansum(x, -1)
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)[()]


def mean_class_accuracy(m: np.ndarray) -> np.ndarray | float:
    """Mean of :func:`class_accuracy` over classes present in the ground truth."""
    return _nanmean(class_accuracy(m))


def mean_iou(m: np.ndarray) -> np.ndarray | float:
    """mIoU: mean of :func:`class_iou` over classes present in the ground truth (background included)."""
    return _nanmean(class_iou(m))


def group_iou(m: np.ndarray, class_ids) -> np.ndarray | float:
    """IoU of a *union* of classes treated as one binary class (e.g. all skin classes).

    A pixel is positive in the ground truth if its class is in ``class_ids``, and positive in the
    prediction if its predicted class is in ``class_ids`` (unmapped predictions are negative).
    NaN when the group is absent from the ground truth.

    Raises:
        ValueError: ``class_ids`` is empty or out of range.
    """
    m = _check(m)
    k = m.shape[-2]
    ids = np.unique(np.asarray(list(class_ids), dtype=np.intp))
    if ids.size == 0 or ids.min() < 0 or ids.max() >= k:
        raise ValueError(f"class ids {list(class_ids)} must be non-empty and in 0..{k - 1}")
    tp = m[..., ids, :][..., :, ids].sum((-1, -2))
    gt_pos = m[..., ids, :].sum((-1, -2))
    pred_pos = m[..., :, ids].sum((-1, -2))
    union = gt_pos + pred_pos - tp
    return np.where(gt_pos > 0, _div(tp, union), np.nan)[()]


def person_iou(m: np.ndarray) -> np.ndarray | float:
    """Person-vs-background IoU: person = every class except 0 (background).

    Predictions with no counterpart (unmapped column) count as person: background always maps to
    background, so an unmapped class is a person class.
    """
    m = _check(m)
    tp = m[..., 1:, 1:].sum((-1, -2))
    fp = m[..., 0, 1:].sum(-1)
    fn = m[..., 1:, 0].sum(-1)
    return _div(tp, tp + fp + fn)[()]


def background_iou(m: np.ndarray) -> np.ndarray | float:
    """IoU of class 0 (background) against everything else."""
    return class_iou(m)[..., 0][()]


def unmapped_fraction(m: np.ndarray) -> np.ndarray | float:
    """Fraction of evaluated pixels whose prediction had no counterpart in the comparison set."""
    m = _check(m)
    return _div(m[..., -1].sum(-1), m.sum((-1, -2)))[()]


def summarize(m: np.ndarray, class_names) -> dict:
    """All metrics of one ``(K, K + 1)`` matrix as a JSON-ready dict.

    Returns:
        ``{"pixel_accuracy", "mean_class_accuracy", "miou", "person_iou", "background_iou",
        "unmapped_prediction_fraction", "classes_in_gt", "pixels", "per_class": [{"name", "iou",
        "accuracy", "gt_pixels", "pred_pixels"}]}``; undefined values are ``None``.
    Raises:
        ValueError: wrong shape, or ``class_names`` length differs from ``K``.
    """
    m = _check(m)
    if m.ndim != 2:
        raise ValueError("summarize takes one (K, K + 1) matrix")
    names = list(class_names)
    if len(names) != m.shape[0]:
        raise ValueError(f"{len(names)} class names for a {m.shape[0]}-class matrix")
    iou, acc = class_iou(m), class_accuracy(m)
    rows, cols = m.sum(-1), m[:, :-1].sum(0)
    per_class = [{"name": n, "iou": _f(iou[i]), "accuracy": _f(acc[i]),
                  "gt_pixels": int(rows[i]), "pred_pixels": int(cols[i])} for i, n in enumerate(names)]
    return {
        "pixel_accuracy": _f(pixel_accuracy(m)),
        "mean_class_accuracy": _f(mean_class_accuracy(m)),
        "miou": _f(mean_iou(m)),
        "person_iou": _f(person_iou(m)),
        "background_iou": _f(background_iou(m)),
        "unmapped_prediction_fraction": _f(unmapped_fraction(m)),
        "classes_in_gt": int((rows > 0).sum()),
        "pixels": int(m.sum()),
        "per_class": per_class,
    }


def _f(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


__all__ = ["pixel_accuracy", "class_accuracy", "class_iou", "mean_class_accuracy", "mean_iou",
           "group_iou", "person_iou", "background_iou", "unmapped_fraction", "summarize"]
