"""Synthetic test clips: a still photo filmed by a static camera, with sensor noise, exposure jitter and a tone.

Used by the tests and ``bench/bench_video.py`` so no video file has to be stored. Every frame is the same
photo, so any change of the matte between frames is flicker (:mod:`humanparse.video.metrics`).
"""

from __future__ import annotations

from pathlib import Path

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
    import av

    path = Path(path)
    if path.suffix.lower() not in (".mp4", ".webm"):
        raise ValueError(f"{path}: make_static_clip writes .mp4 or .webm")
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2].astype(np.float32)
    webm = path.suffix.lower() == ".webm"
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libvpx-vp9" if webm else "libx264", rate=fps,
                            options={"deadline": "realtime", "cpu-used": "8"} if webm else {"preset": "veryfast"})
        vs.width, vs.height, vs.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
        aus = out.add_stream("libopus" if webm else "aac", rate=sample_rate, layout="mono") if tone_hz else None
        n = int(round(sample_rate * frames / fps))
        wave = (0.3 * np.sin(2 * np.pi * (tone_hz or 0) * np.arange(n) / sample_rate)).astype(np.float32)
        done = 0
        for i in range(frames):
            frame = img * rng.uniform(1 - gain_jitter, 1 + gain_jitter) + rng.normal(0, noise, img.shape)
            vf = av.VideoFrame.from_ndarray(np.clip(frame + 0.5, 0, 255).astype(np.uint8), format="rgb24")
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
