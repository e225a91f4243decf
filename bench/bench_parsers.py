"""Latency of the offline backends side by side (``lite``, the default, and the rule-based ``mediapipe``),
and (``--eval``) accuracy on the shared CIHP images.

Usage: .venv/bin/python bench/bench_parsers.py [--runs N] [--backends lite,mediapipe] [--photos a.jpg,b.jpg] [--eval] [--ccp N]

Latency: two real photos from ../shared/data/unlabeled_photos, ``office_group.jpg`` (5 people) and
``dog_human.jpg`` and ``jockey.jpg`` (1 person each; :data:`PHOTOS`), each resized to 640 px and 1280 px longest side (without ../shared: the
packaged two-person photo). Per photo and size, each backend gets one warm-up call, then ``--runs``
rounds (default 5) time one call of every backend in turn (interleaved, so machine load hits both
alike). Prints median wall-clock ms, images/s and median CPU ms of this process.

``--eval``: on ../shared/data/multi_person (6 CIHP images, 2-7 persons), CIHP-20 pixel accuracy and mIoU
(classes present in the ground truth, background included; confusion summed over all images, see
:mod:`humanparse.eval.metrics`), the same for a naive baseline (every pixel of our persons =
upper-clothes), found vs true person counts, and per image the mean over true persons of the best IoU
with a predicted person (true persons from the approximate instance maps in ``instances_approx/``).
``--ccp N``: coarse-class pixel accuracy and mIoU on the first N photos of ../shared/data/ccp
(``humanparse eval`` is the full, split-aware measurement: docs/accuracy.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


PHOTOS = ("office_group.jpg", "dog_human.jpg", "jockey.jpg")
"""Latency photos (../shared/data/unlabeled_photos): five people; one person beside a dog standing on its
hind legs (YOLOX-Nano takes the dog for a second person); one rider on a horse (one YOLOX person)."""


def _photos(names: tuple[str, ...] = PHOTOS) -> list[tuple[str, np.ndarray]]:
    from humanparse.io.image import load_image
    from humanparse.paths import shared_data_dir

    root = shared_data_dir()
    out = []
    for name in names:
        path = root / "unlabeled_photos" / "images" / name if root else None
        if path is not None and path.is_file():
            out.append((name, load_image(path)))
    if out:
        return out
    from humanparse.samples import two_person_photo

    return [("astronaut+grace_hopper", two_person_photo())]


def _resize(img: np.ndarray, longest: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = longest / max(h, w)
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


def latency(backends: dict, runs: int, photos: tuple[str, ...] = PHOTOS) -> None:
    print(f"latency, backends side by side (warm-up 1, {runs} interleaved rounds; median)")
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'photo':>22} {'size':>11} {'backend':>10} {'persons':>7} {'median ms':>10} {'img/s':>6} {'cpu ms':>7}")
    for name, img in _photos(photos):
        for longest in (640, 1280):
            x = _resize(img, longest)
            n = {k: len(b.predict(x)) for k, b in backends.items()}  # warm-up
            times = {k: [] for k in backends}
            cpu = {k: [] for k in backends}
            for _ in range(runs):
                for k, b in backends.items():
                    t, c = time.perf_counter(), time.process_time()
                    b.predict(x)
                    times[k].append(time.perf_counter() - t)
                    cpu[k].append(time.process_time() - c)
            for k in backends:
                med = statistics.median(times[k])
                print(f"{name:>22} {x.shape[1]:>5}x{x.shape[0]:<5} {k:>10} {n[k]:>7} {med * 1000:>10.0f} "
                      f"{1 / med:>6.2f} {statistics.median(cpu[k]) * 1000:>7.0f}")


def _best_iou(person: np.ndarray, instances: np.ndarray) -> float:
    """Largest IoU between one true person mask and any predicted person of ``instances``."""
    best = 0.0
    for k in np.unique(instances[person]):
        if k:
            pred = instances == k
            best = max(best, float((person & pred).sum() / (person | pred).sum()))
    return best


def evaluate(backend) -> None:
    from PIL import Image

    from humanparse.eval.confusion import confusion_matrix
    from humanparse.eval.metrics import class_iou, mean_iou, pixel_accuracy
    from humanparse.io.image import load_image
    from humanparse.labels import get_label_set
    from humanparse.paths import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / "multi_person").is_dir():
        print("--eval: ../shared/data/multi_person not found; skipped")
        return
    ls = get_label_set("cihp")
    k = len(ls)
    truth = {"0000002": 2, "0002190": 2, "0005008": 7, "0012008": 3, "0026375": 3, "0032190": 2}
    ours = np.zeros((k, k + 1), np.int64)
    naive = np.zeros_like(ours)
    print(f"\nCIHP-20 on {root / 'multi_person'}")
    print(f"{'image':>8} {'persons':>7} {'truth':>5} {'pix.acc':>7} {'inst.IoU':>9}")
    inst_ious: list[float] = []
    for stem, n in truth.items():
        img = load_image(root / "multi_person" / "images" / f"{stem}.jpg")
        gt = np.asarray(Image.open(root / "multi_person" / "labels" / f"{stem}.png"))
        p = backend.predict(img)
        m = confusion_matrix(gt, p.labels, k)
        ours += m
        naive += confusion_matrix(gt, np.where(p.labels > 0, ls.index("upper-clothes"), 0), k)
        inst_path = root / "multi_person" / "instances_approx" / f"{stem}.png"
        best = ""
        if inst_path.is_file():
            gi = np.asarray(Image.open(inst_path))
            ious = [_best_iou(gi == g, p.instances) for g in np.unique(gi) if g]
            inst_ious += ious
            best = f"{np.mean(ious):>9.3f}"
        print(f"{stem:>8} {len(p):>7} {n:>5} {pixel_accuracy(m):>7.3f} {best}")
    print(f"ours : pixel accuracy {pixel_accuracy(ours):.3f}  mIoU {mean_iou(ours):.3f}")
    print(f"naive: pixel accuracy {pixel_accuracy(naive):.3f}  mIoU {mean_iou(naive):.3f}  (person = upper-clothes)")
    print(f"mean best-match IoU of the {len(inst_ious)} true persons (instances_approx): {np.mean(inst_ious):.3f}")
    iou = class_iou(ours)
    print("per-class IoU: " + ", ".join(f"{c} {v:.2f}" for c, v in zip(ls.classes, iou) if not np.isnan(v)))


def evaluate_ccp(backend, n: int) -> None:
    """Coarse-class scores on the first ``n`` single-person CCP fashion photos (both sides mapped to
    the ``coarse`` label set: hair, face, skin, upper-/lower-/full-body clothes, shoes, accessories)."""
    from PIL import Image

    from humanparse.eval.confusion import confusion_matrix
    from humanparse.eval.metrics import class_iou, mean_iou, pixel_accuracy
    from humanparse.io.image import load_image
    from humanparse.labels import get_label_set, map_labels
    from humanparse.paths import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / "ccp" / "images").is_dir():
        print("--ccp: ../shared/data/ccp not found; skipped")
        return
    coarse = get_label_set("coarse")
    k = len(coarse)
    total = np.zeros((k, k + 1), np.int64)
    counts = []
    for path in sorted((root / "ccp" / "images").glob("*.jpg"))[:n]:
        p = backend.predict(load_image(path))
        counts.append(len(p))
        gt = map_labels(np.asarray(Image.open(root / "ccp" / "labels" / f"{path.stem}.png")), "ccp", "coarse")
        pred = map_labels(p.labels, "cihp", "coarse")
        pred[pred == coarse.index("face")] = coarse.index("skin")  # CCP has no face class
        total += confusion_matrix(gt, pred, k)
    print(f"\nCCP (coarse classes, {len(counts)} photos; CCP labels only the main person and has no face "
          f"class, so our face counts as skin)")
    print(f"persons found per photo: {dict(zip(*np.unique(counts, return_counts=True)))}")
    print(f"pixel accuracy {pixel_accuracy(total):.3f}  mIoU {mean_iou(total):.3f}")
    iou = class_iou(total)
    print("per-class IoU: " + ", ".join(f"{c} {v:.2f}" for c, v in zip(coarse.classes, iou) if not np.isnan(v)))


def _value(text: str):
    """A command-line option value as int, float or text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="timed rounds per photo and size (default 5)")
    ap.add_argument("--backends", default="lite,lite:persons=pose,mediapipe",
                    help="comma-separated backends, each NAME or NAME:OPTION=VALUE[:OPTION=VALUE] (values: int, "
                         "float or text; e.g. lite:flip=1, lite:persons=pose = the previous release's path); "
                         "default lite,lite:persons=pose,mediapipe")
    ap.add_argument("--photos", default=",".join(PHOTOS),
                    help=f"comma-separated latency photos of ../shared/data/unlabeled_photos (default {','.join(PHOTOS)})")
    ap.add_argument("--eval", action="store_true", help="also score the shared CIHP images")
    ap.add_argument("--ccp", type=int, default=0, metavar="N", help="also score the first N CCP photos")
    args = ap.parse_args()
    import humanparse

    backends = {}
    for spec in args.backends.split(","):
        name, *opts = spec.split(":")
        backends[spec] = humanparse.get_backend(name, **{k: _value(v) for k, v in (o.split("=") for o in opts)})
    latency(backends, max(1, args.runs), tuple(p.strip() for p in args.photos.split(",") if p.strip()))
    for k, b in backends.items():
        if args.eval or args.ccp:
            print(f"\n--- accuracy of {k}")
        if args.eval:
            evaluate(b)
        if args.ccp > 0:
            evaluate_ccp(b, args.ccp)


if __name__ == "__main__":
    main()
