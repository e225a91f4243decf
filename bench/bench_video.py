"""Video throughput and flicker: ``humanparse video`` on a static-camera clip built from a real photo.

Usage: .venv/bin/python bench/bench_video.py [--frames N]   (default 24 frames at 12 fps)

The clip is the photo ../shared/data/unlabeled_photos/images/soccer.jpg (3 persons; skimage's astronaut
when the data folder is absent) repeated with sensor noise (sigma 5 grey levels) and +-4 % exposure
jitter, at two sizes: 640 px wide and 1280x720 (centre crop). Every frame shows the same still scene, so
any change of the matte between frames is flicker. For each size and smoothing mode it prints the
processing speed (frames/s, wall clock, decode + parse + matte + smoothing + composite + encode) and the
flicker (mean absolute alpha change between consecutive frames, alpha units 0..1) before and after
smoothing, and the mean milliseconds per frame of each stage. The last rows time the transparent
outputs (VP9 WebM, ProRes MOV) at 640 px.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np


def _photo() -> tuple[str, np.ndarray]:
    from skimage import data

    from humanparse.io.image import load_image
    from humanparse.paths import shared_data_dir

    root = shared_data_dir()
    path = root / "unlabeled_photos" / "images" / "soccer.jpg" if root else None
    if path is not None and path.is_file():
        return "soccer.jpg", load_image(path)
    return "astronaut", data.astronaut()


def _sizes(img: np.ndarray) -> dict[str, np.ndarray]:
    h, w = img.shape[:2]
    small = cv2.resize(img, (640, round(h * 640 / w)), interpolation=cv2.INTER_AREA)
    s = max(1280 / w, 720 / h)
    big = cv2.resize(img, (max(1280, round(w * s)), max(720, round(h * s))), interpolation=cv2.INTER_AREA)
    y0, x0 = (big.shape[0] - 720) // 2, (big.shape[1] - 1280) // 2
    return {"640w": small, "1280x720": np.ascontiguousarray(big[y0:y0 + 720, x0:x0 + 1280])}


def main() -> None:
    from humanparse.api import load_backend
    from humanparse.video import VideoOptions, process_video
    from humanparse.video.synth import make_static_clip

    frames = int(sys.argv[sys.argv.index("--frames") + 1]) if "--frames" in sys.argv else 24
    name, photo = _photo()
    backend = load_backend("mediapipe")
    print(f"photo {name}, {frames} frames at 12 fps, backend mediapipe, matting fast, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'size':>9} {'output':>6} {'smooth':>6} {'frames/s':>9} {'flicker raw':>12} {'flicker out':>12} "
          f"{'reduction':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, img in _sizes(photo).items():
            clip = make_static_clip(Path(tmp) / f"{label}.mp4", img, frames=frames, fps=12)
            jobs = [("mp4", "off"), ("mp4", "ema"), ("mp4", "flow")]
            if label == "640w":
                jobs += [("webm", "ema"), ("mov", "ema")]
            for fmt, mode in jobs:
                bg = "#00ff00" if fmt == "mp4" else "transparent"
                r = process_video(clip, Path(tmp) / f"out.{fmt}", backend, VideoOptions(background=bg, smooth=mode))
                red = 1 - r.flicker / r.flicker_raw if r.flicker_raw else 0.0
                ms = " ".join(f"{k} {1000 * v:.0f}" for k, v in r.stage_seconds.items())
                print(f"{label:>9} {fmt:>6} {mode:>6} {r.fps:9.2f} {r.flicker_raw:12.5f} {r.flicker:12.5f} {red:9.0%}"
                      f"   ms/frame: {ms}", flush=True)


if __name__ == "__main__":
    main()
