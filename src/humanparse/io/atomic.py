"""Atomic outputs: a file appears under its final name only when it is complete.

Every writer (``video``, ``batch``, ``parse -o``, ``cutout``) writes to a hidden temporary name in the
target's folder and renames it onto the target with :func:`os.replace` (atomic on POSIX and Windows within
one file system) when it is done. An interrupted run (an error, Ctrl-C, SIGTERM once
:func:`sigterm_as_interrupt` is installed) removes its temporary files; only a hard kill (SIGKILL, power
loss) can leave one behind, always under a hidden ``.*.partial*`` / :data:`PARTIAL_PREFIX` name that no
reader mistakes for a result (:func:`clean_partials` removes stale staging folders).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

TERMINATED = threading.Event()
"""Set when SIGTERM arrived through :func:`sigterm_as_interrupt` (the CLI then exits 143 = 128 + 15)."""


def raise_if_terminated() -> None:
    """Raise ``KeyboardInterrupt`` if SIGTERM arrived (:data:`TERMINATED`) but its ``KeyboardInterrupt`` was
    swallowed: a Python signal handler that runs inside a C callback (e.g. numba's JIT compiler calling back
    through ctypes) has its exception printed and ignored. Called before any target is replaced, and by long
    loops, so a terminated command stops and leaves no output."""
    if TERMINATED.is_set():
        raise KeyboardInterrupt("signal 15")


PARTIAL_PREFIX = ".humanparse-partial-"
"""Name prefix of the hidden staging folders of :func:`staging_dir`."""


def partial_path(target) -> Path:
    """Hidden temporary name beside ``target`` with the same suffix (writers that pick a format by suffix,
    such as PyAV and Pillow, still see it): ``out/clip.mp4`` -> ``out/.clip.partial.mp4``."""
    target = Path(target)
    return target.with_name(f".{target.stem}.partial{target.suffix}")


@contextmanager
def atomic_paths(*targets) -> Iterator[list[Path]]:
    """Temporary paths to write ``targets`` to; renamed onto them when the block ends without an exception.

    Args:
        targets: final file paths (``None`` entries are passed through as ``None``); parent folders are created.
    Yields:
        one :func:`partial_path` per target. The block must write each of them.
    Raises:
        FileNotFoundError: the block ended normally but did not write one of the temporary files.
        Whatever the block raises (``KeyboardInterrupt`` included): the temporary files are removed first
        and no target is touched.
    """
    paths = [None if t is None else Path(t) for t in targets]
    tmps = [None if t is None else partial_path(t) for t in paths]
    for t in paths:
        if t is not None:
            t.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmps
        raise_if_terminated()
        for tmp, target in zip(tmps, paths):
            if tmp is not None:
                os.replace(tmp, target)
    finally:
        for tmp in tmps:
            if tmp is not None and tmp.exists():
                tmp.unlink()


@contextmanager
def atomic_path(target) -> Iterator[Path]:
    """:func:`atomic_paths` for one file: ``with atomic_path("out/a.png") as tmp: image.save(tmp)``."""
    with atomic_paths(target) as (tmp,):
        yield tmp


@contextmanager
def staging_dir(parent) -> Iterator[Path]:
    """A hidden temporary folder (:data:`PARTIAL_PREFIX`) inside ``parent`` (created if missing) for writers
    that name their own files (:meth:`humanparse.Parsing.save`); move them out with :func:`commit`. The folder
    and whatever is left in it are removed when the block ends, however it ends."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def commit(pairs: Iterable[tuple[Path, Path]]) -> list[Path]:
    """Move each written ``(temporary, target)`` file onto its target with :func:`os.replace` (parent folders
    created). Call it only once every temporary file is complete. Returns the targets, in order.

    Raises:
        OSError: a temporary file is missing or a target cannot be replaced (targets moved before stay).
    """
    raise_if_terminated()
    done = []
    for src, target in pairs:
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, target)
        done.append(target)
    return done


def replace_dir(src, target) -> Path:
    """Move the complete folder ``src`` onto ``target``, replacing a folder already there (not merging:
    files of an earlier run that this one did not write do not survive). The old folder is first renamed
    to a hidden :data:`PARTIAL_PREFIX` name and removed after the swap, so a reader sees the old folder or
    the new one, never a mix (between the two renames, for an instant, none). Returns ``target``.

    Raises:
        OSError: ``src`` is missing, or ``target`` exists and is not a folder.
    """
    raise_if_terminated()
    src, target = Path(src), Path(target)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} exists and is not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=target.parent)) / "old"
        os.replace(target, old)
    try:
        os.replace(src, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)         # put the old folder back
        raise
    finally:
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
    return target


def clean_partials(folder) -> int:
    """Remove the staging folders (:data:`PARTIAL_PREFIX`) a killed run left directly in ``folder``.
    Returns how many were removed (0 when ``folder`` does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.glob(f"{PARTIAL_PREFIX}*") if p.is_dir()]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)


def sigterm_as_interrupt() -> bool:
    """Make SIGTERM raise ``KeyboardInterrupt`` in the main thread, as Ctrl-C does, so ``finally`` blocks
    (temporary files of :func:`atomic_paths`) run before the process ends. Only installed over the default
    handler, from the main thread (a server or a host application keeps its own). Returns whether it was."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False

    def _raise(signum, frame):
        TERMINATED.set()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
    return True
