"""``humanparse eval``: measure a backend's accuracy on annotated images (overall, per class, per skin tone)."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import (BackendOpt, DetectThresholdOpt, FlipOpt, MaxPersonsOpt, ModelOpt, QuietOpt, WeightsOpt, backend_options, err_console,
                     detect_option, flip_option)


def select_split(samples: list, split: str) -> list:
    """The samples of CCP's fixed ``split`` (``humanparse.train.data.split_of``); ``"all"`` keeps every one.

    Raises:
        ValueError: an unknown split, or a sample id that is not a photo number.
    """
    if split == "all":
        return samples
    if split not in ("train", "val", "test"):
        raise ValueError(f"unknown split {split!r}: choose all, train, val or test")
    from ..train.data import split_of

    bad = [s.id for s in samples if not s.id.isdigit()]
    if bad:
        raise ValueError(f"--split needs numbered photos (CCP's NNNN ids); got {bad[0]!r}")
    return [s for s in samples if split_of(int(s.id)) == split]


def eval_command(
    images: Path = typer.Option(..., "--images", help="Folder of images <id>.jpg."),
    labels: Path = typer.Option(..., "--labels", help="Folder of ground-truth label maps <id>.png (class ids)."),
    label_set: str = typer.Option(..., "--label-set", "-l", help="Label set of the ground truth: ccp, cihp, lip, atr, ppp, ..."),
    instances: Path = typer.Option(None, "--instances", help="Folder of ground-truth person-instance maps <id>.png (for APr)."),
    map_to: str = typer.Option("auto", "--map", help="Comparison label set: auto (same set, else coarse), coarse, cihp, ..."),
    merge: str = typer.Option("auto", "--merge",
                              help="Fold classes together on both sides, e.g. face=skin; auto (face=skin when only one side "
                                   "has a face class); none."),
    backend: str = BackendOpt,
    max_persons: int = MaxPersonsOpt,
    weights: Path = WeightsOpt,
    model: str = ModelOpt,
    flip: bool = FlipOpt,
    detect_threshold: float = DetectThresholdOpt,
    fairness: bool = typer.Option(False, "--fairness", help="Also report accuracy per ITA skin-tone group with bootstrap CIs."),
    limit: int = typer.Option(None, "--limit", min=1, help="Evaluate only the first N images (sorted by id)."),
    split: str = typer.Option("all", "--split",
                              help="CCP's fixed split by photo number: test (divisible by 5), val (ending in 1), "
                                   "train (the rest), or all."),
    out: Path = typer.Option(Path("eval-out"), "--out", "-o", help="Output folder for reports (and the prediction cache)."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Cache predictions in OUT/predictions/<backend> for fast re-runs."),
    n_boot: int = typer.Option(1000, "--boot", min=10, help="Bootstrap resamples for the fairness CIs."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    min_group: int = typer.Option(5, "--min-group", min=1, help="Fewest persons for a skin-tone group to get a CI."),
    name: str = typer.Option(None, "--name", help="Dataset name in the reports (default: the images folder's parent)."),
    quiet: bool = QuietOpt,
) -> None:
    """Run a backend over annotated images and write metrics.json, report.md, iou.png, confusion.png
    (and fairness.json / fairness.md with --fairness)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..api import load_backend
    from ..errors import HumanParseError
    from ..eval.compare import make_comparison
    from ..eval.datasets import check_classes_file, find_samples
    from ..eval.report import write_reports
    from ..eval.runner import evaluate
    from ..labels import get_label_set
    from ..logs import quiet_requested

    try:
        gt_set = get_label_set(label_set)
        check_classes_file(labels.parent, gt_set)
        samples = select_split(find_samples(images, labels, instances), split)[:limit]
        with quiet_requested(quiet):       # -q: a hub client downloading weights prints no retry warnings
            model_ = load_backend(backend, **backend_options(max_persons, weights, model,
                                                             **flip_option(backend, flip),
                                                             **detect_option(backend, detect_threshold)))
        make_comparison(gt_set, model_.label_set, map_to, merge)  # fail fast on a bad --map / --merge
    except (KeyError, ValueError, HumanParseError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        err_console.print(f"[bold red]error[/] {msg}")
        raise typer.Exit(2)

    cache_dir = out / "predictions" / model_.name if cache else None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, disable=quiet) as bar:
        task = bar.add_task(f"eval {model_.name}", total=len(samples))
        result = evaluate(samples, gt_set, model_, map_to, merge, fairness=fairness, cache_dir=cache_dir,
                          progress=lambda done, total, sid: bar.update(task, completed=done))
    if result.images == 0:
        for sid, msg in result.failures[:10]:
            err_console.print(f"[bold red]error[/] {sid}: {msg}")
        err_console.print("[bold red]error[/] no image could be evaluated")
        raise typer.Exit(1)
    dataset = {"name": name or images.resolve().parent.name, "images_dir": str(images), "labels_dir": str(labels),
               "instances_dir": str(instances) if instances else None, "label_set": gt_set.name, "limit": limit}
    files = write_reports(result, out, dataset, fairness=fairness, n_boot=n_boot, seed=seed, min_units=min_group)
    for sid, msg in result.failures:
        err_console.print(f"[bold red]error[/] {sid}: {msg}")
    if not quiet:
        import json

        m = json.loads(files["metrics.json"].read_text())
        line = (f"{result.images} image(s): mIoU {100 * (m['miou'] or 0):.1f}%, pixel accuracy "
                f"{100 * (m['pixel_accuracy'] or 0):.1f}% ({result.comparison.describe()})")
        if "instances" in m and m["instances"]["human"]["apr_50"] is not None:
            line += f", APr@0.5 {100 * m['instances']['human']['apr_50']:.1f}%"
        err_console.print(line)
        err_console.print(f"reports in {out}: {', '.join(sorted(files))}")
    if result.failures:
        raise typer.Exit(1)
