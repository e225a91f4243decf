"""Model files for the MediaPipe backend, assembled offline from the ``mediapipe`` wheel.

mediapipe 0.10.21 ships the raw graph models (``mediapipe/modules/**.tflite``) but not the Tasks-API
bundle (``pose_landmarker.task``), which is a download. A ``.task`` file is
just an aligned, uncompressed zip of ``.tflite`` files with TFLite metadata; this module writes the
missing input metadata with the wheel's own ``MetadataWriter`` and zips the files with
``model_asset_bundle_utils.create_model_asset_bundle``, once, into :func:`humanparse.paths.cache_dir`.

Normalisation constants (input ``(x - mean) / std``) follow the MediaPipe graph configs that feed these
models: the detector takes [-1, 1] (``pose_detection_cpu.pbtxt``: ``output_tensor_float_range
{min: -1 max: 1}`` -> mean 127.5, std 127.5) and the landmark model takes [0, 1]
(``pose_landmark_by_roi_cpu.pbtxt``: ``{min: 0 max: 1}`` -> mean 0, std 255).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackendUnavailableError, WeightsNotFoundError
from ..paths import cache_dir

BUNDLE_VERSION = "1"
"""Bumped whenever the bundle recipe changes, so stale cached bundles are rebuilt."""


@dataclass(frozen=True)
class Member:
    """One model inside a bundle.

    Attributes:
        name: file name inside the ``.task`` zip that the MediaPipe task graph looks up.
        source: path of the raw ``.tflite`` relative to the ``mediapipe`` package directory.
        mean, std: input normalisation written into the TFLite metadata.
    """

    name: str
    source: str
    mean: float
    std: float


BUNDLES: dict[str, tuple[Member, ...]] = {
    "pose_landmarker": (
        Member("pose_detector.tflite", "modules/pose_detection/pose_detection.tflite", 127.5, 127.5),
        Member("pose_landmarks_detector.tflite", "modules/pose_landmark/pose_landmark_full.tflite", 0.0, 255.0),
    ),
}
"""Bundle name -> its member models. (A ``face_landmarker`` bundle built the same way from
``face_detection_short_range.tflite`` + ``face_landmark.tflite`` loads, but the Tasks graph misreads the
468-point model's output, so faces use the legacy Face Mesh solution instead; see :mod:`.detect`.)"""

_lock = threading.Lock()


def mediapipe_dir() -> Path:
    """Directory of the installed ``mediapipe`` package.

    Raises:
        BackendUnavailableError: mediapipe is not installed.
    """
    try:
        import mediapipe
    except ImportError as e:  # pragma: no cover - mediapipe is a core dependency
        raise BackendUnavailableError(f"the mediapipe backend needs 'mediapipe==0.10.21': {e}") from e
    return Path(mediapipe.__file__).parent


def _with_metadata(path: Path, member: Member) -> bytes:
    """The ``.tflite`` at ``path`` with image-input metadata (``member.mean`` / ``member.std``) added."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(path.read_bytes()))
    writer.add_general_info(member.name.removesuffix(".tflite"))
    writer.add_image_input(norm_mean=[member.mean], norm_std=[member.std])
    content, _ = writer.populate()
    return bytes(content)


def bundle_path(name: str, root: Path | None = None, source_dir: Path | None = None) -> Path:
    """Path of the ``.task`` bundle ``name``, building it on first use.

    Args:
        name: a key of :data:`BUNDLES` (``"pose_landmarker"``).
        root: where to write; default ``cache_dir() / "mediapipe"``.
        source_dir: where the raw ``.tflite`` files are; default the installed mediapipe package.
    Returns:
        path of ``<root>/<name>-v<BUNDLE_VERSION>-<hash>.task`` (hash of the source files' sizes), an
        uncompressed zip holding the member ``.tflite`` files. An existing file is reused as is.
    Raises:
        KeyError: unknown bundle name.
        WeightsNotFoundError: a source ``.tflite`` file is missing from the mediapipe installation.
    """
    if name not in BUNDLES:
        raise KeyError(f"unknown MediaPipe bundle {name!r}; choose from {', '.join(BUNDLES)}")
    src = source_dir or mediapipe_dir()
    members = BUNDLES[name]
    missing = [str(src / m.source) for m in members if not (src / m.source).is_file()]
    if missing:
        raise WeightsNotFoundError(
            f"MediaPipe model file(s) not found: {', '.join(missing)}. The mediapipe backend needs the "
            "models shipped inside the mediapipe==0.10.21 wheel; reinstall it with "
            "'pip install --force-reinstall mediapipe==0.10.21'.")
    key = "|".join(f"{m.source}:{(src / m.source).stat().st_size}:{m.mean}:{m.std}" for m in members)
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    out_dir = Path(root) if root is not None else cache_dir() / "mediapipe"
    out = out_dir / f"{name}-v{BUNDLE_VERSION}-{digest}.task"
    with _lock:
        if out.is_file():
            return out
        from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

        out_dir.mkdir(parents=True, exist_ok=True)
        models = {m.name: _with_metadata(src / m.source, m) for m in members}
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        model_asset_bundle_utils.create_model_asset_bundle(models, str(tmp))
        os.replace(tmp, out)  # atomic: concurrent processes never see a half-written bundle
    return out
