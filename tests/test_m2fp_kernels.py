"""M2FP's fast CPU kernels equal the plain PyTorch ops they replace (up to float32 rounding).

Winograd F(4x4, 3x3) against ``F.conv2d``; the gather formulation of multi-scale deformable
attention against the ``grid_sample`` one (the formulation of the reference and the ONNX export).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from humanparse.backends.m2fp import fused_ops, winograd
from humanparse.backends.m2fp.deform_attn import (GatherPlan, deform_attn_gather, deform_attn_grid_sample,
                                                  gather_plan)
from humanparse.backends.m2fp.pixel_decoder import DeformEncoder


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("b,c,o,h,w", [(1, 256, 256, 32, 32), (1, 256, 320, 13, 7), (2, 272, 256, 9, 18),
                                       (1, 512, 256, 1, 1)])
@pytest.mark.parametrize("relu", [False, True])
def test_winograd_matches_direct_convolution(b, c, o, h, w, relu):
    g = torch.Generator().manual_seed(h * w + c)
    x = torch.randn(b, c, h, w, generator=g)
    weight = torch.randn(o, c, 3, 3, generator=g) / (3 * c ** 0.5)
    bias = torch.randn(o, generator=g)
    ref = F.conv2d(x, weight, bias, padding=1)
    ref = F.relu(ref) if relu else ref
    u = winograd.transform_weight(weight)
    for inp in (x, x.contiguous(memory_format=torch.channels_last)):
        y = winograd.conv3x3(inp, u, bias, relu=relu)
        assert y.shape == ref.shape and y.is_contiguous(memory_format=torch.channels_last)
        assert _rel_err(y, ref) < 1e-4
        if relu:
            assert y.min() >= 0


@pytest.mark.parametrize("b", [1, 2])
def test_winograd_strips_and_no_bias(monkeypatch, b):
    """A map split into several strips of tile rows (and a ragged last strip) gives the same output."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(b, 256, 23, 10, generator=g)
    weight = torch.randn(256, 256, 3, 3, generator=g)
    ref = F.conv2d(x, weight, None, padding=1)
    u = winograd.transform_weight(weight)
    whole = winograd.conv3x3(x, u, None)
    monkeypatch.setattr(winograd, "STRIP_ELEMENTS", b * 256 * 3 * 16 * 2)  # 2 tile rows per strip of 3 tiles
    strips = winograd.conv3x3(x, u, None)
    assert _rel_err(whole, ref) < 1e-4 and _rel_err(strips, ref) < 1e-4
    assert torch.allclose(whole, strips, atol=1e-5 * float(ref.abs().max()))


@pytest.mark.parametrize("kwargs,expected", [
    ({}, True),
    ({"in_channels": 128}, False),
    ({"out_channels": 64}, False),
    ({"stride": 2}, False),
    ({"dilation": 2, "padding": 2}, False),
    ({"kernel_size": 1, "padding": 0}, False),
    ({"groups": 2}, False),
])
def test_winograd_eligibility(kwargs, expected):
    args = {"in_channels": 256, "out_channels": 256, "kernel_size": 3, "padding": 1, **kwargs}
    assert winograd.eligible(torch.nn.Conv2d(**args)) is expected


def test_fused_conv_takes_winograd_path_and_caches_the_transformed_weight():
    conv = torch.nn.Conv2d(256, 256, 3, padding=1)
    x = torch.randn(1, 256, 12, 12).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        y = fused_ops.conv2d(x, conv, relu=True)
        cached = conv._winograd[1]
        fused_ops.conv2d(x, conv, relu=True)
        assert conv._winograd[1] is cached  # transformed once
        ref = F.relu(F.conv2d(x, conv.weight, conv.bias, padding=1))
    assert _rel_err(y, ref) < 1e-4
    conv.weight = torch.nn.Parameter(conv.weight.detach() * 2)  # replaced weight: transformed again
    with torch.inference_mode():
        y2 = fused_ops.conv2d(x, conv)
        assert _rel_err(y2, F.conv2d(x, conv.weight, conv.bias, padding=1)) < 1e-4


@pytest.mark.parametrize("n", [1, 2])
def test_gather_kernel_matches_grid_sample(n):
    """Offsets reaching far outside every level (zeros padding) included."""
    shapes = [(3, 5), (6, 10), (12, 20)]
    m, p, d = 4, 3, 8
    s = sum(h * w for h, w in shapes)
    g = torch.Generator().manual_seed(n)
    value = torch.randn(n, s, m, d, generator=g)
    offsets = torch.randn(n, s, m, len(shapes), p, 2, generator=g) * 6
    attn = torch.randn(n, s, m, len(shapes) * p, generator=g).softmax(-1).view(n, s, m, len(shapes), p)
    ref_pts = DeformEncoder.reference_points(shapes, len(shapes), "cpu")
    normalizer = torch.tensor([[w, h] for h, w in shapes], dtype=torch.float32)
    loc = ref_pts[:, :, None, :, None, :] + offsets / normalizer[None, None, None, :, None, :]
    assert (loc < 0).any() and (loc > 1).any()
    expected = deform_attn_grid_sample(value, shapes, loc, attn)
    got = deform_attn_gather(value, gather_plan(shapes, ref_pts, m, p), offsets, attn)
    assert got.shape == (n, s, m * d)
    assert torch.allclose(got, expected, atol=1e-5)


def test_gather_kernel_refuses_tables_beyond_exact_float_indices():
    z = torch.zeros(1)
    plan = GatherPlan([(1, 1)], z, z, z, z, z.int(), head_stride=2 ** 24)
    with pytest.raises(ValueError, match="grid_sample"):
        deform_attn_gather(torch.zeros(1, 1, 1, 2), plan, torch.zeros(1, 1, 1, 1, 1, 2), torch.zeros(1, 1, 1, 1, 1))


@pytest.mark.parametrize("padded,image", [((64, 96), (64, 96)), ((64, 96), (61, 83)), ((800, 1344), (800, 1333))])
def test_mask_upsampling_equals_upsample_then_crop(padded, image):
    """The post-process's one-call upsampling equals bilinear to the padded size, then the crop."""
    from humanparse.backends.m2fp.postprocess import upsample_masks

    masks = torch.randn(3, padded[0] // 4, padded[1] // 4, generator=torch.Generator().manual_seed(1))
    expected = F.interpolate(masks[None], size=padded, mode="bilinear", align_corners=False)[0, :, :image[0], :image[1]]
    assert torch.equal(upsample_masks(masks, padded, image, image), expected)
    out = (image[0] * 2 + 1, image[1] + 7)
    resized = F.interpolate(expected[None], size=out, mode="bilinear", align_corners=False)[0]
    assert torch.equal(upsample_masks(masks, padded, image, out), resized)
