"""Soak test of the service: 4 clients, 2,000 mixed requests, no 5xx but 503, bounded memory growth.

Starts ``humanparse serve`` (default backend, 1 worker, queue 8, uploads up to 2 MiB, images up to 10 MP)
on loopback like ``bench_service.py`` and sends, round-robin from ``--clients`` threads, a fixed mix:

* ``parse``: a real photo (skimage astronaut JPEG) to ``POST /v1/parse`` (200),
* ``cutout``: the same photo to ``POST /v1/cutout`` with ``matting=fast`` on green (200),
* ``corrupt``: a JPEG cut in half (422), ``not_image``: a text file (415),
* ``too_big_upload``: 3 MiB of bytes (413), ``too_many_pixels``: a 4000x4000 PNG (a few KiB, 16 MP; 413).

Passes when no response is 5xx other than 503 (queue full), there is no transport error, and the server's
resident memory (VmRSS) grows by less than ``--max-growth`` % (5) from request 200 to the last one.

    .venv/bin/python bench/bench_soak.py                    # 2,000 requests (many minutes on 2 cores)
    .venv/bin/python bench/bench_soak.py --total 400        # shorter
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import Server, photo_jpeg, rss_mib  # noqa: E402

KINDS = ("parse", "cutout", "corrupt", "parse", "not_image", "too_big_upload", "cutout", "too_many_pixels")
"""One cycle of the request mix (parse and cutout twice: the requests that load the server)."""


def bodies() -> dict:
    from PIL import Image

    jpeg = photo_jpeg()
    big = io.BytesIO()
    Image.new("RGB", (4000, 4000), (90, 120, 150)).save(big, format="PNG")
    return {
        "parse": ("/v1/parse", ("astronaut.jpg", jpeg, "image/jpeg"), {}),
        "cutout": ("/v1/cutout", ("astronaut.jpg", jpeg, "image/jpeg"), {"matting": "fast", "background": "#00ff00"}),
        "corrupt": ("/v1/parse", ("cut.jpg", jpeg[: len(jpeg) // 2], "image/jpeg"), {}),
        "not_image": ("/v1/parse", ("notes.txt", b"just some notes\n" * 20, "text/plain"), {}),
        "too_big_upload": ("/v1/parse", ("huge.jpg", jpeg + bytes(3 * 1024 * 1024), "image/jpeg"), {}),
        "too_many_pixels": ("/v1/parse", ("big.png", big.getvalue(), "image/png"), {}),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default=None, help="default: humanparse's default backend")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--total", type=int, default=2000)
    ap.add_argument("--rss-from", type=int, default=200, help="request count of the first memory sample")
    ap.add_argument("--max-growth", type=float, default=5.0, help="allowed RSS growth in % from --rss-from to the end")
    ap.add_argument("--timeout", type=float, default=60.0, help="server request timeout in s (504 after it)")
    ap.add_argument("--deadline", type=float, default=3600.0, help="overall time limit in seconds")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    if args.backend is None:
        from humanparse.backends import DEFAULT_BACKEND

        args.backend = DEFAULT_BACKEND

    reqs = bodies()
    server = Server(args.backend, 1, 8, ("--max-upload-mb", "2", "--max-megapixels", "10",
                                         "--timeout", str(args.timeout)))
    lock = threading.Lock()
    state = {"next": 0, "done": 0}
    statuses: dict[str, Counter] = defaultdict(Counter)
    latency: dict[str, list[float]] = defaultdict(list)
    rss_at: dict[int, float] = {}
    try:
        server.wait_ready()
        rss_ready = rss_mib(server.proc.pid)
        deadline = time.monotonic() + args.deadline

        def worker() -> None:
            with httpx.Client(base_url=server.url, timeout=args.timeout + 60) as http:
                while time.monotonic() < deadline:
                    with lock:
                        if state["next"] >= args.total:
                            return
                        i = state["next"]
                        state["next"] += 1
                    kind = KINDS[i % len(KINDS)]
                    route, file, data = reqs[kind]
                    t0 = time.perf_counter()
                    try:
                        code = str(http.post(route, files={"image": file}, data=data).status_code)
                    except httpx.HTTPError as e:
                        code = f"error:{type(e).__name__}"
                    dt = time.perf_counter() - t0
                    with lock:
                        statuses[kind][code] += 1
                        latency[kind].append(dt)
                        state["done"] += 1
                        done = state["done"]
                        if done in (args.rss_from, args.total):
                            rss_at[done] = rss_mib(server.proc.pid)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        rss_end = rss_mib(server.proc.pid)
    finally:
        server.stop()

    done = state["done"]
    all_codes = sum(statuses.values(), Counter())
    bad_5xx = sum(v for k, v in all_codes.items() if k.isdigit() and int(k) >= 500 and k != "503")
    errors = sum(v for k, v in all_codes.items() if not k.isdigit())
    r0 = rss_at.get(args.rss_from)
    growth = (rss_end - r0) / r0 * 100 if r0 else None
    report = {
        "backend": args.backend, "clients": args.clients, "requests": done, "wall_s": round(wall, 1),
        "statuses": {k: dict(sorted(v.items())) for k, v in sorted(statuses.items())},
        "p50_ms": {k: round(float(np.percentile(v, 50)) * 1000, 1) for k, v in sorted(latency.items())},
        "five_xx_other_than_503": bad_5xx, "transport_errors": errors,
        "rss_mib": {"ready": round(rss_ready, 1), f"after_{args.rss_from}": round(r0, 1) if r0 else None,
                    f"after_{done}": round(rss_end, 1)},
        "rss_growth_pct": round(growth, 2) if growth is not None else None,
    }
    print(f"{done} mixed requests from {args.clients} clients in {wall:.0f} s ({args.backend} backend)")
    for kind in sorted(statuses):
        print(f"  {kind:16s} {dict(sorted(statuses[kind].items()))}  p50 {report['p50_ms'][kind]} ms")
    print(f"5xx other than 503: {bad_5xx}; transport errors: {errors}")
    print(f"server RSS: ready {rss_ready:.1f} MiB, after {args.rss_from} requests "
          f"{r0 or float('nan'):.1f} MiB, after {done} {rss_end:.1f} MiB, growth "
          f"{growth if growth is not None else float('nan'):+.2f} % (limit {args.max_growth} %)")
    print(json.dumps(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    ok = bad_5xx == 0 and errors == 0 and done == args.total and growth is not None and growth < args.max_growth
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
