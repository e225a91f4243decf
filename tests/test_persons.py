"""The YOLOX-Nano person detector (humanparse.persons.yolox): decode, NMS, letterbox and tile arithmetic on
hand-made inputs, then the shipped network on real photos (scikit-image's astronaut, public domain)."""

from __future__ import annotations

import math
import shutil

import cv2
import numpy as np
import pytest

from humanparse.errors import WeightsNotFoundError
from humanparse.models.integrity import ChecksumMismatchError, sha256_file
from humanparse.persons import Detection, YoloxDetector
from humanparse.persons import yolox
from humanparse.persons.yolox import (INPUT_SIZE, NMS_IOU, PAD_VALUE, TILE_ASPECT, TILE_OVERLAP, _inside_better,
                                      decode, letterbox, nms, tiles)

ROWS = 52 * 52 + 26 * 26 + 13 * 13
"""Output rows of a 416 input: strides 8, 16, 32 (the contract in the module docstring)."""


# ---------------------------------------------------------------- helpers
def _row(stride: int, gx: int, gy: int) -> int:
    """Output row of grid cell (x ``gx``, y ``gy``) of the level of ``stride`` (levels 8, 16, 32, row-major)."""
    offset = 0
    for s in (8, 16, 32):
        n = INPUT_SIZE // s
        if s == stride:
            return offset + gy * n + gx
        offset += n * n
    raise ValueError(stride)


def _encode(box: tuple[float, float, float, float], stride: int, gx: int, gy: int) -> list[float]:
    """``(dx, dy, log w, log h)`` that the network would output at cell (gx, gy) of ``stride`` for ``box``."""
    x1, y1, x2, y2 = box
    return [(x1 + x2) / 2 / stride - gx, (y1 + y2) / 2 / stride - gy,
            math.log((x2 - x1) / stride), math.log((y2 - y1) / stride)]


def _iou(a, b) -> float:
    """IoU of two ``(x1, y1, x2, y2)`` boxes, written out independently of :func:`yolox.box_iou`."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _raw_with(boxes: list[tuple[tuple[float, float, float, float], int, int, int, float, float]]) -> np.ndarray:
    """A ``(3549, 85)`` float32 raw output: low objectness and scores everywhere, and for each
    ``(box, stride, gx, gy, objectness, person score)`` that box at that cell."""
    raw = np.full((ROWS, 85), 0.01, np.float32)
    raw[:, :4] = 0.0
    for box, stride, gx, gy, obj, person in boxes:
        r = _row(stride, gx, gy)
        raw[r, :4] = _encode(box, stride, gx, gy)
        raw[r, 4], raw[r, 5] = obj, person
    return raw


@pytest.fixture(scope="module")
def detector() -> YoloxDetector:
    return YoloxDetector(num_threads=1)


@pytest.fixture(scope="module")
def whole_photo_detector() -> YoloxDetector:
    return YoloxDetector(num_threads=1, use_tiles=False)


# ---------------------------------------------------------------- decode + NMS
MAIN = (140.0, 100.0, 200.0, 180.0)     # centre (170, 140) = cell (10, 7) of stride 16 + (0.625, 1.75)
DUPLICATE = (144.0, 104.0, 204.0, 184.0)
FAR = (300.0, 20.0, 380.0, 200.0)


def test_decode_puts_a_hand_made_prediction_back_at_its_canvas_box():
    raw = _raw_with([(MAIN, 16, 10, 7, 0.9, 0.8)])
    boxes, scores = decode(raw)
    assert boxes.shape == (ROWS, 4) and boxes.dtype == np.float32 and scores.shape == (ROWS,)
    r = _row(16, 10, 7)
    np.testing.assert_allclose(boxes[r], MAIN, atol=1e-3)
    assert scores[r] == pytest.approx(0.9 * 0.8, abs=1e-6)
    assert np.argmax(scores) == r and np.sort(scores)[-2] < 0.01
    # the other classes are not read for person, but are for cls=1 (all low there)
    assert decode(raw, cls=1)[1][r] == pytest.approx(0.9 * 0.01, abs=1e-6)


def test_nms_keeps_the_best_of_a_duplicate_pair_and_a_far_box_in_score_order():
    assert _iou(MAIN, DUPLICATE) > NMS_IOU and _iou(MAIN, FAR) == 0.0
    raw = _raw_with([(MAIN, 16, 10, 7, 0.9, 0.8),            # score 0.72
                     (DUPLICATE, 8, 21, 17, 0.9, 0.75),      # 0.675, overlaps MAIN
                     (FAR, 32, 10, 3, 0.8, 0.7)])            # 0.56, far away
    boxes, scores = decode(raw)
    cand = np.flatnonzero(scores > 0.3)
    assert set(cand) == {_row(16, 10, 7), _row(8, 21, 17), _row(32, 10, 3)}
    np.testing.assert_allclose(boxes[_row(8, 21, 17)], DUPLICATE, atol=1e-3)
    np.testing.assert_allclose(boxes[_row(32, 10, 3)], FAR, atol=1e-3)
    keep = cand[nms(boxes[cand], scores[cand])]
    assert list(keep) == [_row(16, 10, 7), _row(32, 10, 3)]
    # a looser threshold keeps the duplicate too, still in score order
    keep = cand[nms(boxes[cand], scores[cand], iou=0.9)]
    assert list(keep) == [_row(16, 10, 7), _row(8, 21, 17), _row(32, 10, 3)]


def test_nms_of_nothing_is_empty():
    assert len(nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))) == 0


def test_decode_rejects_a_wrong_row_count():
    with pytest.raises(ValueError, match="3548 rows"):
        decode(np.zeros((ROWS - 1, 85), np.float32))
    with pytest.raises(ValueError):
        decode(np.zeros((ROWS, 85), np.float32), size=320)


# ---------------------------------------------------------------- letterbox
@pytest.mark.parametrize("h, w", [(300, 500), (600, 200)])
def test_letterbox_scales_into_the_top_left_and_pads_with_114(h, w):
    rng = np.random.default_rng(h + w)
    image = rng.integers(0, 100, (h, w, 3), dtype=np.uint8)   # never 114..255: the pad stands out
    rect = (int(0.2 * w), int(0.3 * h), int(0.7 * w), int(0.9 * h))  # x1, y1, x2, y2 (exclusive)
    image[rect[1]:rect[3], rect[0]:rect[2]] = 255
    canvas, r = letterbox(image)
    assert canvas.shape == (INPUT_SIZE, INPUT_SIZE, 3) and canvas.dtype == np.uint8
    assert r == pytest.approx(min(INPUT_SIZE / h, INPUT_SIZE / w))
    # the photo fills [0, h r) x [0, w r); everything else is the pad
    nh, nw = round(h * r), round(w * r)
    assert max(nh, nw) == INPUT_SIZE
    assert (canvas[nh:] == PAD_VALUE).all() and (canvas[:, nw:] == PAD_VALUE).all()
    assert (canvas[:nh, :nw] != PAD_VALUE).any(-1).mean() > 0.95
    # the white rectangle lands at rect x r; divided by r it comes back (as detections are mapped back)
    ys, xs = np.nonzero((canvas[:nh, :nw] > 180).all(-1))
    found = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]) / r
    np.testing.assert_allclose(found, rect, atol=2.0)


# ---------------------------------------------------------------- tiles
@pytest.mark.parametrize("h, w", [(500, 500), (1000, 1500), (1500, 1000), (1000, int(TILE_ASPECT * 1000))])
def test_no_tiles_for_square_or_mildly_long_photos(h, w):
    assert tiles(h, w) == []


@pytest.mark.parametrize("h, w", [(1000, 4000), (4000, 1000), (1000, 1700), (333, 2001)])
def test_tiles_are_squares_covering_the_long_side_with_overlap(h, w):
    got = tiles(h, w)
    side, long_ = min(h, w), max(h, w)
    assert len(got) >= 2
    along = 0 if w >= h else 1                   # tiles run along x for a wide photo, along y for a tall one
    spans = []
    for t in got:
        assert all(isinstance(v, int) for v in t)
        assert t[2] - t[0] == side and t[3] - t[1] == side
        across = (t[1], t[3]) if along == 0 else (t[0], t[2])
        assert across == ((0, h) if along == 0 else (0, w))
        spans.append((t[along], t[along + 2]))
    spans.sort()
    assert spans[0][0] == 0 and spans[-1][1] == long_
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end - start >= TILE_OVERLAP * side - 1   # -1: starts are rounded to whole pixels


# ---------------------------------------------------------------- weights
def test_a_byte_for_byte_copy_loads_and_a_tampered_one_is_refused(tmp_path):
    copy = tmp_path / "yolox_nano.onnx"
    shutil.copyfile(yolox.WEIGHTS, copy)
    YoloxDetector(weights=copy, num_threads=1)          # the check is on content, not on the path
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="does not match"):
        YoloxDetector(weights=copy)
    with pytest.raises(WeightsNotFoundError):
        YoloxDetector(weights=tmp_path / "absent.onnx")


def test_shipped_weights_match_the_pinned_digest_and_carry_their_licence():
    assert sha256_file(yolox.WEIGHTS) == yolox.WEIGHTS_SHA256
    folder = yolox.WEIGHTS.parent
    assert "Apache License" in (folder / "yolox_nano.LICENSE").read_text()
    assert yolox.WEIGHTS_SHA256 in (folder / "NOTICE").read_text()


@pytest.mark.parametrize("kwargs", [{"score_threshold": -0.1}, {"score_threshold": 1.0}, {"nms_iou": 0.0},
                                    {"nms_iou": 1.5}])
def test_constructor_rejects_thresholds_out_of_range(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        YoloxDetector(**kwargs)


def test_constructor_accepts_the_range_ends():
    d = YoloxDetector(score_threshold=0.0, nms_iou=1.0, num_threads=1)
    assert d.score_threshold == 0.0 and d.nms_iou == 1.0


# ---------------------------------------------------------------- merging tile detections
def test_inside_better_drops_contained_boxes_only_below_a_better_one():
    boxes = np.array([[0, 0, 100, 100],        # best
                      [10, 10, 50, 50],        # wholly inside the best: dropped
                      [50, 50, 150, 150],      # overlaps the best by a quarter of its area: kept
                      [90, 0, 140, 100],       # 20 % inside the best: kept
                      [200, 200, 300, 300],    # elsewhere: kept
                      [-5, 0, 95, 100]],       # 95 % inside the best: dropped
                     np.float32)
    assert _inside_better(boxes).tolist() == [False, True, False, False, False, True]
    # a better box inside a worse one stays (only worse boxes are dropped)
    assert _inside_better(boxes[[1, 0]]).tolist() == [False, False]
    assert _inside_better(np.zeros((0, 4), np.float32)).shape == (0,)


# ---------------------------------------------------------------- the shipped network on real photos
def test_astronaut_is_one_person_around_her_face(detector, astronaut):
    found = detector.detect(astronaut)
    sure = [d for d in found if d.score > 0.5]
    assert len(sure) == 1
    d = sure[0]
    assert isinstance(d, Detection) and d.landmarks is None and d.mask is None
    x1, y1, x2, y2 = d.box
    assert x1 <= 150 and y1 <= 30 and x2 >= 350 and y2 >= 250      # contains the face region
    assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512             # clipped to the photo


def test_two_persons_best_first_and_max_persons(detector, two_person_photo):
    found = detector.detect(two_person_photo)
    h, w = two_person_photo.shape[:2]
    assert len(found) == 2
    assert found[0].score >= found[1].score
    centres = sorted((d.box[0] + d.box[2]) / 2 for d in found)
    assert centres[0] < w / 2 < centres[1]                         # one on each half
    assert [d.box for d in detector.detect(two_person_photo, max_persons=1)] == [found[0].box]


@pytest.mark.parametrize("photo", ["grey", "coffee"])
def test_no_person_gives_an_empty_list(detector, photo):
    if photo == "grey":
        image = np.full((300, 400, 3), 128, np.uint8)
    else:
        image = pytest.importorskip("skimage.data").coffee()
    assert detector.detect(image) == []


def _small_person_in_a_wide_photo(astronaut, x0: int, width: int = 3000, height: int = 400, tall: int = 120):
    """The astronaut's upper body scaled to ``tall`` pixels, pasted at ``(x0, 150)`` into a grey
    ``(height, width, 3)`` uint8 photo; returns ``(photo, pasted box)``."""
    crop = astronaut[0:440, 0:400]
    wide = round(crop.shape[1] * tall / crop.shape[0])
    small = cv2.resize(crop, (wide, tall), interpolation=cv2.INTER_AREA)
    photo = np.full((height, width, 3), 128, np.uint8)
    photo[150:150 + tall, x0:x0 + wide] = small
    return photo, (x0, 150, x0 + wide, 150 + tall)


def test_tiles_find_a_small_person_the_whole_photo_misses(detector, whole_photo_detector, astronaut):
    photo, pasted = _small_person_in_a_wide_photo(astronaut, 1500)
    found = detector.detect(photo)
    assert len(found) == 1 and _iou(found[0].box, pasted) > 0.5
    # letterboxed whole, the 120-px person is ~17 px tall: the network does not see it
    assert whole_photo_detector.detect(photo) == []


@pytest.mark.parametrize("x", [250, 550, 2050])
def test_a_person_cut_by_a_tile_edge_comes_back_whole(detector, astronaut, x):
    """A tile's box cut by its inner edge is dropped, so the whole box of the neighbouring tile wins
    (at score 0.3: at the default 0.2 a sliver of the arm may come back beside the whole box)."""
    photo, pasted = _small_person_in_a_wide_photo(astronaut, x)   # e.g. tile (0, 0, 400, 400) cuts it at x 400
    found = [d for d in detector.detect(photo) if _iou(d.box, pasted) > 0.1 and d.score > 0.3]
    assert len(found) == 1 and _iou(found[0].box, pasted) > 0.8


def test_a_pose_per_detector_box_sits_in_its_box(detector, two_person_photo):
    """poses_in_boxes runs the single-person pose landmarker on each box's crop: one pose per box, its
    nose inside that box, its mask in photo coordinates and mostly inside the box."""
    from humanparse.persons import pose as L
    from humanparse.persons.pose_finder import poses_in_boxes

    boxes = [d.box for d in detector.detect(two_person_photo)]
    pd = L.Detector(num_poses=2)
    try:
        poses = poses_in_boxes(pd, two_person_photo, boxes)
    finally:
        pd.close()
    assert len(poses) == len(boxes) == 2
    for (x1, y1, x2, y2), p in zip(boxes, poses):
        assert p is not None and p.mask.shape == two_person_photo.shape[:2]
        nx, ny = p.landmarks[L.NOSE, :2]
        assert x1 <= nx <= x2 and y1 <= ny <= y2
        m = p.mask > 0.5
        inside = m[int(y1):int(y2) + 1, int(x1):int(x2) + 1].sum()
        assert inside > 0.8 * m.sum() > 0


class _NeedsContext:
    """A stand-in pose landmarker that finds the marked pixels (red channel 255) as one person only in a
    crop at least ``min_side`` pixels on its short side (as MediaPipe's detector finds some people only
    with the scene around them)."""

    def __init__(self, min_side: int) -> None:
        self.min_side, self.calls = min_side, []

    def poses(self, crop: np.ndarray):
        from humanparse.persons.pose import PosePerson

        self.calls.append(crop.shape[:2])
        mark = crop[..., 0] == 255
        if min(crop.shape[:2]) < self.min_side or not mark.any():
            return []
        ys, xs = np.nonzero(mark)
        lm = np.zeros((33, 4), np.float32)
        lm[:, 0], lm[:, 1], lm[:, 2:] = xs.mean(), ys.mean(), 1.0
        return [PosePerson(lm, mark.astype(np.float32), 1.0)]


def _marked_photo(*rects) -> np.ndarray:
    photo = np.zeros((600, 600, 3), np.uint8)
    for x1, y1, x2, y2 in rects:
        photo[y1:y2, x1:x2, 0] = 255
    return photo


def test_a_box_the_landmarker_misses_is_tried_again_with_more_context():
    """poses_in_boxes: nobody in the 1.3x crop -> the wider crops are tried; the pose comes back in photo
    pixels, its mask on the person; with no retries the box stays without a pose."""
    from humanparse.persons.pose_finder import BOX_CONTEXT, poses_in_boxes

    photo = _marked_photo((250, 250, 350, 350))
    fake = _NeedsContext(min_side=250)                       # 1.3x = 130 px, 2x = 200, 3x = 300
    (pose,) = poses_in_boxes(fake, photo, [(250.0, 250.0, 350.0, 350.0)], retry_contexts=(2.0, 3.0))
    assert [min(s) for s in fake.calls] == [130, 200, 300]
    assert pose is not None and pose.mask.shape == photo.shape[:2]
    assert np.array_equal(pose.mask > 0.5, photo[..., 0] == 255)
    assert np.allclose(pose.landmarks[0, :2], (299.5, 299.5))
    fake = _NeedsContext(min_side=250)
    assert poses_in_boxes(fake, photo, [(250.0, 250.0, 350.0, 350.0)], retry_contexts=()) == [None]
    assert len(fake.calls) == 1 and BOX_CONTEXT == 1.3


def test_a_neighbour_found_in_the_wider_crop_is_not_taken():
    """The wide retry crop holds only someone beside the box (the box itself is empty): no pose."""
    from humanparse.persons.pose_finder import poses_in_boxes

    photo = _marked_photo((420, 250, 520, 350))              # a person right of the (empty) box
    fake = _NeedsContext(min_side=250)
    assert poses_in_boxes(fake, photo, [(250.0, 250.0, 350.0, 350.0)], retry_contexts=(3.0,)) == [None]
    assert len(fake.calls) == 2                              # it was found, then refused as outside the box


def test_mediapipe_backend_parses_the_astronaut_its_crop_pose_missed():
    """apollo11_crew.jpg: YOLOX finds three astronauts; the pose landmarker finds the middle one only with
    more than 1.3x his box around him. The mediapipe backend (YOLOX persons) must return all three."""
    from humanparse.backends import get_backend
    from humanparse.io.image import load_image
    from humanparse.paths import shared_data_dir

    root = shared_data_dir()
    path = root / "unlabeled_photos" / "images" / "apollo11_crew.jpg" if root else None
    if path is None or not path.is_file():
        pytest.skip("../shared/data/unlabeled_photos/images/apollo11_crew.jpg not found (the shared data sits beside the repo)")
    b = get_backend("mediapipe")
    try:
        p = b.predict(load_image(path))
    finally:
        b.close()
    assert len(p) == 3
    middle = [q for q in p.persons if 150 < (q.bbox[0] + q.bbox[2]) / 2 < 450 and q.bbox[1] < 120]
    assert len(middle) == 1 and middle[0].area > 20000
