"""Encode RGB(A) frames to a video file with PyAV, keeping timestamps and the source audio.

Codec per container (all present in PyAV's bundled FFmpeg; see ``docs/video.md``):

=========  =====================================  ===========================================  =======
suffix     opaque video                           transparent video                            audio
=========  =====================================  ===========================================  =======
``.mp4``   H.264 (libx264, yuv420p)               not supported                                AAC
``.mov``   H.264 (libx264, yuv420p)               ProRes 4444 (prores_ks, yuva444p10le)        AAC
``.webm``  VP9 (libvpx-vp9, yuv420p)              VP9 with alpha (libvpx-vp9, yuva420p)        Opus
``.mkv``   H.264 (libx264, yuv420p)               VP9 with alpha (libvpx-vp9, yuva420p)        Opus
=========  =====================================  ===========================================  =======

Audio packets are copied unchanged when the container accepts the source codec (e.g. AAC into MP4/MOV,
Opus into WebM); otherwise they are decoded and re-encoded (AAC or Opus; Opus runs at 48 kHz, the
only rate it shares with common sources).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .reader import VideoError

_X264 = ("libx264", "yuv420p", {"crf": "20", "preset": "veryfast"})
# VP9 realtime settings: the default "good" deadline is about 10x slower on 2 cores.
_VP9_OPTS = {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
_VP9 = ("libvpx-vp9", "yuv420p", _VP9_OPTS)
_VP9A = ("libvpx-vp9", "yuva420p", _VP9_OPTS)
# ProRes 4444 with a 16-bit alpha plane (Apple ProRes white paper: 4444 carries up to 16-bit alpha).
_PRORES = ("prores_ks", "yuva444p10le", {"profile": "4444", "alpha_bits": "16", "vendor": "apl0"})


@dataclass(frozen=True)
class ContainerProfile:
    """Codecs used for one output container (see the module table)."""

    opaque: tuple
    alpha: tuple | None
    audio_codec: str
    audio_copy: frozenset = field(default_factory=frozenset)  # source audio codecs copied as-is


PROFILES: dict[str, ContainerProfile] = {
    ".mp4": ContainerProfile(_X264, None, "aac", frozenset({"aac", "mp3", "alac", "opus", "flac", "ac3"})),
    ".m4v": ContainerProfile(_X264, None, "aac", frozenset({"aac", "mp3", "alac", "ac3"})),
    ".mov": ContainerProfile(_X264, _PRORES, "aac",
                             frozenset({"aac", "mp3", "alac", "ac3", "pcm_s16le", "pcm_s24le", "pcm_f32le"})),
    ".webm": ContainerProfile(_VP9, _VP9A, "libopus", frozenset({"opus", "vorbis"})),
    ".mkv": ContainerProfile(_X264, _VP9A, "libopus",
                             frozenset({"aac", "mp3", "opus", "vorbis", "flac", "ac3", "eac3", "alac", "pcm_s16le"})),
}
ALPHA_SUFFIXES = tuple(k for k, v in PROFILES.items() if v.alpha is not None)
_OPUS_RATES = (48000, 24000, 16000, 12000, 8000)


def profile_for(path, alpha: bool) -> ContainerProfile:
    """The :class:`ContainerProfile` for output ``path``.

    Raises:
        VideoError: unknown suffix, or ``alpha`` requested for a container without an alpha codec.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in PROFILES:
        raise VideoError(f"{path}: unsupported output container {suffix!r}; use one of {', '.join(PROFILES)}")
    prof = PROFILES[suffix]
    if alpha and prof.alpha is None:
        raise VideoError(f"{path}: {suffix} cannot store transparency; use {' or '.join(ALPHA_SUFFIXES)} "
                         "for a transparent background (or pick a colour, image or blur background)")
    return prof


class VideoWriter:
    """Write frames to ``path``. Use as a context manager (the file is finalised on exit).

    Args:
        path: output file; its suffix picks the codecs (:data:`PROFILES`).
        width, height: frame size in pixels. H.264 needs even sizes: odd sizes are padded by one
            edge-replicated row/column.
        fps: nominal frame rate (Fraction), written to the stream header.
        time_base: seconds per ``pts`` unit of the frames passed to :meth:`write` (keep the source's to
            keep its exact timing, including variable frame rate).
        alpha: write RGBA frames with transparency (WebM VP9 ``yuva420p`` or MOV ProRes 4444).
        audio: an ``av.AudioStream`` of the source whose packets will be passed to :meth:`write_audio`.
    Raises:
        VideoError: unsupported container, or alpha requested where it cannot be stored.
    """

    def __init__(self, path, width: int, height: int, fps: Fraction, time_base: Fraction | None = None,
                 alpha: bool = False, audio=None) -> None:
        import av

        self.path = Path(path)
        prof = profile_for(self.path, alpha)
        codec, pix_fmt, options = prof.alpha if alpha else prof.opaque
        self.alpha = alpha
        self.width, self.height = int(width), int(height)
        even = codec == "libx264"
        self._pad = ((self.height % 2) if even else 0, (self.width % 2) if even else 0)
        self.time_base = Fraction(time_base) if time_base else 1 / Fraction(fps)
        try:
            self.container = av.open(str(self.path), "w")
        except (av.error.FFmpegError, OSError) as e:
            raise VideoError(f"{self.path}: cannot open for writing ({e})") from None
        self.stream = self.container.add_stream(codec, rate=Fraction(fps), options=dict(options))
        self.stream.width = self.width + self._pad[1]
        self.stream.height = self.height + self._pad[0]
        self.stream.pix_fmt = pix_fmt
        self.stream.codec_context.time_base = self.time_base
        self._audio_in = audio
        self._audio_out = None
        self._audio_copy = False
        if audio is not None:
            self._add_audio(audio, prof)
        self.frames_written = 0
        self._next_pts = 0
        self._step = max(1, round(1 / (Fraction(fps) * self.time_base)))  # pts units per frame

    def _add_audio(self, src, prof: ContainerProfile) -> None:
        name = src.codec_context.name
        if name in prof.audio_copy:
            self._audio_out = self.container.add_stream_from_template(src)
            self._audio_copy = True
            return
        rate = int(src.codec_context.sample_rate or 48000)
        if prof.audio_codec == "libopus" and rate not in _OPUS_RATES:
            rate = 48000
        layout = src.codec_context.layout.name if src.codec_context.channels <= 2 else "stereo"
        self._audio_out = self.container.add_stream(prof.audio_codec, rate=rate, layout=layout)

    @property
    def audio_copied(self) -> bool:
        """True when audio packets are copied unchanged (no re-encoding)."""
        return self._audio_copy

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Encode one frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB, or ``(H, W, 4)`` uint8 RGBA when the writer has ``alpha``
                (an RGB image is then written fully opaque).
            pts: timestamp in :attr:`time_base` units; ``None`` = previous + one frame.
        Raises:
            ValueError: wrong shape or dtype.
        """
        import av

        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[:2] != (self.height, self.width) \
                or img.shape[2] not in (3, 4):
            raise ValueError(f"frame must be ({self.height}, {self.width}, 3|4) uint8, got {img.shape} {img.dtype}")
        if self.alpha and img.shape[2] == 3:
            img = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
        elif not self.alpha and img.shape[2] == 4:
            img = img[..., :3]
        if any(self._pad):
            img = np.pad(img, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgba" if self.alpha else "rgb24")
        if pts is None:
            pts = self._next_pts
        frame.pts = int(pts)
        frame.time_base = self.time_base
        self._next_pts = int(pts) + self._step
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames_written += 1

    def write_audio(self, packet) -> None:
        """Copy or re-encode one audio packet of the ``audio`` stream given at construction."""
        if self._audio_out is None:
            return
        if self._audio_copy:
            packet.stream = self._audio_out
            self.container.mux(packet)
            return
        for frame in packet.decode():
            for out in self._audio_out.encode(frame):
                self.container.mux(out)

    def close(self) -> None:
        """Flush the encoders and finalise the file."""
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        if self._audio_out is not None and not self._audio_copy:
            for packet in self._audio_out.encode(None):
                self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
