"""BodyPix 2.0 as a training-time teacher for the body parts CCP does not label.

BodyPix 2.0 (Google, TensorFlow.js, Apache-2.0), MobileNetV1 x0.50 at output stride 16, as the ONNX
file described in ``../shared/models/bodypix/SOURCE.md``: input ``(1, H, W, 3)`` float32 RGB in
[-1, 1], outputs ``segments`` (person logit) and ``part_heatmaps`` (24 part logits) at stride 16.
Checked on CCP 0001 (a person facing the camera): the ``left_*`` parts lie on the image's right, so
BodyPix's sides are the person's own, as in CIHP. Only training reads it; the shipped backend does not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

BODYPIX_FILE = "MobileNetV1-x050-stride16.onnx"
BODYPIX_SHA256 = "f2e51d18eec8e3c9ef3f196ea0245db1d86529161d19e14466ad4ebc5e6ee242"
"""Digest of the ONNX file, from its SOURCE.md."""

PARTS = ("left_face", "right_face", "left_upper_arm_front", "left_upper_arm_back", "right_upper_arm_front",
         "right_upper_arm_back", "left_lower_arm_front", "left_lower_arm_back", "right_lower_arm_front",
         "right_lower_arm_back", "left_hand", "right_hand", "torso_front", "torso_back",
         "left_upper_leg_front", "left_upper_leg_back", "right_upper_leg_front", "right_upper_leg_back",
         "left_lower_leg_front", "left_lower_leg_back", "right_lower_leg_front", "right_lower_leg_back",
         "left_foot", "right_foot")
"""BodyPix 2.0's 24 parts in channel order."""

TEACHER_LONG_SIDE = 1025
"""Long side the photo is resized to for BodyPix (a multiple of 16 plus 1, as its SOURCE.md advises):
a 65-cell grid along a CCP photo's height, finer part borders than at 513."""


class BodyPixTeacher:
    """Per-pixel BodyPix part map of a photo.

    Args:
        model: path of ``MobileNetV1-x050-stride16.onnx`` (default ``../shared/models/bodypix/``).
    Raises:
        FileNotFoundError: the file is missing.
        ValueError: its SHA-256 differs from :data:`BODYPIX_SHA256`.
    """

    def __init__(self, model: Path | str | None = None) -> None:
        import onnxruntime as ort

        path = Path(model) if model else default_bodypix_path()
        if path is None or not path.is_file():
            raise FileNotFoundError(f"BodyPix teacher not found at {path or '../shared/models/bodypix/'}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != BODYPIX_SHA256:
            raise ValueError(f"{path}: SHA-256 {digest} is not the expected {BODYPIX_SHA256}")
        so = ort.SessionOptions()
        so.log_severity_level = 3  # one harmless warning per initializer listed as graph input otherwise
        self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def _run(self, image: np.ndarray, output: str) -> np.ndarray:
        """One BodyPix output upsampled to the photo: ``(H, W, C)`` float32."""
        h, w = image.shape[:2]
        s = TEACHER_LONG_SIDE / max(h, w)
        th, tw = (16 * max(1, round(h * s / 16)) + 1, 16 * max(1, round(w * s / 16)) + 1)
        x = cv2.resize(image, (tw, th), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 127.5 - 1.0
        (grid,) = self._session.run([output], {self._input: x[None]})
        grid = grid[0]
        # grid cell k of the stride-16 output is centred on input pixel 16 k
        m = np.array([[16.0, 0.0, 0.0], [0.0, 16.0, 0.0]])
        up = cv2.warpAffine(grid, m, (tw, th), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return cv2.resize(up, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, grid.shape[-1])

    def person_logit(self, image: np.ndarray) -> np.ndarray:
        """BodyPix person logit ``(H, W)`` float32 (> 0: person) of an ``(H, W, 3)`` uint8 RGB photo."""
        return self._run(image, "segments")[..., 0]

    def part_logits(self, image: np.ndarray) -> np.ndarray:
        """BodyPix part logits upsampled to the photo.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
        Returns:
            ``(H, W, 24)`` float32 logits in :data:`PARTS` order (bilinear from the stride-16 grid).
        """
        return self._run(image, "part_heatmaps")


def default_bodypix_path() -> Path | None:
    """``../shared/models/bodypix/MobileNetV1-x050-stride16.onnx`` beside the repository, or None."""
    from ..paths import shared_data_dir

    data = shared_data_dir()
    if data is None:
        return None
    p = data.parent / "models" / "bodypix" / BODYPIX_FILE
    return p if p.is_file() else None
