"""COCO run-length encoding of binary masks (via pycocotools, the format's reference implementation)."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask


def encode(mask: np.ndarray) -> dict:
    """Encode an ``(H, W)`` bool mask as COCO RLE: ``{"size": [H, W], "counts": str}`` (column-major, as COCO)."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode(rle: dict) -> np.ndarray:
    """Decode a COCO RLE dict (``counts`` as str or bytes) to an ``(H, W)`` bool mask."""
    counts = rle["counts"]
    r = {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return coco_mask.decode(r).astype(bool)
