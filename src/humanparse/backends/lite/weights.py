"""The ``lite`` backend's shipped network: an ONNX file inside the package, checked by SHA-256.

``weights/lite0-cihp-bag.onnx`` (package data, so a wheel carries it) is our EfficientNet-Lite0 + FPN
part network trained on CCP (Apache-2.0) with the recipe in :mod:`humanparse.train`; the card
``weights/lite0-cihp-bag.json`` beside it records the training command, commit, data split, validation
figure and digest. Licence of the weights: Apache-2.0.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import WeightsNotFoundError
from ...models.integrity import ChecksumMismatchError, sha256_file

WEIGHTS_DIR = Path(__file__).with_name("weights")
WEIGHTS_FILE = "lite0-cihp-bag.onnx"
WEIGHTS_SHA256 = "036a26f262f27b0920a17c9a051f351197a4117862543601e548bb15f65fcd60"
"""SHA-256 of the shipped :data:`WEIGHTS_FILE` (written by ``humanparse train --export``)."""

_verified: set[tuple[str, float, int]] = set()


def shipped_weights() -> Path:
    """Path of the packaged ONNX file."""
    return WEIGHTS_DIR / WEIGHTS_FILE


def card(path: Path | str | None = None) -> dict:
    """The model card (``<file>.json`` beside the ONNX file) as a dict; ``{}`` when there is none."""
    p = Path(path) if path else shipped_weights()
    c = p.with_suffix(".json")
    return json.loads(c.read_text()) if c.is_file() else {}


def verified_weights(path: Path | str | None = None) -> Path:
    """The ONNX file to load, after checking its SHA-256.

    Args:
        path: an ONNX file of the same network (e.g. from ``humanparse train``); ``None`` = the shipped one.
            A user file is checked against the ``sha256`` of its card when it has one.
    Returns:
        the path.
    Raises:
        WeightsNotFoundError: the file does not exist.
        ChecksumMismatchError: the digest differs (a corrupt install or a modified file).
    """
    p = Path(path) if path else shipped_weights()
    if not p.is_file():
        raise WeightsNotFoundError(f"lite backend weights not found: {p}"
                                   + ("" if path else " (the package is incomplete; reinstall humanparse)"))
    expected = WEIGHTS_SHA256 if path is None else card(p).get("sha256")
    stat = p.stat()
    key = (str(p.resolve()), stat.st_mtime, stat.st_size)
    if expected and key not in _verified:
        got = sha256_file(p)
        if got != expected:
            raise ChecksumMismatchError(f"{p}: SHA-256 {got} does not match the expected {expected}; "
                                        "the file is corrupt or was modified")
        _verified.add(key)
    return p
