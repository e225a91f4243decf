"""``humanparse models list|pull|path``: the model catalogue, downloads into the cache, cache paths."""

from __future__ import annotations

import json

import typer

from .common import err_console

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Model catalogue: list models, pull weights into the cache, print cache paths.")

WIDE_TABLE = 160
"""Terminal columns from which ``models list`` prints a table (narrower: one block per model)."""

JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table / plain text.")


def _entry(name: str):
    from ..models import UnknownModelError, get_model

    try:
        return get_model(name)
    except UnknownModelError as e:
        raise typer.BadParameter(str(e), param_hint="NAME") from None


def _fail(error: BaseException) -> None:
    """One error line on stderr, exit code 2."""
    err_console.print(f"[bold red]error[/] {error}", soft_wrap=True)
    raise typer.Exit(2)


@app.command("list")
def list_command(as_json: bool = JsonOpt) -> None:
    """List the models humanparse knows: backend, label set, source, licence, and whether they are cached."""
    from ..models import CATALOG, cache_status

    rows = []
    for e in CATALOG:
        status, path = cache_status(e)
        rows.append({**e.to_dict(), "source": e.source, "status": status, "path": str(path)})
    outputs = [f"{r['label_set']} labels" if r["label_set"] else "person boxes" for r in rows]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    licences = [r["licence"] + (" [NON-COMMERCIAL]" if r["commercial_use"] is False else "") for r in rows]
    if console.width < WIDE_TABLE:           # a 7-column table would fold every cell: one block per model
        for r, licence, output in zip(rows, licences, outputs):
            console.print(f"[bold]{r['name']}[/]  {r['backend']} backend, {output}, {r['status']}")
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=10)
            grid.add_column(overflow="fold")
            for key, value in (("source", r["source"]), ("licence", licence), ("path", r["path"])):
                grid.add_row(f"  {key}:", escape(value))
            console.print(grid)
        return
    table = Table(title="humanparse models", show_lines=False)
    for col in ("name", "backend", "outputs", "source", "licence", "cached?", "path"):
        table.add_column(col, overflow="fold")
    for r, licence, output in zip(rows, licences, outputs):
        table.add_row(r["name"], r["backend"], output, r["source"], escape(licence), r["status"], r["path"])
    console.print(table)


@app.command("pull")
def pull_command(
    name: str = typer.Argument(..., help="Model name (see `humanparse models list`)."),
    revision: str = typer.Option(None, "--revision", help="Hub revision instead of the pinned one "
                                 "(catalogue checksums then do not apply)."),
    force: bool = typer.Option(False, "--force", help="Download again even if cached."),
    as_json: bool = JsonOpt,
) -> None:
    """Download a model's files into the cache (pinned revision, checksums verified); print the folder."""
    from ..errors import HumanParseError
    from ..models import pull, read_lock_of

    entry = _entry(name)
    try:
        path = pull(entry, revision=revision, force=force)
    except HumanParseError as e:
        _fail(e)
    if entry.commercial_use is False:
        err_console.print(f"[yellow]note[/] {entry.name} licence: {entry.licence}", soft_wrap=True)
    if as_json:
        typer.echo(json.dumps({"name": entry.name, "path": str(path), "lock": read_lock_of(path)}, indent=1))
    else:
        typer.echo(str(path))


@app.command("path")
def path_command(
    name: str = typer.Argument(..., help="Model name (see `humanparse models list`)."),
    as_json: bool = JsonOpt,
) -> None:
    """Print the folder where a model's files live (or must be copied to, for offline machines)."""
    from ..models import cache_status

    entry = _entry(name)
    status, path = cache_status(entry)
    if as_json:
        typer.echo(json.dumps({"name": entry.name, "path": str(path), "status": status,
                               "files": [f.name for f in entry.files]}, indent=1))
    else:
        typer.echo(str(path))
