"""Output names for a run over many inputs: one stem per input, never two alike.

Every command that writes per-input outputs (``parse``, ``cutout``, ``batch``) names them with
:func:`output_stems`, so no run writes fewer output sets than it had inputs.
"""

from __future__ import annotations

import os
from pathlib import Path


def _base_stem(src: Path, roots: list[Path]) -> str:
    """``src`` relative to the first folder of ``roots`` that holds it, suffix dropped; else its stem."""
    for root in roots:
        if root.is_dir():
            try:
                return src.resolve().relative_to(root.resolve()).with_suffix("").as_posix()
            except ValueError:
                continue
    return src.stem


def _with_ext(stem: str, src: Path) -> str:
    ext = src.suffix.lstrip(".").lower()
    return f"{stem}_{ext}" if ext else stem


def output_stems(files, roots=()) -> list[str]:
    """One output stem per input file (``/`` in a stem = a sub-folder of the output folder).

    The rule, applied only where names would collide (compared case-insensitively, as on macOS and
    Windows file systems):

    1. a file under a folder given in ``roots`` keeps its path relative to that folder (``sub/a``);
       a file given by itself is named by its stem (``a``);
    2. inputs whose stems collide get their extension appended (``photo_jpg``, ``photo_png``);
    3. inputs that still collide (same name in different folders) keep their path relative to the
       folder they have in common (``a/soccer_jpg``, ``b/sub/soccer_jpg``);
    4. anything left (the same file listed twice) is numbered (``x_2``).

    Args:
        files: input paths (any order; the order of the result follows it).
        roots: the paths given on the command line; folders among them are the roots of rule 1.
    Returns:
        a list of stems, one per file, pairwise different (also case-insensitively).
    """
    files = [Path(f) for f in files]
    roots = [Path(r) for r in roots]
    stems = [_base_stem(f, roots) for f in files]

    def clashes() -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(stems):
            groups.setdefault(s.casefold(), []).append(i)
        return {k: v for k, v in groups.items() if len(v) > 1}

    for group in clashes().values():                                    # rule 2
        for i in group:
            stems[i] = _with_ext(stems[i], files[i])
    for group in clashes().values():                                    # rule 3
        paths = [files[i].resolve() for i in group]
        common = Path(os.path.commonpath(paths))
        if common in paths:                                             # the same file twice
            continue
        for i, p in zip(group, paths):
            stems[i] = _with_ext(p.relative_to(common).with_suffix("").as_posix(), p)
    taken = {s.casefold() for s in stems}
    for group in clashes().values():                                    # rule 4
        for n, i in enumerate(group[1:], start=2):
            while f"{stems[i]}_{n}".casefold() in taken:
                n += 1
            stems[i] = f"{stems[i]}_{n}"
            taken.add(stems[i].casefold())
    return stems
