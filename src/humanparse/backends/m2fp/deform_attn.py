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
  head are read contiguously. Sample positions are computed in level pixels against constants
  built once per forward (:func:`gather_plan`).
* :func:`deform_attn_grid_sample` (ONNX export): one ``grid_sample`` per level (ONNX
  ``GridSample``, opset >= 16), then a weighted sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class GatherPlan:
    """Per-forward constants of :func:`deform_attn_gather` (shared by every encoder layer).

    Every tensor is laid out over the inner dimensions ``(M, L, P)`` of the sampling tensors, so
    per-layer arithmetic only broadcasts over the outer (batch, query) dimensions, which PyTorch
    runs as contiguous vectorised loops.
    """

    shapes: list[tuple[int, int]]
    ref_px: torch.Tensor  # (S, M, L, P, 2) reference point of each sample in level pixels, minus 0.5
    hi: torch.Tensor  # (M, L, P, 2) upper clamp (W_l, H_l)
    base: torch.Tensor  # (M, L, P) float index of padded pixel (0, 0) of head m, level l (+ row and column 1)
    row: torch.Tensor  # (M, L, P) float padded row length W_l + 3
    corners: torch.Tensor  # (M, 4, L, P) int32 index offsets of the 4 bilinear corners
    head_stride: int  # rows of the padded value table per head
    table: torch.Tensor | None = None  # (N, M, head_stride, D) padded value table, reused by every layer

    def value_table(self, value: torch.Tensor) -> torch.Tensor:
        """Copy ``value`` ``(N, S, M, D)`` into the zero-bordered table (allocated on first use;
        later layers overwrite only the interiors, the zero borders stay)."""
        n, _, m, d = value.shape
        t = self.table
        if t is None or t.shape != (n, m, self.head_stride, d) or t.dtype != value.dtype or t.device != value.device:
            t = self.table = value.new_zeros((n, m, self.head_stride, d))
        v = value.permute(0, 2, 1, 3)
        start = pos = 0
        for h, w in self.shapes:
            size = (h + 3) * (w + 3)
            lvl = t[:, :, pos:pos + size].view(n, m, h + 3, w + 3, d)
            lvl[:, :, 1:h + 1, 1:w + 1].copy_(v[:, :, start:start + h * w].reshape(n, m, h, w, d))
            start += h * w
            pos += size
        return t


def gather_plan(shapes: list[tuple[int, int]], reference_points: torch.Tensor, n_heads: int,
                n_points: int) -> GatherPlan:
    """Build the :class:`GatherPlan` for levels ``shapes`` (``[(H_l, W_l)]``) and normalised
    ``reference_points`` ``(1, S, L, 2)`` (``(x, y)`` in [0, 1])."""
    dev = reference_points.device
    nl = len(shapes)
    hw = torch.tensor(shapes, dtype=torch.float32, device=dev)  # (L, 2) as (H, W)
    wh = hw.flip(1)
    ref_px = (reference_points[0] * wh - 0.5)[:, None, :, None, :]
    ref_px = ref_px.expand(-1, n_heads, nl, n_points, 2).contiguous()
    hi = wh.view(1, nl, 1, 2).expand(n_heads, nl, n_points, 2).contiguous()
    row = hw[:, 1] + 3
    sizes = (hw[:, 0] + 3) * row
    starts = torch.cumsum(sizes, 0) - sizes
    head_stride = int(sizes.sum())
    base = (torch.arange(n_heads, dtype=torch.float32, device=dev).view(-1, 1, 1) * head_stride
            + (starts + row + 1).view(1, nl, 1)).expand(n_heads, nl, n_points).contiguous()
    row = row.view(1, nl, 1).expand(n_heads, nl, n_points)
    corners = torch.stack([torch.zeros_like(row), torch.ones_like(row), row, row + 1], 1).to(torch.int32)
    return GatherPlan(shapes, ref_px, hi, base, row.contiguous(), corners.contiguous(), head_stride)


def deform_attn_gather(value: torch.Tensor, plan: GatherPlan, offsets: torch.Tensor,
                       weights: torch.Tensor) -> torch.Tensor:
    """Deformable attention by weighted gathers (one ``embedding_bag``).

    A sample of query ``q`` at level ``l`` reads pixel coordinates ``ref_l(q) + offset``, with
    ``ref_l(q) = ref(q) * (W_l, H_l) - 0.5`` (``grid_sample``'s ``align_corners=False`` rule for the
    reference's normalised location ``ref(q) + offset / (W_l, H_l)``; equal up to float rounding).
    Each level is zero-padded by 1 pixel before and 2 after in x and y and coordinates are clamped
    to ``[-1, W_l]`` x ``[-1, H_l]``: every bilinear corner then has a valid index, and corners
    outside the map read zeros, exactly like ``grid_sample``'s zeros padding. Indices are
    computed in float32 (exact below 2**24 table rows) and gathered as int32.

    Args:
        value: ``(N, S, M, D)`` value vectors; ``S = sum(H_l * W_l)`` tokens (levels concatenated
            in ``plan.shapes`` order, row-major), ``M`` heads of ``D`` channels.
        plan: :func:`gather_plan` for these levels.
        offsets: ``(N, Q, M, L, P, 2)`` sampling offsets ``(x, y)`` in level pixels (the
            ``sampling_offsets`` projection as is).
        weights: ``(N, Q, M, L, P)`` attention weights (softmax over ``L * P``).
    Returns:
        ``(N, Q, M * D)`` float tensor.
    Raises:
        ValueError: a padded value table too large for exact float32 indices.
    """
    n, s, m, d = value.shape
    q = offsets.shape[1]
    if n * m * plan.head_stride >= 2 ** 24:
        raise ValueError("value table too large for the gather kernel; use the grid_sample kernel")
    table = plan.value_table(value)  # (N, M, sum((H+3)*(W+3)), D)
    pix = offsets + plan.ref_px
    pix.clamp_(min=-1.0)
    torch.minimum(pix, plan.hi, out=pix)
    corner = pix.floor()
    frac = pix.sub_(corner)
    lin = torch.addcmul(plan.base + corner[..., 0], corner[..., 1], plan.row).to(torch.int32)
    if n > 1:
        lin += (torch.arange(n, dtype=torch.int32, device=lin.device) * (m * plan.head_stride)).view(n, 1, 1, 1, 1)
    idx = lin.unsqueeze(3) + plan.corners  # (N, Q, M, 4, L, P): a bag per (query, head)
    fx, fy = frac[..., 0], frac[..., 1]
    wy1 = weights * fy
    wy0 = weights - wy1
    wts = weights.new_empty((n, q, m, 4) + tuple(weights.shape[3:]))  # corner weights, bag order as idx
    torch.mul(wy0, fx, out=wts[:, :, :, 1])
    torch.sub(wy0, wts[:, :, :, 1], out=wts[:, :, :, 0])
    torch.mul(wy1, fx, out=wts[:, :, :, 3])
    torch.sub(wy1, wts[:, :, :, 3], out=wts[:, :, :, 2])
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
