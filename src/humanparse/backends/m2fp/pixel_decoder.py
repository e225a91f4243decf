"""M2FP pixel decoder: deformable-attention encoder on res3..res5 plus an FPN level at stride 4.

Mask2Former's ``MSDeformAttnPixelDecoder`` (Cheng et al. 2022, sec. 4.1), as used by M2FP.
Parameter names match ModelScope's checkpoint under ``sem_seg_head.pixel_decoder.``
(``input_proj.{i}.{0,1}``, ``transformer.level_embed``, ``transformer.encoder.layers.{i}.*``,
``adapter_1``, ``layer_1``, ``mask_features``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import fused_ops
from .backbone import ConvNorm
from .config import PixelDecoderConfig
from .deform_attn import GatherPlan, deform_attn_gather, deform_attn_grid_sample, gather_plan
from .position_encoding import sine_position_encoding


class MSDeformAttn(nn.Module):
    """Multi-scale deformable self-attention over the flattened levels (Deformable DETR, eq. 3)."""

    def __init__(self, d_model: int, n_levels: int, n_heads: int, n_points: int) -> None:
        super().__init__()
        self.n_levels, self.n_heads, self.n_points = n_levels, n_heads, n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self.kernel = "gather"  # or "grid_sample" (ONNX export)
        self.fused = False  # oneDNN fused linears (set by M2FP.optimize_for_inference)

    def forward(self, query: torch.Tensor, reference_points: torch.Tensor, value_in: torch.Tensor,
                shapes: list[tuple[int, int]], normalizer: torch.Tensor,
                plan: GatherPlan | None = None) -> torch.Tensor:
        """``query``/``value_in``: ``(N, S, C)``; ``reference_points``: ``(N, S, L, 2)`` in [0, 1];
        ``normalizer``: ``(L, 2)`` level ``(W, H)``; ``plan``: :func:`gather_plan` of these levels
        (built here if missing; only the ``"gather"`` kernel uses it). Returns ``(N, S, C)``."""
        n, q, c = query.shape
        m, nl, p = self.n_heads, self.n_levels, self.n_points
        lin = fused_ops.linear if self.fused else (lambda x, layer: layer(x))
        value = lin(value_in, self.value_proj).view(n, value_in.shape[1], m, c // m)
        offsets = lin(query, self.sampling_offsets).view(n, q, m, nl, p, 2)
        attn = lin(query, self.attention_weights).view(n, q, m, nl * p).softmax(-1).view(n, q, m, nl, p)
        if self.kernel == "gather":
            plan = plan or gather_plan(shapes, reference_points[:1], m, p)
            return lin(deform_attn_gather(value, plan, offsets, attn), self.output_proj)
        loc = reference_points[:, :, None, :, None, :] + offsets / normalizer[None, None, None, :, None, :]
        return lin(deform_attn_grid_sample(value, shapes, loc, attn), self.output_proj)


class EncoderLayer(nn.Module):
    """Post-norm encoder layer: deformable self-attention then a ReLU FFN."""

    def __init__(self, d_model: int, d_ffn: int, n_levels: int, n_heads: int, n_points: int) -> None:
        super().__init__()
        self.self_attn = MSDeformAttn(d_model, n_levels, n_heads, n_points)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ffn)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src, pos, ref, shapes, normalizer, plan=None):
        src = self.norm1(src + self.self_attn(src + pos, ref, src, shapes, normalizer, plan))
        if self.self_attn.fused:
            ffn = fused_ops.linear(fused_ops.linear(src, self.linear1, relu=True), self.linear2)
        else:
            ffn = self.linear2(F.relu_(self.linear1(src)))
        return self.norm2(src + ffn)


class _Layers(nn.Module):
    def __init__(self, layers: list[nn.Module]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)


class DeformEncoder(nn.Module):
    """Stack of :class:`EncoderLayer` with a learned per-level embedding (``level_embed``)."""

    def __init__(self, d_model: int, n_heads: int, n_layers: int, d_ffn: int, n_levels: int,
                 n_points: int) -> None:
        super().__init__()
        self.level_embed = nn.Parameter(torch.zeros(n_levels, d_model))
        self.encoder = _Layers([EncoderLayer(d_model, d_ffn, n_levels, n_heads, n_points)
                                for _ in range(n_layers)])

    @staticmethod
    def reference_points(shapes: list[tuple[int, int]], n_levels: int, device) -> torch.Tensor:
        """Pixel centres of every level, normalised to [0, 1]: ``(1, S, L, 2)`` as ``(x, y)``."""
        refs = []
        for h, w in shapes:
            ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
            xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
            ref_y, ref_x = torch.meshgrid(ys, xs, indexing="ij")
            refs.append(torch.stack((ref_x.reshape(-1), ref_y.reshape(-1)), -1))
        ref = torch.cat(refs, 0)
        return ref[None, :, None, :].expand(1, -1, n_levels, -1)

    def forward(self, srcs: list[torch.Tensor], pos: list[torch.Tensor]) -> torch.Tensor:
        shapes = [(s.shape[2], s.shape[3]) for s in srcs]
        src = torch.cat([s.flatten(2).transpose(1, 2) for s in srcs], 1)
        lvl_pos = torch.cat([p.flatten(2).transpose(1, 2) + self.level_embed[i].view(1, 1, -1)
                             for i, p in enumerate(pos)], 1)
        ref = self.reference_points(shapes, len(shapes), src.device)
        normalizer = torch.tensor([[w, h] for h, w in shapes], dtype=torch.float32, device=src.device)
        plan = None
        attn = self.encoder.layers[0].self_attn if len(self.encoder.layers) else None
        if attn is not None and attn.kernel == "gather":  # constants shared by all layers
            plan = gather_plan(shapes, ref, attn.n_heads, attn.n_points)
        for layer in self.encoder.layers:
            src = layer(src, lvl_pos, ref, shapes, normalizer, plan)
        return src


class PixelDecoder(nn.Module):
    """Backbone features -> (mask features at stride 4, 3 multi-scale features for the decoder).

    ``forward(features)`` takes ``{"res2": (B,256,H/4,W/4), ..., "res5": (B,2048,H/32,W/32)}`` and
    returns ``(mask_features (B, mask_dim, H/4, W/4), [f_32, f_16, f_8])`` (each ``conv_dim``).
    """

    def __init__(self, cfg: PixelDecoderConfig, channels: dict[str, int], strides: dict[str, int]) -> None:
        super().__init__()
        self.in_features = sorted(cfg.in_features, key=lambda k: strides[k])
        self.trans_features = sorted(cfg.transformer_in_features, key=lambda k: strides[k])
        d = cfg.conv_dim
        self.input_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels[k], d, kernel_size=1), nn.GroupNorm(32, d))
            for k in self.trans_features[::-1])
        self.transformer = DeformEncoder(d, cfg.transformer_nheads, cfg.transformer_enc_layers,
                                         cfg.transformer_dim_feedforward, len(self.trans_features), cfg.n_points)
        self.mask_features = nn.Conv2d(d, cfg.mask_dim, kernel_size=1)
        min_stride = min(strides[k] for k in self.trans_features)
        self.num_fpn_levels = int(round(math.log2(min_stride) - math.log2(cfg.common_stride)))
        self.fpn_features = self.in_features[:self.num_fpn_levels][::-1]
        for i, k in enumerate(self.in_features[:self.num_fpn_levels]):
            self.add_module(f"adapter_{i + 1}", ConvNorm(channels[k], d, kernel_size=1, bias=False,
                                                         norm=nn.GroupNorm(32, d)))
            self.add_module(f"layer_{i + 1}", ConvNorm(d, d, kernel_size=3, padding=1, bias=False,
                                                       norm=nn.GroupNorm(32, d), relu=True))
        self.conv_dim = d

    def set_kernel(self, kernel: str) -> None:
        """Choose the deformable-attention kernel: ``"gather"`` (fast eager) or ``"grid_sample"``."""
        if kernel not in ("gather", "grid_sample"):
            raise ValueError(f"unknown deformable-attention kernel {kernel!r}")
        for m in self.modules():
            if isinstance(m, MSDeformAttn):
                m.kernel = kernel

    def forward(self, features: dict[str, torch.Tensor]):
        srcs, pos = [], []
        for i, k in enumerate(self.trans_features[::-1]):
            x = features[k].float()
            conv, norm = self.input_proj[i]
            srcs.append(norm(self._conv(conv, x)))
            pos.append(sine_position_encoding(x.shape[2], x.shape[3], self.conv_dim // 2, device=x.device)
                       .expand(x.shape[0], -1, -1, -1))
        y = self.transformer(srcs, pos)
        bs = y.shape[0]
        out, start = [], 0
        for s in srcs:
            h, w = s.shape[2], s.shape[3]
            out.append(y[:, start:start + h * w].transpose(1, 2).reshape(bs, -1, h, w))
            start += h * w
        n = self.num_fpn_levels
        for j, k in enumerate(self.fpn_features):
            idx = n - j  # adapter_{idx}: in_features order, reversed for top-down
            lateral = getattr(self, f"adapter_{idx}")(features[k].float())
            coarse = out[-1]
            if fused_ops.is_channels_last(lateral) and not torch.jit.is_tracing():
                # the encoder output is a strided view; an exact channels-last copy keeps the
                # upsampling and the sum in one memory format (mixed formats cost ~10x more)
                coarse = coarse.clone(memory_format=torch.channels_last)
            up = F.interpolate(coarse, size=lateral.shape[-2:], mode="bilinear", align_corners=False)
            out.append(getattr(self, f"layer_{idx}")(lateral + up))
        return self._conv(self.mask_features, out[-1]), out[:3]

    fused = False
    """Set by :meth:`M2FP.optimize_for_inference`: plain convolutions through :mod:`.fused_ops`."""

    def _conv(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        return fused_ops.conv2d(x, conv) if self.fused else conv(x)
