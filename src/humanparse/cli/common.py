"""Pieces shared by CLI commands: backend options, output naming, error lines."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

BackendOpt = typer.Option("mediapipe", "--backend", "-b", help="Backend: mediapipe (offline default), m2fp, segformer.")
MaxPersonsOpt = typer.Option(10, "--max-persons", "-n", min=1, help="Most persons to parse per image.")
WeightsOpt = typer.Option(None, "--weights", "-w", help="Local weights (checkpoint dir or file) for hub backends.")
ModelOpt = typer.Option(None, "--model", "-m", help="Model name of the backend (see `humanparse models list`).")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bar or summary.")


def backend_options(max_persons: int, weights: Path | None, model: str | None = None, **extra) -> dict:
    """Keyword options for :func:`humanparse.get_backend` from CLI flags (None values left out)."""
    opts = {"max_persons": max_persons, **{k: v for k, v in extra.items() if v is not None}}
    if weights is not None:
        opts["weights"] = str(weights)
    if model is not None:
        opts["model"] = model
    return opts


def exit_with_error(message: object, code: int = 2):
    """Print ``error <message>`` on stderr and end the command with exit ``code`` (2 = bad usage/set-up)."""
    err_console.print(f"[bold red]error[/] {message}")
    raise typer.Exit(code)


def open_backend(name: str, **options):
    """:func:`humanparse.api.load_backend`, or one error line and exit code 2 when it cannot load."""
    from ..api import load_backend
    from ..errors import HumanParseError

    try:
        return load_backend(name, **options)
    except HumanParseError as e:
        exit_with_error(e)


def input_files(paths: list[Path]) -> list[Path]:
    """Image files under ``paths`` (folders recurse), or one error line and exit code 2 when there are none."""
    from ..io.image import iter_image_files

    files = iter_image_files(paths)
    if not files:
        exit_with_error("no image files found in the given paths")
    return files


def output_stem(src: Path, roots: list[Path]) -> str:
    """Output file stem for input ``src``: its path relative to the folder given on the command line
    (so files from sub-folders don't collide), without suffix, with ``/`` kept as sub-folders."""
    for root in roots:
        if root.is_dir():
            try:
                rel = src.resolve().relative_to(root.resolve())
                return str(rel.with_suffix(""))
            except ValueError:
                continue
    return src.stem


def fail_line(path: Path | str, error: BaseException) -> None:
    """Print one clear error line naming the file."""
    msg = str(error).replace(f"{path}: ", "")
    err_console.print(f"[bold red]error[/] {path}: {msg}")


def run_per_file(files: list[Path], roots: list[Path], description: str, targets_of, work,
                 quiet: bool = False) -> list[Path]:
    """Run ``work`` on each input file with a progress bar (shown for more than one file).

    For each file: ``stem = output_stem(file, roots)``, ``targets = targets_of(stem)`` (the paths it will
    write); a target that is one of the inputs is refused; then ``work(file, stem, targets)``. A file whose
    work raises a humanparse, OS, value or key error gets one error line naming it, and the rest continue.

    Returns:
        the files that failed, in order.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..errors import HumanParseError

    inputs = {f.resolve() for f in files if f.exists()}
    failed: list[Path] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, disable=quiet or len(files) < 2, transient=False) as bar:
        task = bar.add_task(description, total=len(files))
        for f in files:
            try:
                stem = output_stem(f, roots)
                targets = targets_of(stem)
                clash = [t for t in targets if t.resolve() in inputs]
                if clash:
                    raise HumanParseError(f"output {clash[0]} would overwrite an input; choose another --out")
                work(f, stem, targets)
            except (HumanParseError, OSError, ValueError, KeyError) as e:
                fail_line(f, ValueError(str(e).strip("'\"")) if isinstance(e, KeyError) else e)
                failed.append(f)
            bar.advance(task)
    return failed
