"""``M2FPBackend``: multi-person human parsing with M2FP (CIHP, 20 classes, person instances).

Weights: ModelScope's ``damo/cv_resnet101_image-multiple-human-parsing`` checkpoint directory
(``pytorch_model.pt`` + ``configuration.json``; CIHP val mIoU 69.15 / APr 60.47 per its model
card; weights licence CC BY-NC 4.0). The network code here is our own PyTorch implementation.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from ...malloc import tune_malloc
from ...parsing import Parsing
from ..base import MAX_PERSONS, Backend
from .config import M2FPConfig
from .model import load_checkpoint
from .postprocess import parse_instances
from .preprocess import preprocess

MODEL_ID = "m2fp-r101-cihp"
RUNTIMES = ("torch", "onnx")


class M2FPBackend(Backend):
    """M2FP parser.

    Args:
        max_persons: keep at most this many persons (highest detection scores first).
        weights: checkpoint directory in the ModelScope layout; ``None`` resolves
            ``humanparse.models.resolve_weights("m2fp-r101-cihp")`` (may raise ``WeightsNotFoundError``).
        runtime: ``"torch"`` (eager PyTorch, default) or ``"onnx"`` (exported once to the cache
            directory, then run with ONNX Runtime).
        num_threads: CPU threads for PyTorch / ONNX Runtime (``None`` = library default).
        min_size, max_size: test resize (shorter side, cap on longer side), default 640 / 1333 as
            ModelScope's pipeline; smaller values are faster and coarser.
    Raises:
        ValueError: bad option values or a checkpoint that does not match its configuration.
        FileNotFoundError: ``weights`` has no ``pytorch_model.pt``.
    """

    name = "m2fp"
    label_set = "cihp"

    def __init__(self, max_persons: int = MAX_PERSONS, weights: str | Path | None = None, runtime: str = "torch",
                 num_threads: int | None = None, min_size: int | None = None, max_size: int | None = None,
                 **options) -> None:
        if options:
            raise ValueError(f"unknown m2fp option(s): {', '.join(sorted(options))}; "
                             "expected weights, runtime, num_threads, min_size, max_size, max_persons")
        super().__init__(max_persons=max_persons, weights=weights, runtime=runtime, num_threads=num_threads)
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        if num_threads is not None and int(num_threads) < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        if weights is None:
            from ...models import resolve_weights  # lazy: another module owns downloads and caching
            weights = resolve_weights(MODEL_ID)
        self.weights = Path(weights)
        if not self.weights.exists():
            raise FileNotFoundError(f"M2FP weights not found: {self.weights}")
        self.runtime = runtime
        self.num_threads = int(num_threads) if num_threads else None
        tune_malloc()  # keep freed activation buffers for reuse (fewer page faults; see humanparse.malloc)
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        model = load_checkpoint(self.weights)
        self.cfg: M2FPConfig = model.cfg
        self.min_size = int(min_size or self.cfg.min_size)
        self.max_size = int(max_size or self.cfg.max_size)
        if not 32 <= self.min_size <= self.max_size:
            raise ValueError(f"need 32 <= min_size <= max_size, got {self.min_size}, {self.max_size}")
        if runtime == "onnx":
            from ...paths import cache_dir
            from .onnx_runtime import OnnxM2FP, cached_onnx
            ckpt_dir = self.weights if self.weights.is_dir() else self.weights.parent
            self.net = OnnxM2FP(cached_onnx(model, ckpt_dir, cache_dir()), self.num_threads)
        else:
            self.net = model.optimize_for_inference()

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.runtime == "onnx":
            return self.net(x)
        with torch.inference_mode():
            return self.net(x)

    def predict(self, image: np.ndarray) -> Parsing:
        """Parse one ``(H, W, 3)`` uint8 RGB image into a CIHP :class:`Parsing` with persons.

        Raises:
            ValueError: not an ``(H, W, 3)`` uint8 array.
        """
        t0 = time.perf_counter()
        prep = preprocess(image, self.cfg.pixel_mean, self.cfg.pixel_std, self.min_size, self.max_size,
                          self.cfg.size_divisibility)
        t1 = time.perf_counter()
        logits, masks = self._forward(prep.tensor)
        t2 = time.perf_counter()
        res = parse_instances(logits[0], masks[0], prep.padded_hw, prep.image_hw, prep.orig_hw,
                              num_parsing=self.cfg.num_parsing, part_score_thr=self.cfg.parsing_ins_score_thr,
                              human_score_thr=self.cfg.human_score_thr, topk=self.cfg.test_topk_per_image,
                              max_persons=self.max_persons)
        parsing = Parsing.from_maps(res.labels, res.instances, self.label_set,
                                    scores=_scores_by_id(res.human_scores))
        parsing.timings.update({"preprocess": t1 - t0, "inference": t2 - t1,
                                "postprocess": time.perf_counter() - t2})
        return parsing

    def info(self) -> dict:
        d = super().info()
        d.update({"weights": str(self.weights), "runtime": self.runtime,
                  "input": {"min_size": self.min_size, "max_size": self.max_size}})
        return d


def _scores_by_id(scores: list[float]) -> dict[int, float]:
    """``{id: score}``: person ids are 1-based indices into ``scores`` (detection score = class
    score x mask score of the "human" query, as in M2FP)."""
    return {i: float(scores[i - 1]) for i in range(1, len(scores) + 1)}
