"""The backend interface: one class per model family, one instance per loaded model."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..errors import ImageError
from ..parsing import Parsing, instance_ids

MAX_PERSONS = 20
"""Default most persons a backend returns (the best by score). Group photos often hold more than ten
people, and 10 (the default until 2026-12-06) dropped whole people from them. Measured with ``lite``
(``bench/accuracy.py``, 2026-12-06): ``cihp_val`` person IoU 79.7 -> 79.8 % (a photo of 11 people gets
its 11th), multi_person 75.1 -> 74.8 % (its 7-person photo has 13 boxes; the 11th to 13th, scores
0.22-0.28, are no annotated person), CCP test unchanged; a real person lost costs a user more than a faint false one. Each person
found costs a network crop, so a cap above the number of people present costs nothing."""


class Backend(ABC):
    """A human parser. Load once, then call :meth:`predict` on many images.

    Class attributes:
        name: registry name (``"mediapipe"``, ``"m2fp"``, ``"segformer"``).
        label_set: name of the label set of the :class:`Parsing` it returns.
    """

    name: str = ""
    label_set: str = "cihp"

    def __init__(self, max_persons: int = MAX_PERSONS, **options) -> None:
        if max_persons < 1:
            raise ValueError(f"max_persons must be >= 1, got {max_persons}")
        self.max_persons = int(max_persons)
        self.options = options

    @abstractmethod
    def predict(self, image: np.ndarray) -> Parsing:
        """Parse one image.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
        Returns:
            a :class:`Parsing` of the same ``(H, W)``; 0 persons (all background) when nobody is found.
        """

    def info(self) -> dict:
        """JSON-ready description of this backend instance (name, label set, options)."""
        return {"name": self.name, "label_set": self.label_set, "max_persons": self.max_persons,
                "options": {k: str(v) for k, v in self.options.items()}}

    def close(self) -> None:
        """Release model resources. Default: nothing to do."""


def check_image(image) -> np.ndarray:
    """``image`` as a C-contiguous ``(H, W, 3)`` uint8 RGB array.

    Raises:
        ImageError: not a NumPy array, not ``(H, W, 3)`` uint8, or empty.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected an (H, W, 3) uint8 numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageError(f"expected an (H, W, 3) uint8 RGB array, got shape {image.shape} dtype {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ImageError(f"empty image of shape {image.shape}")
    return np.ascontiguousarray(image)


def parsing_left_to_right(labels: np.ndarray, inst: np.ndarray, scores: list[float],
                          label_set: str = "cihp", size: tuple[int, int] | None = None) -> Parsing:
    """A :class:`Parsing` whose persons are numbered 1..N left to right by the x1 of their box.

    Args:
        labels: ``(h, w)`` uint8 class ids.
        inst: ``(h, w)`` uint16 person ids ``1..K`` (0 = none; ids may be missing).
        scores: score of person id ``k`` at ``scores[k - 1]``.
        size: ``(H, W)`` of the image when the maps are of a smaller working copy: the Parsing is of
            the maps upscaled nearest-neighbour (:meth:`Parsing.from_work_maps`; the order is the same,
            as upscaling keeps every column). ``None``: the maps' own size.
    """
    ids = instance_ids(inst)
    held = np.zeros((max(ids, default=0) + 1, inst.shape[1]), bool)     # held[i, x]: column x holds person i
    held[inst, np.arange(inst.shape[1])] = True
    order = sorted(ids, key=lambda i: (int(held[i].argmax()), i))
    remap = np.zeros(int(inst.max()) + 1, np.uint16)
    for new, old in enumerate(order, start=1):
        remap[old] = new
    new_scores = {new: scores[old - 1] for new, old in enumerate(order, start=1)}
    if size is not None:
        return Parsing.from_work_maps(labels, remap[inst], size, label_set, scores=new_scores)
    return Parsing.from_maps(labels, remap[inst], label_set, scores=new_scores)
