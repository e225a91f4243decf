"""CCP training data: the fixed split, cached CIHP targets and the crop augmentation.

Split (fixed, docs/accuracy.md): CCP photo ``NNNN`` is
* **test** when ``NNNN % 5 == 0`` (0005, 0010, ..., 1000: 200 photos): never read by training;
* **validation** when ``NNNN % 10 == 1`` (0001, 0011, ..., 1001: 101 photos): the figure training
  prints at the end; no early stopping or tuning reads the test split;
* **train**: the other 703.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..backends.lite.crops import INPUT_HW, crop_matrix, warp_image, warp_labels, warp_mask
from ..io.atomic import atomic_path
from ..labels.flip import flip_labels
from .targets import ccp_to_cihp


SPLIT_TEXT = ("CCP photo NNNN: test if NNNN % 5 == 0 (200 photos, never used in training), validation if "
              "NNNN % 10 == 1 (101 photos), train otherwise (703 photos)")


def split_of(number: int) -> str:
    """``"test"``, ``"val"`` or ``"train"`` for CCP photo ``number`` (see module doc)."""
    if number % 5 == 0:
        return "test"
    if number % 10 == 1:
        return "val"
    return "train"


def ccp_ids(root: Path, split: str) -> list[str]:
    """Sorted photo ids (``"0001"``) of ``split`` that have both an image and a label PNG under ``root``.

    Raises:
        ValueError: unknown split. FileNotFoundError: no photos found.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"unknown split {split!r}")
    ids = sorted(p.stem for p in (root / "labels").glob("*.png")
                 if p.stem.isdigit() and (root / "images" / f"{p.stem}.jpg").is_file())
    ids = [i for i in ids if split_of(int(i)) == split]
    if not ids:
        raise FileNotFoundError(f"no CCP {split} photos under {root} (expected images/NNNN.jpg + labels/NNNN.png)")
    return ids


def build_targets(root: Path, ids: list[str], cache: Path, teacher_factory, progress=None) -> None:
    """Write the CIHP target of each photo to ``cache/NNNN.png`` (skipped when present).

    ``teacher_factory()`` returns a :class:`.teacher.BodyPixTeacher`; it is only built if a target is missing.
    """
    cache.mkdir(parents=True, exist_ok=True)
    todo = [i for i in ids if not (cache / f"{i}.png").is_file()]
    if not todo:
        return
    teacher = teacher_factory()
    for i in todo:
        image = np.asarray(Image.open(root / "images" / f"{i}.jpg").convert("RGB"))
        labels = np.asarray(Image.open(root / "labels" / f"{i}.png"))
        target = ccp_to_cihp(labels, teacher.part_logits(image))
        with atomic_path(cache / f"{i}.png") as tmp:
            Image.fromarray(target).save(tmp)
        if progress:
            progress()


@dataclass
class Augment:
    """Random crop parameters, drawn per sample (ranges measured on nothing: common choices for
    top-down parsers, widened where inference crops differ from CCP's framing)."""

    margin: tuple[float, float] = (1.05, 1.45)
    shift: float = 0.08
    angle: float = 10.0
    flip: float = 0.5
    jitter: float = 0.0             # each box edge moved by up to this fraction of the box side (a detector's box)
    truncate: float = 0.25          # keep only part of the person, cut on one side (seated, a table, the frame)
    truncate_keep: tuple[float, float] = (0.35, 0.8)  # ... that fraction of the box (0.15-0.35: a close-up)
    truncate_sides: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)  # keep top / bottom / left / right
    low_res: float = 0.3            # downscale 2-4x and back (small people in group photos)
    colour: float = 0.25
    gray: float = 0.05
    crowd: float = 0.5              # paste 1-2 other train people beside the person, labelled background
    crowd_front: float = 0.35       # ... in front of the person (occluding it) rather than behind
    clutter: float = 0.0            # paste a background patch of another photo in front, labelled background
    mask_bleed: float = 0.5         # mask input: a pasted neighbour's own pose mask, faded, bleeds into it
    mask_degrade: float = 0.4       # mask input: eroded / dilated / shifted / blurred
    mask_drop: float = 0.05         # mask input: all zero (the network must also work from the pixels)

    @classmethod
    def crowd_crops(cls) -> "Augment":
        """The crowd-crop recipe of run 8 (``humanparse train --crowd-crops``; docs/training-log.md): boxes
        jittered as a detector's, people cut on any side, hard-negative background patches. Measured and
        not adopted: no better than the default recipe on real crowds (cihp_val)."""
        return cls(jitter=0.06, truncate=0.3, truncate_sides=(0.5, 0.2, 0.15, 0.15), clutter=0.3)

    @classmethod
    def close_ups(cls) -> "Augment":
        """Run 9's recipe (``humanparse train --close-ups``; docs/training-log.md): more people cut by a
        table or the frame (35 % of the crops, not 25 %), and down to head-and-shoulders close-ups (the
        top 15-80 % of the person kept, not 35-80 %), the framing of webcams, live streams and the
        people nearest the camera in a crowd. Through the shipped network (run 5), CCP validation photos
        cut to the top 20 % of their person lose most of their garments (coat IoU 60 -> 18 %,
        upper-clothes 58 -> 40 %, person IoU 91.9 -> 80.9 %; ``bench/crowds_diag.py --only 5``). Measured
        and not adopted: run 9 with it recovers much of that (person IoU 87.0 %, coat 31 %) and gains
        0.6 point on CCP validation, but not on real crowds (cihp_val mIoU +0.1, person IoU -1.3)."""
        return cls(truncate=0.35, truncate_keep=(0.15, 0.8))


class CropDataset:
    """CCP person crops with CIHP targets, augmented deterministically per ``(epoch, index)``.

    Args:
        root: CCP folder (``images/``, ``labels/``).
        ids: photo ids.
        targets: folder of cached CIHP targets (:func:`build_targets`).
        augment: :class:`Augment`, or None for the plain inference framing (validation).
        seed: base seed.
        masks: folder of cached pose masks (:func:`.posemasks.build_pose_masks`), for a network with a
            mask input; None: RGB only.
    ``sample(i, epoch)`` -> ``(image (H, W, C) uint8, target (H, W) uint8)`` at :data:`INPUT_HW`, C = 3
    (RGB) or, with ``masks``, 4 (RGB + the person's pose mask 0..255, augmented as :class:`Augment` says).
    """

    def __init__(self, root: Path, ids: list[str], targets: Path, augment: Augment | None, seed: int = 0,
                 masks: Path | None = None) -> None:
        self.root, self.ids, self.targets, self.augment, self.seed = root, ids, targets, augment, seed
        self.masks = Path(masks) if masks else None
        self._cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def _load(self, i: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if i not in self._cache:
            image = np.asarray(Image.open(self.root / "images" / f"{i}.jpg").convert("RGB"))
            target = np.asarray(Image.open(self.targets / f"{i}.png"))
            mask = np.asarray(Image.open(self.masks / f"{i}.png")) if self.masks else None
            self._cache[i] = (image, target, mask)
        return self._cache[i]

    def sample(self, index: int, epoch: int = 0) -> tuple[np.ndarray, np.ndarray]:
        image, target, mask = self._load(self.ids[index])
        box = person_box(target)
        a = self.augment
        if a is None:
            m = crop_matrix(box)
            return _with_mask(warp_image(image, m), None if mask is None else warp_mask(mask, m)), warp_labels(target, m)
        rng = np.random.default_rng([self.seed, epoch, index])
        image = image.copy()
        if rng.random() < a.truncate:
            box, image, target, mask = truncate(box, image, target, mask, rng, a.truncate_sides, a.truncate_keep)
        x1, y1, x2, y2 = jitter_box(box, a.jitter, rng) if a.jitter else box
        m = crop_matrix((x1, y1, x2, y2), margin=rng.uniform(*a.margin),
                        shift=tuple(rng.uniform(-a.shift, a.shift, 2)), angle=rng.uniform(-a.angle, a.angle))
        crop, lab = warp_image(image, m), warp_labels(target, m)
        inp = None if mask is None else warp_mask(mask, m)
        if rng.random() < a.crowd:
            for side in ([rng.choice([-1, 1])] if rng.random() < 0.7 else [-1, 1]):
                crop, lab, inp = self._crowd(crop, lab, inp, index, int(side), rng)
        if a.clutter and rng.random() < a.clutter:      # no draw when off: the default recipe's stream is run 5's
            crop, lab, inp = self._clutter(crop, lab, inp, index, rng)
        if rng.random() < a.flip:
            crop, lab = crop[:, ::-1], flip_labels(lab)
            inp = None if inp is None else inp[:, ::-1]
        if rng.random() < a.low_res:
            f = rng.uniform(2.0, 4.0)
            small = cv2.resize(crop, (int(INPUT_HW[1] / f), int(INPUT_HW[0] / f)), interpolation=cv2.INTER_AREA)
            crop = cv2.resize(small, (INPUT_HW[1], INPUT_HW[0]), interpolation=cv2.INTER_LINEAR)
        crop = _colour(crop, rng, a)
        if inp is not None:
            inp = _degrade_mask(np.ascontiguousarray(inp), rng, a)
        return _with_mask(np.ascontiguousarray(crop), inp), np.ascontiguousarray(lab)

    def _crowd(self, crop: np.ndarray, lab: np.ndarray, inp: np.ndarray | None, index: int, side: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Paste another train person (its plain crop, scaled 0.7-1.15x) on one ``side`` (-1 left, +1
        right) of the crop, 35-85 % of the crop width off centre, behind the person or, with probability
        ``crowd_front``, in front of it; the pasted pixels are background in the target: the network
        learns to segment the person the crop is framed on, not its neighbours (group photos). With a
        mask input ``inp``, the neighbour's own pose mask, faded 0.2-1x, bleeds into it with probability
        ``mask_bleed`` (a pose pass's mask often covers touching people)."""
        j = int(rng.integers(len(self.ids) - 1))
        j += j >= index
        image, target, mask = self._load(self.ids[j])
        m = crop_matrix(person_box(target), margin=rng.uniform(*self.augment.margin))
        dc, dl = warp_image(image, m), warp_labels(target, m)
        dm = None if inp is None else warp_mask(mask, m)
        if rng.random() < 0.5:
            dc, dl = dc[:, ::-1], dl[:, ::-1]
            dm = None if dm is None else dm[:, ::-1]
        h, w = INPUT_HW
        s = rng.uniform(0.7, 1.15)
        dx = side * rng.uniform(0.35, 0.85) * w
        dy = rng.uniform(-0.08, 0.12) * h
        move = np.array([[s, 0, (1 - s) * w / 2 + dx], [0, s, (1 - s) * h / 2 + dy]], np.float32)
        dc = cv2.warpAffine(np.ascontiguousarray(dc), move, (w, h), flags=cv2.INTER_LINEAR)
        dl = cv2.warpAffine(np.ascontiguousarray(dl), move, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        other = dl != 0
        if rng.random() < self.augment.crowd_front:
            put = other
        else:
            put = other & (lab == 0)
        crop, lab = crop.copy(), lab.copy()
        crop[put] = dc[put]
        lab[put] = 0
        if inp is not None and rng.random() < self.augment.mask_bleed:
            dm = cv2.warpAffine(np.ascontiguousarray(dm), move, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
            inp = np.maximum(inp, (dm * rng.uniform(0.2, 1.0)).astype(np.uint8))
        return crop, lab, inp


    def _clutter(self, crop: np.ndarray, lab: np.ndarray, inp: np.ndarray | None, index: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Hard negative: a patch of another train photo's background (a rectangle or an ellipse 20-50 % of
        the crop's sides, from where that photo's target is at least 90 % background) pasted in front of
        the person, mostly in the lower half or at a side, labelled background (a table, a bag on a lap,
        a ball or a laptop inside a detector's box must not become the person's clothes). With a mask
        input the mask is left as it is (the pose mask does not see such objects either)."""
        j = int(rng.integers(len(self.ids) - 1))
        j += j >= index
        image, target, _ = self._load(self.ids[j])
        h, w = INPUT_HW
        ph, pw = int(rng.uniform(0.2, 0.5) * h), int(rng.uniform(0.2, 0.5) * w)
        H, W = target.shape
        if ph >= H or pw >= W:
            return crop, lab, inp
        for _ in range(8):
            sy, sx = int(rng.integers(H - ph)), int(rng.integers(W - pw))
            if (target[sy:sy + ph, sx:sx + pw] == 0).mean() >= 0.9:
                break
        else:
            return crop, lab, inp
        patch = image[sy:sy + ph, sx:sx + pw]
        oy = int(rng.uniform(0.35, 1.0) * (h - ph))
        ox = int(rng.uniform(0.0, 1.0) * (w - pw))
        shape = np.ones((ph, pw), bool)
        if rng.random() < 0.5:
            shape = cv2.ellipse(np.zeros((ph, pw), np.uint8), (pw // 2, ph // 2), (pw // 2, ph // 2), 0, 0, 360, 1, -1) > 0
        crop, lab = crop.copy(), lab.copy()
        crop[oy:oy + ph, ox:ox + pw][shape] = patch[shape]
        lab[oy:oy + ph, ox:ox + pw][shape] = 0
        return crop, lab, inp


def truncate(box: tuple[int, int, int, int], image: np.ndarray, target: np.ndarray, mask: np.ndarray | None,
             rng: np.random.Generator, sides: tuple[float, float, float, float],
             keep: tuple[float, float] = (0.35, 0.8)):
    """Keep a fraction drawn uniformly from ``keep`` (35-80 % by default) of the person box, cut on one
    side drawn with probabilities ``sides`` (keep the top, bottom, left or right part: seated behind a
    table, head cut by the frame, half out of the photo, a head-and-shoulders close-up); half the time
    the photo ends at the cut too (image, target and mask are cut off there).

    Returns:
        ``(box, image, target, mask)``, the box in the (possibly cut) photo's pixels.
    """
    x1, y1, x2, y2 = box
    only_top = tuple(sides[1:]) == (0.0, 0.0, 0.0)      # no draw then: the default recipe's stream is run 5's
    side = 0 if only_top else int(rng.choice(4, p=np.asarray(sides, np.float64) / sum(sides)))
    frac = rng.uniform(*keep)
    ends = rng.random() < 0.5
    if side < 2:
        cut = int(round(frac * (y2 - y1)))
        if side == 0:
            y2 = max(y1 + cut, y1 + 1)
            sl = (slice(0, y2), slice(None))
        else:
            y1 = min(y2 - cut, y2 - 1)
            sl = (slice(y1, None), slice(None))
    else:
        cut = int(round(frac * (x2 - x1)))
        if side == 2:
            x2 = max(x1 + cut, x1 + 1)
            sl = (slice(None), slice(0, x2))
        else:
            x1 = min(x2 - cut, x2 - 1)
            sl = (slice(None), slice(x1, None))
    if ends:
        image, target = image[sl], target[sl]
        mask = None if mask is None else mask[sl]
        oy, ox = sl[0].start or 0, sl[1].start or 0
        x1, x2, y1, y2 = x1 - ox, x2 - ox, y1 - oy, y2 - oy
    return (x1, y1, x2, y2), image, target, mask


def jitter_box(box: tuple[int, int, int, int], amount: float, rng: np.random.Generator) -> tuple[float, ...]:
    """Each edge of ``(x1, y1, x2, y2)`` moved independently by up to ``amount`` x the box's width
    (x edges) or height (y edges), as a detector's box differs from the annotated extent; never empty."""
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = x2 - x1, y2 - y1
    d = rng.uniform(-amount, amount, 4) * (bw, bh, bw, bh)
    x1, y1, x2, y2 = x1 + d[0], y1 + d[1], x2 + d[2], y2 + d[3]
    return x1, y1, max(x2, x1 + 1.0), max(y2, y1 + 1.0)


def _with_mask(crop: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``(H, W, 3)`` crop, or with a mask ``(H, W, 4)`` (mask as the fourth channel)."""
    return crop if mask is None else np.ascontiguousarray(np.dstack([crop, mask]))


def _degrade_mask(mask: np.ndarray, rng: np.random.Generator, a: Augment) -> np.ndarray:
    """Training-time errors on the mask input (uint8 0..255): with probability ``mask_drop`` all zero;
    else with probability ``mask_degrade`` one of erosion or dilation (3-21 px), a shift (up to 6 % of
    the crop) or a Gaussian blur (sigma 2-8 px). The pose pass's masks vary like this between photos."""
    if rng.random() < a.mask_drop:
        return np.zeros_like(mask)
    if rng.random() >= a.mask_degrade:
        return mask
    kind = int(rng.integers(4))
    if kind < 2:
        k = 2 * int(rng.integers(1, 11)) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        return (cv2.erode if kind == 0 else cv2.dilate)(mask, kernel)
    if kind == 2:
        h, w = mask.shape
        dx, dy = rng.uniform(-0.06, 0.06, 2) * (w, h)
        return cv2.warpAffine(mask, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    return cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(2.0, 8.0)))


def person_box(target: np.ndarray) -> tuple[int, int, int, int]:
    """``(x1, y1, x2, y2)`` (exclusive) of the non-background pixels (ignored pixels count), whole image if none."""
    fg = target != 0
    rows, cols = np.nonzero(fg.any(1))[0], np.nonzero(fg.any(0))[0]
    if not len(rows):
        return 0, 0, target.shape[1], target.shape[0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _colour(crop: np.ndarray, rng: np.random.Generator, a: Augment) -> np.ndarray:
    x = crop.astype(np.float32)
    if rng.random() < a.gray:
        x[:] = x.mean(-1, keepdims=True)
    else:
        gray = x.mean(-1, keepdims=True)
        x = gray + (x - gray) * rng.uniform(1 - a.colour, 1 + a.colour)            # saturation
        x = x * rng.uniform(1 - a.colour / 2.5, 1 + a.colour / 2.5, 3)               # per-channel gain (white balance)
    mean = x.mean()
    x = mean + (x - mean) * rng.uniform(1 - a.colour, 1 + a.colour)                  # contrast
    x = x + rng.uniform(-a.colour, a.colour) * 64                                    # brightness
    return np.clip(x, 0, 255).astype(np.uint8)


def batches(n: int, batch: int, epoch: int, seed: int) -> list[list[int]]:
    """Shuffled index batches of one epoch (the last partial batch dropped), fixed by ``(seed, epoch)``."""
    order = np.random.default_rng([seed, epoch, 7919]).permutation(n)
    k = n // batch
    return [order[j * batch:(j + 1) * batch].tolist() for j in range(k)]


def steps_per_epoch(n: int, batch: int) -> int:
    return max(1, n // batch)
