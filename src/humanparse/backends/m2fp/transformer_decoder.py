"""M2FP masked-attention transformer decoder (Mask2Former, Cheng et al. 2022, sec. 3.2).

Each layer: masked cross-attention of the queries to one feature level (round-robin over strides
32, 16, 8; keys outside the previous layer's predicted mask, ``sigmoid < 0.5``, are masked out,
a fully masked row attends everywhere), self-attention among queries, FFN (post-norm).
Parameter names match ModelScope's checkpoint under ``sem_seg_head.predictor.``
(``transformer_cross_attention_layers.{i}.multihead_attn.in_proj_weight``, ...).

Speed-up kept exact up to float rounding: intermediate layers only need the attention mask at the
next level's resolution, and bilinear resizing is linear, so the mask features are resized once
per level and intermediate mask logits are computed there instead of at stride 4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import fused_ops
from .config import DecoderConfig
from .position_encoding import sine_position_encoding


class MultiheadAttention(nn.Module):
    """Multi-head attention with ``nn.MultiheadAttention``'s parameters (packed ``in_proj``).

    Inputs are batch-first ``(B, L, C)``; ``mask``: ``(B, heads or 1, Lq, Lk)`` bool, True = may attend.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, q, k, v, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, lq, c = q.shape
        wq, wk, wv = self.in_proj_weight.chunk(3)
        bq, bk, bv = self.in_proj_bias.chunk(3)
        h = self.heads
        q = F.linear(q, wq, bq).view(b, lq, h, c // h).transpose(1, 2)
        k = F.linear(k, wk, bk).view(b, -1, h, c // h).transpose(1, 2)
        v = F.linear(v, wv, bv).view(b, -1, h, c // h).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(b, lq, c))


class CrossAttentionLayer(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.multihead_attn = MultiheadAttention(dim, heads)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tgt, memory, mask, pos, query_pos):
        return self.norm(tgt + self.multihead_attn(tgt + query_pos, memory + pos, memory, mask))


class SelfAttentionLayer(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(dim, heads)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tgt, query_pos):
        qk = tgt + query_pos
        return self.norm(tgt + self.self_attn(qk, qk, tgt))


class FFNLayer(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(x + self.linear2(F.relu_(self.linear1(x))))


class MLP(nn.Module):
    """``num_layers`` linear layers with ReLU between them (``layers.{i}``)."""

    def __init__(self, din: int, hidden: int, dout: int, num_layers: int) -> None:
        super().__init__()
        dims = [din] + [hidden] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:] + [dout]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class MaskedTransformerDecoder(nn.Module):
    """Queries -> class logits ``(B, Q, C+1)`` and mask logits ``(B, Q, H/4, W/4)``.

    ``forward(multi_scale, mask_features)``: ``multi_scale`` = 3 maps ``(B, hidden, h_l, w_l)``
    from coarse to fine; ``mask_features`` ``(B, mask_dim, H/4, W/4)``.
    """

    num_levels = 3

    def __init__(self, cfg: DecoderConfig, in_channels: int) -> None:
        super().__init__()
        d = cfg.hidden_dim
        self.num_heads = cfg.nheads
        self.num_layers = cfg.dec_layers
        self.transformer_self_attention_layers = nn.ModuleList(
            SelfAttentionLayer(d, cfg.nheads) for _ in range(cfg.dec_layers))
        self.transformer_cross_attention_layers = nn.ModuleList(
            CrossAttentionLayer(d, cfg.nheads) for _ in range(cfg.dec_layers))
        self.transformer_ffn_layers = nn.ModuleList(
            FFNLayer(d, cfg.dim_feedforward) for _ in range(cfg.dec_layers))
        if cfg.pre_norm:
            raise ValueError("pre_norm=True decoders are not supported (M2FP uses post-norm)")
        self.decoder_norm = nn.LayerNorm(d)
        self.query_feat = nn.Embedding(cfg.num_queries, d)
        self.query_embed = nn.Embedding(cfg.num_queries, d)
        self.level_embed = nn.Embedding(self.num_levels, d)
        self.input_proj = nn.ModuleList(
            nn.Conv2d(in_channels, d, kernel_size=1) if in_channels != d or cfg.enforce_input_project
            else nn.Identity() for _ in range(self.num_levels))
        self.class_embed = nn.Linear(d, cfg.num_classes + 1)
        self.mask_embed = MLP(d, d, cfg.mask_dim, 3)

    def _attn_mask(self, output, mask_feats_small):
        """Boolean ``(B, 1, Q, h*w)`` mask (True = attend; same for every head) from the current queries."""
        emb = self.mask_embed(self.decoder_norm(output))
        logits = channel_product(emb, mask_feats_small).flatten(2)
        allow = logits.sigmoid() >= 0.5  # the reference masks sigmoid < 0.5
        empty = ~allow.any(-1, keepdim=True)  # a query with an empty mask attends everywhere
        allow = allow | empty
        # (B, 1, Q, K): broadcast over heads inside SDPA (its additive float mask is built once, not per head)
        return allow.unsqueeze(1)

    def forward(self, multi_scale: list[torch.Tensor], mask_features: torch.Tensor):
        b = mask_features.shape[0]
        src, pos, sizes = [], [], []
        for i, x in enumerate(multi_scale):
            h, w = x.shape[-2:]
            sizes.append((h, w))
            p = sine_position_encoding(h, w, x.shape[1] // 2, device=x.device)
            pos.append(p.flatten(2).transpose(1, 2))
            src.append((self.input_proj[i](x).flatten(2) + self.level_embed.weight[i][None, :, None]).transpose(1, 2))
        # mask features resized once per level (interpolation commutes with the channel einsum)
        small = [F.interpolate(mask_features, size=s, mode="bilinear", align_corners=False) for s in sizes]
        query_pos = self.query_embed.weight.unsqueeze(0).expand(b, -1, -1)
        output = self.query_feat.weight.unsqueeze(0).expand(b, -1, -1)
        mask = self._attn_mask(output, small[0])
        for i in range(self.num_layers):
            lvl = i % self.num_levels
            output = self.transformer_cross_attention_layers[i](output, src[lvl], mask, pos[lvl], query_pos)
            output = self.transformer_self_attention_layers[i](output, query_pos)
            output = self.transformer_ffn_layers[i](output)
            if i < self.num_layers - 1:
                mask = self._attn_mask(output, small[(i + 1) % self.num_levels])
        dec = self.decoder_norm(output)
        logits = self.class_embed(dec)
        masks = channel_product(self.mask_embed(dec), mask_features)
        return logits, masks


def channel_product(emb: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    """``einsum("bqc,bchw->bqhw", emb, feats)``: mask logits from query embeddings ``(B, Q, C)`` and a
    feature map ``(B, C, H, W)``. A channels-last map is multiplied in place as ``(B, H*W, C)``
    (one GEMM, no transposing copy of the map)."""
    b, c, h, w = feats.shape
    if not torch.compiler.is_compiling() and fused_ops.is_channels_last(feats):
        flat = feats.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a view for channels-last
        return torch.bmm(emb, flat.transpose(1, 2)).view(b, -1, h, w)
    return torch.einsum("bqc,bchw->bqhw", emb, feats)
