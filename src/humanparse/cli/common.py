"""Pieces shared by CLI commands: backend options, input checks, error lines, progress bars, help layout."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperGroup

from ..backends import DEFAULT_BACKEND
from ..backends.base import MAX_PERSONS

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

_METAVARS = {"str": "TEXT", "path": "PATH", "int": "N", "int range": "N", "float": "X", "float range": "X"}


def _help_type(param, ctx) -> str | None:
    """What help shows after an option: ``PATH``, ``TEXT``, ``N``; nothing for flags and arguments
    (Typer's default shows Python annotations such as ``<list[Path]>`` or ``<bool>``)."""
    if isinstance(param, TyperArgument) or getattr(param, "is_flag", False):
        return None
    if param.metavar:
        return param.metavar
    raw = type(param).display_type(param, ctx).strip("<>")
    return _METAVARS.get(raw, raw.upper())


def _plain_help(command) -> None:
    params_of = command.get_params

    def get_params(ctx):                    # includes --help, which is made per context
        params = params_of(ctx)
        for param in params:
            param.display_type_rich = lambda ctx, param=param: _help_type(param, ctx)
        return params

    command.get_params = get_params
    if command.help:                        # docstring line breaks would break the help at odd places
        paragraphs = re.split(r"\n\s*\n", command.help)
        command.help = "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class PlainHelpGroup(TyperGroup):
    """The ``humanparse`` command group: the help of every sub-command shows option values as
    ``PATH``, ``TEXT`` or ``N`` instead of Python types."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _plain_help(self)

BackendOpt = typer.Option(DEFAULT_BACKEND, "--backend", "-b",
                          help="Backend: lite (offline default, our trained network), mediapipe (offline, "
                               "rule-based), m2fp, segformer.")
MaxPersonsOpt = typer.Option(MAX_PERSONS, "--max-persons", "-n", min=1, help="Most persons to parse per image.")
WeightsOpt = typer.Option(None, "--weights", "-w", help="Local weights (checkpoint dir or file) for hub backends.")
ModelOpt = typer.Option(None, "--model", "-m", help="Model name of the backend (see `humanparse models list`).")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bar or summary.")
FlipOpt = typer.Option(None, "--flip/--no-flip",
                       help="lite only: also run each person mirrored and average (test-time augmentation, "
                            "~10-15 ms more per person; on by default with YOLOX persons).")

DetectThresholdOpt = typer.Option(None, "--min-score", metavar="S",
                                  help="lite / mediapipe: YOLOX person score threshold, 0 <= S < 1 (default: "
                                       "the backend's, 0.2, chosen on real crowd photos). Lower finds more "
                                       "people, and more false ones.")


def detect_option(backend: str, threshold: float | None) -> dict:
    """``{"score_threshold": t}`` for ``--min-score t`` with a backend that finds persons with YOLOX
    (lite, mediapipe), ``{}`` without the flag.

    Raises:
        typer.BadParameter: ``--min-score`` with another backend (it would be silently ignored), or
            ``t`` outside [0, 1).
    """
    if threshold is None:
        return {}
    if backend not in ("lite", "mediapipe"):
        raise typer.BadParameter(f"only the lite and mediapipe backends take a detection threshold, not {backend}",
                                 param_hint="--min-score")
    if not 0.0 <= threshold < 1.0:
        raise typer.BadParameter(f"{threshold} is not in [0, 1)", param_hint="--min-score")
    return {"score_threshold": float(threshold)}


def flip_option(backend: str, flip: bool | None) -> dict:
    """``{"flip": flip}`` for ``--flip`` / ``--no-flip`` with the lite backend, ``{}`` without either (the
    backend's default).

    Raises:
        typer.BadParameter: ``--flip`` or ``--no-flip`` with another backend (it would be silently ignored).
    """
    if flip is None:
        return {}
    if backend != "lite":
        raise typer.BadParameter(f"only the lite backend has flip averaging, not {backend}", param_hint="--flip")
    return {"flip": bool(flip)}


def check_label_set(backend: str, own: str, label_set: str | None) -> str:
    """The label set a command writes: ``label_set`` when given, else the backend's ``own``.

    Raises:
        typer.BadParameter: ``label_set`` is unknown, or ``own`` has no mapping to it (a usage error,
            raised before any work; the message says what the backend outputs).
    """
    if not label_set:
        return own
    from ..labels import mapping_lut

    try:
        mapping_lut(own, label_set)
    except (KeyError, ValueError) as e:
        raise typer.BadParameter(f"{backend} outputs {own}: {e.args[0]}", param_hint="--label-set") from None
    return label_set


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


def open_backend(name: str, quiet: bool = False, **options):
    """:func:`humanparse.api.load_backend`, or one error line and exit code 2 when it cannot load.

    Args:
        quiet: the command's ``-q``: a hub client downloading weights prints no warnings (retries).
    """
    from ..api import load_backend
    from ..errors import HumanParseError
    from ..logs import quiet_requested

    try:
        with quiet_requested(quiet):
            return load_backend(name, **options)
    except HumanParseError as e:
        exit_with_error(e)


def input_files(paths: list[Path], out: Path | None = None) -> list[Path]:
    """Image files under ``paths`` (folders recurse, hidden files and the output folder ``out`` left out).
    Checked before any model loads: a path that does not exist, an output folder that cannot be made
    (:func:`make_out_dir`, which creates it) or is an input folder, or no image at all, is one error line
    and exit code 2."""
    from ..io.image import iter_image_files

    missing = [p for p in paths if not p.exists()]
    if missing:
        exit_with_error(f"{', '.join(map(str, missing))}: no such file or folder")
    if out is not None:
        make_out_dir(out)
        same = [p for p in paths if p.is_dir() and out.exists() and p.resolve() == out.resolve()]
        if same:
            exit_with_error(f"output folder {out} is the input folder {same[0]}: the next run would read its "
                            f"outputs as inputs; choose another --out, e.g. {Path(same[0]) / 'out'}")
    files = iter_image_files(paths, skip=[out] if out is not None else ())
    if not files:
        exit_with_error("no image files found in the given paths")
    return files


def make_out_dir(out: Path) -> None:
    """Create the output folder ``out`` (and its parents), or refuse it before any work with one error line
    naming it and exit code 2: an existing file, a path under a file, or a folder that cannot be made
    (the reason in words, not an errno)."""
    import errno

    for parent in (out, *out.parents):
        if parent.exists():
            if not parent.is_dir():
                what = "is a file" if parent == out else f"is under {parent}, which is a file"
                exit_with_error(f"output folder {out} {what}; choose another --out")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "the file system is read-only", errno.ENOSPC: "the disk is full",
               errno.ENOENT: "the system does not allow folders there"}.get(e.errno, (e.strerror or str(e)).lower())
        exit_with_error(f"cannot create the output folder {out}: {why}; choose another --out")


def key_error_message(error: KeyError) -> str:
    """The message of a ``KeyError`` as written, not its repr (``str(KeyError("x"))`` is ``"'x'"``)."""
    return str(error.args[0]) if error.args else "unknown key"


def progress_bar(*columns, quiet: bool = False, hide: bool = False):
    """A rich progress bar on stderr (``disable`` when ``quiet`` or ``hide``); see :func:`drop_progress`."""
    from rich.progress import Progress

    return Progress(*columns, console=err_console, disable=quiet or hide, transient=False)


def drop_progress(bar) -> None:
    """Stop ``bar`` and erase it, so an error line is not preceded by a dead ``0/?`` bar (a bar that
    finished normally stays on screen)."""
    bar.live.transient = True
    bar.stop()


def fail_line(path: Path | str, error: BaseException) -> None:
    """Print one clear error line naming the file."""
    msg = str(error).replace(f"{path}: ", "")
    err_console.print(f"[bold red]error[/] {path}: {msg}")


def run_per_file(files: list[Path], roots: list[Path], description: str, targets_of, work,
                 quiet: bool = False) -> list[Path]:
    """Run ``work`` on each input file with a progress bar (shown for more than one file).

    For each file: ``stem`` from :func:`humanparse.io.naming.output_stems` (never the same for two
    inputs), ``targets = targets_of(stem)`` (the paths it will write); a target that is one of the
    inputs is refused; then ``work(file, stem, targets)``. A file whose work raises a humanparse, OS, value or key error gets one error line naming it, and the rest continue.

    Returns:
        the files that failed, in order.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from ..errors import HumanParseError
    from ..io.naming import output_stems

    inputs = {f.resolve() for f in files if f.exists()}
    stems = output_stems(files, roots)
    failed: list[Path] = []
    with progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      quiet=quiet, hide=len(files) < 2) as bar:
        task = bar.add_task(description, total=len(files))
        for f, stem in zip(files, stems):
            try:
                targets = targets_of(stem)
                clash = [t for t in targets if t.resolve() in inputs]
                if clash:
                    raise HumanParseError(f"output {clash[0]} would overwrite an input; choose another --out")
                work(f, stem, targets)
            except (HumanParseError, OSError, ValueError, KeyError) as e:
                fail_line(f, ValueError(key_error_message(e)) if isinstance(e, KeyError) else e)
                failed.append(f)
            bar.advance(task)
    return failed
