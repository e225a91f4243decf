"""Large photos (issue 22, item 2): per-person-box RLE, uint8 colour maps and overlays, and memory guards.

The 24 MP figures themselves are in ``bench/bench_large.py``; these tests stay small and fast.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from humanparse.io import rle
from humanparse.labels import get_label_set
from humanparse.parsing import Parsing


def _reference_rles(p: Parsing) -> list[tuple[dict, dict]]:
    """What ``to_json`` wrote before: pycocotools' encode of full-frame masks, per person and part."""
    def enc(m):
        r = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
        return {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")}
    out = []
    for q in p.persons:
        inst = p.instances == q.id
        out.append((enc(inst), {n: enc(inst & (p.labels == p.label_set.index(n))) for n in q.part_areas}))
    return out


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (5, 4), (40, 30), (31, 64)])
def test_box_rle_equals_pycocotools_on_random_maps(shape):
    # Random maps: persons everywhere, touching every border, full-height columns (runs that continue
    # from one column into the next), one-pixel persons and parts.
    rng = np.random.default_rng(sum(shape))
    for trial in range(25):
        labels = rng.integers(0, 5, shape) * (rng.random(shape) < 0.7)
        inst = rng.integers(0, 4, shape)
        if trial % 5 == 0:                  # blobs instead of noise: long runs
            inst = np.zeros(shape, int)
            inst[: max(1, shape[0] // 2)] = 1
            inst[:, -1] = 2
            labels = np.where(inst > 0, 1 + (np.arange(shape[1]) % 3)[None, :], 0)
        p = Parsing.from_maps(labels, inst, "cihp")
        got = [(d["mask"], d["masks"]) for d in p.to_json()["persons"]]
        assert got == _reference_rles(p), (shape, trial)


def test_box_rle_round_trips_and_handles_a_bbox_that_misses_pixels():
    rng = np.random.default_rng(3)
    labels = rng.integers(1, 4, (50, 60))
    inst = np.zeros((50, 60), int)
    inst[10:40, 0:20] = 1
    inst[0:50, 30:60] = 2                  # touches the top, bottom and right borders
    p = Parsing.from_maps(labels * (inst > 0), inst, "cihp")
    back = Parsing.from_json(p.to_json())
    np.testing.assert_array_equal(back.labels, p.labels)
    np.testing.assert_array_equal(back.instances, p.instances)
    # a hand-made person whose bbox is too small still gets its full mask (whole-frame fallback)
    from dataclasses import replace
    p.persons[0] = replace(p.persons[0], bbox=(0, 10, 5, 20))
    assert [(d["mask"], d["masks"]) for d in p.to_json()["persons"]] == _reference_rles(p)


def test_from_runs_edge_cases():
    h, w = 4, 3
    full = np.ones((h, w), bool)
    assert rle.from_runs(np.array([0]), np.array([12]), h, w) == rle.encode(full)
    assert rle.from_runs(np.array([], np.int64), np.array([], np.int64), h, w) == rle.encode(~full)
    # touching runs (end of one column = start of the next) are merged into one maximal run
    assert rle.from_runs(np.array([0, 4]), np.array([4, 8]), h, w) == rle.encode(np.arange(12).reshape(w, h).T < 8)


def _old_overlay(image, labels, label_set, opacity):
    """The float blending of the previous release."""
    pal = get_label_set(label_set).palette
    lut = np.full((256, 3), 255, np.uint8)
    lut[: len(pal)] = pal
    color = lut[labels].astype(np.float32)
    out = image.astype(np.float32)
    blended = out * (1.0 - opacity) + color * opacity
    return np.where((labels > 0)[..., None], blended, out).round().astype(np.uint8)


@pytest.mark.parametrize("opacity", [0.0, 0.3, 0.5, 1.0])
def test_overlay_and_colorize_match_the_float_versions(opacity):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
    labels = np.zeros((61, 83), np.uint8)
    labels[10:50, 20:70] = rng.integers(0, 21, (40, 50))
    p = Parsing.from_maps(labels, (labels > 0).astype(np.uint16), "cihp-bag")
    ls = get_label_set("cihp-bag")
    lut = np.full((256, 3), 255, np.uint8)
    lut[: len(ls.palette)] = ls.palette
    np.testing.assert_array_equal(p.colorize(), lut[labels])
    got = p.overlay(image, opacity).astype(int)
    old = _old_overlay(image, labels, "cihp-bag", opacity).astype(int)
    assert np.abs(got - old).max() <= 1
    np.testing.assert_array_equal(got[labels == 0], image[labels == 0])       # background: the photo, exactly
    empty = Parsing.empty(61, 83, "cihp")
    np.testing.assert_array_equal(empty.overlay(image, opacity), image)


def _big_parsing(h=2000, w=3000, n=4) -> tuple[Parsing, np.ndarray]:
    """A 6 MP parsing with ``n`` persons standing side by side, each ~half the frame tall."""
    labels = np.zeros((h, w), np.uint8)
    inst = np.zeros((h, w), np.uint16)
    for k in range(n):
        x1, x2 = 100 + k * (w // n), (k + 1) * (w // n) - 100
        inst[h // 3:, x1:x2] = k + 1
        band = np.arange(h - h // 3)[:, None] * 12 // (h - h // 3) + 1       # 12 horizontal part bands
        labels[h // 3:, x1:x2] = np.broadcast_to(band, (h - h // 3, x2 - x1))
    image = np.full((h, w, 3), 128, np.uint8)
    return Parsing.from_maps(labels, inst, "cihp"), image


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_rendering_and_json_memory_stay_near_the_output_size():
    # 6 MP (18 MB RGB). Before: overlay ~300 MB of float32 copies, colorize a 48 MB intp index,
    # to_json ~30 MB of full-frame masks per part.
    p, image = _big_parsing()
    assert _peak_mb(lambda: p.colorize()) < 2.2 * 18
    assert _peak_mb(lambda: p.overlay(image)) < 1.5 * 18
    assert _peak_mb(lambda: p.to_json()) < 12


@pytest.mark.parametrize("small,big", [((30, 20), (30, 20)), ((30, 20), (97, 61)), ((17, 40), (400, 1001)),
                                       ((64, 48), (50, 100)), ((5, 7), (600, 400))])
def test_from_work_maps_equals_from_maps_of_the_upscaled_maps(small, big):
    import cv2

    rng = np.random.default_rng(small[0] * big[1])
    labels = rng.integers(0, 20, small).astype(np.uint8)
    inst = (rng.integers(0, 4, small) * (labels > 0)).astype(np.uint16)
    inst[0, 0], inst[-1, -1], labels[0, 0], labels[-1, -1] = 3, 2, 5, 6      # persons on the corners
    H, W = big
    want = Parsing.from_maps(cv2.resize(labels, (W, H), interpolation=cv2.INTER_NEAREST),
                             cv2.resize(inst, (W, H), interpolation=cv2.INTER_NEAREST), "cihp", [0.5, 0.6, 0.7])
    got = Parsing.from_work_maps(labels, inst, (H, W), "cihp", [0.5, 0.6, 0.7])
    assert got.persons == want.persons
    np.testing.assert_array_equal(got.labels, want.labels)
    np.testing.assert_array_equal(got.instances, want.instances)
    assert got.labels.dtype == np.uint8 and got.instances.dtype == np.uint16


def test_lite_predict_keeps_no_full_size_temporaries(monkeypatch):
    # The backend's post-processing on a 2000x3000 photo: before, the maps were upscaled first and
    # from_maps and the left-to-right ordering made intp index / coordinate arrays of the full size
    # (several per pixel: > 200 MB here, > 1 GB at 24 MP).
    from humanparse.backends import base

    small_l = np.zeros((683, 1024), np.uint8)
    small_i = np.zeros((683, 1024), np.uint16)
    for k in range(4):
        small_i[200:, 50 + 250 * k:200 + 250 * k] = k + 1
        small_l[200:, 50 + 250 * k:200 + 250 * k] = 1 + k
    peak = _peak_mb(lambda: base.parsing_left_to_right(small_l, small_i, [0.9] * 4, "cihp", size=(2000, 3000)))
    assert peak < 60            # the two full-size maps (6 + 12 MB) and small-map temporaries (~25 MB)


def test_save_writes_the_same_pixels_as_the_arrays(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)
    labels = np.zeros((45, 70), np.uint8)
    inst = np.zeros((45, 70), np.uint16)
    labels[5:40, 10:30], inst[5:40, 10:30] = rng.integers(1, 20, (35, 20)), 1
    labels[5:40, 40:65], inst[5:40, 40:65] = 3, 300         # id renumbered to 2
    p = Parsing.from_maps(labels, inst, "cihp")
    out = p.save(tmp_path, "labels,instances,color,overlay,cutout,json", stem="x", image=image)
    read = {f: np.asarray(Image.open(out[f])) for f in out if f != "json"}
    np.testing.assert_array_equal(read["labels"], p.labels)
    np.testing.assert_array_equal(read["instances"], p.instances)
    np.testing.assert_array_equal(read["color"], p.colorize())
    np.testing.assert_array_equal(read["overlay"], p.overlay(image))
    np.testing.assert_array_equal(read["cutout"], p.cutout(image))
    assert Image.open(out["cutout"]).mode == "RGBA" and Image.open(out["color"]).mode == "RGB"
    from humanparse.io.image import save_png
    with pytest.raises(ValueError, match="cannot write a PNG"):
        save_png(tmp_path / "bad.png", np.zeros((4, 4), np.float32))


def test_large_photo_alpha_is_solved_reduced_and_matches_the_direct_matte(monkeypatch):
    # LARGE_PIXELS lowered so a 600x900 photo takes the large-photo path (solved at 0.15 MP, upsampled
    # guided by the photo): same shape and dtype, exact 1 / 0 deep inside / far outside, close to the direct matte.
    import cv2
    from humanparse.compose import large
    from humanparse.compose.select import selection_alpha

    h, w = 600, 900
    yy, xx = np.mgrid[:h, :w]
    person = ((xx - 450) / 160.0) ** 2 + ((yy - 330) / 230.0) ** 2 < 1
    image = np.where(person[..., None], np.uint8([200, 120, 90]), np.uint8([40, 90, 160]))
    image = cv2.GaussianBlur(image, (0, 0), 2.0)
    labels = np.where(person, 5, 0).astype(np.uint8)
    labels[person & (yy < 200)] = 2                                   # hair on top
    p = Parsing.from_maps(labels, person.astype(np.uint16), "cihp")
    direct = selection_alpha(image, p, method="fast")
    monkeypatch.setattr(large, "LARGE_PIXELS", 100_000)
    monkeypatch.setattr(large, "WORK_PIXELS", 150_000)
    got = selection_alpha(image, p, method="fast")
    assert got.shape == (h, w) and got.dtype == np.float32
    assert got.min() >= 0.0 and got.max() <= 1.0
    inside = cv2.erode(person.astype(np.uint8), np.ones((61, 61), np.uint8)) > 0
    outside = cv2.dilate(person.astype(np.uint8), np.ones((81, 81), np.uint8)) == 0
    assert (got[inside] == 1.0).all() and (got[outside] == 0.0).all()
    assert np.abs(got - direct).mean() < 0.01
    assert np.abs((got > 0.5).astype(int) - (direct > 0.5)).sum() < 0.02 * person.sum()
    with pytest.raises(KeyError):
        selection_alpha(image, p, keep="no-such-part", method="fast")


def test_guided_coefficients_in_strips_equal_the_whole_image():
    from humanparse.compose.large import _coefficients
    from humanparse.compose.matting import guided_coefficients

    rng = np.random.default_rng(5)
    small = rng.integers(0, 256, (301, 97, 3), dtype=np.uint8)
    alpha = rng.random((301, 97)).astype(np.float32)
    A, b = _coefficients(small, alpha, rows=40)
    A0, b0 = guided_coefficients(small.astype(np.float32) / 255.0, alpha, 2, 1e-4)
    np.testing.assert_allclose(A, A0, atol=1e-6)
    np.testing.assert_allclose(b, b0, atol=1e-6)
