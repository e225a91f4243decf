"""Winograd F(4x4, 3x3) convolution for eager CPU inference (Lavin & Gray 2016, arXiv:1509.09308).

A 3x3 stride-1 convolution computes each 4x4 output tile from a 6x6 input tile with 36
element-wise products per (input, output) channel pair instead of 144 multiply-adds: 4x fewer
multiplications, done as 36 batched GEMMs ``(tiles x C_in) @ (C_in x C_out)``. The input and
output transforms (``B^T d B``, ``A^T m A``, each as two small matrix products over all tiles)
are memory-bound, so this only pays off for wide layers; measured on 2 AVX2
cores (oneDNN direct convolution as the baseline, ``bench/bench_m2fp.py``): 1.5x-1.8x on
ResNet-101's res4/res5 3x3 convolutions (256/512 channels) and on the pixel decoder's 256-channel
stride-4 convolution, slower than direct for 64/128 channels, which therefore stay on oneDNN
(:data:`MIN_CHANNELS`).

Numerics: the transform matrices use the points 0, +-1, +-2 (Lavin & Gray, sec. 4.1); the
relative error against direct float32 convolution is about 1e-5 of the output's maximum, well
inside the 1e-4 parity tolerance of ``tests/test_m2fp_parity.py``.
"""

from __future__ import annotations

import torch

MIN_CHANNELS = 256
"""Input and output channels from which :func:`eligible` convolutions use Winograd."""

STRIP_ELEMENTS = 1 << 20
"""Input elements (float32: 4 MB) transformed per strip of tile rows, so that the transformed
tiles of one strip stay in the last-level cache (one strip covers the whole map for small maps)."""

_M, _A = 4, 6  # output tile, input tile
_BT = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=torch.float64)
_G = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=torch.float64)
_AT = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                    [0, 1, -1, 8, -8, 1]], dtype=torch.float64)
_BT32, _AT32 = _BT.float(), _AT.float()


def eligible(conv: torch.nn.Conv2d) -> bool:
    """True for a 3x3, stride-1, dilation-1, padding-1, ungrouped convolution at least
    :data:`MIN_CHANNELS` wide on both sides."""
    w = conv.weight
    return (tuple(w.shape[2:]) == (3, 3) and tuple(conv.stride) == (1, 1) and tuple(conv.dilation) == (1, 1)
            and tuple(conv.padding) == (1, 1) and conv.groups == 1 and conv.padding_mode == "zeros"
            and w.shape[0] >= MIN_CHANNELS and w.shape[1] >= MIN_CHANNELS)


def transform_weight(weight: torch.Tensor) -> torch.Tensor:
    """``(C_out, C_in, 3, 3)`` kernel -> ``(36, C_in, C_out)`` float32 Winograd-domain kernel
    ``G g G^T`` (computed in float64, then rounded once)."""
    u = torch.einsum("ai,ocij,bj->abco", _G, weight.detach().double(), _G)
    return u.reshape(_A * _A, weight.shape[1], weight.shape[0]).float().contiguous()


def transformed_weight(conv: torch.nn.Conv2d) -> torch.Tensor:
    """:func:`transform_weight` of ``conv.weight``, cached on the module (``conv._winograd``) and
    recomputed if the weight tensor is replaced."""
    cached = getattr(conv, "_winograd", None)
    if cached is None or cached[0] is not conv.weight:
        cached = (conv.weight, transform_weight(conv.weight))
        conv._winograd = cached
    return cached[1]


def conv3x3(x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None, relu: bool = False) -> torch.Tensor:
    """``relu?(conv2d(x, w, bias, stride=1, padding=1))`` by Winograd F(4x4, 3x3).

    Args:
        x: ``(B, C_in, H, W)`` float32 (any memory format; channels-last avoids one copy).
        u: ``(36, C_in, C_out)`` from :func:`transform_weight`.
        bias: ``(C_out,)`` or ``None``.
        relu: apply ReLU to the output.
    Returns:
        ``(B, C_out, H, W)`` float32 in channels-last memory format.
    """
    b, c, h, w = x.shape
    o = u.shape[2]
    th, tw = -(-h // _M), -(-w // _M)
    xp = _pad_nhwc(x, th * _M + 2, tw * _M + 2)  # (B, Hp, Wp, C)
    out = torch.empty((b, h, w, o), dtype=x.dtype, device=x.device)
    rows = max(1, STRIP_ELEMENTS // (b * tw * _M * _M * c))
    for r0 in range(0, th, rows):
        r1 = min(th, r0 + rows)
        n = b * (r1 - r0) * tw
        tiles = xp[:, r0 * _M:r1 * _M + 2].unfold(1, _A, _M).unfold(2, _A, _M)  # (B, tr, tw, C, 6, 6)
        d = tiles.permute(4, 5, 0, 1, 2, 3).reshape(_A, _A * n * c)  # (6 rows, 6 cols x tiles x C)
        # B^T d B, one side at a time (two 6x6 products instead of one 36x36)
        v = torch.matmul(_BT32, (_BT32 @ d).view(_A, _A, n * c)).view(_A * _A, n, c)
        m = torch.bmm(v, u)  # (36, tiles, C_out)
        y = torch.matmul(_AT32, (_AT32 @ m.view(_A, _A * n * o)).view(_M, _A, n * o))  # A^T m A
        y = y.view(_M, _M, b, r1 - r0, tw, o)
        y = y.permute(2, 3, 0, 4, 1, 5).reshape(b, (r1 - r0) * _M, tw * _M, o)
        h0, h1 = r0 * _M, min(h, r1 * _M)
        dst = out[:, h0:h1]
        if bias is None:
            dst.copy_(y[:, :h1 - h0, :w])
        else:
            torch.add(y[:, :h1 - h0, :w], bias, out=dst)
        if relu:
            dst.relu_()
    return out.permute(0, 3, 1, 2)


def _pad_nhwc(x: torch.Tensor, hp: int, wp: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> contiguous ``(B, hp, wp, C)`` with ``x`` at offset (1, 1) and zeros around
    (the convolution's padding of 1 plus whatever completes the last tile row and column).
    Only the border is zero-filled; a channels-last ``x`` is copied with contiguous inner runs."""
    b, c, h, w = x.shape
    xp = x.new_empty((b, hp, wp, c))
    xp[:, :1].zero_()
    xp[:, h + 1:].zero_()
    xp[:, 1:h + 1, :1].zero_()
    xp[:, 1:h + 1, w + 1:].zero_()
    xp[:, 1:h + 1, 1:w + 1].copy_(x.permute(0, 2, 3, 1))
    return xp
