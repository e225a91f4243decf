"""The one result type: :class:`Parsing`, a label map plus a person-instance map, and what it turns into."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io import rle
from .labels import IGNORE, LabelSet, get_label_set, map_labels, resolve_parts
from .render import colorize as _colorize, overlay as _overlay


def instance_ids(instances: np.ndarray) -> list[int]:
    """The person ids present in an instance map, ascending, 0 (background) left out.

    Args:
        instances: ``(H, W)`` integer map.
    Returns:
        ``[int, ...]``. For non-negative maps with ids below 2**16 (every map this package makes) a
        histogram (:func:`numpy.bincount`, one pass) replaces :func:`numpy.unique`'s sort.
    """
    a = np.asarray(instances)
    if a.size == 0:
        return []
    if (a.dtype.kind in "ub" or (a.dtype.kind == "i" and int(a.min()) >= 0)) and int(a.max()) < 1 << 16:
        counts = np.bincount(a.ravel().astype(np.intp, copy=False))
        counts[0] = 0
        return np.flatnonzero(counts).tolist()
    return [int(i) for i in np.unique(a) if i != 0]


def nearest_index(n: int, size: int) -> np.ndarray:
    """Which of ``n`` source rows (or columns) each of ``size`` output rows takes in OpenCV's
    nearest-neighbour resize (``cv2.INTER_NEAREST``), asked of OpenCV itself.

    Returns:
        ``(size,)`` intp, ascending, values in ``0..n-1``.
    """
    import cv2

    ramp = np.arange(n, dtype=np.float32).reshape(n, 1)           # exact in float32 below 2**24
    return cv2.resize(ramp, (1, int(size)), interpolation=cv2.INTER_NEAREST)[:, 0].astype(np.intp)


def head_point(instances: np.ndarray, person_id: int, bbox, band: float = 0.03) -> list[float]:
    """Where a person's head is: the top of the person's own pixels, centred.

    Args:
        instances: ``(H, W)`` instance map.
        person_id: the person's id in ``instances``.
        bbox: ``(x1, y1, x2, y2)`` of that person's pixels (only this crop is read).
        band: height of the top band, as a fraction of the box height (at least one row).
    Returns:
        ``[x, y]`` in pixels: ``y`` = the person's topmost row, ``x`` = the mean column of the person's
        pixels in the top ``band`` of the box (rounded to 0.1 px). A raised arm beside the head leaves the
        point on the head, unlike the box's top-left corner; ``[x1, y1]`` when the crop holds no pixel.
    """
    x1, y1, x2, y2 = (int(v) for v in bbox)
    mine = np.asarray(instances)[y1:y2, x1:x2] == person_id
    rows = np.flatnonzero(mine.any(axis=1))
    if rows.size == 0:
        return [float(x1), float(y1)]
    top = int(rows[0])
    n = max(1, int(round(band * (y2 - y1))))
    ys, xs = np.nonzero(mine[top : top + n])
    return [round(x1 + float(xs.mean()) + 0.5, 1), float(y1 + top)]


FORMATS = ("labels", "instances", "color", "overlay", "json", "cutout")
"""Output formats of :meth:`Parsing.save`."""


@dataclass(frozen=True)
class Person:
    """One parsed person.

    Attributes:
        id: instance id, the value of this person's pixels in :attr:`Parsing.instances` (1..N).
        bbox: ``(x1, y1, x2, y2)`` in pixels, ``x2``/``y2`` exclusive, of the person's pixels.
        score: detection confidence in [0, 1] (backend-specific; 1.0 when the backend has none).
        area: number of pixels of this person.
        part_areas: pixels per class name (background excluded; only classes present).
    """

    id: int
    bbox: tuple[int, int, int, int]
    score: float
    area: int
    part_areas: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"id": self.id, "bbox": list(self.bbox), "score": round(float(self.score), 4),
                "area": self.area, "part_areas": dict(self.part_areas)}


@dataclass
class Parsing:
    """Multi-person human parsing of one image.

    Attributes:
        labels: ``(H, W)`` uint8 label map, class ids of ``label_set`` (0 = background).
        instances: ``(H, W)`` uint16 instance map, 0 = no person, ``k`` = pixels of person ``k``.
        label_set: the classes of ``labels``.
        persons: one :class:`Person` per instance id, in id order.
        timings: optional seconds per stage (``{"inference": 0.08, ...}``), filled by the caller.
    """

    labels: np.ndarray
    instances: np.ndarray
    label_set: LabelSet
    persons: list[Person] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label_set = get_label_set(self.label_set)
        if self.labels.ndim != 2 or self.labels.shape != self.instances.shape:
            raise ValueError(f"labels {self.labels.shape} and instances {self.instances.shape} must be equal (H, W)")
        self.labels = np.ascontiguousarray(self.labels, dtype=np.uint8)
        self.instances = np.ascontiguousarray(self.instances, dtype=np.uint16)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_maps(cls, labels: np.ndarray, instances: np.ndarray, label_set: str | LabelSet = "cihp",
                  scores=None) -> "Parsing":
        """Build a Parsing and its :class:`Person` list from a label map and an instance map.

        Args:
            labels: ``(H, W)`` integer class ids of ``label_set``.
            instances: ``(H, W)`` integer person ids, 0 = none. Ids are renumbered to 1..N in order
                of first appearance of the sorted ids, so gaps are closed.
            scores: per-person score, indexed like the *original* sorted non-zero ids (sequence or
                ``{id: score}``); ``None`` gives 1.0.
        Raises:
            ValueError: shapes differ, or class ids exceed the label set.
        """
        ls = get_label_set(label_set)
        labels = np.asarray(labels)
        instances = np.asarray(instances)
        if labels.shape != instances.shape or labels.ndim != 2:
            raise ValueError(f"labels {labels.shape} and instances {instances.shape} must be equal (H, W)")
        if labels.size and int(labels.max()) >= len(ls):
            raise ValueError(f"label map has class id {int(labels.max())} but {ls.name!r} has {len(ls)} classes")
        ids = instance_ids(instances)
        if isinstance(scores, dict):
            score_of = {i: float(scores.get(i, 1.0)) for i in ids}
        elif scores is not None:
            score_of = {i: float(s) for i, s in zip(ids, scores)}
        else:
            score_of = {}
        remap = np.zeros(int(instances.max(initial=0)) + 1, dtype=np.uint16)
        for new, old in enumerate(ids, start=1):
            remap[old] = new
        inst = remap[instances.astype(np.intp)] if ids else np.zeros(labels.shape, np.uint16)
        persons = cls._persons(labels.astype(np.uint8), inst, ls, [score_of.get(i, 1.0) for i in ids])
        return cls(labels.astype(np.uint8), inst, ls, persons)

    @classmethod
    def empty(cls, height: int, width: int, label_set: str | LabelSet = "cihp") -> "Parsing":
        """A Parsing with no person: all background, 0 persons."""
        z = np.zeros((int(height), int(width)), np.uint8)
        return cls(z, z.astype(np.uint16), get_label_set(label_set), [])

    @classmethod
    def from_work_maps(cls, labels: np.ndarray, instances: np.ndarray, size: tuple[int, int],
                       label_set: str | LabelSet = "cihp", scores=None) -> "Parsing":
        """A Parsing of a larger image from the maps of its working copy, upscaled nearest-neighbour.

        The same result as ``Parsing.from_maps(cv2.resize(labels, (W, H), interpolation=cv2.INTER_NEAREST),
        <the same for instances>, ...)``, but the persons' boxes, areas and part areas are counted on the
        small maps (each pixel weighted by the number of full-size pixels it becomes), so a 24 MP photo
        needs no full-size index or coordinate arrays: only the two upscaled maps are made.

        Args:
            labels / instances: ``(h, w)`` maps of the working copy (as :meth:`from_maps`).
            size: ``(H, W)`` of the image, each at least the working copy's (smaller: plain :meth:`from_maps`
                of the resized maps).
            label_set / scores: as :meth:`from_maps`.
        Returns:
            a :class:`Parsing` of ``(H, W)``: uint8 labels and uint16 instances.
        """
        import cv2

        small = cls.from_maps(labels, instances, label_set, scores)
        H, W = int(size[0]), int(size[1])
        h, w = small.labels.shape
        if (H, W) == (h, w):
            return small
        big_l = cv2.resize(small.labels, (W, H), interpolation=cv2.INTER_NEAREST)
        big_i = cv2.resize(small.instances, (W, H), interpolation=cv2.INTER_NEAREST)
        if H < h or W < w or not small.persons:
            return cls.from_maps(big_l, big_i, small.label_set, [p.score for p in small.persons])
        rows = nearest_index(h, H)
        cols = nearest_index(w, W)
        persons = cls._persons(small.labels, small.instances, small.label_set, [p.score for p in small.persons],
                               rows, cols)
        return cls(big_l, big_i, small.label_set, persons)

    @staticmethod
    def _persons(labels: np.ndarray, inst: np.ndarray, ls: LabelSet, scores: list[float],
                 rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> list[Person]:
        """Persons of maps ``labels``/``inst``; with ``rows``/``cols`` (full-size row/column -> map row/column,
        ascending, every map row/column used: :func:`nearest_index`), those of the maps upscaled by them."""
        n = len(scores)
        if n == 0:
            return []
        flat_i = inst.ravel().astype(np.intp)
        weights = None
        if rows is not None:
            weights = np.outer(np.bincount(rows, minlength=inst.shape[0]), np.bincount(cols, minlength=inst.shape[1]))
            weights = weights.ravel().astype(np.float64)
        counts = np.bincount(flat_i * len(ls) + labels.ravel(), weights=weights, minlength=(n + 1) * len(ls))
        counts = np.rint(counts).astype(np.int64).reshape(n + 1, len(ls))
        ys, xs = np.nonzero(inst)
        ids = inst[ys, xs].astype(np.intp)
        big = np.iinfo(np.int64).max
        x1 = np.full(n + 1, big); y1 = np.full(n + 1, big); x2 = np.full(n + 1, -1); y2 = np.full(n + 1, -1)
        np.minimum.at(x1, ids, xs); np.minimum.at(y1, ids, ys)
        np.maximum.at(x2, ids, xs); np.maximum.at(y2, ids, ys)
        if rows is not None:        # first full-size pixel of the first map pixel, last of the last
            x1, y1 = np.searchsorted(cols, x1, "left"), np.searchsorted(rows, y1, "left")
            x2, y2 = np.searchsorted(cols, x2, "right") - 1, np.searchsorted(rows, y2, "right") - 1
        out = []
        for k in range(1, n + 1):
            parts = {ls.classes[c]: int(counts[k, c]) for c in range(1, len(ls)) if counts[k, c]}
            out.append(Person(k, (int(x1[k]), int(y1[k]), int(x2[k]) + 1, int(y2[k]) + 1),
                              float(scores[k - 1]), int(counts[k].sum()), parts))
        return out

    # ------------------------------------------------------------------ basic facts
    @property
    def height(self) -> int:
        return int(self.labels.shape[0])

    @property
    def width(self) -> int:
        return int(self.labels.shape[1])

    def __len__(self) -> int:
        return len(self.persons)

    def person(self, person_id: int) -> Person:
        """The :class:`Person` with ``id == person_id``. Raises ``KeyError`` if absent."""
        for p in self.persons:
            if p.id == person_id:
                return p
        raise KeyError(f"no person {person_id}; this parsing has ids 1..{len(self.persons)}")

    def to_label_set(self, label_set: str | LabelSet) -> "Parsing":
        """This parsing in another label set, through the mapping tables of :mod:`humanparse.labels`.

        E.g. ``p.to_label_set("cihp")`` turns the ``lite`` backend's ``cihp-bag`` into plain CIHP-20
        (bags become background). A pixel whose class maps to background, or has no counterpart in
        ``label_set``, becomes background and leaves its person; a person left without pixels is
        dropped (ids renumbered 1..N, scores kept).

        Args:
            label_set: a label set or its name (``humanparse.labels.label_set_names()``).
        Returns:
            a new :class:`Parsing` (``self`` when ``label_set`` is already this parsing's set).
        Raises:
            KeyError: unknown label set name.
            ValueError: no mapping table from this parsing's set to ``label_set``.
        """
        ls = get_label_set(label_set)
        if ls == self.label_set:
            return self
        labels = map_labels(self.labels, self.label_set, ls)
        labels[labels == IGNORE] = 0
        inst = np.where(labels > 0, self.instances, 0).astype(np.uint16)
        out = Parsing.from_maps(labels, inst, ls, {p.id: p.score for p in self.persons})
        out.timings = dict(self.timings)
        return out

    # ------------------------------------------------------------------ masks and pictures
    def mask(self, parts=None, person: int | None = None) -> np.ndarray:
        """Boolean mask of some parts of some person.

        Args:
            parts: ``None`` = every non-background class (the whole person); else names accepted by
                :func:`humanparse.labels.resolve_parts` (class names of this label set, coarse names
                such as ``"shoes"``, comma-separated or a list).
            person: instance id; ``None`` = all persons (for the label map alone, background excluded).
        Returns:
            ``(H, W)`` bool.
        Raises:
            KeyError: unknown part name or person id.
        """
        if person is not None:
            self.person(person)
        if parts is None:
            m = self.labels > 0
        else:
            lut = np.zeros(256, bool)
            lut[resolve_parts(self.label_set, parts)] = True
            m = lut[self.labels]
        if person is not None:
            m &= self.instances == person
        return m

    def colorize(self) -> np.ndarray:
        """The colour map: ``(H, W, 3)`` uint8, each class in its palette colour (black background)."""
        return _colorize(self.labels, self.label_set)

    def colorize_instances(self) -> np.ndarray:
        """Each person in its own colour (golden-ratio hues): ``(H, W, 3)`` uint8, black background."""
        import colorsys

        lut = np.zeros((max(len(self.persons), 0) + 1, 3), np.uint8)
        for k in range(1, len(lut)):
            lut[k] = [round(255 * c) for c in colorsys.hsv_to_rgb((k * 0.61803398875) % 1.0, 0.75, 0.95)]
        return lut[np.minimum(self.instances, len(lut) - 1)]

    def overlay(self, image: np.ndarray, opacity: float = 0.5) -> np.ndarray:
        """The colour map blended over ``image`` (``(H, W, 3)`` uint8) on labelled pixels; see :func:`humanparse.render.overlay`."""
        return _overlay(image, self.labels, self.label_set, opacity)

    def cutout(self, image: np.ndarray, parts=None, person: int | None = None,
               alpha: np.ndarray | None = None) -> np.ndarray:
        """RGBA cut-out of ``image``: opaque where :meth:`mask` is true, transparent elsewhere.

        Args:
            image: ``(H, W, 3)`` uint8 RGB of the same size.
            alpha: optional ``(H, W)`` alpha matte (uint8 0..255 or float 0..1) to use instead of the
                binary mask (see :mod:`humanparse.compose.matting`).
        Returns:
            ``(H, W, 4)`` uint8 RGBA.
        """
        image = np.asarray(image)
        if image.shape[:2] != self.labels.shape:
            raise ValueError(f"image {image.shape[:2]} and parsing {self.labels.shape} differ in size")
        if alpha is None:
            a = self.mask(parts, person).astype(np.uint8) * 255
        else:
            a = alpha if alpha.dtype == np.uint8 else (np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)
        return np.dstack([image[..., :3], a])

    # ------------------------------------------------------------------ serialisation
    def to_json(self, include_masks: bool = True) -> dict:
        """JSON-ready dict: image size, label set, persons (id, bbox, score, area, part areas, ``head``: the
        :func:`head_point` ``[x, y]`` where a label for the person goes) and,
        with ``include_masks``, a COCO RLE mask per person per part (``persons[i]["masks"][part]``);
        ``timings`` (seconds per stage) only when :attr:`timings` has any (a bare ``predict`` has none,
        so its JSON stays the same from run to run)."""
        persons = []
        for p in self.persons:
            d = p.to_dict()
            d["head"] = head_point(self.instances, p.id, p.bbox)
            if include_masks:
                d["mask"], d["masks"] = self._person_rles(p)
            persons.append(d)
        out = {
            "width": self.width, "height": self.height,
            "label_set": self.label_set.name, "classes": list(self.label_set.classes),
            "num_persons": len(self.persons), "persons": persons,
        }
        if self.timings:
            out["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        return out

    def _person_rles(self, p: Person) -> tuple[dict, dict[str, dict]]:
        """COCO RLE of person ``p`` and of each of its parts (names of ``p.part_areas``), computed on the
        person's box only (:func:`humanparse.io.rle.encode_parts`; byte-identical to encoding full-frame masks)."""
        x1, y1, x2, y2 = p.bbox
        inst = self.instances[y1:y2, x1:x2]
        if np.count_nonzero(inst == p.id) != p.area:    # a hand-made Person whose bbox misses pixels: whole frame
            x1, y1, x2, y2 = 0, 0, self.width, self.height
            inst = self.instances
        codes = np.where(inst == p.id, self.labels[y1:y2, x1:x2].astype(np.int16), np.int16(rle.OUTSIDE))
        ids = {name: self.label_set.index(name) for name in p.part_areas}
        whole, parts = rle.encode_parts(codes, (x1, y1, x2, y2), self.height, self.width, ids.values())
        return whole, {name: parts[i] for name, i in ids.items()}

    @classmethod
    def from_json(cls, data: dict) -> "Parsing":
        """Rebuild a Parsing from :meth:`to_json` output (with masks). Inverse of ``to_json``."""
        ls = get_label_set(data["label_set"])
        labels = np.zeros((data["height"], data["width"]), np.uint8)
        inst = np.zeros_like(labels, dtype=np.uint16)
        scores = []
        for p in data["persons"]:
            inst[rle.decode(p["mask"])] = p["id"]
            for name, r in p["masks"].items():
                labels[rle.decode(r)] = ls.index(name)
            scores.append(p["score"])
        return cls.from_maps(labels, inst, ls, scores)

    def save(self, out_dir, formats=("labels", "color", "overlay", "json"), stem: str = "parsing",
             image: np.ndarray | None = None) -> dict[str, Path]:
        """Write outputs to ``out_dir`` as ``<stem>_<format>.<ext>``.

        Formats: ``labels`` (single-channel PNG, class ids), ``instances`` (16-bit PNG, person ids),
        ``color`` (RGB PNG colour map), ``overlay`` and ``cutout`` (need ``image``; RGB / RGBA PNG),
        ``json`` (:meth:`to_json`).
        Returns:
            ``{format: path written}``.
        Raises:
            ValueError: unknown format, or ``overlay``/``cutout`` without ``image``.
        """
        from .io.image import save_png

        out = Path(out_dir)
        formats = [f.strip() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise ValueError(f"unknown format(s) {bad}; choose from {', '.join(FORMATS)}")
        if image is None and {"overlay", "cutout"} & set(formats):
            raise ValueError("formats 'overlay' and 'cutout' need the image")
        out.mkdir(parents=True, exist_ok=True)
        pictures = {"labels": lambda: self.labels, "instances": lambda: self.instances,
                    "color": self.colorize, "overlay": lambda: self.overlay(image), "cutout": lambda: self.cutout(image)}
        paths = {f: out / (f"{stem}.json" if f == "json" else f"{stem}_{f}.png") for f in formats}

        def write(f: str) -> None:
            if f == "json":
                paths[f].write_text(json.dumps(self.to_json()))
            else:
                save_png(paths[f], pictures[f]())

        # two threads: the PNG encoder (OpenCV's zlib) and the NumPy / OpenCV rendering release the GIL,
        # which halves a 24 MP photo's write time on two cores; the first error is raised here
        jobs = sorted(formats, key=lambda f: f in ("labels", "instances", "json"))    # big pictures first
        if len(jobs) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=2) as pool:
                for _ in pool.map(write, jobs):
                    pass
        else:
            for f in jobs:
                write(f)
        return {f: paths[f] for f in formats}
