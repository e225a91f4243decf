"""Video: PyAV reader/writer, temporal smoothing, flicker metric, the frame pipeline and ``humanparse video``.

Clips are generated here (a still photo with noise and exposure jitter, a sine tone), never stored.
Plumbing tests use a fake threshold backend; the smoothing claim is checked with the real default backend.
"""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest
import skimage.data

from humanparse.backends.base import Backend
from humanparse.parsing import Parsing
from humanparse.video import (EmaSmoother, FlickerMeter, FlowSmoother, VideoError, VideoOptions, VideoReader,
                              flicker, make_smoother, process_video, read_frames)
from humanparse.video.synth import make_static_clip

FPS = 12
FRAMES = 12


class ThresholdBackend(Backend):
    """Fake backend: 'person' = bright pixels (upper-clothes), noise makes its edge flicker. Counts calls."""

    name = "threshold"
    label_set = "cihp"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.calls = 0

    def predict(self, image: np.ndarray) -> Parsing:
        self.calls += 1
        m = image.mean(axis=2) > 110
        return Parsing.from_maps(np.where(m, 5, 0), m.astype(np.uint16))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "astronaut.mp4"
    return make_static_clip(path, skimage.data.astronaut()[::2, ::2], frames=FRAMES, fps=FPS)


@pytest.fixture(scope="module")
def real_backend():
    from humanparse.api import load_backend
    from humanparse.errors import BackendUnavailableError

    try:
        return load_backend("mediapipe")
    except BackendUnavailableError as e:
        pytest.skip(f"mediapipe backend unavailable: {e}")


def probe(path) -> dict:
    """Frame count, fps, video duration (last pts - first pts + one frame), audio codec/rate/seconds."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        pts = [f.pts for f in c.decode(v)]
        tb, fps = Fraction(v.time_base), Fraction(v.average_rate)
    info = {"frames": len(pts), "fps": fps, "duration": float((max(pts) - min(pts)) * tb + 1 / fps)}
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            samples = sum(f.samples for f in c.decode(a))
            info.update(audio=a.codec_context.name, rate=a.codec_context.sample_rate,
                        audio_seconds=samples / a.codec_context.sample_rate)
    return info


def assert_same_timing(src, out) -> dict:
    a, b = probe(src), probe(out)
    assert b["frames"] == a["frames"]
    assert b["fps"] == a["fps"]
    assert abs(b["duration"] - a["duration"]) <= 1 / float(a["fps"]) + 1e-6
    assert "audio" in b, "audio stream lost"
    assert b["rate"] == a["rate"]
    assert abs(b["audio_seconds"] - a["audio_seconds"]) <= 0.1
    return b


# ---------------------------------------------------------------- reader / writer

def test_reader_reports_the_clip(clip):
    with VideoReader(clip) as r:
        assert (r.width, r.height, r.fps) == (256, 256, FPS)
        assert r.audio is not None and r.audio.codec_context.sample_rate == 48000
        frames = list(r.frames())
    assert len(frames) == FRAMES and frames[0].image.shape == (256, 256, 3)
    times = [f.time for f in frames]
    assert times == sorted(times) and abs(times[1] - times[0] - 1 / FPS) < 1e-3


def test_reader_rejects_missing_and_corrupt_files(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        VideoReader(tmp_path / "nope.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 50)
    with pytest.raises(VideoError, match="not a readable video"):
        VideoReader(bad)


def test_mp4_green_background_keeps_frames_fps_duration_and_audio(clip, tmp_path):
    out = tmp_path / "green.mp4"
    backend = ThresholdBackend()
    res = process_video(clip, out, backend, VideoOptions(background="#00ff00", smooth="off"))
    assert res.frames == FRAMES and backend.calls == FRAMES and res.audio == "copied"
    info = assert_same_timing(clip, out)
    assert info["audio"] == "aac"
    # Far from the threshold edge, background pixels are green and person pixels keep the photo.
    first_in, first_out = read_frames(clip, 1)[0].image, read_frames(out, 1)[0].image
    gray = first_in.mean(axis=2)
    bg = gray < 60
    fg = gray > 180
    assert bg.sum() > 500 and fg.sum() > 500
    assert np.median(first_out[bg][:, 1]) > 220 and np.median(first_out[bg][:, 0]) < 40
    assert np.abs(first_out[fg].astype(int) - first_in[fg]).mean() < 12


@pytest.mark.parametrize("suffix, audio", [(".webm", "opus"), (".mov", "aac")])
def test_transparent_output_has_a_real_alpha_plane(clip, tmp_path, suffix, audio):
    out = tmp_path / f"cut{suffix}"
    res = process_video(clip, out, ThresholdBackend(), VideoOptions(background="transparent", matting="fast"))
    info = assert_same_timing(clip, out)
    assert info["audio"] == audio
    assert res.audio == ("re-encoded" if suffix == ".webm" else "copied")
    frames = read_frames(out)
    assert len(frames) == FRAMES and frames[0].image.shape == (256, 256, 4)
    a = frames[FRAMES // 2].image[..., 3]
    assert (a == 0).any() and (a == 255).any()
    assert ((a > 10) & (a < 245)).sum() > 50, "matting should leave fractional alpha at edges"


def test_webm_input_to_transparent_mkv_copies_opus(tmp_path):
    src = make_static_clip(tmp_path / "in.webm", skimage.data.astronaut()[::4, ::4], frames=6, fps=FPS)
    out = tmp_path / "cut.mkv"
    res = process_video(src, out, ThresholdBackend(), VideoOptions(smooth="ema"))   # default: transparent
    assert res.audio == "copied"
    info = assert_same_timing(src, out)
    assert info["audio"] == "opus"
    a = read_frames(out)[3].image[..., 3]
    assert (a == 0).any() and (a == 255).any()


def test_clip_without_audio(tmp_path):
    src = make_static_clip(tmp_path / "silent.mp4", skimage.data.astronaut()[::4, ::4], frames=5, fps=FPS,
                           tone_hz=None)
    res = process_video(src, tmp_path / "out.mp4", ThresholdBackend(), VideoOptions(background="blur"))
    assert res.audio == "none" and "audio" not in probe(tmp_path / "out.mp4")
    assert probe(tmp_path / "out.mp4")["frames"] == 5


def test_transparency_needs_an_alpha_container(clip, tmp_path):
    with pytest.raises(VideoError, match=r"\.webm"):
        process_video(clip, tmp_path / "cut.mp4", ThresholdBackend(), VideoOptions(background="transparent"))
    assert not list(tmp_path.iterdir()), "nothing may be left behind"


def test_max_frames_cuts_audio_too_and_masks_video(clip, tmp_path):
    out, masks = tmp_path / "short.mp4", tmp_path / "masks.mp4"
    res = process_video(clip, out, ThresholdBackend(),
                        VideoOptions(background="blur", max_frames=6, masks_path=masks))
    info = probe(out)
    assert res.frames == 6 and info["frames"] == 6
    assert abs(info["audio_seconds"] - 6 / FPS) <= 0.1
    mframes = read_frames(masks)
    assert len(mframes) == 6
    # Pixels the fake backend labels upper-clothes show the CIHP palette colour of class 5.
    from humanparse.labels import get_label_set

    colour = get_label_set("cihp").palette[5].astype(int)
    sure = read_frames(clip, 1)[0].image.mean(axis=2) > 180
    assert np.abs(np.median(mframes[0].image[sure], axis=0) - colour).max() < 25


def test_label_set_recolours_masks_and_is_checked_before_any_frame(clip, tmp_path):
    """label_set="coarse": the masks video shows the coarse palette's upper-clothes colour (not CIHP's) and
    the JSON persons stay; an unknown or unmappable set raises before anything is written."""
    from humanparse.labels import get_label_set

    masks, js = tmp_path / "masks.mp4", tmp_path / "p.jsonl"
    backend = ThresholdBackend()
    process_video(clip, tmp_path / "o.mp4", backend,
                  VideoOptions(background="blur", max_frames=2, masks_path=masks, json_path=js, label_set="coarse"))
    coarse = get_label_set("coarse")
    colour = coarse.palette[coarse.index("upper-clothes")].astype(int)
    seen = np.median(read_frames(masks)[0].image[read_frames(clip, 1)[0].image.mean(axis=2) > 180], axis=0)
    assert np.abs(seen - colour).max() < 20
    assert np.abs(seen - get_label_set("cihp").palette[5].astype(int)).max() > 40
    assert all(len(json.loads(line)["persons"]) == 1 for line in js.read_text().splitlines())
    calls = backend.calls
    with pytest.raises(KeyError, match="nosuchset"):
        process_video(clip, tmp_path / "x.mp4", backend, VideoOptions(background="blur", label_set="nosuchset"))
    with pytest.raises(ValueError, match="no mapping"):
        process_video(clip, tmp_path / "x.mp4", backend, VideoOptions(background="blur", label_set="ccp"))
    assert backend.calls == calls and not (tmp_path / "x.mp4").exists()


def test_output_may_not_overwrite_input(clip, tmp_path):
    copy = tmp_path / "in.mp4"
    copy.write_bytes(clip.read_bytes())
    before = copy.read_bytes()
    with pytest.raises(VideoError, match="is the input"):
        process_video(copy, copy, ThresholdBackend(), VideoOptions(background="#000000"))
    assert copy.read_bytes() == before


def test_bad_options_raise_clear_errors(clip, tmp_path):
    with pytest.raises(ValueError, match="smoothing"):
        process_video(clip, tmp_path / "o.mp4", ThresholdBackend(), VideoOptions(smooth="gaussian"))
    with pytest.raises(ValueError, match="background"):
        process_video(clip, tmp_path / "o.mp4", ThresholdBackend(), VideoOptions(background="not-a-colour-xyz"))
    with pytest.raises(VideoError, match="unsupported output container"):
        process_video(clip, tmp_path / "o.avi", ThresholdBackend(), VideoOptions(background="blur"))


# ---------------------------------------------------------------- smoothing and metric

def test_flicker_metric_values():
    z, o = np.zeros((4, 4), np.float32), np.ones((4, 4), np.float32)
    assert flicker([z, o, z]) == pytest.approx(1.0)
    half = z.copy()
    half[:2] = 1.0
    assert flicker([z, half]) == pytest.approx(0.5)
    assert flicker([np.zeros((4, 4), np.uint8), np.full((4, 4), 51, np.uint8)]) == pytest.approx(0.2)
    assert flicker([z]) == 0.0
    m = FlickerMeter()
    m.update(z)
    with pytest.raises(ValueError, match="size changed"):
        m.update(np.zeros((5, 4)))


def test_ema_follows_its_formula_and_validates():
    s = EmaSmoother(0.5)
    img = np.zeros((3, 3, 3), np.uint8)
    assert np.all(s.update(img, np.zeros((3, 3))) == 0)
    assert np.allclose(s.update(img, np.ones((3, 3))), 0.5)
    assert np.allclose(s.update(img, np.ones((3, 3))), 0.75)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        EmaSmoother(1.0)
    with pytest.raises(ValueError, match="unknown smoothing"):
        make_smoother("median")


def test_flow_smoothing_follows_motion_where_ema_trails():
    """A textured square moving 4 px per frame: the flow-warped average stays on it, plain EMA smears."""
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 255, (40, 40, 3)).astype(np.uint8)
    ema, flow = EmaSmoother(0.7), FlowSmoother(0.7)
    err_ema, err_flow = [], []
    for t in range(8):
        img = np.full((120, 160, 3), 90, np.uint8)
        alpha = np.zeros((120, 160), np.float32)
        x = 20 + 4 * t
        img[40:80, x:x + 40] = tex
        alpha[40:80, x:x + 40] = 1.0
        e, f = ema.update(img, alpha), flow.update(img, alpha)
        if t >= 2:
            err_ema.append(np.abs(e - alpha).mean())
            err_flow.append(np.abs(f - alpha).mean())
    assert np.mean(err_flow) < 0.5 * np.mean(err_ema)


def test_smoothing_reduces_flicker_of_the_real_backend(clip, tmp_path, real_backend):
    base = process_video(clip, tmp_path / "off.mp4", real_backend,
                         VideoOptions(background="#00ff00", smooth="off", max_frames=8))
    assert base.flicker_raw > 0 and base.flicker == pytest.approx(base.flicker_raw)
    for mode in ("ema", "flow"):
        res = process_video(clip, tmp_path / f"{mode}.mp4", real_backend,
                            VideoOptions(background="#00ff00", smooth=mode, max_frames=8))
        assert res.flicker_raw == pytest.approx(base.flicker_raw, rel=1e-5)   # same frames, same backend
        assert res.flicker < 0.9 * res.flicker_raw, mode


# ---------------------------------------------------------------- CLI

def test_cli_video_and_bad_option(clip, tmp_path, real_backend):
    from typer.testing import CliRunner

    from humanparse.cli.main import app

    out = tmp_path / "cli.webm"
    r = CliRunner().invoke(app, ["video", str(clip), "-o", str(out), "--max-frames", "3", "--smooth", "flow",
                                 "--quiet"])
    assert r.exit_code == 0, r.output
    frames = read_frames(out)
    assert len(frames) == 3 and frames[0].image.shape[2] == 4
    r = CliRunner().invoke(app, ["video", str(clip), "-o", str(tmp_path / "x.mp4"), "--smooth", "median"])
    assert r.exit_code == 2 and "median" in r.output
    r = CliRunner().invoke(app, ["video", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "x.mp4")])
    assert r.exit_code == 2 and "no such file" in r.output
    # a misspelt part is refused by name before any frame is written
    bad = tmp_path / "parts.mp4"
    r = CliRunner().invoke(app, ["video", str(clip), "-o", str(bad), "--parts", "hair,wings", "--quiet"])
    assert r.exit_code == 2 and "unknown part 'wings'" in r.output and "--parts" in r.output
    assert not bad.exists()
