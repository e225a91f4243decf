"""Our M2FP equals ModelScope's reference M2FP: same random weights, same logits/masks/label maps.

Uses a reduced configuration (ResNet-50, 2 encoder layers, 4 decoder layers, 30 queries) to stay
fast; full-configuration parity is measured by ``bench/bench_m2fp.py --parity``.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from humanparse.backends.m2fp.config import M2FPConfig
from humanparse.backends.m2fp.model import M2FP, load_state_dict_strict
from humanparse.backends.m2fp.postprocess import parse_instances
from humanparse.backends.m2fp.preprocess import preprocess, resized_shape

import reference_m2fp as ref

CFG = M2FPConfig().reduced(backbone={"depth": 50}, encoder={"transformer_enc_layers": 2},
                           decoder={"dec_layers": 4, "num_queries": 30})


@pytest.fixture(scope="module")
def pair():
    try:
        ref.load_reference()
    except ImportError as e:
        pytest.skip(f"parity needs the reference: {e}")
    theirs = ref.randomize_(ref.build_reference(CFG.to_modelscope()["model"]), seed=0)
    ours = M2FP(CFG).eval()
    load_state_dict_strict(ours, theirs.state_dict())
    ours.optimize_for_inference()  # folded batch norm must not change the result
    return theirs, ours


def _agree(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


@pytest.mark.parametrize("hw", [(128, 96), (160, 224)])
def test_forward_and_parsing_match_reference(pair, hw):
    theirs, ours = pair
    img = ref.blob_image(*hw, seed=hw[0])
    chw = torch.from_numpy(img).permute(2, 0, 1).float()
    out, parsing = ref.reference_forward(theirs, chw)
    prep = preprocess(img, CFG.pixel_mean, CFG.pixel_std, min_size=min(hw), max_size=max(hw))
    assert prep.image_hw == hw and prep.padded_hw == hw  # no resize, no padding: same input
    with torch.inference_mode():
        logits, masks = ours(prep.tensor)
    assert (logits - out["pred_logits"]).abs().max() < 1e-4
    assert (masks - out["pred_masks"]).abs().max() < 1e-4
    labels, inst, scores = ref.reference_maps(parsing)
    res = parse_instances(logits[0], masks[0], hw, hw, hw, part_score_thr=CFG.parsing_ins_score_thr,
                          return_probs=True)
    assert len(np.unique(labels)) >= 3 and inst.max() >= 1, "test weights must give non-trivial output"
    assert torch.allclose(res.class_probs, parsing["semantic_outputs"], atol=1e-4)
    assert _agree(res.labels, labels) >= 0.999
    assert _agree(res.instances, inst) >= 0.999
    np.testing.assert_allclose(res.human_scores, scores, atol=1e-4)


def _synthetic_outputs(q: int, hw4: tuple[int, int], seed: int):
    """Blob-shaped mask logits and peaky class logits: 3 persons, parts inside them, background."""
    g = torch.Generator().manual_seed(seed)
    h, w = hw4
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    masks = torch.empty(q, h, w)
    logits = torch.randn(q, 22, generator=g)
    persons = [(0.5, 0.2, 0.45, 0.18), (0.55, 0.5, 0.4, 0.15), (0.5, 0.78, 0.45, 0.2)]
    for i in range(q):
        if i < 3:
            cy, cx, ry, rx = persons[i]
            cls = 20
        elif i == 3:
            cy, cx, ry, rx, cls = 0.5, 0.5, 2.0, 2.0, 0  # background everywhere
        else:
            cy, cx, ry, rx = persons[i % 3]
            cy += (torch.rand(1, generator=g).item() - 0.5) * ry
            ry, rx = ry * 0.4, rx * 0.6
            cls = 1 + i % 19
        d = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        masks[i] = 6 * (1 - d) + 0.5 * torch.randn(h, w, generator=g)
        if cls == 0:  # weak everywhere, so parts win where they are confident
            masks[i] = 1.0 + 0.3 * torch.randn(h, w, generator=g)
        logits[i, cls] += 6 + 3 * torch.rand(1, generator=g).item() if i < q - 4 else 0.5  # last 4: unsure
    return logits, masks


@pytest.mark.parametrize("seed", [0, 1])
def test_instance_postprocess_matches_reference_with_resize(pair, seed):
    theirs, _ = pair
    padded, image_hw, out_hw = (96, 128), (90, 117), (143, 185)
    logits, masks = _synthetic_outputs(CFG.decoder.num_queries, (24, 32), seed)
    images = types.SimpleNamespace(tensor=torch.zeros(1, 3, *padded), image_sizes=[image_hw])
    outputs = {"pred_logits": logits[None], "pred_masks": masks[None]}
    with torch.no_grad():
        parsing = theirs.postprocess({"outputs": outputs, "images": images,
                                      "batched_inputs": [{"height": out_hw[0], "width": out_hw[1]}]}
                                     )["eval_result"][0]["parsing"]
    labels, inst, scores = ref.reference_maps(parsing)
    res = parse_instances(logits, masks, padded, image_hw, out_hw, part_score_thr=CFG.parsing_ins_score_thr,
                          parsing_scores=True)
    assert len(scores) == 3 and len(np.unique(labels)) >= 8
    assert _agree(res.labels, labels) >= 0.999
    assert _agree(res.instances, inst) >= 0.999
    np.testing.assert_allclose(res.human_scores, scores, rtol=1e-5)
    assert all(0 < s < h for s, h in zip(res.scores, res.human_scores))  # parsing score < human score
    one = parse_instances(logits, masks, padded, image_hw, out_hw, part_score_thr=CFG.parsing_ins_score_thr,
                          max_persons=1)
    assert set(np.unique(one.instances)) <= {0, 1} and np.array_equal(one.instances == 1, res.instances == 1)


def test_preprocess_follows_the_reference_pipeline_rule():
    assert resized_shape(480, 640) == (640, 853)     # shorter side to 640
    assert resized_shape(800, 3000) == (355, 1333)   # longer side capped at 1333
    assert resized_shape(1000, 500) == (1280, 640)
    img = np.full((50, 70, 3), 200, np.uint8)
    p = preprocess(img, CFG.pixel_mean, CFG.pixel_std, min_size=64, max_size=200)
    assert p.image_hw == (64, 90) and p.padded_hw == (64, 96) and p.orig_hw == (50, 70)
    expected = (200 - np.array(CFG.pixel_mean)) / np.array(CFG.pixel_std)
    np.testing.assert_allclose(p.tensor[0, :, 10, 10].numpy(), expected, rtol=1e-5)
    assert torch.all(p.tensor[0, :, :, 90:] == 0)  # zero padding to a multiple of 32
    with pytest.raises(ValueError, match="uint8"):
        preprocess(img.astype(np.float32), CFG.pixel_mean, CFG.pixel_std)
