"""Where the default backend's crowd part accuracy is lost: the diagnostics behind docs/accuracy.md's
"what limits them".

Usage: .venv/bin/python bench/crowds_diag.py [--backend lite] [--targets train-out/targets-cihp-bag]
                                             [--scales 1,2,3,4] [--close-ups 1,0.3,0.2] [--only 1,2,3,4,5]

Prints, for one backend configuration (``name:key=value``, as ``bench/crowds_val.py``):

1. **Confusions on cihp_val** (``../shared/data/cihp_val``, validation only): each CIHP-20 class's IoU,
   its annotated and predicted pixels, and where its annotated pixels went (the row of the confusion
   matrix). Same numbers as ``humanparse eval --label-set cihp``.
2. **Left/right swap oracle**: the CIHP-20 mIoU if each predicted person's left/right classes were
   swapped whenever that matches the annotation better, i.e. the most a perfect "which way does this
   person face" rule could add.
3. **Resolution** (needs ``--targets``, the teacher targets ``make train`` builds): the 101 CCP
   validation photos through the whole backend after shrinking them 1/s for each ``--scales`` s,
   scored against the ``cihp-bag`` targets (CIHP-20 + bag mIoU, person IoU). Says how much of the gap
   a crowd's small, blurred people explain on their own.
4. **Class shares** (needs ``--targets``): each class's share of person pixels in the CCP train split
   (the targets) and in cihp_val's annotation: the class prior the network learnt against the one it
   meets.
5. **Close-ups** (needs ``--targets``; ``--close-ups 1,0.3,0.2``): the CCP validation photos cut below
   the top fraction f of their person (the photo ends there: head-and-shoulders framings, as a webcam
   or the people nearest the camera in a crowd), through the whole backend, per-class IoU of the
   classes still present.

Reads only cihp_val and the CCP train/validation split (never the test split, multi_person or
lip_samples). Takes ~1 min for 1-2 and ~1 min per scale or fraction on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from crowds_val import parse_config  # noqa: E402

from humanparse.backends import get_backend  # noqa: E402
from humanparse.eval.confusion import ConfusionAccumulator  # noqa: E402
from humanparse.eval.datasets import read_label_map  # noqa: E402
from humanparse.eval.metrics import class_iou, person_iou  # noqa: E402
from humanparse.io.image import load_image  # noqa: E402
from humanparse.labels import IGNORE, get_label_set  # noqa: E402
from humanparse.labels.flip import flip_lut  # noqa: E402
from humanparse.paths import shared_data_dir  # noqa: E402
from humanparse.train.data import ccp_ids  # noqa: E402


def cihp_val(backend, data: Path) -> None:
    cihp = get_label_set("cihp")
    k = len(cihp)
    swap = flip_lut("cihp")
    plain, oracle = ConfusionAccumulator(k), ConfusionAccumulator(k)
    swapped = persons = 0
    for image in sorted((data / "cihp_val/images").glob("*.png")):
        p = backend.predict(load_image(image)).to_label_set("cihp")
        gt = read_label_map(data / "cihp_val/labels" / image.name, cihp)
        plain.update(gt, p.labels)
        best = p.labels.copy()
        for pid in np.unique(p.instances)[1:]:
            m = (p.instances == pid) & (gt != IGNORE)
            persons += 1
            if (gt[m] == swap[p.labels[m]]).sum() > (gt[m] == p.labels[m]).sum():
                best[p.instances == pid] = swap[p.labels[p.instances == pid]]
                swapped += 1
        oracle.update(gt, best)
    plain, oracle = plain.matrix, oracle.matrix
    iou = 100 * class_iou(plain)
    print(f"## cihp_val confusions: CIHP-20 mIoU {np.nanmean(iou):.1f}, person IoU {100 * person_iou(plain):.1f}\n")
    print("| class | IoU | annotated px | predicted px | annotated pixels predicted as |")
    print("|---|---|---|---|---|")
    for c, name in enumerate(cihp.classes):
        row = plain[c, :k]
        top = ", ".join(f"{cihp.classes[j]} {100 * row[j] / max(row.sum(), 1):.0f} %" for j in np.argsort(-row)[:4])
        print(f"| {name} | {iou[c]:.1f} | {row.sum()} | {plain[:, c].sum()} | {top} |")
    print(f"\n## Left/right swap oracle: CIHP-20 mIoU {np.nanmean(iou):.2f} -> "
          f"{100 * np.nanmean(class_iou(oracle)):.2f} ({swapped} of {persons} persons swapped)\n")


def resolution(backend, data: Path, targets: Path, scales: list[float]) -> None:
    k = len(get_label_set("cihp-bag"))
    print("## CCP validation through the whole backend at reduced resolution (teacher targets, CIHP-20 + bag)\n")
    print("| scale | mIoU | person IoU |")
    print("|---|---|---|")
    ids = ccp_ids(data / "ccp", "val")
    for s in scales:
        acc = ConfusionAccumulator(k)
        for i in ids:
            im = Image.fromarray(load_image(data / "ccp/images" / f"{i}.jpg"))
            w, h = im.size
            small = im if s == 1 else im.resize((round(w / s), round(h / s)), Image.BILINEAR)
            labels = backend.predict(np.asarray(small)).labels
            labels = np.asarray(Image.fromarray(labels).resize((w, h), Image.NEAREST))
            acc.update(np.asarray(Image.open(targets / f"{i}.png")), labels)
        m = acc.matrix
        print(f"| 1/{s:g} | {100 * np.nanmean(class_iou(m)):.1f} | {100 * person_iou(m):.1f} |", flush=True)
    print()


def class_shares(data: Path, targets: Path) -> None:
    names = get_label_set("cihp-bag").classes
    ccp = np.zeros(len(names))
    for i in ccp_ids(data / "ccp", "train"):
        t = np.asarray(Image.open(targets / f"{i}.png"))
        ccp += np.bincount(t[t != IGNORE], minlength=len(names))[:len(names)]
    val = np.zeros(len(names))
    for f in sorted((data / "cihp_val/labels").glob("*.png")):
        t = np.asarray(Image.open(f))
        val += np.bincount(t[t != IGNORE], minlength=len(names))[:len(names)]
    print("## Share of person pixels per class: CCP train targets against cihp_val annotation\n")
    print("| class | CCP train % | cihp_val % | ratio |")
    print("|---|---|---|---|")
    for c in range(1, len(names)):
        a, b = 100 * ccp[c] / ccp[1:].sum(), 100 * val[c] / val[1:].sum()
        print(f"| {names[c]} | {a:.1f} | {b:.1f} | {a / b:.1f} |" if b else f"| {names[c]} | {a:.1f} | {b:.1f} | - |")
    print()


def close_ups(backend, data: Path, targets: Path, fractions: list[float]) -> None:
    names = get_label_set("cihp-bag").classes
    k = len(names)
    shown = ("face", "hair", "torso-skin", "upper-clothes", "coat", "left-arm", "right-arm")
    print("## CCP validation cut below the top f of each person (teacher targets, CIHP-20 + bag)\n")
    print("| f | mIoU of present classes | person IoU | " + " | ".join(shown) + " |")
    print("|---" * (3 + len(shown)) + "|")
    for f in fractions:
        acc = ConfusionAccumulator(k)
        for i in ccp_ids(data / "ccp", "val"):
            target = np.asarray(Image.open(targets / f"{i}.png"))
            rows = np.nonzero(((target != 0) & (target != IGNORE)).any(1))[0]
            cut = int(rows[0] + f * (rows[-1] - rows[0])) + 1
            image = np.ascontiguousarray(load_image(data / "ccp/images" / f"{i}.jpg")[:cut])
            acc.update(target[:cut], backend.predict(image).labels)
        m = acc.matrix
        iou = 100 * class_iou(m)
        cells = " | ".join(f"{iou[names.index(n)]:.0f}" for n in shown)
        print(f"| {f:g} | {np.nanmean(iou):.1f} | {100 * person_iou(m):.1f} | {cells} |", flush=True)
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="lite")
    ap.add_argument("--targets", type=Path, help="teacher targets folder (train-out/targets-cihp-bag)")
    ap.add_argument("--scales", default="1,2,3,4")
    ap.add_argument("--close-ups", default="1,0.6,0.4,0.3,0.2", help="fractions f of section 5")
    ap.add_argument("--only", default="1,2,3,4,5", help="sections to run")
    args = ap.parse_args()
    data = shared_data_dir()
    if data is None:
        print("../shared/data not found: nothing to measure")
        return 1
    name, opts = parse_config(args.backend)
    backend = get_backend(name, **opts)
    only = set(args.only.split(","))
    if only & {"1", "2"}:
        cihp_val(backend, data)
    if args.targets is None:
        print("(--targets not given: sections 3-5 skipped)")
    else:
        if "3" in only:
            resolution(backend, data, args.targets, [float(s) for s in args.scales.split(",")])
        if "4" in only:
            class_shares(data, args.targets)
        if "5" in only:
            close_ups(backend, data, args.targets, [float(f) for f in args.close_ups.split(",")])
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
