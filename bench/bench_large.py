"""Large photos: `humanparse parse` (default outputs) and `humanparse cutout` on a 24 MP photo.

Usage: .venv/bin/python bench/bench_large.py [--mp 24] [--runs 1] [--backend lite]

Builds a 6000x4000 (24 MP; ``--mp`` picks another size, same aspect) JPEG of ``office_group.jpg``
(../shared/data/unlabeled_photos; bicubic upscale, quality 92) in a temporary folder, never in the
repository, then runs each command as its own subprocess (``python -m humanparse.cli.main ...``) and
prints wall time and peak RSS of that subprocess (``os.wait4``'s ``ru_maxrss``: the whole process,
Python start-up and model loading included). Budget (issue 22, item 2): parse ≤ 4 s and ≤ 900 MB on the
2-core machine. The 1.3 MP original is measured the same way for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHOTO = "office_group.jpg"
BUDGET_S, BUDGET_MB = 4.0, 900.0


def run(cmd: list[str]) -> tuple[float, float, int, str]:
    """``(wall seconds, peak RSS MB, exit code, stderr tail)`` of one subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, err.strip()[-300:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mp", type=float, default=24.0, help="megapixels of the large photo (default 24 = 6000x4000)")
    ap.add_argument("--runs", type=int, default=1, help="runs per command (best wall time, largest RSS)")
    ap.add_argument("--backend", default="lite")
    args = ap.parse_args()

    import cv2

    sys.path.insert(0, str(HERE.parent / "src"))
    from humanparse.paths import shared_data_dir

    root = shared_data_dir()
    src = root / "unlabeled_photos" / "images" / PHOTO if root is not None else None
    if src is None or not src.exists():
        print(f"skipped: {PHOTO} not found (../shared/data/unlabeled_photos/images)")
        return 0
    photo = cv2.imread(str(src))
    w = int(round((args.mp * 1e6 * 1.5) ** 0.5))
    h = int(round(w / 1.5))
    cli = [sys.executable, "-m", "humanparse.cli.main"]
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the start; {os.cpu_count()} CPUs")
    print(f"{'photo':<28}{'command':<10}{'wall s':>8}{'peak RSS MB':>13}  stages (parse JSON timings, s)")
    with tempfile.TemporaryDirectory(prefix="hp-bench-large-") as tmp:
        tmp = Path(tmp)
        big = tmp / f"office_group_{w}x{h}.jpg"
        cv2.imwrite(str(big), cv2.resize(photo, (w, h), interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 92])
        del photo
        failed = 0
        for name, path in ((f"{PHOTO} {w}x{h}", big), (f"{PHOTO} original", src)):
            for command in ("parse", "cutout"):
                out = tmp / f"out-{command}"
                cmd = cli + [command, str(path), "-o", str(out), "-q", "-b", args.backend]
                best, peak = float("inf"), 0.0
                for _ in range(args.runs):
                    wall, rss, rc, err = run(cmd)
                    if rc:
                        print(f"{name:<28}{command:<10} failed (exit {rc}): {err}")
                        failed += 1
                        break
                    best, peak = min(best, wall), max(peak, rss)
                else:
                    stages = ""
                    js = out / f"{path.stem}.json"
                    if command == "parse" and js.exists():
                        stages = ", ".join(f"{k} {v:.2f}" for k, v in json.loads(js.read_text()).get("timings", {}).items())
                    print(f"{name:<28}{command:<10}{best:>8.2f}{peak:>13.0f}  {stages}")
    print(f"budget at 24 MP (parse, default outputs): <= {BUDGET_S:.0f} s, <= {BUDGET_MB:.0f} MB peak RSS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
