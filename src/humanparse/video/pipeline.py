"""The video frame loop: decode -> parse -> track persons -> person mask -> alpha matte -> temporal smoothing
-> composite -> encode.

Audio is carried over (copied or re-encoded, see :mod:`humanparse.video.writer`), timestamps are kept,
the outputs are written to hidden temporary files next to the targets and renamed when complete
(:mod:`humanparse.io.atomic`), so an interrupted job leaves nothing under the final names.

One bad frame never ends the job: a frame whose parsing, matting or smoothing fails for any reason is
written with the previous frame's alpha (the raw frame if there is none yet), counted and reported in
:class:`VideoResult` (``fallbacks``); a video packet that cannot be decoded is skipped and counted
(``decode_errors``). Only an unreadable input, an output that cannot be written, or every frame
failing raises :class:`VideoError`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..backends.base import Backend
from ..io.atomic import atomic_paths, raise_if_terminated
from .metrics import FlickerMeter
from .reader import VideoError, VideoReader
from .smoothing import make_smoother
from .tracking import PersonTracker
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
        json_path: optional per-frame JSON Lines file: one object per frame, ``{"frame", "time", "fallback",
            "persons": [{"id", "state", "bbox", "score", "area", "mask"}]}`` with stable person ids
            (``state`` ``"detected"`` or ``"kept"``, ``mask`` a COCO RLE, see :mod:`humanparse.io.rle`).
        max_frames: stop after this many frames (``None`` = all).
        track: follow persons across frames (:class:`humanparse.video.tracking.PersonTracker`): stable ids,
            and a person missed by the detector for a few frames is kept; ``False``: each frame on its own.
        label_set: label set of every frame's parsing when not the backend's own (:meth:`Parsing.to_label_set`,
            e.g. ``"cihp"``: the ``lite`` backend's bags become background, so they leave the matte too);
            ``parts``, the colour map and the JSON are in it.
    """

    background: object = None
    matting: str = "fast"
    smooth: str = "flow"
    strength: float | None = None
    parts: str | None = None
    masks_path: Path | None = None
    json_path: Path | None = None
    max_frames: int | None = None
    track: bool = True
    label_set: str | None = None


@dataclass
class VideoResult:
    """What :func:`process_video` did. ``fps`` is processing speed (frames per wall-clock second);
    ``flicker_raw`` / ``flicker`` are :func:`humanparse.video.metrics.flicker` of the per-frame and the
    smoothed mattes (alpha units 0..1); ``audio`` is ``"copied"``, ``"re-encoded"`` or ``"none"``;
    ``stage_seconds`` is the mean wall-clock seconds per frame of each stage (decode, parse, matte,
    smooth, composite, encode; audio copying counts towards decode). ``fallbacks`` counts the frames written
    with the previous frame's alpha (or raw) because their processing failed, ``fallback_reasons`` maps each
    error message to its count, ``first_fallback`` is the index of the first such frame; ``decode_errors``
    counts video packets that could not be decoded (skipped); ``persons`` is the number of persons in each
    frame written (after tracking)."""

    output: Path
    frames: int
    seconds: float
    fps: float
    flicker_raw: float
    flicker: float
    audio: str
    masks: Path | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    fallbacks: int = 0
    fallback_reasons: dict[str, int] = field(default_factory=dict)
    first_fallback: int | None = None
    decode_errors: int = 0
    json: Path | None = None
    persons: list[int] = field(default_factory=list)

    def fallback_summary(self) -> str:
        """One line such as ``3 of 1,500 frames fell back (first at frame 17): ValueError: ... (3)``; ``""``
        when no frame fell back and no packet was skipped."""
        parts = []
        if self.fallbacks:
            why = "; ".join(f"{msg} ({k})" for msg, k in sorted(self.fallback_reasons.items(), key=lambda x: -x[1]))
            parts.append(f"{self.fallbacks:,} of {self.frames:,} frames fell back to the previous matte "
                         f"(first at frame {self.first_fallback}): {why}")
        if self.decode_errors:
            parts.append(f"{self.decode_errors:,} undecodable video packet(s) skipped")
        return "; ".join(parts)


def _is_transparent(bg) -> bool:
    return bg is None or (isinstance(bg, str) and bg.lower() in ("transparent", "none"))


def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg[:200]}" if msg else type(e).__name__


def _frame_record(index: int, time_s: float | None, parsing, states: dict[int, str], fallback: str | None) -> dict:
    from ..io import rle

    persons = []
    for p in parsing.persons if parsing is not None else []:
        d = p.to_dict()
        d.pop("part_areas", None)
        d["state"] = states.get(p.id, "detected")
        d["mask"] = rle.encode(parsing.instances == p.id)
        persons.append(d)
    return {"frame": index, "time": None if time_s is None else round(time_s, 6), "fallback": fallback,
            "persons": persons}


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
        :class:`VideoResult`; frames that failed are counted in it (module doc), not raised.
    Raises:
        VideoError: unreadable input (missing, not a video, no decodable frame), input and output are the
            same file, an output container that cannot hold the requested result, or every frame failed.
        ValueError: bad matting / smoothing options or background, or no mapping from the backend's
            label set to ``options.label_set``. KeyError: unknown ``options.label_set``.
        KeyboardInterrupt: passed on after the temporary outputs are removed (nothing under the final names).
    """
    from ..compose import alpha_matte, composite, cover, parse_background
    from ..compose.select import hair_mask

    opts = options or VideoOptions()
    src, dst = Path(src), Path(dst)
    masks = Path(opts.masks_path) if opts.masks_path else None
    json_path = Path(opts.json_path) if opts.json_path else None
    for out in filter(None, (dst, masks, json_path)):
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
    if opts.label_set:
        from ..labels import mapping_lut

        mapping_lut(backend.label_set, opts.label_set)    # unknown set or no mapping: before any frame
    tracker = PersonTracker() if opts.track else None

    raw_meter, out_meter = FlickerMeter(), FlickerMeter()
    t0 = time.perf_counter()
    n = 0
    stages: dict[str, float] = {}
    reasons: Counter = Counter()
    first_fallback = None
    persons: list[int] = []
    with atomic_paths(dst, masks, json_path) as (tmp, tmp_masks, tmp_json), ExitStack() as stack:
        reader = stack.enter_context(VideoReader(src))
        if isinstance(bg, np.ndarray):
            bg = cover(np.ascontiguousarray(bg[..., :3]), reader.height, reader.width)
        expected = reader.frame_count if opts.max_frames is None else min(
            opts.max_frames, reader.frame_count or opts.max_frames)
        writer = stack.enter_context(VideoWriter(tmp, reader.width, reader.height, reader.fps,
                                                 reader.time_base, alpha=alpha_out, audio=reader.audio))
        mask_writer = stack.enter_context(VideoWriter(tmp_masks, reader.width, reader.height, reader.fps,
                                                      reader.time_base)) if masks else None
        json_out = stack.enter_context(open(tmp_json, "w", encoding="utf-8")) if json_path else None
        prev_alpha = prev_colors = None
        clock = time.perf_counter()
        for item in reader.demux(opts.max_frames):
            raise_if_terminated()       # a SIGTERM whose KeyboardInterrupt native code swallowed
            if not hasattr(item, "image"):
                writer.write_audio(item)
                continue
            rgb = np.ascontiguousarray(item.image[..., :3])
            clock = _tick(stages, "decode", clock)
            parsing, fallback = None, None
            try:
                parsing = backend.predict(rgb)
                if opts.label_set:
                    parsing = parsing.to_label_set(opts.label_set)
                if tracker is not None:
                    parsing = tracker.update(rgb, parsing)
                clock = _tick(stages, "parse", clock)
                alpha = alpha_matte(rgb, parsing.mask(opts.parts), method=opts.matting,
                                    hair=hair_mask(parsing) if opts.parts is None else None)
                clock = _tick(stages, "matte", clock)
                raw_meter.update(alpha)
                alpha = smoother.update(rgb, alpha)
                clock = _tick(stages, "smooth", clock)
            except Exception as e:  # noqa: BLE001 - one bad frame must not end the video; counted and reported
                fallback = _reason(e)
                reasons[fallback] += 1
                first_fallback = n if first_fallback is None else first_fallback
                alpha, parsing = prev_alpha, None
                clock = _tick(stages, "parse", clock)
            if alpha is not None:
                out_meter.update(alpha)
            out_frame = rgb if alpha is None else composite(rgb, alpha, bg)
            clock = _tick(stages, "composite", clock)
            writer.write(out_frame, item.pts)
            if mask_writer is not None:
                colors = parsing.colorize() if parsing is not None else prev_colors
                mask_writer.write(colors if colors is not None else np.zeros_like(rgb), item.pts)
                prev_colors = colors
            if json_out is not None:
                json_out.write(json.dumps(_frame_record(item.index, item.time, parsing,
                                                        tracker.states if tracker is not None else {}, fallback))
                               + "\n")
            clock = _tick(stages, "encode", clock)
            prev_alpha = alpha
            persons.append(len(parsing) if parsing is not None else 0)
            n += 1
            if progress is not None:
                progress(n, expected)
        audio = "none" if reader.audio is None else ("copied" if writer.audio_copied else "re-encoded")
        decode_errors = len(reader.decode_errors)
        if n == 0:
            why = f" ({reader.decode_errors[0]})" if reader.decode_errors else ""
            raise VideoError(f"{src}: no video frames could be decoded{why}")
        fallbacks = sum(reasons.values())
        if fallbacks == n:
            raise VideoError(f"{src}: every frame failed ({reasons.most_common(1)[0][0]})")
    secs = time.perf_counter() - t0
    return VideoResult(dst, n, secs, n / secs if secs > 0 else 0.0, raw_meter.value, out_meter.value,
                       audio, masks, {k: v / n for k, v in stages.items()}, fallbacks, dict(reasons),
                       first_fallback, decode_errors, json_path, persons)


def _tick(stages: dict, name: str, since: float) -> float:
    now = time.perf_counter()
    stages[name] = stages.get(name, 0.0) + now - since
    return now
