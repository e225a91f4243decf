"""``mode=parts`` follows this frame's person: a real person photo walking across a plain wall while the
parser's answers arrive frames late, as live; plus the pieces of :mod:`humanparse.live.follow`."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest

from humanparse.live import LiveOptions, LiveProcessor
from humanparse.live.follow import alpha_centre, follow_mask, translate
from humanparse.parsing import Parsing

H, W, STEP, X0, FRAMES, LAG = 360, 640, 7, 8, 51, 5
WALL = (214, 208, 196)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="module")
def walk():
    """``(frames, still)``: the astronaut of the two-person photo, cut out with the default parser's own mask,
    on a plain 640 x 360 wall at x = 8 + 7 t for t = 0..50, and the parser's :class:`Parsing` of frame 0."""
    import humanparse
    from humanparse.samples import two_person_photo

    parser = humanparse.get_backend()
    photo = two_person_photo(H)
    parsing = parser.predict(photo)
    ids = [i for i in np.unique(parsing.instances) if i]
    left = min(ids, key=lambda i: np.nonzero(parsing.instances == i)[1].mean())
    cut = parsing.instances == left
    xs = np.nonzero(cut.any(axis=0))[0]
    crop, keep = photo[:, xs[0]:xs[-1] + 1], cut[:, xs[0]:xs[-1] + 1]
    assert X0 + STEP * (FRAMES - 1) + crop.shape[1] <= W          # the person stays whole in the frame
    frames = []
    for t in range(FRAMES):
        f = np.empty((H, W, 3), np.uint8)
        f[:] = WALL
        f[:, X0 + STEP * t:X0 + STEP * t + crop.shape[1]][keep] = crop[keep]
        frames.append(f)
    return frames, parser.predict(frames[0])


def _shifted(parsing: Parsing, dx: int) -> Parsing:
    return Parsing.from_maps(translate(parsing.labels, dx, 0), translate(parsing.instances, dx, 0),
                             parsing.label_set, [p.score for p in parsing.persons])


@pytest.fixture(scope="module")
def segmenter():
    from humanparse.live import PersonSegmenter

    with PersonSegmenter() as seg:
        yield seg


def _play(walk, segmenter, options: LiveOptions) -> list[float]:
    """IoU per frame of the answer's alpha (> 0.5) with the parser's mask of the still person moved to where
    the person is now. The parser answers frame s at frame s + LAG (its parsing: the still one moved to
    frame s), like a parser LAG frames slower than the stream; the follower then hands it the next frame."""
    frames, still = walk
    now, pending = [0], []

    def submit(rgb):
        fut, s = Future(), now[0]
        fut.set_running_or_notify_cancel()
        if s == 0:                                   # the very first parsing is waited for, as live
            fut.set_result(_shifted(still, 0))
        else:
            pending.append((s, fut))
        return fut

    p = LiveProcessor(options, segmenter, parts_submit=submit)
    truth = still.mask(options.parts)
    ious = []
    try:
        for t, frame in enumerate(frames):
            for s, fut in [x for x in pending if t - x[0] >= LAG]:
                pending.remove((s, fut))
                fut.set_result(_shifted(still, STEP * s))
            now[0] = t
            out = p.process(frame)
            ious.append(_iou(out.alpha > 0.5, translate(truth, STEP * t, 0)))
    finally:
        for s, fut in pending:                      # nothing left in work: close() does not wait
            fut.set_result(_shifted(still, STEP * s))
        p.close()
    assert p.parts.parsed >= FRAMES // LAG - 1        # the parsings really were refreshed, each LAG frames late
    return ious


def test_parts_mode_follows_a_walking_person(walk, segmenter):
    ious = _play(walk, segmenter, LiveOptions(mode="parts", output="alpha"))        # defaults: smoothing 0.5
    late = np.array(ious[15:])
    assert late.min() >= 0.90, f"worst IoU {late.min():.3f} (mean {late.mean():.3f}) at frame {15 + late.argmin()}"


def test_parts_mode_named_parts_follow_too(walk, segmenter):
    ious = _play(walk, segmenter, LiveOptions(mode="parts", parts="upper-clothes", output="alpha", smoothing=0.0))
    late = np.array(ious[15:])
    assert late.min() >= 0.80, f"worst IoU {late.min():.3f} (mean {late.mean():.3f})"


# ------------------------------------------------------------------------------------------ the pieces
def test_translate_moves_and_clears():
    m = np.zeros((6, 8), np.uint8)
    m[1:3, 1:3] = 5
    t = translate(m, 3, 2)
    assert t[3:5, 4:6].tolist() == [[5, 5], [5, 5]] and t.sum() == 20
    assert translate(m, -2, 0)[1:3, 0].tolist() == [5, 5] and translate(m, -2, 0).sum() == 10   # half went out
    assert not translate(m, 8, 0).any() and not translate(m, 0, -6).any()


def test_follow_mask_moves_with_the_person_and_gates():
    then = np.zeros((100, 200), np.float32)
    then[20:80, 30:60] = 1.0
    now = np.zeros_like(then)
    now[20:80, 100:130] = 1.0                      # the person walked 70 px right
    mask = then > 0.5
    moved = follow_mask(mask, then, now)
    assert moved.dtype == np.float32 and np.array_equal(moved > 0.5, now > 0.5)
    ghost = mask | (np.arange(200) >= 180)[None, :]                 # a region the segmenter sees nobody near
    assert not follow_mask(ghost, None, then)[:, 180:].any()      # no motion known: kept in place, gated
    assert np.array_equal(follow_mask(ghost, None, then, gate_fraction=0) > 0.5, ghost)
    assert alpha_centre(np.zeros((10, 10), np.float32)) is None
    nobody = np.zeros_like(then)
    assert not follow_mask(mask, then, nobody).any()                # the segmenter sees nobody: nobody
    with pytest.raises(ValueError, match="same size"):
        follow_mask(mask, then, now[:50])
