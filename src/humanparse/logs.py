"""Quiet native libraries: MediaPipe's (absl / TFLite), ONNX Runtime's, Ray's and pymatting's own log lines
stay off the terminal.

Those libraries write from C++ straight to file descriptor 2, with no switch that reaches them from Python
(absl's ``--stderrthreshold`` is a command-line flag; ``GLOG_minloglevel`` / ``TF_CPP_MIN_LOG_LEVEL`` are
ignored by mediapipe 0.10.21: checked). So:

* ONNX Runtime: :func:`ort_session_options` sets ``SessionOptions.log_severity_level`` (and the default
  logger's severity) to ERROR; ONNX Runtime honours it, nothing is redirected.
* MediaPipe: :func:`native_stderr_quieted` redirects fd 2 to a temporary file *only while* a model is
  created or called (MediaPipe logs at creation and on the first calls that reach each sub-graph, e.g. the
  first frame with a person in it). Afterwards fd 2 is restored, the captured lines that are native log
  lines (absl ``W0000 12:00:00.000000 1234 file.cc:12] ...``, TFLite ``INFO: ...``, ONNX Runtime
  ``2026-01-01 ... [W:onnxruntime:...]``) are dropped and every other captured line (another thread's
  output written meanwhile, a Python warning) is written to stderr, so nothing else is lost.

* pymatting: its incomplete-Cholesky preconditioner prints a "PERFORMANCE WARNING" block with ``print``
  when it retries with a larger diagonal shift (the solve goes on and succeeds). :func:`quiet_pymatting`
  routes that module's ``print`` through :func:`_library_print`, which drops it unless :func:`verbose`.

* Hub clients (``modelscope``, ``huggingface_hub``): their Python loggers print retry warnings while a model
  downloads. Under the CLI's ``-q`` (:func:`quiet_requested`), :func:`hub_client_logs_quieted` lets only their
  errors through while the download runs.

``HUMANPARSE_LOG_LEVEL=debug`` (the CLI's ``--verbose``) turns all of this off: native lines pass through.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

LEVEL_ENV = "HUMANPARSE_LOG_LEVEL"
"""Environment variable: ``debug`` lets the native libraries' own log lines through."""

NATIVE_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\s:]+:\d+\] "         # absl / glog (MediaPipe)
    rb"|WARNING: All log messages before absl::InitializeLog\(\)"        # absl, before its first line
    rb"|(?:INFO|WARNING|ERROR|VERBOSE): "                                # TFLite's logger
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[[VIWEF]:onnxruntime"     # ONNX Runtime's default logger
    rb"|\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [IWEF] \d+ \d+\] [\w.]+:\d+: )")  # Ray's C++ logger
"""A line (bytes) written by MediaPipe, TFLite, ONNX Runtime or Ray's own (C++) loggers."""

HUB_CLIENT_LOGGERS = ("modelscope", "modelscope_hub", "huggingface_hub")
"""The Python loggers of the model hubs' clients (children included)."""

_quiet: ContextVar[bool] = ContextVar("humanparse_quiet", default=False)

_ORT_ERROR = 3  # ONNX Runtime severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_capture = None


def verbose() -> bool:
    """Whether native log lines should reach the terminal (``HUMANPARSE_LOG_LEVEL`` is ``debug``)."""
    return os.environ.get(LEVEL_ENV, "").strip().lower() == "debug"


def set_verbose(on: bool = True) -> None:
    """Let native log lines through from now on (``on``), or quiet them again (the CLI's ``--verbose``)."""
    if on:
        os.environ[LEVEL_ENV] = "debug"
    elif verbose():
        del os.environ[LEVEL_ENV]


def filter_native_lines(data: bytes) -> bytes:
    """``data`` without its :data:`NATIVE_LINE` lines (other lines kept byte for byte, in order)."""
    return b"".join(line for line in data.splitlines(keepends=True) if not NATIVE_LINE.match(line))


def _start() -> None:
    global _saved_fd, _capture
    _flush_python_streams()
    _capture = tempfile.TemporaryFile()
    _saved_fd = os.dup(2)
    os.dup2(_capture.fileno(), 2)


def _stop() -> None:
    global _saved_fd, _capture
    _flush_python_streams()
    os.dup2(_saved_fd, 2)
    os.close(_saved_fd)
    _saved_fd = None
    _capture.seek(0)
    rest = filter_native_lines(_capture.read())
    _capture.close()
    _capture = None
    while rest:
        rest = rest[os.write(2, rest):]


def _flush_python_streams() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


@contextmanager
def native_stderr_quieted() -> Iterator[None]:
    """Run the block with fd 2 captured, then drop the native log lines from what it wrote (module doc).

    Re-entrant and thread-safe: overlapping blocks (nested, or in several threads) share one redirection,
    which ends with the last of them. Does nothing when :func:`verbose`, or when fd 2 is not open.
    """
    global _depth
    if verbose():
        yield
        return
    with _lock:
        ok = True
        if _depth == 0:
            try:
                _start()
            except OSError:             # no fd 2 (a daemon): nothing to keep quiet
                ok = False
        if ok:
            _depth += 1
    if not ok:
        yield
        return
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _stop()


def _library_print(*args, **kwargs) -> None:
    """``print`` for a library module whose prints are log lines: passed on only when :func:`verbose`."""
    if verbose():
        print(*args, **kwargs)


def quiet_pymatting() -> None:
    """Keep pymatting's "PERFORMANCE WARNING" lines off stdout (module doc); idempotent, thread-safe.

    Raises:
        ImportError: pymatting is not installed.
    """
    import importlib

    module = importlib.import_module("pymatting.preconditioner.ichol")
    if module.__dict__.get("print") is not _library_print:
        module.print = _library_print       # the module's global name shadows the builtin, for it only


def ort_session_options(options=None):
    """ONNX Runtime ``SessionOptions`` that log errors only (everything when :func:`verbose`).

    Args:
        options: an ``onnxruntime.SessionOptions`` to adjust in place, or ``None`` for new ones.
    Returns:
        the options; also lowers ONNX Runtime's default logger (used while sessions load) the same way.
    Raises:
        ImportError: onnxruntime is not installed.
    """
    import onnxruntime as ort

    level = 0 if verbose() else _ORT_ERROR
    ort.set_default_logger_severity(level)
    opts = ort.SessionOptions() if options is None else options
    opts.log_severity_level = level
    return opts


@contextmanager
def quiet_requested(on: bool = True) -> Iterator[None]:
    """Run the block as asked for with ``-q`` (``on``): library log lines that are not errors stay off the
    terminal (see :func:`hub_client_logs_quieted`). Nests; applies to the current thread / context only."""
    token = _quiet.set(bool(on))
    try:
        yield
    finally:
        _quiet.reset(token)


@contextmanager
def hub_client_logs_quieted() -> Iterator[None]:
    """Run the block with the hub clients' loggers (:data:`HUB_CLIENT_LOGGERS`) at ERROR when
    :func:`quiet_requested` is in effect and not :func:`verbose`; their levels are restored afterwards.
    Enter it after the client is imported (``modelscope`` sets its logger's level on import)."""
    if not _quiet.get() or verbose():
        yield
        return
    loggers = [logging.getLogger(name) for name in HUB_CLIENT_LOGGERS]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(lg.getEffectiveLevel(), logging.ERROR))
    try:
        yield
    finally:
        for lg, level in zip(loggers, saved):
            lg.setLevel(level)
