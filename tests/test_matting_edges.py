"""Matting never fails a frame or an image: masks with no sure background, no sure foreground, everything,
nothing or a 1-px-wide person each give a defined alpha, in ``alpha_matte``, ``humanparse cutout`` and
``/v1/cutout``."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from humanparse.backends import _REGISTRY
from humanparse.backends.base import Backend
from humanparse.compose import alpha_matte, make_trimap, selection_alpha
from humanparse.compose.trimap import BG, FG, UNKNOWN, dilate, erode
from humanparse.parsing import Parsing

H, W = 172, 320


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from humanparse import samples

    return np.ascontiguousarray(samples.two_person_photo(400)[28:28 + H, 100:100 + W])


def frame_filling_mask() -> np.ndarray:
    """A person from the top to the bottom edge with only a 2-px strip of background on the left:
    the trimap's band covers the strip, so no pixel is sure background."""
    m = np.ones((H, W), bool)
    m[:, :2] = False
    return m


def thin_mask() -> np.ndarray:
    """A 1-px-wide person: erosion leaves no sure foreground."""
    m = np.zeros((H, W), bool)
    m[20:150, 160] = True
    return m


@pytest.mark.parametrize("method", ["fast", "quality"])
def test_no_sure_background_gives_the_hard_mask_on_the_band(photo, method):
    mask = frame_filling_mask()
    tri = make_trimap(mask)
    assert not (tri == BG).any() and (tri == FG).any()    # the case pymatting refuses
    alpha = alpha_matte(photo, mask, method)
    assert alpha.dtype == np.float32 and alpha.shape == (H, W)
    np.testing.assert_array_equal(alpha, mask.astype(np.float32))


@pytest.mark.parametrize("method", ["fast", "quality"])
def test_one_pixel_wide_person_gives_the_hard_mask(photo, method):
    mask = thin_mask()
    alpha = alpha_matte(photo, mask, method)
    np.testing.assert_array_equal(alpha, mask.astype(np.float32))


@pytest.mark.parametrize("method", ["off", "fast", "quality"])
def test_all_person_and_no_person(photo, method):
    assert (alpha_matte(photo, np.ones((H, W), bool), method) == 1.0).all()
    assert (alpha_matte(photo, np.zeros((H, W), bool), method) == 0.0).all()


def test_given_trimaps_without_background_or_foreground(photo):
    mask = np.zeros((H, W), bool)
    mask[:, 100:220] = True
    no_bg = np.where(mask, FG, UNKNOWN).astype(np.float32)
    np.testing.assert_array_equal(alpha_matte(photo, mask, "fast", trimap=no_bg), mask.astype(np.float32))
    no_fg = np.where(mask, UNKNOWN, BG).astype(np.float32)
    alpha = alpha_matte(photo, mask, "fast", trimap=no_fg)      # re-made with a 1-px band around the mask
    assert np.isfinite(alpha).all() and alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert (alpha[~dilate(mask, 1)] == 0.0).all() and (alpha[erode(mask, 1)] == 1.0).all()


def test_windows_with_background_are_still_solved_softly(photo):
    """Next to a window without background, a person with background around keeps a soft matte."""
    mask = np.zeros((H, W), bool)
    mask[:, :150] = True            # fills the left part top to bottom: its band touches top and bottom edges
    mask[40:130, 230:290] = True    # a person with background all around
    alpha = alpha_matte(photo, mask, "fast")
    soft = (alpha > 0.02) & (alpha < 0.98)
    assert soft[:, 200:].any()


# ------------------------------------------------------------------------------------ the doors

def _full_frame_parsing(h: int, w: int) -> Parsing:
    labels = np.full((h, w), 5, np.uint8)       # upper-clothes ...
    labels[: h // 3, w // 3: 2 * w // 3] = 13   # ... and a face
    labels[:, :2] = 0
    return Parsing.from_maps(labels, (labels > 0).astype(np.uint16), "cihp", [0.9])


class FullFrameBackend(Backend):
    """A person who fills the frame but for a 2-px strip on the left."""

    name = "fullframe"
    label_set = "cihp"

    def predict(self, image: np.ndarray) -> Parsing:
        return _full_frame_parsing(*image.shape[:2])


def test_selection_alpha_of_a_frame_filling_person(photo):
    p = _full_frame_parsing(H, W)
    for keep in (None, "face"):
        alpha = selection_alpha(photo, p, keep=keep, method="fast")
        np.testing.assert_array_equal(alpha > 0.5, p.mask(keep))


def test_cli_cutout_of_a_frame_filling_person(photo, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from humanparse.cli.main import app

    monkeypatch.setitem(_REGISTRY, "fullframe", ("test_matting_edges", "FullFrameBackend", ""))
    src = tmp_path / "full.png"
    Image.fromarray(photo).save(src)
    r = CliRunner().invoke(app, ["cutout", str(src), "-o", str(tmp_path / "out"), "--backend", "fullframe",
                                 "--matting", "fast", "--quiet"])
    assert r.exit_code == 0, r.output
    rgba = np.asarray(Image.open(next((tmp_path / "out").glob("*.png"))))
    assert rgba.shape == (H, W, 4)
    np.testing.assert_array_equal(rgba[..., 3] > 127, _full_frame_parsing(H, W).mask())


def test_service_cutout_of_a_frame_filling_person(photo):
    pytest.importorskip("fastapi")
    pytest.importorskip("multipart")
    from fastapi.testclient import TestClient

    from humanparse.service import create_app

    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="PNG")
    with TestClient(create_app(backend=FullFrameBackend())) as client:
        for matting in ("fast", "quality"):
            r = client.post("/v1/cutout", data={"matting": matting},
                            files={"image": ("full.png", buf.getvalue(), "image/png")})
            assert r.status_code == 200, r.text
            rgba = np.asarray(Image.open(io.BytesIO(r.content)))
            np.testing.assert_array_equal(rgba[..., 3] > 127, _full_frame_parsing(H, W).mask())
