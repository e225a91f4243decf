"""Normalised sine positional encoding of a feature map (DETR, Carion et al. 2020, sec. A.4).

No padding mask is used at inference, so the encoding depends only on ``(H, W)``: row ``i``
(1-based) gets ``y = i / (H + 1e-6) * 2*pi``, column ``j`` gets ``x = j / (W + 1e-6) * 2*pi``, and
channel ``k`` of each half is ``sin`` (even ``k``) / ``cos`` (odd ``k``) of ``coord / T^(2*(k//2)/F)``
with ``T = 10000`` and ``F = num_pos_feats``. Output channels: ``F`` for y then ``F`` for x.
"""

from __future__ import annotations

import math

import torch


def sine_position_encoding(height: int, width: int, num_pos_feats: int, temperature: float = 10000.0,
                           device=None, dtype=torch.float32) -> torch.Tensor:
    """Positional encoding of an ``(H, W)`` grid.

    Returns:
        ``(1, 2 * num_pos_feats, H, W)`` float32 tensor with values in [-1, 1].
    """
    scale = 2 * math.pi
    eps = 1e-6
    y = torch.arange(1, height + 1, device=device, dtype=torch.float32)
    x = torch.arange(1, width + 1, device=device, dtype=torch.float32)
    y = y / (y[-1:] + eps) * scale
    x = x / (x[-1:] + eps) * scale
    k = torch.arange(num_pos_feats, device=device, dtype=torch.float32)
    dim_t = temperature ** (2 * torch.div(k, 2, rounding_mode="floor") / num_pos_feats)
    py = _interleave(y[:, None] / dim_t)  # (H, F)
    px = _interleave(x[:, None] / dim_t)  # (W, F)
    pos_y = py.t()[:, :, None].expand(-1, -1, width)
    pos_x = px.t()[:, None, :].expand(-1, height, -1)
    return torch.cat((pos_y, pos_x), dim=0).unsqueeze(0).to(dtype)


def _interleave(t: torch.Tensor) -> torch.Tensor:
    """``[sin(t0), cos(t1), sin(t2), cos(t3), ...]`` along the last dim."""
    return torch.stack((t[:, 0::2].sin(), t[:, 1::2].cos()), dim=2).flatten(1)
