"""``humanparse parse PATH... -o DIR``: parse images and folders into label maps, colour maps, overlays, JSON."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from .common import (BackendOpt, DetectThresholdOpt, FlipOpt, MaxPersonsOpt, ModelOpt, QuietOpt, WeightsOpt, backend_options,
                     check_label_set, detect_option, err_console, flip_option, input_files, open_backend, run_per_file)


def parse_command(
    paths: list[Path] = typer.Argument(..., help="Image files or folders (folders recurse)."),
    out: Path = typer.Option(Path("humanparse-out"), "--out", "-o", help="Output folder."),
    format: str = typer.Option("labels,color,overlay,json", "--format", "-f",
                               help="Comma-separated list of: labels, instances, color, overlay, json, cutout."),
    backend: str = BackendOpt,
    max_persons: int = MaxPersonsOpt,
    weights: Path = WeightsOpt,
    model: str = ModelOpt,
    runtime: str = typer.Option(None, "--runtime", help="m2fp only: torch or onnx."),
    flip: bool = FlipOpt,
    detect_threshold: float = DetectThresholdOpt,
    label_set: str = typer.Option(None, "--label-set", "-l",
                                  help="Output label set, when not the backend's own: one its classes map to, "
                                       "e.g. cihp for plain CIHP-20 from lite (whose cihp-bag adds a bag class; "
                                       "bags become background). See `humanparse labels`."),
    quiet: bool = QuietOpt,
) -> None:
    """Parse every person in each image into body parts and clothing; write the chosen formats."""
    from ..io.atomic import commit, staging_dir
    from ..io.image import load_image
    from ..parsing import FORMATS

    formats = [f.strip() for f in format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise typer.BadParameter(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}",
                                 param_hint="--format")
    files = input_files(paths, out)
    model_ = open_backend(backend, quiet=quiet, **backend_options(max_persons, weights, model, runtime=runtime,
                                                                       **flip_option(backend, flip),
                                                                       **detect_option(backend, detect_threshold)))

    check_label_set(model_.name, model_.label_set, label_set)     # before any work
    persons = 0

    def work(f: Path, stem: str, targets: list[Path]) -> None:
        nonlocal persons
        t0 = time.perf_counter()
        image = load_image(f)
        t1 = time.perf_counter()
        result = model_.predict(image)
        if label_set:
            result = result.to_label_set(label_set)
        t2 = time.perf_counter()
        result.timings.update(decode=t1 - t0, inference=t2 - t1)       # the JSON's "timings", in seconds
        pictures = [k for k in formats if k != "json"]
        with staging_dir(targets[0].parent) as tmp:     # outputs appear complete or not at all
            written = result.save(tmp, pictures, stem=Path(stem).name, image=image) if pictures else {}
            if "json" in formats:
                if pictures:
                    result.timings["write"] = time.perf_counter() - t2
                written.update(result.save(tmp, ["json"], stem=Path(stem).name))
            commit((written[k], t) for k, t in zip(formats, targets))
        persons += len(result)

    def targets_of(stem: str) -> list[Path]:
        return [(out / f"{stem}.json") if k == "json" else (out / f"{stem}_{k}.png") for k in formats]

    failed = run_per_file(files, paths, "parsing", targets_of, work, quiet)
    if not quiet:
        ok = len(files) - len(failed)
        err_console.print(f"{ok} of {len(files)} image(s) parsed, {persons} person(s) found, "
                          f"{len(failed)} failed; outputs in {out}")
    if failed:
        raise typer.Exit(1)
