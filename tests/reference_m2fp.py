"""Test-only loader of ModelScope's reference M2FP (the network our own implementation must match).

ModelScope's M2FP code (``modelscope/models/cv/image_human_parsing``, CC BY-NC 4.0) is *used* here,
never copied: it is imported from the installed ``modelscope`` wheel (pinned in the test deps).
On a CPU-only machine it imports only with a few stand-ins, all kept inside this module:

* ``mmcv.ops.multi_scale_deform_attn``: the reference calls the CUDA op inside ``try`` and falls
  back to ``multi_scale_deformable_attn_pytorch``; the stand-in's CUDA function always raises and
  the fallback below re-implements mmcv's pure-PyTorch version (one ``grid_sample`` per level).
* ``modelscope.models.cv.image_instance_segmentation.backbones``: imported on the path only for the
  Swin class name ``D2SwinTransformer`` (which needs timm); an empty stand-in, never called by M2FP.
* ``modelscope.models.cv.image_colorization.ddcolor``: an empty package (pointing at the real
  directory) so importing its ``utils.transformer_utils`` does not import torchvision.

The stand-ins are removed from ``sys.modules`` again once the reference is imported, so other tests
see no fake ``mmcv``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

_REFERENCE = None
_SKIP_REASON = None


def _mmcv_fallback(value, value_spatial_shapes, sampling_locations, attention_weights):
    """mmcv's ``multi_scale_deformable_attn_pytorch`` semantics (zeros padding, align_corners=False)."""
    bs, _, num_heads, embed_dims = value.shape
    _, num_queries, num_heads, num_levels, num_points, _ = sampling_locations.shape
    sizes = [int(h) * int(w) for h, w in value_spatial_shapes]
    value_list = value.split(sizes, dim=1)
    sampling_grids = 2 * sampling_locations - 1
    sampled = []
    for level, (h, w) in enumerate(value_spatial_shapes):
        v = value_list[level].flatten(2).transpose(1, 2).reshape(bs * num_heads, embed_dims, int(h), int(w))
        g = sampling_grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        sampled.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
    attention_weights = attention_weights.transpose(1, 2).reshape(
        bs * num_heads, 1, num_queries, num_levels * num_points)
    out = (torch.stack(sampled, dim=-2).flatten(-2) * attention_weights).sum(-1)
    return out.view(bs, num_heads * embed_dims, num_queries).transpose(1, 2).contiguous()


class _NoCudaOp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - trivial
        raise RuntimeError("no CUDA op in the test stand-in")


def _module(name: str, package: bool = False) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package)
    if package:
        m.__path__ = []
    return m


def _stub_modules() -> dict[str, types.ModuleType]:
    stubs: dict[str, types.ModuleType] = {}
    msda = _module("mmcv.ops.multi_scale_deform_attn")
    msda.MultiScaleDeformableAttnFunction = _NoCudaOp
    msda.multi_scale_deformable_attn_pytorch = _mmcv_fallback
    for name in ("mmcv", "mmcv.ops"):
        stubs[name] = _module(name, package=True)
    stubs["mmcv.ops"].multi_scale_deform_attn = msda
    stubs["mmcv.ops.multi_scale_deform_attn"] = msda

    # The Swin backbones package (needs timm) is only imported for a class name M2FP never uses.
    backbones = _module("modelscope.models.cv.image_instance_segmentation.backbones", package=True)
    backbones.D2SwinTransformer = None
    stubs[backbones.__name__] = backbones

    spec = importlib.util.find_spec("modelscope")
    ddcolor = _module("modelscope.models.cv.image_colorization.ddcolor", package=True)
    ddcolor.__path__ = [str(Path(spec.origin).parent / "models/cv/image_colorization/ddcolor")]
    stubs[ddcolor.__name__] = ddcolor
    return stubs


def load_reference():
    """Import and return ModelScope's ``M2FP`` class, or raise ``ImportError`` with the reason."""
    global _REFERENCE, _SKIP_REASON
    if _REFERENCE is not None:
        return _REFERENCE
    if _SKIP_REASON is not None:
        raise ImportError(_SKIP_REASON)
    if importlib.util.find_spec("modelscope") is None or importlib.util.find_spec("addict") is None:
        _SKIP_REASON = ("reference M2FP needs `pip install modelscope==1.40.2 addict==2.4.0` "
                        "(test-only dependency)")
        raise ImportError(_SKIP_REASON)
    importlib.import_module("modelscope")  # before the stand-ins: it probes for timm itself
    stubs = {k: v for k, v in _stub_modules().items() if k not in sys.modules
             or k.startswith("modelscope.")}
    saved = {k: sys.modules.get(k) for k in stubs}
    sys.modules.update(stubs)
    try:
        mod = importlib.import_module("modelscope.models.cv.image_human_parsing.m2fp_net")
        _REFERENCE = mod.M2FP
    except Exception as e:  # pragma: no cover - depends on the environment
        _SKIP_REASON = f"reference M2FP does not import: {type(e).__name__}: {e}"
        raise ImportError(_SKIP_REASON) from e
    finally:
        for k, old in saved.items():
            if k.startswith("modelscope."):
                continue  # keep the empty ddcolor package: the reference modules are bound to it
            if old is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = old
    return _REFERENCE


def build_reference(model_cfg: dict, model_dir: str | Path = "."):
    """Instantiate the reference M2FP from a ``configuration.json`` ``model`` section (random weights)."""
    cls = load_reference()
    cfg = json.loads(json.dumps(model_cfg))  # deep copy: the reference pops keys
    cfg.pop("type", None)
    cfg["pretrained"] = False
    model = cls(str(model_dir), **cfg)
    return model.eval()


def randomize_(model: torch.nn.Module, seed: int = 0, class_gain: float = 8.0,
               human_bias: float = 4.0) -> torch.nn.Module:
    """Give ``model`` reproducible random weights that produce confident, varied outputs.

    BN statistics get random positive variances, all other tensors small Gaussian values;
    ``class_embed`` is scaled by ``class_gain`` so class scores are peaky (as in a trained model),
    otherwise every score would sit near 1/22 and the instance post-process would return nothing;
    the "human" logit gets ``human_bias``; queries are made distinct and the common response of the
    mask features is removed, so that queries predict different classes and masks.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif name.endswith("norm.weight") or ".norm" in name and name.endswith("weight"):
                t.copy_(1.0 + 0.1 * torch.randn(t.shape, generator=g))
            else:
                fan_in = t[0].numel() if t.dim() > 1 else t.numel()
                std = (1.0 / max(fan_in, 1)) ** 0.5 if t.dim() > 1 else 0.05
                t.copy_(torch.randn(t.shape, generator=g) * std)
            if "query_feat" in name or "query_embed" in name:
                t.copy_(torch.randn(t.shape, generator=g))  # distinct queries...
            if "predictor.transformer_" in name and ("out_proj" in name or "linear2" in name):
                t.mul_(0.1)  # ...that stay distinct through the decoder layers
            if "class_embed" in name:
                t.mul_(class_gain)
            if "class_embed.bias" in name:
                t[-2] += human_bias  # some queries predict "human" (class num_parsing)
            if "pixel_decoder.mask_features" in name:  # remove the common (all-pixel) mask response
                t.sub_(t.mean(dim=1, keepdim=True) if t.dim() > 1 else t)
    return model


def reference_forward(model, image_chw: torch.Tensor, height: int | None = None, width: int | None = None):
    """Run the reference network + its instance post-process on one ``(3, h, w)`` float image (0..255).

    Returns ``(outputs, parsing)``: raw ``pred_logits``/``pred_masks`` and the reference
    ``instance_parsing_inference`` dict (``semantic_outputs``, ``part_outputs``, ``human_outputs``).
    """
    h, w = image_chw.shape[-2:]
    batched = [{"image": image_chw, "height": height or h, "width": width or w}]
    with torch.no_grad():
        out = model.forward({"batched_inputs": batched})
        outputs = {"pred_logits": out["outputs"]["pred_logits"].clone(),
                   "pred_masks": out["outputs"]["pred_masks"].clone()}
        post = model.postprocess(out)["eval_result"][0]
    return outputs, post.get("parsing")


def reference_maps(parsing: dict, num_parsing: int = 20) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Label map, instance map and person scores from the reference parsing dict.

    Follows M2FP's own evaluation code (soeaver/M2FP ``ParsingEvaluator.process``): label map =
    argmax of ``semantic_outputs``; humans painted in ascending score order where mask logit > 0;
    ids renumbered. Returned ids are in *descending* score order (id 1 = best), and each person's
    region is restricted to foreground labels, matching humanparse's convention.
    """
    labels = parsing["semantic_outputs"].argmax(0).numpy().astype(np.uint8)
    humans = parsing["human_outputs"]
    order = np.argsort(np.array([h["score"] for h in humans]), kind="stable")
    hmap = np.zeros(labels.shape, np.int64)
    for rank, i in enumerate(order, start=1):
        hmap = np.where(humans[i]["mask"].numpy() > 0, rank, hmap)
    present = [r for r in range(len(order), 0, -1) if (hmap == r).any()]
    inst = np.zeros(labels.shape, np.uint16)
    scores = []
    for new, r in enumerate(present, start=1):
        inst[hmap == r] = new
        scores.append(float(humans[order[r - 1]]["score"]))
    inst[labels == 0] = 0
    return labels, inst, scores


def blob_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A reproducible ``(H, W, 3)`` uint8 test picture: coloured ellipses on a gradient.

    Large uniform regions give random-weight networks spatially varied masks (pure noise does not).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([xx / width * 255, yy / height * 255, np.full_like(xx, 128)], -1)
    for _ in range(6):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        ry, rx = rng.uniform(0.1, 0.4) * height, rng.uniform(0.1, 0.4) * width
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        img[inside] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
