"""Time the alpha matte methods (off / fast / quality) and colour decontamination on real photos.

Usage: .venv/bin/python bench/bench_compose.py [--big]   (``--big`` adds the astronaut upscaled to 12 MP)

Prints one line per image and method: image size, persons, seconds. The parsing (mediapipe backend) is
computed once per image and not timed. Photos come from ../shared/data/unlabeled_photos when present,
else only skimage's astronaut is used.
"""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np


def main() -> None:
    from skimage import data

    from humanparse.api import load_backend
    from humanparse.compose import alpha_matte, foreground_colors
    from humanparse.compose.select import hair_mask
    from humanparse.io.image import iter_image_files, load_image
    from humanparse.paths import shared_data_dir

    images = [("astronaut", data.astronaut())]
    root = shared_data_dir()
    if root is not None:
        images += [(f.name, load_image(f)) for f in iter_image_files([root / "unlabeled_photos" / "images"])]
    backend = load_backend("mediapipe")
    jobs = []
    for name, img in images:
        p = backend.predict(img)
        jobs.append((name, img, p.mask(), hair_mask(p), len(p)))
    if "--big" in sys.argv:
        name, img, m, h, n = jobs[0]
        size = (3464, 3464)   # 12 MP
        jobs.append(("astronaut@12MP", cv2.resize(img, size, interpolation=cv2.INTER_CUBIC),
                     cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool),
                     cv2.resize(h.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool), n))
    alpha_matte(*jobs[0][1:3], "quality")   # compile pymatting's numba kernels outside the timings
    foreground_colors(jobs[0][1], alpha_matte(*jobs[0][1:3], "fast"))
    print(f"{'image':<22}{'size':>11}{'persons':>8}{'off':>8}{'fast':>8}{'quality':>9}{'fg-colors':>10}")
    for name, img, m, h, n in jobs:
        t = {}
        for method in ("off", "fast", "quality"):
            t0 = time.perf_counter()
            a = alpha_matte(img, m, method, hair=h)
            t[method] = time.perf_counter() - t0
        t0 = time.perf_counter()
        foreground_colors(img, a)
        t["fg"] = time.perf_counter() - t0
        size = f"{img.shape[1]}x{img.shape[0]}"
        print(f"{name:<22}{size:>11}{n:>8}{t['off']:>8.3f}{t['fast']:>8.3f}{t['quality']:>9.3f}{t['fg']:>10.3f}")


if __name__ == "__main__":
    main()
