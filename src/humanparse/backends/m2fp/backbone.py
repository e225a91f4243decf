"""ResNet backbone with the DeepLab stem, frozen batch norm written as plain tensor ops.

Architecture: DeepLab-v3 style ResNet (He et al. 2016; stem of three 3x3 convs from
Chen et al. 2017 "Rethinking Atrous Convolution"), as configured for M2FP (Yang et al. 2023,
arXiv:2301.00394). Parameter names follow ModelScope's checkpoint
(``backbone.stem.conv1.weight``, ``backbone.res2.0.conv1.norm.running_mean``, ...), so the
published ``state_dict`` loads with ``strict=True``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import fused_ops
from .config import BackboneConfig

_BLOCKS = {26: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
"""Bottleneck blocks per stage; 26 is not in ModelScope (only used for fast export tests)."""


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics: ``y = (x - mean) / sqrt(var + eps) * weight + bias``.

    Holds the same buffers as ``nn.BatchNorm2d`` (``num_batches_tracked`` in a checkpoint is
    accepted and dropped: it has no effect at inference).
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def scale_shift(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel ``(scale, shift)`` with ``y = x * scale + shift``."""
        scale = self.weight * torch.rsqrt(self.running_var + self.eps)
        return scale, self.bias - self.running_mean * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale_shift()
        return x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)


class ConvNorm(nn.Conv2d):
    """``Conv2d`` followed by an optional norm (child ``norm``), as detectron2's ``Conv2d`` wrapper.

    :meth:`fold_norm` merges a frozen batch norm into the convolution's weight and bias.
    """

    fused = False
    """Set by :meth:`M2FP.optimize_for_inference`: use :mod:`.fused_ops` once the norm is folded."""

    def __init__(self, *args, norm: nn.Module | None = None, relu: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.norm = norm
        self.relu = relu

    def __getstate__(self):
        # the oneDNN pre-packed weight cache (fused_ops.packed_weight) is an opaque tensor that
        # cannot be copied or pickled; copies re-pack on their first call
        state = dict(super().__getstate__())
        state.pop("_packed", None)
        return state

    def forward(self, x: torch.Tensor, relu: bool | None = None, add: torch.Tensor | None = None) -> torch.Tensor:
        """``relu?(norm(conv(x)) + add?)``; ``relu`` overrides the module's own ``relu`` flag."""
        relu = self.relu if relu is None else relu
        if self.fused and self.norm is None:
            return fused_ops.conv2d(x, self, relu=relu, add=add)
        if self.fused:  # a norm follows (GroupNorm in the pixel decoder): only the conv is fused
            x = fused_ops.conv2d(x, self)
        else:
            x = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.norm is not None:
            x = self.norm(x)
        if add is not None:
            x = x + add
        return F.relu(x) if relu else x

    @torch.no_grad()
    def fold_norm(self) -> None:
        """Fold a :class:`FrozenBatchNorm2d` child into ``weight``/``bias`` (inference only)."""
        if not isinstance(self.norm, FrozenBatchNorm2d):
            return
        scale, shift = self.norm.scale_shift()
        self.weight.mul_(scale.view(-1, 1, 1, 1))
        bias = shift if self.bias is None else self.bias * scale + shift
        self.bias = nn.Parameter(bias.clone())
        self.norm = None


def _conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1, groups: int = 1) -> ConvNorm:
    pad = dilation * (k // 2)
    return ConvNorm(cin, cout, kernel_size=k, stride=stride, padding=pad, dilation=dilation,
                    groups=groups, bias=False, norm=FrozenBatchNorm2d(cout))


class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1 -> 3x3 -> 1x1, stride on the 3x3 unless ``stride_in_1x1``)."""

    def __init__(self, cin: int, cout: int, mid: int, stride: int, dilation: int, groups: int,
                 stride_in_1x1: bool) -> None:
        super().__init__()
        self.shortcut = _conv(cin, cout, 1, stride) if cin != cout else None
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = _conv(cin, mid, 1, s1)
        self.conv2 = _conv(mid, mid, 3, s3, dilation, groups)
        self.conv3 = _conv(mid, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x, relu=True)
        out = self.conv2(out, relu=True)
        return self.conv3(out, relu=True, add=self.shortcut(x) if self.shortcut is not None else x)


class DeepLabStem(nn.Module):
    """Three 3x3 convs (stride 2, 1, 1; widths C/2, C/2, C) then 3x3 max-pool stride 2: stride 4."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = _conv(cin, cout // 2, 3, 2)
        self.conv2 = _conv(cout // 2, cout // 2, 3)
        self.conv3 = _conv(cout // 2, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x, relu=True)
        x = self.conv2(x, relu=True)
        x = self.conv3(x, relu=True)
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)


class ResNetBackbone(nn.Module):
    """ResNet-26/50/101/152 with the DeepLab stem; returns ``{"res2": ..., "res5": ...}``.

    Input ``(B, 3, H, W)`` float32 (normalised, H and W multiples of 32); outputs at strides
    4, 8, 16, 32 with 256, 512, 1024, 2048 channels (for ``res2_out_channels=256``).
    """

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        if cfg.res4_dilation != 1 or cfg.res5_dilation not in (1, 2, 4):
            raise ValueError("only res4_dilation=1 and res5_dilation in {1, 2, 4} are supported")
        self.stem = DeepLabStem(3, cfg.stem_out_channels)
        self.out_features = tuple(cfg.out_features)
        cin, cout = cfg.stem_out_channels, cfg.res2_out_channels
        mid = cfg.num_groups * cfg.width_per_group
        self.channels: dict[str, int] = {}
        self.strides: dict[str, int] = {}
        stride = 4
        n_stages = max(int(f[3]) for f in self.out_features) - 1
        self.stage_names = tuple(f"res{i + 2}" for i in range(n_stages))
        for i, name in enumerate(self.stage_names):
            dilation = cfg.res5_dilation if name == "res5" else 1
            first = 1 if i == 0 or dilation > 1 else 2
            blocks = []
            for b in range(_BLOCKS[cfg.depth][i]):
                d = dilation * cfg.res5_multi_grid[b] if name == "res5" else dilation
                blocks.append(Bottleneck(cin if b == 0 else cout, cout, mid, first if b == 0 else 1, d,
                                         cfg.num_groups, cfg.stride_in_1x1))
            self.add_module(name, nn.Sequential(*blocks))
            stride *= first
            self.channels[name], self.strides[name] = cout, stride
            cin, cout, mid = cout, cout * 2, mid * 2

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"backbone expects (B, 3, H, W), got {tuple(x.shape)}")
        out = {}
        x = self.stem(x)
        for name in self.stage_names:
            x = getattr(self, name)(x)
            if name in self.out_features:
                out[name] = x
        return out

    def fold_batchnorm(self, fuse: bool = False) -> None:
        """Fold every frozen batch norm into its convolution (faster inference, same outputs);
        ``fuse``: also run conv + residual add + ReLU as one oneDNN call (:mod:`.fused_ops`)."""
        for m in self.modules():
            if isinstance(m, ConvNorm):
                m.fold_norm()
                m.fused = fuse
