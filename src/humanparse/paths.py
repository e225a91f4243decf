"""Where humanparse keeps files it creates (model bundles, downloaded weights)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache directory, created if missing.

    ``$HUMANPARSE_HOME`` if set, else ``$XDG_CACHE_HOME/humanparse``, else ``~/.cache/humanparse``.
    """
    env = os.environ.get("HUMANPARSE_HOME")
    if env:
        root = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base).expanduser() / "humanparse"
    root.mkdir(parents=True, exist_ok=True)
    return root


def shared_data_dir() -> Path | None:
    """The evaluation data folder ``../shared/data`` beside the repository, or ``$HUMANPARSE_SHARED_DATA``.

    Returns ``None`` when it does not exist (the data is never copied into the repository).
    """
    env = os.environ.get("HUMANPARSE_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd().parent / "shared" / "data", Path(__file__).resolve().parents[3] / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None
