"""Instance-level metrics: APr (average precision based on regions) of persons and of person parts.

Definitions follow Hariharan et al. "Simultaneous Detection and Segmentation" (ECCV 2014), as used for
human parsing by Li et al. "Holistic, Instance-level Human Parsing" (BMVC 2017) and Gong et al.
"Instance-level Human Parsing via Part Grouping Network" (ECCV 2018, CIHP), whose evaluation script
(CIHP_PGN ``evaluation/test_inst_part_ap.py``) fixes the details:

* a prediction is a mask with a confidence score; predictions of one class are ranked by score over
  the whole set; a prediction is a true positive when its best-overlapping ground-truth mask (mask IoU)
  has IoU **>** the threshold, else a false positive;
* AP = area under the precision envelope (VOC all-point interpolation, ``voc_ap(use_07_metric=False)``);
* APr@0.5 = AP at IoU 0.5; APr_vol = mean AP over IoU thresholds 0.1, 0.2, ..., 0.9.

Two levels are provided:

* **human-instance APr** (one class, "person"): each ground-truth person instance is one mask, each
  predicted person one mask with the person's score. This is what ``humanparse eval`` reports as
  ``APr``/``APr_vol`` (the data here only has person-instance maps).
* **part-instance APr** (CIHP's AP^p): segments are (person, part class) pairs; AP per class, then the
  mean over classes that have at least one ground-truth segment. Part segments take their person's score.

One deliberate difference from the PGN script: a prediction whose best ground truth was already matched
by a higher-scored prediction is a **false positive** (duplicate), as in VOC/SDS; the PGN script counts
such duplicates as true positives. Ground-truth pixels labelled 255 are removed from both masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""IoU thresholds of APr_vol (Gong et al. 2018, CIHP_PGN evaluation/test_inst_part_ap.py)."""


@dataclass
class InstanceMatches:
    """Overlaps of the predicted and ground-truth segments of one image.

    Attributes:
        gt_classes: ``(G,)`` int class of each ground-truth segment (0 for human-instance level).
        pred_classes: ``(P,)`` int class of each predicted segment.
        pred_scores: ``(P,)`` float confidence.
        ious: ``(P, G)`` float mask IoU (0 between segments of different classes).
    """

    gt_classes: np.ndarray
    pred_classes: np.ndarray
    pred_scores: np.ndarray
    ious: np.ndarray


def _segment_ids(inst: np.ndarray, labels: np.ndarray | None, num_classes: int, valid: np.ndarray) -> np.ndarray:
    """Per-pixel segment key (person * K + class), -1 outside any segment."""
    inst = inst.astype(np.int64)
    if labels is None:
        key = inst * num_classes
        outside = inst == 0
    else:
        lab = labels.astype(np.int64)
        key = inst * num_classes + lab
        outside = (inst == 0) | (lab == 0) | (lab >= num_classes)
    return np.where(outside | ~valid, -1, key)


def match_instances(gt_instances: np.ndarray, pred_instances: np.ndarray, pred_scores=None,
                    gt_labels: np.ndarray | None = None, pred_labels: np.ndarray | None = None,
                    num_classes: int | None = None, valid: np.ndarray | None = None) -> InstanceMatches:
    """Mask IoUs between ground-truth and predicted segments of one image.

    Args:
        gt_instances / pred_instances: ``(H, W)`` integer instance maps, 0 = no person.
        pred_scores: score per predicted person, indexed by sorted non-zero id (sequence), or
            ``{id: score}``; ``None`` gives 1.0 each.
        gt_labels / pred_labels: ``(H, W)`` class ids in a common label set (comparison ids; 0 and
            255 are not parts). Give both for part-instance level, neither for human-instance level.
        num_classes: classes of that label set (needed with labels).
        valid: ``(H, W)`` bool, pixels to evaluate (default all).
    Returns:
        :class:`InstanceMatches`.
    Raises:
        ValueError: shapes differ, or only one of the label maps / no ``num_classes`` is given.
    """
    gi, pi = np.asarray(gt_instances), np.asarray(pred_instances)
    if gi.shape != pi.shape or gi.ndim != 2:
        raise ValueError(f"instance maps must be equal 2-D shapes, got {gi.shape} and {pi.shape}")
    if (gt_labels is None) != (pred_labels is None):
        raise ValueError("give both gt_labels and pred_labels (part level) or neither (human level)")
    if gt_labels is not None:
        if num_classes is None:
            raise ValueError("num_classes is required with label maps")
        if np.shape(gt_labels) != gi.shape or np.shape(pred_labels) != gi.shape:
            raise ValueError("label maps must have the shape of the instance maps")
        k = int(num_classes)
    else:
        k = 1
    valid = np.ones(gi.shape, bool) if valid is None else np.asarray(valid, bool)
    gk = _segment_ids(gi, gt_labels, k, valid).ravel()
    pk = _segment_ids(pi, pred_labels, k, valid).ravel()
    g_keys, g_inv = np.unique(gk, return_inverse=True)
    p_keys, p_inv = np.unique(pk, return_inverse=True)
    g_has_out, p_has_out = bool(g_keys.size and g_keys[0] < 0), bool(p_keys.size and p_keys[0] < 0)
    # Column/row 0 of the joint histogram is "outside" when present, else unused.
    g_idx = g_inv + (0 if g_has_out else 1)
    p_idx = p_inv + (0 if p_has_out else 1)
    g_keys = g_keys[1:] if g_has_out else g_keys
    p_keys = p_keys[1:] if p_has_out else p_keys
    G, P = g_keys.size, p_keys.size
    joint = np.bincount(p_idx * (G + 1) + g_idx, minlength=(P + 1) * (G + 1)).reshape(P + 1, G + 1)
    inter = joint[1:, 1:].astype(np.float64)
    p_area, g_area = joint[1:, :].sum(1), joint[:, 1:].sum(0)
    union = p_area[:, None] + g_area[None, :] - inter
    ious = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    g_cls, p_cls = g_keys % k, p_keys % k
    ious[p_cls[:, None] != g_cls[None, :]] = 0.0
    ids = sorted(int(i) for i in np.unique(pi) if i != 0)
    if pred_scores is None:
        score_of = {}
    elif isinstance(pred_scores, dict):
        score_of = {int(i): float(s) for i, s in pred_scores.items()}
    else:
        score_of = {i: float(s) for i, s in zip(ids, pred_scores)}
    scores = np.asarray([score_of.get(int(key // k), 1.0) for key in p_keys], np.float64)
    return InstanceMatches(g_cls.astype(np.int64), p_cls.astype(np.int64), scores, ious)


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope (PASCAL VOC 2010+ all-point interpolation).

    Args:
        recall / precision: ``(N,)`` cumulative values in ranked order.
    Returns:
        AP in [0, 1].
    """
    mrec = np.concatenate(([0.0], np.asarray(recall, float), [1.0]))
    mpre = np.concatenate(([0.0], np.asarray(precision, float), [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _class_ap(records: list[InstanceMatches], cls: int, thresholds) -> tuple[np.ndarray, int, int]:
    """AP per threshold for one class; also the numbers of ground-truth and predicted segments."""
    entries = []  # (score, image index, pred index)
    n_gt = 0
    for r_i, r in enumerate(records):
        n_gt += int((r.gt_classes == cls).sum())
        for p in np.nonzero(r.pred_classes == cls)[0]:
            entries.append((-float(r.pred_scores[p]), r_i, int(p)))
    entries.sort(key=lambda e: e[0])  # stable: equal scores keep image/prediction order
    aps = np.zeros(len(thresholds))
    if n_gt == 0:
        return np.full(len(thresholds), np.nan), 0, len(entries)
    for t_i, thr in enumerate(thresholds):
        matched = [np.zeros(r.gt_classes.size, bool) for r in records]
        tp = np.zeros(len(entries))
        for e_i, (_, r_i, p) in enumerate(entries):
            r = records[r_i]
            cand = np.where(r.gt_classes == cls, r.ious[p], -1.0)
            if cand.size == 0:
                continue
            g = int(np.argmax(cand))
            if cand[g] > thr and not matched[r_i][g]:
                matched[r_i][g] = True
                tp[e_i] = 1
        ctp = np.cumsum(tp)
        cfp = np.cumsum(1 - tp)
        recall = ctp / n_gt
        precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        aps[t_i] = voc_ap(recall, precision)
    return aps, n_gt, len(entries)


def average_precision(records: list[InstanceMatches], thresholds=IOU_THRESHOLDS, class_names=None) -> dict:
    """APr over a set of images.

    Args:
        records: one :class:`InstanceMatches` per image.
        thresholds: IoU thresholds (default :data:`IOU_THRESHOLDS`); must include 0.5 for ``apr_50``.
        class_names: optional names for the per-class table (index = class id).
    Returns:
        ``{"apr_50": float|None, "apr_vol": float|None, "thresholds": [...], "map": [AP per threshold],
        "per_class": [{"class", "name", "ap": [...], "gt": n, "pred": n}], "images": n}``. mAP per
        threshold is the mean over classes with at least one ground-truth segment; None when there is none.
    """
    thresholds = tuple(float(t) for t in thresholds)
    classes = sorted({int(c) for r in records for c in np.concatenate([r.gt_classes, r.pred_classes])})
    per_class, rows = [], []
    for c in classes:
        aps, n_gt, n_pred = _class_ap(records, c, thresholds)
        name = class_names[c] if class_names is not None else str(c)
        per_class.append({"class": c, "name": name, "ap": [None if np.isnan(a) else float(a) for a in aps],
                          "gt": n_gt, "pred": n_pred})
        if n_gt:
            rows.append(aps)
    if rows:
        m = np.mean(rows, axis=0)
        apr_50 = float(m[thresholds.index(0.5)]) if 0.5 in thresholds else None
        out_map, apr_vol = [float(x) for x in m], float(m.mean())
    else:
        apr_50, out_map, apr_vol = None, [None] * len(thresholds), None
    return {"apr_50": apr_50, "apr_vol": apr_vol, "thresholds": list(thresholds), "map": out_map,
            "per_class": per_class, "images": len(records)}


__all__ = ["IOU_THRESHOLDS", "InstanceMatches", "match_instances", "voc_ap", "average_precision"]
