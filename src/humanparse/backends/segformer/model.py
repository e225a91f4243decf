"""Load a SegFormer checkpoint folder with ``transformers`` and turn an image into per-pixel classes.

The folder is in ``save_pretrained`` layout (``config.json``, ``preprocessor_config.json``,
``model.safetensors`` or ``pytorch_model.bin``) and is read with ``local_files_only=True``: nothing
is downloaded here (downloads are :func:`humanparse.models.resolve_weights`' job).

Inference follows the transformers SegFormer recipe: the checkpoint's image processor resizes and
normalises the image (``size`` and ImageNet mean/std from ``preprocessor_config.json``), the model
returns logits at 1/4 of the processed size, which are upsampled bilinearly
(``align_corners=False``) to the image size before the per-pixel argmax.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import BackendUnavailableError, ImageError

MAX_UPSAMPLED_ELEMENTS = 48_000_000
"""Most logits (classes x pixels) upsampled at once (~190 MB float32). Larger images are upsampled to a
proportionally smaller size and the label map is then resized (nearest) to the image size."""


class SegformerRunner:
    """A loaded SegFormer semantic-segmentation model on CPU, in eval / inference mode.

    Attributes:
        processor: the checkpoint's image processor (``AutoImageProcessor``).
        model: ``SegformerForSemanticSegmentation``.
        id2label: ``{class id: name}`` from the checkpoint's config.
    """

    def __init__(self, folder: str | Path) -> None:
        """Load from ``folder``.

        Raises:
            BackendUnavailableError: transformers is missing, or the folder is not a loadable
                SegFormer semantic-segmentation checkpoint (the message names the folder).
        """
        try:
            from transformers import AutoImageProcessor, SegformerForSemanticSegmentation
            from transformers.utils import logging as hf_logging
        except ImportError as e:  # pragma: no cover - the "hf" extra provides it
            raise BackendUnavailableError(f"the segformer backend needs transformers: {e} "
                                          "(pip install 'humanparse[hf]')") from e
        folder = Path(folder)
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
            self.model = SegformerForSemanticSegmentation.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BackendUnavailableError(f"cannot load a SegFormer checkpoint from {folder}: {e}") from e
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        self.model.to("cpu").eval()
        self.id2label = {int(k): v for k, v in self.model.config.id2label.items()}

    def logits(self, image: np.ndarray) -> torch.Tensor:
        """Raw logits of one image.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
        Returns:
            ``(1, K, h, w)`` float32 tensor, ``K`` = number of classes, ``h, w`` = 1/4 of the processed size.
        """
        inputs = self.processor(images=image, return_tensors="pt", input_data_format="channels_last")
        with torch.inference_mode():
            return self.model(pixel_values=inputs["pixel_values"]).logits

    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel class and confidence at the image's size.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
        Returns:
            ``(classes, confidence)``: ``(H, W)`` uint8 model class ids and ``(H, W)`` float32 softmax
            probability of the chosen class, in [0, 1].
        Raises:
            ImageError: not an ``(H, W, 3)`` uint8 array.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
            raise ImageError(f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape} dtype {image.dtype}")
        h, w = image.shape[:2]
        logits = self.logits(image).float()
        k = logits.shape[1]
        scale = min(1.0, (MAX_UPSAMPLED_ELEMENTS / float(k * h * w)) ** 0.5)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        with torch.inference_mode():
            up = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
            conf, cls = up.softmax(dim=1).max(dim=1)
        classes = cls[0].to(torch.uint8).numpy()
        confidence = conf[0].numpy().astype(np.float32)
        if size != (h, w):
            import cv2

            classes = cv2.resize(classes, (w, h), interpolation=cv2.INTER_NEAREST)
            confidence = cv2.resize(confidence, (w, h), interpolation=cv2.INTER_LINEAR)
        return classes, confidence


__all__ = ["MAX_UPSAMPLED_ELEMENTS", "SegformerRunner"]
