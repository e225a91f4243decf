"""``humanparse live``: a looped file in, a file out (frames, background, size); the virtual-camera error path
(no pyvirtualcam, or no v4l2loopback device) and other bad set-ups give one clear error line and exit 2."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("av")
from humanparse.cli.main import app  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from humanparse.samples import two_person_photo
    from humanparse.video.synth import make_static_clip

    frame = cv2.resize(two_person_photo(360), (640, 360), interpolation=cv2.INTER_AREA)
    return make_static_clip(tmp_path_factory.mktemp("live") / "clip.mp4", frame, frames=6, fps=12, tone_hz=None), frame


def test_file_to_file_every_frame_loops(clip, tmp_path):
    src, frame = clip
    out = tmp_path / "out.mp4"
    r = runner.invoke(app, ["live", "-i", str(src), "-o", str(out), "--bg", "#00ff00", "--every-frame",
                            "--frames", "9", "--smoothing", "0"])
    assert r.exit_code == 0, r.output
    assert "9 frames" in r.output and "frames/s" in r.output and "latency p50" in r.output
    from humanparse.video import read_frames

    frames = read_frames(out)
    assert len(frames) == 9                                   # 6-frame clip looped
    img = frames[-1].image
    assert img.shape == (360, 640, 3)
    assert np.abs(img[5:50, 5:50].astype(int) - [0, 255, 0]).mean() < 20          # flag -> green
    assert np.abs(img[45:100, 125:175].astype(int) - frame[45:100, 125:175]).mean() < 15   # face kept


def test_transparent_file_output(clip, tmp_path):
    src, _ = clip
    out = tmp_path / "out.webm"
    r = runner.invoke(app, ["live", "-i", str(src), "-o", str(out), "--bg", "transparent", "--every-frame",
                            "--frames", "2", "-q"])
    assert r.exit_code == 0, r.output
    from humanparse.video import VideoReader

    with VideoReader(out) as v:
        assert v.has_alpha
        rgba = next(iter(v.frames())).image
    assert rgba.shape == (360, 640, 4) and rgba[5:50, 5:50, 3].mean() < 40 and rgba[45:100, 125:175, 3].mean() > 200


def test_virtual_camera_without_a_device_is_a_clear_error(clip, monkeypatch):
    src, _ = clip
    r = runner.invoke(app, ["live", "-i", str(src), "-o", "virtual-camera", "--frames", "1"])
    assert r.exit_code == 2
    assert "v4l2loopback" in r.output and "Traceback" not in r.output
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)     # the optional extra not installed
    r = runner.invoke(app, ["live", "-i", str(src), "-o", "virtual-camera", "--frames", "1"])
    assert r.exit_code == 2
    assert "humanparse[virtualcam]" in r.output and "v4l2loopback" in r.output


@pytest.mark.parametrize("args, text", [
    (["-o", "virtual-camera", "--bg", "transparent"], "no transparency"),
    (["-o", "OUT.mp4", "--bg", "not-a-colour"], "bad background"),
    (["-o", "OUT.mp4", "--mode", "fast"], "mode must be"),
    (["-o", "OUT.mp4", "--size", "big"], "WxH"),
])
def test_bad_options(clip, tmp_path, args, text):
    src, _ = clip
    args = [a.replace("OUT", str(tmp_path / "o")) for a in args]
    r = runner.invoke(app, ["live", "-i", str(src), *args])
    assert r.exit_code == 2 and text in r.output, r.output


def test_bad_inputs(tmp_path):
    r = runner.invoke(app, ["live", "-i", "/dev/video987", "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 2 and "no such camera" in r.output
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    r = runner.invoke(app, ["live", "-i", str(txt), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 2 and "notes.txt" in r.output
    assert not (tmp_path / "o.mp4").exists()
