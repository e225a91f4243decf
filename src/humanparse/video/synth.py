"""Synthetic test clips: a still photo filmed by a static camera (sensor noise, exposure jitter) or panned over, with a tone.

Used by the tests and ``bench/bench_video.py`` so no video file has to be stored. In a static clip every frame
is the same photo, so any change of the matte between frames is flicker (:mod:`humanparse.video.metrics`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np


def make_static_clip(path, image: np.ndarray, frames: int = 12, fps: int = 12, noise: float = 5.0,
                     gain_jitter: float = 0.04, tone_hz: float | None = 440.0, sample_rate: int = 48000,
                     seed: int = 0) -> Path:
    """Encode ``frames`` noisy copies of ``image`` as an H.264 ``.mp4`` (or VP9 ``.webm``) with an AAC
    (or Opus) sine tone as long as the video.

    Args:
        path: output file, ``.mp4`` or ``.webm``.
        image: ``(H, W, 3)`` uint8 RGB; odd sizes are cropped to even (H.264 / yuv420p).
        frames, fps: number of frames and frame rate (frames / s).
        noise: standard deviation of the added Gaussian noise, grey levels (0..255).
        gain_jitter: each frame is multiplied by a gain drawn uniformly in ``1 +- gain_jitter`` (auto-exposure).
        tone_hz: audio frequency in Hz, ``None`` = no audio track. ``sample_rate`` in Hz, mono, amplitude 0.3.
        seed: random seed (the clip is reproducible).
    Returns:
        ``Path(path)``.
    Raises:
        ValueError: bad image, or ``path`` is neither ``.mp4`` nor ``.webm``.
    """
    img = _check_image(image)
    img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2].astype(np.float32)
    rng = np.random.default_rng(seed)

    def frame(_: int) -> np.ndarray:
        f = img * rng.uniform(1 - gain_jitter, 1 + gain_jitter) + rng.normal(0, noise, img.shape)
        return np.clip(f + 0.5, 0, 255).astype(np.uint8)

    return encode_clip(path, frame, frames, fps, tone_hz, sample_rate)


def make_pan_clip(path, image: np.ndarray, size: tuple[int, int], frames: int = 50, fps: int = 25,
                  step: tuple[int, int] = (2, 0), start: tuple[int, int] = (0, 0),
                  tone_hz: float | None = 440.0, sample_rate: int = 48000) -> Path:
    """A camera pan over a still photo: frame ``i`` is the ``size`` window of ``image`` whose top-left corner
    is ``start + i * step``, encoded like :func:`make_static_clip` (no noise added).

    Args:
        path: output file, ``.mp4`` or ``.webm``.
        image: ``(H, W, 3)`` uint8 RGB, large enough for every window.
        size: ``(width, height)`` of the frames in px (even, for yuv420p).
        frames, fps: number of frames and frame rate (frames / s).
        step: ``(dx, dy)`` px the window moves per frame; ``start``: ``(x, y)`` of the first window.
        tone_hz, sample_rate: audio as in :func:`make_static_clip`.
    Returns:
        ``Path(path)``.
    Raises:
        ValueError: bad image or size, a window outside the image, or an unsupported suffix.
    """
    img = _check_image(image)
    w, h = int(size[0]), int(size[1])
    if w < 2 or h < 2 or w % 2 or h % 2:
        raise ValueError(f"size must be even and >= 2, got {size}")
    for i in (0, frames - 1):
        x, y = start[0] + i * step[0], start[1] + i * step[1]
        if x < 0 or y < 0 or x + w > img.shape[1] or y + h > img.shape[0]:
            raise ValueError(f"frame {i}: window ({x}, {y}, {w}x{h}) lies outside the {img.shape[1]}x{img.shape[0]} image")

    def frame(i: int) -> np.ndarray:
        x, y = start[0] + i * step[0], start[1] + i * step[1]
        return np.ascontiguousarray(img[y:y + h, x:x + w])

    return encode_clip(path, frame, frames, fps, tone_hz, sample_rate)


def _check_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    return img


def encode_clip(path, frame: Callable[[int], np.ndarray], frames: int, fps: int, tone_hz: float | None = 440.0,
                sample_rate: int = 48000) -> Path:
    """Encode ``frame(0) .. frame(frames - 1)`` (each ``(H, W, 3)`` uint8 RGB, even sizes) as H.264 ``.mp4``
    with AAC audio or VP9 ``.webm`` with Opus audio: a mono sine of ``tone_hz`` Hz (amplitude 0.3) as long as
    the video, interleaved with it; ``tone_hz=None``: no audio.

    Raises:
        ValueError: ``path`` is neither ``.mp4`` nor ``.webm``.
    """
    import av

    path = Path(path)
    if path.suffix.lower() not in (".mp4", ".webm"):
        raise ValueError(f"{path}: the test clips are .mp4 or .webm")
    webm = path.suffix.lower() == ".webm"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libvpx-vp9" if webm else "libx264", rate=fps,
                            options={"deadline": "realtime", "cpu-used": "8"} if webm else {"preset": "veryfast"})
        vs.pix_fmt = "yuv420p"
        aus = out.add_stream("libopus" if webm else "aac", rate=sample_rate, layout="mono") if tone_hz else None
        n = int(round(sample_rate * frames / fps))
        wave = (0.3 * np.sin(2 * np.pi * (tone_hz or 0) * np.arange(n) / sample_rate)).astype(np.float32)
        done = 0
        for i in range(frames):
            rgb = frame(i)
            if i == 0:
                vs.width, vs.height = rgb.shape[1], rgb.shape[0]
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            for packet in vs.encode(vf):
                out.mux(packet)
            upto = n if i == frames - 1 else int(round(sample_rate * (i + 1) / fps))
            while aus is not None and done < upto:       # interleave audio with video, 1024-sample frames
                chunk = wave[None, done:min(done + 1024, upto)]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
                af.sample_rate, af.pts = sample_rate, done
                done += chunk.shape[1]
                for packet in aus.encode(af):
                    out.mux(packet)
        for stream in filter(None, (vs, aus)):
            for packet in stream.encode(None):
                out.mux(packet)
    return path
