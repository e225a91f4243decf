"""Per-person colour models: skin learned from the person's own face, plus a generic skin prior.

Skin is modelled as a 2-D Gaussian over the chroma channels (Cr, Cb) of YCrCb, which are largely
independent of brightness (Chai & Ngan, "Face segmentation using skin-color map in videophone
applications", IEEE TCSVT 1999). A pixel is skin when its squared Mahalanobis distance to the Gaussian
is below a threshold (chi-square with 2 degrees of freedom: 9.21 keeps 99 % of a true Gaussian) and its
luma is not far darker than the face (shadows up to ``luma_drop`` allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CHI2_2DOF_99 = 9.21
"""99 % quantile of the chi-square distribution with 2 degrees of freedom."""

WIDEN = 2.5
"""Factor on the face's chroma covariance: limbs are lit differently from the face (tuned on
/work/shared/data/multi_person: 1.5 leaves sunlit arms unlabelled)."""

PRIOR_CR = (133.0, 173.0)
PRIOR_CB = (77.0, 127.0)
"""Fixed skin box in YCrCb from Chai & Ngan (1999), used when a person has no usable face pixels."""

SAT_MARGIN = 0.25

MIN_CHROMA = 8.0
CHROMA_FRACTION = 0.5
"""Skin needs chroma >= max(MIN_CHROMA, CHROMA_FRACTION x the face's chroma): the widened Gaussian
would otherwise reach the grey point, and grey/black/white clothes would become skin."""
"""Skin may be this much more saturated than the face's 90th-percentile saturation."""

PRIOR_RELAX = 4.0
"""Inside the fixed skin box, a learned model accepts up to this multiple of its threshold."""


def to_ycrcb(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 RGB -> ``(..., 3)`` float32 Y, Cr, Cb in 0..255 (OpenCV's BT.601 YCrCb)."""
    flat = np.ascontiguousarray(rgb.reshape(-1, 1, 3), dtype=np.uint8)
    return cv2.cvtColor(flat, cv2.COLOR_RGB2YCrCb).reshape(rgb.shape).astype(np.float32)


def saturation(rgb: np.ndarray) -> np.ndarray:
    """HSV saturation ``(max - min) / max`` of uint8 RGB, float32 in 0..1 (0 for black)."""
    flat = np.ascontiguousarray(np.asarray(rgb, np.uint8).reshape(-1, 1, 3))
    return (cv2.cvtColor(flat, cv2.COLOR_RGB2HSV)[..., 1].reshape(np.shape(rgb)[:-1]) / 255.0).astype(np.float32)


@dataclass
class SkinModel:
    """Gaussian skin model in (Cr, Cb) with a luma floor.

    Attributes:
        mean: ``(2,)`` Cr, Cb mean. cov_inv: ``(2, 2)`` inverse covariance.
        y_min: darkest luma accepted as skin (0..255).
        s_max: highest HSV saturation (0..1) accepted as skin (saturated red/orange cloth is not skin).
        c_min: smallest chroma (distance of (Cr, Cb) from the grey point (128, 128)) accepted as skin:
            grey, white and black clothes are never skin.
        threshold: squared Mahalanobis distance limit.
        learned: True if fitted on face pixels, False for the generic prior.
    """

    mean: np.ndarray
    cov_inv: np.ndarray
    y_min: float
    threshold: float = CHI2_2DOF_99
    learned: bool = True
    s_max: float = 0.75
    c_min: float = 8.0

    @classmethod
    def fit(cls, face_rgb: np.ndarray, min_pixels: int = 30, luma_drop: float = 90.0) -> "SkinModel":
        """Fit on face pixels.

        Args:
            face_rgb: ``(N, 3)`` uint8 RGB samples of a face (cheeks/nose area preferably).
            min_pixels: fewer samples than this -> :meth:`prior`.
            luma_drop: how much darker than the face's 10th luma percentile skin may be (shadowed limbs).
        Returns:
            the fitted model; outliers (eyes, brows, hair strands) are removed by one 2.5-sigma trim.
        """
        pix = np.asarray(face_rgb, np.uint8).reshape(-1, 3)
        if len(pix) < min_pixels:
            return cls.prior()
        ycc = to_ycrcb(pix)
        inside = cls.prior()._chroma_ok(ycc) & (ycc[:, 0] > 25)
        if inside.sum() >= min_pixels:
            ycc = ycc[inside]
        for _ in range(2):  # robust fit: trim outliers once
            c = ycc[:, 1:]
            mean = c.mean(0)
            cov = np.cov(c, rowvar=False) + np.eye(2) * 9.0  # floor: at least 3 chroma levels of spread
            inv = np.linalg.inv(cov)
            d2 = np.einsum("ni,ij,nj->n", c - mean, inv, c - mean)
            keep = d2 < 2.5 ** 2
            if keep.sum() < min_pixels:
                break
            ycc = ycc[keep]
        cov = np.cov(ycc[:, 1:], rowvar=False) * WIDEN + np.eye(2) * 16.0  # widen: limbs differ from the face
        y_min = float(np.percentile(ycc[:, 0], 10)) - luma_drop
        s_max = float(np.percentile(saturation(pix), 90)) + SAT_MARGIN
        mean = ycc[:, 1:].mean(0)
        c_min = max(MIN_CHROMA, CHROMA_FRACTION * float(np.hypot(mean[0] - 128, mean[1] - 128)))
        return cls(mean, np.linalg.inv(cov), max(y_min, 15.0), s_max=min(max(s_max, 0.45), 0.9), c_min=c_min)

    @classmethod
    def prior(cls) -> "SkinModel":
        """The generic model: a Gaussian that fills the Chai & Ngan (Cr, Cb) box."""
        mean = np.array([(PRIOR_CR[0] + PRIOR_CR[1]) / 2, (PRIOR_CB[0] + PRIOR_CB[1]) / 2], np.float32)
        half = np.array([(PRIOR_CR[1] - PRIOR_CR[0]) / 2, (PRIOR_CB[1] - PRIOR_CB[0]) / 2], np.float32)
        sd = half / np.sqrt(CHI2_2DOF_99)
        return cls(mean, np.diag(1.0 / sd ** 2), 40.0, learned=False)

    def _d2(self, ycc: np.ndarray) -> np.ndarray:
        d = ycc[..., 1:] - self.mean
        return d[..., 0] ** 2 * self.cov_inv[0, 0] + 2 * d[..., 0] * d[..., 1] * self.cov_inv[0, 1] \
            + d[..., 1] ** 2 * self.cov_inv[1, 1]

    def _chroma_ok(self, ycc: np.ndarray) -> np.ndarray:
        return self._d2(ycc) < self.threshold

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """Skin mask of ``rgb`` (``(H, W, 3)`` uint8): ``(H, W)`` bool.

        A learned model also accepts pixels up to ``PRIOR_RELAX`` x its threshold when they lie in
        the generic skin box (limbs lit differently from the face)."""
        ycc = to_ycrcb(rgb)
        d2 = self._d2(ycc)
        ok = d2 < self.threshold
        if self.learned:
            box = (ycc[..., 1] >= PRIOR_CR[0]) & (ycc[..., 1] <= PRIOR_CR[1]) \
                & (ycc[..., 2] >= PRIOR_CB[0]) & (ycc[..., 2] <= PRIOR_CB[1])
            ok |= box & (d2 < PRIOR_RELAX * self.threshold)
        chroma = np.hypot(ycc[..., 1] - 128, ycc[..., 2] - 128)
        return ok & (ycc[..., 0] >= self.y_min) & (saturation(rgb) <= self.s_max) & (chroma >= self.c_min)


def mean_lab(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Mean CIE Lab colour (OpenCV 8-bit scaling) of ``rgb[mask]``, ``(3,)`` float32, or None if empty."""
    if mask.sum() < 20:
        return None
    pix = np.ascontiguousarray(rgb[mask].reshape(-1, 1, 3), np.uint8)
    return cv2.cvtColor(pix, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32).mean(0)


def lab(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB -> float32 Lab (OpenCV 8-bit scaling, L 0..255)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
