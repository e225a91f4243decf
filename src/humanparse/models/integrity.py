"""File digests and the checksum error: SHA-256 of a file, and the git blob SHA-1 that Hugging Face
reports as the ETag of files not stored in LFS."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import HumanParseError

_CHUNK = 1 << 20
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
SHA1_RE = re.compile(r"^[0-9a-f]{40}$")


class ChecksumMismatchError(HumanParseError, ValueError):
    """A model file's content does not hash to the expected digest (corrupt or tampered download)."""


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 lowercase hex digits (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(path: str | Path) -> str:
    """Git's object id of a file: SHA-1 of ``b"blob <size>\\0" + content`` (40 lowercase hex digits).

    Hugging Face returns this as the ETag of regular (non-LFS) files, e.g. ``config.json``.
    """
    p = Path(path)
    h = hashlib.sha1(f"blob {p.stat().st_size}\0".encode())
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def normalise_digest(value: str | None) -> str | None:
    """A hub ETag / digest reduced to lowercase hex (quotes, ``W/`` and ``sha256:`` prefixes dropped);
    ``None`` when it is not a SHA-256 or SHA-1 hex digest."""
    if not value:
        return None
    v = value.strip()
    if v.startswith("W/"):
        v = v[2:]
    v = v.strip('"').lower().removeprefix("sha256:")
    return v if (SHA256_RE.match(v) or SHA1_RE.match(v)) else None


def check_digest(path: str | Path, expected: str, what: str) -> str:
    """Verify ``path`` against ``expected`` (SHA-256 if 64 hex digits, git blob SHA-1 if 40).

    Args:
        what: description used in the error message (e.g. ``"model.safetensors of fashn-human-parser"``).
    Returns:
        the file's SHA-256 (computed in any case, for the lock file).
    Raises:
        ChecksumMismatchError: the digest differs.
    """
    actual256 = sha256_file(path)
    expected = expected.lower()
    if SHA1_RE.match(expected):
        actual, kind = git_blob_sha1(path), "git blob SHA-1"
    else:
        actual, kind = actual256, "SHA-256"
    if actual != expected:
        raise ChecksumMismatchError(
            f"checksum mismatch for {what}: expected {kind} {expected}, got {actual} ({path}); "
            "the file is corrupt or not the pinned version - delete it and pull again")
    return actual256


__all__ = ["ChecksumMismatchError", "check_digest", "git_blob_sha1", "normalise_digest", "sha256_file"]
