"""Temporal smoothing of per-frame alpha mattes, against flicker in video.

Per-frame parsing is independent from frame to frame, so sensor noise and compression artefacts make
the matte edge jump by a pixel or two from one frame to the next: the cut-out "boils". Two remedies:

``ema``
    Exponential moving average, ``s_t = k * s_{t-1} + (1 - k) * a_t`` with ``k`` = ``strength``.
    On a static shot with independent per-frame noise it divides the noise variance by
    ``(1 + k) / (1 - k)`` (3x at ``k = 0.5``). Its cost: moving edges lag behind and leave a faint
    trail (a step change decays as ``k ** n`` over ``n`` frames).
``flow``
    Flow-guided EMA: the previous smoothed matte is first *warped* into the current frame along the
    dense optical flow (current -> previous) before blending, so moving people are not smeared, and
    the blend weight is lowered where the warp is unreliable (occlusions, new content): per pixel
    ``k_px = strength * max(0, 1 - r / R)`` with ``r`` the absolute grey-level residual between the
    current frame and the warped previous frame and ``R`` = :data:`RESIDUAL_SCALE`.
    This is the warp-then-aggregate scheme of flow-based video matting and video stabilisation of
    per-frame predictions (e.g. Sun et al., "Deep Video Matting via Spatio-Temporal Alignment and
    Aggregation", CVPR 2021; Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018, whose
    warping-error weighting this follows). Flow: DIS (Kroeger et al., "Fast Optical Flow using Dense
    Inverse Search", ECCV 2016) or Farneback ("Two-Frame Motion Estimation Based on Polynomial
    Expansion", SCIA 2003), both from OpenCV, computed on a copy at most :data:`FLOW_MAX_SIDE` px long.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

MODES = ("off", "ema", "flow")
DEFAULT_STRENGTH = {"ema": 0.6, "flow": 0.7}
RESIDUAL_SCALE = 24.0
"""Grey-level residual (0..255 units) at which the flow-guided blend weight reaches 0."""
FLOW_DEADZONE = 0.3
"""Flow vectors shorter than this (px) are set to 0: sub-pixel flow on static regions is mostly estimation noise,
and warping by it would blur the matte a little every frame."""
FLOW_MAX_SIDE = 480
"""Longest side (px) of the frames the optical flow is computed on; the flow is scaled back up."""


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinate grids ``(x, y)``, each ``(h, w)`` float32 (cached: remap needs them every frame)."""
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def flow_gray(image: np.ndarray, max_side: int = FLOW_MAX_SIDE) -> tuple[np.ndarray, float]:
    """Grey copy of an ``(H, W, 3)`` uint8 RGB frame for optical flow, at most ``max_side`` px long.

    Returns:
        ``(gray, scale)``: ``(h, w)`` uint8 and the factor ``h / H`` (1.0: full size).
    """
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    gray = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return gray, scale


def warp(previous: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``previous`` (``(h, w[, c])``) sampled at ``x + flow(x)``: the previous frame's content moved into the
    current frame along a current -> previous ``flow`` (``(h, w, 2)`` float32 px, same size); pixels that
    come from outside the frame repeat its edge."""
    h, w = flow.shape[:2]
    gx, gy = _grid(h, w)
    return cv2.remap(previous, gx + flow[..., 0], gy + flow[..., 1], interpolation, borderMode=cv2.BORDER_REPLICATE)


def _check_alpha(alpha: np.ndarray) -> np.ndarray:
    a = np.asarray(alpha)
    if a.ndim != 2:
        raise ValueError(f"alpha must be (H, W), got shape {a.shape}")
    return a.astype(np.float32, copy=False)


class AlphaSmoother:
    """No smoothing: :meth:`update` returns the alpha unchanged. Base class of the smoothers."""

    mode = "off"

    def update(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Smooth the matte of the next frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB frame (used by flow-guided smoothing).
            alpha: ``(H, W)`` float alpha in [0, 1] of this frame.
        Returns:
            ``(H, W)`` float32 alpha in [0, 1].
        Raises:
            ValueError: bad shapes, or the frame size changed mid-stream.
        """
        return _check_alpha(alpha)

    def reset(self) -> None:
        """Forget the past (call at a scene cut)."""


class EmaSmoother(AlphaSmoother):
    """Exponential moving average of the matte (see module doc). ``strength`` in [0, 1)."""

    mode = "ema"

    def __init__(self, strength: float = DEFAULT_STRENGTH["ema"]) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1), got {strength}")
        self.strength = float(strength)
        self._prev: np.ndarray | None = None

    def update(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        a = _check_alpha(alpha)
        if self._prev is not None and self._prev.shape != a.shape:
            raise ValueError(f"frame size changed from {self._prev.shape} to {a.shape}")
        out = a.copy() if self._prev is None else self.strength * self._prev + (1.0 - self.strength) * a
        self._prev = out
        return out

    def reset(self) -> None:
        self._prev = None


class FlowSmoother(AlphaSmoother):
    """Flow-guided EMA (see module doc). ``method``: ``"dis"`` (default, fast) or ``"farneback"``."""

    mode = "flow"

    def __init__(self, strength: float = DEFAULT_STRENGTH["flow"], method: str = "dis") -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1), got {strength}")
        if method not in ("dis", "farneback"):
            raise ValueError(f"unknown optical flow {method!r}; choose dis or farneback")
        self.strength = float(strength)
        self.method = method
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST) if method == "dis" else None
        self._prev: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None

    def _flow(self, cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """Flow ``f`` with ``cur(x) ~ prev(x + f(x))``, ``(h, w, 2)`` float32 px, at the gray images' size."""
        if self._dis is not None:
            return self._dis.calc(cur, prev, None)
        return cv2.calcOpticalFlowFarneback(cur, prev, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    def update(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        a = _check_alpha(alpha)
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[:2] != a.shape:
            raise ValueError(f"image {img.shape} and alpha {a.shape} must be (H, W, 3) and (H, W)")
        h, w = a.shape
        gray, scale = flow_gray(img)
        if self._prev is None or self._prev.shape != a.shape or self._prev_gray.shape != gray.shape:
            if self._prev is not None and self._prev.shape != a.shape:
                raise ValueError(f"frame size changed from {self._prev.shape} to {a.shape}")
            self._prev, self._prev_gray = a.copy(), gray
            return self._prev
        flow = self._flow(gray, self._prev_gray)
        flow[(flow ** 2).sum(axis=2) < FLOW_DEADZONE ** 2] = 0.0
        warped_gray = warp(self._prev_gray, flow)
        resid = np.abs(gray.astype(np.float32) - warped_gray.astype(np.float32))
        weight = self.strength * np.clip(1.0 - resid / RESIDUAL_SCALE, 0.0, 1.0)
        if scale < 1.0:
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) / scale
            weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
        warped = warp(self._prev, flow)
        out = weight * warped + (1.0 - weight) * a
        self._prev, self._prev_gray = np.clip(out, 0.0, 1.0).astype(np.float32), gray
        return self._prev

    def reset(self) -> None:
        self._prev = self._prev_gray = None


def make_smoother(mode: str = "off", strength: float | None = None) -> AlphaSmoother:
    """A smoother for ``mode`` in :data:`MODES` (``strength`` ``None`` = :data:`DEFAULT_STRENGTH`).

    Raises:
        ValueError: unknown mode or strength outside [0, 1).
    """
    if mode == "off":
        return AlphaSmoother()
    if mode == "ema":
        return EmaSmoother(DEFAULT_STRENGTH["ema"] if strength is None else strength)
    if mode == "flow":
        return FlowSmoother(DEFAULT_STRENGTH["flow"] if strength is None else strength)
    raise ValueError(f"unknown smoothing {mode!r}; choose from {', '.join(MODES)}")
