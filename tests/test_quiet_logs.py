"""Quiet by default: MediaPipe's / ONNX Runtime's own log lines stay off the terminal (:mod:`humanparse.logs`),
other output does not get lost, and ``HUMANPARSE_LOG_LEVEL=debug`` lets the native lines through."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from humanparse.logs import NATIVE_LINE, filter_native_lines, ort_session_options

NATIVE = [b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
          b"I0000 00:00:1796219979.378438    4708 task_runner.cc:85] GPU suport is not available",
          b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
          b"W0000 00:00:1796219979.522186    4733 inference_feedback_manager.cc:114] Feedback manager ...",
          b"2026-12-02 14:00:00.123456789 [W:onnxruntime:, graph.cc:3490 CleanUnusedInitializers] Removing ...",
          b"[2026-12-06 10:17:36,655 I 9887 9887] logging.cc:303: Set ray log level from environment variable ..."]


def test_native_lines_are_recognised_and_others_kept():
    ours = [b"1 of 1 image(s) parsed, 2 person(s) found", b"error photo.jpg: not an image",
            b"/x.py:3: UserWarning: something", b"INFO:     127.0.0.1:5000 - \"GET /healthz\" 200"]
    assert all(NATIVE_LINE.match(line) for line in NATIVE)
    assert not any(NATIVE_LINE.match(line) for line in ours[:3])
    data = b"\n".join(NATIVE[:2] + ours[:3] + NATIVE[2:]) + b"\n"
    assert filter_native_lines(data) == b"\n".join(ours[:3]) + b"\n"


def _run(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, timeout=120,
                          env={**os.environ, **env})


def test_quieted_block_drops_native_lines_but_keeps_other_threads_output():
    code = """
        import os, sys, threading
        from humanparse.logs import native_stderr_quieted
        os.write(2, b"before\\n")
        with native_stderr_quieted():
            os.write(2, b"W0000 00:00:1796219979.522186    4733 calc.cc:114] native noise\\n")
            t = threading.Thread(target=lambda: os.write(2, b"from another thread\\n"))
            t.start(); t.join()
            print("python stderr", file=sys.stderr)
            with native_stderr_quieted():                      # nested: one redirection
                os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n")
        os.write(2, b"after\\n")
    """
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode().splitlines() == ["before", "from another thread", "python stderr", "after"]
    r = _run(code, HUMANPARSE_LOG_LEVEL="debug")
    assert "native noise" in r.stderr.decode() and "XNNPACK" in r.stderr.decode()


def test_onnxruntime_options_log_errors_only(monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.delenv("HUMANPARSE_LOG_LEVEL", raising=False)
    assert ort_session_options().log_severity_level == 3
    monkeypatch.setenv("HUMANPARSE_LOG_LEVEL", "debug")
    assert ort_session_options().log_severity_level == 0


def test_cli_parse_prints_only_our_own_lines(tmp_path, two_person_photo):
    """``humanparse parse photo.jpg`` with the default backend: one summary line, no native log lines."""
    photo = tmp_path / "photo.jpg"
    Image.fromarray(two_person_photo).save(photo)
    cmd = [sys.executable, "-m", "humanparse.cli.main", "parse", str(photo), "-o", str(tmp_path / "out")]
    env = {k: v for k, v in os.environ.items() if k != "HUMANPARSE_LOG_LEVEL"}
    r = subprocess.run(cmd, capture_output=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    lines = [line for line in (r.stdout + r.stderr).decode().splitlines() if line.strip()]
    assert len(lines) == 1 and "1 of 1 image(s) parsed" in lines[0], lines
    # the same run with debug logging shows what was kept quiet (so the check above can fail)
    r = subprocess.run(cmd, capture_output=True, timeout=300, env={**env, "HUMANPARSE_LOG_LEVEL": "debug"},
                       cwd=tmp_path)
    assert r.returncode == 0
    assert any(NATIVE_LINE.match(line) for line in r.stderr.splitlines()), r.stderr.decode()


def _ichol_retry_case():
    """A random black/white picture with a 2-pixel trimap: pymatting's incomplete Cholesky needs a larger
    shift and prints its "PERFORMANCE WARNING" block (checked with pymatting 1.1)."""
    import numpy as np

    rng = np.random.default_rng(0)
    image = ((rng.random((40, 40, 1)) > 0.5) * 255).repeat(3, 2).astype(np.uint8)
    tri = np.full((40, 40), 0.5, np.float32)
    tri[0, 0], tri[-1, -1] = 0.0, 1.0
    mask = np.zeros((40, 40), bool)
    mask[20:] = True
    return image, mask, tri


def test_pymatting_performance_warning_is_quiet_unless_verbose(capfd, monkeypatch):
    """Issue 22 item 8: ``cutout -q`` printed pymatting's PERFORMANCE WARNING block on stdout."""
    pytest.importorskip("pymatting")
    from humanparse.compose import alpha_matte

    image, mask, tri = _ichol_retry_case()
    monkeypatch.delenv("HUMANPARSE_LOG_LEVEL", raising=False)
    alpha = alpha_matte(image, mask, "quality", trimap=tri)
    out, err = capfd.readouterr()
    assert "PERFORMANCE WARNING" not in out + err and alpha.shape == mask.shape
    monkeypatch.setenv("HUMANPARSE_LOG_LEVEL", "debug")
    alpha_matte(image, mask, "quality", trimap=tri)
    out, err = capfd.readouterr()
    assert "PERFORMANCE WARNING" in out + err        # the case does reach the warning; --verbose shows it
