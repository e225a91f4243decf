"""Peers side by side: person IoU, mIoU (parsers) and median ms per photo of humanparse's backends and of
what users pick instead, one run, same photos.

Usage: .venv/bin/python bench/peers.py [--sets ccp_test,cihp_val,multi_person] [--peers lite,isnet,...]
                                       [--limit N] [--isnet-model medium] [--update-docs]

Methods (``--peers``, all by default):

* ``lite`` (the default backend) and ``mediapipe``: parsers, scored by :func:`humanparse.eval.runner.evaluate`
  (what ``humanparse eval`` computes): person IoU and mIoU in the set's comparison classes;
* ``selfie-general`` / ``selfie-landscape``: MediaPipe's selfie segmenter (the live person mode), person =
  confidence > 0.5;
* ``bodypix``: BodyPix 2.0 MobileNetV1 x0.50, output stride 16
  (``../shared/models/bodypix/MobileNetV1-x050-stride16.onnx``, via :class:`humanparse.train.teacher.BodyPixTeacher`:
  photo resized to 1025 px on its long side), person = logit > 0;
* ``isnet``: IMG.LY's ISNet (``bench/isnet_peer.py``: npm ``@imgly/background-removal-data@1.4.5``, fetched once
  into a cache folder outside the repository; never part of the package), person = > 0.5;
* ``m2fp``: the M2FP parser, only when ``m2fp-r101-cihp`` is in the model cache (a "skipped" line otherwise).

Sets (``--sets``), from ``../shared/data``: ``ccp_test`` (CCP's test split, photo number divisible by 5, 200
photos, compared in ``coarse``), ``cihp_val`` (32 CIHP crowd photos, CIHP-20) and ``multi_person`` (6 CIHP
photos, CIHP-20). Person IoU = IoU of "any person class" against background, the confusion summed over the
set's pixels (ground-truth 255 ignored); for the person-only peers it is computed from their binary mask
against the ground truth's non-background, through the same label mapping. Time = wall-clock of the call
that turns the decoded RGB photo into the label map or mask (decoding and scoring excluded); the median
over photos. Methods run one after another (each over all sets), in one process.

Prints a summary table (README's "Compared with"), a per-set table (docs/accuracy.md) and the skipped
methods; writes them to ``bench-out/peers.md``. ``--update-docs`` (full runs only, not with ``--limit``)
also replaces the tables between the ``<!-- peers:begin -->`` / ``<!-- peers:end -->`` markers of README.md
and docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import isnet_peer  # noqa: E402
from humanparse.eval.confusion import ConfusionAccumulator  # noqa: E402
from humanparse.eval.datasets import Sample, find_samples, read_label_map  # noqa: E402
from humanparse.eval.metrics import mean_iou, person_iou  # noqa: E402
from humanparse.labels import IGNORE, get_label_set, mapping_lut  # noqa: E402

M2FP_MODEL = "m2fp-r101-cihp"
MARK_BEGIN, MARK_END = "<!-- peers:begin -->", "<!-- peers:end -->"


@dataclass(frozen=True)
class EvalSet:
    """One annotated set: folders under ``../shared/data``, ground-truth label set, comparison target
    (``"coarse"``, or ``"auto"`` = the ground truth's own classes), CCP split (or ``None``), table title."""

    images: str
    labels: str
    label_set: str
    target: str
    split: str | None
    title: str


SETS = {
    "ccp_test": EvalSet("ccp/images", "ccp/labels", "ccp", "coarse", "test", "CCP test split (coarse)"),
    "cihp_val": EvalSet("cihp_val/images", "cihp_val/labels", "cihp", "auto", None, "cihp_val (CIHP-20)"),
    "multi_person": EvalSet("multi_person/images", "multi_person/labels", "cihp", "auto", None,
                            "multi_person (CIHP-20)"),
}


@dataclass(frozen=True)
class Peer:
    """A compared method: ``kind`` ``"parser"`` (a humanparse backend) or ``"mask"`` (person mask only)."""

    name: str
    kind: str
    title: str
    licence: str
    offline: str


PEERS = {p.name: p for p in [
    Peer("lite", "parser", "humanparse `lite` (default)", "Apache-2.0", "yes (in the wheel)"),
    Peer("mediapipe", "parser", "humanparse `mediapipe`", "Apache-2.0", "yes (in the mediapipe wheel)"),
    Peer("selfie-general", "mask", "MediaPipe selfie `general`", "Apache-2.0", "yes (in the mediapipe wheel)"),
    Peer("selfie-landscape", "mask", "MediaPipe selfie `landscape` (live person mode)", "Apache-2.0",
         "yes (in the mediapipe wheel)"),
    Peer("bodypix", "mask", "BodyPix 2.0 MobileNetV1 x0.50, stride 16", "Apache-2.0",
         "yes (one ONNX file, 2.4 MB)"),
    Peer("isnet", "mask", "IMG.LY ISNet (rembg-class), `medium`", isnet_peer.LICENCE,
         "after one `npm pack` (137 MB)"),
    Peer("m2fp", "parser", "M2FP ResNet-101 (humanparse `m2fp`)", "CC BY-NC 4.0 (non-commercial)",
         "after one download"),
]}


@dataclass
class Score:
    """One method on one set: percentages (``miou`` ``None`` for mask-only methods), per-photo ms."""

    person_iou: float
    miou: float | None
    ms: list[float] = field(default_factory=list)
    images: int = 0
    failures: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.ms) if self.ms else float("nan")


class PeerSkipped(RuntimeError):
    """A method cannot run here; ``str()`` is the reason shown on its "skipped" line."""


def skip_line(name: str, reason: str) -> str:
    """``"<name>: skipped (<reason>)"``: the line printed for a method that did not run."""
    return f"{name}: skipped ({reason})"


def load_samples(data: Path, name: str, limit: int | None = None) -> list[Sample]:
    """The samples of set ``name`` (:data:`SETS`) under ``data``, CCP split applied, first ``limit`` kept."""
    from humanparse.cli.eval import select_split

    es = SETS[name]
    samples = find_samples(data / es.images, data / es.labels)
    if es.split:
        samples = select_split(samples, es.split)
    return samples[:limit] if limit else samples


# ---- opening the methods -----------------------------------------------------------------------------


def _selfie(model: str) -> Callable[[np.ndarray], np.ndarray]:
    try:
        from humanparse.persons.segmenter import PersonSegmenter
    except ImportError:  # before the persons/ layer
        from humanparse.live.segmenter import PersonSegmenter
    seg = PersonSegmenter(model)

    def mask(rgb: np.ndarray) -> np.ndarray:
        return seg(rgb) > 0.5

    mask.close = seg.close
    return mask


def _bodypix() -> Callable[[np.ndarray], np.ndarray]:
    from humanparse.train.teacher import BodyPixTeacher

    try:
        teacher = BodyPixTeacher()
    except (FileNotFoundError, ValueError) as e:
        raise PeerSkipped(str(e)) from None
    return lambda rgb: teacher.person_logit(rgb) > 0


def _m2fp():
    from humanparse.backends import get_backend
    from humanparse.models import cache_status

    status, _ = cache_status(M2FP_MODEL)
    if status not in ("cached", "unverified"):
        raise PeerSkipped(f"weights not in the cache: humanparse models pull {M2FP_MODEL}")
    return get_backend("m2fp")


def open_peer(name: str, isnet_model: str = "medium", isnet_cache: Path | None = None):
    """Load method ``name`` (:data:`PEERS`): a humanparse backend for parsers, else a callable
    ``(H, W, 3) uint8 RGB -> (H, W) bool person mask``.

    Raises:
        PeerSkipped: the method cannot run here (missing weights, no npm / network for ISNet, ...).
    """
    from humanparse.backends import get_backend

    if name in ("lite", "mediapipe"):
        return get_backend(name)
    if name.startswith("selfie-"):
        return _selfie(name.removeprefix("selfie-"))
    if name == "bodypix":
        return _bodypix()
    if name == "isnet":
        try:
            return isnet_peer.load(isnet_model, isnet_cache)
        except isnet_peer.PeerSkipped as e:
            raise PeerSkipped(str(e)) from None
    if name == "m2fp":
        return _m2fp()
    raise ValueError(f"unknown peer {name!r}; choose from {', '.join(PEERS)}")


# ---- scoring ----------------------------------------------------------------------------------------


def person_target(gt: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Binary ground truth of an ``(H, W)`` uint8 label map: 1 = a person class, 0 = background, 255 =
    ignored (255 in the ground truth, or a class ``lut`` maps to no comparison class)."""
    g = lut[gt.astype(np.intp)]
    return np.where(g == IGNORE, IGNORE, g != 0).astype(np.uint8)


def score_parser(backend, samples: list[Sample], es: EvalSet) -> Score:
    """Person IoU and mIoU (percent) of a humanparse backend with :func:`humanparse.eval.runner.evaluate`."""
    from humanparse.eval.runner import evaluate

    res = evaluate(samples, es.label_set, backend, es.target)
    return Score(100 * float(person_iou(res.matrix)), 100 * float(mean_iou(res.matrix)),
                 [1000 * s for s in res.seconds], res.images, len(res.failures))


def score_mask(mask_fn: Callable[[np.ndarray], np.ndarray], samples: list[Sample], es: EvalSet) -> Score:
    """Person IoU (percent) of a person-mask method: its ``(H, W)`` bool mask against the ground truth's
    non-background (:func:`person_target`), pixels summed over the set as for the parsers."""
    from humanparse.io.image import load_image

    gs = get_label_set(es.label_set)
    lut = mapping_lut(gs, gs if es.target == "auto" else get_label_set(es.target))
    acc = ConfusionAccumulator(2)
    ms = []
    for s in samples:
        image = load_image(s.image)
        gt = read_label_map(s.labels, gs, image.shape[:2])
        t0 = time.perf_counter()
        mask = mask_fn(image)
        ms.append(1000 * (time.perf_counter() - t0))
        acc.update(person_target(gt, lut), np.asarray(mask, bool).astype(np.uint8))
    return Score(100 * float(person_iou(acc.matrix)), None, ms, acc.images)


def run_peer(name: str, sets: dict[str, list[Sample]], **open_opts) -> dict[str, Score]:
    """Open method ``name``, score it on every set, close it. Raises :class:`PeerSkipped`."""
    method = open_peer(name, **open_opts)
    try:
        scorer = score_parser if PEERS[name].kind == "parser" else score_mask
        return {s: scorer(method, samples, SETS[s]) for s, samples in sets.items()}
    finally:
        close = getattr(method, "close", None)
        if close:
            close()


def run_all(peers: list[str], sets: dict[str, list[Sample]], **open_opts) -> tuple[dict, list[str]]:
    """Run every method of ``peers`` in turn on ``sets``; returns ``({name: {set: Score}}, skip lines)``."""
    results, skipped = {}, []
    for name in peers:
        t0 = time.perf_counter()
        try:
            results[name] = run_peer(name, sets, **open_opts)
        except PeerSkipped as e:
            skipped.append(skip_line(name, str(e)))
            print(skipped[-1], flush=True)
            continue
        print(f"{name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    return results, skipped


# ---- tables -----------------------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "–" if v is None or v != v else f"{v:.1f}"


def summary_table(results: dict[str, dict[str, Score]], sets: list[str]) -> list[str]:
    """README's "Compared with" table: per method person IoU and mIoU on each set (in ``sets`` order),
    median ms per photo over all of them, licence and whether it runs offline."""
    names = " / ".join(sets)
    rows = [f"| method | person IoU % ({names}) | mIoU % ({names}) | ms per photo (median) | licence | offline? |",
            "|---|---|---|---|---|---|"]
    for name, per_set in results.items():
        p = PEERS[name]
        ious = " / ".join(_pct(per_set[s].person_iou) for s in sets)
        mious = " / ".join(_pct(per_set[s].miou) for s in sets) if p.kind == "parser" else "– (person only)"
        ms = [m for s in sets for m in per_set[s].ms]
        med = f"{statistics.median(ms):.0f}" if ms else "–"
        rows.append(f"| {p.title} | {ious} | {mious} | {med} | {p.licence} | {p.offline} |")
    return rows


def detail_table(results: dict[str, dict[str, Score]], sets: list[str]) -> list[str]:
    """docs/accuracy.md's per-set table: one row per (set, method)."""
    rows = ["| set | method | photos | person IoU % | mIoU % | median ms | failed |", "|---|---|---|---|---|---|---|"]
    for s in sets:
        for name, per_set in results.items():
            sc = per_set[s]
            rows.append(f"| {SETS[s].title} | {PEERS[name].title} | {sc.images} | {_pct(sc.person_iou)} | "
                        f"{_pct(sc.miou)} | {sc.median_ms:.0f} | {sc.failures} |")
    return rows


def replace_marked(text: str, block: str) -> str:
    """``text`` with what lies between :data:`MARK_BEGIN` and :data:`MARK_END` replaced by ``block``.

    Raises:
        ValueError: the markers are missing.
    """
    pat = re.compile(re.escape(MARK_BEGIN) + ".*?" + re.escape(MARK_END), re.S)
    if not pat.search(text):
        raise ValueError(f"no {MARK_BEGIN} ... {MARK_END} block")
    return pat.sub(lambda _: f"{MARK_BEGIN}\n{block}\n{MARK_END}", text, count=1)


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {', '.join(SETS)}")
    ap.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated subset of {', '.join(PEERS)}")
    ap.add_argument("--limit", type=int, default=None, help="first N photos per set (a smoke run)")
    ap.add_argument("--isnet-model", default="medium", choices=sorted(isnet_peer.MODELS))
    ap.add_argument("--out", type=Path, default=ROOT / "bench-out" / "peers.md")
    ap.add_argument("--update-docs", action="store_true",
                    help="rewrite the marked tables of README.md and docs/accuracy.md (not with --limit)")
    args = ap.parse_args(argv)
    sets, peers = args.sets.split(","), args.peers.split(",")
    for bad, known in ((set(sets) - set(SETS), SETS), (set(peers) - set(PEERS), PEERS)):
        if bad:
            ap.error(f"unknown {', '.join(sorted(bad))}; choose from {', '.join(known)}")
    if args.update_docs and args.limit:
        ap.error("--update-docs takes a full run: drop --limit")
    from humanparse.paths import shared_data_dir

    data = shared_data_dir()
    if data is None:
        print("../shared/data not found: nothing to measure")
        return 1
    samples = {s: load_samples(data, s, args.limit) for s in sets}
    command = ".venv/bin/python " + shlex.join(["bench/peers.py", *(sys.argv[1:] if argv is None else argv)])
    started, load_before = time.strftime("%Y-%m-%d %H:%M", time.gmtime()), _load()
    photos = ", ".join(f"{s} {len(v)}" for s, v in samples.items())
    print(f"{command}: {started} UTC, {os.cpu_count()} CPUs, load average {load_before}; photos: {photos}", flush=True)
    results, skipped = run_all(peers, samples, isnet_model=args.isnet_model)
    head = f"Measured with `{command}`, {started}–{time.strftime('%H:%M', time.gmtime())} UTC on {os.cpu_count()} " \
           f"CPUs (load average {load_before} before, {_load()} after); photos: {photos}."
    summary, detail = summary_table(results, sets), detail_table(results, sets)
    text = "\n".join([head, ""] + summary + [""] + detail + [""] + skipped)
    print("\n" + text, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"wrote {args.out}")
    if args.update_docs:
        notes = "\n".join([head, ""] + skipped)
        for path, table in ((ROOT / "README.md", summary), (ROOT / "docs" / "accuracy.md", detail)):
            path.write_text(replace_marked(path.read_text(), "\n".join([notes, ""] + table)))
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
