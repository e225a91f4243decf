"""The comparison label set: how ground truth and prediction in different label sets are made comparable.

Rules (documented in ``docs/accuracy.md``):

1. Target set: the ground-truth set when the prediction uses the same set or *extends* it (the
   ground truth's classes at the same ids, plus more after them, e.g. ``cihp-bag`` = CIHP-20 + bag:
   the extra classes map through the set's own mapping table); otherwise ``coarse`` (the common
   denominator, via :func:`humanparse.labels.map_labels`). ``target=`` overrides it.
2. Classes with no counterpart in the target map to 255: ignored in the ground truth, counted as
   errors in the prediction (see :mod:`humanparse.eval.confusion`).
3. Merges ``a=b`` fold class ``a`` into class ``b`` on *both* sides after mapping, and ``a`` is removed
   from the comparison set. ``merge="auto"`` merges ``face`` into ``skin`` when the target has both
   and only one side can produce ``face`` (CCP marks all exposed body, the face included, as
   ``skin``; CIHP separates ``face``). Without this merge every CIHP face pixel would count as wrong on CCP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..labels import IGNORE, LabelSet, get_label_set, mapping_lut

COARSE = "coarse"


@dataclass(frozen=True, eq=False)
class Comparison:
    """How to bring ground truth and prediction label maps into one comparison label set.

    Attributes:
        gt_set / pred_set: label sets of the ground truth and of the backend output.
        label_set: the comparison classes (a merged set is an unregistered :class:`LabelSet`).
        gt_lut / pred_lut: ``(256,)`` uint8 look-up tables into ``label_set`` ids (255 = no counterpart).
        merges: ``((source, destination), ...)`` class names folded together.
    """

    gt_set: LabelSet
    pred_set: LabelSet
    label_set: LabelSet
    gt_lut: np.ndarray
    pred_lut: np.ndarray
    merges: tuple[tuple[str, str], ...] = ()

    def gt(self, label_map: np.ndarray) -> np.ndarray:
        """Ground-truth label map ``(H, W)`` in comparison ids (uint8, 255 = ignored)."""
        return self.gt_lut[np.asarray(label_map).astype(np.intp, copy=False) & 0xFF]

    def pred(self, label_map: np.ndarray) -> np.ndarray:
        """Predicted label map ``(H, W)`` in comparison ids (uint8, 255 = no counterpart)."""
        return self.pred_lut[np.asarray(label_map).astype(np.intp, copy=False) & 0xFF]

    def describe(self) -> str:
        """One line, e.g. ``"ccp -> coarse, prediction cihp -> coarse; merged face=skin"``."""
        base = self.label_set.name.split("+")[0]
        s = f"ground truth {self.gt_set.name} -> {base}, prediction {self.pred_set.name} -> {base}"
        if self.merges:
            s += "; merged " + ", ".join(f"{a}={b}" for a, b in self.merges)
        return s

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"ground_truth_set": self.gt_set.name, "prediction_set": self.pred_set.name,
                "comparison_set": self.label_set.name, "classes": list(self.label_set.classes),
                "merges": [f"{a}={b}" for a, b in self.merges], "description": self.describe()}


def parse_merges(spec: str | None) -> list[tuple[str, str]] | str:
    """Parse ``"face=skin,hat=accessories"`` into pairs; ``"auto"``/``None`` -> ``"auto"``, ``"none"``/``""`` -> ``[]``.

    Raises:
        ValueError: an item is not of the form ``a=b``.
    """
    if spec is None or spec.strip().lower() == "auto":
        return "auto"
    if spec.strip().lower() in ("", "none", "off"):
        return []
    out = []
    for item in spec.split(","):
        a, sep, b = item.partition("=")
        if not sep or not a.strip() or not b.strip():
            raise ValueError(f"bad merge {item!r}: expected SOURCE=DESTINATION, e.g. face=skin")
        out.append((a.strip().lower(), b.strip().lower()))
    return out


def make_comparison(gt_set: str | LabelSet, pred_set: str | LabelSet, target: str | LabelSet | None = None,
                    merges: str | list[tuple[str, str]] | None = "auto") -> Comparison:
    """Build the :class:`Comparison` of ``gt_set`` against ``pred_set``.

    Args:
        target: comparison set name; ``None``/``"auto"`` = ``gt_set`` if ``pred_set`` equals or extends it
            (:func:`extends`), else ``coarse``.
        merges: ``"auto"`` (see module doc), a spec for :func:`parse_merges`, or a list of pairs.
    Raises:
        KeyError: unknown label set or merge class name (the message lists the valid names).
        ValueError: a set cannot be mapped to the target, or a merge is invalid (source = destination).
    """
    gs, ps = get_label_set(gt_set), get_label_set(pred_set)
    if target is None or (isinstance(target, str) and target.lower() == "auto"):
        ts = gs if gs == ps or extends(ps, gs) else get_label_set(COARSE)
    else:
        ts = get_label_set(target)
    try:
        g_lut, p_lut = mapping_lut(gs, ts), mapping_lut(ps, ts)
    except ValueError as e:
        raise ValueError(f"{e}; choose another comparison set (--map), e.g. coarse") from None
    if isinstance(merges, str) or merges is None:
        merges = parse_merges(merges)
    if merges == "auto":
        merges = _auto_merges(ts, g_lut, p_lut)
    if not merges:
        return Comparison(gs, ps, ts, g_lut, p_lut, ())
    return _merged(gs, ps, ts, g_lut, p_lut, tuple(merges))


def extends(wider: LabelSet, base: LabelSet) -> bool:
    """Whether ``wider`` is ``base`` plus classes after it: ``base``'s class names at the same ids, more
    classes than ``base``, and a mapping table from ``wider`` to ``base`` (e.g. ``cihp-bag`` extends ``cihp``)."""
    n = len(base.classes)
    if len(wider.classes) <= n or tuple(wider.classes[:n]) != tuple(base.classes):
        return False
    try:
        mapping_lut(wider, base)
    except ValueError:
        return False
    return True


def _auto_merges(ts: LabelSet, g_lut: np.ndarray, p_lut: np.ndarray) -> list[tuple[str, str]]:
    if "face" not in ts.classes or "skin" not in ts.classes:
        return []
    face = ts.index("face")
    g_face, p_face = bool((g_lut == face).any()), bool((p_lut == face).any())
    return [("face", "skin")] if g_face != p_face else []


def _merged(gs, ps, ts: LabelSet, g_lut, p_lut, merges) -> Comparison:
    dest = {}
    for a, b in merges:
        ts.index(a), ts.index(b)  # KeyError with the valid names
        if a == b or a == "background":
            raise ValueError(f"cannot merge {a!r} into {b!r}")
        dest[a] = b
    for a in dest:  # follow chains a=b, b=c
        seen = {a}
        while dest[a] in dest:
            if dest[a] in seen:
                raise ValueError(f"merges form a cycle through {a!r}")
            seen.add(dest[a])
            dest[a] = dest[dest[a]]
    kept = [c for c in ts.classes if c not in dest]
    new_id = {c: kept.index(dest.get(c, c)) for c in ts.classes}
    remap = np.full(256, IGNORE, np.uint8)
    for i, c in enumerate(ts.classes):
        remap[i] = new_id[c]
    name = ts.name + "+" + ",".join(f"{a}={b}" for a, b in merges)
    palette = np.asarray([ts.palette[ts.index(c)] for c in kept], np.uint8)
    merged = LabelSet(name=name, title=f"{ts.title}, merged {', '.join(f'{a}->{b}' for a, b in merges)}",
                      classes=tuple(kept), palette=palette, source=ts.source, notes=ts.notes)
    return Comparison(gs, ps, merged, remap[g_lut], remap[p_lut], tuple(merges))


def skin_class_ids(label_set: LabelSet) -> list[int]:
    """Ids of the classes of ``label_set`` that are bare skin (face included).

    A class counts as skin if it maps to coarse ``face`` or ``skin``; for sets without a mapping
    to ``coarse`` (e.g. a merged comparison set) the names ``face``, ``skin``, ``torso-skin``,
    ``left-arm``/``right-arm``/``left-leg``/``right-leg``, ``body-skin``, ``face-skin`` are used.
    """
    names = {"face", "skin", "torso-skin", "left-arm", "right-arm", "left-leg", "right-leg",
             "body-skin", "face-skin"}
    try:
        lut = mapping_lut(label_set, COARSE)
        coarse = get_label_set(COARSE)
        targets = {coarse.index("face"), coarse.index("skin")}
        return [i for i in range(len(label_set)) if int(lut[i]) in targets]
    except (KeyError, ValueError):
        return [i for i, c in enumerate(label_set.classes) if c in names]


__all__ = ["Comparison", "make_comparison", "parse_merges", "skin_class_ids"]
