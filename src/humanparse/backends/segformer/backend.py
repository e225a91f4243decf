"""The ``segformer`` backend: Hugging Face SegFormer human parsers (``segformer-b2-clothes``,
``fashn-human-parser``, or any SegFormer checkpoint folder) as multi-person CIHP parsers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import BackendUnavailableError
from ...labels import get_label_set
from ...parsing import Parsing
from ..base import MAX_PERSONS, Backend
from .labels import cihp_translation, native_label_set
from .model import SegformerRunner
from .postprocess import person_instances, to_cihp

OUTPUT_LABEL_SETS = ("cihp", "native")


class SegformerBackend(Backend):
    """SegFormer semantic parser + connected-component persons.

    Options:
        model: catalogue name (``humanparse models list``), default ``"segformer-b2-clothes"`` (ATR classes);
            ``"fashn-human-parser"`` (FASHN classes, non-commercial licence).
        weights: local checkpoint folder in ``save_pretrained`` layout; wins over ``model``'s cached /
            downloaded copy. The label set is read from its ``config.id2label`` in any case.
        output_label_set: ``"cihp"`` (default; mapped through :func:`humanparse.labels.map_labels` tables,
            side-less limbs split by the person's axis, see :mod:`.postprocess`) or ``"native"`` (the
            model's own classes, e.g. ATR).
        max_persons: keep at most this many persons (largest first), numbered left to right.

    Persons are connected components of the person mask: people who touch merge into one person.
    Person scores are the mean softmax confidence of the person's pixels.
    """

    name = "segformer"
    label_set = "cihp"

    def __init__(self, max_persons: int = MAX_PERSONS, model: str = "segformer-b2-clothes", weights: str | Path | None = None,
                 output_label_set: str = "cihp", **unknown) -> None:
        from ...models import get_model, resolve_weights

        if unknown:
            raise BackendUnavailableError(f"the segformer backend has no option(s) {', '.join(sorted(unknown))}; "
                                          "its options are model, weights, output_label_set, max_persons")

        super().__init__(max_persons=max_persons, model=model, weights=weights, output_label_set=output_label_set)
        entry = get_model(model)
        if entry.backend != self.name:
            raise BackendUnavailableError(f"model {entry.name!r} belongs to backend {entry.backend!r}, not "
                                          f"'segformer'; choose one of: segformer-b2-clothes, fashn-human-parser")
        if output_label_set not in OUTPUT_LABEL_SETS:
            raise ValueError(f"output_label_set must be one of {', '.join(OUTPUT_LABEL_SETS)}, got {output_label_set!r}")
        self.entry = entry
        self.folder = resolve_weights(entry, weights)
        if self.folder.is_file():
            raise BackendUnavailableError(f"--weights for the segformer backend must be a checkpoint folder "
                                          f"(save_pretrained layout), got the file {self.folder}")
        self.runner = SegformerRunner(self.folder)
        self.native, self._native_lut = native_label_set(self.runner.id2label)
        self.translation = cihp_translation(self.native)
        self.output_label_set = output_label_set
        self.label_set = "cihp" if output_label_set == "cihp" else self.native.name

    def predict_native(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's own label map and confidence.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
        Returns:
            ``(labels, confidence)``: ``(H, W)`` uint8 ids of :attr:`native` and ``(H, W)`` float32 in [0, 1].
        """
        classes, conf = self.runner.predict(image)
        return self._native_lut[classes], conf

    def predict(self, image: np.ndarray) -> Parsing:
        """Parse ``image`` (``(H, W, 3)`` uint8 RGB) into a :class:`Parsing` in CIHP (or the native set)."""
        native, conf = self.predict_native(image)
        if self.output_label_set == "cihp":
            labels, instances = to_cihp(native, self.translation, self.max_persons)
            label_set = get_label_set("cihp")
        else:
            instances = person_instances(native != 0, self.max_persons)
            labels = np.where(instances > 0, native, 0).astype(np.uint8)
            label_set = self.native
        n = int(instances.max(initial=0))
        if n:
            sums = np.bincount(instances.ravel(), weights=conf.ravel(), minlength=n + 1)
            counts = np.bincount(instances.ravel(), minlength=n + 1)
            scores = [float(sums[k] / max(counts[k], 1)) for k in range(1, n + 1)]
        else:
            scores = None
        return Parsing.from_maps(labels, instances, label_set, scores)

    def info(self) -> dict:
        """Backend description plus the resolved checkpoint folder and its label sets."""
        licence = "see the checkpoint's own licence" if self.options.get("weights") else self.entry.licence
        return {**super().info(), "model": self.entry.name, "folder": str(self.folder),
                "native_label_set": self.native.name, "licence": licence}


__all__ = ["SegformerBackend"]
