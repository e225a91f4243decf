"""Alpha mattes of large photos (24-45 MP): solved on a reduced copy, brought back guided by the photo.

The ``"fast"`` matte is solved at :data:`humanparse.compose.matting.FAST_MAX_PIXELS` whatever the photo's
size, but its trimap, distance transforms and full-size guided upsampling are float32 images of the
photo's size (several hundred MB at 24 MP). Above :data:`LARGE_PIXELS` the whole selection alpha is
computed on a copy of about :data:`WORK_PIXELS` and brought to full size by fast guided upsampling
(He & Sun, arXiv:1505.00996) with the full-resolution photo as guide, in strips of rows, so edges land
on the photo's edges with temporaries of a strip's size. Photos up to :data:`LARGE_PIXELS` are not
affected.
"""

from __future__ import annotations

import cv2
import numpy as np

LARGE_PIXELS = 8_000_000
"""Photos with more pixels than this get their matte on a reduced copy."""

WORK_PIXELS = 2_000_000
"""Pixels of the reduced copy (about 1730 x 1150 for 3:2)."""

GUIDE_RADIUS, GUIDE_EPS = 2, 1e-4
"""Box radius (reduced-copy px) and regularisation of the guided upsampling."""

STRIP = 256
"""Full-size rows upsampled at a time."""


def reduced_size(height: int, width: int, pixels: int | None = None) -> tuple[int, int]:
    """``(h, w)`` of a copy of about ``pixels`` (default :data:`WORK_PIXELS`) pixels with the photo's aspect
    (never larger)."""
    pixels = WORK_PIXELS if pixels is None else pixels
    s = min(1.0, float(np.sqrt(pixels / float(height * width))))
    return max(1, round(height * s)), max(1, round(width * s))


def upsample_alpha(alpha: np.ndarray, small: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Full-size alpha from one computed on a reduced copy, guided by the full-size photo.

    Args:
        alpha: ``(h, w)`` float32 in [0, 1], the matte of ``small``.
        small: ``(h, w, 3)`` uint8, the reduced copy (``cv2.INTER_AREA`` of ``image``).
        image: ``(H, W, 3)`` uint8 RGB.
    Returns:
        ``(H, W)`` float32 in [0, 1]: exactly 1 (0) where the reduced alpha is 1 (0) over a 3 x 3
        neighbourhood; in between the guided filter's ``A . I + b`` with coefficients bilinearly upsampled.
    """
    h, w = alpha.shape
    H, W = image.shape[:2]
    A, b = _coefficients(small, alpha.astype(np.float32, copy=False))
    k = np.ones((3, 3), np.uint8)
    sure_fg = cv2.erode((alpha >= 1.0).astype(np.uint8), k)
    maybe = cv2.dilate((alpha > 0.0).astype(np.uint8), k)
    band = maybe & (1 - sure_fg)                       # reduced pixels whose neighbourhood is mixed
    out = np.empty((H, W), np.float32)
    xs = (np.arange(W, dtype=np.float32) + 0.5) * (w / W) - 0.5
    nx_all = np.clip(np.rint(xs).astype(np.int32), 0, w - 1)          # nearest reduced column
    for y0 in range(0, H, STRIP):
        y1 = min(H, y0 + STRIP)
        ys = (np.arange(y0, y1, dtype=np.float32) + 0.5) * (h / H) - 0.5
        ny = np.clip(np.rint(ys).astype(np.int32), 0, h - 1)
        out[y0:y1] = sure_fg[ny][:, nx_all]                 # 1 inside, 0 outside
        cols = np.flatnonzero(band[ny.min():ny.max() + 1].any(axis=0))
        if cols.size == 0:
            continue
        # full-size columns whose nearest reduced column is in the band's range
        xa, xb = np.searchsorted(nx_all, cols[0], "left"), np.searchsorted(nx_all, cols[-1], "right")
        mx = np.broadcast_to(xs[xa:xb][None, :], (y1 - y0, xb - xa)).copy()
        my = np.broadcast_to(ys[:, None], (y1 - y0, xb - xa)).copy()
        a_s = cv2.remap(A, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        b_s = cv2.remap(b, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        q = (a_s * image[y0:y1, xa:xb].astype(np.float32)).sum(axis=2) * (1.0 / 255.0) + b_s
        nx = nx_all[xa:xb]
        q[sure_fg[ny][:, nx] > 0] = 1.0
        q[maybe[ny][:, nx] == 0] = 0.0
        np.clip(q, 0.0, 1.0, out=out[y0:y1, xa:xb])
    return out


def _coefficients(small: np.ndarray, alpha: np.ndarray, rows: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """:func:`humanparse.compose.matting.guided_coefficients` of ``small`` (uint8) and ``alpha``, computed
    in strips of ``rows`` rows with a margin of twice the radius (the coefficients are a box of a box, so
    each strip's own rows equal the whole image's): temporaries of a strip's size, not ~100 B a pixel."""
    from .matting import guided_coefficients

    h, w = alpha.shape
    m = 2 * GUIDE_RADIUS + 1
    A = np.empty((h, w, 3), np.float32)
    b = np.empty((h, w), np.float32)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        e0, e1 = max(0, y0 - m), min(h, y1 + m)
        a_s, b_s = guided_coefficients(small[e0:e1].astype(np.float32) / 255.0, alpha[e0:e1], GUIDE_RADIUS, GUIDE_EPS)
        A[y0:y1], b[y0:y1] = a_s[y0 - e0:y1 - e0], b_s[y0 - e0:y1 - e0]
    return A, b


def reduced_parsing(parsing, size: tuple[int, int]):
    """``parsing`` with its maps resized nearest-neighbour to ``size`` ``(h, w)`` (persons list kept:
    ids and names only matter for selecting)."""
    from ..parsing import Parsing

    h, w = size
    labels = cv2.resize(parsing.labels, (w, h), interpolation=cv2.INTER_NEAREST)
    inst = cv2.resize(parsing.instances, (w, h), interpolation=cv2.INTER_NEAREST)
    return Parsing(labels, inst, parsing.label_set, list(parsing.persons))
