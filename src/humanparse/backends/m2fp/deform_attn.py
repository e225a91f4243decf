"""Multi-scale deformable attention (Zhu et al. 2021, "Deformable DETR", eq. 3) in pure PyTorch.

Each query ``q`` and head ``h`` reads ``L * P`` bilinear samples (``L`` levels, ``P`` points) of
the value map and sums them with softmax attention weights. Bilinear sampling follows
``F.grid_sample(mode="bilinear", padding_mode="zeros", align_corners=False)``: a sample at
normalised location ``(u, v)`` in [0, 1] of a ``(H, W)`` level reads pixel coordinates
``(u * W - 0.5, v * H - 0.5)`` and out-of-map neighbours count as zero.

Two interchangeable kernels:

* :func:`deform_attn_gather` (eager default): the 4 bilinear corners of every sample are turned
  into ``(index, weight)`` pairs (attention weight folded in) and summed with one
  ``F.embedding_bag`` call over all levels, heads and points. No
  ``(queries x heads x channels x samples)`` intermediate is materialised and value rows of one
  head are read contiguously.
* :func:`deform_attn_grid_sample` (ONNX export): one ``grid_sample`` per level (ONNX
  ``GridSample``, opset >= 16), then a weighted sum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def deform_attn_gather(value: torch.Tensor, shapes: list[tuple[int, int]], locations: torch.Tensor,
                       weights: torch.Tensor) -> torch.Tensor:
    """Deformable attention by weighted gathers (one ``embedding_bag``).

    Each level is zero-padded by 1 pixel before and 2 after in x and y and sample coordinates are
    clamped to ``[-1, W]`` x ``[-1, H]``: every bilinear corner then has a valid index, and corners
    outside the map read zeros, exactly like ``grid_sample``'s zeros padding.

    Args:
        value: ``(N, S, M, D)`` value vectors; ``S = sum(H_l * W_l)`` tokens (levels concatenated
            in ``shapes`` order, row-major), ``M`` heads of ``D`` channels.
        shapes: ``[(H_l, W_l)]`` per level.
        locations: ``(N, Q, M, L, P, 2)`` sampling locations ``(x, y)`` normalised to [0, 1].
        weights: ``(N, Q, M, L, P)`` attention weights (softmax over ``L * P``).
    Returns:
        ``(N, Q, M * D)`` float tensor.
    """
    n, s, m, d = value.shape
    q, nl = locations.shape[1], locations.shape[3]
    dev = value.device
    # padded value table: (N, M, sum((H+3)*(W+3)), D)
    tables, starts, start = [], [], 0
    v = value.permute(0, 2, 1, 3)
    for h, w in shapes:
        lvl = v[:, :, start:start + h * w].reshape(n, m, h, w, d)
        tables.append(F.pad(lvl, (0, 0, 1, 2, 1, 2)).reshape(n, m, -1, d))
        starts.append(sum((hh + 3) * (ww + 3) for hh, ww in shapes[:len(starts)]))
        start += h * w
    table = torch.cat(tables, 2)
    sp = table.shape[2]
    hw = torch.tensor(shapes, dtype=torch.float32, device=dev)
    wl, hl = hw[:, 1].view(1, 1, 1, nl, 1), hw[:, 0].view(1, 1, 1, nl, 1)
    x = torch.clamp(locations[..., 0] * wl - 0.5, min=-1.0)
    y = torch.clamp(locations[..., 1] * hl - 0.5, min=-1.0)
    x, y = torch.minimum(x, wl, out=x), torch.minimum(y, hl, out=y)
    x0, y0 = x.floor(), y.floor()
    fx, fy = x.sub_(x0), y.sub_(y0)
    # int32 indices when the table allows (half the index memory traffic; embedding_bag takes both)
    it = torch.int32 if n * m * sp < 2 ** 31 else torch.int64
    wp = torch.tensor([ww + 3 for _, ww in shapes], dtype=it, device=dev)
    base = (torch.arange(n, device=dev, dtype=it).view(n, 1, 1, 1, 1) * m
            + torch.arange(m, device=dev, dtype=it).view(1, 1, m, 1, 1)) * sp \
        + torch.tensor(starts, dtype=it, device=dev).view(1, 1, 1, nl, 1)
    lin = base + (y0.to(it) + 1) * wp.view(1, 1, 1, nl, 1) + (x0.to(it) + 1)
    corner = torch.stack([torch.zeros_like(wp), torch.ones_like(wp), wp, wp + 1], -1)  # (L, 4)
    idx = lin.unsqueeze(-1) + corner.view(1, 1, 1, nl, 1, 4)
    wy1 = weights * fy
    wy0 = weights - wy1
    fx0 = 1 - fx
    wts = torch.stack([wy0 * fx0, wy0 * fx, wy1 * fx0, wy1 * fx], -1)
    out = F.embedding_bag(idx.reshape(n * q * m, -1), table.reshape(-1, d),
                          per_sample_weights=wts.reshape(n * q * m, -1).to(table.dtype), mode="sum")
    return out.view(n, q, m * d)


def deform_attn_grid_sample(value: torch.Tensor, shapes: list[tuple[int, int]], locations: torch.Tensor,
                            weights: torch.Tensor) -> torch.Tensor:
    """Same result as :func:`deform_attn_gather`, with one ``F.grid_sample`` per level (exportable)."""
    n, _, m, d = value.shape
    _, q, _, nl, p, _ = locations.shape
    grids = 2 * locations - 1
    out = None
    start = 0
    for lvl, (h, w) in enumerate(shapes):
        v = value[:, start:start + h * w].permute(0, 2, 3, 1).reshape(n * m, d, h, w)
        start += h * w
        g = grids[:, :, :, lvl].permute(0, 2, 1, 3, 4).reshape(n * m, q, p, 2)
        sampled = F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False)
        a = weights[:, :, :, lvl].permute(0, 2, 1, 3).reshape(n * m, 1, q, p)
        term = (sampled * a).sum(-1)  # (N*M, D, Q)
        out = term if out is None else out + term
    return out.view(n, m * d, q).transpose(1, 2)
