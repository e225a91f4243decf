"""Image -> network input, as ModelScope's ``ImageHumanParsingPipeline.preprocess`` does.

The image is resized (Pillow bilinear, which is what ``torchvision.transforms.Resize`` does on a
PIL image) so that the shorter side is ``min_size`` (640) unless the longer side would exceed
``max_size`` (1333); Detectron2's ``ResizeShortestEdge`` rule with sizes rounded half up.
Then ``(x - mean) / std`` with ImageNet statistics in 0..255 units and zero padding at the
bottom/right to a multiple of 32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class Prepared:
    """Network input and the sizes needed to map outputs back.

    Attributes:
        tensor: ``(1, 3, Hp, Wp)`` float32, normalised and zero-padded.
        image_hw: resized image size inside the padded tensor.
        orig_hw: original image size.
    """

    tensor: torch.Tensor
    image_hw: tuple[int, int]
    orig_hw: tuple[int, int]

    @property
    def padded_hw(self) -> tuple[int, int]:
        return int(self.tensor.shape[2]), int(self.tensor.shape[3])


def resized_shape(height: int, width: int, min_size: int = 640, max_size: int = 1333) -> tuple[int, int]:
    """``(new_h, new_w)``: shorter side ``min_size``, longer side at most ``max_size`` (pixels)."""
    scale = min_size / min(height, width)
    if height < width:
        nh, nw = float(min_size), scale * width
    else:
        nh, nw = scale * height, float(min_size)
    if max(nh, nw) > max_size:
        s = max_size / max(nh, nw)
        nh, nw = nh * s, nw * s
    return int(nh + 0.5), int(nw + 0.5)


def preprocess(image: np.ndarray, mean, std, min_size: int = 640, max_size: int = 1333,
               size_divisibility: int = 32) -> Prepared:
    """Resize, normalise and pad one RGB image.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        mean, std: 3 per-channel values in 0..255 units.
    Returns:
        :class:`Prepared`.
    Raises:
        ValueError: not an ``(H, W, 3)`` uint8 array, or an empty image.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB array, got "
                         f"{getattr(image, 'shape', type(image))} {getattr(image, 'dtype', '')}")
    h, w = image.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"empty image {image.shape}")
    nh, nw = resized_shape(h, w, min_size, max_size)
    pil = Image.fromarray(np.ascontiguousarray(image)).resize((nw, nh), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1).float()
    x = x.div(255).mul(255)  # ToTensor() then * 255 in the reference: not exactly the integers
    x = (x - torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)) / torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    d = size_divisibility
    ph, pw = -(-nh // d) * d, -(-nw // d) * d
    x = torch.nn.functional.pad(x, (0, pw - nw, 0, ph - nh))
    return Prepared(x.unsqueeze(0).contiguous(), (nh, nw), (h, w))
