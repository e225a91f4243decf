"""The video frame loop: decode -> parse -> person mask -> alpha matte -> temporal smoothing -> composite -> encode.

Audio is carried over (copied or re-encoded, see :mod:`humanparse.video.writer`), timestamps are kept,
the output is written to a hidden temporary file next to the target and renamed when complete.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..backends.base import Backend
from .metrics import FlickerMeter
from .reader import VideoError, VideoReader
from .smoothing import make_smoother
from .writer import ALPHA_SUFFIXES, profile_for, VideoWriter

DEFAULT_OPAQUE_BACKGROUND = (0, 255, 0)
"""Background when none is given and the container has no alpha: chroma green, for keying downstream."""


@dataclass
class VideoOptions:
    """What to do with each frame.

    Attributes:
        background: a value :func:`humanparse.compose.composite` accepts (``"transparent"``, ``"blur"``,
            ``(r, g, b)``, an ``(H, W, 3)`` uint8 image; see :func:`humanparse.compose.parse_background`).
            ``None``: transparent for ``.webm``/``.mov``/``.mkv``, :data:`DEFAULT_OPAQUE_BACKGROUND` otherwise.
        matting: ``"off"`` (binary mask), ``"fast"`` (closed-form matting on a downscaled edge band) or ``"quality"`` (finer solve; slow).
        smooth: ``"off"``, ``"ema"`` or ``"flow"`` (:mod:`humanparse.video.smoothing`).
        strength: smoothing strength in [0, 1); ``None`` = the mode's default.
        parts: parts kept in the matte (``None`` = whole persons; names as in :meth:`Parsing.mask`).
        masks_path: optional second output: the colour map (parts in palette colours) as a video.
        max_frames: stop after this many frames (``None`` = all).
    """

    background: object = None
    matting: str = "fast"
    smooth: str = "flow"
    strength: float | None = None
    parts: str | None = None
    masks_path: Path | None = None
    max_frames: int | None = None


@dataclass
class VideoResult:
    """What :func:`process_video` did. ``fps`` is processing speed (frames per wall-clock second);
    ``flicker_raw`` / ``flicker`` are :func:`humanparse.video.metrics.flicker` of the per-frame and the
    smoothed mattes (alpha units 0..1); ``audio`` is ``"copied"``, ``"re-encoded"`` or ``"none"``;
    ``stage_seconds`` is the mean wall-clock seconds per frame of each stage (decode, parse, matte,
    smooth, composite, encode; audio copying counts towards decode)."""

    output: Path
    frames: int
    seconds: float
    fps: float
    flicker_raw: float
    flicker: float
    audio: str
    masks: Path | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _is_transparent(bg) -> bool:
    return bg is None or (isinstance(bg, str) and bg.lower() in ("transparent", "none"))


def process_video(src, dst, backend: Backend, options: VideoOptions | None = None,
                  progress: Callable[[int, int], None] | None = None) -> VideoResult:
    """Remove or replace the background of every person in a video.

    Args:
        src: input video path (any container/codec FFmpeg decodes).
        dst: output path; ``.mp4``, ``.mov``, ``.webm`` or ``.mkv`` (transparency needs ``.webm``/``.mov``/``.mkv``).
        backend: a loaded :class:`humanparse.backends.base.Backend`.
        options: :class:`VideoOptions` (defaults if ``None``).
        progress: called after each frame as ``progress(frames_done, frames_expected)``
            (``frames_expected`` 0 when the header does not say).
    Returns:
        :class:`VideoResult`.
    Raises:
        VideoError: unreadable input, input and output are the same file, or an output container that
            cannot hold the requested result. ValueError: bad matting / smoothing options or background.
    """
    from ..compose import alpha_matte, composite, cover, parse_background
    from ..compose.select import hair_mask

    opts = options or VideoOptions()
    src, dst = Path(src), Path(dst)
    masks = Path(opts.masks_path) if opts.masks_path else None
    for out in filter(None, (dst, masks)):
        if src.exists() and out.exists() and out.resolve() == src.resolve():
            raise VideoError(f"output {out} is the input file; choose another output path")
    bg = opts.background
    if bg is None:
        bg = "transparent" if dst.suffix.lower() in ALPHA_SUFFIXES else DEFAULT_OPAQUE_BACKGROUND
    bg = parse_background(bg)
    alpha_out = _is_transparent(bg)
    profile_for(dst, alpha_out)                       # fail before decoding anything
    if masks is not None:
        profile_for(masks, False)
    smoother = make_smoother(opts.smooth, opts.strength)
    if opts.max_frames is not None and opts.max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {opts.max_frames}")

    raw_meter, out_meter = FlickerMeter(), FlickerMeter()
    tmp, tmp_masks = _partial(dst), (_partial(masks) if masks else None)
    dst.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n = 0
    stages: dict[str, float] = {}
    try:
        with ExitStack() as stack:
            reader = stack.enter_context(VideoReader(src))
            if isinstance(bg, np.ndarray):
                bg = cover(np.ascontiguousarray(bg[..., :3]), reader.height, reader.width)
            expected = reader.frame_count if opts.max_frames is None else min(
                opts.max_frames, reader.frame_count or opts.max_frames)
            writer = stack.enter_context(VideoWriter(tmp, reader.width, reader.height, reader.fps,
                                                     reader.time_base, alpha=alpha_out, audio=reader.audio))
            mask_writer = stack.enter_context(VideoWriter(tmp_masks, reader.width, reader.height, reader.fps,
                                                          reader.time_base)) if masks else None
            clock = time.perf_counter()
            for item in reader.demux(opts.max_frames):
                if not hasattr(item, "image"):
                    writer.write_audio(item)
                    continue
                rgb = np.ascontiguousarray(item.image[..., :3])
                clock = _tick(stages, "decode", clock)
                parsing = backend.predict(rgb)
                clock = _tick(stages, "parse", clock)
                alpha = alpha_matte(rgb, parsing.mask(opts.parts), method=opts.matting,
                                    hair=hair_mask(parsing) if opts.parts is None else None)
                clock = _tick(stages, "matte", clock)
                raw_meter.update(alpha)
                alpha = smoother.update(rgb, alpha)
                out_meter.update(alpha)
                clock = _tick(stages, "smooth", clock)
                out_frame = composite(rgb, alpha, bg)
                clock = _tick(stages, "composite", clock)
                writer.write(out_frame, item.pts)
                if mask_writer is not None:
                    mask_writer.write(parsing.colorize(), item.pts)
                clock = _tick(stages, "encode", clock)
                n += 1
                if progress is not None:
                    progress(n, expected)
            audio = "none" if reader.audio is None else ("copied" if writer.audio_copied else "re-encoded")
        if n == 0:
            raise VideoError(f"{src}: no video frames could be decoded")
        os.replace(tmp, dst)
        if masks:
            os.replace(tmp_masks, masks)
    finally:
        for t in filter(None, (tmp, tmp_masks)):
            if t.exists():
                t.unlink()
    secs = time.perf_counter() - t0
    return VideoResult(dst, n, secs, n / secs if secs > 0 else 0.0, raw_meter.value, out_meter.value,
                       audio, masks, {k: v / n for k, v in stages.items()})


def _tick(stages: dict, name: str, since: float) -> float:
    now = time.perf_counter()
    stages[name] = stages.get(name, 0.0) + now - since
    return now

