"""A batch run killed at random points three times, then resumed, gives byte-identical outputs.

Writes ``--images`` photos with people (the packaged samples: astronaut, Grace Hopper, the two-person photo,
mirrored and cropped variants) to a temporary folder, runs ``humanparse batch IN -o REF`` once without
interruption, then ``humanparse batch IN -o OUT`` killed with SIGKILL (no clean-up of any kind) at
``--kills`` random moments (seeded: once a random number of output files exists, plus a random part of one
image's time, so kills land mid-image), each time restarted on the same ``OUT``, and finally run to
completion. Passes when every output file under ``OUT`` is byte-identical to ``REF``'s, nothing is
missing or extra, and no temporary (``.humanparse-partial-*``) folder is left.

    .venv/bin/python bench/bench_batch_resume.py                 # 16 images, 3 kills
    .venv/bin/python bench/bench_batch_resume.py --images 8 --seed 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def photos(n: int) -> list:
    import numpy as np

    from humanparse import samples

    base = [samples.astronaut(), samples.grace_hopper(), samples.two_person_photo(512)]
    out = []
    for i in range(n):
        img = base[i % 3]
        if (i // 3) % 2:
            img = img[:, ::-1]
        k = i // 6
        if k:
            h, w = img.shape[:2]
            img = img[k * h // 20:, : w - k * w // 20]
        out.append(np.ascontiguousarray(img))
    return out


def digest(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every output file (the per-run report excluded)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "batch_report.jsonl"}


def batch_cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "humanparse.cli.main", "batch", str(src), "-o", str(out)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from PIL import Image

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="hp-resume-") as tmp:
        tmp = Path(tmp)
        src = tmp / "in"
        (src / "sub").mkdir(parents=True)
        for i, img in enumerate(photos(args.images)):
            folder = src / "sub" if i % 4 == 3 else src
            Image.fromarray(img).save(folder / f"photo{i:02d}.{'png' if i % 2 else 'jpg'}")
        t0 = time.perf_counter()
        subprocess.run(batch_cmd(src, tmp / "ref"), check=True, capture_output=True)
        ref_s = time.perf_counter() - t0
        ref = digest(tmp / "ref")
        out = tmp / "out"
        kills = []
        per_image = ref_s / args.images
        # kill points: after a random number of finished output files, then a random part of one image's time
        targets = sorted(rng.sample(range(1, len(ref)), args.kills))
        for k, target in enumerate(targets):
            before = len(digest(out)) if out.exists() else 0
            proc = subprocess.Popen(batch_cmd(src, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t_start = time.perf_counter()
            while proc.poll() is None and (len(digest(out)) if out.exists() else 0) < target:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, per_image))
            proc.kill()
            proc.wait()
            partial = sorted(p.name for p in out.glob(".humanparse-partial-*")) if out.exists() else []
            kills.append({"after_s": round(time.perf_counter() - t_start, 2), "outputs_before": before,
                          "outputs_after": len(digest(out)) if out.exists() else 0, "partials_left": len(partial)})
        subprocess.run(batch_cmd(src, out), check=True, capture_output=True)
        got = digest(out)
        report_lines = (out / "batch_report.jsonl").read_text().splitlines()
        skipped = sum(json.loads(line)["status"] == "skipped" for line in report_lines)
        leftovers = sorted(p.name for p in out.rglob(".humanparse-partial-*"))
    same = got == ref
    diff = sorted(set(ref) ^ set(got)) + sorted(k for k in set(ref) & set(got) if ref[k] != got[k])
    print(f"{args.images} images, {len(ref)} output files; uninterrupted run {ref_s:.1f} s")
    for i, k in enumerate(kills, 1):
        print(f"  kill {i} (SIGKILL) after {k['after_s']} s: outputs {k['outputs_before']} -> {k['outputs_after']}, "
              f"staging folders left by the kill {k['partials_left']}")
    print(f"resumed run: {skipped} of {args.images} inputs skipped as complete; staging folders left: {len(leftovers)}")
    print(f"outputs byte-identical to the uninterrupted run: {same}" + ("" if same else f" (differ: {diff[:5]})"))
    print(json.dumps({"images": args.images, "files": len(ref), "kills": kills, "skipped_on_resume": skipped,
                      "identical": same, "leftovers": len(leftovers)}))
    ok = same and not leftovers
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
