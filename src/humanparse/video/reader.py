"""Decode a video file with PyAV: RGB(A) frames with their timestamps, plus the audio packets.

A thin wrapper over :func:`av.open`. VP8/VP9 streams that carry an alpha channel (WebM with
``alpha_mode=1``) are decoded with libvpx, because FFmpeg's native VP9 decoder drops the alpha plane
that Matroska stores in ``BlockAdditional`` side data.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import HumanParseError


class VideoError(HumanParseError, ValueError):
    """A video cannot be read or written: missing, corrupt, no video stream, unsupported container."""


@dataclass
class Frame:
    """One decoded video frame.

    Attributes:
        index: 0-based decode order.
        image: ``(H, W, 3)`` uint8 RGB, or ``(H, W, 4)`` uint8 RGBA when the stream has alpha.
        pts: presentation timestamp in units of ``time_base`` (``None`` if the stream has none).
        time_base: seconds per ``pts`` unit.
    """

    index: int
    image: np.ndarray
    pts: int | None
    time_base: Fraction

    @property
    def time(self) -> float | None:
        """Presentation time in seconds, or ``None``."""
        return None if self.pts is None else float(self.pts * self.time_base)


_ALPHA_DECODERS = {"vp9": "libvpx-vp9", "vp8": "libvpx"}

NOT_VIDEO_DEMUXERS = frozenset({"tty", "ansi", "bin", "xbin", "idf", "adf", "image2", "image2pipe", "lrc",
                                "srt", "ass", "webvtt", "subviewer", "data"})
"""FFmpeg demuxers that present a non-video file as a video stream: text files (``tty``: rendered as ANSI
art), still images (``image2`` and every ``*_pipe`` image demuxer: a JPEG would become a 1-frame clip)."""


def _not_a_video_format(name: str) -> bool:
    """Whether the FFmpeg demuxer ``name`` (comma-separated aliases) reads text or still images."""
    names = set(name.split(","))
    return bool(names & NOT_VIDEO_DEMUXERS) or any(n.endswith("_pipe") for n in names)


def _format_has_alpha(pix_fmt: str | None) -> bool:
    """Whether the FFmpeg pixel format ``pix_fmt`` has an alpha component."""
    import av

    if not pix_fmt:
        return False
    try:
        return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)
    except ValueError:
        return False


class VideoReader:
    """Open ``path`` for reading. Use as a context manager.

    Attributes (read-only): ``width``, ``height`` (pixels), ``fps`` (Fraction, average frame rate),
    ``time_base`` (Fraction), ``frame_count`` (from the header; 0 when unknown), ``duration`` (seconds or
    ``None``), ``has_alpha``, ``audio`` (the first ``av.AudioStream`` or ``None``), ``container``.

    Raises:
        VideoError: the file is missing, not a media file, has no video stream, or is a text file or a still
            image that FFmpeg would present as one (:data:`NOT_VIDEO_DEMUXERS`).
    """

    def __init__(self, path) -> None:
        import av

        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such file")
        try:
            self.container = av.open(str(self.path), "r")
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise VideoError(f"{self.path}: not a readable video ({e})") from None
        fmt = self.container.format.name or ""
        if not self.container.streams.video:
            self.container.close()
            raise VideoError(f"{self.path}: no video stream")
        if _not_a_video_format(fmt):
            self.container.close()
            raise VideoError(f"{self.path}: not a video (FFmpeg reads it as {fmt!r}: "
                             f"{'an image' if 'image' in fmt or fmt.endswith('_pipe') else 'text or raw data'})")
        self.stream = self.container.streams.video[0]
        if self.stream.codec_context.name in (None, "", "none"):
            self.container.close()
            raise VideoError(f"{self.path}: the video stream has no decodable codec")
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        cc = self.stream.codec_context
        self.width, self.height = int(cc.width), int(cc.height)
        rate = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
        if not rate:
            self.container.close()
            raise VideoError(f"{self.path}: the video stream has no frame rate")
        self.fps = Fraction(rate)
        self.time_base = Fraction(self.stream.time_base) if self.stream.time_base else 1 / self.fps
        self.frame_count = int(self.stream.frames or 0)
        self.has_alpha = self.stream.metadata.get("alpha_mode") == "1" or _format_has_alpha(cc.pix_fmt)
        self.decode_errors: list[str] = []
        """Video packets that failed to decode and were skipped (one message each), filled while decoding."""
        self._decoder = None
        if self.stream.metadata.get("alpha_mode") == "1" and cc.name in _ALPHA_DECODERS:
            self._decoder = av.CodecContext.create(_ALPHA_DECODERS[cc.name], "r")

    # ------------------------------------------------------------------ facts
    @property
    def duration(self) -> float | None:
        """Duration of the video stream in seconds (header value; ``None`` if unknown)."""
        if self.stream.duration is not None:
            return float(self.stream.duration * self.time_base)
        if self.container.duration is not None:
            return self.container.duration / 1_000_000
        return None

    # ------------------------------------------------------------------ decoding
    def _to_frame(self, vf, index: int) -> Frame:
        fmt = "rgba" if self.has_alpha and _format_has_alpha(vf.format.name) else "rgb24"
        return Frame(index, vf.to_ndarray(format=fmt), vf.pts, self.time_base)

    def _decode_packet(self, packet):
        if self._decoder is None:
            return packet.decode()
        return self._decoder.decode(packet)

    def frames(self, max_frames: int | None = None) -> Iterator[Frame]:
        """Decode the video stream from the start.

        Args:
            max_frames: stop after this many frames (``None`` = all).
        Yields:
            :class:`Frame` in presentation order.
        Raises:
            VideoError: the stream is corrupt beyond recovery.
        """
        yield from self.demux(max_frames, audio=False)

    def demux(self, max_frames: int | None = None, audio: bool = True) -> Iterator:
        """Interleaved decoded video frames and raw audio packets, in file order.

        Yields :class:`Frame` objects and ``av.Packet`` objects of :attr:`audio` (not decoded, so they
        can be copied into another container). After ``max_frames`` video frames, audio packets keep
        coming until they pass the end time of the last frame, so the audio matches the cut video.
        A video packet that fails to decode is skipped and noted in :attr:`decode_errors`; an error of
        the container itself ends decoding with :class:`VideoError`.
        """
        import av

        streams = [self.stream] + ([self.audio] if audio and self.audio is not None else [])
        index = 0
        end_time = None
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is None:
                        continue
                    if end_time is not None and packet.pts is not None \
                            and packet.pts * packet.time_base >= end_time:
                        return
                    yield packet
                    continue
                if end_time is not None:
                    if self.audio is None or not audio:
                        return
                    continue
                try:
                    decoded = list(self._decode_packet(packet))
                except av.error.FFmpegError as e:       # one corrupt packet: skip it, keep decoding
                    self.decode_errors.append(f"packet at pts {packet.pts}: {e}")
                    continue
                for vf in decoded:
                    yield self._to_frame(vf, index)
                    index += 1
                    if max_frames is not None and index >= max_frames:
                        dur = vf.duration * self.time_base if vf.duration else 1 / self.fps
                        end_time = (vf.pts or 0) * self.time_base + dur
                        break
        except av.error.FFmpegError as e:
            raise VideoError(f"{self.path}: decoding failed at frame {index} ({e})") from None

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the file."""
        self.container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_frames(path, max_frames: int | None = None) -> list[Frame]:
    """All frames of ``path`` (RGBA when the video has alpha). Convenience for tests and tools."""
    with VideoReader(path) as r:
        return list(r.frames(max_frames))
