"""The part-segmentation network of the ``lite`` backend: EfficientNet-Lite0 encoder + a light FPN decoder.

Decoder (Lin et al., "Feature Pyramid Networks for Object Detection", CVPR 2017; the semantic branch
follows Kirillov et al., "Panoptic Feature Pyramid Networks", CVPR 2019, made light):

1. 1x1 lateral projections of the stride-4/8/16/32 encoder features to ``width`` channels; the
   stride-32 level also gets a global-average-pooled context term (as in PSPNet's image pooling).
2. Top-down pathway: upsample x2 and add, down to stride 4.
3. Stride-4/8/16 levels upsampled to stride 4 and concatenated, a 1x1 fusion, a depthwise-separable
   3x3 and a 1x1 classifier give ``(N, classes, H/4, W/4)`` logits.

The network sees one person crop (``(N, 3, H, W)`` float32 RGB in 0..255, H and W multiples of 32;
the ImageNet normalisation is the first layer, so an exported graph takes plain pixel values) and predicts the CIHP-20 classes of that person; the crop's own left/right convention is the
person's, as in the training labels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .efficientnet_lite import FEATURE_CHANNELS, IMAGENET_MEAN, IMAGENET_STD, EfficientNetLite0, load_imagenet


def _cbr(cin: int, cout: int, k: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, 1, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ParseNet(nn.Module):
    """EfficientNet-Lite0 + FPN part segmenter.

    Args:
        classes: output classes (21 for ``cihp-bag``, the shipped network; 20 for CIHP).
        width: decoder channels (default 64).
    Input ``(N, 3, H, W)`` float32 RGB in 0..255 (H, W multiples of 32); output
    ``(N, classes, H/4, W/4)`` float32 logits.
    """

    def __init__(self, classes: int = 21, width: int = 64) -> None:
        super().__init__()
        self.encoder = EfficientNetLite0(head=False)
        self.lateral = nn.ModuleList(_cbr(c, width) for c in FEATURE_CHANNELS)
        self.context = _cbr(FEATURE_CHANNELS[-1], width)
        self.fuse = _cbr(3 * width, width)
        self.refine = nn.Sequential(_cbr(width, width, 3, groups=width), _cbr(width, width))
        self.classifier = nn.Conv2d(width, classes, 1)
        self.classes = classes
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0),
                             persistent=False)

    def init_encoder(self, path=None) -> "ParseNet":
        """Load the ImageNet checkpoint into the encoder (``strict=True``, see :func:`load_imagenet`)."""
        load_imagenet(self.encoder, path)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c4, c8, c16, c32 = self.encoder.features((x - self.mean) * self.inv_std)
        p32 = self.lateral[3](c32) + self.context(F.adaptive_avg_pool2d(c32, 1))
        p16 = self.lateral[2](c16) + F.interpolate(p32, size=c16.shape[-2:], mode="bilinear", align_corners=False)
        p8 = self.lateral[1](c8) + F.interpolate(p16, size=c8.shape[-2:], mode="bilinear", align_corners=False)
        p4 = self.lateral[0](c4) + F.interpolate(p8, size=c4.shape[-2:], mode="bilinear", align_corners=False)
        size = p4.shape[-2:]
        y = torch.cat([p4, F.interpolate(p8, size=size, mode="bilinear", align_corners=False),
                       F.interpolate(p16, size=size, mode="bilinear", align_corners=False)], 1)
        return self.classifier(self.refine(self.fuse(y)))
