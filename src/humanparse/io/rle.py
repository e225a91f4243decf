"""COCO run-length encoding of binary masks (via pycocotools, the format's reference implementation).

:func:`encode` takes a full-frame mask. :func:`encode_parts` encodes the parts of one person from the
label and instance maps' crop to the person's box: COCO RLE runs are column-major over the *whole*
image, so the runs are found in the box with NumPy (one pass over the box, not one full-frame mask per
part) and offset into the full frame; pycocotools only turns the counts into its string form. The
result is byte-identical to :func:`encode` of the full-frame mask.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

OUTSIDE = -1
"""Code of the pixels of a box that do not belong to the person (see :func:`encode_parts`)."""


def encode(mask: np.ndarray) -> dict:
    """Encode an ``(H, W)`` bool mask as COCO RLE: ``{"size": [H, W], "counts": str}`` (column-major, as COCO)."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode(rle: dict) -> np.ndarray:
    """Decode a COCO RLE dict (``counts`` as str or bytes) to an ``(H, W)`` bool mask."""
    counts = rle["counts"]
    r = {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return coco_mask.decode(r).astype(bool)


def from_runs(starts: np.ndarray, ends: np.ndarray, height: int, width: int) -> dict:
    """COCO RLE of the mask whose runs of ones are ``[starts[i], ends[i])`` in column-major pixel order.

    Args:
        starts, ends: ``(n,)`` int64 column-major indices (``x * height + y``), ascending,
            ``starts[i] < ends[i] <= starts[i + 1]`` (touching runs are merged here, as COCO's maximal runs).
        height, width: the full image size.
    Returns:
        ``{"size": [height, width], "counts": str}``, the same as :func:`encode` of that mask.
    """
    total = int(height) * int(width)
    t = np.empty(2 * len(starts), np.int64)
    t[0::2] = starts
    t[1::2] = ends
    if len(t) > 2:
        touch = np.flatnonzero(t[2::2] == t[1:-1:2])        # end of run i == start of run i + 1
        if touch.size:
            drop = np.zeros(len(t), bool)
            drop[2 * touch + 1] = drop[2 * touch + 2] = True
            t = t[~drop]
    counts = np.diff(np.concatenate(([0], t, [total])))
    if len(t) and t[-1] == total:                            # a mask ending in ones has no closing zero run
        counts = counts[:-1]
    rle = coco_mask.frPyObjects({"size": [int(height), int(width)], "counts": counts.astype(np.uint32)},
                                int(height), int(width))
    return {"size": [int(height), int(width)], "counts": rle["counts"].decode("ascii")}


def encode_parts(codes: np.ndarray, box: tuple[int, int, int, int], height: int, width: int,
                 values) -> tuple[dict, dict[int, dict]]:
    """COCO RLE of one person's whole mask and of each of its parts, from its box only.

    Args:
        codes: ``(y2 - y1, x2 - x1)`` integer crop of the label map at ``box``, with :data:`OUTSIDE` (-1)
            on pixels that are not the person's (e.g. ``np.where(inst_crop == id, labels_crop, -1)``, int16).
        box: ``(x1, y1, x2, y2)`` of the crop in the full image, ``x2``/``y2`` exclusive; every pixel of
            the person lies inside it.
        height, width: the full image size.
        values: the part codes to encode (e.g. the class ids present).
    Returns:
        ``(person_rle, {value: rle})``: the mask of ``codes != OUTSIDE`` and of ``codes == value``, each
        identical to :func:`encode` of the full-frame mask.
    """
    x1, y1, x2, y2 = (int(v) for v in box)
    codes = np.asarray(codes)
    if codes.shape != (y2 - y1, x2 - x1):
        raise ValueError(f"codes {codes.shape} do not fit box {box}")
    pad = np.full((codes.shape[0] + 2, codes.shape[1]), OUTSIDE, np.int16)
    pad[1:-1] = codes
    # Transitions down each column (column-major order: iterate the transposed view).
    cols, rows = np.nonzero((pad[1:] != pad[:-1]).T)
    before, after = pad[rows, cols], pad[rows + 1, cols]
    pos = (cols.astype(np.int64) + x1) * int(height) + (rows.astype(np.int64) + y1)   # first pixel after the edge
    person = from_runs(pos[(before == OUTSIDE) & (after != OUTSIDE)], pos[(before != OUTSIDE) & (after == OUTSIDE)],
                       height, width)
    parts = {int(v): from_runs(pos[after == v], pos[before == v], height, width) for v in values}
    return person, parts
