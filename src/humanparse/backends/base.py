"""The backend interface: one class per model family, one instance per loaded model."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..parsing import Parsing


class Backend(ABC):
    """A human parser. Load once, then call :meth:`predict` on many images.

    Class attributes:
        name: registry name (``"mediapipe"``, ``"m2fp"``, ``"segformer"``).
        label_set: name of the label set of the :class:`Parsing` it returns.
    """

    name: str = ""
    label_set: str = "cihp"

    def __init__(self, max_persons: int = 10, **options) -> None:
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
