"""`make bench`: run every benchmark script in this folder, one after another, each in its own process
(every ``bench_*.py``, then ``peers.py``).

Each script prints its own table; the combined output is also written to ``bench-out/bench.txt``.
Benchmarks never run in `make test` (they take minutes on a 2-core machine).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_parsers.py", "bench_m2fp.py", "bench_service.py", "bench_video.py", "bench_compose.py"]
LAST = ["peers.py"]
"""Run after every ``bench_*.py``: the peers comparison (person IoU and speed beside ISNet, the MediaPipe
selfie segmenter and BodyPix; it fetches ISNet with ``npm pack`` on its first run)."""


def main() -> int:
    out = HERE.parent / "bench-out"
    out.mkdir(exist_ok=True)
    scripts = [HERE / s for s in ORDER if (HERE / s).exists()]
    scripts += sorted(p for p in HERE.glob("bench_*.py") if p.name not in ORDER)
    scripts += [HERE / s for s in LAST if (HERE / s).exists()]
    log = []
    failed = 0
    for s in scripts:
        head = f"\n=== {s.name} ({time.strftime('%Y-%m-%d %H:%M:%S')}) ==="
        print(head, flush=True)
        proc = subprocess.run([sys.executable, str(s)], cwd=HERE.parent, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        print(proc.stdout, flush=True)
        log += [head, proc.stdout]
        if proc.returncode:
            failed += 1
            print(f"!!! {s.name} exited with {proc.returncode}")
    (out / "bench.txt").write_text("\n".join(log))
    print(f"\nwrote {out / 'bench.txt'}; {len(scripts) - failed} of {len(scripts)} benchmarks succeeded")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
