"""Compositing: trimaps, alpha mattes, composites, backgrounds, part selection, try-on presets, layers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from humanparse.compose import alpha_matte, composite, foreground_colors, make_trimap, parse_background
from humanparse.compose.composite import blurred_background, cover
from humanparse.compose.layers import compose_layers, export_layers
from humanparse.compose.presets import agnostic_image, agnostic_mask
from humanparse.compose.select import hair_mask, nearest_fill, selection_alpha, selection_mask
from humanparse.labels import get_label_set
from humanparse.parsing import Parsing

CIHP = get_label_set("cihp")
RED = np.array([230, 40, 60], np.float32)
BLUE = np.array([30, 160, 220], np.float32)


def soft_blob(size: int = 160, radius: float = 48, ramp: float = 8):
    """A red disc with a linear soft edge over flat blue: image (exact blend) and its true alpha."""
    yy, xx = np.mgrid[:size, :size]
    d = np.hypot(yy - size / 2, xx - size / 2)
    alpha = np.clip((radius - d) / ramp + 0.5, 0, 1).astype(np.float32)
    image = (alpha[..., None] * RED + (1 - alpha[..., None]) * BLUE + 0.5).astype(np.uint8)
    return image, alpha


# ---------------------------------------------------------------- trimap
def test_trimap_values_and_wider_band_around_hair():
    mask = np.zeros((200, 200), bool)
    mask[50:150, 50:150] = True
    hair = np.zeros_like(mask)
    hair[50:70, 50:150] = True                      # top rows of the square are hair
    tri = make_trimap(mask, hair=hair, band=3, hair_band=12)
    assert set(np.unique(tri)) == {0.0, 0.5, 1.0}
    col = tri[:, 100]
    top = np.count_nonzero(col[:100] == 0.5)        # band across the hair edge
    bottom = np.count_nonzero(col[100:] == 0.5)     # band across a plain edge
    assert bottom == 6 and top >= 20
    assert tri[100, 100] == 1.0 and tri[5, 5] == 0.0


def test_trimap_rejects_bad_shapes():
    with pytest.raises(ValueError, match="must be"):
        make_trimap(np.zeros((4, 4, 3), bool))
    with pytest.raises(ValueError, match="differ"):
        make_trimap(np.zeros((4, 4), bool), hair=np.zeros((5, 4), bool))


# ---------------------------------------------------------------- matting
def test_quality_matting_recovers_known_blend():
    image, true = soft_blob()
    tri = make_trimap(true > 0.5, band=8)
    alpha = alpha_matte(image, true > 0.5, "quality", trimap=tri)
    band = tri == 0.5
    assert np.abs(alpha - true)[band].mean() < 0.002
    assert np.abs(alpha - true).max() < 0.01
    assert np.count_nonzero((alpha > 0.05) & (alpha < 0.95)) > 1000


def test_fast_matting_is_soft_and_close_and_exact_away_from_edge():
    image, true = soft_blob(size=400, radius=150, ramp=16)     # > FAST_MAX_PIXELS: solved downscaled
    mask = true > 0.5
    tri = make_trimap(mask, band=16)
    alpha = alpha_matte(image, mask, "fast", trimap=tri)
    assert alpha.dtype == np.float32 and alpha.shape == mask.shape
    assert np.count_nonzero((alpha > 0.05) & (alpha < 0.95)) > 5000
    assert np.abs(alpha - true)[tri == 0.5].mean() < 0.01
    assert np.all(alpha[tri == 1.0] == 1.0) and np.all(alpha[tri == 0.0] == 0.0)


def test_off_matting_is_the_binary_mask():
    image, true = soft_blob()
    alpha = alpha_matte(image, true > 0.5, "off")
    np.testing.assert_array_equal(alpha, (true > 0.5).astype(np.float32))


def test_quality_matting_downscales_large_images_and_stays_exact_inside():
    image, true = soft_blob(size=400, radius=150, ramp=16)
    tri = make_trimap(true > 0.5, band=16)
    alpha = alpha_matte(image, true > 0.5, "quality", trimap=tri, max_pixels=20_000)   # ~4.5x fewer pixels
    assert np.all(alpha[tri == 1.0] == 1.0) and np.all(alpha[tri == 0.0] == 0.0)
    assert np.abs(alpha - true)[tri == 0.5].mean() < 0.005


def test_alpha_matte_rejects_bad_input():
    image, true = soft_blob(size=32, radius=8)
    with pytest.raises(ValueError, match="unknown matting method"):
        alpha_matte(image, true > 0.5, "magic")
    with pytest.raises(ValueError, match="differ in size"):
        alpha_matte(image, np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="uint8"):
        alpha_matte(image.astype(np.float32), true > 0.5)


def test_foreground_colors_remove_background_spill():
    image, true = soft_blob()
    fg = foreground_colors(image, true)
    soft = (true > 0.2) & (true < 0.8)
    spill_before = np.abs(image[soft].astype(float) - RED).mean()
    spill_after = np.abs(fg[soft].astype(float) - RED).mean()
    assert spill_after < 0.25 * spill_before
    hard = (true == 0) | (true == 1)
    np.testing.assert_array_equal(fg[hard], image[hard])


# ---------------------------------------------------------------- composite
def test_composite_on_colour_matches_over_formula():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    alpha = rng.random((40, 50), dtype=np.float32)
    out = composite(image, alpha, "#0ac81e")
    expected = alpha[..., None] * image.astype(np.float64) + (1 - alpha[..., None]) * np.array([10, 200, 30])
    assert out.shape == (40, 50, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(float) - expected).max() <= 0.5 + 1e-3


def test_transparent_output_is_rgba_with_alpha_as_matte():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (30, 20, 3), dtype=np.uint8)
    alpha = rng.random((30, 20), dtype=np.float32)
    for bg in (None, "transparent"):
        out = composite(image, alpha, bg)
        assert out.shape == (30, 20, 4)
        np.testing.assert_array_equal(out[..., :3], image)
        np.testing.assert_array_equal(out[..., 3], np.round(alpha * 255).astype(np.uint8))


def test_image_background_covers_without_stretching():
    bg = np.zeros((10, 40, 3), np.uint8)
    bg[:, :, 0] = np.arange(40, dtype=np.uint8)[None, :] * 6      # horizontal ramp
    out = cover(bg, 20, 20)                                       # scale 2 -> 20x80, centre crop 20 columns
    assert out.shape == (20, 20, 3)
    # The centre columns 15..25 of the source are kept (ramp values 90..150), no stretch to 0..234.
    assert 80 <= int(out[:, 0, 0].mean()) <= 100 and 140 <= int(out[:, -1, 0].mean()) <= 160
    image = np.full((20, 20, 3), 255, np.uint8)
    comp = composite(image, np.zeros((20, 20), np.float32), bg)
    np.testing.assert_array_equal(comp, out)


def test_blur_background_has_no_person_halo():
    image, true = soft_blob()
    out = blurred_background(image, true, sigma=8)
    ring = (true == 0) & (np.hypot(*np.mgrid[-80:80, -80:80]) < 62)   # just outside the soft edge
    assert np.abs(out[ring] - BLUE).max() < 2.0                          # stays blue, no red smear
    comp = composite(image, true, "blur")
    assert comp.shape == image.shape


def test_blur_background_matches_full_size_gaussian():
    import cv2

    rng = np.random.default_rng(3)
    image = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (320, 240), interpolation=cv2.INTER_CUBIC)
    out = blurred_background(image, np.zeros((240, 320), np.float32), sigma=12)   # solved at 1/3 size
    ref = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 12)
    inner = (slice(30, -30), slice(30, -30))
    assert np.abs(out[inner] - ref[inner]).mean() < 1.5


def test_parse_background_forms_and_errors(tmp_path):
    assert parse_background("transparent") == "transparent"
    assert parse_background("#00ff00") == (0, 255, 0)
    assert parse_background("#0f0") == (0, 255, 0)
    assert parse_background("0, 255, 0") == (0, 255, 0)
    assert parse_background("white") == (255, 255, 255)
    assert parse_background("blur") == "blur"
    assert parse_background("blur:5") == ("blur", 5.0)
    p = tmp_path / "bg.png"
    Image.fromarray(np.full((6, 8, 3), 7, np.uint8)).save(p)
    arr = parse_background(str(p))
    assert arr.shape == (6, 8, 3) and int(arr[0, 0, 0]) == 7
    for bad in ("nonsense-colour", "300,0,0", "blur:-2", "blur:x"):
        with pytest.raises(ValueError):
            parse_background(bad)
    bad_file = tmp_path / "bad.jpg"
    bad_file.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="bad.jpg"):
        parse_background(str(bad_file))


def test_composite_rejects_bad_input():
    image = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="differ"):
        composite(image, np.zeros((5, 5), np.float32), "#000000")
    with pytest.raises(ValueError, match="unusable background"):
        composite(image, np.zeros((10, 10), np.float32), 42)


# ---------------------------------------------------------------- synthetic parsing
def two_persons() -> Parsing:
    """Two standing figures in CIHP classes on a 120x160 canvas."""
    labels = np.zeros((120, 160), np.uint8)
    inst = np.zeros((120, 160), np.uint16)
    for pid, x0 in ((1, 10), (2, 90)):
        def put(name, y1, y2, x1, x2, pid=pid, x0=x0):
            labels[y1:y2, x0 + x1:x0 + x2] = CIHP.index(name)
            inst[y1:y2, x0 + x1:x0 + x2] = pid
        put("hair", 5, 12, 20, 40)
        put("face", 12, 25, 22, 38)
        put("torso-skin", 25, 28, 24, 36)
        put("upper-clothes", 28, 60, 15, 45)
        put("left-arm", 28, 65, 5, 15)
        put("right-arm", 28, 65, 45, 55)
        put("pants", 60, 95, 15, 45)
        put("left-leg", 95, 105, 15, 28)
        put("right-leg", 95, 105, 32, 45)
        put("left-shoe", 105, 112, 15, 28)
        put("right-shoe", 105, 112, 32, 45)
    return Parsing.from_maps(labels, inst, "cihp")


def cls(p: Parsing, *names):
    return np.isin(p.labels, [CIHP.index(n) for n in names])


def test_selection_keep_remove_person_and_coarse_names():
    p = two_persons()
    np.testing.assert_array_equal(selection_mask(p, keep="hair,face"), cls(p, "hair", "face"))
    np.testing.assert_array_equal(selection_mask(p, remove="upper-clothes"), (p.labels > 0) & ~cls(p, "upper-clothes"))
    np.testing.assert_array_equal(selection_mask(p, keep="shoes", person=2),
                                  cls(p, "left-shoe", "right-shoe") & (p.instances == 2))
    np.testing.assert_array_equal(selection_mask(p, keep="person", remove="lower-clothes", person="1,2"),
                                  (p.labels > 0) & ~cls(p, "pants"))
    np.testing.assert_array_equal(hair_mask(p), cls(p, "hair"))
    with pytest.raises(KeyError, match="unknown part"):
        selection_mask(p, keep="tail")
    with pytest.raises(KeyError, match="no person 3"):
        selection_mask(p, person=3)


def test_upper_preset_includes_arms_excludes_face_and_other_person():
    p = two_persons()
    m = agnostic_mask(p, "upper", person=1)
    one = p.instances == 1
    assert m[cls(p, "left-arm", "right-arm", "upper-clothes", "torso-skin") & one].all()
    assert not m[cls(p, "face", "hair", "pants", "left-shoe")].any()
    assert not m[p.instances == 2].any()
    assert m[(p.labels == 0)].any()                     # dilated into the background around the garment
    both = agnostic_mask(p, "upper")
    assert both[cls(p, "left-arm") & (p.instances == 2)].all()


def test_lower_and_full_presets():
    p = two_persons()
    lower = agnostic_mask(p, "lower")
    assert lower[cls(p, "pants", "left-leg", "right-leg")].all()
    assert not lower[cls(p, "upper-clothes", "face", "left-shoe", "left-arm")].any()
    full = agnostic_mask(p, "full")
    assert full[cls(p, "pants", "upper-clothes", "left-arm")].all()
    assert not full[cls(p, "face", "hair", "right-shoe")].any()
    img = np.full(p.labels.shape + (3,), 200, np.uint8)
    ag = agnostic_image(img, full)
    assert (ag[full] == 128).all() and (ag[~full] == 200).all()


def test_presets_on_other_label_sets():
    fashn = get_label_set("fashn")
    labels = np.zeros((60, 40), np.uint8)
    for name, rows in (("hair", (2, 6)), ("face", (6, 14)), ("top", (14, 30)), ("pants", (30, 50)), ("feet", (50, 56))):
        labels[rows[0]:rows[1], 12:28] = fashn.index(name)
    labels[14:34, 4:12] = fashn.index("arms")
    labels[34:38, 4:12] = fashn.index("hands")
    p = Parsing.from_maps(labels, (labels > 0).astype(np.uint16), "fashn")
    m = agnostic_mask(p, "upper")
    named = lambda *n: np.isin(labels, [fashn.index(x) for x in n])   # noqa: E731
    assert m[named("top", "arms")].all()
    assert not m[named("hands", "face", "hair", "pants")].any()
    lower = agnostic_mask(p, "lower")
    assert lower[named("pants")].all() and not lower[named("feet", "top")].any()


def test_presets_reject_unknown_preset_and_label_sets_without_garments():
    p = two_persons()
    with pytest.raises(ValueError, match="unknown try-on preset"):
        agnostic_mask(p, "hat")
    mp = Parsing.from_maps(np.ones((8, 8), np.uint8), np.ones((8, 8), np.uint16), "mediapipe")
    with pytest.raises(ValueError, match="mediapipe"):
        agnostic_mask(mp, "upper")


def test_layers_one_file_per_part_per_person_and_manifest_matches(tmp_path):
    p = two_persons()
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, p.labels.shape + (3,), dtype=np.uint8)
    m = export_layers(image, p, tmp_path, source="x.jpg")
    on_disk = sorted(f.name for f in tmp_path.glob("*.png"))
    assert sorted(l["file"] for l in m["layers"]) == on_disk
    assert len(on_disk) == sum(len(q.part_areas) for q in p.persons) == 22
    assert json.loads((tmp_path / "manifest.json").read_text()) == m
    for layer in m["layers"]:
        px = np.asarray(Image.open(tmp_path / layer["file"]))
        x1, y1, x2, y2 = layer["bbox"]
        assert px.shape == (y2 - y1, x2 - x1, 4)
        assert layer["area"] == np.count_nonzero(px[..., 3]) == p.person(layer["person"]).part_areas[layer["part"]]
    zs = [l["z"] for l in m["layers"]]
    assert zs == sorted(zs) == list(range(len(zs)))
    by = {(l["person"], l["part"]): l["z"] for l in m["layers"]}
    assert by[(1, "left-leg")] < by[(1, "upper-clothes")] < by[(1, "left-arm")] < by[(1, "hair")]
    rebuilt, cut = compose_layers(tmp_path), p.cutout(image)
    np.testing.assert_array_equal(rebuilt[..., 3], cut[..., 3])
    on = cut[..., 3] > 0
    np.testing.assert_array_equal(rebuilt[on], cut[on])


def test_layers_with_soft_matte_rebuild_the_matte(tmp_path):
    p = two_persons()
    image = np.full(p.labels.shape + (3,), 90, np.uint8)
    alpha = alpha_matte(image, p.mask(person=2), "off")
    alpha = np.clip(alpha + 0.3 * (np.roll(alpha, 2, axis=1) > alpha), 0, 1)   # soft fringe outside the labels
    m = export_layers(image, p, tmp_path, alpha=alpha, person=2)
    assert {l["person"] for l in m["layers"]} == {2}
    rebuilt = compose_layers(tmp_path)
    np.testing.assert_allclose(rebuilt[..., 3] / 255.0, alpha, atol=1 / 255)
    with pytest.raises(KeyError):
        export_layers(image, p, tmp_path / "x", person=7)


def test_nearest_fill_extends_values_outwards():
    v = np.zeros((5, 6), np.int32)
    valid = np.zeros((5, 6), bool)
    for (y, x), val in (((1, 4), 7), ((3, 1), 8), ((4, 5), 9)):
        v[y, x], valid[y, x] = val, True
    out = nearest_fill(v, valid)
    assert out[1, 4] == 7 and out[3, 1] == 8 and out[4, 5] == 9
    assert out[0, 5] == 7 and out[4, 0] == 8 and out[4, 4] == 9


def test_selection_alpha_soft_outside_hard_between_parts():
    image, true = soft_blob()
    labels = np.where(true > 0.5, CIHP.index("face"), 0).astype(np.uint8)
    labels[(true > 0.5) & (np.mgrid[:160, :160][0] >= 80)] = CIHP.index("upper-clothes")   # lower half
    p = Parsing.from_maps(labels, (labels > 0).astype(np.uint16))
    tri = make_trimap(true > 0.5)
    a_all = selection_alpha(image, p, method="quality")
    a_face = selection_alpha(image, p, keep="face", method="quality")
    soft = (a_all > 0.05) & (a_all < 0.95)
    assert soft.sum() > 300
    top = np.mgrid[:160, :160][0] < 70
    np.testing.assert_allclose(a_face[top], a_all[top])            # outer edge of the face: the same soft matte
    assert (a_face[82:, :] == 0).all()                             # removed part: nothing past a narrow feather
    across = a_face[76:84, 80]                                     # face rows 76-79, upper-clothes from row 80
    assert (np.diff(across) <= 0).all() and across[0] == 1 and 0 < across[3] < 1 and 0 < across[4] < 0.5
    assert (a_face[(labels == CIHP.index("face")) & (tri == 1) & (np.mgrid[:160, :160][0] < 79)] == 1).all()


def _head_on_photo(photo: np.ndarray) -> Parsing:
    """A small head (hair over a face) on a body at the astronaut's place in the photo: the whole head lies
    in the wide unknown band the trimap puts around hair."""
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    cy, cx, r = 150, 230, 60
    head = np.hypot(yy - cy, xx - cx) < r
    labels = np.zeros((h, w), np.uint8)
    labels[head & (yy < cy - 10)] = CIHP.index("hair")
    labels[head & (yy >= cy - 10)] = CIHP.index("face")
    labels[(yy >= cy + r - 5) & (yy < h - 12) & (np.abs(xx - cx) < 120)] = CIHP.index("upper-clothes")
    return Parsing.from_maps(labels, (labels > 0).astype(np.uint16), "cihp", [0.9])


@pytest.mark.parametrize("keep", ["hair,face", "face", None])
def test_selection_alpha_is_opaque_inside(two_person_photo, keep):
    """A part selection is opaque inside (no see-through face, no eye holes); only its outline is soft."""
    import cv2

    p = _head_on_photo(two_person_photo)
    alpha = selection_alpha(two_person_photo, p, keep=keep, method="fast")
    a8 = (alpha * 255.0 + 0.5).astype(np.uint8)                    # as the cut-out PNG stores it
    sel = p.mask(keep) if keep else p.mask()
    inner = cv2.distanceTransform(sel.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) >= 3
    assert inner.sum() > 5000
    assert (a8[inner] == 255).all(), f"{np.mean(a8[inner] < 255):.0%} of the inner pixels are see-through"
    assert ((a8 > 0) & (a8 < 255) & ~sel).sum() > 200              # the outline against the background stays soft
