"""Person tracking across video frames (:mod:`humanparse.video.tracking`): stable ids, persons kept through
detector misses, dropped on evidence; and the video pipeline with it on the edge-touching panned clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from humanparse import samples
from humanparse.backends.base import Backend
from humanparse.parsing import Parsing
from humanparse.video import PersonTracker, VideoOptions, process_video, read_frames, tracked_parsing
from humanparse.video.synth import make_pan_clip

W, H = 240, 300          # the edge-touching window over Grace Hopper (she touches all four edges)
X0, Y0 = 120, 100
MISSED = range(10, 19)   # frames the "detector" misses, as in issue 13


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return samples.grace_hopper()


def pan_frames(photo, n=20):
    return [np.ascontiguousarray(photo[Y0:Y0 + H, X0 + i:X0 + i + W]) for i in range(n)]


def box_parsing(x1: int, y1: int, x2: int, y2: int, h=H, w=W, label=5) -> Parsing:
    labels = np.zeros((h, w), np.uint8)
    labels[y1:y2, x1:x2] = label
    return Parsing.from_maps(labels, (labels > 0).astype(np.uint16), "cihp", [0.9])


def truth(i: int) -> tuple[int, int, int, int]:
    """A 'person' box fixed on the photo: it moves 1 px left per frame as the window pans right."""
    return 60 - i, 40, 180 - i, H


def test_person_kept_through_missed_detections_with_one_id(photo):
    tracker = PersonTracker()
    for i, rgb in enumerate(pan_frames(photo)):
        det = Parsing.empty(H, W) if i in MISSED else box_parsing(*truth(i))
        out = tracker.update(rgb, det)
        assert [p.id for p in out.persons] == [1], i
        assert tracker.states == {1: "kept" if i in MISSED else "detected"}
        x1, y1, x2, y2 = truth(i)
        want = np.zeros((H, W), bool)
        want[y1:y2, x1:x2] = True
        got = out.instances == 1
        iou = (got & want).sum() / (got | want).sum()
        assert iou > 0.9, (i, iou)
        assert (out.labels[got] == 5).all()


def test_person_dropped_on_a_scene_cut_and_after_max_kept(photo):
    frames = pan_frames(photo, 4)
    tracker = PersonTracker()
    tracker.update(frames[0], box_parsing(*truth(0)))
    other = np.ascontiguousarray(samples.astronaut()[:H, :W])          # a different shot, nobody detected
    assert len(tracker.update(other, Parsing.empty(H, W))) == 0
    tracker = PersonTracker(max_kept=2)
    tracker.update(frames[0], box_parsing(*truth(0)))
    counts = [len(tracker.update(f, Parsing.empty(H, W))) for f in frames[1:]]
    assert counts == [1, 1, 0]


def test_ids_stay_with_persons_when_the_parser_renumbers(photo):
    frames = pan_frames(photo, 6)
    tracker = PersonTracker()
    seen = []
    for i, rgb in enumerate(frames):
        labels = np.zeros((H, W), np.uint8)
        inst = np.zeros((H, W), np.uint16)
        a, b = (1, 2) if i % 2 == 0 else (2, 1)     # the parser's ids swap every frame
        labels[40:200, 10 - 0:90 - i] = 5
        inst[40:200, 10:90 - i] = a
        labels[40:200, 140:220 - i] = 9
        inst[40:200, 140:220 - i] = b
        out = tracker.update(rgb, Parsing.from_maps(labels, inst, "cihp"))
        left = int(out.instances[100, 50])
        right = int(out.instances[100, 180])
        seen.append((left, right))
        assert {p.id for p in out.persons} == {left, right}
    assert len(set(seen)) == 1 and seen[0][0] != seen[0][1]
    # a new person later gets a new id, never a reused one
    labels = np.zeros((H, W), np.uint8)
    labels[250:290, 100:130] = 13
    out = tracker.update(frames[-1], Parsing.from_maps(labels, (labels > 0).astype(np.uint16)))
    assert [p.id for p in out.persons] == [3] or 3 in [p.id for p in out.persons]


def test_tracked_parsing_keeps_ids():
    labels = np.zeros((10, 10), np.uint8)
    inst = np.zeros((10, 10), np.uint16)
    labels[2:5, 2:5], inst[2:5, 2:5] = 13, 7
    p = tracked_parsing(labels, inst, "cihp", {7: 0.5})
    assert [(q.id, q.area, q.score) for q in p.persons] == [(7, 9, 0.5)]
    assert p.mask(person=7).sum() == 9
    with pytest.raises(ValueError):
        PersonTracker(match_iou=0)


# ------------------------------------------------------------------------ the pipeline

class MissingBackend(Backend):
    """Finds the truth box in every frame except :data:`MISSED` (counts calls = frame index)."""

    name = "missing"
    label_set = "cihp"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.calls = 0

    def predict(self, image: np.ndarray) -> Parsing:
        i = self.calls
        self.calls += 1
        return Parsing.empty(H, W) if i in MISSED else box_parsing(*truth(i))


@pytest.fixture(scope="module")
def edge_clip(tmp_path_factory, photo):
    path = tmp_path_factory.mktemp("edge") / "edge.mp4"
    return make_pan_clip(path, photo, (W, H), frames=20, fps=10, step=(1, 0), start=(X0, Y0), tone_hz=None)


def test_pipeline_keeps_the_person_the_detector_misses(edge_clip, tmp_path):
    opts = dict(background="transparent", smooth="flow", matting="off")
    off = process_video(edge_clip, tmp_path / "off.webm", MissingBackend(), VideoOptions(track=False, **opts))
    assert [i for i, k in enumerate(off.persons) if k == 0] == list(MISSED)
    on = process_video(edge_clip, tmp_path / "on.webm", MissingBackend(),
                       VideoOptions(track=True, json_path=tmp_path / "on.jsonl", **opts))
    assert on.persons == [1] * 20
    alphas = [f.image[..., 3] for f in read_frames(tmp_path / "on.webm")]
    assert all((a > 127).mean() > 0.15 for a in alphas)
    assert on.flicker < 0.5 * off.flicker
    records = [json.loads(line) for line in (tmp_path / "on.jsonl").read_text().splitlines()]
    assert len(records) == 20
    assert {p["id"] for r in records for p in r["persons"]} == {1}
    assert [r["persons"][0]["state"] for r in records] == ["kept" if i in MISSED else "detected" for i in range(20)]
    assert records[12]["persons"][0]["mask"]["size"] == [H, W]


def test_real_backend_keeps_the_edge_touching_person_in_every_frame(edge_clip, tmp_path):
    from humanparse.api import load_backend
    from humanparse.backends import DEFAULT_BACKEND

    res = process_video(edge_clip, tmp_path / "real.mp4", load_backend(DEFAULT_BACKEND),
                        VideoOptions(background="#00ff00", smooth="flow"))
    print(f"edge-touching clip, {DEFAULT_BACKEND}: persons per frame {res.persons}, "
          f"flicker {res.flicker_raw:.4f} -> {res.flicker:.4f}")
    assert res.frames == 20 and all(k >= 1 for k in res.persons)
    assert res.flicker < 0.05
