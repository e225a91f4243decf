"""Person / background alpha from MediaPipe's selfie segmenter, the fastest person model we ship.

The model files come inside the ``mediapipe==0.10.21`` wheel (``mediapipe/modules/selfie_segmentation/``,
Apache-2.0), found the same way as the backend's bundled models (:func:`.mediapipe_assets.mediapipe_dir`):
nothing is downloaded. ``landscape`` (144 x 256 input, the default) suits 16:9 camera frames and is the faster
one; ``general`` takes 256 x 256. They run through the MediaPipe Tasks ``ImageSegmenter`` (TFLite, CPU); the
frame is shrunk with OpenCV to at most :data:`WORK_SIDE` px before it is handed over and the confidence mask
is scaled back up, which costs less than letting the graph copy and resize the full frame.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..errors import WeightsNotFoundError

MODELS = {
    "landscape": "modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
    "general": "modules/selfie_segmentation/selfie_segmentation.tflite",
}
"""Model name -> path of its ``.tflite`` inside the mediapipe package."""

WORK_SIDE = 320
"""Longest side (px) of the copy handed to the model (its input is 256 px long at most)."""


def model_path(model: str = "landscape") -> Path:
    """Path of the selfie-segmentation model ``model`` (a key of :data:`MODELS`) in the installed mediapipe.

    Raises:
        ValueError: unknown model name.
        WeightsNotFoundError: the file is missing from the mediapipe installation.
        BackendUnavailableError: mediapipe is not installed.
    """
    from .mediapipe_assets import mediapipe_dir

    if model not in MODELS:
        raise ValueError(f"unknown person model {model!r}; choose from {', '.join(MODELS)}")
    path = mediapipe_dir() / MODELS[model]
    if not path.is_file():
        raise WeightsNotFoundError(f"MediaPipe selfie segmenter not found at {path}; reinstall it with "
                                   "'pip install --force-reinstall mediapipe==0.10.21'")
    return path


class PersonSegmenter:
    """Soft person / background alpha of one frame. Thread-safe (calls are serialised); reuse one per stream.

    Args:
        model: ``"landscape"`` (default) or ``"general"`` (:data:`MODELS`).
    Raises:
        see :func:`model_path`.
    """

    def __init__(self, model: str = "landscape") -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        from ..logs import native_stderr_quieted

        self.model = model
        opts = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(model_path(model))),
                                            running_mode=vision.RunningMode.IMAGE,
                                            output_confidence_masks=True, output_category_mask=False)
        with native_stderr_quieted(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)    # protobuf's MessageFactory deprecation, from mediapipe
            self._seg = vision.ImageSegmenter.create_from_options(opts)
        self._lock = threading.Lock()
        self._first = True

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Person alpha of ``rgb``.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB frame, any size.
        Returns:
            ``(H, W)`` float32 in [0, 1]: the model's person confidence, bilinearly scaled to the frame.
        Raises:
            ValueError: not an ``(H, W, 3)`` uint8 array.
            RuntimeError: the segmenter was closed.
        """
        import mediapipe as mp

        img = np.asarray(rgb)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8 or min(img.shape[:2]) < 1:
            raise ValueError(f"frame must be (H, W, 3) uint8 RGB, got shape {img.shape} dtype {img.dtype}")
        h, w = img.shape[:2]
        s = min(1.0, WORK_SIDE / max(h, w))
        small = img if s == 1.0 else cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                                                interpolation=cv2.INTER_AREA)
        frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(small))
        with self._lock:
            if self._seg is None:
                raise RuntimeError("the person segmenter is closed")
            if self._first:                     # MediaPipe logs on its first call: keep that off the terminal
                from ..logs import native_stderr_quieted

                with native_stderr_quieted():
                    res = self._seg.segment(frame)
                self._first = False
            else:
                res = self._seg.segment(frame)
            conf = np.array(res.confidence_masks[0].numpy_view(), np.float32).reshape(small.shape[:2])
        if conf.shape != (h, w):
            conf = cv2.resize(conf, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(conf, 0.0, 1.0)

    def close(self) -> None:
        """Free the model. Idempotent."""
        with self._lock:
            if self._seg is not None:
                self._seg.close()
                self._seg = None

    def __enter__(self) -> "PersonSegmenter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
