"""The live pipeline without a server: options, frame dropping, rates, the selfie segmenter on real photos,
compositing, smoothing (flicker), ``mode=parts`` reuse of the last parsing, frame codecs, the .y4m writer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from humanparse.errors import ImageError
from humanparse.live import (LatestSlot, LiveOptions, LiveProcessor, PartsFollower, PersonSegmenter, RateMeter,
                             decode_frame, encode_frame, options_from_query)
from humanparse.live.y4m import write_y4m
from humanparse.video import FlickerMeter


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """The two-person photo (astronaut, Grace Hopper) at 640 x 360, the live bench's frame size."""
    from humanparse.samples import two_person_photo

    return cv2.resize(two_person_photo(360), (640, 360), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def segmenter():
    with PersonSegmenter() as seg:
        yield seg


@pytest.fixture(scope="module")
def regions(frame, segmenter):
    """Sure person (alpha > 0.95) and sure background (alpha < 0.05) pixels of ``frame``."""
    a = segmenter(frame)
    return a > 0.95, a < 0.05


# ------------------------------------------------------------------------------------------ options
def test_options_defaults_and_query():
    o = options_from_query({})
    assert (o.mode, o.background, o.output, o.max_fps, o.refine) == ("person", "blur", "frame", None, False)
    o = options_from_query({"mode": "parts", "background": "#00ff00", "output": "alpha", "max_fps": "15",
                            "refine": "1", "parts": "hair,face", "quality": "70", "smoothing": "0"})
    assert (o.mode, o.output, o.max_fps, o.refine, o.parts, o.quality, o.smoothing) == \
        ("parts", "alpha", 15.0, True, "hair,face", 70, 0.0)


@pytest.mark.parametrize("query, word", [({"mode": "fast"}, "mode"), ({"output": "video"}, "output"),
                                         ({"max_fps": "abc"}, "max_fps"), ({"max_fps": "0"}, "max_fps"),
                                         ({"max_fps": "inf"}, "max_fps"), ({"smoothing": "1"}, "smoothing"),
                                         ({"quality": "7.5"}, "quality"), ({"refine": "maybe"}, "refine"),
                                         ({"parts": "face"}, "mode=parts"), ({"colour": "red"}, "colour")])
def test_options_bad_values_name_the_parameter(query, word):
    with pytest.raises(ValueError, match=word):
        options_from_query(query)


# ------------------------------------------------------------------------------------------ dropping, rates
def test_latest_slot_keeps_only_the_newest():
    slot = LatestSlot()
    assert slot.take() is None
    assert slot.put(1) is False
    assert slot.put(2) is True and slot.put(3) is True
    assert len(slot) == 1 and slot.take() == 3 and slot.take() is None
    assert (slot.received, slot.dropped, slot.taken) == (3, 2, 1)
    slot.put(4)
    assert slot.discard() and not slot.discard() and slot.dropped == 3


def test_latest_slot_threads_lose_nothing_uncounted():
    slot = LatestSlot()
    taken = []

    def consume():
        while len(taken) < 50 and time.monotonic() < deadline:
            item = slot.take()
            if item is not None:
                taken.append(item)

    deadline = time.monotonic() + 5
    t = threading.Thread(target=consume)
    t.start()
    for i in range(2000):
        slot.put(i)
    t.join()
    slot.discard()
    assert slot.received == 2000
    assert slot.taken + slot.dropped == 2000
    assert taken == sorted(taken)                 # newer frames only ever replace older ones


def test_rate_meter():
    m = RateMeter(window=10)
    assert m.fps == 0.0 and m.latency_ms(95) == 0.0
    for i in range(10):
        m.add(0.010 + 0.001 * i, now=100.0 + i * 0.04)   # 25 frames/s, 10..19 ms
    assert m.fps == pytest.approx(25.0)
    assert m.latency_ms(50) == pytest.approx(14.5)
    assert 18.0 < m.latency_ms(95) <= 19.0
    assert m.summary()["frames"] == 10


# ------------------------------------------------------------------------------------------ codecs
def test_frame_codecs_round_trip(frame):
    data, media = encode_frame(frame, 90)
    assert media == "image/jpeg" and data[:2] == b"\xff\xd8"
    back = decode_frame(data)
    assert back.shape == frame.shape and np.abs(back.astype(int) - frame).mean() < 4
    png, media = encode_frame(np.dstack([frame, np.full(frame.shape[:2], 7, np.uint8)]))
    assert media == "image/png"
    rgba = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (360, 640, 4) and (rgba[..., 3] == 7).all()
    with pytest.raises(ImageError):
        decode_frame(b"")
    with pytest.raises(ImageError):
        decode_frame(b"not a jpeg at all")
    with pytest.raises(ValueError):
        encode_frame(np.zeros((4, 4, 2), np.uint8))


def test_write_y4m(tmp_path, frame):
    p = write_y4m(tmp_path / "c.y4m", [frame, frame[::-1].copy()], fps=25)
    raw = p.read_bytes()
    header, _, rest = raw.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H360 F25:1 Ip A1:1 C420jpeg"
    assert rest.count(b"FRAME\n") == 2 and len(rest) == 2 * (6 + 640 * 360 * 3 // 2)
    with pytest.raises(ValueError, match="even"):
        write_y4m(tmp_path / "odd.y4m", [np.zeros((3, 4, 3), np.uint8)])
    with pytest.raises(ValueError, match="no frames"):
        write_y4m(tmp_path / "none.y4m", [])


# ------------------------------------------------------------------------------------------ segmenter
def test_segmenter_finds_the_people(frame, segmenter, regions):
    a = segmenter(frame)
    assert a.shape == (360, 640) and a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0
    person, background = regions
    assert 0.15 < person.mean() < 0.8 and background.mean() > 0.05
    # the astronaut's face (left) and Grace Hopper's (right) are person, the flag in the top-left corner is not
    assert a[45:100, 125:175].mean() > 0.9
    assert a[90:160, 460:530].mean() > 0.9
    assert a[0:60, 0:60].mean() < 0.1
    # a plain grey frame has nobody in it
    assert segmenter(np.full((360, 640, 3), 128, np.uint8)).mean() < 0.05
    with pytest.raises(ValueError):
        segmenter(np.zeros((10, 10), np.uint8))


# ------------------------------------------------------------------------------------------ processor
def test_processor_replaces_background_keeps_person(frame, segmenter, regions):
    person, background = regions
    p = LiveProcessor(LiveOptions(background="#00ff00", smoothing=0.0), segmenter=segmenter)
    out = p.process(frame)
    assert out.image.shape == frame.shape and out.image.dtype == np.uint8
    diff = np.abs(out.image.astype(int) - frame.astype(int))
    assert diff[person].mean() < 3.0                                  # person untouched
    assert (np.abs(out.image[background].astype(int) - [0, 255, 0]) < 12).all(axis=1).mean() > 0.99
    assert set(out.timings) >= {"alpha", "smooth", "composite"}
    p.close()
    assert p.segmenter is segmenter                                   # not closed: it was lent


def test_processor_blur_transparent_alpha_outputs(frame, segmenter, regions):
    person, background = regions
    blur = LiveProcessor(LiveOptions(background="blur:8"), segmenter=segmenter).process(frame).image
    assert np.abs(blur.astype(int) - frame)[person].mean() < 3.0
    sharp = cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.CV_32F)
    soft = cv2.Laplacian(cv2.cvtColor(blur, cv2.COLOR_RGB2GRAY), cv2.CV_32F)
    assert np.abs(soft[background]).mean() < 0.5 * np.abs(sharp[background]).mean()   # background blurred

    rgba = LiveProcessor(LiveOptions(background="transparent"), segmenter=segmenter).process(frame).image
    assert rgba.shape == (360, 640, 4)
    assert (rgba[..., 3][person] > 240).mean() > 0.99 and (rgba[..., 3][background] < 15).mean() > 0.99

    body, media, lf = LiveProcessor(LiveOptions(output="alpha"), segmenter=segmenter).process_bytes(
        encode_frame(frame, 90)[0])
    matte = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
    assert media == "image/png" and matte.shape == (360, 640) and matte.dtype == np.uint8
    assert (matte[person] > 200).mean() > 0.98 and (matte[background] < 30).mean() > 0.98
    assert lf.image is None and {"decode", "encode", "total"} <= set(lf.timings)


def test_processor_refine_keeps_regions(frame, segmenter, regions):
    person, background = regions
    out = LiveProcessor(LiveOptions(background="#0000ff", refine=True), segmenter=segmenter).process(frame)
    assert "refine" in out.timings
    assert (out.alpha[person] > 0.5).mean() > 0.97 and (out.alpha[background] < 0.5).mean() > 0.97


def test_smoothing_lowers_flicker(frame, segmenter):
    """A static shot with sensor noise: the EMA-smoothed matte changes less from frame to frame."""
    rng = np.random.default_rng(0)
    noisy = [np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8) for _ in range(6)]
    figures = {}
    for k in (0.0, 0.6):
        p = LiveProcessor(LiveOptions(output="alpha", smoothing=k), segmenter=segmenter)
        meter = FlickerMeter()
        for f in noisy:
            meter.update(p.process(f).alpha)
        figures[k] = meter.value
    assert figures[0.0] > 0
    assert figures[0.6] < 0.7 * figures[0.0]


def test_processor_survives_a_resolution_change(frame, segmenter):
    p = LiveProcessor(LiveOptions(smoothing=0.6), segmenter=segmenter)
    p.process(frame)
    small = cv2.resize(frame, (320, 180))
    assert p.process(small).image.shape == (180, 320, 3)
    with pytest.raises(ValueError):
        p.process(np.zeros((8, 8, 4), np.uint8))


# ------------------------------------------------------------------------------------------ mode=parts
class GatedParser:
    """The conftest fake parser (centred box: face / upper-clothes / pants); every call after the first blocks
    until :attr:`gate` is set, like a parser far slower than the stream."""

    def __init__(self) -> None:
        from conftest import FakeBackend

        self.backend, self.calls, self.gate = FakeBackend(), 0, threading.Event()

    def predict(self, rgb):
        self.calls += 1
        if self.calls > 1:
            assert self.gate.wait(30)
        return self.backend.predict(rgb)


def _eventually(check, timeout_s: float = 10.0) -> bool:
    """Whether ``check()`` becomes true within ``timeout_s`` (polled every 10 ms)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _gated(mask, frame, segmenter):
    """``mask`` as ``mode=parts`` draws it on a still ``frame``: kept only near the segmenter's people."""
    from humanparse.live.follow import follow_mask

    return follow_mask(mask, None, segmenter(frame)) > 0.5


def test_parts_mode_reuses_the_last_parsing(frame, segmenter):
    parser = GatedParser()
    with ThreadPoolExecutor(1) as pool:
        p = LiveProcessor(LiveOptions(mode="parts", background="#000000", smoothing=0.0), segmenter,
                          parts_submit=lambda rgb: pool.submit(parser.predict, rgb))
        first = p.process(frame)                         # waits for the first parsing
        box = parser.backend.predict(frame).mask()
        expected = _gated(box, frame, segmenter)
        assert 0 < expected.sum() < box.sum()
        assert np.array_equal(first.alpha > 0.5, expected)
        for _ in range(10):          # the parser is stuck on frame 2: frames go on with the last parsing
            out = p.process(frame)
            assert np.array_equal(out.alpha > 0.5, expected)
        # the parser runs in the pool's thread: its call count is read once it has had time to start
        assert _eventually(lambda: parser.calls == 2)     # one frame in work, none queued
        assert out.parts_age_s is not None and p.parts.parsed == 1
        parser.gate.set()
        deadline = time.monotonic() + 30
        while p.parts.parsed < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        p.process(frame)
        assert _eventually(lambda: parser.calls == 3)     # idle again: the next frame was handed over
        p.close()


def test_parts_mode_keeps_only_named_parts_and_resizes(frame, segmenter):
    parser = GatedParser()
    parser.gate.set()
    with ThreadPoolExecutor(1) as pool:
        p = LiveProcessor(LiveOptions(mode="parts", parts="face", smoothing=0.0), segmenter,
                          parts_submit=lambda rgb: pool.submit(parser.predict, rgb))
        a = p.process(frame).alpha
        parsing = parser.backend.predict(frame)
        assert np.array_equal(a > 0.5, _gated(parsing.mask("face"), frame, segmenter))
        assert 0 < (a > 0.5).sum() < _gated(parsing.mask(), frame, segmenter).sum()
        p.process(cv2.resize(frame, (320, 180)))         # result of the old size is scaled, not an error
        p.close()
    with pytest.raises(ValueError, match="parts_submit"):
        LiveProcessor(LiveOptions(mode="parts"))


def test_parts_follower_counts_refusals_and_failures(frame):
    def refuse(rgb):
        raise RuntimeError("queue full")

    f = PartsFollower(refuse, first_timeout_s=0.1)
    assert f.update(frame) is None and f.errors == 1 and "queue full" in f.last_error

    def broken(rgb):
        from concurrent.futures import Future

        fut = Future()
        fut.set_exception(ValueError("bad frame"))
        return fut

    f = PartsFollower(broken)
    assert f.update(frame) is None and f.errors == 1 and "bad frame" in f.last_error
