"""One live frame, end to end: decode, person alpha, temporal smoothing, optional edge refinement, composite, encode.

:class:`LiveProcessor` holds a stream's state (the smoother's last matte, the parts follower) and is called once
per frame that was not dropped. Per-stage times (ms) come back with every frame. Compositing is
:func:`humanparse.compose.composite` (normalised-convolution blur, flat colour, transparency).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import ImageError
from .options import LiveOptions
from .parts import PartsFollower, Submit
from ..persons.segmenter import PersonSegmenter


@dataclass
class LiveFrame:
    """The result of one frame.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB composite, or ``(H, W, 4)`` RGBA for ``background=transparent``.
        alpha: ``(H, W)`` float32 matte in [0, 1] after smoothing / refinement.
        timings: milliseconds per stage (``decode``, ``alpha``, ``smooth``, ``refine``, ``composite``,
            ``encode``, ``total``; those not run are absent).
        parts_age_s: ``mode=parts``: age of the parsing used, seconds (``None`` in ``mode=person``).
    """

    image: np.ndarray
    alpha: np.ndarray
    timings: dict = field(default_factory=dict)
    parts_age_s: float | None = None


def decode_frame(data: bytes) -> np.ndarray:
    """RGB pixels of a JPEG / WebP / PNG frame.

    Args:
        data: the encoded bytes (size and header limits are the caller's job).
    Returns:
        ``(H, W, 3)`` uint8 RGB.
    Raises:
        ImageError: empty or undecodable bytes.
    """
    if not data:
        raise ImageError("empty frame")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ImageError("the frame is not a decodable JPEG, WebP or PNG image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def encode_frame(image: np.ndarray, quality: int = 80) -> tuple[bytes, str]:
    """Encode an answer: RGB as JPEG (``quality`` 1..100), RGBA or single-channel as PNG (fast zlib level).

    Returns:
        ``(bytes, media type)``.
    Raises:
        ValueError: not a uint8 ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` array.
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise ValueError(f"expected uint8 (H, W), (H, W, 3) or (H, W, 4), got {img.shape} {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 3:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        media = "image/jpeg"
    else:
        png = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
        ok, buf = cv2.imencode(".png", png, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        media = "image/png"
    if not ok:  # pragma: no cover - OpenCV fails only on impossible sizes
        raise ValueError(f"could not encode a {img.shape} frame")
    return buf.tobytes(), media


class LiveProcessor:
    """Turns camera frames into composited frames for one stream.

    Args:
        options: the session's :class:`LiveOptions`.
        segmenter: the :class:`PersonSegmenter` to use (default: a new one, closed by :meth:`close`); in
            ``mode=parts`` it says each frame where the people are now (:mod:`humanparse.live.follow`).
        parts_submit: ``mode=parts``: how to start parsing a frame (:data:`humanparse.live.parts.Submit`), e.g.
            a thread pool around ``humanparse.get_backend().predict`` or the service's inference pool.
        background: what to composite over, already parsed (``compose.parse_background``: ``"blur"``,
            ``("blur", sigma)``, ``(r, g, b)``, ``"transparent"``, an ``(h, w, 3)`` uint8 image); ``None`` =
            parse ``options.background`` (colours, blur, transparent; no files).
    Raises:
        ValueError: ``mode=parts`` without ``parts_submit``, or a bad background.
    """

    def __init__(self, options: LiveOptions, segmenter: PersonSegmenter | None = None,
                 parts_submit: Submit | None = None, background=None) -> None:
        from ..compose import parse_background
        from ..video.smoothing import AlphaSmoother, EmaSmoother

        self.options = options
        self.background = parse_background(options.background, allow_files=False) if background is None else background
        self._own_segmenter = False
        self.segmenter = None
        self.parts: PartsFollower | None = None
        if options.mode == "parts":
            if parts_submit is None:
                raise ValueError("mode=parts needs a parser (parts_submit)")
            self.parts = PartsFollower(parts_submit)
        self._own_segmenter = segmenter is None
        self.segmenter = segmenter or PersonSegmenter()
        self.smoother = EmaSmoother(options.smoothing) if options.smoothing > 0 else AlphaSmoother()
        self._shape: tuple[int, int] | None = None
        self.frames = 0

    # ---------------------------------------------------------------- stages
    def _parts_alpha(self, rgb: np.ndarray) -> tuple[np.ndarray, float | None]:
        """The last parsing's mask made to follow this frame's person (:func:`follow.follow_mask`)."""
        from .follow import follow_mask

        now = self.segmenter(rgb)
        parsing, then = self.parts.follow(rgb, context=now)
        h, w = rgb.shape[:2]
        if parsing is None:                       # the parser failed: keep the frame as it is
            return np.ones((h, w), np.float32), None
        mask = parsing.mask(self.options.parts).astype(np.uint8)
        if mask.shape != (h, w):                  # parsed before a resolution change: no motion known
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
        if then is not None and then.shape != (h, w):
            then = None
        return follow_mask(mask > 0, then, now), self.parts.age_s

    def process(self, rgb: np.ndarray) -> LiveFrame:
        """Composite one frame.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB.
        Returns:
            :class:`LiveFrame`.
        Raises:
            ValueError: not an ``(H, W, 3)`` uint8 array; KeyError: an unknown part name (``mode=parts``).
        """
        from ..compose import alpha_matte, composite

        img = np.asarray(rgb)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"frame must be (H, W, 3) uint8 RGB, got shape {img.shape} dtype {img.dtype}")
        t = {}
        t0 = time.perf_counter()
        if self._shape != img.shape[:2]:          # a new resolution: the old matte means nothing here
            self.smoother.reset()
            self._shape = img.shape[:2]
        age = None
        if self.parts is not None:
            alpha, age = self._parts_alpha(img)
        else:
            alpha = self.segmenter(img)
        t1 = time.perf_counter()
        t["alpha"] = (t1 - t0) * 1000
        alpha = self.smoother.update(img, alpha)
        t2 = time.perf_counter()
        t["smooth"] = (t2 - t1) * 1000
        if self.options.refine:
            alpha = alpha_matte(img, alpha > 0.5, method="fast")
            t3 = time.perf_counter()
            t["refine"], t2 = (t3 - t2) * 1000, t3
        out = None
        if self.options.output == "frame":
            out = composite(img, alpha, self.background)
            t["composite"] = (time.perf_counter() - t2) * 1000
        self.frames += 1
        return LiveFrame(out, alpha, t, age)

    def process_bytes(self, data: bytes) -> tuple[bytes, str, LiveFrame]:
        """Decode an encoded frame, :meth:`process` it and encode the answer (``output=frame``: the composite,
        JPEG or RGBA PNG; ``output=alpha``: the matte as an 8-bit single-channel PNG).

        Returns:
            ``(answer bytes, media type, LiveFrame)``; ``LiveFrame.timings`` includes ``decode``, ``encode``, ``total``.
        Raises:
            ImageError: the bytes are not a decodable image; otherwise as :meth:`process`.
        """
        t0 = time.perf_counter()
        rgb = decode_frame(data)
        t1 = time.perf_counter()
        frame = self.process(rgb)
        t2 = time.perf_counter()
        if self.options.output == "alpha":
            body, media = encode_frame((frame.alpha * 255.0 + 0.5).astype(np.uint8))
        else:
            body, media = encode_frame(frame.image, self.options.quality)
        t3 = time.perf_counter()
        frame.timings.update(decode=(t1 - t0) * 1000, encode=(t3 - t2) * 1000, total=(t3 - t0) * 1000)
        return body, media, frame

    def close(self) -> None:
        """Free the segmenter if this processor made it; wait for a parsing in work. Idempotent."""
        if self.parts is not None:
            self.parts.close()
        if self._own_segmenter and self.segmenter is not None:
            self.segmenter.close()
            self.segmenter = None
