"""SegFormer backend, through the same code path users hit (``get_backend`` / ``humanparse parse``),
with tiny randomly initialised SegFormer checkpoints saved by ``save_pretrained`` (hubs are unreachable)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from humanparse import get_backend  # noqa: E402
from humanparse.backends.segformer.labels import cihp_translation, native_label_set  # noqa: E402
from humanparse.backends.segformer.postprocess import person_instances, to_cihp  # noqa: E402
from humanparse.errors import BackendUnavailableError, ImageError, WeightsNotFoundError  # noqa: E402
from humanparse.labels import get_label_set  # noqa: E402

ATR_NAMES = ["Background", "Hat", "Hair", "Sunglasses", "Upper-clothes", "Skirt", "Pants", "Dress", "Belt",
             "Left-shoe", "Right-shoe", "Face", "Left-leg", "Right-leg", "Left-arm", "Right-arm", "Bag", "Scarf"]
FASHN_NAMES = ["background", "face", "hair", "top", "dress", "skirt", "pants", "belt", "bag", "hat", "scarf",
               "glasses", "arms", "hands", "legs", "feet", "torso", "jewelry"]
CIHP = get_label_set("cihp")
C = CIHP.index


def _save_tiny(folder, names):
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    cfg = SegformerConfig(hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1],
                          decoder_hidden_size=16, num_labels=len(names),
                          id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})
    torch.manual_seed(0)
    SegformerForSemanticSegmentation(cfg).save_pretrained(folder)
    SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def atr_dir(tmp_path_factory):
    return _save_tiny(tmp_path_factory.mktemp("atr"), ATR_NAMES)


@pytest.fixture(scope="module")
def fashn_dir(tmp_path_factory):
    return _save_tiny(tmp_path_factory.mktemp("fashn"), FASHN_NAMES)


@pytest.fixture(scope="module")
def atr_backend(atr_dir):
    return get_backend("segformer", weights=str(atr_dir))


def _one_hot_logits(native_map: np.ndarray, k: int) -> torch.Tensor:
    """Logits (1, K, H, W) whose argmax is ``native_map`` (margin 10)."""
    onehot = np.eye(k, dtype=np.float32)[native_map] * 10.0
    return torch.from_numpy(onehot).permute(2, 0, 1)[None]


def _image(h=60, w=80):
    return (np.random.default_rng(1).random((h, w, 3)) * 255).astype(np.uint8)


def test_real_forward_pass_output_contract(atr_backend):
    img = _image(75, 110)
    p = atr_backend.predict(img)
    assert atr_backend.native.name == "atr" and p.label_set.name == "cihp"
    assert p.labels.shape == (75, 110) and p.labels.dtype == np.uint8
    assert p.instances.shape == (75, 110) and p.instances.dtype == np.uint16
    assert int(p.labels.max()) < len(CIHP)
    assert np.array_equal(p.labels > 0, p.instances > 0)
    assert [q.id for q in p.persons] == list(range(1, len(p) + 1))
    assert all(0.0 <= q.score <= 1.0 for q in p.persons)
    native, conf = atr_backend.predict_native(img)
    assert native.shape == (75, 110) and conf.dtype == np.float32 and 0 <= conf.min() <= conf.max() <= 1


def _two_person_atr_map():
    A = {n.lower(): i for i, n in enumerate(ATR_NAMES)}
    m = np.zeros((60, 80), np.uint8)
    m[5:15, 10:20] = A["face"]          # person on the left
    m[15:35, 8:22] = A["upper-clothes"]
    m[15:35, 5:8] = A["left-arm"]
    m[35:37, 8:22] = A["belt"]
    m[37:55, 8:22] = A["pants"]
    m[20:30, 22:26] = A["bag"]          # touching the left person; not part of a person in CIHP
    m[5:12, 55:70] = A["hair"]          # person on the right
    m[12:50, 52:72] = A["dress"]
    return m, A


def test_atr_logits_map_to_cihp_and_persons_left_to_right(atr_backend, monkeypatch):
    m, A = _two_person_atr_map()
    monkeypatch.setattr(atr_backend.runner, "logits", lambda image: _one_hot_logits(m, len(ATR_NAMES)))
    p = atr_backend.predict(_image())
    expect = {A["face"]: C("face"), A["upper-clothes"]: C("upper-clothes"), A["left-arm"]: C("left-arm"),
              A["belt"]: C("pants"), A["pants"]: C("pants"), A["bag"]: 0, A["hair"]: C("hair"),
              A["dress"]: C("dress"), 0: 0}
    for native_id, cihp_id in expect.items():
        assert (p.labels[m == native_id] == cihp_id).all(), ATR_NAMES[native_id]
    assert len(p) == 2
    left, right = p.persons
    assert left.bbox[0] < right.bbox[0]
    assert (p.instances[m == A["face"]] == 1).all() and (p.instances[m == A["dress"]] == 2).all()
    assert left.part_areas["pants"] == int(((m == A["pants"]) | (m == A["belt"])).sum())
    assert p.instances[m == A["bag"]].max() == 0
    assert all(q.score > 0.99 for q in p.persons)  # one-hot logits with margin 10: confident


def test_native_output_keeps_model_classes(atr_dir, monkeypatch):
    b = get_backend("segformer", weights=str(atr_dir), output_label_set="native")
    m, A = _two_person_atr_map()
    monkeypatch.setattr(b.runner, "logits", lambda image: _one_hot_logits(m, len(ATR_NAMES)))
    p = b.predict(_image())
    assert p.label_set.name == "atr" and b.label_set == "atr"
    assert np.array_equal(p.labels, m)  # the bag touches a person, so it stays in the native map
    assert len(p) == 2


def test_fashn_sides_and_unmapped_classes(fashn_dir, monkeypatch):
    b = get_backend("segformer", weights=str(fashn_dir))
    assert b.native.name == "fashn"
    F = {n: i for i, n in enumerate(FASHN_NAMES)}
    m = np.zeros((60, 80), np.uint8)
    m[2:10, 35:45] = F["face"]
    m[10:30, 30:50] = F["top"]
    m[18:20, 38:40] = F["jewelry"]      # inside the top
    m[10:30, 22:30] = F["arms"]         # image left of the axis: the person's right arm
    m[10:30, 50:58] = F["arms"]         # image right: the person's left arm
    m[30:32, 22:30] = F["hands"]
    m[30:50, 30:39] = F["legs"]
    m[30:50, 41:50] = F["legs"]
    m[50:55, 30:39] = F["feet"]
    m[50:55, 41:50] = F["feet"]
    monkeypatch.setattr(b.runner, "logits", lambda image: _one_hot_logits(m, len(FASHN_NAMES)))
    p = b.predict(_image())
    assert 255 not in p.labels and len(p) == 1
    assert (p.labels[10:30, 22:30] == C("right-arm")).all() and (p.labels[10:30, 50:58] == C("left-arm")).all()
    assert (p.labels[30:32, 22:30] == C("right-arm")).all()  # hands belong to the arm in CIHP
    assert (p.labels[30:50, 30:39] == C("right-leg")).all() and (p.labels[30:50, 41:50] == C("left-leg")).all()
    assert (p.labels[50:55, 30:39] == C("right-shoe")).all() and (p.labels[50:55, 41:50] == C("left-shoe")).all()
    assert (p.labels[18:20, 38:40] == C("upper-clothes")).all()  # jewelry takes its surroundings' class
    assert (p.labels[2:10, 35:45] == C("face")).all()


def test_unknown_label_set_maps_by_name():
    ls, lut = native_label_set({0: "Background", 1: "Top", 2: "Arms", 3: "Left_leg", 4: "Tattoo"})
    assert ls.name == "native" and ls.classes == ("background", "top", "arms", "left-leg", "tattoo")
    t = cihp_translation(ls)
    assert t.lut[1] == C("upper-clothes") and t.lut[3] == C("left-leg")
    assert t.lut[2] == 255 and t.side[2] > 0   # resolved by side
    assert t.lut[4] == 255 and t.side[4] == 0  # resolved by nearest class
    native = np.zeros((20, 20), np.uint8)
    native[5:15, 5:10], native[5:15, 10:15], native[8:10, 7:9] = 1, 3, 4
    labels, inst = to_cihp(native, t, max_persons=5)
    assert 255 not in labels and (labels[8:10, 7:9] == C("upper-clothes")).all()
    # an id2label that permutes a known set is recognised as that set
    ls2, lut2 = native_label_set({i: n for i, n in enumerate(reversed(ATR_NAMES))})
    assert ls2.name == "atr" and lut2[0] == len(ATR_NAMES) - 1


def test_persons_fragments_merge_and_max_persons_keeps_largest():
    person = np.zeros((100, 100), bool)
    person[10:60, 5:25] = True     # big, left
    person[10:40, 70:85] = True    # medium, right
    person[70:80, 40:50] = True    # small but a person (100 px > 0.2 % of 10 000)
    person[62:63, 10:13] = True    # 3-pixel fragment under the left person
    inst = person_instances(person, max_persons=10)
    assert inst.max() == 3
    assert inst[30, 10] == 1 and inst[75, 45] == 2 and inst[20, 75] == 3  # left to right by centroid
    assert inst[62, 11] == 1  # fragment joins the nearest person
    inst2 = person_instances(person, max_persons=2)
    assert inst2.max() == 2 and inst2[75, 45] == 0  # the smallest person is dropped
    assert inst2[30, 10] == 1 and inst2[20, 75] == 2


def test_bad_inputs_and_options(atr_backend, atr_dir, tmp_path, monkeypatch):
    with pytest.raises(ImageError, match=r"\(H, W, 3\) uint8"):
        atr_backend.predict(np.zeros((10, 10), np.uint8))
    with pytest.raises(ImageError):
        atr_backend.predict(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(ValueError, match="output_label_set"):
        get_backend("segformer", weights=str(atr_dir), output_label_set="lip")
    with pytest.raises(BackendUnavailableError, match="no option.* runtime"):
        get_backend("segformer", weights=str(atr_dir), runtime="onnx")
    with pytest.raises(BackendUnavailableError, match="belongs to backend 'm2fp'"):
        get_backend("segformer", model="m2fp-r101-cihp")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WeightsNotFoundError, match="config.json"):
        get_backend("segformer", weights=str(empty))
    monkeypatch.setenv("HUMANPARSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUMANPARSE_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError, match="humanparse models pull fashn-human-parser"):
        get_backend("segformer", model="fashn-human-parser")


def test_cli_parse_with_local_weights(atr_dir, tmp_path):
    from humanparse.cli.main import app

    img_path = tmp_path / "img.jpg"
    Image.fromarray(_image(48, 64)).save(img_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["parse", "--backend", "segformer", "--weights", str(atr_dir),
                                      str(img_path), "-o", str(out), "-f", "labels,json", "-q"])
    assert result.exit_code == 0, result.output
    labels = np.array(Image.open(out / "img_labels.png"))
    assert labels.shape == (48, 64) and labels.max() < len(CIHP)
    bad = CliRunner().invoke(app, ["parse", "--backend", "segformer", "--weights", str(tmp_path / "missing"),
                                   str(img_path), "-o", str(out)])
    assert bad.exit_code == 2 and "does not exist" in bad.output
