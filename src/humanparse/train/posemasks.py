"""The pose masks a mask-input network is trained with: MediaPipe's own mask of each CCP photo's person.

At inference (:mod:`humanparse.backends.lite.backend`) the network's fourth input channel is the soft
segmentation mask of the MediaPipe pose pass that found the person. Training must show it masks with
the same errors (loose hair and clothes missed, background bleeding in), so instead of the ground
truth it uses the mask the same detector gives on the training photo: the photo runs through the
backend's person detection (:func:`humanparse.persons.pose_finder.detect_persons`, default settings),
and the detected person whose mask (> 0.5) overlaps the ground-truth person best is kept. A photo
where no detection overlaps the person gets an all-zero mask (the network then learns to do without).

Masks are cached as ``cache/NNNN.png`` (uint8 0..255, the photo's size), built once per photo.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..io.atomic import atomic_path


def best_mask(masks: list[np.ndarray], person: np.ndarray) -> np.ndarray:
    """The mask (of ``masks``, each ``(H, W)`` float32 0..1) whose ``> 0.5`` region has the highest IoU
    with ``person`` (``(H, W)`` bool); all zeros when none overlaps it. Returns ``(H, W)`` float32."""
    best, best_iou = np.zeros(person.shape, np.float32), 0.0
    for m in masks:
        on = m > 0.5
        union = np.logical_or(on, person).sum()
        iou = np.logical_and(on, person).sum() / union if union else 0.0
        if iou > best_iou:
            best, best_iou = m.astype(np.float32), float(iou)
    return best


def build_pose_masks(root: Path, ids: list[str], targets: Path, cache: Path, detector_factory=None,
                     progress=None) -> None:
    """Write the pose mask of each photo to ``cache/NNNN.png`` (skipped when present).

    Args:
        root: CCP folder (``images/NNNN.jpg``).
        ids: photo ids.
        targets: folder of the cached targets (their non-zero pixels are the ground-truth person).
        cache: output folder.
        detector_factory: builds a :class:`humanparse.persons.pose.Detector` (default settings of
            the ``lite`` backend); only called when a mask is missing.
        progress: called once per written mask.
    """
    from ..backends.lite.backend import MAX_PERSONS, MIN_SIZE, WORK_SIZE, pose_detector
    from ..persons.pose_finder import detect_persons, resize_for_work

    cache.mkdir(parents=True, exist_ok=True)
    todo = [i for i in ids if not (cache / f"{i}.png").is_file()]
    if not todo:
        return
    detector = (detector_factory or pose_detector)()
    try:
        for i in todo:
            image = np.asarray(Image.open(root / "images" / f"{i}.jpg").convert("RGB"))
            person = np.asarray(Image.open(targets / f"{i}.png")) != 0
            work, s = resize_for_work(image, WORK_SIZE, MIN_SIZE)
            persons = detect_persons(detector, work, MAX_PERSONS)
            h, w = image.shape[:2]
            masks = [p.mask if s == 1.0 else cv2.resize(p.mask, (w, h), interpolation=cv2.INTER_LINEAR)
                     for p in persons]
            mask = np.clip(np.rint(best_mask(masks, person) * 255), 0, 255).astype(np.uint8)
            with atomic_path(cache / f"{i}.png") as tmp:
                Image.fromarray(mask).save(tmp)
            if progress:
                progress()
    finally:
        close = getattr(detector, "close", None)
        if close:
            close()
