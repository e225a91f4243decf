"""Load test of the service on loopback: throughput, latency, no 5xx, and memory growth.

Starts ``humanparse serve`` in a subprocess on a free 127.0.0.1 port with the real default backend,
then sends a real photo (skimage's astronaut, 512 x 512 JPEG) to ``POST /v1/parse``:

1. a concurrency run: ``--clients`` threads x ``--per-client`` requests (default 8 x 25 = 200);
2. more requests with the same clients until ``--total`` (default 500) for the memory check.

Prints throughput, p50/p95 latency, the status counts (asserting zero 5xx) and the server's resident
memory (VmRSS from /proc/PID/status) after 50 and after ``--total`` requests with the growth in %.
All loops are bounded in count and time (``--deadline`` seconds overall; each request times out).

    .venv/bin/python bench/bench_service.py                 # full run (a few minutes on 2 CPU cores)
    .venv/bin/python bench/bench_service.py --total 100     # shorter
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for pid {pid}")


def photo_jpeg() -> bytes:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


class Server:
    """``humanparse serve`` in a subprocess on loopback; stopped on exit."""

    def __init__(self, backend: str, workers: int, queue_size: int, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "humanparse.cli.main", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--backend", backend, "--workers", str(workers), "--queue-size", str(queue_size),
               "--log-level", "warning", *extra]
        self.log = open(os.devnull, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError("server did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def run_load(url: str, body: bytes, clients: int, n_requests: int, deadline: float, on_done=None) -> dict:
    """Send ``n_requests`` POST /v1/parse from ``clients`` threads; returns latencies (s), statuses and wall time."""
    lock = threading.Lock()
    state = {"next": 0, "done": 0}
    latencies: list[float] = []
    statuses: Counter = Counter()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while time.monotonic() < deadline:
                with lock:
                    if state["next"] >= n_requests:
                        return
                    state["next"] += 1
                t0 = time.perf_counter()
                try:
                    code = http.post("/v1/parse", files={"image": ("astronaut.jpg", body, "image/jpeg")}).status_code
                except httpx.HTTPError as e:
                    code = f"error:{type(e).__name__}"
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    statuses[code] += 1
                    state["done"] += 1
                    done = state["done"]
                if on_done is not None:
                    on_done(done)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic() + 130))
    return {"latencies": latencies, "statuses": statuses, "wall": time.perf_counter() - t0}


def summary(result: dict) -> dict:
    lat = np.asarray(result["latencies"])
    n = len(lat)
    return {"requests": n, "wall_s": round(result["wall"], 2),
            "throughput_rps": round(n / result["wall"], 2) if result["wall"] else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1) if n else None,
            "p95_ms": round(float(np.percentile(lat, 95)) * 1000, 1) if n else None,
            "statuses": {str(k): v for k, v in sorted(result["statuses"].items(), key=str)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="mediapipe")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--queue-size", type=int, default=8)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=25)
    ap.add_argument("--total", type=int, default=500, help="requests in all, for the memory check (>= 50)")
    ap.add_argument("--deadline", type=float, default=1200.0, help="overall time limit in seconds")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    if args.clients > args.workers + args.queue_size:
        print(f"note: {args.clients} clients > workers + queue ({args.workers + args.queue_size}): expect 503s")

    body = photo_jpeg()
    server = Server(args.backend, args.workers, args.queue_size)
    t_start = time.monotonic()
    deadline = t_start + args.deadline
    try:
        server.wait_ready()
        rss_start = rss_mib(server.proc.pid)
        rss_at: dict[int, float] = {}

        def sample(done: int) -> None:
            if done == 50 and 50 not in rss_at:
                rss_at[50] = rss_mib(server.proc.pid)

        first_n = args.clients * args.per_client
        load = run_load(server.url, body, args.clients, first_n, deadline, sample)
        rest = max(0, args.total - len(load["latencies"]))
        more = run_load(server.url, body, args.clients, rest, deadline,
                        lambda d: sample(d + len(load["latencies"]))) if rest else {"latencies": [], "statuses": Counter(), "wall": 0.0}
        total_done = len(load["latencies"]) + len(more["latencies"])
        rss_end = rss_mib(server.proc.pid)
        metrics = httpx.get(server.url + "/metrics", timeout=10).text
    finally:
        server.stop()

    all_status = load["statuses"] + more["statuses"]
    five_xx = sum(v for k, v in all_status.items() if isinstance(k, int) and k >= 500)
    errors = sum(v for k, v in all_status.items() if not isinstance(k, int))
    rss50 = rss_at.get(50)
    growth = (rss_end - rss50) / rss50 * 100 if rss50 else None
    served = [line for line in metrics.splitlines()
              if line.startswith('humanparse_requests_total{method="POST",route="/v1/parse"')]
    report = {
        "backend": args.backend, "workers": args.workers, "queue_size": args.queue_size,
        "photo": "skimage astronaut 512x512 JPEG, format=json",
        "concurrency_run": {"clients": args.clients, "per_client": args.per_client, **summary(load)},
        "all_requests": {**summary({"latencies": load["latencies"] + more["latencies"], "statuses": all_status,
                                    "wall": load["wall"] + more["wall"]})},
        "five_xx": five_xx, "transport_errors": errors,
        "rss_mib": {"ready": round(rss_start, 1), "after_50": round(rss50, 1) if rss50 else None,
                    f"after_{total_done}": round(rss_end, 1)},
        "rss_growth_50_to_end_pct": round(growth, 2) if growth is not None else None,
        "server_counted": served,
    }
    c = report["concurrency_run"]
    print(f"concurrency: {args.clients} clients x {args.per_client}: {c['requests']} requests in {c['wall_s']} s "
          f"= {c['throughput_rps']} req/s, p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms, statuses {c['statuses']}")
    print(f"all {total_done} requests: statuses {report['all_requests']['statuses']}; 5xx: {five_xx}; "
          f"transport errors: {errors}")
    print(f"server RSS: ready {rss_start:.1f} MiB, after 50 requests {rss50 or float('nan'):.1f} MiB, "
          f"after {total_done} {rss_end:.1f} MiB, growth {growth if growth is not None else float('nan'):+.2f} %")
    print(json.dumps(report))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    ok = five_xx == 0 and errors == 0 and total_done == args.total
    if not ok:
        print("FAIL: 5xx responses, transport errors or unfinished requests", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
