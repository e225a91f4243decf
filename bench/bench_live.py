"""Live: end-to-end frames/s and latency of ``GET /v1/live`` over a real WebSocket on loopback, and flicker.

Starts ``humanparse serve`` (default backend; 1 worker) in a subprocess, then plays a "camera" to it: the
two-person photo (astronaut + Grace Hopper) at WxH with fresh sensor noise per frame, pre-encoded as JPEG
(quality 85), offered at ``--camera-fps`` (30) like a webcam. As the /live page does, the client keeps at most
2 frames in flight and skips camera frames while 2 are out, so the server never queues. Per frame, latency =
time from sending the JPEG to receiving the answer (server decode + model + smoothing + composite + encode +
loopback transfer). Rows: 640x360 and 1280x720, ``mode=person`` and ``mode=parts``, one and two clients.

Flicker (``humanparse.video.metrics``): mean absolute alpha change between consecutive mattes (``output=alpha``)
on the static noisy clip, with the default EMA smoothing (0.5) and without.

    .venv/bin/python bench/bench_live.py                   # all rows (~3 minutes on 2 cores)
    .venv/bin/python bench/bench_live.py --seconds 5 --sizes 640x360 --modes person --clients 1
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import Server  # noqa: E402


def camera_frames(width: int, height: int, n: int = 12, noise: float = 3.0) -> list[bytes]:
    from humanparse.live import encode_frame
    from humanparse.samples import two_person_photo

    base = cv2.resize(two_person_photo(height), (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    rng = np.random.default_rng(0)
    return [encode_frame(np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8), 85)[0]
            for _ in range(n)]


def run_client(url: str, frames: list[bytes], seconds: float, camera_fps: float, window: int = 2,
               warmup: float = 2.0, mattes: list | None = None) -> dict:
    """Play ``frames`` to one WebSocket for ``seconds`` after ``warmup``; returns counts and latencies (ms)."""
    from websockets.sync.client import connect

    lock = threading.Condition()
    in_flight: list[float] = []
    lat: list[float] = []
    got: list[float] = []
    stats: dict = {}
    done = threading.Event()
    with connect(url, max_size=2**24, open_timeout=60) as ws:
        settings = json.loads(ws.recv(timeout=60))
        assert settings["type"] == "settings", settings

        def receiver() -> None:
            while not done.is_set():
                try:
                    m = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                except Exception:  # noqa: BLE001 - closed at the end
                    return
                now = time.perf_counter()
                if isinstance(m, str):
                    msg = json.loads(m)
                    if msg["type"] == "stats":
                        stats.update(msg)
                        continue
                    if msg["type"] != "error":
                        continue
                with lock:
                    sent = in_flight.pop(0) if in_flight else now
                    lock.notify_all()
                if isinstance(m, bytes):
                    got.append(now)
                    lat.append((now - sent) * 1000)
                    if mattes is not None:
                        mattes.append(cv2.imdecode(np.frombuffer(m, np.uint8), cv2.IMREAD_UNCHANGED))

        t = threading.Thread(target=receiver, daemon=True)
        t.start()
        start = time.perf_counter()
        measure_from = start + warmup
        end = measure_from + seconds
        period = 1.0 / camera_fps if camera_fps else 0.0
        i = offered = skipped = 0
        next_t = start
        while time.perf_counter() < end:
            if period:
                delay = next_t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                next_t += period
                offered += 1
                with lock:
                    full = len(in_flight) >= window
                if full:
                    skipped += time.perf_counter() >= measure_from
                    continue
            else:
                with lock:
                    while len(in_flight) >= window:
                        lock.wait(1.0)
            with lock:
                in_flight.append(time.perf_counter())
            ws.send(frames[i % len(frames)])
            i += 1
        deadline = time.perf_counter() + 30
        with lock:
            while in_flight and time.perf_counter() < deadline:
                lock.wait(0.5)
        done.set()
        t.join(5)
    keep = [k for k, g in enumerate(got) if measure_from <= g <= end]
    n = len(keep)
    return {"frames": n, "fps": n / seconds, "lat": [lat[k] for k in keep], "skipped": skipped,
            "server_dropped": stats.get("dropped", 0), "server_ms": stats.get("timings_ms", {}).get("total"),
            "parses_per_s": (stats.get("parsed") or 0) / (time.perf_counter() - start)}


def run_row(base: str, size: tuple[int, int], mode: str, clients: int, seconds: float, camera_fps: float) -> dict:
    frames = camera_frames(*size)
    url = f"{base}/v1/live?mode={mode}&background=blur"
    results: list[dict] = [None] * clients

    def one(k: int) -> None:
        results[k] = run_client(url, frames, seconds, camera_fps)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lat = np.concatenate([r["lat"] for r in results]) if any(r["lat"] for r in results) else np.zeros(1)
    return {"size": f"{size[0]}x{size[1]}", "mode": mode, "clients": clients,
            "fps_per_client": float(np.mean([r["fps"] for r in results])),
            "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "skipped": sum(r["skipped"] for r in results), "server_dropped": sum(r["server_dropped"] for r in results),
            "server_ms": results[0]["server_ms"], "parses_per_s": sum(r["parses_per_s"] for r in results)}


def flicker_row(base: str, smoothing: float, n: int = 60) -> float:
    from humanparse.video import flicker

    frames = camera_frames(640, 360, n=n)
    mattes: list = []
    run_client(f"{base}/v1/live?output=alpha&smoothing={smoothing}", frames, seconds=n / 15, camera_fps=15,
               warmup=0.0, window=1, mattes=mattes)
    return flicker(mattes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per row (after 2 s warm-up)")
    ap.add_argument("--camera-fps", type=float, default=30.0, help="frames offered per second per client (0 = as fast as answered)")
    ap.add_argument("--sizes", default="640x360,1280x720")
    ap.add_argument("--modes", default="person,parts")
    ap.add_argument("--clients", default="1,2")
    ap.add_argument("--no-flicker", action="store_true")
    args = ap.parse_args()
    from humanparse.backends import DEFAULT_BACKEND

    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    server = Server(DEFAULT_BACKEND, workers=1, queue_size=2)
    try:
        server.wait_ready()
        base = server.url.replace("http://", "ws://")
        print(f"humanparse serve ({DEFAULT_BACKEND}), camera {args.camera_fps:g} fps per client, <= 2 frames in "
              f"flight, {args.seconds:g} s per row after 2 s warm-up, background=blur")
        print(f"{'size':>9} {'mode':>6} {'clients':>7} {'frames/s':>9} {'p50 ms':>7} {'p95 ms':>7} "
              f"{'skipped':>7} {'srv drop':>8} {'srv ms':>7} {'parses/s':>8}")
        for size in sizes:
            for mode in args.modes.split(","):
                for clients in (int(c) for c in args.clients.split(",")):
                    r = run_row(base, size, mode, clients, args.seconds, args.camera_fps)
                    print(f"{r['size']:>9} {r['mode']:>6} {r['clients']:>7} {r['fps_per_client']:>9.1f} "
                          f"{r['p50']:>7.1f} {r['p95']:>7.1f} {r['skipped']:>7} {r['server_dropped']:>8} "
                          f"{r['server_ms'] if r['server_ms'] is not None else float('nan'):>7.1f} "
                          f"{r['parses_per_s'] if mode == 'parts' else float('nan'):>8.2f}", flush=True)
        if not args.no_flicker:
            raw, smooth = flicker_row(base, 0.0), flicker_row(base, 0.5)
            print(f"flicker (640x360, mode=person, static noisy clip, 60 frames): smoothing off {raw:.5f}, "
                  f"EMA 0.5 {smooth:.5f} ({(smooth / raw - 1) * 100:+.0f} %)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
