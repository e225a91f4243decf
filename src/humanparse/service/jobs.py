"""What the service does with an upload: check it, parse it, render the requested output.

:func:`check_upload` is cheap (reads the image header only) and runs on the event loop, so bad files are
refused before they take a queue slot. :func:`parse_job` and :func:`cutout_job` build the CPU-heavy
work (decode, model, PNG/JSON encoding) that runs in an inference worker thread.
"""

from __future__ import annotations

import io
import time
import warnings
from typing import NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..backends.base import Backend
from ..errors import ImageError, ImageTooLargeError
from ..io.image import load_image
from ..parsing import Parsing
from .errors import InvalidInputError, UnsupportedMediaError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
"""Pillow formats the service decodes. Others (EPS/PDF would call Ghostscript, etc.) are refused with 415."""

PARSE_FORMATS = ("json", "labels", "instances", "color", "overlay")
"""Outputs of ``POST /v1/parse``: JSON, or a PNG: label map (8-bit class ids), instance map (16-bit person
ids), colour map (RGB), overlay (RGB)."""


# ---------------------------------------------------------------------------------------------- checks
def check_upload(data: bytes, content_type: str | None, max_pixels: int, field: str = "image") -> tuple[int, int]:
    """Validate an uploaded image from its header, without decoding the pixels.

    Args:
        data: the uploaded bytes.
        content_type: the part's declared media type (``None``/empty = unknown, accepted).
        max_pixels: pixel limit (width x height).
    Returns:
        ``(width, height)``.
    Raises:
        UnsupportedMediaError (415): declared type is not ``image/*`` or ``application/octet-stream``, or the
            bytes are not an image of :data:`ACCEPTED_FORMATS`.
        ImageTooLargeError (413): more than ``max_pixels`` pixels.
        InvalidInputError (422): empty upload, or a header Pillow cannot read.
    """
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype and not (ctype.startswith("image/") or ctype == "application/octet-stream"):
        raise UnsupportedMediaError(f"{field}: content type {ctype!r} is not an image; send JPEG, PNG, WebP, BMP, GIF or TIFF")
    if not data:
        raise InvalidInputError(f"{field}: empty upload", code="invalid_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as img:
                width, height = img.size
    except UnidentifiedImageError:
        raise UnsupportedMediaError(f"{field}: not an image of a supported format "
                                    f"({', '.join(ACCEPTED_FORMATS)})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageTooLargeError(f"{field}: image too large ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InvalidInputError(f"{field}: corrupt image header ({e})", code="invalid_image") from None
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{field}: {width}x{height} = {width * height:,} pixels exceeds the "
                                 f"server limit of {max_pixels:,}")
    return width, height


def parse_background_spec(spec: str | None):
    """A request's ``background`` value to a :func:`humanparse.compose.composite` background.

    The forms of :func:`humanparse.compose.parse_background` (``transparent``, ``blur``, ``blur:SIGMA``,
    ``#rrggbb``, ``r,g,b``, colour names) except a file path: a server must not read its own files or
    fetch remote ones on a client's behalf. Background images come as an upload instead.
    Raises InvalidInputError for anything else.
    """
    from ..compose import parse_background

    try:
        return parse_background(spec or "transparent", allow_files=False)
    except ValueError as e:
        raise InvalidInputError(str(e), code="invalid_parameter") from None


class PersonLimit(NamedTuple):
    """Which persons a request keeps: at most ``max_persons`` (None: all), of detection score at least
    ``min_score`` (0..1; None: all the backend found, its own threshold being the floor)."""

    max_persons: int | None = None
    min_score: float | None = None


def limit_persons(parsing: Parsing, max_persons: int | None, min_score: float | None = None) -> Parsing:
    """Keep the ``max_persons`` highest-scoring persons whose score is at least ``min_score`` (others
    become background); ids renumbered 1..k in their left-to-right order. ``parsing`` itself when
    nothing is dropped."""
    keep = [p for p in parsing.persons if min_score is None or p.score >= min_score]
    if max_persons is not None:
        keep = sorted(keep, key=lambda p: (-p.score, p.id))[:max_persons]
    if len(keep) == len(parsing.persons):
        return parsing
    keep_ids = sorted(p.id for p in keep)
    lut = np.zeros(len(parsing.persons) + 1, np.uint16)
    lut[keep_ids] = keep_ids
    inst = lut[parsing.instances]
    labels = np.where(inst > 0, parsing.labels, 0).astype(np.uint8)
    out = Parsing.from_maps(labels, inst, parsing.label_set, {p.id: p.score for p in keep})
    out.timings = dict(parsing.timings)
    return out


# ---------------------------------------------------------------------------------------------- encoding
def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8 ``(H, W)`` / ``(H, W, 3|4)`` or uint16 ``(H, W)`` array (fast zlib level)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class JobResult:
    """What a worker hands back: the response body, its media type, the parsing and stage timings (s)."""

    __slots__ = ("body", "media_type", "parsing", "timings")

    def __init__(self, body, media_type: str, parsing: Parsing, timings: dict[str, float]) -> None:
        self.body = body
        self.media_type = media_type
        self.parsing = parsing
        self.timings = timings


def decode_upload(data: bytes, max_pixels: int, field: str = "image") -> np.ndarray:
    """Decode an uploaded image to ``(H, W, 3)`` uint8 RGB; errors name the form ``field``.

    Raises:
        ImageTooLargeError (413): more than ``max_pixels`` pixels.
        InvalidInputError (422, ``invalid_image``): truncated, corrupt or otherwise undecodable.
    """
    try:
        return load_image(data, max_pixels=max_pixels)
    except ImageTooLargeError as e:
        raise ImageTooLargeError(f"{field}: {str(e).replace('<bytes>: ', '')}") from None
    except ImageError as e:
        raise InvalidInputError(f"{field}: {str(e).replace('<bytes>: ', '')}", code="invalid_image") from None


def _decode_and_parse(backend: Backend, data: bytes, max_pixels: int, limit: PersonLimit,
                      label_set: str | None = None):
    t0 = time.perf_counter()
    image = decode_upload(data, max_pixels, "image")
    t1 = time.perf_counter()
    parsing = limit_persons(backend.predict(image), *limit)
    if label_set:
        parsing = parsing.to_label_set(label_set)
    t2 = time.perf_counter()
    return image, parsing, {"decode": t1 - t0, "inference": t2 - t1}


def parse_job(data: bytes, fmt: str, max_pixels: int, limit: PersonLimit, opacity: float = 0.5,
              label_set: str | None = None):
    """Build the worker job of ``POST /v1/parse``: decode, parse, render ``fmt`` (see :data:`PARSE_FORMATS`).

    ``limit``: the persons kept (:class:`PersonLimit`). ``label_set``: output label set (:meth:`Parsing.to_label_set`; the caller checked that the backend's
    output maps to it), ``None`` = the backend's own.
    The job returns a :class:`JobResult`; for ``json`` the body is the :meth:`Parsing.to_json` dict.
    """
    def job(backend: Backend) -> JobResult:
        image, parsing, timings = _decode_and_parse(backend, data, max_pixels, limit, label_set)
        t0 = time.perf_counter()
        if fmt == "json":
            parsing.timings.update(timings)
            body, media = parsing.to_json(), "application/json"
            body["backend"] = backend.name
        elif fmt == "labels":
            body, media = encode_png(parsing.labels), "image/png"
        elif fmt == "instances":
            body, media = encode_png(parsing.instances.astype(np.uint16)), "image/png"
        elif fmt == "color":
            body, media = encode_png(parsing.colorize()), "image/png"
        else:
            body, media = encode_png(parsing.overlay(image, opacity)), "image/png"
        timings["encode"] = time.perf_counter() - t0
        return JobResult(body, media, parsing, timings)

    return job


def cutout_job(data: bytes, max_pixels: int, limit: PersonLimit, parts: str | None, person: int | None,
               background, matting: str, background_data: bytes | None = None, label_set: str | None = None):
    """Build the worker job of ``POST /v1/cutout``: parse, select parts/person, matte, composite.

    Args:
        limit: the persons kept (:class:`PersonLimit`).
        parts: comma-separated part names (see :func:`humanparse.labels.resolve_parts`); ``None`` = whole person.
        person: instance id to keep; ``None`` = all persons.
        background: result of :func:`parse_background_spec` (ignored when ``background_data`` is given).
        matting: ``off`` | ``fast`` | ``quality`` (see :func:`humanparse.compose.alpha_matte`).
        background_data: an uploaded background image (header already checked), resized to cover; decoded
            before the photo is parsed, so a truncated one is a 422 naming ``background_image`` at no model cost.
        label_set: label set to map the parsing to before selecting (:meth:`Parsing.to_label_set`; the
            caller checked that the backend's output maps to it); ``None`` = the backend's own.
    The job returns a :class:`JobResult` with an RGBA PNG (transparent background) or an RGB PNG.
    Once its buffers are dropped, the job hands the memory ``malloc`` keeps free back to the OS
    (:func:`humanparse.malloc.release_free_memory`): the matting solve's temporaries would otherwise
    keep the server's resident size near its peak.
    Raises (in the job): InvalidInputError for an unknown part or person id, or an undecodable upload.
    """
    def job(backend: Backend) -> JobResult:
        from ..malloc import release_free_memory

        try:
            return cut_out(backend)
        finally:
            release_free_memory()           # after cut_out's frame (image, alpha, composite) is gone

    def cut_out(backend: Backend) -> JobResult:
        from .. import compose

        bg = background
        if background_data is not None:     # checked whole before any inference: a bad one costs nothing
            bg = decode_upload(background_data, max_pixels, "background_image")
        image, parsing, timings = _decode_and_parse(backend, data, max_pixels, limit, label_set)
        t0 = time.perf_counter()
        try:
            # Opaque inside; the outline against the background is matted, boundaries between kept and
            # removed parts of one person get a narrow feather (see compose.selection_alpha).
            alpha = compose.selection_alpha(image, parsing, keep=parts, person=person, method=matting)
        except KeyError as e:
            raise InvalidInputError(str(e.args[0]) if e.args else str(e), code="invalid_parameter") from None
        timings["matting"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        out = compose.composite(image, alpha, bg)
        body = encode_png(out)
        timings["encode"] = time.perf_counter() - t1
        return JobResult(body, "image/png", parsing, timings)

    return job
