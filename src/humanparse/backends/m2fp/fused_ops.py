"""oneDNN fused convolution / linear calls for eager CPU inference (same math, fewer passes).

``torch.ops.mkldnn._convolution_pointwise`` and ``torch.ops.mkldnn._linear_pointwise`` are the
fused oneDNN kernels PyTorch's own inductor backend emits on CPU: the bias, a ReLU and a residual
addition are applied inside the convolution / GEMM (oneDNN post-ops) instead of as separate
full-tensor passes, and the linear bias is not first copied into the output as ``addmm`` does.
Results equal the unfused ops up to float32 rounding of the GEMM.

The fused path is only taken when :func:`can_fuse` holds (CPU float32, oneDNN built in, no
autograd, not tracing/exporting/compiling); otherwise the plain ``F.conv2d``/``F.linear`` path runs,
so ONNX export and ``torch.compile`` see ordinary ops.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import winograd


def is_channels_last(x: torch.Tensor) -> bool:
    """True for a 4-D tensor laid out channels-last (and not also plain contiguous, e.g. 1x1 maps)."""
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


def can_fuse(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """True when the oneDNN fused kernels may be used for input ``x`` and ``weight``."""
    return (x.device.type == "cpu" and x.dtype == torch.float32 and weight.dtype == torch.float32
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
            and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
            and not torch.jit.is_tracing() and not torch.compiler.is_compiling()
            and not torch.onnx.is_in_onnx_export())


def packed_weight(conv: torch.nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """The convolution weight reordered once into oneDNN's blocked layout for inputs shaped like ``x``.

    Eager ``F.conv2d`` reorders the weight on every call (for ResNet-101 about as much memory
    traffic as the weights themselves, every forward). The packed copy is cached on the module
    (``conv._packed``, not part of the ``state_dict``) for the last input shape: oneDNN's kernel
    (and so the blocking it wants) depends on the input size, and a weight packed for another size
    would be re-reordered from blocked to blocked on every call, which is far slower than packing
    again. So a new input size costs one repack (what every eager call costs), a repeated size none.
    """
    packed = getattr(conv, "_packed", None)
    if packed is None or packed[0] is not conv.weight or packed[1] != x.shape:
        w = torch._C._nn.mkldnn_reorder_conv2d_weight(
            conv.weight.detach().to_mkldnn(), list(conv.padding), list(conv.stride), list(conv.dilation),
            conv.groups, list(x.shape))
        packed = (conv.weight, x.shape, w)
        conv._packed = packed
    return packed[2]


def conv2d(x: torch.Tensor, conv: torch.nn.Conv2d, relu: bool = False,
           add: torch.Tensor | None = None) -> torch.Tensor:
    """``relu?(conv(x) + add?)`` for an ``nn.Conv2d`` (numeric padding) with one fused oneDNN call
    and a pre-packed weight (:func:`packed_weight`), or, for wide 3x3 stride-1 convolutions
    without ``add``, by Winograd F(4x4, 3x3) (:mod:`.winograd`).

    Args:
        x: ``(B, C_in, H, W)`` float32; conv: the convolution (weight, bias, stride, padding...).
        relu: apply ReLU after the (optional) addition.
        add: tensor of the output's shape added before the ReLU (ResNet residual).
    Returns:
        ``(B, C_out, H', W')`` float32, memory format following ``x``.
    """
    if not can_fuse(x, conv.weight) or isinstance(conv.padding, str):
        y = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
        if add is not None:
            y = y + add
        return F.relu_(y) if relu else y
    if add is None and winograd.eligible(conv):
        return winograd.conv3x3(x, winograd.transformed_weight(conv), conv.bias, relu=relu)
    args = (packed_weight(conv, x), conv.bias, list(conv.padding), list(conv.stride), list(conv.dilation),
            conv.groups)
    if add is None:
        return torch.ops.mkldnn._convolution_pointwise(x, *args, "relu" if relu else "none", [], "")
    return torch.ops.mkldnn._convolution_pointwise.binary(x, add, *args, "add", None,
                                                          "relu" if relu else None, [], "")


def linear(x: torch.Tensor, layer: torch.nn.Linear, relu: bool = False) -> torch.Tensor:
    """``relu?(layer(x))`` for an ``nn.Linear`` with one fused oneDNN GEMM (bias and ReLU inside).

    ``x``: ``(..., in_features)`` float32. Returns ``(..., out_features)``.
    """
    if not can_fuse(x, layer.weight):
        y = F.linear(x, layer.weight, layer.bias)
        return F.relu_(y) if relu else y
    return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "relu" if relu else "none", [], "")
