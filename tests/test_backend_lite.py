"""The offline default backend `lite`: shipped weights (checksum, size, card), ONNX vs PyTorch, parsing."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import humanparse
from humanparse.backends import DEFAULT_BACKEND
from humanparse.backends.lite import weights as W
from humanparse.backends.lite.crops import crop_matrix, warp_image
from humanparse.labels import get_label_set
from humanparse.models.integrity import ChecksumMismatchError, sha256_file

CIHP = get_label_set("cihp")
TORCH_WEIGHTS = W.WEIGHTS_DIR / "lite0-cihp-bag.pt"
"""The trained PyTorch state dict (float16) the ONNX file was exported from: in the source tree only."""


@pytest.fixture(scope="module")
def lite():
    b = humanparse.get_backend("lite")
    yield b
    b.close()


def test_lite_is_the_default_backend():
    assert DEFAULT_BACKEND == "lite"


def test_shipped_weights_match_their_pinned_checksum_and_card():
    path = W.shipped_weights()
    assert path.stat().st_size <= 12_000_000
    digest = sha256_file(path)
    assert digest == W.WEIGHTS_SHA256
    card = W.card()
    assert card["sha256"] == digest and card["bytes"] == path.stat().st_size
    assert card["licence"] == "Apache-2.0"
    assert "% 5 == 0" in card["split"] and card["command"].startswith("humanparse train")
    assert card["validation"]["miou"] > 0


def test_a_modified_weights_file_is_refused(tmp_path):
    copy = tmp_path / "lite0-cihp-bag.onnx"
    shutil.copy(W.shipped_weights(), copy)
    shutil.copy(W.shipped_weights().with_suffix(".json"), copy.with_suffix(".json"))
    assert W.verified_weights(copy) == copy
    with open(copy, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumMismatchError, match="does not match"):
        W.verified_weights(copy)
    with pytest.raises(humanparse.WeightsNotFoundError):
        W.verified_weights(tmp_path / "missing.onnx")


def test_the_label_set_follows_the_networks_output_channels(tmp_path, lite, two_person_photo):
    """The shipped network has a bag class (cihp-bag); a 20-channel network (as shipped before) gives
    plain CIHP; any other width is refused at load with a clear message."""
    torch = pytest.importorskip("torch", reason="needs PyTorch (pip install 'humanparse[train]')")
    pytest.importorskip("onnx", reason="needs onnx (pip install 'humanparse[train]')")
    from humanparse.nn.parsenet import ParseNet
    from humanparse.train.export import export_onnx

    assert lite.label_set == "cihp-bag" and W.card()["label_set"] == "cihp-bag"
    bag = get_label_set("cihp-bag")
    assert bag.classes[:20] == CIHP.classes and bag.classes[20] == "bag"
    for channels, want in ((20, "cihp"), (7, None)):
        torch.manual_seed(0)
        (tmp_path / f"{channels}.pt").unlink(missing_ok=True)
        torch.save(ParseNet(channels, mask_input=lite.input_channels == 4).state_dict(), tmp_path / f"{channels}.pt")
        path = export_onnx(tmp_path / f"{channels}.pt", tmp_path / f"net{channels}.onnx")
        if want is None:
            with pytest.raises(ValueError, match="7 output channels"):
                humanparse.get_backend("lite", weights=path)
            continue
        b = humanparse.get_backend("lite", weights=path)
        try:
            r = b.predict(two_person_photo)
        finally:
            b.close()
        assert b.label_set == want and r.label_set.name == want and int(r.labels.max()) < 20


def test_a_mask_input_network_is_fed_each_persons_pose_mask(tmp_path, two_person_photo):
    """A 4-input network (RGB + person mask) gets, per person crop, that person's pose mask warped like
    the crop (covering part of the crop, not all of it); other input widths are refused at load."""
    torch = pytest.importorskip("torch", reason="needs PyTorch (pip install 'humanparse[train]')")
    pytest.importorskip("onnx", reason="needs onnx (pip install 'humanparse[train]')")
    from humanparse.nn.parsenet import ParseNet
    from humanparse.train.export import export_onnx

    torch.manual_seed(0)
    net = ParseNet(21, mask_input=True)
    torch.nn.init.normal_(net.mask_stem.weight, std=0.1)
    torch.save(net.state_dict(), tmp_path / "m.pt")
    onnx = export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="persons='pose'"):      # YOLOX boxes come with no pose mask
        humanparse.get_backend("lite", weights=onnx)
    b = humanparse.get_backend("lite", weights=onnx, persons="pose")
    seen = []
    run = b.logits
    b.logits = lambda crops: (seen.append(crops.copy()), run(crops))[1]
    try:
        r = b.predict(two_person_photo)
    finally:
        b.close()
    assert b.input_channels == 4 and r.label_set.name == "cihp-bag"
    (crops,) = seen
    assert crops.shape[0] == 2 and crops.shape[-1] == 4
    for m in crops[..., 3]:
        on = (m > 127).mean()
        assert 0.05 < on < 0.9, on
        assert m[:, m.shape[1] // 2].mean() > m[:, :8].mean()  # the person is framed in the middle
    # any other input width is refused
    conv = torch.nn.Conv2d(5, 21, 4, 4)
    torch.onnx.export(conv, (torch.zeros(1, 5, 384, 256),), str(tmp_path / "five.onnx"), input_names=["image"],
                      output_names=["logits"], dynamo=False)
    with pytest.raises(ValueError, match="5 input channels"):
        humanparse.get_backend("lite", weights=tmp_path / "five.onnx")


def test_models_list_names_the_shipped_network_and_its_licence():
    from humanparse.models import cache_status, get_model

    e = get_model("lite0-cihp-bag")
    assert e.label_set == "cihp-bag" and e.backend == "lite" and e.licence == "Apache-2.0" and e.commercial_use is True
    status, folder = cache_status(e)
    assert status == "bundled" and (folder / e.files[0].name).is_file()


@pytest.mark.skipif(not TORCH_WEIGHTS.is_file(), reason="the PyTorch state dict is only in the source tree")
def test_onnx_agrees_with_pytorch_on_a_real_photo(two_person_photo):
    torch = pytest.importorskip("torch", reason="needs PyTorch (pip install 'humanparse[train]')")
    from humanparse.nn.parsenet import ParseNet

    state = torch.load(TORCH_WEIGHTS, map_location="cpu", weights_only=True)
    model = ParseNet.from_state_dict({k: v.float() for k, v in state.items()})
    model.eval()
    h, w = two_person_photo.shape[:2]
    boxes = [(0, 0, w // 2, h), (w // 2, 0, w, h), (0, 0, w, h)]
    crops = np.stack([warp_image(two_person_photo, crop_matrix(b)) for b in boxes])
    backend = humanparse.get_backend("lite", flip=False)
    assert backend.input_channels == (4 if model.mask_input else 3)
    if model.mask_input:  # the real person masks of the photo, as the backend gets them
        from humanparse.backends.lite.crops import warp_mask
        from humanparse.persons.pose_finder import detect_persons

        masks = [p.mask for p in detect_persons(backend._detector, two_person_photo, 2)]
        mask = np.max(masks, 0) if masks else np.zeros((h, w), np.float32)
        crops = np.concatenate([crops, np.stack([warp_mask(mask, crop_matrix(b)) for b in boxes])[..., None]], -1)
    onnx_logits = backend.logits(crops)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(crops).permute(0, 3, 1, 2).float()).numpy()
    agree = (onnx_logits.argmax(1) == torch_logits.argmax(1)).mean()
    assert agree >= 0.995, agree


def test_two_people_are_parsed_into_parts(lite, two_person_photo):
    r = lite.predict(two_person_photo)
    assert len(r) == 2
    assert r.labels.shape == two_person_photo.shape[:2] and r.instances.max() == 2
    (a, b) = r.persons
    assert a.bbox[0] < b.bbox[0]  # numbered left to right
    for p in r.persons:
        assert {"face", "hair"} <= set(p.part_areas), p.part_areas
    # every labelled pixel belongs to a person and vice versa
    np.testing.assert_array_equal(r.labels > 0, r.instances > 0)


def test_left_and_right_are_the_persons_own(lite, two_person_photo):
    """Both people face the camera, so a person's left arm (here mostly a hand) lies on the image's right
    of their right arm."""
    r = lite.predict(two_person_photo)
    la, ra = CIHP.index("left-arm"), CIHP.index("right-arm")
    checked = 0
    for p in r.persons:
        mine = r.instances == p.id
        xl, xr = np.nonzero(mine & (r.labels == la))[1], np.nonzero(mine & (r.labels == ra))[1]
        if len(xl) > 20 and len(xr) > 20:
            assert xl.mean() > xr.mean()
            checked += 1
    assert checked >= 1


def test_a_mirrored_photo_gives_the_mirrored_parsing(lite, astronaut):
    """The parsing of a mirrored photo is the mirrored parsing (with left/right classes swapped) on
    most of the person, compared in coarse parts: whether a one-piece spacesuit is upper-clothes or a
    coat is a coin toss that mirroring may flip, a garment turning into skin or background is not.
    The sides themselves are checked on real photos with bare arms below."""
    from humanparse.labels import map_labels
    from humanparse.labels.flip import flip_labels

    r = lite.predict(astronaut)
    m = lite.predict(np.ascontiguousarray(astronaut[:, ::-1]))
    fg = (m.labels > 0) | (r.labels[:, ::-1] > 0)
    same = map_labels(m.labels, r.label_set, "coarse") == map_labels(flip_labels(r.labels), r.label_set, "coarse")
    assert same[fg].mean() > 0.8


@pytest.fixture(scope="module")
def ccp_val():
    """The first 12 CCP validation photos (never the test split) as RGB arrays; skips without ../shared."""
    from humanparse.io.image import load_image
    from humanparse.paths import shared_data_dir
    from humanparse.train.data import ccp_ids

    root = shared_data_dir()
    if root is None or not (root / "ccp").is_dir():
        pytest.skip("../shared/data/ccp is absent: left/right on real photos with bare arms not checked")
    return [load_image(root / "ccp" / "images" / f"{i}.jpg") for i in ccp_ids(root / "ccp", "val")[:12]]


def test_sides_on_real_photos_are_the_persons_own(lite, ccp_val):
    """CCP people face the camera: where both arms (or legs) show, the person's left one lies on the
    image's right; and mirroring a photo swaps the sides (limb pixels agree with the mirrored parsing
    far better with left/right swapped than without)."""
    from humanparse.labels.flip import flip_labels

    pairs = [(CIHP.index("left-arm"), CIHP.index("right-arm")), (CIHP.index("left-leg"), CIHP.index("right-leg"))]
    right_way = checked = 0
    swapped = unswapped = limbs = 0
    for img in ccp_val:
        r = lite.predict(img)
        for left, right in pairs:
            xl, xr = np.nonzero(r.labels == left)[1], np.nonzero(r.labels == right)[1]
            if len(xl) > 300 and len(xr) > 300:
                checked += 1
                right_way += xl.mean() > xr.mean()
        m = lite.predict(np.ascontiguousarray(img[:, ::-1]))
        limb = np.isin(r.labels[:, ::-1], [c for pair in pairs for c in pair])
        limbs += limb.sum()
        swapped += (m.labels == flip_labels(r.labels))[limb].sum()
        unswapped += (m.labels == r.labels[:, ::-1])[limb].sum()
    assert checked >= 8 and right_way >= 0.9 * checked, (right_way, checked)
    assert limbs > 10_000 and swapped > 3 * unswapped, (swapped, unswapped, limbs)


def test_flip_averaging_is_mirror_symmetric(two_person_photo):
    """With ``flip`` the logits are the mean of a crop's and its mirror's with sides swapped back, so
    the logits of a mirrored crop are exactly the mirrored logits with left/right classes swapped;
    without it they are not."""
    from humanparse.labels.flip import FLIP_LUT

    crop = warp_image(two_person_photo, crop_matrix((40, 20, 260, 500)))
    mirror = np.ascontiguousarray(crop[:, ::-1])
    for flip, symmetric in ((True, True), (False, False)):
        b = humanparse.get_backend("lite", flip=flip)
        try:
            a, m = b.logits(crop[None]), b.logits(mirror[None])
        finally:
            b.close()
        swapped = m[:, FLIP_LUT[:m.shape[1]], :, ::-1]
        assert np.allclose(a, swapped, atol=1e-3) == symmetric, flip
    assert np.abs(a).max() > 1.0


@pytest.mark.parametrize("shape", [(8, 8, 3), (480, 640, 3), (1, 300, 3)])
def test_scenes_without_people_give_an_empty_parsing(lite, shape):
    img = np.full(shape, 128, np.uint8)
    r = lite.predict(img)
    assert len(r) == 0 and r.labels.shape == shape[:2] and not r.labels.any()


def test_bad_arrays_are_refused_with_a_clear_error(lite):
    with pytest.raises(humanparse.ImageError, match="uint8"):
        lite.predict(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(humanparse.ImageError, match="numpy array"):
        lite.predict("photo.jpg")


def test_parsing_json_lists_persons(lite, two_person_photo):
    r = lite.predict(two_person_photo)
    d = json.loads(json.dumps(r.to_json()))
    assert len(d["persons"]) == 2


def _standing(cx: float, top: float, height: float) -> np.ndarray:
    """(33, 4) BlazePose landmarks of a person facing the camera: x, y in pixels, visibility, presence."""
    from humanparse.persons import pose as L

    u = height / 8.0
    lm = np.zeros((33, 4), np.float32)
    pts = {L.NOSE: (0, 0.6), L.L_EYE: (0.2, 0.45), L.R_EYE: (-0.2, 0.45), L.L_EAR: (0.45, 0.55),
           L.R_EAR: (-0.45, 0.55), L.MOUTH_L: (0.15, 0.8), L.MOUTH_R: (-0.15, 0.8),
           L.L_SHOULDER: (0.9, 1.5), L.R_SHOULDER: (-0.9, 1.5), L.L_ELBOW: (1.1, 2.7), L.R_ELBOW: (-1.1, 2.7),
           L.L_WRIST: (1.2, 3.8), L.R_WRIST: (-1.2, 3.8), L.L_HIP: (0.6, 4.0), L.R_HIP: (-0.6, 4.0),
           L.L_KNEE: (0.6, 5.8), L.R_KNEE: (-0.6, 5.8), L.L_ANKLE: (0.6, 7.5), L.R_ANKLE: (-0.6, 7.5)}
    for i, (dx, dy) in pts.items():   # facing the camera: the person's left is on the image's right
        lm[i] = (cx + dx * u, top + dy * u, 0.9, 0.9)
    for i in range(33):
        if i not in pts:
            lm[i, :2] = lm[L.NOSE, :2]
    return lm


def test_skeleton_term_gives_overlap_pixels_to_the_nearest_bones(monkeypatch):
    """Two people whose crops, masks and network outputs are identical everywhere: without the skeleton
    term the first person takes every pixel; with it, each side goes to the person standing there."""
    from humanparse.backends.lite import backend as B
    from humanparse.backends.lite.crops import crop_matrix

    hw = (240, 240)
    m = crop_matrix((40, 0, 200, 240))
    logits = np.zeros((2, 21, 96, 64), np.float32)
    logits[:, 5] = 4.0                                   # upper-clothes everywhere, sure
    masks = [np.ones(hw, np.float32)] * 2
    lms = [_standing(70, 10, 220), _standing(170, 10, 220)]
    monkeypatch.setattr(B, "SKELETON_TAU", 0.0)
    _, owner = B.LiteBackend.compose(hw, logits, [m, m], masks, lms)
    assert set(np.unique(owner[:, 45:195])) == {1}
    monkeypatch.setattr(B, "SKELETON_TAU", 0.5)
    _, owner = B.LiteBackend.compose(hw, logits, [m, m], masks, lms)
    assert (owner[20:230, 60:80] == 1).all() and (owner[20:230, 160:180] == 2).all()


def test_mask_blend_mixes_pose_mask_into_the_foreground_decision(monkeypatch):
    """One person, network P(person) = 0.3 everywhere: with MASK_BLEND 0 nothing is foreground; with
    0.4 the pixels the pose mask covers (0.6 x 0.3 + 0.4 x 1 = 0.58 > 0.5) are, and only those."""
    from humanparse.backends.lite import backend as B
    from humanparse.backends.lite.crops import crop_matrix

    hw = (240, 240)
    m = crop_matrix((40, 0, 200, 240))
    logits = np.full((1, 21, 96, 64), -20.0, np.float32)
    logits[0, 0] = np.log(0.7)                          # background 0.7
    logits[0, 5] = np.log(0.3)                          # upper-clothes 0.3
    mask = np.zeros(hw, np.float32)
    mask[60:180, 80:160] = 1.0
    monkeypatch.setattr(B, "SKELETON_TAU", 0.0)
    monkeypatch.setattr(B, "MASK_BLEND", 0.0)
    labels, owner = B.LiteBackend.compose(hw, logits, [m], [mask])
    assert not labels.any() and not owner.any()
    monkeypatch.setattr(B, "MASK_BLEND", 0.4)
    labels, owner = B.LiteBackend.compose(hw, logits, [m], [mask])
    assert (labels[62:178, 82:158] == 5).all() and (owner[62:178, 82:158] == 1).all()
    assert not labels[:55].any() and not labels[:, :75].any() and not labels[185:].any()


# --------------------------------------------------------------------------- YOLOX boxes, top-down
def test_options_are_checked():
    with pytest.raises(ValueError, match="persons must be one of"):
        humanparse.get_backend("lite", persons="faces")
    with pytest.raises(ValueError, match="score_threshold"):
        humanparse.get_backend("lite", score_threshold=1.5)


def test_each_detected_person_is_one_instance_inside_its_own_box(lite, two_person_photo):
    """Every YOLOX detection with foreground becomes one person; each person's pixels lie inside its
    own box's slack region (no pixel is given to a person whose box does not hold it)."""
    from humanparse.backends.lite.compose import BOX_SLACK
    from humanparse.persons.record import enlarged_box as slack_region

    dets = lite._yolox.detect(two_person_photo, lite.max_persons)
    r = lite.predict(two_person_photo)
    assert len(dets) == len(r) == 2
    for p in r.persons:
        ys, xs = np.nonzero(r.instances == p.id)
        fits = []
        for d in dets:
            x1, y1, x2, y2 = slack_region(d.box, BOX_SLACK, two_person_photo.shape[:2])
            fits.append(x1 <= xs.min() and xs.max() < x2 and y1 <= ys.min() and ys.max() < y2)
        assert any(fits)


def test_overlapping_boxes_give_each_pixel_to_the_better_centred_crop():
    """Two boxes overlapping in the middle, both networks sure of "person" everywhere: a pixel goes to
    the box whose centre is nearer (in box sides); each pixel has one owner; outside both boxes nothing."""
    from humanparse.backends.lite.compose import compose_boxes

    hw = (200, 300)
    boxes = [(40.0, 20.0, 160.0, 180.0), (120.0, 20.0, 240.0, 180.0)]
    mats = [crop_matrix(b, margin=1.15) for b in boxes]
    logits = np.zeros((2, 21, 96, 64), np.float32)
    logits[:, 5] = 8.0                           # upper-clothes, P(person) ~ 1
    labels, inst = compose_boxes(hw, logits, mats, boxes, slack=1.0)
    assert set(np.unique(inst)) == {0, 1, 2}
    assert (labels[inst > 0] == 5).all() and not labels[inst == 0].any()
    assert (inst[20:180, 100:138] == 1).all() and (inst[20:180, 142:240] == 2).all()   # split at x = 140
    assert not inst[:, :40].any() and not inst[:, 240:].any() and not inst[:20].any()


def test_the_previous_release_path_stays_runnable(two_person_photo):
    b = humanparse.get_backend("lite", persons="pose")
    try:
        r = b.predict(two_person_photo)
    finally:
        b.close()
    assert len(r) == 2 and b.info()["options"]["persons"] == "pose"
    assert b.flip is False and humanparse.get_backend("lite").flip is True     # each path's own default


def test_a_prominent_person_the_alpha_misses_is_kept():
    """The selfie alpha is 0 everywhere (it misses everyone); the network is sure (P(person) ~0.99)
    of two people: the tall one keeps its pixels (the alpha is not trusted for a prominent person it
    misses), the small far one (under half as tall) is dropped by the mix, as bystanders are."""
    from humanparse.backends.lite import compose as C

    hw = (300, 400)
    boxes = [(20.0, 20.0, 140.0, 280.0), (250.0, 150.0, 300.0, 250.0)]
    mats = [crop_matrix(b, margin=1.05) for b in boxes]
    logits = np.zeros((2, 21, 96, 64), np.float32)
    logits[:, 5] = np.log(180.0)                 # P(person) = 1 - 1/200 against background 0, 19 parts at 0
    alpha = np.zeros(hw, np.float32)
    labels, inst = C.compose_boxes(hw, logits, mats, boxes, alpha=alpha)
    assert (inst == 1).sum() > 0.8 * 120 * 260 and not (inst == 2).any()
    labels, inst = C.compose_boxes(hw, logits, mats, boxes, alpha=np.ones(hw, np.float32))
    assert (inst == 2).sum() > 0.8 * 50 * 100                 # where the alpha sees it, it stays


def test_the_alpha_trust_counts_only_the_persons_own_pixels():
    """A person standing behind another: her crop also sees the front person's body, where the selfie
    alpha is 1; over her own pixels it is 0. She is prominent, so the alpha must not be trusted for her
    and she keeps her pixels (counting the front person's pixels too made her mean alpha look fine and
    the mix erased her: office_group.jpg's back-right woman)."""
    from humanparse.backends.lite import compose as C

    hw = (300, 300)
    back, front = (100.0, 10.0, 200.0, 210.0), (60.0, 110.0, 240.0, 290.0)
    mats = [crop_matrix(b, margin=1.05) for b in (back, front)]
    logits = np.zeros((2, 21, 96, 64), np.float32)
    logits[:, 5] = np.log(180.0)                 # both networks sure of "person" all over their crops
    alpha = np.zeros(hw, np.float32)
    alpha[110:290, 60:240] = 1.0                 # the alpha sees the front person only
    labels, inst = C.compose_boxes(hw, logits, mats, [back, front], alpha=alpha)
    own = inst[10:105, 100:200]                  # the back person's head and shoulders, above the front box
    assert (own == 1).mean() > 0.9
    assert (inst[150:290, 60:240] == 2).mean() > 0.9


def test_a_group_of_twelve_comes_back_whole(lite, astronaut):
    """Twelve people (the astronaut photo tiled 6 x 2): the default backend returns all twelve, each one
    person of its own tile (the default cap is 20; it was 10, which cut group photos short)."""
    import cv2

    tile = cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA)
    group = np.concatenate([np.concatenate([tile] * 6, 1)] * 2, 0)          # (320, 960, 3)
    r = lite.predict(group)
    assert len(r) == 12
    cells = sorted(((p.bbox[1] + p.bbox[3]) // 2 // 160, (p.bbox[0] + p.bbox[2]) // 2 // 160) for p in r.persons)
    assert cells == [(row, col) for row in range(2) for col in range(6)]


def test_a_head_goes_to_the_person_whose_box_it_tops():
    """A seated person's head lies near the centre of the box of someone standing behind, and at the top
    of its own box. Where both crops call it head (face), it goes to the person it tops; where both call
    it clothing, the centre prior decides as before (the person behind)."""
    from humanparse.backends.lite import compose as C

    hw = (300, 300)
    back, front = (100.0, 10.0, 200.0, 210.0), (60.0, 110.0, 240.0, 290.0)
    mats = [crop_matrix(b, margin=1.05) for b in (back, front)]
    face = get_label_set("cihp-bag").classes.index("face")
    for cls, expected in ((face, 2), (5, 1)):                  # face -> the front person; upper-clothes -> back
        logits = np.zeros((2, 21, 96, 64), np.float32)
        logits[:, cls] = 8.0
        labels, inst = C.compose_boxes(hw, logits, mats, [back, front])
        assert (inst[120:145, 130:170] == expected).all(), cls
        assert (labels[inst > 0] == cls).all()
