"""ONNX export of our M2FP (dynamo exporter, opset 18, dynamic H/W) runs in ONNX Runtime and matches PyTorch.

The exporter is slow (tens of seconds even for this tiny network), so it runs once per module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="runtime='onnx' needs onnxruntime")

from humanparse.backends import get_backend  # noqa: E402
from humanparse.backends.m2fp.config import CHECKPOINT_FILE, CONFIG_FILE, M2FPConfig  # noqa: E402
from humanparse.backends.m2fp.model import M2FP  # noqa: E402
from humanparse.backends.m2fp.onnx_runtime import OnnxM2FP, cached_onnx  # noqa: E402

import reference_m2fp as ref  # noqa: E402

TINY = M2FPConfig().reduced(
    backbone={"depth": 26},
    encoder={"transformer_enc_layers": 1, "conv_dim": 64, "mask_dim": 64, "transformer_nheads": 4,
             "transformer_dim_feedforward": 128},
    decoder={"dec_layers": 2, "num_queries": 10, "hidden_dim": 64, "mask_dim": 64, "nheads": 4,
             "dim_feedforward": 128},
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("m2fp_onnx")
    model = ref.randomize_(M2FP(TINY), seed=2).eval()
    ckpt = root / "ckpt"
    ckpt.mkdir()
    torch.save({"model": model.state_dict()}, ckpt / CHECKPOINT_FILE)
    (ckpt / CONFIG_FILE).write_text(json.dumps(TINY.to_modelscope()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUMANPARSE_HOME", str(root / "cache"))
        path = cached_onnx(model, ckpt, root / "cache")
        yield model.optimize_for_inference(), path, ckpt


@pytest.mark.slow
@pytest.mark.parametrize("hw", [(96, 128), (160, 64)])
def test_onnx_matches_torch_at_several_sizes(exported, hw):
    model, path, _ = exported
    x = torch.from_numpy(ref.blob_image(*hw, seed=hw[1])).permute(2, 0, 1)[None].float() / 64 - 2
    with torch.inference_mode():
        logits, masks = model(x)
    o_logits, o_masks = OnnxM2FP(path, num_threads=2)(x)
    assert o_masks.shape == masks.shape == (1, 10, hw[0] // 4, hw[1] // 4)
    assert (o_logits - logits).abs().max() < 1e-3
    assert (o_masks - masks).abs().max() < 1e-3 * max(1.0, float(masks.abs().max()))


@pytest.mark.slow
def test_backend_onnx_runtime_matches_torch_runtime(exported, monkeypatch):
    _, _, ckpt = exported
    monkeypatch.setenv("HUMANPARSE_HOME", str(ckpt.parent / "cache"))  # the export above is reused
    img = ref.blob_image(120, 90, seed=7)
    a = get_backend("m2fp", weights=ckpt, runtime="onnx", min_size=96, max_size=128).predict(img)
    b = get_backend("m2fp", weights=ckpt, runtime="torch", min_size=96, max_size=128).predict(img)
    assert a.labels.shape == (120, 90)
    assert (a.labels == b.labels).mean() >= 0.999 and (a.instances == b.instances).mean() >= 0.999
    assert len(np.unique(b.labels)) > 1
