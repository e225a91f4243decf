"""Accuracy per skin-tone group, with bootstrap confidence intervals.

A *unit* is one person (or one single-person image) with its own confusion matrix and ITA group
(:mod:`humanparse.eval.ita`). Per group, mIoU and skin IoU are computed from the group's *pooled*
confusion matrix (sum over its units), like the overall metrics.

Confidence intervals: percentile bootstrap (Efron & Tibshirani 1993), resampling units with
replacement *within each group* (stratified), ``n_boot`` times with a fixed seed, so results are
reproducible. The same resamples give a CI for the gap between the best and the worst group.
Groups with fewer than ``min_units`` units are listed with their ``n`` and status ``"too few"``,
without metrics' CIs, and are not used for the worst group or the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics
from .ita import GROUPS, UNKNOWN

MIN_UNITS = 5
"""Fewest units (persons) a group needs to get CIs and to count for the worst group / gap."""


@dataclass
class Unit:
    """One evaluated person.

    Attributes:
        id: e.g. ``"0001"`` or ``"0005008#3"``.
        ita: Individual Typology Angle in degrees (NaN if undefined).
        group: ITA group name (or ``"unknown"``).
        matrix: ``(K, K + 1)`` int64 confusion matrix of this person's region.
        skin_pixels: skin pixels ITA was read from.
        scene_lightness: median L* of the image's ground-truth background pixels (NaN if unknown); a
            check of how much ITA follows the exposure of the photo rather than the person.
    """

    id: str
    ita: float
    group: str
    matrix: np.ndarray
    skin_pixels: int = 0
    scene_lightness: float = float("nan")


def _stats(mats: np.ndarray, skin_ids) -> tuple[np.ndarray, np.ndarray]:
    """mIoU and skin IoU of pooled matrices ``(..., K, K+1)``."""
    miou = np.asarray(metrics.mean_iou(mats), float)
    skin = np.asarray(metrics.group_iou(mats, skin_ids), float) if len(skin_ids) else np.full(miou.shape, np.nan)
    return miou, skin


def _ci(x: np.ndarray, level: float) -> list[float | None]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return [None, None]
    lo, hi = np.percentile(x, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]


def _resampled(mats: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, K, K+1)`` pooled matrices of bootstrap resamples of ``mats`` ``(n, K, K+1)``."""
    n = mats.shape[0]
    idx = rng.integers(0, n, size=(n_boot, n))
    weights = np.zeros((n_boot, n))
    np.add.at(weights, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1.0)
    return (weights @ mats.reshape(n, -1)).reshape((n_boot,) + mats.shape[1:])


def group_report(units: list[Unit], skin_ids, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                 min_units: int = MIN_UNITS) -> dict:
    """Per-group mIoU and skin IoU with bootstrap CIs, the worst group and the largest gap.

    Args:
        units: evaluated persons (all matrices the same shape).
        skin_ids: comparison-set class ids whose union is "skin" for skin IoU.
        n_boot: bootstrap resamples (>= 10).
        seed: seed of ``numpy.random.default_rng``; same inputs and seed give the same CIs.
        level: CI level in (0, 1).
        min_units: groups with fewer units are reported as ``"too few"``.
    Returns:
        JSON-ready dict: ``groups`` (one entry per ITA group in :data:`GROUPS` order plus
        ``unknown`` when present: ``group, n, status, miou, miou_ci, skin_iou, skin_iou_ci,
        pixel_accuracy, ita_median``), ``overall`` (all units), ``worst_group``, ``gap`` (best minus
        worst group mIoU and skin IoU, each with a CI), and the settings.
    Raises:
        ValueError: no units, bad ``n_boot``/``level``, or matrices of different shapes.
    """
    if not units:
        raise ValueError("no units to evaluate")
    if n_boot < 10 or not 0 < level < 1:
        raise ValueError(f"need n_boot >= 10 and 0 < level < 1, got {n_boot}, {level}")
    shapes = {u.matrix.shape for u in units}
    if len(shapes) != 1:
        raise ValueError(f"unit matrices differ in shape: {sorted(shapes)}")
    skin_ids = list(skin_ids)
    rng = np.random.default_rng(seed)
    order = list(GROUPS) + [UNKNOWN]
    groups, boots = [], {}
    for g in order:
        members = [u for u in units if u.group == g]
        if not members and g == UNKNOWN:
            continue
        entry = {"group": g, "n": len(members)}
        if not members:
            entry.update(status="none", miou=None, miou_ci=[None, None], skin_iou=None,
                         skin_iou_ci=[None, None], pixel_accuracy=None, ita_median=None, scene_lightness_median=None)
            groups.append(entry)
            continue
        mats = np.stack([u.matrix for u in members]).astype(np.float64)
        pooled = mats.sum(0)
        miou, skin = _stats(pooled, skin_ids)
        itas = np.array([u.ita for u in members], float)
        scene = np.array([u.scene_lightness for u in members], float)
        entry.update(miou=_f(miou), skin_iou=_f(skin), pixel_accuracy=_f(metrics.pixel_accuracy(pooled)),
                     ita_median=_f(np.nanmedian(itas)) if np.isfinite(itas).any() else None,
                     scene_lightness_median=_f(np.nanmedian(scene)) if np.isfinite(scene).any() else None)
        if len(members) < min_units:
            entry.update(status="too few", miou_ci=[None, None], skin_iou_ci=[None, None])
        else:
            b_miou, b_skin = _stats(_resampled(mats, n_boot, rng), skin_ids)
            entry.update(status="ok", miou_ci=_ci(b_miou, level), skin_iou_ci=_ci(b_skin, level))
            if g != UNKNOWN:
                boots[g] = (b_miou, b_skin)
        groups.append(entry)

    all_mats = np.stack([u.matrix for u in units]).astype(np.float64)
    o_miou, o_skin = _stats(all_mats.sum(0), skin_ids)
    ob_miou, ob_skin = _stats(_resampled(all_mats, n_boot, rng), skin_ids)
    overall = {"n": len(units), "miou": _f(o_miou), "miou_ci": _ci(ob_miou, level),
               "skin_iou": _f(o_skin), "skin_iou_ci": _ci(ob_skin, level)}

    ok = [e for e in groups if e["status"] == "ok" and e["group"] != UNKNOWN and e["miou"] is not None]
    worst = min(ok, key=lambda e: e["miou"])["group"] if ok else None
    gap = {}
    for key, col in (("miou", 0), ("skin_iou", 1)):
        cand = [e for e in ok if e[key] is not None]
        if len(cand) < 2:
            gap[key] = None
            continue
        hi = max(cand, key=lambda e: e[key])
        lo = min(cand, key=lambda e: e[key])
        diff = boots[hi["group"]][col] - boots[lo["group"]][col]
        gap[key] = {"best": hi["group"], "worst": lo["group"], "gap": hi[key] - lo[key], "ci": _ci(diff, level)}
    return {"groups": groups, "overall": overall, "worst_group": worst, "gap": gap,
            "ita_vs_scene_lightness_spearman": _f(spearman([u.ita for u in units], [u.scene_lightness for u in units])),
            "settings": {"n_boot": n_boot, "seed": seed, "level": level, "min_units": min_units,
                         "resampling": "units (persons) with replacement, stratified by group; percentile CI"}}


def spearman(x, y) -> float:
    """Spearman rank correlation of two sequences over pairs where both are finite (NaN if < 3 pairs).

    Ranks by ``argsort`` (ties broken by order; fine for continuous values such as ITA and L*).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx = np.argsort(np.argsort(x[ok])).astype(float)
    ry = np.argsort(np.argsort(y[ok])).astype(float)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _f(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


__all__ = ["MIN_UNITS", "Unit", "group_report", "spearman"]
