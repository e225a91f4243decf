"""``humanparse parse PATH... -o DIR``: parse images and folders into label maps, colour maps, overlays, JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import BackendOpt, MaxPersonsOpt, ModelOpt, WeightsOpt, backend_options, err_console, fail_line, output_stem


def parse_command(
    paths: list[Path] = typer.Argument(..., help="Image files or folders (folders recurse)."),
    out: Path = typer.Option(Path("humanparse-out"), "--out", "-o", help="Output folder."),
    format: str = typer.Option("labels,color,overlay,json", "--format", "-f",
                               help="Comma-separated: labels,instances,color,overlay,json,cutout."),
    backend: str = BackendOpt,
    max_persons: int = MaxPersonsOpt,
    weights: Path = WeightsOpt,
    model: str = ModelOpt,
    runtime: str = typer.Option(None, "--runtime", help="m2fp only: torch or onnx."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Parse every person in each image into body parts and clothing; write the chosen formats."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..api import load_backend
    from ..errors import HumanParseError
    from ..io.image import iter_image_files, load_image
    from ..parsing import FORMATS

    formats = [f.strip() for f in format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise typer.BadParameter(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}",
                                 param_hint="--format")
    files = iter_image_files(paths)
    if not files:
        err_console.print("[bold red]error[/] no image files found in the given paths")
        raise typer.Exit(2)
    try:
        model_ = load_backend(backend, **backend_options(max_persons, weights, model, runtime=runtime))
    except HumanParseError as e:
        err_console.print(f"[bold red]error[/] {e}")
        raise typer.Exit(2)

    inputs = {f.resolve() for f in files if f.exists()}
    failed: list[Path] = []
    persons = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, disable=quiet or len(files) < 2, transient=False) as bar:
        task = bar.add_task("parsing", total=len(files))
        for f in files:
            try:
                stem = output_stem(f, paths)
                targets = [(out / f"{stem}.json") if k == "json" else (out / f"{stem}_{k}.png") for k in formats]
                clash = [t for t in targets if t.resolve() in inputs]
                if clash:
                    raise HumanParseError(f"output {clash[0]} would overwrite an input; choose another --out")
                image = load_image(f)
                result = model_.predict(image)
                (out / stem).parent.mkdir(parents=True, exist_ok=True)
                result.save((out / stem).parent, formats, stem=Path(stem).name, image=image)
                persons += len(result)
            except (HumanParseError, OSError) as e:
                fail_line(f, e)
                failed.append(f)
            bar.advance(task)
    if not quiet:
        ok = len(files) - len(failed)
        err_console.print(f"{ok} of {len(files)} image(s) parsed, {persons} person(s) found, "
                          f"{len(failed)} failed; outputs in {out}")
    if failed:
        raise typer.Exit(1)
