"""``humanparse batch IN_DIR -o OUT_DIR``: parse a folder of images, resumably, locally or on Ray."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import (BackendOpt, DetectThresholdOpt, MaxPersonsOpt, ModelOpt, QuietOpt, WeightsOpt, backend_options,
                     check_label_set, detect_option, drop_progress, err_console, progress_bar)


def batch_command(
    in_dir: Path = typer.Argument(..., help="Folder of images (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (sub-folders of IN_DIR are kept)."),
    format: str = typer.Option("labels,color,overlay,json", "--format", "-f",
                               help="Comma-separated list of: labels, instances, color, overlay, json, cutout."),
    engine: str = typer.Option("local", "--engine", help="local (this process) or ray (Ray Data model actors)."),
    address: str = typer.Option(None, "--address",
                                help="Ray cluster address (engine ray); default: start a local Ray instance."),
    workers: int = typer.Option(1, "--workers", "-j", min=1,
                                help="Parallel workers: threads (local) or model actors (ray)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo inputs whose outputs already exist."),
    backend: str = BackendOpt,
    label_set: str = typer.Option(None, "--label-set", "-l",
                                  help="Output label set, when not the backend's own: one its classes map to, "
                                       "e.g. cihp for plain CIHP-20 from lite (bags become background)."),
    max_persons: int = MaxPersonsOpt,
    detect_threshold: float = DetectThresholdOpt,
    weights: Path = WeightsOpt,
    model: str = ModelOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Parse every image under IN_DIR into OUT_DIR. Resumable: inputs whose outputs exist are skipped
    (OUT_DIR/batch_job.json records the backend, model, weights, --max-persons, --min-score and --label-set; a run
    asking for others stops unless --overwrite); bad files are listed in OUT_DIR/batch_report.jsonl and
    do not stop the run (exit code 1 if any failed)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from ..api import load_backend
    from ..backends import backend_class, get_backend
    from ..batch import plan_batch, run_local, run_ray
    from ..errors import HumanParseError

    if engine not in ("local", "ray"):
        raise typer.BadParameter(f"{engine}: choose local or ray", param_hint="--engine")
    if address and engine != "ray":
        raise typer.BadParameter("--address needs --engine ray", param_hint="--address")
    if label_set:
        try:
            own = backend_class(backend).label_set
        except HumanParseError as e:
            err_console.print(f"[bold red]error[/] {e}")
            raise typer.Exit(2)
        check_label_set(backend, own, label_set)        # before any work
    detect = detect_option(backend, detect_threshold)          # a usage error before any work
    job = {"backend": backend, "model": model, "weights": str(weights.resolve()) if weights else None,
           "max_persons": max_persons}
    if detect:                      # recorded only when asked for: folders of earlier runs stay resumable
        job["min_score"] = detect["score_threshold"]
    try:
        plan = plan_batch(in_dir, out, format, overwrite=overwrite, label_set=label_set, job=job)
    except HumanParseError as e:
        err_console.print(f"[bold red]error[/] {e}")
        raise typer.Exit(2)
    if plan.total == 0:
        err_console.print(f"[bold red]error[/] no image files found in {in_dir}")
        raise typer.Exit(2)
    opts = backend_options(max_persons, weights, model, **detect)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[speed]} images/s"), TimeRemainingColumn())
    with progress_bar(*columns, quiet=quiet) as bar:
        task = bar.add_task(f"batch ({engine})", total=plan.total, speed="-")

        def tick(record: dict) -> None:
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, speed=f"{speed:.2f}" if speed else "-")
            if record["status"] == "failed":
                bar.console.print(f"[bold red]failed[/] {record['input']}: {record.get('error', '')}")

        try:
            if engine == "ray":
                summary = run_ray(plan, backend, opts, workers=workers, address=address, progress=tick)
            elif workers == 1:
                summary = run_local(plan, lambda: load_backend(backend, **opts), progress=tick)
            else:
                summary = run_local(plan, lambda: get_backend(backend, **opts), workers=workers, progress=tick)
        except HumanParseError as e:
            drop_progress(bar)
            err_console.print(f"[bold red]error[/] {e}")
            raise typer.Exit(2)
    if not quiet:
        err_console.print(f"{summary.total} image(s): {summary.done} done, {summary.skipped} skipped "
                          f"(already complete), {summary.failed} failed in {summary.seconds:.1f} s; "
                          f"report {summary.report}")
    if summary.failed:
        raise typer.Exit(1)
