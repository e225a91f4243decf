"""IMG.LY's ISNet background remover as a *measured peer* of ``bench/peers.py``: never shipped, never
imported by the humanparse package, the wheel or ``make test`` (its unit test uses hand-made chunks).

Source: the npm package ``@imgly/background-removal-data@1.4.5`` (AGPL-3.0, see its ``LICENSE.md``; the
ISNet architecture is MIT per its ``ThirdPartyLicenses.json``, https://github.com/xuebinqin/DIS). It holds
the ONNX models split into 4 MiB chunks, each file named by the SHA-256 of its bytes, listed in
``package/dist/resources.json`` as::

    {"/models/medium": {"chunks": [{"hash": "<sha256>", "offsets": [start, end]}, ...],
                        "size": 88188479, "mime": "application/octet-steam"}, ...}

:func:`ensure_model` fetches the package once with ``npm pack`` into a cache folder outside the
repository (``<humanparse cache>/peers/imgly-1.4.5``), joins the chunks of one model in the listed order
(:func:`join_chunks`: offsets contiguous, every chunk's SHA-256 and the total size checked) and keeps
the joined ``isnet-<model>.onnx`` there. Without npm or network it raises :class:`PeerSkipped`, whose
message is the bench's "skipped" line.

Inference (:class:`ISNet`), as IMG.LY's runtime: the photo resized to 1024 x 1024 (aspect ignored),
``input`` ``(1, 3, 1024, 1024)`` float32 RGB scaled to ``x / 255 - 0.5``; ``output`` ``(1, 1, 1024, 1024)``
min-max normalised to [0, 1], resized back to the photo (bilinear); person = > 0.5.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

PACKAGE = "@imgly/background-removal-data"
VERSION = "1.4.5"
TARBALL = f"imgly-background-removal-data-{VERSION}.tgz"
"""File name ``npm pack`` gives the package's tarball."""

MODELS = {"medium": ("/models/medium", 22, 88_188_479), "small": ("/models/small", 11, 44_342_436)}
"""Model name -> (key in ``resources.json``, number of chunks, bytes of the joined ONNX file)."""

INPUT_SIDE = 1024
"""Side (px) of ISNet's square input."""

LICENCE = "AGPL-3.0 (IMG.LY package; ISNet architecture MIT)"
NPM_TIMEOUT_S = 900


class PeerSkipped(RuntimeError):
    """The peer cannot run here (no npm, no network, bad download); ``str()`` says why, in one line."""


class ChunkError(ValueError):
    """The chunks listed in ``resources.json`` do not join into the listed file (order, size or hash)."""


def default_cache() -> Path:
    """``<humanparse cache_dir()>/peers/imgly-<VERSION>`` (outside the repository), created if missing."""
    from humanparse.paths import cache_dir

    folder = cache_dir() / "peers" / f"imgly-{VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def join_chunks(resources: dict | Path | str, key: str, chunk_dir: Path | str, out: Path | str,
                expected_size: int | None = None, expected_chunks: int | None = None) -> Path:
    """Join the chunks of one resource into ``out``, in the order ``resources.json`` lists them.

    Args:
        resources: the parsed ``resources.json`` or its path.
        key: the resource, e.g. ``"/models/medium"``.
        chunk_dir: folder holding the chunk files, each named by its ``hash``.
        out: the joined file to write (written to ``<out>.part`` first, renamed when every check passed).
        expected_size / expected_chunks: also require the listed size / chunk count to be these.
    Returns:
        ``out``.
    Raises:
        ChunkError: unknown key; listed size or count not the expected ones; a chunk whose ``offsets``
            do not continue where the previous one ended, whose length differs from ``end - start``,
            or whose SHA-256 is not its name (when the name is a SHA-256); total bytes not the listed
            ``size``. Nothing is left at ``out`` then.
        FileNotFoundError: a listed chunk file is missing.
    """
    if not isinstance(resources, dict):
        resources = json.loads(Path(resources).read_text())
    if key not in resources:
        raise ChunkError(f"{key!r} is not in resources.json (it lists {', '.join(sorted(resources))})")
    entry = resources[key]
    chunks, size = entry["chunks"], int(entry["size"])
    if expected_size is not None and size != expected_size:
        raise ChunkError(f"{key}: resources.json lists {size:,} bytes, expected {expected_size:,}")
    if expected_chunks is not None and len(chunks) != expected_chunks:
        raise ChunkError(f"{key}: resources.json lists {len(chunks)} chunks, expected {expected_chunks}")
    out = Path(out)
    part = out.with_name(out.name + ".part")
    try:
        written = _write_chunks(key, chunks, Path(chunk_dir), part)
        if written != size:
            raise ChunkError(f"{key}: the chunks join into {written:,} bytes, resources.json lists {size:,}")
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    return out


def _write_chunks(key: str, chunks: list[dict], chunk_dir: Path, part: Path) -> int:
    """Append every chunk to ``part`` in list order, checking offsets, lengths and hashes; bytes written."""
    pos = 0
    with open(part, "wb") as f:
        for i, c in enumerate(chunks):
            start, end = (int(v) for v in c["offsets"])
            if start != pos:
                raise ChunkError(f"{key}: chunk {i} starts at {start:,}, the previous one ended at {pos:,}")
            data = (chunk_dir / c["hash"]).read_bytes()
            if len(data) != end - start:
                raise ChunkError(f"{key}: chunk {i} ({c['hash'][:12]}) has {len(data):,} bytes, "
                                 f"offsets say {end - start:,}")
            if re.fullmatch(r"[0-9a-f]{64}", c["hash"]) and _sha256(data) != c["hash"]:
                raise ChunkError(f"{key}: chunk {i} does not match its SHA-256 name {c['hash'][:12]}...")
            f.write(data)
            pos = end
    return pos


def fetch_package(cache: Path, npm: str | None = None) -> Path:
    """The package tarball in ``cache``, fetched with ``npm pack PACKAGE@VERSION`` when not there yet.

    Args:
        cache: folder to keep the tarball in (~137 MB).
        npm: the npm executable (default: ``shutil.which("npm")``).
    Raises:
        PeerSkipped: npm is not on ``PATH``, or ``npm pack`` failed (e.g. no network) or gave no tarball.
    """
    tarball = cache / TARBALL
    if tarball.is_file():
        return tarball
    npm = npm or shutil.which("npm")
    if npm is None:
        raise PeerSkipped(f"npm not found on PATH: cannot fetch {PACKAGE}@{VERSION}")
    cache.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(cache)],
                              capture_output=True, text=True, timeout=NPM_TIMEOUT_S, cwd=cache)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PeerSkipped(f"npm pack {PACKAGE}@{VERSION} failed: {e}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise PeerSkipped(f"npm pack {PACKAGE}@{VERSION} failed (exit {proc.returncode}; no network?): {last}")
    if not tarball.is_file():
        raise PeerSkipped(f"npm pack {PACKAGE}@{VERSION} left no {TARBALL} in {cache}")
    return tarball


def _extract(tar: tarfile.TarFile, member: str, dest: Path) -> Path:
    """Copy one named member of the tarball to ``dest`` (no path from the archive is trusted)."""
    f = tar.extractfile(member)
    if f is None:
        raise PeerSkipped(f"{TARBALL} has no file {member}")
    with f, open(dest, "wb") as g:
        shutil.copyfileobj(f, g)
    return dest


def ensure_model(model: str = "medium", cache: Path | None = None, npm: str | None = None) -> Path:
    """Path of the joined ``isnet-<model>.onnx`` in ``cache``, fetched and joined on first use.

    Args:
        model: ``"medium"`` (IMG.LY's default, 88,188,479 bytes) or ``"small"`` (:data:`MODELS`).
        cache: default :func:`default_cache`.
        npm: see :func:`fetch_package`.
    Raises:
        PeerSkipped: see :func:`fetch_package`; also a tarball whose chunks do not join (:class:`ChunkError`).
        ValueError: unknown model.
    """
    if model not in MODELS:
        raise ValueError(f"unknown ISNet model {model!r}; choose from {', '.join(MODELS)}")
    key, count, size = MODELS[model]
    cache = Path(cache) if cache is not None else default_cache()
    out = cache / f"isnet-{model}.onnx"
    if out.is_file() and out.stat().st_size == size:
        return out
    tarball = fetch_package(cache, npm)
    with tempfile.TemporaryDirectory(dir=cache) as tmp, tarfile.open(tarball) as tar:
        work = Path(tmp)
        resources = json.loads(_extract(tar, "package/dist/resources.json", work / "resources.json").read_text())
        for name in ("LICENSE.md", "ThirdPartyLicenses.json"):
            _extract(tar, f"package/{name}", cache / name)
        for c in resources.get(key, {}).get("chunks", []):
            _extract(tar, f"package/dist/{c['hash']}", work / c["hash"])
        try:
            join_chunks(resources, key, work, out, expected_size=size, expected_chunks=count)
        except (ChunkError, FileNotFoundError) as e:
            raise PeerSkipped(f"{TARBALL}: {e}") from None
    return out


class ISNet:
    """IMG.LY's ISNet as a person / background segmenter.

    Args:
        path: the joined ONNX file (:func:`ensure_model`).
    """

    def __init__(self, path: Path | str) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    def alpha(self, rgb: np.ndarray) -> np.ndarray:
        """Min-max normalised ISNet output at the photo's size.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB photo.
        Returns:
            ``(H, W)`` float32 in [0, 1] (bilinear from the 1024 x 1024 output).
        """
        import cv2

        h, w = rgb.shape[:2]
        x = cv2.resize(rgb, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        x = (x / 255.0 - 0.5).transpose(2, 0, 1)[None]
        (y,) = self._session.run(["output"], {"input": np.ascontiguousarray(x)})
        y = y[0, 0]
        lo, hi = float(y.min()), float(y.max())
        y = (y - lo) / (hi - lo) if hi > lo else np.zeros_like(y)
        return cv2.resize(y, (w, h), interpolation=cv2.INTER_LINEAR)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Person mask ``(H, W)`` bool of an ``(H, W, 3)`` uint8 RGB photo: :meth:`alpha` > 0.5."""
        return self.alpha(rgb) > 0.5


def load(model: str = "medium", cache: Path | None = None) -> ISNet:
    """:class:`ISNet` on the cached model, fetching it first if needed. Raises :class:`PeerSkipped`."""
    return ISNet(ensure_model(model, cache))
