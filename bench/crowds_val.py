"""Validation of person finding and composition on real crowds, beside CCP validation.

Usage: .venv/bin/python bench/crowds_val.py [--configs lite lite:persons=pose lite:score_threshold=0.2 ...]
                                           [--sets cihp_val,ccp_val] [--set-const 'NAME=V[;V...]' ...]

For each backend configuration (``name:key=value,key=value``; values parsed as Python literals) it
prints, in one run on the same photos, what ``humanparse eval`` computes:

* ``cihp_val`` (``../shared/data/cihp_val``: 32 real CIHP crowd photos, CIHP-20, 255 = ignore): CIHP-20
  mIoU, person IoU, and the number of photos where nobody was found;
* ``ccp_val`` (the 101 CCP **validation** photos, one person each): coarse mIoU (face folded into
  skin, as the README's CCP rows) and person IoU.

This is where the ``lite`` backend's detection threshold, crop margin and composition were chosen
(docs/backend-lite.md, docs/training-log.md). It never reads the CCP test split, ``multi_person`` or
``lip_samples``: those are scored by ``bench/accuracy.py`` once a choice is made. ``--set-const``
sweeps a module constant of :mod:`humanparse.backends.lite.backend`, ``.compose`` or
:mod:`humanparse.persons.yolox` that is not an option
(``--set-const 'CENTRE_SIGMA=0.4;0.6'``, ``--set-const "PART_BIAS={'dress': -1.0}"``): every configuration
runs once per combination of values.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from humanparse.backends import get_backend  # noqa: E402
from humanparse.backends.lite import backend as lite  # noqa: E402
from humanparse.backends.lite import compose as lite_compose  # noqa: E402
from humanparse.persons import yolox  # noqa: E402
from humanparse.cli.eval import select_split  # noqa: E402
from humanparse.eval.datasets import find_samples  # noqa: E402
from humanparse.eval.metrics import mean_iou, person_iou  # noqa: E402
from humanparse.eval.runner import evaluate  # noqa: E402
from humanparse.paths import shared_data_dir  # noqa: E402

MODULES = (lite, lite_compose, yolox)
"""Where ``--set-const`` looks for a constant, in this order."""

SETS = {
    "cihp_val": ("cihp_val/images", "cihp_val/labels", "cihp", "auto", None),
    "ccp_val": ("ccp/images", "ccp/labels", "ccp", "coarse", "val"),
}


def parse_config(text: str) -> tuple[str, dict]:
    """``"lite:score_threshold=0.2,flip=True"`` -> ``("lite", {"score_threshold": 0.2, "flip": True})``."""
    name, _, rest = text.partition(":")
    opts = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        opts[k] = _literal(v)
    return name, opts


def _literal(text: str):
    """A Python literal (number, dict, ...), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def score(backend, name: str, data: Path) -> dict:
    images, labels, gt_set, target, split = SETS[name]
    samples = find_samples(data / images, data / labels)
    if split:
        samples = select_split(samples, split)
    t0 = time.perf_counter()
    res = evaluate(samples, gt_set, backend, target)
    empty = sum(1 for _, _, _, n in res.per_image if n == 0)
    return {"miou": 100 * float(mean_iou(res.matrix)), "person_iou": 100 * float(person_iou(res.matrix)),
            "empty": empty, "images": res.images, "s": time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["lite"])
    ap.add_argument("--sets", default="cihp_val,ccp_val")
    ap.add_argument("--set-const", action="append", default=[], metavar="NAME=V[;V...]")
    args = ap.parse_args()
    data = shared_data_dir()
    if data is None:
        print("../shared/data not found: nothing to measure")
        return 1
    consts = [(k, [_literal(v) for v in vs.split(";")])
              for k, _, vs in (c.partition("=") for c in args.set_const)]
    for name in (k for k, _ in consts):
        if not any(hasattr(m, name) for m in MODULES):
            ap.error(f"none of {', '.join(m.__name__ for m in MODULES)} has a constant {name}")
    sets = args.sets.split(",")
    header = "| config | " + " | ".join(f"{s} mIoU | {s} person IoU" for s in sets) + " | cihp_val empty |"
    print(header)
    print("|" + "---|" * (2 * len(sets) + 2))
    for text in args.configs:
        name, opts = parse_config(text)
        backend = get_backend(name, **opts)
        for values in itertools.product(*[vs for _, vs in consts]):
            label = text + "".join(f" {k}={v}" for (k, _), v in zip(consts, values))
            for (k, _), v in zip(consts, values):
                setattr(next(m for m in MODULES if hasattr(m, k)), k, v)
            r = {s: score(backend, s, data) for s in sets}
            cells = " | ".join(f"{r[s]['miou']:.1f} | {r[s]['person_iou']:.1f}" for s in sets)
            empty = r["cihp_val"]["empty"] if "cihp_val" in r else "-"
            print(f"| {label} | {cells} | {empty} |", flush=True)
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
