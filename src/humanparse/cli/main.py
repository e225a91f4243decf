"""The ``humanparse`` command. Each sub-command lives in its own module; imports stay lazy for a fast start."""

from __future__ import annotations

import importlib

import typer

from .common import PlainHelpGroup

app = typer.Typer(cls=PlainHelpGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Multi-person human parsing: body parts and clothing, person by person.")

# (command name, module, function). Modules whose optional dependencies are missing are skipped.
_COMMANDS = [
    ("parse", "parse", "parse_command"),
    ("labels", "labels", "labels_command"),
    ("models", "models", "app"),
    ("serve", "serve", "serve_command"),
    ("cutout", "cutout", "cutout_command"),
    ("video", "video", "video_command"),
    ("batch", "batch", "batch_command"),
    ("eval", "eval", "eval_command"),
    ("live", "live", "live_command"),
    ("train", "train", "train_command"),
]

for _name, _module, _attr in _COMMANDS:
    try:
        _obj = getattr(importlib.import_module(f"humanparse.cli.{_module}"), _attr)
    except (ImportError, AttributeError):
        continue
    if isinstance(_obj, typer.Typer):
        app.add_typer(_obj, name=_name)
    else:
        app.command(_name)(_obj)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"humanparse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print the version and exit."),
          verbose: bool = typer.Option(False, "--verbose", help="Also show MediaPipe's and ONNX Runtime's own log "
                                       "lines (same as HUMANPARSE_LOG_LEVEL=debug).")) -> None:
    if verbose:
        from ..logs import set_verbose

        set_verbose()


def main() -> None:
    """Console-script entry point. SIGTERM ends a command like Ctrl-C does, so partial outputs are cleaned up,
    and the exit status is then 143 (128 + SIGTERM), as for a process the signal ended."""
    import signal
    import sys

    from ..io.atomic import TERMINATED, sigterm_as_interrupt

    sigterm_as_interrupt()
    try:
        app()
    except SystemExit:
        if TERMINATED.is_set():
            sys.exit(128 + signal.SIGTERM)
        raise


if __name__ == "__main__":
    main()
