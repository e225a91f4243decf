"""Process-wide glibc ``malloc`` settings for CPU inference on large tensors.

glibc serves every allocation above ``M_MMAP_THRESHOLD`` (128 KiB at start, raised adaptively
to at most 32 MiB) with fresh ``mmap`` pages and gives freed memory at the top of the heap back
to the OS above ``M_TRIM_THRESHOLD``. A network whose activations are megabytes each then
takes a page fault on every page of almost every new buffer. Measured with
``getrusage().ru_minflt`` around one M2FP forward at 512x512 on the 2-core development machine:
34,000-49,000 minor faults with glibc's defaults, 2,300 after :func:`tune_malloc`; in three
alternating pairs of processes the median forward went from 1.52 / 1.54 / 1.62 s to
1.48 / 1.39 / 1.59 s (``docs/backend-m2fp.md``). PyTorch's CPU performance guide recommends an allocator
that keeps freed memory for reuse (jemalloc or tcmalloc through ``LD_PRELOAD``); this is the
in-process equivalent for glibc, applied by the backends that run large networks.

The cost: memory freed by the process is kept for reuse instead of returned to the OS (up to
:data:`TRIM_THRESHOLD` at the top of the heap), so the resident size after a large inference stays
near its peak. Set ``HUMANPARSE_MALLOC_TUNING=0`` to leave ``malloc`` alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""``mallopt`` parameter numbers from glibc's ``<malloc.h>``."""

MMAP_THRESHOLD = 32 << 20
"""32 MiB: glibc's largest ``M_MMAP_THRESHOLD`` on 64-bit (``DEFAULT_MMAP_THRESHOLD_MAX``)."""

TRIM_THRESHOLD = 1 << 30
"""1 GiB of free memory at the top of the heap is kept before any is returned to the OS."""

_applied: bool | None = None


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds (once per process; later calls return the first result).

    Returns:
        True if both settings were applied; False when disabled by ``HUMANPARSE_MALLOC_TUNING=0``,
        on a platform other than Linux, or with a C library without ``mallopt`` (e.g. musl).
        Never raises.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("HUMANPARSE_MALLOC_TUNING", "1").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return _applied


def release_free_memory() -> bool:
    """Hand memory that ``malloc`` holds free back to the OS (glibc ``malloc_trim(0)``, every arena).

    For long-running processes after a burst of large temporary buffers (e.g. the sparse systems of
    closed-form matting in the service): without it the resident size stays near the burst's peak.
    Costs a few milliseconds. Returns True if memory was released; False when nothing could be
    released, when disabled by ``HUMANPARSE_MALLOC_TRIM=0``, or on a C library without ``malloc_trim``.
    Never raises.
    """
    if os.environ.get("HUMANPARSE_MALLOC_TRIM", "1").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim(0) == 1
