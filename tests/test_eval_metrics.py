"""Evaluation metrics against hand-computed values (pure NumPy; no model, no shared data)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from humanparse.backends.base import Backend
from humanparse.eval import metrics
from humanparse.eval.compare import make_comparison, parse_merges, skin_class_ids
from humanparse.eval.confusion import ConfusionAccumulator, confusion_matrix
from humanparse.eval.datasets import DatasetError, check_classes_file, find_samples, read_label_map
from humanparse.eval.fairness import Unit, group_report, spearman
from humanparse.eval.instances import IOU_THRESHOLDS, average_precision, match_instances, voc_ap
from humanparse.eval.ita import ita_degrees, ita_group, person_ita, rgb_to_lab, skin_mask
from humanparse.eval.report import fairness_markdown, metrics_markdown, write_reports
from humanparse.eval.runner import evaluate
from humanparse.labels import get_label_set
from humanparse.parsing import Parsing

# ----------------------------------------------------------------------------- confusion + metrics
GT = np.array([[0, 0, 1], [1, 2, 255]])
PRED = np.array([[0, 1, 1], [2, 2, 0]])


def test_confusion_matrix_by_hand():
    m = confusion_matrix(GT, PRED, 3)
    # rows = gt 0,1,2; columns = pred 0,1,2 + "no counterpart"; the 255 GT pixel is ignored
    assert m.tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]]


def test_metrics_by_hand():
    m = confusion_matrix(GT, PRED, 3)
    assert metrics.pixel_accuracy(m) == pytest.approx(3 / 5)
    # IoU_c = tp / (row + col - tp): 1/(2+1-1), 1/(2+2-1), 1/(1+2-1)
    assert metrics.class_iou(m) == pytest.approx([1 / 2, 1 / 3, 1 / 2])
    assert metrics.mean_iou(m) == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert metrics.class_accuracy(m) == pytest.approx([1 / 2, 1 / 2, 1])
    assert metrics.mean_class_accuracy(m) == pytest.approx(2 / 3)
    # person = classes 1, 2: tp = 3 (gt person & pred person), fp = 1 (gt bg, pred 1), fn = 0
    assert metrics.person_iou(m) == pytest.approx(3 / 4)
    assert metrics.background_iou(m) == pytest.approx(1 / 2)
    # classes {1, 2} as one group: gt 3 px, pred 4 px, both 3 -> 3 / 4
    assert metrics.group_iou(m, [1, 2]) == pytest.approx(3 / 4)


def test_ignore_in_ground_truth_changes_nothing():
    m1 = confusion_matrix(GT, PRED, 3)
    gt2 = GT.copy()
    gt2[0, 0] = 255
    m2 = confusion_matrix(gt2, PRED, 3)
    assert m2.sum() == m1.sum() - 1
    assert metrics.class_iou(m2)[0] == pytest.approx(0 / (1 + 1 - 0))  # gt bg now 1 px, pred bg 1 px (ignored row)


def test_unmapped_prediction_counts_as_error():
    m = confusion_matrix(np.array([[1, 1, 0]]), np.array([[1, 255, 0]]), 2)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1]]
    assert metrics.class_iou(m)[1] == pytest.approx(1 / 2)
    assert metrics.pixel_accuracy(m) == pytest.approx(2 / 3)
    assert metrics.unmapped_fraction(m) == pytest.approx(1 / 3)
    assert metrics.person_iou(m) == pytest.approx(1.0)  # unmapped classes are person classes


def test_classes_absent_from_gt_are_excluded_from_miou():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 3, 1, 1]])  # class 3 predicted but never in GT; class 2 in neither
    m = confusion_matrix(gt, pred, 4)
    iou = metrics.class_iou(m)
    assert np.isnan(iou[2]) and np.isnan(iou[3])
    assert metrics.mean_iou(m) == pytest.approx((1 / 2 + 1) / 2)
    s = metrics.summarize(m, ["bg", "a", "b", "c"])
    assert s["classes_in_gt"] == 2 and s["per_class"][3]["iou"] is None and s["per_class"][3]["pred_pixels"] == 1


def test_accumulator_sums_images_and_batched_metrics():
    acc = ConfusionAccumulator(3)
    m1 = acc.update(GT, PRED)
    m2 = acc.update(np.array([[2, 2]]), np.array([[2, 1]]))
    assert acc.images == 2 and (acc.matrix == m1 + m2).all()
    stacked = np.stack([m1, m2])
    assert metrics.mean_iou(stacked) == pytest.approx([metrics.mean_iou(m1), metrics.mean_iou(m2)], nan_ok=True)


@pytest.mark.parametrize("gt,pred,k,match", [
    (np.zeros((2, 2)), np.zeros((2, 3)), 3, "shape"),
    (np.array([[0, 5]]), np.array([[0, 1]]), 3, "ground truth has value 5"),
    (np.array([[0, 1]]), np.array([[0, 7]]), 3, "prediction has value 7"),
    (np.array([[0, 1]]), np.array([[0, 1]]), 0, "num_classes"),
])
def test_confusion_bad_input(gt, pred, k, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(gt, pred, k)


def test_metrics_reject_wrong_shape():
    with pytest.raises(ValueError, match="K, K \\+ 1"):
        metrics.mean_iou(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="class ids"):
        metrics.group_iou(np.zeros((3, 4)), [5])


# ----------------------------------------------------------------------------- comparison sets
def test_ccp_vs_cihp_merges_face_into_skin():
    comp = make_comparison("ccp", "cihp")
    ls = comp.label_set
    assert "face" not in ls.classes and "skin" in ls.classes and comp.merges == (("face", "skin"),)
    ccp, cihp = get_label_set("ccp"), get_label_set("cihp")
    skin = ls.index("skin")
    assert comp.gt(np.array([[ccp.index("skin")]]))[0, 0] == skin
    assert comp.pred(np.array([[cihp.index("face"), cihp.index("left-arm")]])).tolist() == [[skin, skin]]
    assert comp.gt(np.array([[ccp.index("jeans")]]))[0, 0] == ls.index("lower-clothes")


def test_same_set_is_compared_directly_and_no_merge():
    comp = make_comparison("cihp", "cihp")
    assert comp.label_set.name == "cihp" and not comp.merges
    assert comp.pred(np.arange(20)[None]).tolist() == [list(range(20))]
    # cihp vs coarse: both sides have a face class -> no automatic merge
    assert not make_comparison("cihp", "lip").merges


def test_a_prediction_set_that_extends_the_ground_truth_is_compared_in_it():
    from humanparse.eval.compare import extends

    comp = make_comparison("cihp", "cihp-bag")
    assert comp.label_set.name == "cihp" and not comp.merges
    assert comp.pred(np.arange(21)[None]).tolist() == [list(range(20)) + [0]]   # bag -> background
    assert extends(get_label_set("cihp-bag"), get_label_set("cihp"))
    assert not extends(get_label_set("cihp"), get_label_set("cihp-bag"))
    assert not extends(get_label_set("lip"), get_label_set("cihp"))              # same size, other classes
    assert make_comparison("ccp", "cihp-bag").label_set.name.startswith("coarse")


def test_unmappable_prediction_becomes_255_and_explicit_merges():
    comp = make_comparison("cihp", "mediapipe", "coarse", "none")
    mp = get_label_set("mediapipe")
    assert comp.pred(np.array([[mp.index("clothes")]]))[0, 0] == 255
    comp2 = make_comparison("cihp", "cihp", "coarse", "face=skin,accessories=background")
    assert comp2.label_set.classes[0] == "background" and "accessories" not in comp2.label_set.classes
    with pytest.raises(KeyError, match="valid names"):
        make_comparison("cihp", "cihp", "coarse", "nose=skin")
    with pytest.raises(ValueError, match="SOURCE=DESTINATION"):
        parse_merges("face")
    with pytest.raises(ValueError, match="no mapping"):
        make_comparison("ccp", "cihp", "fashn")


def test_skin_class_ids():
    cihp = get_label_set("cihp")
    assert [cihp.classes[i] for i in skin_class_ids(cihp)] == [
        "torso-skin", "face", "left-arm", "right-arm", "left-leg", "right-leg"]
    assert skin_class_ids(get_label_set("ccp")) == [get_label_set("ccp").index("skin")]
    merged = make_comparison("ccp", "cihp").label_set
    assert [merged.classes[i] for i in skin_class_ids(merged)] == ["skin"]


# ----------------------------------------------------------------------------- APr
def _inst(shape, *boxes):
    m = np.zeros(shape, np.uint16)
    for k, (y0, y1, x0, x1) in enumerate(boxes, 1):
        m[y0:y1, x0:x1] = k
    return m


def test_voc_ap_by_hand():
    # TP, FP, TP with 2 GT: recall .5 .5 1, precision 1 .5 2/3 -> .5 * 1 + .5 * 2/3
    assert voc_ap([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(0.5 + 1 / 3)
    assert voc_ap([], []) == 0.0


def test_apr_perfect_and_missed():
    gt = _inst((10, 20), (0, 10, 0, 5), (0, 10, 10, 15))
    perfect = average_precision([match_instances(gt, gt)])
    assert perfect["apr_50"] == 1.0 and perfect["apr_vol"] == 1.0
    one = _inst((10, 20), (0, 10, 0, 5))
    missed = average_precision([match_instances(gt, one)])
    assert missed["apr_50"] == pytest.approx(0.5)  # recall stops at 1/2, precision 1


def test_apr_duplicate_is_false_positive():
    gt = _inst((10, 20), (0, 10, 0, 5), (0, 10, 10, 15))
    # three predicted persons: A (0.9), a copy of A (0.8), B (0.7); the copy must be a false positive
    pred_a = _inst((10, 20), (0, 10, 0, 5))
    pred_b = _inst((10, 20), (0, 10, 10, 15))
    rec = match_instances(gt, pred_a, [0.9])
    dup = match_instances(gt, pred_a, [0.8])
    rec_b = match_instances(gt, pred_b, [0.7])
    # glue the three predictions into one image record
    rec.pred_classes = np.concatenate([rec.pred_classes, dup.pred_classes, rec_b.pred_classes])
    rec.pred_scores = np.concatenate([rec.pred_scores, dup.pred_scores, rec_b.pred_scores])
    rec.ious = np.concatenate([rec.ious, dup.ious, rec_b.ious])
    ap = average_precision([rec])
    assert ap["apr_50"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert ap["per_class"][0]["pred"] == 3 and ap["per_class"][0]["gt"] == 2


def test_apr_false_positive_ranked_first_and_score_order():
    gt = _inst((10, 20), (0, 10, 0, 5))
    pred = _inst((10, 20), (0, 10, 0, 5), (0, 10, 10, 20))  # id 1 = right, id 2 = junk
    hi_junk = average_precision([match_instances(gt, pred, {1: 0.5, 2: 0.9})])
    assert hi_junk["apr_50"] == pytest.approx(0.5)  # FP then TP: precision at recall 1 is 1/2
    hi_right = average_precision([match_instances(gt, pred, {1: 0.9, 2: 0.5})])
    assert hi_right["apr_50"] == pytest.approx(1.0)


def test_apr_thresholds_and_vol():
    gt = np.zeros((1, 10), np.uint16)
    gt[0, :] = 1
    pred = np.zeros_like(gt)
    pred[0, :6] = 1  # IoU = 6 / 10 = 0.6: a hit for thresholds 0.1..0.5, a miss for 0.6 (strict >) .. 0.9
    ap = average_precision([match_instances(gt, pred)])
    assert ap["map"] == pytest.approx([1, 1, 1, 1, 1, 0, 0, 0, 0])
    assert ap["apr_50"] == 1.0 and ap["apr_vol"] == pytest.approx(5 / 9)
    assert ap["thresholds"] == list(IOU_THRESHOLDS)


def test_part_level_apr_and_ignore():
    gi = np.array([[1, 1, 2, 2]], np.uint16)
    gl = np.array([[1, 2, 1, 2]])
    pl = np.array([[1, 2, 2, 2]])  # person 2's class-1 pixel predicted as class 2
    rec = match_instances(gi, gi, None, gl, pl, 3)
    assert sorted(rec.gt_classes.tolist()) == [1, 1, 2, 2]
    ap = average_precision([rec], class_names=["bg", "a", "b"])
    # class 1: 2 GT, 1 prediction (perfect) -> AP 0.5; class 2: person-1 exact, person-2 IoU 1/2 (not > 0.5)
    assert [c["ap"][4] for c in ap["per_class"]] == pytest.approx([0.5, 0.5])
    valid = np.array([[True, True, False, True]])  # ignoring the disputed pixel makes everything right
    ap2 = average_precision([match_instances(gi, gi, None, gl, pl, 3, valid=valid)])
    assert ap2["apr_50"] == 1.0 and ap2["per_class"][0]["gt"] == 1


def test_apr_bad_input():
    with pytest.raises(ValueError, match="both"):
        match_instances(np.zeros((2, 2)), np.zeros((2, 2)), gt_labels=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="equal"):
        match_instances(np.zeros((2, 2)), np.zeros((2, 3)))
    assert average_precision([])["apr_50"] is None


# ----------------------------------------------------------------------------- ITA
def test_ita_known_values():
    assert ita_degrees(50, 10) == pytest.approx(0.0)
    assert ita_degrees(60, 10) == pytest.approx(45.0)
    assert ita_degrees(40, 10) == pytest.approx(-45.0)
    assert ita_degrees(50 + 10 * math.sqrt(3), 10) == pytest.approx(60.0)
    assert math.isnan(ita_degrees(70, 0)) and math.isnan(ita_degrees(70, -5))  # b* <= 0: not skin


@pytest.mark.parametrize("ita,group", [
    (80, "very-light"), (55.01, "very-light"), (55.0, "light"), (41.01, "light"), (41.0, "intermediate"),
    (28.01, "intermediate"), (28.0, "tan"), (10.01, "tan"), (10.0, "brown"), (-30.0, "brown"),
    (-30.01, "dark"), (-70, "dark"), (float("nan"), "unknown"), (None, "unknown"),
])
def test_ita_group_boundaries(ita, group):
    assert ita_group(ita) == group


def test_lab_conversion_and_person_ita():
    skimage_color = pytest.importorskip("skimage.color")
    colours = np.array([[[224, 172, 140], [141, 85, 36], [60, 40, 30], [255, 255, 255]]], np.uint8)
    assert np.abs(rgb_to_lab(colours) - skimage_color.rgb2lab(colours)).max() < 0.5
    img = np.zeros((20, 20, 3), np.uint8)
    img[:10] = colours[0, 1]  # a brown skin tone
    img[10:] = colours[0, 0]
    lab = skimage_color.rgb2lab(colours[0, 1])
    expected = math.degrees(math.atan((lab[0] - 50) / lab[2]))
    skin = np.zeros((20, 20), bool)
    skin[:10] = True
    ita, n = person_ita(img, skin, min_pixels=50)
    assert n == 200 and ita == pytest.approx(expected, abs=0.5)
    assert math.isnan(person_ita(img, skin, min_pixels=500)[0])
    with pytest.raises(ValueError, match="differ"):
        person_ita(img, skin[:5])


def test_skin_mask_upper_part_without_face_class():
    labels = np.zeros((40, 10), np.uint8)
    labels[0:40, 2:8] = 5       # person: clothes
    labels[0:4, 3:7] = 41       # head skin (16 px, top 25% = rows 0..9)
    labels[30:40, 3:7] = 41     # leg skin (40 px)
    m = skin_mask(labels, [41], face_ids=(), min_pixels=10)
    assert m[:4].sum() == 16 and m[30:].sum() == 0
    assert skin_mask(labels, [41], face_ids=(), min_pixels=100).sum() == 56  # too few up top: all skin
    assert skin_mask(labels, [41], face_ids=[41]).sum() == 56  # with a face class: every skin pixel


# ----------------------------------------------------------------------------- fairness bootstrap
def _units(rng, groups):
    out = []
    for g, n, err in groups:
        for i in range(n):
            m = np.zeros((3, 4), np.int64)
            wrong = int(rng.integers(0, err + 1))
            m[0, 0], m[1, 1], m[2, 2] = 100, 50 - wrong, 30
            m[1, 2] = wrong
            out.append(Unit(f"{g}{i}", 30.0, g, m))
    return out


def test_bootstrap_ci_contains_estimate_and_is_deterministic():
    units = _units(np.random.default_rng(1), [("light", 30, 4), ("tan", 20, 20), ("dark", 3, 10)])
    a = group_report(units, [1], n_boot=200, seed=7)
    b = group_report(units, [1], n_boot=200, seed=7)
    c = group_report(units, [1], n_boot=200, seed=8)
    assert a["groups"] == b["groups"] and a["gap"] == b["gap"]
    assert a["groups"] != c["groups"]
    by = {g["group"]: g for g in a["groups"]}
    for g in ("light", "tan"):
        lo, hi = by[g]["miou_ci"]
        assert by[g]["status"] == "ok" and lo <= by[g]["miou"] <= hi and lo < hi
    assert by["dark"]["status"] == "too few" and by["dark"]["n"] == 3 and by["dark"]["miou_ci"] == [None, None]
    assert by["dark"]["miou"] is not None  # shown, not hidden
    assert by["brown"]["n"] == 0 and by["brown"]["status"] == "none"
    assert a["worst_group"] == "tan"  # more errors; dark has too few persons to count
    gap = a["gap"]["skin_iou"]
    assert gap["best"] == "light" and gap["worst"] == "tan" and gap["ci"][0] <= gap["gap"] <= gap["ci"][1]
    pooled = np.sum([u.matrix for u in units if u.group == "tan"], axis=0)
    assert by["tan"]["miou"] == pytest.approx(metrics.mean_iou(pooled))
    md = fairness_markdown({**a, "comparison": {"description": "x"}, "skin_classes": ["skin"]})
    assert "| dark | 3 |" in md and "too few" in md


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 35, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (0, 1, 2) vs (0, 2, 1): 1 - 6 * 2 / (3 * 8) = 0.5; the NaN pair is dropped
    assert spearman([1, 2, 3, float("nan")], [5, 9, 7, 1]) == pytest.approx(0.5)
    assert math.isnan(spearman([1, 2], [3, 4]))


def test_bootstrap_bad_input():
    with pytest.raises(ValueError, match="no units"):
        group_report([], [1])
    with pytest.raises(ValueError, match="n_boot"):
        group_report(_units(np.random.default_rng(0), [("tan", 5, 1)]), [1], n_boot=1)


# ----------------------------------------------------------------------------- datasets
def _write_set(root, ids=("a", "b"), label_value=1, size=(6, 4)):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in ids:
        Image.fromarray(np.full(size + (3,), 128, np.uint8)).save(root / "images" / f"{i}.jpg")
        lab = np.zeros(size, np.uint8)
        lab[1:5, 1:3] = label_value
        Image.fromarray(lab, mode="L").save(root / "labels" / f"{i}.png")


def test_find_samples_pairing_errors(tmp_path):
    _write_set(tmp_path)
    assert [s.id for s in find_samples(tmp_path / "images", tmp_path / "labels")] == ["a", "b"]
    assert len(find_samples(tmp_path / "images", tmp_path / "labels", limit=1)) == 1
    (tmp_path / "labels" / "b.png").unlink()
    with pytest.raises(DatasetError, match="images without a label map.*b"):
        find_samples(tmp_path / "images", tmp_path / "labels")
    with pytest.raises(DatasetError, match="does not exist"):
        find_samples(tmp_path / "nope", tmp_path / "labels")


def test_label_map_checks(tmp_path):
    _write_set(tmp_path, label_value=30)
    with pytest.raises(DatasetError, match="not classes of 'cihp'"):
        read_label_map(tmp_path / "labels" / "a.png", "cihp")
    assert read_label_map(tmp_path / "labels" / "a.png", "ccp").max() == 30
    with pytest.raises(DatasetError, match="image is 5x6"):
        read_label_map(tmp_path / "labels" / "a.png", "ccp", size=(6, 5))
    (tmp_path / "classes.txt").write_text("background\nhat\n")
    with pytest.raises(DatasetError, match="does not match label set 'cihp'"):
        check_classes_file(tmp_path, "cihp")
    (tmp_path / "classes.txt").write_text("\n".join(["null"] + list(get_label_set("ccp").classes[1:])))
    check_classes_file(tmp_path, "ccp")


# ----------------------------------------------------------------------------- runner with a stand-in backend
class _OracleBackend(Backend):
    """Returns the ground truth it is given (CIHP), with every labelled pixel as person 1."""

    name = "oracle"
    label_set = "cihp"
    calls = 0

    def __init__(self, truth, **options):
        super().__init__(**options)
        self.truth = truth

    def predict(self, image):
        type(self).calls += 1
        lab = self.truth
        return Parsing.from_maps(lab, (lab > 0).astype(np.uint16), "cihp", [0.8])


def test_runner_cache_and_reports(tmp_path):
    _write_set(tmp_path / "set", label_value=13)  # CIHP face
    inst = tmp_path / "set" / "instances"
    inst.mkdir()
    truth = np.asarray(Image.open(tmp_path / "set" / "labels" / "a.png"))
    Image.fromarray((truth > 0).astype(np.uint8), mode="L").save(inst / "a.png")
    samples = find_samples(tmp_path / "set" / "images", tmp_path / "set" / "labels", inst)
    assert samples[0].instances is not None and samples[1].instances is None
    be = _OracleBackend(truth)
    _OracleBackend.calls = 0
    res = evaluate(samples, "cihp", be, fairness=True, cache_dir=tmp_path / "cache")
    assert res.images == 2 and not res.failures and _OracleBackend.calls == 2
    assert metrics.mean_iou(res.matrix) == 1.0 and len(res.human) == 1
    res2 = evaluate(samples, "cihp", be, fairness=True, cache_dir=tmp_path / "cache")
    assert _OracleBackend.calls == 2 and res2.cached == 2 and (res2.matrix == res.matrix).all()
    files = write_reports(res2, tmp_path / "out", {"name": "tiny"}, fairness=True, n_boot=50)
    m = json.loads(files["metrics.json"].read_text())
    assert m["miou"] == 1.0 and m["instances"]["human"]["apr_50"] == 1.0 and m["timing"]["predictions_from_cache"] == 2
    assert [w["id"] for w in m["worst_images"]] == ["a", "b"] and m["worst_images"][0]["persons_predicted"] == 1
    assert "| face | 100.0 |" in metrics_markdown(m)
    f = json.loads(files["fairness.json"].read_text())
    assert sum(g["n"] for g in f["groups"]) == 2  # one unit per image (a: person 1, b: whole image)
    assert files["iou.png"].stat().st_size > 1000 and files["confusion.png"].stat().st_size > 1000


class _BagBackend(Backend):
    """cihp-bag output: the ground truth's person (CIHP face) plus, beside it, a bag of the same size."""

    name = "bagger"
    label_set = "cihp-bag"

    def __init__(self, truth, **options):
        super().__init__(**options)
        self.truth = truth

    def predict(self, image):
        lab = self.truth.copy()
        lab[1:5, 3:5] = get_label_set("cihp-bag").index("bag")
        return Parsing.from_maps(lab, (lab > 0).astype(np.uint16), "cihp-bag", [0.9])


def test_runner_scores_persons_without_classes_that_map_to_background(tmp_path):
    """Compared in CIHP-20, the bag maps to background: person IoU and APr both judge the person
    without it (mask IoU 1 instead of 0.5, which fails the strict > 0.5 of APr@0.5)."""
    _write_set(tmp_path / "set", ids=("a",), label_value=13, size=(6, 6))
    inst = tmp_path / "set" / "instances"
    inst.mkdir()
    truth = np.asarray(Image.open(tmp_path / "set" / "labels" / "a.png"))
    Image.fromarray((truth > 0).astype(np.uint8), mode="L").save(inst / "a.png")
    samples = find_samples(tmp_path / "set" / "images", tmp_path / "set" / "labels", inst)
    res = evaluate(samples, "cihp", _BagBackend(truth))
    assert metrics.person_iou(res.matrix) == 1.0
    ap = average_precision(res.human)
    assert ap["apr_50"] == 1.0


def test_runner_reports_bad_images(tmp_path):
    _write_set(tmp_path / "set", label_value=2)
    (tmp_path / "set" / "images" / "b.jpg").write_bytes(b"not a jpeg")
    samples = find_samples(tmp_path / "set" / "images", tmp_path / "set" / "labels")
    truth = np.asarray(Image.open(tmp_path / "set" / "labels" / "a.png"))
    res = evaluate(samples, "cihp", _OracleBackend(truth))
    assert res.images == 1 and res.failures[0][0] == "b" and "not an image" in res.failures[0][1]


def test_cli_eval_bad_input(tmp_path):
    from typer.testing import CliRunner

    from humanparse.cli.main import app

    _write_set(tmp_path)
    r = CliRunner().invoke(app, ["eval", "--images", str(tmp_path / "nope"), "--labels", str(tmp_path / "labels"),
                                 "--label-set", "cihp", "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = CliRunner().invoke(app, ["eval", "--images", str(tmp_path / "images"), "--labels", str(tmp_path / "labels"),
                                 "--label-set", "nosuchset", "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "unknown label set" in r.output
