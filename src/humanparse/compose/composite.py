"""Putting a matted person on a new background: colour, image, blurred original, or transparency.

All compositing uses the matting equation ``out = alpha * F + (1 - alpha) * B`` (Porter & Duff,
"Compositing Digital Images", SIGGRAPH 1984, the "over" operator), computed in float and rounded to uint8.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

BLUR_FRACTION = 0.015
"""Default Gaussian sigma of the ``"blur"`` background as a fraction of the image diagonal (~15 px at 1 MP)."""

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_RGB = re.compile(r"^\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*$")


def parse_background(spec, allow_files: bool = True):
    """Turn a CLI/API background string into a value :func:`composite` accepts.

    Args:
        spec: ``"transparent"`` (or ``"none"``), ``"blur"`` or ``"blur:SIGMA"`` (sigma in px),
            ``"#rrggbb"`` / ``"#rgb"``, ``"r,g,b"`` (0..255 each), a colour name Pillow knows
            (``"green"``), or the path of an image file. Non-strings (tuples, arrays, ``None``)
            pass through unchanged.
        allow_files: when False (a server answering clients), a string is never read as a file path.
    Returns:
        ``"transparent"``, ``"blur"`` / ``("blur", sigma)``, an ``(r, g, b)`` tuple of ints, or an
        ``(H, W, 3)`` uint8 image.
    Raises:
        ValueError: the string is none of these (the message lists the accepted forms); an
            :class:`humanparse.errors.ImageError` (a ValueError) if the file is not a readable image.
    """
    if not isinstance(spec, str):
        return spec
    s = spec.strip()
    low = s.lower()
    if low in ("transparent", "none", ""):
        return "transparent"
    if low == "blur":
        return "blur"
    if low.startswith("blur:"):
        try:
            sigma = float(low[5:])
        except ValueError:
            sigma = -1.0
        if not sigma > 0:
            raise ValueError(f"bad blur background {spec!r}: expected blur:SIGMA with SIGMA > 0 (pixels)")
        return ("blur", sigma)
    m = _HEX.match(s)
    if m and (s.startswith("#") or not allow_files or not Path(s).exists()):
        h = m.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    m = _RGB.match(s)
    if m:
        rgb = tuple(int(v) for v in m.groups())
        if max(rgb) > 255:
            raise ValueError(f"bad colour {spec!r}: each of r,g,b must be 0..255")
        return rgb
    if allow_files and Path(s).expanduser().is_file():
        from ..io.image import load_image

        return load_image(Path(s).expanduser())
    try:
        from PIL import ImageColor

        return tuple(int(v) for v in ImageColor.getrgb(s)[:3])
    except ValueError:
        pass
    files = ", or an existing image file" if allow_files else ""
    raise ValueError(f"bad background {spec!r}: use transparent, blur, blur:SIGMA, #rrggbb, r,g,b, "
                     f"a colour name{files}")


def cover(background: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize ``background`` (HxWx3 uint8) to cover ``height`` x ``width`` keeping its aspect, centre-cropped.

    Like CSS ``object-fit: cover``: no stretching, no borders.
    """
    bh, bw = background.shape[:2]
    s = max(height / bh, width / bw)
    nw, nh = max(width, int(np.ceil(bw * s))), max(height, int(np.ceil(bh * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    big = cv2.resize(background, (nw, nh), interpolation=interp)
    y0, x0 = (nh - height) // 2, (nw - width) // 2
    return np.ascontiguousarray(big[y0:y0 + height, x0:x0 + width])


def blurred_background(image: np.ndarray, alpha: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """The photo's own background, blurred, with the person's colours kept out of it.

    Normalised convolution (Knutsson & Westin, CVPR 1993): ``blur(I * w) / blur(w)`` with weight ``w = 1``
    on pure background (alpha <= 0.01) and 0 elsewhere, so neither the person nor its semi-transparent
    edge pixels smear a halo into the blurred background (a plain blur of the whole photo does). Where
    no background pixel is within reach of the kernel, the plain blur is used.

    Args:
        image: ``(H, W, 3)`` uint8; alpha: ``(H, W)`` float in [0, 1]; sigma: Gaussian sigma in px,
            ``None`` = :data:`BLUR_FRACTION` of the diagonal.
    Returns:
        ``(H, W, 3)`` float32 in [0, 255].
    """
    h, w = alpha.shape
    if sigma is None:
        sigma = max(1.0, BLUR_FRACTION * float(np.hypot(h, w)))
    # A Gaussian of sigma s is smooth at scale s: blur at 1/f of the size (sigma ~ 4 px there) and
    # upsample, which costs ~f^2 less than a full-size blur and looks the same.
    f = max(1.0, sigma / 4.0)
    sw, sh = max(1, round(w / f)), max(1, round(h / f))
    img = image.astype(np.float32)
    wgt = (alpha <= 0.01).astype(np.float32)
    if f > 1.0:
        img_s = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
        wgt_s = cv2.resize(wgt, (sw, sh), interpolation=cv2.INTER_AREA)
        sig = sigma * sw / w
    else:
        img_s, wgt_s, sig = img, wgt, sigma
    num = cv2.GaussianBlur(img_s * wgt_s[..., None], (0, 0), sig)
    den = cv2.GaussianBlur(wgt_s, (0, 0), sig)
    plain = cv2.GaussianBlur(img_s, (0, 0), sig)
    ok = den > 1e-3
    out = plain
    out[ok] = num[ok] / den[ok, None]
    if f > 1.0:
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def composite(image: np.ndarray, alpha: np.ndarray, background="transparent",
              foreground: np.ndarray | None = None) -> np.ndarray:
    """Composite the matted foreground of ``image`` over ``background``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB photo.
        alpha: ``(H, W)`` alpha matte, float in [0, 1] (uint8 0..255 is accepted too).
        background: ``None`` / ``"transparent"`` -> RGBA output; ``(r, g, b)`` or ``"#rrggbb"`` /
            any :func:`parse_background` string -> flat colour; ``(h, w, 3)`` uint8 image -> resized to
            cover; ``"blur"`` or ``("blur", sigma_px)`` -> the photo's background blurred.
        foreground: optional ``(H, W, 3)`` uint8 decontaminated colours
            (:func:`humanparse.compose.matting.foreground_colors`) used as ``F`` instead of ``image``.
    Returns:
        uint8: ``(H, W, 4)`` RGBA (RGB = foreground, A = round(255 * alpha)) for transparent, else
        ``(H, W, 3)`` RGB = ``round(alpha * F + (1 - alpha) * B)``.
    Raises:
        ValueError: shape mismatch, or an unusable background.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got shape {image.shape} dtype {image.dtype}")
    alpha = np.asarray(alpha)
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} and image {image.shape[:2]} differ in size")
    if alpha.dtype == np.uint8:
        a = alpha.astype(np.float32) / 255.0
    else:
        a = alpha.astype(np.float32, copy=False)
        if alpha.size and not (0.0 <= float(a.min()) and float(a.max()) <= 1.0):     # no copy when in range already
            a = np.clip(a, 0, 1)
    fg = image if foreground is None else np.asarray(foreground)
    if fg.shape != image.shape:
        raise ValueError(f"foreground {fg.shape} and image {image.shape} differ in shape")
    bg = parse_background(background) if isinstance(background, str) else background
    h, w = a.shape
    if bg is None or (isinstance(bg, str) and bg == "transparent"):
        out = np.empty((h, w, 4), np.uint8)
        out[..., :3] = fg
        for y in range(0, h, 512):          # in strips: no float copy of a 24 MP alpha
            out[y:y + 512, :, 3] = (a[y:y + 512] * 255.0 + 0.5).astype(np.uint8)
        return out
    if isinstance(bg, str) and bg == "blur":
        b = blurred_background(image, a)
    elif isinstance(bg, tuple) and len(bg) == 2 and bg[0] == "blur":
        b = blurred_background(image, a, float(bg[1]))
    elif isinstance(bg, np.ndarray) and bg.ndim == 3 and bg.shape[2] in (3, 4):
        if bg.dtype != np.uint8:
            raise ValueError(f"background image must be uint8, got {bg.dtype}")
        b = cover(np.ascontiguousarray(bg[..., :3]), h, w).astype(np.float32)
    elif isinstance(bg, (tuple, list, np.ndarray)) and len(bg) == 3 and np.ndim(bg) == 1:
        c = np.asarray(bg, np.float32)
        if c.min() < 0 or c.max() > 255:
            raise ValueError(f"background colour {tuple(bg)} must have 0..255 channels")
        b = np.broadcast_to(c, (h, w, 3))
    else:
        raise ValueError(f"unusable background {type(bg).__name__}: use 'transparent', 'blur', (r, g, b), "
                         "'#rrggbb' or an (H, W, 3) uint8 image")
    # alpha * F + (1 - alpha) * B computed as B + alpha * (F - B), in place: one float buffer instead of five
    # temporaries (about 6x faster at 640x360, which matters for live video).
    out = fg.astype(np.float32)
    out -= b
    out *= a[..., None]
    out += b
    out += 0.5
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)
