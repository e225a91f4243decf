"""Reading images into RGB arrays, safely.

Every input ends as an ``(H, W, 3)`` uint8 RGB array: EXIF orientation applied; grayscale, palette,
CMYK, 16-bit and alpha images converted; a pixel limit guards against decompression bombs.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError, ImageTooLargeError

DEFAULT_MAX_PIXELS = 50_000_000
"""Default pixel limit (50 MP, about 8660 x 5770). Override per call or with ``$HUMANPARSE_MAX_PIXELS``."""

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}


def max_pixels_default() -> int:
    """The pixel limit in force: ``$HUMANPARSE_MAX_PIXELS`` or :data:`DEFAULT_MAX_PIXELS`."""
    return int(os.environ.get("HUMANPARSE_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any PIL mode to ``(H, W, 3)`` uint8 RGB; 16-bit is scaled to 8-bit, alpha is composited on black."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        hi = 1.0 if arr.max(initial=0) <= 1.0 else 255.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent pixels carry no photo content; compose on black so they read as background.
        img = img.convert("RGBA")
        base = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(base, img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def load_image(src, max_pixels: int | None = None) -> np.ndarray:
    """Load an image as an RGB array.

    Args:
        src: a file path (``str`` / ``Path``), raw encoded bytes, a ``PIL.Image.Image``, or a NumPy array
            (``(H, W)`` gray, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA; uint8, uint16 or float in [0, 1]).
        max_pixels: pixel limit; ``None`` uses :func:`max_pixels_default`.
    Returns:
        ``(H, W, 3)`` uint8 RGB, C-contiguous, EXIF orientation applied.
    Raises:
        ImageTooLargeError: more than ``max_pixels`` pixels (checked from the header before decoding).
        ImageError: missing, empty, truncated, corrupt or non-image input, or an unsupported array shape.
    """
    limit = max_pixels_default() if max_pixels is None else int(max_pixels)
    if isinstance(src, np.ndarray):
        return _from_array(src, limit)
    if isinstance(src, Image.Image):
        _check_size(src.size, limit, "image")
        return _to_rgb(ImageOps.exif_transpose(src))
    name = "<bytes>"
    if isinstance(src, (str, os.PathLike)):
        name = str(src)
        path = Path(src)
        if not path.is_file():
            raise ImageError(f"{name}: no such file")
        data = path.read_bytes()
    elif isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    else:
        raise ImageError(f"cannot read an image from {type(src).__name__}")
    if not data:
        raise ImageError(f"{name}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_size(img.size, limit, name)
            img.load()
            img = ImageOps.exif_transpose(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageTooLargeError(f"{name}: image too large ({e})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file (format not recognised)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{name}: corrupt or truncated image ({e})") from None
    return _to_rgb(img)


def _check_size(size: tuple[int, int], limit: int, name: str) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if w * h > limit:
        raise ImageTooLargeError(
            f"{name}: {w}x{h} = {w * h:,} pixels exceeds the limit of {limit:,} "
            "(set HUMANPARSE_MAX_PIXELS or max_pixels to allow it)"
        )


def _from_array(arr: np.ndarray, limit: int) -> np.ndarray:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise ImageError(f"array of shape {arr.shape} is not an image; expected (H, W), (H, W, 3) or (H, W, 4)")
    _check_size((arr.shape[1], arr.shape[0]), limit, "array")
    if arr.dtype == np.uint8:
        out = arr
    elif arr.dtype == np.uint16:
        out = (arr.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        out = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif arr.dtype == np.bool_:
        out = arr.astype(np.uint8) * 255
    else:
        raise ImageError(f"unsupported array dtype {arr.dtype}")
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=2)
    elif out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    elif out.shape[2] == 4:
        out = out[..., :3]
    return np.ascontiguousarray(out)


def _within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved)."""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def iter_image_files(paths, skip=()) -> list[Path]:
    """Expand files and folders (recursively) into a sorted list of image files.

    Folders contribute files whose suffix is in :data:`IMAGE_SUFFIXES`, leaving out hidden files and
    folders (a name starting with ``.``, e.g. ``.hidden.jpg`` or an interrupted run's hidden temporary
    outputs) and anything under a ``skip`` folder that lies inside the folder being listed (a command's
    own output folder). Files named explicitly are kept whatever their suffix or name (so a bad file is
    reported, not silently skipped). Missing paths are kept too.

    Args:
        paths: files and folders; skip: folders whose contents are never inputs when found by recursion.
    Returns:
        the files, each folder's in sorted order.
    """
    out: list[Path] = []
    skip = [Path(s) for s in skip]
    for p in map(Path, paths):
        if not p.is_dir():
            out.append(p)
            continue
        inner = [s for s in skip if _within(s, p) and not _within(p, s)]
        out += sorted(f for f in p.rglob("*")
                      if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                      and not any(part.startswith(".") for part in f.relative_to(p).parts)
                      and not any(_within(f, s) for s in inner))
    return out


def save_png(path, array: np.ndarray) -> Path:
    """Write ``array`` as a PNG with OpenCV's fast zlib setting (level 1, run-length strategy; several
    times faster than Pillow's default level 6 on photo-like 24 MP pictures, and it releases the GIL, so
    pictures can be written in parallel threads).

    Args:
        path: the file to write (any name; the bytes are encoded in memory, then written).
        array: ``(H, W)`` uint8 (grey) or uint16 (16-bit grey), ``(H, W, 3)`` uint8 RGB or ``(H, W, 4)`` uint8 RGBA.
    Returns:
        ``Path(path)``.
    Raises:
        ValueError: another shape or dtype, or OpenCV cannot encode it.
    """
    import cv2

    a = np.asarray(array)
    if not ((a.ndim == 2 and a.dtype in (np.uint8, np.uint16)) or (a.ndim == 3 and a.shape[2] in (3, 4) and a.dtype == np.uint8)):
        raise ValueError(f"cannot write a PNG of shape {a.shape} dtype {a.dtype}: expected (H, W) uint8/uint16 "
                         "or (H, W, 3|4) uint8")
    if a.ndim == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR if a.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", a)
    if not ok:
        raise ValueError(f"OpenCV could not encode a PNG of shape {a.shape}")
    path = Path(path)
    path.write_bytes(buf.tobytes())
    return path
