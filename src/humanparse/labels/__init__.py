"""Label sets as data, and mapping tables between them.

Each label set lives in ``labels/data/<name>.json``: its class names (index = pixel value in a
label map), one palette colour per class, the source (paper / model card) of the class order, and
mapping tables to other label sets. A mapping table sends every source class to a destination class
name, or to ``null`` when no destination class is right (e.g. CIHP ``left-arm`` has no single
Pascal-Person-Part class: it spans upper and lower arm). Such pixels become :data:`IGNORE` (255).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

IGNORE = 255
"""Value written by :func:`map_labels` where a class has no counterpart in the destination set."""

DEFAULT_LABEL_SET = "cihp"


@dataclass(frozen=True, eq=False)
class LabelSet:
    """A set of semantic classes for human parsing.

    Attributes:
        name: short id, e.g. ``"cihp"``.
        title: human-readable name.
        classes: class names; index ``k`` is pixel value ``k`` of a label map. Index 0 is background.
        palette: ``(K, 3)`` uint8 RGB colour per class.
        source: where the class order (and palette) come from.
        notes: caveats of this set.
        mappings: ``{destination set name: {source class: destination class or None}}``.
    """

    name: str
    title: str
    classes: tuple[str, ...]
    palette: np.ndarray
    source: str = ""
    notes: str = ""
    mappings: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.classes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSet) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def index(self, name: str) -> int:
        """Return the pixel value of class ``name``.

        Raises:
            KeyError: ``name`` is not a class of this set; the message lists the valid names.
        """
        try:
            return self.classes.index(name)
        except ValueError:
            raise KeyError(
                f"{name!r} is not a class of label set {self.name!r}; "
                f"valid names: {', '.join(self.classes)}"
            ) from None

    def to_dict(self) -> dict:
        """JSON-ready description: name, title, source, notes and ``classes`` with id, name and colour."""
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "notes": self.notes,
            "classes": [
                {"id": i, "name": c, "color": [int(v) for v in self.palette[i]]}
                for i, c in enumerate(self.classes)
            ],
        }


def label_set_names() -> list[str]:
    """Names of all label sets shipped with humanparse, sorted."""
    root = resources.files(__package__) / "data"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def _load(name: str) -> LabelSet:
    path = resources.files(__package__) / "data" / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"unknown label set {name!r}; known: {', '.join(label_set_names())}")
    raw = json.loads(path.read_text())
    palette = np.asarray(raw["palette"], dtype=np.uint8)
    palette.setflags(write=False)
    return LabelSet(
        name=raw["name"],
        title=raw["title"],
        classes=tuple(raw["classes"]),
        palette=palette,
        source=raw.get("source", ""),
        notes=raw.get("notes", ""),
        mappings=raw.get("mappings", {}),
    )


def get_label_set(label_set: str | LabelSet) -> LabelSet:
    """Return the :class:`LabelSet` named ``label_set`` (case-insensitive); a LabelSet passes through.

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    if isinstance(label_set, LabelSet):
        return label_set
    return _load(str(label_set).lower())


def _table(src: LabelSet, dst: LabelSet) -> dict[str, str | None] | None:
    """Class-name mapping ``src -> dst``: direct, else composed through CIHP or coarse."""
    if src == dst:
        return {c: c for c in src.classes}
    if dst.name in src.mappings:
        return src.mappings[dst.name]
    for hub in ("cihp", "coarse"):
        if hub in (src.name, dst.name) or hub not in src.mappings:
            continue
        second = _table(get_label_set(hub), dst)
        if second is not None:
            first = src.mappings[hub]
            return {c: (None if first[c] is None else second[first[c]]) for c in src.classes}
    return None


@lru_cache(maxsize=None)
def mapping_lut(src: str | LabelSet, dst: str | LabelSet) -> np.ndarray:
    """Look-up table ``lut`` of shape ``(256,)`` uint8 with ``lut[src_id] = dst_id``.

    Unmappable classes (and values outside ``src``) map to :data:`IGNORE` (255); 255 maps to 255.

    Raises:
        KeyError: unknown label set.
        ValueError: no mapping table (direct, or through ``cihp`` / ``coarse``) links the two sets.
    """
    s, d = get_label_set(src), get_label_set(dst)
    table = _table(s, d)
    if table is None:
        raise ValueError(f"no mapping from label set {s.name!r} to {d.name!r}")
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for i, name in enumerate(s.classes):
        target = table.get(name)
        if target is not None:
            lut[i] = d.index(target)
    lut.setflags(write=False)
    return lut


def map_labels(label_map: np.ndarray, src: str | LabelSet, dst: str | LabelSet) -> np.ndarray:
    """Translate a label map from label set ``src`` to ``dst``.

    Args:
        label_map: ``(H, W)`` integer array of ``src`` class ids (255 = ignore passes through).
    Returns:
        ``(H, W)`` uint8 array of ``dst`` class ids; :data:`IGNORE` where no counterpart exists.
    Raises:
        ValueError: the sets are not linked by any mapping table.
    """
    lut = mapping_lut(get_label_set(src), get_label_set(dst))
    return lut[np.asarray(label_map).astype(np.intp, copy=False) & 0xFF]


def resolve_parts(label_set: str | LabelSet, parts) -> list[int]:
    """Class ids of ``label_set`` named by ``parts``.

    ``parts`` is a name, a comma-separated string, or an iterable of names. A name may be a class of
    ``label_set`` itself or a class of the ``coarse`` set (e.g. ``"shoes"`` selects ``left-shoe`` and
    ``right-shoe`` in CIHP), or ``"person"`` for every non-background class.

    Returns:
        sorted list of class ids.
    Raises:
        KeyError: a name is neither a class of ``label_set`` nor of ``coarse`` (message lists valid names).
    """
    ls = get_label_set(label_set)
    if isinstance(parts, str):
        parts = [p for p in (s.strip() for s in parts.split(",")) if p]
    ids: set[int] = set()
    coarse = get_label_set("coarse")
    for name in parts:
        key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
        if key in ls.classes:
            ids.add(ls.classes.index(key))
        elif key == "person":
            ids.update(range(1, len(ls)))
        elif key in coarse.classes and ls != coarse:
            try:
                lut = mapping_lut(ls, coarse)
            except ValueError:
                lut = None
            hit = [] if lut is None else [i for i in range(len(ls)) if lut[i] == coarse.index(key)]
            if not hit:
                raise KeyError(f"coarse part {key!r} has no class in label set {ls.name!r}")
            ids.update(hit)
        else:
            raise KeyError(
                f"unknown part {name!r} for label set {ls.name!r}; valid: "
                f"{', '.join(ls.classes)}, or coarse names {', '.join(coarse.classes)}, or 'person'"
            )
    return sorted(ids)


__all__ = [
    "IGNORE", "DEFAULT_LABEL_SET", "LabelSet", "get_label_set", "label_set_names",
    "mapping_lut", "map_labels", "resolve_parts",
]
