"""``humanparse live --input CAMERA|FILE|URL --output virtual-camera|FILE``: real-time virtual background."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from .common import QuietOpt, err_console, exit_with_error


def _fail(message: object, code: int = 2):
    """:func:`exit_with_error` with the message shown literally (``humanparse[virtualcam]`` is no markup)."""
    from rich.markup import escape

    exit_with_error(escape(str(message)), code)


def live_command(
    input: str = typer.Option(..., "--input", "-i",
                              help="Camera (/dev/video0), a video file (played at its frame rate and looped) or "
                                   "the URL of a local stream (rtsp://127.0.0.1:8554/cam, http://...)."),
    output: str = typer.Option(..., "--output", "-o",
                               help="'virtual-camera' (pyvirtualcam; Linux needs the v4l2loopback module) or a "
                                    "video file (.mp4, .mkv; .webm/.mov/.mkv keep transparency)."),
    background: str = typer.Option("blur", "--background", "--bg",
                                   help="blur | blur:SIGMA | #rrggbb | r,g,b | colour name | image file | transparent."),
    mode: str = typer.Option("person", "--mode", help="person (fast selfie segmenter) or parts (default parser, "
                                                      "its last result reused between its runs)."),
    parts: str = typer.Option(None, "--parts", help="mode parts: keep only these parts, e.g. 'hair,face'."),
    smoothing: float = typer.Option(0.5, "--smoothing", min=0.0, max=0.99,
                                    help="Temporal EMA strength of the matte, 0 = off."),
    refine: bool = typer.Option(False, "--refine", help="Hair-edge refinement (guided-filter matting; slower)."),
    max_fps: float = typer.Option(None, "--max-fps", min=0.1, max=120, help="Process at most this many frames/s."),
    size: str = typer.Option(None, "--size", help="Camera frame size to ask for, WxH (e.g. 640x360)."),
    frames: int = typer.Option(None, "--frames", min=1, help="Stop after this many output frames (default: until "
                                                              "Ctrl-C, or the end of a URL stream)."),
    loop: bool = typer.Option(True, "--loop/--no-loop", help="Files: start again at the end."),
    realtime: bool = typer.Option(True, "--realtime/--every-frame",
                                  help="Files: play at the file's frame rate and drop frames that come while one "
                                       "is in work (like a camera), or process every frame."),
    quiet: bool = QuietOpt,
) -> None:
    """Blur or replace the background behind the people in a camera or stream in real time, and send the result
    to a virtual camera (for Zoom, Meet, OBS, ...) or a file. Prints frames/s and latency as it goes."""
    from ..errors import HumanParseError
    from ..live import LiveOptions, LiveProcessor, RateMeter
    from ..live.sources import VIRTUAL_CAMERA, FileSink, FrameSource, VirtualCameraSink

    try:
        options = LiveOptions(mode=mode, background=background, max_fps=max_fps, smoothing=smoothing, refine=refine,
                              parts=parts)
        from ..compose import parse_background

        bg = parse_background(background)
    except ValueError as e:
        _fail(e)
    transparent = isinstance(bg, str) and bg == "transparent"
    if output == VIRTUAL_CAMERA and transparent:
        _fail("a virtual camera has no transparency: choose a colour, blur or an image background")
    cam_size = None
    if size:
        try:
            w, h = (int(v) for v in size.lower().split("x"))
            cam_size = (w, h)
        except ValueError:
            _fail(f"--size {size!r}: expected WxH, e.g. 640x360")
    if output != VIRTUAL_CAMERA and Path(output).resolve() == Path(input).resolve():
        _fail(f"output {output} would overwrite the input")

    try:
        source = FrameSource(input, loop=loop, realtime=realtime, size=cam_size)
    except HumanParseError as e:
        _fail(e)
    sink = processor = executor = None
    try:
        from fractions import Fraction

        fps = source.fps if max_fps is None else min(source.fps, Fraction(max_fps).limit_denominator(1001))
        keep_pts = source.is_file                # a file in, a file out: the source's timestamps, exactly
        try:
            if output == VIRTUAL_CAMERA:
                sink = VirtualCameraSink(source.width, source.height, float(fps))
            else:
                sink = FileSink(output, source.width, source.height, fps, alpha=transparent,
                                time_base=source.time_base if keep_pts else None)
        except HumanParseError as e:
            _fail(e)
        submit = None
        if mode == "parts":
            from concurrent.futures import ThreadPoolExecutor

            from .common import open_backend

            parser = open_backend(_default_backend())
            executor = ThreadPoolExecutor(1, thread_name_prefix="humanparse-live-parts")
            submit = lambda rgb: executor.submit(parser.predict, rgb)  # noqa: E731
        processor = LiveProcessor(options, parts_submit=submit, background=bg)
        if not quiet:
            where = getattr(sink, "device", output)
            err_console.print(f"live: {input} ({source.width}x{source.height} @ {float(source.fps):.3g} fps) -> "
                              f"{where}, mode {mode}, background {background}; Ctrl-C to stop")
        meter = RateMeter()
        shown = time.perf_counter()
        period = 1.0 / max_fps if max_fps else 0.0
        next_start = 0.0
        try:
            for rgb, arrived, pts in source.frames():
                if period:
                    if time.perf_counter() < next_start:
                        continue                 # over --max-fps: skip this frame
                    next_start = time.perf_counter() + period
                try:
                    frame = processor.process(rgb)
                except KeyError as e:
                    _fail(str(e).strip("'\""))
                if output == VIRTUAL_CAMERA:
                    sink.write(frame.image)
                else:
                    sink.write(frame.image, pts if keep_pts else None)
                meter.add(time.perf_counter() - arrived)
                now = time.perf_counter()
                if not quiet and now - shown >= 1.0:
                    shown = now
                    _status(meter, source.dropped, end="\r" if sys.stderr.isatty() else "\n")
                if frames and meter.count >= frames:
                    break
        except KeyboardInterrupt:
            pass
        except HumanParseError as e:
            _fail(e, code=1)
        if not quiet:
            _status(meter, source.dropped, end="\n")
    finally:
        source.close()
        if processor is not None:
            processor.close()
        if executor is not None:
            executor.shutdown(wait=True)
        if sink is not None:
            sink.close()


def _default_backend() -> str:
    from ..backends import DEFAULT_BACKEND

    return DEFAULT_BACKEND


def _status(meter, dropped: int, end: str) -> None:
    s = meter.summary()
    err_console.print(f"{s['frames']} frames, {s['fps']:.1f} frames/s, latency p50 {s['latency_ms_p50']:.0f} ms "
                      f"p95 {s['latency_ms_p95']:.0f} ms, {dropped} dropped", end=end)
