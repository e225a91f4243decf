"""``humanparse video IN -o OUT``: remove or replace the background of every person in a video."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import (BackendOpt, DetectThresholdOpt, MaxPersonsOpt, detect_option, ModelOpt, QuietOpt, WeightsOpt, backend_options, check_label_set,
                     drop_progress, err_console, fail_line, key_error_message, open_backend)


def video_command(
    src: Path = typer.Argument(..., help="Input video (any format FFmpeg reads)."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Output video: .mp4, .mov, .webm or .mkv (transparency: .webm, .mov, .mkv)."),
    background: str = typer.Option(None, "--background", "--bg",
                                   help="transparent | blur | blur:SIGMA | #rrggbb | r,g,b | colour name | image "
                                        "file. Default: transparent for .webm/.mov/.mkv, green (#00ff00) otherwise."),
    matting: str = typer.Option("fast", "--matting",
                                help="Alpha matte: off (hard mask) or fast (closed-form matting on a downscaled edge band)."),
    smooth: str = typer.Option("flow", "--smooth", help="Temporal smoothing against flicker: off, ema or flow."),
    strength: float = typer.Option(None, "--strength", min=0.0, max=0.99,
                                   help="Smoothing strength in [0, 1) (default: ema 0.6, flow 0.7)."),
    parts: str = typer.Option(None, "--parts",
                              help="Keep only these parts, e.g. 'hair,face' (default: whole persons)."),
    masks: Path = typer.Option(None, "--masks", help="Also write the part colour map as a video (e.g. masks.mp4)."),
    json_out: Path = typer.Option(None, "--json",
                                  help="Also write per-frame persons (stable ids, boxes, RLE masks) as JSON Lines."),
    track: bool = typer.Option(True, "--track/--no-track",
                               help="Follow persons across frames: stable ids, a missed detection keeps the person."),
    max_frames: int = typer.Option(None, "--max-frames", min=1, help="Process only the first N frames."),
    label_set: str = typer.Option(None, "--label-set", "-l",
                                  help="Label set of --parts, --masks and --json when not the backend's own, e.g. "
                                       "cihp for plain CIHP-20 from lite (bags become background and leave the matte)."),
    backend: str = BackendOpt,
    max_persons: int = MaxPersonsOpt,
    detect_threshold: float = DetectThresholdOpt,
    weights: Path = WeightsOpt,
    model: str = ModelOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Cut every person out of a video frame by frame, smooth the matte over time, and put them on a new
    background (or keep transparency). Audio, frame rate and timestamps are kept. A frame that fails is
    written with the previous frame's matte and reported; the output appears only when complete."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..errors import HumanParseError
    from ..video import SMOOTHING_MODES, VideoOptions, VideoReader, process_video

    if matting not in ("off", "fast"):
        raise typer.BadParameter(f"{matting!r}: choose off or fast", param_hint="--matting")
    if smooth not in SMOOTHING_MODES:
        raise typer.BadParameter(f"{smooth!r}: choose from {', '.join(SMOOTHING_MODES)}", param_hint="--smooth")
    if not src.is_file():
        err_console.print(f"[bold red]error[/] {src}: no such file")
        raise typer.Exit(2)
    try:                                    # a text file or a photo is refused before the model loads
        VideoReader(src).close()
    except HumanParseError as e:
        fail_line(src, e)
        raise typer.Exit(1)
    model_ = open_backend(backend, quiet=quiet, **backend_options(max_persons, weights, model,
                                                                  **detect_option(backend, detect_threshold)))
    out_set = check_label_set(model_.name, model_.label_set, label_set)     # before any frame
    if parts is not None:                   # a misspelt part is refused before the first frame, by name
        from ..labels import resolve_parts

        try:
            resolve_parts(out_set, parts)
        except KeyError as e:
            raise typer.BadParameter(key_error_message(e), param_hint="--parts") from None
    opts = VideoOptions(background=background, matting=matting, smooth=smooth, strength=strength, parts=parts,
                        masks_path=masks, json_path=json_out, max_frames=max_frames, track=track,
                        label_set=label_set)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[speed]} frames/s"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, disable=quiet, transient=False) as bar:
        task = bar.add_task("video", total=None, speed="-")

        def tick(done: int, expected: int) -> None:
            speed = bar.tasks[0].speed
            bar.update(task, completed=done, total=expected or None, speed=f"{speed:.1f}" if speed else "-")

        try:
            result = process_video(src, out, model_, opts, progress=tick)
        except (HumanParseError, ValueError, KeyError, OSError) as e:
            drop_progress(bar)             # no dead 0/? bar above the error line
            fail_line(src, e)
            raise typer.Exit(1)
    if result.fallback_summary():           # always said, even with --quiet: part of the output is degraded
        err_console.print(f"[bold yellow]warning[/] {src}: {result.fallback_summary()}")
    if not quiet:
        extra = "".join(f", {what} in {path}" for what, path in (("part masks", result.masks),
                                                                 ("per-frame persons", result.json)) if path)
        err_console.print(
            f"{result.frames} frame(s) in {result.seconds:.1f} s ({result.fps:.1f} frames/s); audio {result.audio}; "
            f"flicker {result.flicker_raw:.4f} -> {result.flicker:.4f} (smoothing {smooth}); "
            f"written {result.output}{extra}")
