import json

import numpy as np
import pytest
from PIL import Image

from humanparse.io import rle
from humanparse.parsing import Parsing


def two_people() -> Parsing:
    labels = np.zeros((40, 60), np.uint8)
    inst = np.zeros((40, 60), np.uint16)
    labels[5:15, 5:20] = 13   # face of person A
    labels[15:35, 5:20] = 5   # upper-clothes of A
    inst[5:35, 5:20] = 7      # id 7 on purpose: renumbered to 1
    labels[10:30, 40:55] = 2  # hair of B
    labels[30:38, 40:55] = 18  # left-shoe of B
    inst[10:38, 40:55] = 9
    return Parsing.from_maps(labels, inst, "cihp", {7: 0.8, 9: 0.6})


def test_from_maps_renumbers_ids_and_computes_persons():
    p = two_people()
    assert len(p) == 2 and sorted(np.unique(p.instances).tolist()) == [0, 1, 2]
    a, b = p.persons
    assert a.bbox == (5, 5, 20, 35) and a.area == 30 * 15 and a.score == pytest.approx(0.8)
    assert a.part_areas == {"upper-clothes": 20 * 15, "face": 10 * 15}
    assert b.bbox == (40, 10, 55, 38) and b.part_areas == {"hair": 300, "left-shoe": 120}


def test_from_maps_rejects_bad_shapes_and_classes():
    with pytest.raises(ValueError, match="must be equal"):
        Parsing.from_maps(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="class id 20"):
        Parsing.from_maps(np.full((2, 2), 20), np.ones((2, 2)))


def test_empty_parsing_has_no_persons_and_serialises():
    p = Parsing.empty(10, 12)
    assert len(p) == 0 and p.labels.shape == (10, 12) and not p.mask().any()
    assert p.to_json()["num_persons"] == 0


def test_mask_by_parts_and_person():
    p = two_people()
    assert p.mask("face").sum() == 150
    assert p.mask("shoes").sum() == 120  # coarse name
    assert p.mask(None, person=2).sum() == 28 * 15
    assert p.mask("face", person=2).sum() == 0
    with pytest.raises(KeyError):
        p.mask(None, person=3)


def test_colorize_overlay_cutout():
    p = two_people()
    rgb = np.full((40, 60, 3), 100, np.uint8)
    color = p.colorize()
    assert tuple(color[10, 10]) == tuple(p.label_set.palette[13]) and tuple(color[0, 0]) == (0, 0, 0)
    ov = p.overlay(rgb, opacity=0.5)
    assert tuple(ov[0, 0]) == (100, 100, 100)  # background keeps the photo
    expect = np.round(0.5 * 100 + 0.5 * p.label_set.palette[13].astype(float)).astype(np.uint8)
    assert tuple(ov[10, 10]) == tuple(expect)
    cut = p.cutout(rgb, parts="hair")
    assert cut.shape == (40, 60, 4) and cut[15, 45, 3] == 255 and cut[10, 10, 3] == 0
    with pytest.raises(ValueError):
        p.overlay(rgb, opacity=2)
    with pytest.raises(ValueError):
        p.cutout(rgb[:10])


def test_json_round_trip_with_rle_masks():
    p = two_people()
    data = json.loads(json.dumps(p.to_json()))
    assert data["persons"][0]["masks"]["face"]["size"] == [40, 60]
    face = rle.decode(data["persons"][0]["masks"]["face"])
    assert face.sum() == 150 and face[5:15, 5:20].all()
    q = Parsing.from_json(data)
    assert np.array_equal(q.labels, p.labels) and np.array_equal(q.instances, p.instances)


def test_save_writes_each_format(tmp_path):
    p = two_people()
    rgb = np.zeros((40, 60, 3), np.uint8)
    out = p.save(tmp_path, "labels,instances,color,overlay,cutout,json", stem="x", image=rgb)
    assert np.array_equal(np.asarray(Image.open(out["labels"])), p.labels)
    assert np.array_equal(np.asarray(Image.open(out["instances"])), p.instances)
    assert Image.open(out["cutout"]).mode == "RGBA"
    assert json.loads(out["json"].read_text())["num_persons"] == 2
    with pytest.raises(ValueError, match="unknown format"):
        p.save(tmp_path, "gif")
    with pytest.raises(ValueError, match="need the image"):
        p.save(tmp_path, "overlay")


def test_to_label_set_maps_classes_and_drops_persons_left_without_pixels():
    labels = np.zeros((20, 30), np.uint8)
    inst = np.zeros((20, 30), np.uint16)
    labels[2:10, 2:10], inst[2:10, 2:10] = 5, 1        # person 1: upper-clothes ...
    labels[10:14, 2:10], inst[10:14, 2:10] = 20, 1     # ... and a bag
    labels[2:12, 20:28], inst[2:12, 20:28] = 20, 2     # person 2: only a bag
    labels[15:18, 20:28], inst[15:18, 20:28] = 9, 3    # person 3: pants
    p = Parsing.from_maps(labels, inst, "cihp-bag", [0.9, 0.5, 0.7])

    q = p.to_label_set("cihp")                          # CIHP-20 has no bag: bags become background
    assert q.label_set.name == "cihp" and int(q.labels.max()) < 20
    assert not q.labels[10:14, 2:10].any() and not q.instances[10:14, 2:10].any()
    assert len(q) == 2 and [x.score for x in q.persons] == [0.9, 0.7]
    assert q.person(1).part_areas == {"upper-clothes": 64} and q.person(2).part_areas == {"pants": 24}

    c = p.to_label_set("coarse")                        # coarse keeps bags, as accessories
    assert len(c) == 3 and c.person(1).part_areas == {"upper-clothes": 64, "accessories": 32}
    assert p.to_label_set("cihp-bag") is p
    with pytest.raises(KeyError):
        p.to_label_set("no-such-set")
    with pytest.raises(ValueError, match="mapping"):
        p.to_label_set("fashn")


def test_instance_ids_and_left_to_right_order_match_a_plain_reference():
    """The histogram shortcut of instance_ids and the column table of parsing_left_to_right give what
    np.unique and a per-person column scan give, on random maps with gaps in the ids."""
    from humanparse.backends.base import parsing_left_to_right
    from humanparse.parsing import instance_ids

    rng = np.random.default_rng(0)
    for _ in range(100):
        h, w = rng.integers(1, 40, 2)
        inst = rng.integers(0, rng.integers(1, 9), (h, w)).astype(np.uint16)
        inst[rng.random((h, w)) < 0.5] = 0
        ids = [int(i) for i in np.unique(inst) if i]
        assert instance_ids(inst) == ids
        first_col = {i: int(np.nonzero((inst == i).any(0))[0].min()) for i in ids}
        order = sorted(ids, key=lambda i: (first_col[i], i))
        p = parsing_left_to_right((inst > 0).astype(np.uint8) * 5, inst, [i / 10 for i in range(1, 9)])
        assert len(p) == len(order)
        for new, old in enumerate(order, start=1):
            assert ((p.instances == new) == (inst == old)).all()
            assert p.persons[new - 1].score == pytest.approx(old / 10)
    assert instance_ids(np.array([[-1, 0, 3]])) == [-1, 3]                 # other maps: np.unique's answer
    assert instance_ids(np.array([[70000, 0]], np.int64)) == [70000]
    assert instance_ids(np.zeros((0, 4), np.uint16)) == [] == instance_ids(np.zeros((2, 2), np.uint16))


def test_head_point_is_the_top_of_the_persons_own_pixels_not_the_box_corner():
    from humanparse.parsing import head_point

    inst = np.zeros((200, 300), np.uint16)
    inst[40:60, 110:130] = 1          # head: top row 40, centre x 120
    inst[60:180, 100:140] = 1         # body
    inst[50:62, 20:100] = 1           # arm raised sideways: the box starts at x 20
    inst[10:190, 280:300] = 2         # another person, taller: must not pull the point
    p = Parsing.from_maps((inst > 0).astype(np.uint8) * 13, inst, "cihp")
    one = p.persons[0]
    assert one.bbox == (20, 40, 140, 180)
    assert head_point(p.instances, 1, one.bbox) == [120.0, 40.0]
    heads = [q["head"] for q in p.to_json(include_masks=False)["persons"]]
    assert heads == [[120.0, 40.0], [290.0, 10.0]]
    assert head_point(p.instances, 3, one.bbox) == [20.0, 40.0]   # no pixel of that id: the box corner
