"""Annotated evaluation sets on disk: ``images/<id>.jpg`` + ``labels/<id>.png`` (+ ``instances/<id>.png``).

Layout of ``../shared/data`` (see its README): label PNGs are single-channel class ids of one label set
(255 = unlabelled), optional instance PNGs are person ids (0 = no person). Pairing is checked up front
so a half-copied folder fails with a clear message instead of a silently smaller set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import HumanParseError
from ..io.image import IMAGE_SUFFIXES
from ..labels import IGNORE, LabelSet, get_label_set


class DatasetError(HumanParseError, ValueError):
    """An evaluation set is missing, mis-paired or holds labels that do not fit its label set."""


@dataclass(frozen=True)
class Sample:
    """One annotated image.

    Attributes:
        id: file stem shared by image and label map.
        image: path of the photo.
        labels: path of the ground-truth label map PNG.
        instances: path of the ground-truth person-instance PNG, or ``None``.
    """

    id: str
    image: Path
    labels: Path
    instances: Path | None = None


def _index(folder: Path, suffixes: set[str], what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise DatasetError(f"{what} folder {folder} does not exist")
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in suffixes:
            if p.stem in out:
                raise DatasetError(f"two {what} files with id {p.stem!r}: {out[p.stem].name} and {p.name}")
            out[p.stem] = p
    if not out:
        raise DatasetError(f"no {what} files in {folder}")
    return out


def _few(ids) -> str:
    ids = sorted(ids)
    return ", ".join(ids[:5]) + (f" ... ({len(ids)} in all)" if len(ids) > 5 else "")


def find_samples(images: Path | str, labels: Path | str, instances: Path | str | None = None,
                 limit: int | None = None) -> list[Sample]:
    """Pair images with label maps (and optional instance maps) by file stem.

    Every image needs a label map and every label map an image. Instance maps may cover only some
    images (instance metrics then use those); an instance map without a labelled image is an error.

    Args:
        limit: keep the first ``limit`` samples in sorted id order.
    Returns:
        samples sorted by id.
    Raises:
        DatasetError: a folder is missing or empty, or files do not pair up (the message names them).
    """
    imgs = _index(Path(images), IMAGE_SUFFIXES, "image")
    labs = _index(Path(labels), {".png"}, "label")
    if set(imgs) - set(labs):
        raise DatasetError(f"images without a label map in {labels}: {_few(set(imgs) - set(labs))}")
    if set(labs) - set(imgs):
        raise DatasetError(f"label maps without an image in {images}: {_few(set(labs) - set(imgs))}")
    insts: dict[str, Path] = {}
    if instances is not None:
        insts = _index(Path(instances), {".png"}, "instance")
        if set(insts) - set(labs):
            raise DatasetError(f"instance maps without a labelled image: {_few(set(insts) - set(labs))}")
    if limit is not None and limit < 1:
        raise DatasetError(f"limit must be >= 1, got {limit}")
    ids = sorted(labs)[:limit]
    return [Sample(i, imgs[i], labs[i], insts.get(i)) for i in ids]


def read_label_map(path: Path | str, label_set: str | LabelSet, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a ground-truth label map PNG.

    Args:
        label_set: its label set; every value must be a class id of it or 255.
        size: expected ``(height, width)`` (the image's), checked when given.
    Returns:
        ``(H, W)`` uint8.
    Raises:
        DatasetError: unreadable, not single-channel, wrong size, or values outside the label set.
    """
    from PIL import Image

    ls = get_label_set(label_set)
    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P"):
                raise DatasetError(f"{path}: label map must be single-channel (mode L or P), got mode {im.mode}")
            arr = np.asarray(im, dtype=np.uint8)
    except DatasetError:
        raise
    except OSError as e:
        raise DatasetError(f"{path}: cannot read label map ({e})") from None
    if size is not None and arr.shape != tuple(size):
        raise DatasetError(f"{path}: label map is {arr.shape[1]}x{arr.shape[0]} but its image is {size[1]}x{size[0]}")
    bad = np.unique(arr[(arr >= len(ls)) & (arr != IGNORE)])
    if bad.size:
        raise DatasetError(f"{path}: values {bad[:5].tolist()} are not classes of {ls.name!r} "
                           f"(0..{len(ls) - 1}, or 255 = ignore); is --label-set right?")
    return arr


def read_instance_map(path: Path | str, size: tuple[int, int]) -> np.ndarray:
    """Read a person-instance PNG (8- or 16-bit, 0 = no person) of ``size`` ``(H, W)``; returns uint16.

    Raises:
        DatasetError: unreadable, multi-channel or wrong size.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I;16", "I;16B", "I;16L", "I"):
                raise DatasetError(f"{path}: instance map must be single-channel, got mode {im.mode}")
            arr = np.asarray(im)
    except DatasetError:
        raise
    except OSError as e:
        raise DatasetError(f"{path}: cannot read instance map ({e})") from None
    if arr.shape != tuple(size):
        raise DatasetError(f"{path}: instance map is {arr.shape[1]}x{arr.shape[0]}, expected {size[1]}x{size[0]}")
    if arr.min(initial=0) < 0 or arr.max(initial=0) > 65535:
        raise DatasetError(f"{path}: instance ids must be in 0..65535")
    return arr.astype(np.uint16)


def check_classes_file(root: Path | str, label_set: str | LabelSet) -> None:
    """If ``root/classes.txt`` exists, check it names the classes of ``label_set`` in order.

    Names are compared lowercase with spaces/underscores as hyphens; ``null`` equals ``background``.

    Raises:
        DatasetError: the names differ (the message shows the first difference).
    """
    path = Path(root) / "classes.txt"
    if not path.is_file():
        return
    ls = get_label_set(label_set)

    def norm(s: str) -> str:
        s = s.strip().lower().replace("_", "-").replace(" ", "-")
        return "background" if s == "null" else s

    names = [norm(s) for s in path.read_text().splitlines() if s.strip()]
    if names != [norm(c) for c in ls.classes]:
        first = next((i for i, (a, b) in enumerate(zip(names, ls.classes)) if a != norm(b)),
                     min(len(names), len(ls)))
        got = names[first] if first < len(names) else "(end)"
        want = ls.classes[first] if first < len(ls) else "(end)"
        raise DatasetError(f"{path} does not match label set {ls.name!r}: class {first} is {got!r}, "
                           f"expected {want!r}; is --label-set right?")


__all__ = ["DatasetError", "Sample", "find_samples", "read_label_map", "read_instance_map", "check_classes_file"]
