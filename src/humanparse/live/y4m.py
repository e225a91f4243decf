"""YUV4MPEG2 (``.y4m``) clips: the format Chromium's fake camera plays (``--use-file-for-fake-video-capture``).

Used by the live page's browser test and screenshot so a real photo can stand in for a webcam.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import cv2
import numpy as np


def write_y4m(path, frames: Iterable[np.ndarray], fps: int = 30) -> Path:
    """Write RGB frames as an uncompressed 4:2:0 ``.y4m`` file.

    Args:
        path: output file.
        frames: ``(H, W, 3)`` uint8 RGB frames, all the same even size.
        fps: frame rate written to the header (frames / s).
    Returns:
        ``Path(path)``.
    Raises:
        ValueError: no frames, odd or changing sizes, or not uint8 RGB.
    """
    path = Path(path)
    size = None
    n = 0
    with open(path, "wb") as f:
        for rgb in frames:
            img = np.asarray(rgb)
            if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
                raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {img.shape} {img.dtype}")
            if size is None:
                size = img.shape[:2]
                if size[0] % 2 or size[1] % 2:
                    raise ValueError(f"4:2:0 needs even sizes, got {size[1]}x{size[0]}")
                f.write(f"YUV4MPEG2 W{size[1]} H{size[0]} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode())
            elif img.shape[:2] != size:
                raise ValueError(f"frame size changed from {size} to {img.shape[:2]}")
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2YUV_I420).tobytes())
            n += 1
    if n == 0:
        path.unlink(missing_ok=True)
        raise ValueError("no frames to write")
    return path
