"""Service memory around ``quality`` cut-outs: does the server give the matting solve's memory back?

Starts ``humanparse serve`` (bench_service.Server) on a group photo (default: 5 persons, 1280 x 853,
``../shared/data/unlabeled_photos/images/office_group.jpg``) and reads the server's VmRSS:

1. after 3 ``/v1/parse`` requests, and after one ``fast`` cut-out: the *pre-quality level* (the first
   cut-out also loads the matting code: pymatting, SciPy's sparse solvers, Numba's compiled kernels);
2. after each of ``--quality`` (default 5) ``matting=quality`` cut-outs;
3. the peak (VmHWM) and the change from the pre-quality level to the end, in %.

Runs twice by default: as shipped, and with ``HUMANPARSE_MALLOC_TRIM=0`` (memory not handed back after a
cut-out), so the effect of :func:`humanparse.malloc.release_free_memory` is measured, not assumed.
``--out FILE`` also writes the figures as JSON. Exit code 1 if the shipped server ends more than 10 %
above its pre-quality level.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import Server, rss_mib  # noqa: E402

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "data" / "unlabeled_photos" / "images" / "office_group.jpg"


def peak_mib(pid: int) -> float:
    """Peak resident set size of process ``pid`` in MiB (VmHWM of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmHWM for pid {pid}")


def measure(body: bytes, backend: str, quality_runs: int, trim: bool) -> dict:
    env_before = os.environ.get("HUMANPARSE_MALLOC_TRIM")
    os.environ["HUMANPARSE_MALLOC_TRIM"] = "1" if trim else "0"       # inherited by the server process
    server = Server(backend, 1, 2)
    try:
        server.wait_ready()
        files = {"image": ("photo.jpg", body, "image/jpeg")}
        persons = None
        for _ in range(3):
            r = httpx.post(server.url + "/v1/parse", files=files, timeout=300)
            r.raise_for_status()
            persons = r.json()["num_persons"]
        after_parse = rss_mib(server.proc.pid)
        httpx.post(server.url + "/v1/cutout", files=files, data={"matting": "fast"}, timeout=300).raise_for_status()
        before = rss_mib(server.proc.pid)
        after = []
        for _ in range(quality_runs):
            httpx.post(server.url + "/v1/cutout", files=files, data={"matting": "quality"},
                       timeout=600).raise_for_status()
            after.append(round(rss_mib(server.proc.pid), 1))
        peak = peak_mib(server.proc.pid)
    finally:
        server.stop()
        if env_before is None:
            os.environ.pop("HUMANPARSE_MALLOC_TRIM", None)
        else:
            os.environ["HUMANPARSE_MALLOC_TRIM"] = env_before
    return {"release_free_memory": trim, "persons": persons, "rss_after_parse_mib": round(after_parse, 1),
            "rss_pre_quality_mib": round(before, 1), "rss_after_each_quality_mib": after,
            "peak_mib": round(peak, 1), "change_pct": round(100 * (after[-1] - before) / before, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photo", type=Path, default=PHOTO)
    ap.add_argument("--backend", default="mediapipe")
    ap.add_argument("--quality", type=int, default=5, help="quality cut-outs in a row")
    ap.add_argument("--shipped-only", action="store_true", help="skip the HUMANPARSE_MALLOC_TRIM=0 run")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if not args.photo.is_file():
        print(f"skipped: {args.photo} not found (the shared test data)")
        return 0
    body = args.photo.read_bytes()
    runs = [measure(body, args.backend, args.quality, True)]
    if not args.shipped_only:
        runs.append(measure(body, args.backend, args.quality, False))
    for r in runs:
        print(f"{'shipped' if r['release_free_memory'] else 'HUMANPARSE_MALLOC_TRIM=0'}: {r['persons']} persons; "
              f"RSS after parse {r['rss_after_parse_mib']} MiB, pre-quality {r['rss_pre_quality_mib']} MiB, "
              f"after each quality cut-out {r['rss_after_each_quality_mib']} MiB, peak {r['peak_mib']} MiB, "
              f"change {r['change_pct']:+.1f} %")
    if args.out:
        args.out.write_text(json.dumps({"photo": str(args.photo), "backend": args.backend, "runs": runs}, indent=1))
    return 0 if runs[0]["change_pct"] <= 10.0 else 1


if __name__ == "__main__":
    sys.exit(main())
