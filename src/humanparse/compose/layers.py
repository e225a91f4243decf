"""Layered export for animation and editing: one RGBA PNG per part per person, plus a JSON manifest.

Each layer is cropped to its own bounding box; the manifest gives where it goes on the canvas
(``bbox``, xyxy px, x2/y2 exclusive), its pixel count, and a ``z`` drawing order. Drawing the layers
in ascending ``z`` with the "over" operator rebuilds the cut-out of all exported persons.
Parts of one parsing never overlap, so ``z`` only matters at soft matte edges and for animation rigs,
where it puts legs behind clothes and clothes behind arms, face and hair. Persons are ordered by
the bottom of their bounding box (lower in the frame = nearer the camera = drawn later), the usual
ground-plane depth cue of a level camera.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..parsing import Parsing
from .select import nearest_fill

PART_Z = {name: i for i, name in enumerate((
    "left-leg", "right-leg", "legs", "upper-legs", "lower-legs", "socks", "left-shoe", "right-shoe", "feet", "shoes",
    "pants", "skirt", "lower-clothes", "torso-skin", "torso", "skin", "body-skin", "upper-clothes", "top",
    "clothes", "dress", "full-body-clothes", "jumpsuits", "belt", "coat", "scarf", "bag", "others", "accessories",
    "left-arm", "right-arm", "arms", "upper-arms", "lower-arms", "hands", "glove", "head", "face", "face-skin",
    "hair", "sunglasses", "glasses", "jewelry", "hat"))}
"""Back-to-front rank of part names across label sets; names not listed rank just below ``coat``."""

MANIFEST = "manifest.json"


def _rank(name: str) -> float:
    return PART_Z.get(name, PART_Z["coat"] - 0.5)


def _soft_assignment(parsing: Parsing) -> tuple[np.ndarray, np.ndarray]:
    """Label and person of every pixel: its own if labelled, else its nearest labelled pixel's."""
    labelled = parsing.instances > 0
    return nearest_fill(parsing.labels, labelled), nearest_fill(parsing.instances, labelled)


def export_layers(image: np.ndarray, parsing: Parsing, out_dir, alpha: np.ndarray | None = None,
                  person=None, source: str | None = None) -> dict:
    """Write one RGBA PNG per part per person and ``manifest.json`` into ``out_dir``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB of the parsing's size.
        parsing: the :class:`humanparse.Parsing` of ``image``.
        out_dir: folder to write into (created).
        alpha: optional ``(H, W)`` float [0, 1] matte of the persons (from
            :func:`humanparse.compose.alpha_matte`); soft edge pixels outside the label map go to the
            nearest part. ``None`` = hard part masks.
        person: id or list of ids to export; ``None`` = all persons.
        source: name of the source image recorded in the manifest.
    Returns:
        The manifest dict: ``width``, ``height``, ``label_set``, ``source`` and ``layers``, a list of
        ``{"file", "person", "part", "class_id", "bbox": [x1, y1, x2, y2], "area", "z"}`` sorted by ``z``
        (``area`` = pixels with alpha > 0). Files are named ``p<person>_<part>.png``.
    Raises:
        ValueError: image or alpha of another size; KeyError: unknown person id.
    """
    from PIL import Image

    image = np.asarray(image)
    if image.shape[:2] != parsing.labels.shape or image.ndim != 3:
        raise ValueError(f"image {image.shape} and parsing {parsing.labels.shape} differ in size")
    if alpha is not None and alpha.shape != parsing.labels.shape:
        raise ValueError(f"alpha {alpha.shape} and parsing {parsing.labels.shape} differ in size")
    ids = [p.id for p in parsing.persons] if person is None else (
        [int(person)] if np.isscalar(person) else [int(i) for i in person])
    persons = [parsing.person(i) for i in ids]
    if alpha is None:
        labels, inst, a = parsing.labels, parsing.instances, None
    else:
        labels, inst = _soft_assignment(parsing)
        a = np.clip(alpha.astype(np.float32), 0, 1)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ls = parsing.label_set
    persons.sort(key=lambda p: (p.bbox[3], p.id))
    layers = []
    for p in persons:
        own = inst == p.id
        for cid in sorted({ls.index(n) for n in p.part_areas}, key=lambda c: (_rank(ls.classes[c]), c)):
            name = ls.classes[cid]
            part = own & (labels == cid)
            la = part.astype(np.float32) if a is None else a * part
            ys, xs = np.nonzero(la > 0)
            if ys.size == 0:
                continue
            x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
            rgba = np.dstack([image[y1:y2, x1:x2, :3], (la[y1:y2, x1:x2] * 255.0 + 0.5).astype(np.uint8)])
            fname = f"p{p.id}_{name}.png"
            Image.fromarray(rgba, mode="RGBA").save(out / fname)
            layers.append({"file": fname, "person": p.id, "part": name, "class_id": cid,
                           "bbox": [x1, y1, x2, y2], "area": int(ys.size), "z": len(layers)})
    manifest = {"width": parsing.width, "height": parsing.height, "label_set": ls.name,
                "source": source, "layers": layers}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def compose_layers(layer_dir) -> np.ndarray:
    """Rebuild the canvas from a layer folder: draw its layers in ``z`` order with the "over" operator.

    Returns:
        ``(H, W, 4)`` uint8 RGBA (straight, not premultiplied, alpha). Used to check an export and as
        the reference for animation tools that read the manifest.
    Raises:
        FileNotFoundError: no manifest; ValueError: a layer's size disagrees with its bbox.
    """
    from PIL import Image

    d = Path(layer_dir)
    m = json.loads((d / MANIFEST).read_text())
    color = np.zeros((m["height"], m["width"], 3), np.float32)
    acc = np.zeros((m["height"], m["width"]), np.float32)
    for layer in sorted(m["layers"], key=lambda l: l["z"]):
        x1, y1, x2, y2 = layer["bbox"]
        px = np.asarray(Image.open(d / layer["file"]).convert("RGBA"), np.float32)
        if px.shape[:2] != (y2 - y1, x2 - x1):
            raise ValueError(f"{layer['file']}: size {px.shape[1]}x{px.shape[0]} disagrees with bbox {layer['bbox']}")
        la = px[..., 3] / 255.0
        c, ac = color[y1:y2, x1:x2], acc[y1:y2, x1:x2]
        new_a = la + ac * (1 - la)
        with np.errstate(invalid="ignore", divide="ignore"):
            c[...] = np.where(new_a[..., None] > 0,
                              (px[..., :3] * la[..., None] + c * (ac * (1 - la))[..., None]) / new_a[..., None], 0)
        ac[...] = new_a
    return np.dstack([np.clip(color + 0.5, 0, 255).astype(np.uint8), np.clip(acc * 255 + 0.5, 0, 255).astype(np.uint8)])
