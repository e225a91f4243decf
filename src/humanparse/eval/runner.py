"""Run a backend over an annotated set and accumulate everything the reports need.

Memory stays flat: per image only the confusion matrix, the instance overlaps and (with fairness) one
small matrix per person are kept. Predictions are cached per image in ``cache_dir`` (label map PNG,
16-bit instance PNG, JSON with scores) and reused while the backend's *fingerprint* (name, options,
humanparse version and a hash of the backend's source files) and the image file are unchanged, so a
re-run after changing only the metric code takes seconds.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import HumanParseError
from ..io.image import load_image
from ..labels import IGNORE, LabelSet, get_label_set, mapping_lut
from ..parsing import Parsing
from .compare import Comparison, make_comparison, skin_class_ids
from .confusion import ConfusionAccumulator, confusion_matrix
from .datasets import Sample, read_instance_map, read_label_map
from .fairness import Unit
from .instances import InstanceMatches, match_instances
from .metrics import mean_iou, pixel_accuracy
from .ita import ita_group, person_ita, rgb_to_lab, skin_mask


@dataclass
class EvalResult:
    """Accumulated evaluation of one backend on one set.

    Attributes:
        comparison: how the label sets were compared.
        matrix: ``(K, K + 1)`` summed confusion matrix.
        human / part: per-image :class:`InstanceMatches` (images with instance maps only).
        units: per-person fairness units (empty unless ``fairness``).
        images: images evaluated; failures: ``[(id, message)]`` of images that could not be.
        seconds: inference seconds per evaluated image (fresh or from the cache record).
        cached: number of predictions read from the cache.
        backend: the backend's ``info()`` plus its ``fingerprint`` (:func:`backend_fingerprint`).
        per_image: ``[(id, mIoU, pixel accuracy, persons predicted)]`` of each evaluated image.
    """

    comparison: Comparison
    matrix: np.ndarray
    human: list[InstanceMatches] = field(default_factory=list)
    part: list[InstanceMatches] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    images: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cached: int = 0
    backend: dict = field(default_factory=dict)
    per_image: list[tuple[str, float, float, int]] = field(default_factory=list)


def backend_fingerprint(backend) -> str:
    """Short hash identifying a backend's predictions: its ``info()``, humanparse version and the
    source files (``*.py``) of the folder its class is defined in."""
    from .. import __version__

    h = hashlib.sha1(json.dumps(backend.info(), sort_keys=True, default=str).encode())
    h.update(__version__.encode())
    try:
        folder = Path(inspect.getfile(type(backend))).parent
        for f in sorted(folder.rglob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    except (TypeError, OSError):
        pass
    return h.hexdigest()[:16]


class PredictionCache:
    """Per-image prediction files in ``folder``: ``<id>.labels.png``, ``<id>.instances.png``, ``<id>.json``."""

    def __init__(self, folder: Path | str, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        self.folder.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _stamp(sample: Sample) -> list[int]:
        st = sample.image.stat()
        return [st.st_size, st.st_mtime_ns]

    def get(self, sample: Sample) -> tuple[Parsing, float] | None:
        """The cached ``(parsing, inference seconds)`` of ``sample``, or ``None`` if missing or stale."""
        from PIL import Image

        meta_p = self.folder / f"{sample.id}.json"
        try:
            meta = json.loads(meta_p.read_text())
            if meta.get("fingerprint") != self.fingerprint or meta.get("image") != self._stamp(sample):
                return None
            labels = np.asarray(Image.open(self.folder / f"{sample.id}.labels.png"), np.uint8)
            inst = np.asarray(Image.open(self.folder / f"{sample.id}.instances.png")).astype(np.uint16)
            parsing = Parsing.from_maps(labels, inst, meta["label_set"], meta["scores"])
            return parsing, float(meta.get("seconds", float("nan")))
        except (OSError, ValueError, KeyError):
            return None

    def put(self, sample: Sample, parsing: Parsing, seconds: float) -> None:
        """Store ``parsing`` of ``sample`` (label map, instance map, scores, timing)."""
        from PIL import Image

        Image.fromarray(parsing.labels, mode="L").save(self.folder / f"{sample.id}.labels.png")
        Image.fromarray(parsing.instances.astype(np.uint16)).save(self.folder / f"{sample.id}.instances.png")
        meta = {"fingerprint": self.fingerprint, "image": self._stamp(sample), "label_set": parsing.label_set.name,
                "scores": [p.score for p in parsing.persons], "seconds": seconds}
        (self.folder / f"{sample.id}.json").write_text(json.dumps(meta))


def _face_ids(ls: LabelSet) -> list[int]:
    try:
        lut = mapping_lut(ls, "coarse")
    except (KeyError, ValueError):
        return [i for i, c in enumerate(ls.classes) if c == "face"]
    face = get_label_set("coarse").index("face")
    return [i for i in range(len(ls)) if int(lut[i]) == face]


def _units(sample: Sample, image, gt, gt_inst, g, p, k, gt_set: LabelSet) -> list[Unit]:
    """Fairness units of one image: one per ground-truth person (bbox region), or the whole image."""
    skin_ids, face_ids = skin_class_ids(gt_set), _face_ids(gt_set)
    bg = gt == 0
    scene = float(np.median(rgb_to_lab(image[bg])[:, 0])) if bg.any() else float("nan")
    out = []
    if gt_inst is None or not gt_inst.any():
        skin = skin_mask(gt, skin_ids, face_ids)
        ita, n = person_ita(image, skin)
        out.append(Unit(sample.id, ita, ita_group(ita), confusion_matrix(g, p, k), n, scene))
        return out
    for pid in [int(i) for i in np.unique(gt_inst) if i != 0]:
        person = gt_inst == pid
        ys, xs = np.nonzero(person)
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        skin = skin_mask(gt, skin_ids, face_ids, person=person)
        ita, n = person_ita(image, skin)
        out.append(Unit(f"{sample.id}#{pid}", ita, ita_group(ita), confusion_matrix(g[box], p[box], k), n, scene))
    return out


def evaluate(samples: list[Sample], gt_label_set: str | LabelSet, backend, target: str | None = "auto",
             merges="auto", fairness: bool = False, cache_dir: Path | str | None = None,
             progress: Callable[[int, int, str], None] | None = None) -> EvalResult:
    """Predict every sample with ``backend`` and accumulate metrics.

    Args:
        samples: from :func:`humanparse.eval.datasets.find_samples`.
        gt_label_set: label set of the ground-truth label maps.
        backend: a loaded :class:`humanparse.backends.Backend`.
        target / merges: see :func:`humanparse.eval.compare.make_comparison`.
        fairness: also build per-person units with ITA groups.
        cache_dir: prediction cache folder (``None`` = no cache).
        progress: called as ``progress(done, total, sample_id)`` after each image.
    Returns:
        :class:`EvalResult`. Images that fail (unreadable, mis-sized labels, backend error) are listed
        in ``failures`` and left out.
    Raises:
        ValueError: no samples, or the backend changes label set between images.
    """
    if not samples:
        raise ValueError("no samples to evaluate")
    gt_set = get_label_set(gt_label_set)
    comp = make_comparison(gt_set, backend.label_set, target, merges)
    k = len(comp.label_set)
    acc = ConfusionAccumulator(k)
    fingerprint = backend_fingerprint(backend)
    cache = PredictionCache(cache_dir, fingerprint) if cache_dir is not None else None
    res = EvalResult(comp, acc.matrix, backend={**backend.info(), "fingerprint": fingerprint})
    for n, sample in enumerate(samples, 1):
        try:
            image = load_image(sample.image)
            size = image.shape[:2]
            gt = read_label_map(sample.labels, gt_set, size)
            gt_inst = read_instance_map(sample.instances, size) if sample.instances else None
            hit = cache.get(sample) if cache else None
            if hit is None:
                t0 = time.perf_counter()
                parsing = backend.predict(image)
                secs = time.perf_counter() - t0
                if cache:
                    cache.put(sample, parsing, secs)
            else:
                parsing, secs = hit
                res.cached += 1
            if parsing.labels.shape != size:
                raise HumanParseError(f"prediction is {parsing.labels.shape}, image is {size}")
            if parsing.label_set != comp.pred_set:
                raise ValueError(f"backend returned label set {parsing.label_set.name!r}, "
                                 f"expected {comp.pred_set.name!r}")
            g, p = comp.gt(gt), comp.pred(parsing.labels)
            m = acc.update(g, p)
            res.per_image.append((sample.id, float(mean_iou(m)), float(pixel_accuracy(m)), len(parsing)))
            if gt_inst is not None:
                scores = {q.id: q.score for q in parsing.persons}
                # A person is scored on its pixels that are person in the comparison set: classes mapped
                # to background there (lite's bag in CIHP-20) leave the person, as Parsing.to_label_set does.
                persons = np.where(p == 0, 0, parsing.instances)
                res.human.append(match_instances(gt_inst, persons, scores, valid=gt != IGNORE))
                res.part.append(match_instances(gt_inst, parsing.instances, scores, g, p, k, valid=g != IGNORE))
            if fairness:
                res.units += _units(sample, image, gt, gt_inst, g, p, k, gt_set)
            res.images += 1
            res.seconds.append(secs)
        except (HumanParseError, OSError) as e:
            res.failures.append((sample.id, str(e)))
        if progress:
            progress(n, len(samples), sample.id)
    res.matrix = acc.matrix
    return res


__all__ = ["EvalResult", "PredictionCache", "backend_fingerprint", "evaluate"]
