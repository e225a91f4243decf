"""Every accuracy measurement of docs/accuracy.md, for several backends side by side.

Usage: .venv/bin/python bench/accuracy.py [--backends lite,mediapipe] [--out eval-out] [--bodypix]

Runs ``humanparse eval`` (one process per run; predictions cached in OUT/<set>/predictions/<backend>)
on ../shared/data:
* ``ccp_test``: CCP's test split (photo number divisible by 5; never used in training), coarse classes
  (face folded into skin), with the ITA fairness report;
* ``ccp_test_cihp``: the same photos in the CIHP classes CCP can judge (CCP's skin, hosiery and shoes are
  ignored: they need a body side CCP does not label);
* ``mp`` / ``mp_coarse``: multi_person (6 CIHP photos) in CIHP-20 and coarse, with APr;
* ``lip``: lip_samples in CIHP-20;
* ``cihp_val``: the 32 real CIHP crowd photos of ../shared/data/cihp_val in CIHP-20 (a **validation**
  set: the lite backend's detection and composition settings were chosen on it, so its figures are not
  an independent test; listed beside the others because it is the crowd set the settings were made for).
``--bodypix``: BodyPix 2.0 alone (../shared/models/bodypix) as a peer on multi_person, on the body-part
classes it has (face, torso-skin, arms, legs; :func:`bodypix_peer`).
Then prints one markdown summary table (also written to OUT/summary.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNS = {
    "ccp_test": ("ccp/images", "ccp/labels", "ccp", None, ["--split", "test", "--map", "coarse", "--fairness"]),
    "ccp_test_cihp": ("ccp/images", "ccp/labels", "ccp", None, ["--split", "test", "--map", "cihp", "--merge", "none"]),
    "mp": ("multi_person/images", "multi_person/labels", "cihp", "multi_person/instances_approx", ["--fairness"]),
    "mp_coarse": ("multi_person/images", "multi_person/labels", "cihp", "multi_person/instances_approx",
                  ["--map", "coarse"]),
    "lip": ("lip_samples/images", "lip_samples/labels", "lip", None, ["--map", "cihp"]),
    "cihp_val": ("cihp_val/images", "cihp_val/labels", "cihp", None, []),
}


def run(backend: str, name: str, data: Path, out: Path) -> dict:
    images, labels, label_set, instances, extra = RUNS[name]
    cmd = [str(ROOT / ".venv" / "bin" / "humanparse"), "eval", "--images", str(data / images), "--labels",
           str(data / labels), "--label-set", label_set, "--backend", backend, "-o", str(out / name / backend),
           "--quiet", *extra]
    if instances:
        cmd += ["--instances", str(data / instances)]
    print("$ " + " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads((out / name / backend / "metrics.json").read_text())


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def summary_rows(results: dict) -> list[str]:
    head = ("| set | backend | images | comparison | pixel acc. | mIoU | person IoU | skin IoU | "
            "APr@0.5 (persons) | s/image |")
    rows = [head, "|---" * (head.count("|") - 1) + "|"]
    for (name, backend), m in results.items():
        inst = m.get("instances", {}).get("human", {})
        rows.append(f"| {name} | {backend} | {m['images']} | {m['comparison']['comparison_set']} | "
                    f"{_pct(m['pixel_accuracy'])} | {_pct(m['miou'])} | {_pct(m['person_iou'])} | "
                    f"{_pct(m.get('skin_iou'))} | {_pct(inst.get('apr_50'))} | "
                    f"{m['timing']['seconds_per_image_mean'] or 0:.2f} |")
    return rows


def bodypix_peer(data: Path) -> dict:
    """BodyPix 2.0 alone on multi_person: its person mask (logit > 0) and 24 parts folded into
    face / torso-skin / left-right arm / left-right leg (:data:`humanparse.train.targets.BODY_PART_TO_CIHP`),
    compared with the ground truth on those six classes only (every other ground-truth class and the
    background are ignored; a body-part pixel predicted where the truth is clothing counts as a false
    positive of that part). Returns per-class IoU and their mean, in percent."""
    import numpy as np
    from PIL import Image

    from humanparse.labels import get_label_set
    from humanparse.train.targets import BODY_LUT
    from humanparse.train.teacher import BodyPixTeacher

    cihp = get_label_set("cihp")
    classes = ["face", "torso-skin", "left-arm", "right-arm", "left-leg", "right-leg"]
    ids = [cihp.index(c) for c in classes]
    teacher = BodyPixTeacher()
    inter = np.zeros(len(ids))
    union = np.zeros(len(ids))
    for img_path in sorted((data / "multi_person" / "images").glob("*.jpg")):
        img = np.asarray(Image.open(img_path).convert("RGB"))
        gt = np.asarray(Image.open(data / "multi_person" / "labels" / f"{img_path.stem}.png"))
        logits = teacher.part_logits(img)
        person = teacher.person_logit(img) > 0
        pred = np.where(person, BODY_LUT[logits.argmax(-1)], 0)
        for j, k in enumerate(ids):
            p, g = pred == k, gt == k
            inter[j] += (p & g).sum()
            union[j] += (p | g).sum()
    iou = 100 * inter / np.maximum(union, 1)
    return {"classes": dict(zip(classes, np.round(iou, 1).tolist())), "mean": round(float(iou.mean()), 1)}


def main_person_iou(pred_dir: Path, labels_dir: Path) -> dict:
    """CCP person IoU without the bystanders' false positives: false-positive person pixels of any found
    person other than each photo's **main** one (the found person overlapping the annotated one most) are
    not counted; everything else as person IoU. From a ``humanparse eval`` prediction cache.

    CCP annotates one person per photo; the bystanders a multi-person parser also finds are false
    positives there. This separates that from how well the annotated person is segmented.

    Returns:
        ``{"photos", "with_more_persons", "person_iou", "main_person_iou", "bystander_fp_share"}``:
        IoUs in %, pooled over the photos; the share (%) of false-positive person pixels that belong to
        a person other than the main one.
    """
    import numpy as np
    from PIL import Image

    tp = fp = fn = fp_other = photos = multi = 0
    for f in sorted(pred_dir.glob("*.labels.png")):
        sid = f.name.split(".")[0]
        truth = np.asarray(Image.open(labels_dir / f"{sid}.png")) > 0
        pred = np.asarray(Image.open(f)) > 0
        inst = np.asarray(Image.open(pred_dir / f"{sid}.instances.png"))
        ids, counts = np.unique(inst[truth & pred], return_counts=True)
        main = ids[np.argmax(counts)] if len(ids) else -1
        photos += 1
        multi += len(np.unique(inst[inst > 0])) > 1
        tp += int((truth & pred).sum())
        fp += int((pred & ~truth).sum())
        fn += int((truth & ~pred).sum())
        fp_other += int((pred & ~truth & (inst != main)).sum())
    return {"photos": photos, "with_more_persons": multi, "person_iou": 100 * tp / max(tp + fp + fn, 1),
            "main_person_iou": 100 * tp / max(tp + fp - fp_other + fn, 1),
            "bystander_fp_share": 100 * fp_other / max(fp, 1)}


def main_person_only(pred_dir: Path, data: Path) -> dict:
    """CCP test scores with every found person but each photo's **main** one (the one overlapping the
    annotated person most) set to background, from a ``humanparse eval`` prediction cache: what the
    backend would score if it found only the annotated person. Scored by
    :func:`humanparse.eval.runner.evaluate` in the ``coarse`` comparison, as the ``ccp_test`` run.

    Returns:
        ``{"miou", "person_iou"}`` in %.
    """
    import numpy as np
    from PIL import Image

    from humanparse.cli.eval import select_split
    from humanparse.eval.datasets import find_samples
    from humanparse.eval.metrics import mean_iou, person_iou
    from humanparse.eval.runner import evaluate
    from humanparse.parsing import Parsing

    samples = select_split(find_samples(data / "ccp" / "images", data / "ccp" / "labels"), "test")
    label_set = json.loads(next(pred_dir.glob("*.json")).read_text())["label_set"]
    order = iter(samples)          # evaluate() predicts the samples in this order

    class MainOnly:
        name = "main-only"

        def __init__(self) -> None:
            self.label_set = label_set

        def info(self) -> dict:
            return {"name": self.name, "predictions": str(pred_dir)}

        def predict(self, image: np.ndarray) -> Parsing:
            sample = next(order)
            labels = np.array(Image.open(pred_dir / f"{sample.id}.labels.png"), np.uint8)
            inst = np.array(Image.open(pred_dir / f"{sample.id}.instances.png")).astype(np.uint16)
            truth = np.asarray(Image.open(sample.labels)) > 0
            ids, counts = np.unique(inst[truth & (labels > 0)], return_counts=True)
            main = ids[np.argmax(counts)] if len(ids) else 0
            labels[inst != main] = 0
            inst[inst != main] = 0
            return Parsing.from_maps(labels, inst, label_set)

    res = evaluate(samples, "ccp", MainOnly(), "coarse")
    return {"miou": 100 * float(mean_iou(res.matrix)), "person_iou": 100 * float(person_iou(res.matrix))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="lite,mediapipe")
    ap.add_argument("--out", type=Path, default=ROOT / "eval-out")
    ap.add_argument("--sets", default=",".join(RUNS), help=f"comma-separated subset of {', '.join(RUNS)}")
    ap.add_argument("--bodypix", action="store_true", help="also measure BodyPix alone on multi_person")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from humanparse.paths import shared_data_dir

    data = shared_data_dir()
    if data is None:
        print("../shared/data not found: nothing to measure")
        return 1
    results = {}
    for name in args.sets.split(","):
        for backend in args.backends.split(","):
            results[(name, backend)] = run(backend, name, data, args.out)
    lines = summary_rows(results)
    if args.bodypix:
        peer = bodypix_peer(data)
        lines += ["", "BodyPix 2.0 alone on multi_person, body-part classes (IoU %): "
                  + ", ".join(f"{k} {v}" for k, v in peer["classes"].items()) + f"; mean {peer['mean']}"]
        for backend in args.backends.split(","):
            m = results.get(("mp", backend))
            if m:
                per = {c["name"]: c["iou"] for c in m["per_class"]}
                vals = [per.get(k) for k in peer["classes"]]
                vals = [v for v in vals if v is not None]
                lines.append(f"{backend} on the same six classes (from the mp run): "
                             + ", ".join(f"{k} {_pct(per.get(k))}" for k in peer["classes"])
                             + f"; mean {100 * sum(vals) / max(len(vals), 1):.1f}")
    for backend in args.backends.split(","):
        cache = args.out / "ccp_test" / backend / "predictions" / backend
        if ("ccp_test", backend) in results and cache.is_dir():
            m = main_person_iou(cache, data / "ccp" / "labels")
            lines.append(f"CCP test, {backend}: {m['with_more_persons']} of {m['photos']} photos with more than one "
                         f"person found; person IoU {m['person_iou']:.1f} %, without the other persons' false positives "
                         f"{m['main_person_iou']:.1f} % ({m['bystander_fp_share']:.0f} % of the false-positive person "
                         "pixels are other persons: bystanders CCP leaves unannotated)")
            m = main_person_only(cache, data)
            lines.append(f"CCP test, {backend}, the other persons set to background: coarse mIoU {m['miou']:.1f} %, "
                         f"person IoU {m['person_iou']:.1f} %")
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
