"""Real sample photos that ship inside PyPI packages (no download): for demos, tests and benchmarks.

Needs scikit-image and matplotlib (the ``eval`` / ``test`` extras).
"""

from __future__ import annotations

import numpy as np


def astronaut() -> np.ndarray:
    """scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain): ``(512, 512, 3)`` uint8 RGB."""
    from skimage import data

    return data.astronaut()


def grace_hopper() -> np.ndarray:
    """matplotlib's sample ``grace_hopper.jpg`` (US Navy, public domain): ``(600, 512, 3)`` uint8 RGB."""
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def two_person_photo(height: int = 512) -> np.ndarray:
    """Astronaut (left) and Grace Hopper (right) side by side, both resized to ``height`` px (bilinear).

    Returns:
        ``(height, W, 3)`` uint8 RGB, C-contiguous; ``W`` = 949 at the default height.
    """
    from PIL import Image

    parts = []
    for img in (astronaut(), grace_hopper()):
        if img.shape[0] != height:
            pil = Image.fromarray(img)
            img = np.asarray(pil.resize((round(pil.width * height / pil.height), height), Image.BILINEAR))
        parts.append(img)
    return np.ascontiguousarray(np.concatenate(parts, axis=1))
