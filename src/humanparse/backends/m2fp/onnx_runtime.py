"""ONNX export of the M2FP network (dynamo exporter, opset 18) and an ONNX Runtime session.

The exported graph maps a normalised, padded image ``(1, 3, H, W)`` (H, W multiples of 32) to
``(pred_logits (1, Q, C+1), pred_masks (1, Q, H/4, W/4))`` with H and W *dynamic*: the tests run
it at several sizes and compare with PyTorch. Deformable attention uses the ``grid_sample``
kernel (ONNX ``GridSample``) because ``embedding_bag`` has no ONNX counterpart.
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from .model import M2FP

OPSET = 18


def export_onnx(model: M2FP, path: str | Path, sample_hw: tuple[int, int] = (512, 512),
                optimize: bool = True) -> Path:
    """Export ``model`` to ``path`` with dynamic height and width.

    Args:
        model: an :class:`M2FP` (a copy is exported; BN folding is applied to the copy).
        sample_hw: example input size for tracing (multiples of 32).
    Returns:
        the written path.
    Raises:
        RuntimeError: the exporter failed (message from ``torch.onnx``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    m = copy.deepcopy(model).eval().optimize_for_inference(channels_last=False)
    m.sem_seg_head.pixel_decoder.set_kernel("grid_sample")
    x = torch.zeros(1, 3, *sample_hw)
    h = torch.export.Dim("h32", min=2, max=64)
    w = torch.export.Dim("w32", min=2, max=64)
    dyn = {"images": {2: 32 * h, 3: 32 * w}}
    tmp = path.with_suffix(".tmp.onnx")
    try:
        with torch.inference_mode(False), torch.no_grad():
            prog = torch.onnx.export(m, (x,), dynamo=True, opset_version=OPSET, input_names=["images"],
                                     output_names=["pred_logits", "pred_masks"], dynamic_shapes=dyn,
                                     external_data=False, verbose=False, optimize=optimize)
        prog.save(str(tmp))
    except Exception as e:  # exporter errors are many types
        raise RuntimeError(f"ONNX export of M2FP failed: {type(e).__name__}: {e}") from e
    os.replace(tmp, path)
    return path


class OnnxM2FP:
    """An ONNX Runtime session with the :class:`M2FP` call signature (tensor in, tensors out).

    Args:
        path: ``.onnx`` file from :func:`export_onnx`.
        num_threads: ONNX Runtime intra-op threads (``None`` = its default).
    Raises:
        humanparse.errors.BackendUnavailableError: onnxruntime is not installed.
    """

    def __init__(self, path: str | Path, num_threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover - onnxruntime is a dependency
            from ...errors import BackendUnavailableError
            raise BackendUnavailableError("runtime='onnx' needs onnxruntime (pip install onnxruntime)") from e
        from ...logs import ort_session_options

        opts = ort_session_options()     # ONNX Runtime's own warnings stay off the terminal
        if num_threads:
            opts.intra_op_num_threads = int(num_threads)
            opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no busy-waiting between runs: the CPU goes back to PyTorch (post-process) and other processes
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = np.ascontiguousarray(images.detach().cpu().numpy(), dtype=np.float32)
        logits, masks = self.session.run(["pred_logits", "pred_masks"], {"images": x})
        return torch.from_numpy(logits), torch.from_numpy(masks)


def cached_onnx(model: M2FP, weights_dir: str | Path, cache_root: str | Path) -> Path:
    """Path of the ONNX export of ``model`` in ``cache_root``, exporting it on first use.

    The file name hashes the checkpoint file (size and mtime) and the configuration, so a new
    checkpoint gets a new export.
    """
    weights_dir = Path(weights_dir)
    ckpt = weights_dir / "pytorch_model.pt"
    st = ckpt.stat() if ckpt.exists() else None
    key = f"{ckpt.resolve()}|{st.st_size if st else 0}|{st.st_mtime_ns if st else 0}|{model.cfg!r}|{torch.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = Path(cache_root) / "m2fp" / f"m2fp-{digest}.onnx"
    if not path.is_file():
        export_onnx(model, path)
    return path
