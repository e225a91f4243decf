"""The training recipe of the ``lite`` parser: ``humanparse train`` / ``make train``.

One run: build (or reuse) the CIHP-20 + bag targets of CCP's train and validation photos with the BodyPix
teacher, then ``steps`` AdamW steps on augmented person crops (:mod:`.data`), cross-entropy plus the
Lovasz-softmax loss (Berman et al., "The Lovasz-Softmax loss", CVPR 2018), linear warm-up then
polynomial decay (power 0.9, as in DeepLab). A checkpoint (model, optimiser, step) is written every
``checkpoint_every`` steps and at the end; a run started again with the same output folder and
settings resumes from it and gives the same weights as an uninterrupted run (data order and
augmentation are functions of ``(seed, epoch, index)``). The last line is the validation figure.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..backends.lite.crops import INPUT_HW
from ..eval.confusion import ConfusionAccumulator
from ..eval.metrics import class_iou, mean_iou, person_iou, pixel_accuracy
from ..nn.parsenet import ParseNet
from .data import Augment, CropDataset, batches, build_targets, ccp_ids, steps_per_epoch
from .losses import lovasz_softmax
from .targets import CLASSES, LABEL_SET

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Settings of one training run (all recorded in the checkpoint and the log).

    Attributes:
        data: CCP folder (``images/``, ``labels/``).
        out: output folder (checkpoint, ``model.pt``, ``train_log.json``).
        targets: folder of cached targets (default ``out/targets-cihp-bag``: named after the label set, so
            targets cached by an older recipe are never reused).
        steps: optimiser steps; batch: crops per step; lr / weight_decay: AdamW;
        warmup: linear warm-up steps; lovasz: weight of the Lovasz-softmax term;
        seed: the one seed of initialisation, data order and augmentation;
        checkpoint_every: steps between checkpoints; threads: torch intra-op threads;
        limit: use only the first ``limit`` train photos (tests; 0 = all);
        val_limit: validate on the first ``val_limit`` validation photos (0 = all);
        mask_input: the network takes the person's pose mask as a fourth channel
            (:class:`~humanparse.nn.parsenet.ParseNet`); the masks are MediaPipe's on each photo
            (:mod:`.posemasks`), cached in ``masks`` (default ``out/pose-masks``). Off in the shipped
            recipe: run 6 (docs/training-log.md) trained with it and was not adopted.
    """

    data: str
    out: str
    targets: str = ""
    masks: str = ""
    mask_input: bool = False
    steps: int = 3000
    batch: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    lovasz: float = 1.0
    seed: int = 0
    checkpoint_every: int = 100
    threads: int = 2
    limit: int = 0
    val_limit: int = 0
    augment: dict = field(default_factory=lambda: asdict(Augment()))

    def recipe(self) -> dict:
        """The settings that define the weights (a checkpoint resumes only under the same recipe)."""
        d = dict(asdict(self), loss=LOSS, input=list(INPUT_HW))
        for k in ("out", "targets", "masks", "data", "checkpoint_every", "threads", "val_limit"):
            d.pop(k)
        return d


def to_tensor(crops: list[np.ndarray]) -> torch.Tensor:
    """``[(H, W, C) uint8]`` -> ``(N, C, H, W)`` float32 0..255, channels-last memory."""
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float()
    return x.contiguous(memory_format=torch.channels_last)


LOSS = "cross-entropy at stride 2 + Lovasz-softmax at stride 4"


def loss_fn(logits: torch.Tensor, target: torch.Tensor, lovasz: float) -> torch.Tensor:
    """Cross-entropy on the logits upsampled x2 against every second target pixel, plus ``lovasz`` x
    Lovasz-softmax at the logits' own stride 4 (full-resolution cross-entropy doubled the step time
    on 2 cores: 3.0 s against 1.5 s per batch of 8, measured)."""
    up = F.interpolate(logits, scale_factor=2, mode="bilinear", align_corners=False)
    loss = F.cross_entropy(up, target[:, ::2, ::2], ignore_index=255)
    if lovasz:
        small = target[:, 1::4, 1::4]  # nearest sample at each stride-4 cell
        loss = loss + lovasz * lovasz_softmax(F.softmax(logits, 1), small, ignore=255)
    return loss


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (1 - t) ** 0.9


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(cfg: TrainConfig, teacher_factory=None, stop_after: int | None = None, quiet: bool = False) -> dict:
    """Run (or resume) the recipe.

    Args:
        cfg: the settings.
        teacher_factory: builds the BodyPix teacher when targets are missing (default: from ../shared/models).
        stop_after: stop (with a checkpoint) once this step is reached, as an interruption would (tests).
        quiet: no progress bar.
    Returns:
        the log dict (also written to ``out/train_log.json``): recipe, seconds, steps done, losses
        every 10 steps and, when finished, ``val`` (:func:`validate`).
    Raises:
        FileNotFoundError: CCP photos or the teacher are missing.
        ValueError: a checkpoint in ``out`` was made with a different recipe.
    """
    from tqdm import tqdm

    from .teacher import BodyPixTeacher

    torch.set_num_threads(cfg.threads)
    root, out = Path(cfg.data), Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    targets = Path(cfg.targets) if cfg.targets else out / f"targets-{LABEL_SET}"
    train_ids = ccp_ids(root, "train")
    if cfg.limit:
        train_ids = train_ids[: cfg.limit]
    val_ids = ccp_ids(root, "val")
    if cfg.val_limit:
        val_ids = val_ids[: cfg.val_limit]
    factory = teacher_factory or BodyPixTeacher
    ids = train_ids + val_ids

    def cache(folder: Path, desc: str, build) -> None:
        # build(progress=...) fills ``folder`` with one PNG per photo id; a bar counts the missing ones
        missing = sum(not (folder / f"{i}.png").is_file() for i in ids)
        if missing:
            with tqdm(total=missing, desc=desc, unit="photo", disable=quiet) as bar:
                build(progress=lambda: bar.update())

    cache(targets, "teacher targets", lambda progress: build_targets(root, ids, targets, factory, progress=progress))
    masks = None
    if cfg.mask_input:
        from .posemasks import build_pose_masks

        masks = Path(cfg.masks) if cfg.masks else out / "pose-masks"
        cache(masks, "pose masks", lambda progress: build_pose_masks(root, ids, targets, masks, progress=progress))

    torch.manual_seed(cfg.seed)
    model = ParseNet(CLASSES, mask_input=cfg.mask_input).init_encoder().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    log = {"recipe": cfg.recipe(), "losses": [], "seconds": 0.0, "step": 0}
    ckpt = out / CHECKPOINT
    if ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        if state["log"]["recipe"] != cfg.recipe():
            raise ValueError(f"{ckpt} was made with another recipe; use a new --out folder or delete it")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        log = state["log"]
        if not quiet:
            print(f"resuming from step {log['step']} of {cfg.steps} ({ckpt})", flush=True)
    data = CropDataset(root, train_ids, targets, Augment(**cfg.augment), seed=cfg.seed, masks=masks)
    per_epoch = steps_per_epoch(len(data), cfg.batch)
    step = log["step"]
    bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", disable=quiet, smoothing=0.05)
    t0 = time.time() - log["seconds"]
    ema = None
    model.train()
    while step < cfg.steps:
        epoch, j = divmod(step, per_epoch)
        idx = batches(len(data), cfg.batch, epoch, cfg.seed)[j]
        pairs = [data.sample(i, epoch) for i in idx]
        x = to_tensor([p[0] for p in pairs])
        y = torch.from_numpy(np.stack([p[1] for p in pairs])).long()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        loss = loss_fn(model(x), y, cfg.lovasz)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        v = loss.item()
        ema = v if ema is None else 0.95 * ema + 0.05 * v
        if step % 10 == 0:
            log["losses"].append([step, round(ema, 4)])
        bar.set_postfix(loss=f"{ema:.3f}", epoch=epoch)
        bar.update()
        done = step == cfg.steps or (stop_after is not None and step >= stop_after)
        if step % cfg.checkpoint_every == 0 or done:
            log["step"], log["seconds"] = step, round(time.time() - t0, 1)
            save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "log": log}, ckpt)
        if done and step < cfg.steps:
            bar.close()
            return log
    bar.close()
    log["step"], log["seconds"] = step, round(time.time() - t0, 1)
    model.eval()
    val = CropDataset(root, val_ids, targets, None, masks=masks)
    log["val"] = validate(torch_predictor(model), val)
    log["data"], log["targets"], log["masks"] = str(root), str(targets), str(masks) if masks else ""
    save_atomic(model.state_dict(), out / "model.pt")
    (out / "train_log.json").write_text(json.dumps(log, indent=1))
    if not quiet:
        v = log["val"]
        print(f"validation ({v['images']} CCP val photos, teacher targets): CIHP-20 + bag mIoU {v['miou']:.1f} %, "
              f"pixel accuracy {v['pixel_accuracy']:.1f} %, person IoU {v['person_iou']:.1f} %; "
              f"{step} steps in {log['seconds'] / 60:.1f} min", flush=True)
    return log


def torch_predictor(model: ParseNet):
    """``crops (N, H, W, C) uint8 -> logits (N, 21, H/4, W/4) float32`` with a PyTorch model in eval mode
    (C = 3, or 4 with the mask channel)."""
    model.eval()

    @torch.no_grad()
    def run(crops: np.ndarray) -> np.ndarray:
        return model(to_tensor(list(crops))).numpy()

    return run


def validate(predict, data: CropDataset, batch: int = 8) -> dict:
    """CIHP-20 + bag mIoU (classes present in the targets), pixel accuracy and person IoU, in percent, on
    ``data`` (plain inference framing, at crop resolution, logits upsampled bilinearly; 255 ignored), with
    the confusion matrix and metrics of ``humanparse eval`` (:mod:`humanparse.eval.metrics`).

    Args:
        predict: ``crops (N, H, W, C) uint8 -> logits (N, 21, h, w)`` (:func:`torch_predictor`, or an
            ONNX session wrapper).
    """
    acc = ConfusionAccumulator(CLASSES)
    for s in range(0, len(data), batch):
        pairs = [data.sample(i) for i in range(s, min(len(data), s + batch))]
        logits = torch.from_numpy(np.asarray(predict(np.stack([p[0] for p in pairs]))))
        pred = F.interpolate(logits, size=INPUT_HW, mode="bilinear", align_corners=False).argmax(1).numpy()
        for p, (_, t) in zip(pred, pairs):
            acc.update(t, p)
    m = acc.matrix
    iou = class_iou(m)
    return {"images": len(data), "miou": round(100 * float(mean_iou(m)), 2),
            "pixel_accuracy": round(100 * float(pixel_accuracy(m)), 2),
            "person_iou": round(100 * float(person_iou(m)), 2),
            "per_class_iou": {int(k): round(100 * float(iou[k]), 2) for k in np.nonzero(~np.isnan(iou))[0]}}
