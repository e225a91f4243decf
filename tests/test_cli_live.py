"""``humanparse live``: a looped file in, a file out (frames, background, size); the virtual-camera error path
(no pyvirtualcam, or no v4l2loopback device) and other bad set-ups give one clear error line and exit 2."""

from __future__ import annotations

import sys
from fractions import Fraction

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


# ---------------------------------------------------------------- a file in, a file out: the source's timing kept
def _timed_clip(path, rate, time_base, pts):
    """A small H.264 MP4 whose frames carry ``pts`` (in ``time_base`` units); a moving bar, so no two frames
    are equal. Returns what a reader sees: ``(average_rate, time_base, [pts...])``."""
    from humanparse.video import VideoWriter

    with VideoWriter(path, 160, 96, rate, time_base) as w:
        for i, p in enumerate(pts):
            img = np.full((96, 160, 3), 90, np.uint8)
            img[:, (i * 7) % 150:(i * 7) % 150 + 10] = 230
            w.write(img, p)
    return _timing(path)


def _timing(path):
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.average_rate, s.time_base, [f.pts for f in c.decode(s)]


@pytest.mark.parametrize("rate, time_base, pts", [
    (Fraction(25), Fraction(1, 12800), [i * 512 for i in range(20)]),                     # 25 fps
    (Fraction(30000, 1001), Fraction(1, 30000), [i * 1001 for i in range(20)]),           # NTSC 29.97
    (Fraction(25), Fraction(1, 1000), [0, 40, 80, 160, 193, 226, 300, 340, 420, 433, 480, 560]),  # variable
], ids=["25fps", "30000-1001", "variable"])
def test_file_output_keeps_the_sources_rate_and_timestamps(tmp_path, rate, time_base, pts):
    """``live -i clip.mp4 -o out.mp4``: the output has the source's time base and each frame's pts; every frame
    processed: the same frames, so (constant rate) the same average rate; looped: the pts go on after the clip's
    length. (A variable-rate clip's average rate also counts its last frame's duration, which the encoder sets
    from the nominal rate: not compared.)"""
    rate_in, tb_in, pts_in = _timed_clip(tmp_path / "in.mp4", rate, time_base, pts)
    out = tmp_path / "out.mp4"
    r = runner.invoke(app, ["live", "-i", str(tmp_path / "in.mp4"), "-o", str(out), "--mode", "person",
                            "--every-frame", "--frames", str(len(pts_in)), "-q"])
    assert r.exit_code == 0, r.output
    rate_out, tb_out, pts_out = _timing(out)
    assert (tb_out, pts_out) == (tb_in, pts_in)
    if len(pts_in) == 20:                                          # constant rate: the average rate too, exactly
        assert rate_out == rate_in == rate
    # looped: 5 frames more; the second pass starts one frame (the last step) after the first pass ends
    r = runner.invoke(app, ["live", "-i", str(tmp_path / "in.mp4"), "-o", str(out), "--mode", "person",
                            "--every-frame", "--frames", str(len(pts_in) + 5), "-q"])
    assert r.exit_code == 0, r.output
    length = pts_in[-1] + (pts_in[-1] - pts_in[-2]) - pts_in[0]
    assert _timing(out)[1:] == (tb_in, pts_in + [p + length for p in pts_in[:5]])


def test_realtime_file_output_keeps_source_timestamps(tmp_path):
    """The default (played like a camera, frames that come while one is in work dropped): the frames written
    keep their source timestamps, not wall-clock ones; with nothing dropped, the rate is the source's exactly."""
    rate_in, tb_in, pts_in = _timed_clip(tmp_path / "in.mp4", Fraction(25), Fraction(1, 12800),
                                         [i * 512 for i in range(20)])
    out = tmp_path / "out.mp4"
    r = runner.invoke(app, ["live", "-i", str(tmp_path / "in.mp4"), "-o", str(out), "--mode", "person",
                            "--frames", "20"])
    assert r.exit_code == 0, r.output
    rate_out, tb_out, pts_out = _timing(out)
    assert tb_out == tb_in and len(pts_out) == 20
    looped = pts_in + [p + 20 * 512 for p in pts_in] + [p + 40 * 512 for p in pts_in]
    assert set(pts_out) <= set(looped) and pts_out == sorted(pts_out)
    if " 0 dropped" in r.output:
        assert (rate_out, pts_out) == (rate_in, pts_in)
