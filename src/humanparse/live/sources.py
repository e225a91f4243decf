"""Inputs and outputs of ``humanparse live``: a camera, a looped file or a local stream in; a virtual camera or a file out.

Inputs are read with PyAV (FFmpeg): ``/dev/videoN`` through the ``v4l2`` demuxer, an ``rtsp://`` /
``http://`` / ``udp://`` ... URL as FFmpeg opens it, any video file through :class:`humanparse.video.VideoReader`,
played at its own timestamps (like a camera) and looped; each frame keeps its presentation timestamp (continued
across loops), so a file written from a file source has the source's frame rate and timing exactly. The virtual camera is ``pyvirtualcam`` (optional extra
``humanparse[virtualcam]``), which on Linux writes to a v4l2loopback device (the kernel module must be loaded).
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from ..errors import HumanParseError

VIRTUAL_CAMERA = "virtual-camera"

V4L2LOOPBACK_HINT = ("on Linux pyvirtualcam writes to a v4l2loopback device: install and load the kernel module "
                     "(Debian/Ubuntu: 'sudo apt install v4l2loopback-dkms && sudo modprobe v4l2loopback devices=1 "
                     "exclusive_caps=1 card_label=humanparse'); on Windows/macOS install OBS Studio (its virtual camera)")


class LiveSourceError(HumanParseError, ValueError):
    """An input cannot be opened or read, or an output cannot be opened."""


def is_device(spec: str) -> bool:
    """Whether ``spec`` names a V4L2 camera (``/dev/video0``)."""
    return spec.startswith("/dev/video")


def is_url(spec: str) -> bool:
    """Whether ``spec`` is a URL (``scheme://...``) for FFmpeg."""
    return "://" in spec


class SourceFrame(NamedTuple):
    """One frame handed out by :meth:`FrameSource.frames`."""

    image: np.ndarray
    """``(H, W, 3)`` uint8 RGB."""
    arrived: float
    """When the reading thread delivered it (``time.perf_counter()``)."""
    pts: int | None
    """Presentation timestamp in :attr:`FrameSource.time_base` units (files: the file's own, plus the length of
    the passes before when looping); ``None`` when the input has none."""


class FrameSource:
    """RGB frames from a camera, a URL or a file, read by a background thread into a one-frame slot.

    Args:
        spec: ``/dev/videoN``, a URL, or a video file path.
        loop: files only: start again at the end (default True).
        realtime: files only: deliver frames at the file's frame rate, like a camera (a slow consumer then
            misses frames); False: deliver every frame, waiting for the consumer.
        size: ``(width, height)`` to ask a camera for (``None``: its default).
    Attributes:
        width, height (px), fps (Fraction) of the input; time_base (Fraction): seconds per ``pts`` unit of the
        frames (``None`` when unknown); ``dropped``: frames the consumer missed.
    Raises:
        LiveSourceError: the input cannot be opened.
    """

    def __init__(self, spec: str, loop: bool = True, realtime: bool = True, size: tuple[int, int] | None = None) -> None:
        from .slot import LatestSlot

        self.spec, self.loop, self.realtime = spec, loop, realtime
        self.is_file = not (is_device(spec) or is_url(spec))
        self._size = size
        self._slot: LatestSlot = LatestSlot()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._ended = False
        first = self._open()
        self.height, self.width = first[0].shape[:2]
        self._first = first
        self._thread = threading.Thread(target=self._run, name="humanparse-live-source", daemon=True)

    # ------------------------------------------------------------------ opening
    def _open(self) -> tuple[np.ndarray, int | None]:
        """Open the input, return its first frame and pts (so size errors show up before the model loads)."""
        import av

        if self.is_file:
            from ..video import VideoReader

            try:
                self._reader = VideoReader(self.spec)
            except HumanParseError as e:
                raise LiveSourceError(str(e)) from None
            self.fps = self._reader.fps
            self.time_base = self._reader.time_base
            self._step = max(1, round(1 / (self.fps * self.time_base)))   # pts units of one frame
            self._offset = 0
            self._frames = self._file_pass()
        else:
            options = {"fflags": "nobuffer"}
            fmt = None
            if is_device(self.spec):
                fmt = "v4l2"
                if not Path(self.spec).exists():
                    raise LiveSourceError(f"{self.spec}: no such camera device")
                if self._size:
                    options["video_size"] = f"{self._size[0]}x{self._size[1]}"
            try:
                self._container = av.open(self.spec, format=fmt, options=options, timeout=10)
            except (av.error.FFmpegError, OSError, ValueError) as e:
                raise LiveSourceError(f"{self.spec}: cannot open ({e})") from None
            if not self._container.streams.video:
                self._container.close()
                raise LiveSourceError(f"{self.spec}: no video stream")
            stream = self._container.streams.video[0]
            self.fps = Fraction(stream.average_rate or stream.guessed_rate or 30)
            self.time_base = Fraction(stream.time_base) if stream.time_base else None
            self._frames = ((vf.to_ndarray(format="rgb24"), vf.pts) for vf in self._container.decode(stream))
        try:
            first = next(self._frames)
        except StopIteration:
            raise LiveSourceError(f"{self.spec}: no frames") from None
        except Exception as e:  # noqa: BLE001 - FFmpeg decode errors
            raise LiveSourceError(f"{self.spec}: cannot read a frame ({e})") from None
        return first

    def _file_pass(self) -> Iterator[tuple[np.ndarray, int]]:
        """``(image, pts)`` of one pass over the file; pts are the file's own plus :attr:`_offset` (the length of
        the passes before), a frame without one gets the previous pts plus one frame. Afterwards
        :attr:`_offset` is where the next pass starts: the last pts plus that frame's duration (the step
        between the last two frames)."""
        first = last = None
        step = self._step
        for f in self._reader.frames():
            pts = f.pts if f.pts is not None else (last + step if last is not None else 0)
            if last is not None and pts > last:
                step = pts - last
            first = pts if first is None else first
            last = pts
            yield f.image, pts + self._offset
        if last is not None:
            self._offset += last + step - first

    def _reopen(self) -> bool:
        self._reader.close()
        from ..video import VideoReader

        self._reader = VideoReader(self.spec)
        self._frames = self._file_pass()
        return True

    # ------------------------------------------------------------------ reading thread
    def _deliver(self, frame: tuple[np.ndarray, int | None]) -> None:
        if self.realtime or not self.is_file:
            self._slot.put(SourceFrame(frame[0], time.perf_counter(), frame[1]))
        else:                                           # every frame: wait until the consumer took the last one
            with self._cond:
                while len(self._slot) and not self._stop.is_set():
                    self._cond.wait(0.1)
                self._slot.put(SourceFrame(frame[0], time.perf_counter(), frame[1]))
        with self._cond:
            self._cond.notify_all()

    def _run(self) -> None:
        period = float(1 / self.fps) if self.fps else 1 / 30
        t_next = time.perf_counter()
        frame = self._first
        last_pts = None
        try:
            while not self._stop.is_set():
                if self.is_file and self.realtime:     # paced by the file's timestamps (variable rates too)
                    if last_pts is not None:
                        gap = float((frame[1] - last_pts) * self.time_base)
                        t_next = max(t_next + (gap if gap > 0 else period), time.perf_counter() - period)
                    delay = t_next - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    last_pts = frame[1]
                self._deliver(frame)
                try:
                    frame = next(self._frames)
                except StopIteration:
                    if not (self.is_file and self.loop):
                        break
                    self._reopen()
                    frame = next(self._frames)
        except Exception as e:  # noqa: BLE001 - handed to the consumer
            self._error = e
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    # ------------------------------------------------------------------ consuming
    def frames(self) -> Iterator[SourceFrame]:
        """The newest frame each time the consumer asks, with its arrival time and timestamp (:class:`SourceFrame`).

        Reading starts with the first call (so model loading before it drops no frames). Ends when the input
        ends (not a looped file) or :meth:`close` is called.

        Raises:
            LiveSourceError: reading failed.
        """
        if not self._thread.is_alive() and not self._ended:
            self._thread.start()
        while True:
            with self._cond:
                while not len(self._slot) and not self._ended and not self._stop.is_set():
                    self._cond.wait(0.5)
                item = self._slot.take()
                self._cond.notify_all()
            if item is not None:
                yield item
                continue
            if self._error is not None:
                raise LiveSourceError(f"{self.spec}: reading failed ({self._error})")
            return

    @property
    def dropped(self) -> int:
        """Frames replaced before the consumer took them."""
        return self._slot.dropped

    def close(self) -> None:
        """Stop reading and close the input. Idempotent."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(5)
        for name in ("_reader", "_container"):
            obj = getattr(self, name, None)
            if obj is not None:
                obj.close()
                setattr(self, name, None)

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VirtualCameraSink:
    """Frames to a virtual camera through ``pyvirtualcam``.

    Args:
        width, height: frame size (px); fps: nominal rate announced to the device.
    Raises:
        LiveSourceError: pyvirtualcam is not installed, or no virtual camera device is available (the message
            says how to get one: :data:`V4L2LOOPBACK_HINT`).
    """

    def __init__(self, width: int, height: int, fps: float) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise LiveSourceError("--output virtual-camera needs pyvirtualcam: pip install 'humanparse[virtualcam]'; "
                                  + V4L2LOOPBACK_HINT) from None
        try:
            self._cam = pyvirtualcam.Camera(width=width, height=height, fps=float(fps),
                                            fmt=pyvirtualcam.PixelFormat.RGB)
        except (RuntimeError, OSError, ValueError) as e:
            raise LiveSourceError(f"no virtual camera available ({e}); {V4L2LOOPBACK_HINT}") from None
        self.device = self._cam.device

    def write(self, rgb: np.ndarray) -> None:
        """Send one ``(H, W, 3)`` uint8 RGB frame of the configured size."""
        self._cam.send(np.ascontiguousarray(rgb))

    def close(self) -> None:
        """Release the device. Idempotent."""
        if self._cam is not None:
            self._cam.close()
            self._cam = None


class FileSink:
    """Frames to a video file (:class:`humanparse.video.VideoWriter`; RGBA to ``.webm``/``.mov``/``.mkv`` for
    ``transparent``).

    Args:
        path: output file; width, height: px; fps: nominal frame rate (a Fraction keeps e.g. 30000/1001 exact;
            a float is rounded to a denominator <= 1001).
        alpha: write transparency.
        clock: frames written without a ``pts``: stamp each with its wall-clock time (a live recording plays at
            the rate it was made); False: one frame every ``1 / fps`` s.
        time_base: seconds per ``pts`` unit of :meth:`write` (a file source's, to keep its timestamps exactly);
            default 1/1000.
    Raises:
        VideoError: unsupported container or alpha where it cannot be stored.
    """

    def __init__(self, path, width: int, height: int, fps: float | Fraction, alpha: bool = False, clock: bool = True,
                 time_base: Fraction | None = None) -> None:
        from ..video import VideoWriter

        self.time_base = Fraction(time_base) if time_base else Fraction(1, 1000)
        self._fps = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
        self._writer = VideoWriter(path, width, height, self._fps, self.time_base, alpha)
        self._clock = clock
        self._t0: float | None = None
        self._last_pts: int | None = None
        self.frames = 0

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Append one frame (``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA uint8).

        Args:
            pts: its timestamp in :attr:`time_base` units (a file source's, kept as is); ``None``: stamped as
                ``clock`` says. A pts not after the previous one becomes the previous + 1 (a muxer refuses it).
        """
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now
        if pts is None:
            t = Fraction(now - self._t0) if self._clock else self.frames / self._fps
            pts = round(t / self.time_base)
        if self._last_pts is not None:
            pts = max(self._last_pts + 1, int(pts))
        self.frames += 1
        self._writer.write(image, int(pts))
        self._last_pts = int(pts)

    def close(self) -> None:
        """Finish the file. Idempotent."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
