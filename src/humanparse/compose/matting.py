"""Alpha mattes from binary person masks: soft, hair-aware edges instead of jagged hard cut-outs.

Three methods, all driven by a :func:`humanparse.compose.trimap.make_trimap` trimap so the deep
inside of the mask is always exactly 1 and the far outside exactly 0:

* ``"off"``: the binary mask as 0/1.
* ``"fast"`` and ``"quality"``: closed-form matting (Levin, Lischinski & Weiss, "A Closed-Form
  Solution to Natural Image Matting", TPAMI 2008; ``pymatting.estimate_alpha_cf``) solved on the
  trimap's unknown band, cropped to the band's bounding box and downscaled to a working size:
  :data:`FAST_MAX_PIXELS` (40 k px, ~0.1-0.3 s per image) for ``"fast"``, :data:`QUALITY_MAX_PIXELS`
  (0.5 MP, a few seconds) for ``"quality"``. The alpha is brought back to full size by fast guided
  upsampling with the full-resolution photo (He & Sun, "Fast Guided Filter", arXiv:1505.00996), so
  edges land on the photo's edges. A plain guided filter of the mask (He, Sun & Tang, TPAMI 2013) was
  tried for ``"fast"`` and rejected: where the parsing's boundary is off by a few pixels over a flat
  background (typical around hair) it only blurs the mask, giving a visible halo; the closed-form solve
  propagates from the sure regions and snaps to the real edge.

:func:`foreground_colors` removes the background colour that leaks into semi-transparent edge pixels
(colour decontamination; Germer et al., "Fast Multi-Level Foreground Estimation", ICPR 2020,
``pymatting.estimate_foreground_ml``), so hair keeps no green/grey fringe on a new background.
"""

from __future__ import annotations

import cv2
import numpy as np

from .trimap import BG, FG, UNKNOWN, band_width, make_trimap

METHODS = ("off", "fast", "quality")
"""Names accepted by :func:`alpha_matte`."""

QUALITY_MAX_PIXELS = 500_000
"""Largest working size (pixels of the cropped band region) of the closed-form solve."""

FAST_MAX_PIXELS = 40_000
"""Working size of the ``"fast"`` solve (about 200 x 200 px of the band's bounding box)."""

UPSAMPLE_RADIUS, UPSAMPLE_EPS = 2, 1e-4
"""Box radius (working-size px) and regularisation of the fast guided upsampling of the alpha matte."""

MAX_WINDOWS = 16
"""Most separate solve windows (one per person-sized cluster of the unknown band) before falling back to one."""


CG_MAXITER = 2000
"""Iteration cap of the conjugate-gradient solve of closed-form matting (bounds its time)."""


def _check(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    mask = np.asarray(mask)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got shape {image.shape} dtype {image.dtype}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} and image {image.shape[:2]} differ in size")
    return image, mask.astype(bool)


def _bbox(m: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    ys, xs = np.nonzero(m)
    if ys.size == 0:
        return None
    h, w = m.shape
    return (slice(max(0, ys.min() - margin), min(h, ys.max() + 1 + margin)),
            slice(max(0, xs.min() - margin), min(w, xs.max() + 1 + margin)))


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean linear coefficients ``(A, b)`` of a colour guided filter, so that ``q = sum(A * I, axis=2) + b``.

    He, Sun & Tang, TPAMI 2013, eq. (14)-(16) with a colour guide. Computing them on a downscaled image
    and applying them to the full-resolution guide is the Fast Guided Filter (He & Sun, arXiv:1505.00996, 2015).

    Args:
        guide: ``(h, w, 3)`` float32 in [0, 1]; src: ``(h, w)`` float32; radius: box radius in px;
        eps: regularisation in squared [0, 1] intensity units.
    Returns:
        ``A`` ``(h, w, 3)`` float32 and ``b`` ``(h, w)`` float32.
    """
    mI = _box(guide, radius)
    mp = _box(src, radius)
    cov_ip = _box(guide * src[..., None], radius) - mI * mp[..., None]
    sigma = np.empty(guide.shape[:2] + (3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            v = _box(guide[..., i] * guide[..., j], radius) - mI[..., i] * mI[..., j]
            sigma[..., i, j] = sigma[..., j, i] = v
    sigma += np.eye(3, dtype=np.float32) * eps
    a = np.linalg.solve(sigma, cov_ip[..., None])[..., 0].astype(np.float32)
    b = mp - (a * mI).sum(axis=2)
    return _box(a, radius), _box(b, radius)


def _solve_window(image: np.ndarray, tri: np.ndarray, win: tuple[slice, slice], max_pixels: int,
                  alpha: np.ndarray, mask: np.ndarray) -> None:
    """Closed-form matting of the unknown pixels of ``tri[win]``, written into ``alpha[win]``.

    A window the solver cannot take (no sure foreground or no sure background left at the working size, e.g. a
    person filling the frame, or a solver error) keeps the hard ``mask`` on its unknown pixels instead.
    """
    from pymatting import estimate_alpha_cf

    from ..logs import quiet_pymatting

    quiet_pymatting()
    img_c, tri_c = image[win], tri[win]
    unknown = tri_c == UNKNOWN
    h, w = tri_c.shape
    scale = min(1.0, float(np.sqrt(max_pixels / float(h * w))))
    if scale < 1.0:
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        img_s = cv2.resize(img_c, size, interpolation=cv2.INTER_AREA)
        tri_s = cv2.resize(tri_c, size, interpolation=cv2.INTER_NEAREST)
    else:
        img_s, tri_s = img_c, tri_c
    if not ((tri_s == FG).any() and (tri_s == BG).any() and (tri_s == UNKNOWN).any()):
        alpha[win][unknown] = mask[win][unknown]     # nothing to propagate from: the hard mask
        return
    g_s = img_s.astype(np.float32) / 255.0
    try:
        a = estimate_alpha_cf(g_s.astype(np.float64), tri_s.astype(np.float64),
                              cg_kwargs={"maxiter": CG_MAXITER}).astype(np.float32)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        alpha[win][unknown] = mask[win][unknown]
        return
    if not np.isfinite(a).all():
        alpha[win][unknown] = mask[win][unknown]
        return
    if scale < 1.0:
        # Fast guided upsampling: re-align the soft edge with full-resolution image edges.
        A, b = guided_coefficients(g_s, a, UPSAMPLE_RADIUS, UPSAMPLE_EPS)
        A = cv2.resize(A, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
        a = (A * (img_c.astype(np.float32) / 255.0)).sum(axis=2) + b
    alpha[win][unknown] = np.clip(a[unknown], 0.0, 1.0)


def _windows(m: np.ndarray, margin: int) -> list[tuple[slice, slice]]:
    """Bounding boxes (grown by ``margin``) of the clusters of ``m``: pixels closer than ``2 * margin``
    share a box. More than :data:`MAX_WINDOWS` clusters give one box around all of ``m``."""
    if not m.any():
        return []
    near = cv2.dilate(m.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=8)
    if n - 1 > MAX_WINDOWS:
        return [_bbox(m, margin)]
    return [(slice(y, y + h), slice(x, x + w)) for x, y, w, h, _ in stats[1:]]


def _solve_cf(image: np.ndarray, tri: np.ndarray, max_pixels: int, mask: np.ndarray) -> np.ndarray:
    """Closed-form matting of the unknown band, per cluster of the band (persons apart in a group photo
    get their own crop, so each keeps its resolution), each crop downscaled to its share of ``max_pixels``;
    ``mask`` (bool) is the fallback of a window the solver cannot take (see :func:`_solve_window`)."""
    alpha = (tri == FG).astype(np.float32)
    wins = _windows(tri == 0.5, band_width(tri.shape, 0.01) + 4)
    area = [(ys.stop - ys.start) * (xs.stop - xs.start) for ys, xs in wins]
    for win, a in zip(wins, area):
        share = max(int(max_pixels * a / sum(area)), min(a, FAST_MAX_PIXELS // 2))
        _solve_window(image, tri, win, share, alpha, mask)
    return alpha


def alpha_matte(image: np.ndarray, mask: np.ndarray, method: str = "fast", hair: np.ndarray | None = None,
                trimap: np.ndarray | None = None, max_pixels: int = QUALITY_MAX_PIXELS) -> np.ndarray:
    """Soft alpha matte of the masked region of ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        mask: ``(H, W)`` bool foreground mask (e.g. :meth:`humanparse.Parsing.mask`).
        method: ``"off"`` (binary), ``"fast"`` or ``"quality"`` (closed-form matting at a working size of
            :data:`FAST_MAX_PIXELS` / ``max_pixels``).
        hair: optional ``(H, W)`` bool hair mask: the unknown band is wider there (see
            :func:`humanparse.compose.trimap.make_trimap`).
        trimap: optional ready ``(H, W)`` trimap (1 fg, 0 bg, 0.5 unknown) used instead of one made from ``mask``.
        max_pixels: working-size cap of the ``"quality"`` solve (``"fast"`` uses :data:`FAST_MAX_PIXELS`).
    Returns:
        ``(H, W)`` float32 alpha in [0, 1]: exactly 1 on the trimap's sure foreground, exactly 0 on
        its sure background, fractional in between. Any mask content has a defined result, never an
        error: an empty mask gives all 0, a full one all 1, and where the solver has nothing to propagate
        from (a person filling the frame leaves no sure background, a 1-px-wide person no sure foreground)
        the unknown band keeps the hard mask.
    Raises:
        ValueError: unknown method, image not ``(H, W, 3)`` uint8, or mask of another size.
    """
    if method not in METHODS:
        raise ValueError(f"unknown matting method {method!r}; choose from {', '.join(METHODS)}")
    image, mask = _check(image, mask)
    if method == "off" or not mask.any() or mask.all():
        return mask.astype(np.float32)
    tri = make_trimap(mask, hair) if trimap is None else np.asarray(trimap, np.float32)
    if tri.shape != mask.shape:
        raise ValueError(f"trimap {tri.shape} and mask {mask.shape} differ in size")
    if not (tri == FG).any():              # a thin mask vanished under erosion: narrow the band
        tri = make_trimap(mask, None, band=1)
    limit = FAST_MAX_PIXELS if method == "fast" else max_pixels
    alpha = _solve_cf(image, tri, limit, mask)
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha[tri == FG] = 1.0
    alpha[tri == BG] = 0.0
    return alpha.astype(np.float32)


def foreground_colors(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours with the background's colour removed from semi-transparent pixels.

    Solves ``I = alpha F + (1 - alpha) B`` for a smooth ``F`` (Germer et al., ICPR 2020,
    ``pymatting.estimate_foreground_ml``) on the bounding boxes of the clusters of fractional alpha only.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        alpha: ``(H, W)`` float alpha in [0, 1].
    Returns:
        ``(H, W, 3)`` uint8 foreground colours; equal to ``image`` where alpha is 0 or 1.
    Raises:
        ValueError: shapes do not match.
    """
    from pymatting import estimate_foreground_ml

    image = np.asarray(image)
    alpha = np.asarray(alpha, np.float32)
    if image.ndim != 3 or image.shape[2] != 3 or alpha.shape != image.shape[:2]:
        raise ValueError(f"image {image.shape} must be (H, W, 3) with alpha (H, W) of the same size, got {alpha.shape}")
    out = image.astype(np.uint8).copy()
    soft = (alpha > 0.0) & (alpha < 1.0)
    for win in _windows(soft, 16):
        fg = estimate_foreground_ml(image[win].astype(np.float64) / 255.0, alpha[win].astype(np.float64))
        fg8 = np.clip(fg * 255.0 + 0.5, 0, 255).astype(np.uint8)
        sub, s = out[win], soft[win]
        sub[s] = fg8[s]
    return out
