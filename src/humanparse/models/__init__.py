"""Model management: the catalogue, the cache, checksummed downloads, and :func:`resolve_weights`.

Typical use by a backend::

    from humanparse.models import resolve_weights
    folder = resolve_weights("m2fp-r101-cihp", weights=user_path_or_None)

See ``docs/models.md`` for the cache layout, the checksum policy and offline use.
"""

from .cache import cache_status, model_dir, models_root, read_lock, verify_dir
from .catalog import CATALOG, ModelEntry, ModelFile, UnknownModelError, get_model, model_names
from .download import offline_reason, pull, resolve_weights
from .integrity import ChecksumMismatchError, sha256_file

__all__ = [
    "CATALOG", "ModelEntry", "ModelFile", "UnknownModelError", "ChecksumMismatchError",
    "get_model", "model_names", "model_dir", "models_root", "cache_status", "verify_dir",
    "offline_reason", "pull", "resolve_weights", "sha256_file", "read_lock", "read_lock_of",
]


def read_lock_of(path):
    """The lock record of a model folder (``None`` for bundled models or folders without one)."""
    from pathlib import Path

    return read_lock(Path(path))
