"""The ``lite`` backend on synthetic group photos made from CCP **validation** photos.

Usage: .venv/bin/python bench/groups_val.py [--scenes 40] [--weights FILE] [--flip 0,1] [--floors 0.05,0]
                                           [--powers 1] [--taus 0] [--targets DIR] [--ccp-val]
                                           [--crowd] [--peer mediapipe]

CCP photos hold one person each, so person separation is measured on scenes of 2-4 validation-split
people laid side by side, overlapping (:func:`humanparse.train.groups.group_scene`; ground truth =
the CIHP training targets, i.e. CCP mapped to CIHP with the BodyPix teacher's body-part split, from
``train-out/targets-cihp-bag`` as ``make train`` leaves them). For each setting compared (``--flip``, and the
composition constants ``lite.MASK_FLOOR`` / ``lite.FG_POWER`` via ``--floors`` / ``--powers``) it prints CIHP-20 + bag mIoU (classes present), person IoU and APr@0.5 / APr_vol of
persons, with the same detections. ``--crowd`` makes denser scenes instead: 4-7 people, 200-360 px
high, overlapping 20-70 %, sizes 0.5-1.0 (closer to group photos of small, occluded people);
``--taus`` compares :data:`lite.SKELETON_TAU` values, ``--margins`` :data:`lite.BOX_MARGIN` values; ``--peer mediapipe`` also scores the rule-based
backend on the same scenes. With ``--ccp-val`` also coarse mIoU (face folded into skin) and
person IoU of the whole backend on the 101 CCP validation photos (as ``humanparse eval --split val``
computes them). This is where the pose path's composition was chosen (docs/training-log.md,
runs 3-7); the YOLOX path of today's default is chosen on real crowd photos instead
(``bench/crowds_val.py``, docs/backend-lite.md); the test split, multi_person and lip_samples are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from PIL import Image

from humanparse.backends.lite import backend as lite
from humanparse.eval.confusion import confusion_matrix
from humanparse.eval.instances import average_precision, match_instances
from humanparse.eval.metrics import mean_iou, person_iou
from humanparse.paths import shared_data_dir
from humanparse.train.data import ccp_ids
from humanparse.train.groups import group_scene
from humanparse.train.targets import CLASSES

ROOT = Path(__file__).resolve().parents[1]


def scenes(root: Path, targets: Path, n: int, seed: int = 0, crowd: bool = False):
    """``n`` scenes of 2-4 validation photos each (``crowd``: 4-7, denser), fixed by ``seed``."""
    ids = ccp_ids(root, "val")
    rng = np.random.default_rng(seed)
    for _ in range(n):
        k = int(rng.integers(4, 8) if crowd else rng.integers(2, 5))
        pick = [ids[i] for i in rng.choice(len(ids), k, replace=False)]
        photos = [(i, np.asarray(Image.open(root / "images" / f"{i}.jpg").convert("RGB")),
                   np.asarray(Image.open(targets / f"{i}.png"))) for i in pick]
        if crowd:
            yield group_scene(photos, rng, height=int(rng.integers(200, 361)), overlap=(0.2, 0.7), sizes=(0.5, 1.0))
        else:
            yield group_scene(photos, rng, height=int(rng.integers(300, 481)))


def memoise_detection() -> None:
    """Detect the persons of each scene once: the variants compared differ only after detection."""
    import hashlib

    detect, memo = lite.detect_persons, {}

    def cached(detector, work, *args):
        key = hashlib.sha1(work.tobytes()).hexdigest() + repr(args)
        if key not in memo:
            memo[key] = detect(detector, work, *args)
        return memo[key]

    lite.detect_persons = cached


def score(results) -> dict:
    """mIoU (classes in the ground truth), person IoU and persons' APr, in percent, over
    ``[(GroupScene, Parsing)]``; pixels labelled 255 (jewellery, belts) are left out of all of them.
    The scenes are in ``cihp-bag``; a 20-class (``cihp``) prediction is scored as is (it has no bag)."""
    conf = sum(confusion_matrix(scene.labels, p.labels, CLASSES) for scene, p in results)
    records = [match_instances(scene.instances, p.instances, [q.score for q in p.persons], valid=scene.labels != 255)
               for scene, p in results]
    ap = average_precision(records)
    return {"miou": 100 * mean_iou(conf), "person_iou": 100 * person_iou(conf),
            "apr50": 100 * (ap["apr_50"] or 0), "apr_vol": 100 * (ap["apr_vol"] or 0)}


def ccp_val(root: Path, backend) -> dict:
    """Coarse mIoU and person IoU (percent) of ``backend`` on the CCP validation photos."""
    from humanparse.cli.eval import select_split
    from humanparse.eval.datasets import find_samples
    from humanparse.eval.runner import evaluate

    r = evaluate(select_split(find_samples(root / "images", root / "labels"), "val"), "ccp", backend, target="coarse")
    return {"val_miou": 100 * mean_iou(r.matrix), "val_person_iou": 100 * person_iou(r.matrix)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--targets", default=str(ROOT / "train-out" / "targets-cihp-bag"),
                    help="cached training targets (humanparse train writes them)")
    ap.add_argument("--flip", default="0,1", help="comma list of flip settings to compare (0, 1)")
    ap.add_argument("--floors", default=str(lite.MASK_FLOOR),
                    help="comma list of mask floors to compare (lite.MASK_FLOOR: 0 = owner by pose mask x "
                         "network, 1 = owner by the network alone)")
    ap.add_argument("--powers", default=str(lite.FG_POWER), help="comma list of lite.FG_POWER values to compare")
    ap.add_argument("--taus", default=str(lite.SKELETON_TAU), help="comma list of lite.SKELETON_TAU values to compare")
    ap.add_argument("--margins", default=str(lite.BOX_MARGIN),
                    help="comma list of lite.BOX_MARGIN values (crop enlargement around the person box) to compare")
    ap.add_argument("--blends", default=str(lite.MASK_BLEND),
                    help="comma list of lite.MASK_BLEND values (pose mask weight in the foreground decision) to compare")
    ap.add_argument("--ccp-val", action="store_true", help="also score the CCP validation photos (coarse)")
    ap.add_argument("--crowd", action="store_true", help="denser scenes: 4-7 people, smaller, more overlap")
    ap.add_argument("--peer", default="", help="also score this backend (e.g. mediapipe) on the same scenes")
    ap.add_argument("--persons", default="pose", choices=["pose", "yolox"],
                    help="person finder of the lite backend (default pose: the constants swept here belong to "
                         "the previous release's pose path; the YOLOX path is chosen on cihp_val, bench/crowds_val.py)")
    args = ap.parse_args()
    data = shared_data_dir()
    if data is None:
        raise SystemExit("../shared/data is absent: nothing to measure")
    root, targets = data / "ccp", Path(args.targets)
    if not targets.is_dir():
        raise SystemExit(f"{targets}: no CIHP targets (run make train first, which caches them there)")
    all_scenes = list(scenes(root, targets, args.scenes, crowd=args.crowd))
    print(f"{len(all_scenes)} scenes, {sum(int(s.instances.max()) for s in all_scenes)} persons")
    defaults = (lite.MASK_FLOOR, lite.FG_POWER, lite.SKELETON_TAU, lite.BOX_MARGIN, lite.MASK_BLEND)
    memoise_detection()
    if args.peer:
        import humanparse

        peer = humanparse.get_backend(args.peer)
        m = score([(s, peer.predict(s.image)) for s in all_scenes])
        print(f"{args.peer}: mIoU {m['miou']:.1f} %  person IoU {m['person_iou']:.1f} %  "
              f"APr@0.5 {m['apr50']:.1f} %  APr_vol {m['apr_vol']:.1f} %", flush=True)
        peer.close()
    for flip in args.flip.split(","):
        b = lite.LiteBackend(weights=args.weights, flip=bool(int(flip)), persons=args.persons)
        for floor, power, tau, margin, blend in itertools.product(
                args.floors.split(","), args.powers.split(","), args.taus.split(","), args.margins.split(","),
                args.blends.split(",")):
            lite.MASK_FLOOR, lite.FG_POWER, lite.SKELETON_TAU = float(floor), float(power), float(tau)
            lite.BOX_MARGIN, lite.MASK_BLEND = float(margin), float(blend)
            t = time.perf_counter()
            res = [(s, b.predict(s.image)) for s in all_scenes]
            m = score(res)
            if args.ccp_val:
                m.update(ccp_val(root, b))
            print(f"flip={flip} mask floor={floor} fg power={power} tau={tau} margin={margin} blend={blend}: mIoU {m['miou']:.1f} %  person IoU {m['person_iou']:.1f} %  "
                  f"APr@0.5 {m['apr50']:.1f} %  APr_vol {m['apr_vol']:.1f} %"
                  + (f"  | CCP val coarse mIoU {m['val_miou']:.1f} %  person IoU {m['val_person_iou']:.1f} %"
                     if args.ccp_val else "") + f"  ({time.perf_counter() - t:.0f} s)",
                  flush=True)
        b.close()
    lite.MASK_FLOOR, lite.FG_POWER, lite.SKELETON_TAU, lite.BOX_MARGIN, lite.MASK_BLEND = defaults


if __name__ == "__main__":
    main()
