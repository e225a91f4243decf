"""`make demo`: parse a real multi-person photo with the offline default backend and write every output.

The photo is built from two public-domain photos that ship inside PyPI packages (scikit-image's
``astronaut``, NASA; matplotlib's ``grace_hopper.jpg``, US Navy), side by side. When ``../shared/data``
is present, its group photos (CC0, see their SOURCE.md) are parsed too.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

import humanparse
from humanparse.paths import shared_data_dir
from humanparse.samples import two_person_photo


def run(image_path: Path, out: Path) -> None:
    image = humanparse.load_image(image_path)
    humanparse.parse(image)  # warm-up: the first call loads the models
    t = time.perf_counter()
    result = humanparse.parse(image)
    ms = (time.perf_counter() - t) * 1000
    written = result.save(out, ("labels", "instances", "color", "overlay", "cutout", "json"),
                          stem=image_path.stem, image=image)
    panel = np.concatenate([image, result.overlay(image, 0.6), result.colorize()], axis=1)
    Image.fromarray(panel).save(out / f"{image_path.stem}_panel.jpg", quality=88)  # photo | overlay | colour map
    print(f"{image_path.name}: {image.shape[1]}x{image.shape[0]}, {len(result)} person(s), {ms:.0f} ms")
    for p in result.persons:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(p.part_areas.items(), key=lambda kv: -kv[1])[:6])
        print(f"  person {p.id}: bbox {p.bbox}, score {p.score:.2f}, {p.area} px ({parts}, ...)")
    print("  wrote " + ", ".join(str(v) for v in written.values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("demo-out"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photo = args.out / "two_people.jpg"
    Image.fromarray(two_person_photo()).save(photo, quality=95)
    run(photo, args.out)
    shared = shared_data_dir()
    if shared is not None:
        for name in ("office_group.jpg", "soccer.jpg", "apollo11_crew.jpg"):
            p = shared / "unlabeled_photos" / "images" / name
            if p.exists():
                run(p, args.out)
    else:
        print("(../shared/data not found: only the built-in two-person photo was parsed)")


if __name__ == "__main__":
    main()
