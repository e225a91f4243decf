"""Export a trained :class:`~humanparse.nn.parsenet.ParseNet` to the ONNX file the ``lite`` backend ships.

The graph is traced in eval mode (BatchNorm folded into the convolutions), input ``image``
``(N, 3, 384, 256)`` float32 RGB 0..255 (``(N, 4, 384, 256)``, RGB + person mask 0..255, for a network
with a mask input) with a dynamic batch, output ``logits`` ``(N, 21, 96, 64)`` (``cihp-bag``).
With ``fp16_weights`` every float32 initializer is stored as float16 followed by a ``Cast`` to
float32: the file is half the size, ONNX Runtime folds the casts when it loads the graph, so inference
still computes in float32 and only the weights are rounded (the accuracy cost is measured in
docs/backend-lite.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..backends.lite.crops import INPUT_HW
from ..models.integrity import sha256_file
from ..nn.parsenet import ParseNet


def export_onnx(state_dict_path: Path | str, out: Path | str, fp16_weights: bool = True, opset: int = 17) -> Path:
    """Write the ONNX graph of a trained model.

    Args:
        state_dict_path: ``model.pt`` written by training (a ``ParseNet`` state dict).
        out: destination ``.onnx`` path (overwritten).
        fp16_weights: store weights as float16 (see module doc).
    Returns:
        ``out`` as a Path.
    Raises:
        RuntimeError: the state dict does not match :class:`ParseNet` (strict loading).
    """
    import onnx

    state = torch.load(state_dict_path, map_location="cpu", weights_only=True)
    model = ParseNet.from_state_dict(state)
    model.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, 4 if model.mask_input else 3, *INPUT_HW)
    tmp = out.with_name(out.name + ".fp32.onnx")
    torch.onnx.export(model, (x,), str(tmp), input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=opset,
                      do_constant_folding=True, dynamo=False)
    graph = onnx.load(str(tmp))
    tmp.unlink()
    if fp16_weights:
        graph = _fp16_initializers(graph)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(out))
    return out


def _fp16_initializers(model):
    """Store float32 initializers as float16 + Cast(to=float32) nodes in front of their consumers."""
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    casts, keep = [], []
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or np.prod(init.dims) < 16:
            keep.append(init)
            continue
        arr = numpy_helper.to_array(init).astype(np.float16)
        half = numpy_helper.from_array(arr, init.name + "_fp16")
        keep.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=init.name + "_cast"))
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return model


def onnx_predictor(path: Path | str, threads: int = 2):
    """``crops (N, H, W, C) uint8 -> logits (N, 21, H/4, W/4)`` (C = the network's input channels, 3 or 4) with ONNX Runtime (for :func:`.loop.validate`)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(crops: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.ascontiguousarray(crops.transpose(0, 3, 1, 2), np.float32)})[0]

    return run


def write_card(onnx_path: Path, card: dict) -> Path:
    """Write ``<name>.json`` beside the ONNX file: ``card`` plus the file's size and SHA-256."""
    card = dict(card, file=onnx_path.name, bytes=onnx_path.stat().st_size, sha256=sha256_file(onnx_path))
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(card, indent=1) + "\n")
    return path
