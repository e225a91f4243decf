"""``humanparse cutout`` end to end on a real photo (skimage's astronaut) with the default backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from humanparse.cli.main import app
from humanparse.compose.trimap import dilate, erode

GREEN = (0, 255, 0)


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="module")
def parsing(astronaut):
    from humanparse.api import load_backend
    from humanparse.backends import DEFAULT_BACKEND

    return load_backend(DEFAULT_BACKEND).predict(astronaut)  # the backend the CLI uses


@pytest.fixture()
def inputs(tmp_path, astronaut):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(astronaut).save(d / "astronaut.png")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return d


def run(*args):
    result = CliRunner().invoke(app, ["cutout", *map(str, args)])
    return result, result.stderr if hasattr(result, "stderr") else result.output


def test_corrupt_file_alongside_good_one(inputs, tmp_path, astronaut, parsing):
    out = tmp_path / "out"
    result, err = run(inputs, "-o", out, "--bg", "#00ff00")
    assert result.exit_code == 1
    assert "broken.jpg" in err and "error" in err
    assert not (out / "broken_cutout.png").exists()
    img = np.asarray(Image.open(out / "astronaut_cutout.png"))
    assert img.shape == astronaut.shape
    inside = erode(parsing.mask(), 20)
    outside = ~dilate(parsing.mask(), 40)
    assert inside.sum() > 10_000 and outside.sum() > 10_000
    np.testing.assert_array_equal(img[inside], astronaut[inside])
    assert (img[outside] == GREEN).all()


def test_alpha_only_is_fractional_along_hair(inputs, tmp_path, parsing):
    out = tmp_path / "out"
    result, err = run(inputs / "astronaut.png", "-o", out, "--alpha-only", "--matting", "quality")
    assert result.exit_code == 0, err
    alpha = np.asarray(Image.open(out / "astronaut_alpha.png"))
    assert alpha.ndim == 2
    hair = parsing.mask("hair,hat")   # the network calls part of the astronaut's hair a hat
    edge = dilate(hair, 8) & ~erode(hair, 8) & ~dilate(parsing.mask() & ~hair, 3)   # hair/background border
    frac = (alpha > 0) & (alpha < 255)
    assert edge.sum() > 500
    assert frac[edge].mean() > 0.2
    assert (alpha[erode(parsing.mask(), 30)] == 255).all() and (alpha[~dilate(parsing.mask(), 40)] == 0).all()


def test_keep_parts_of_one_person_transparent(inputs, tmp_path, parsing):
    out = tmp_path / "out"
    result, err = run(inputs / "astronaut.png", "-o", out, "--keep", "hair,face", "--person", "1")
    assert result.exit_code == 0, err
    rgba = np.asarray(Image.open(out / "astronaut_cutout.png"))
    assert rgba.shape[2] == 4
    head = parsing.mask("hair,face")
    assert (rgba[..., 3][erode(head, 16)] == 255).all()
    assert (rgba[..., 3][~dilate(head, 30)] == 0).all()
    assert (rgba[..., 3][erode(parsing.mask("upper-clothes"), 10)] == 0).all()


def test_preset_and_layers(inputs, tmp_path, parsing):
    out = tmp_path / "out"
    result, err = run(inputs / "astronaut.png", "-o", out, "--preset", "upper", "--layers", "--matting", "off")
    assert result.exit_code == 0, err
    mask = np.asarray(Image.open(out / "astronaut_agnostic-upper_mask.png")) > 0
    assert mask[parsing.mask("upper-clothes")].mean() > 0.99
    assert not mask[parsing.mask("face,hair")].any()
    agn = np.asarray(Image.open(out / "astronaut_agnostic-upper.png"))
    assert (agn[mask] == 128).all()
    manifest = json.loads((out / "astronaut_layers" / "manifest.json").read_text())
    files = sorted(p.name for p in (out / "astronaut_layers").glob("*.png"))
    assert sorted(l["file"] for l in manifest["layers"]) == files
    assert {l["part"] for l in manifest["layers"]} == set(parsing.person(1).part_areas)


@pytest.mark.parametrize("args, hint", [
    (["--matting", "bogus"], "--matting"),
    (["--keep", "tail"], "tail"),
    (["--bg", "not-a-colour"], "not-a-colour"),
    (["--preset", "hat"], "--preset"),
    (["--person", "x"], "--person"),
    (["--preset", "upper", "--alpha-only"], "--alpha-only"),
])
def test_bad_options_exit_2_with_message(inputs, tmp_path, args, hint):
    result, err = run(inputs / "astronaut.png", "-o", tmp_path / "out", *args)
    assert result.exit_code == 2
    assert hint in err


def test_missing_person_and_never_overwrite_inputs(tmp_path, astronaut):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(astronaut).save(d / "x.png")
    Image.fromarray(astronaut[::2, ::2]).save(d / "x_cutout.png")      # looks like an output of x.png
    before = (d / "x_cutout.png").read_bytes()
    result, err = run(d / "x.png", d / "x_cutout.png", "-o", d)        # both files are inputs
    assert result.exit_code == 1 and "overwrite an input" in err and "x.png" in err
    assert (d / "x_cutout_cutout.png").exists()                          # the other input was processed
    assert (d / "x_cutout.png").read_bytes() == before
    result, err = run(d, "-o", d)                                       # the folder as its own output folder
    assert result.exit_code == 2 and "is the input folder" in err
    assert (d / "x_cutout.png").read_bytes() == before
    result, err = run(d / "x.png", "-o", tmp_path / "out", "--person", "5")
    assert result.exit_code == 1 and "no person 5" in err


def test_a_failed_write_leaves_no_partial_outputs(inputs, tmp_path, parsing, monkeypatch):
    """The agnostic mask and image of a preset appear together or not at all (the second save fails)."""
    import humanparse.io.image as image_io

    saved = []
    real_save = image_io.save_png

    def flaky(fp, array):
        saved.append(str(fp))
        if len(saved) == 2:
            raise OSError("disk full")
        return real_save(fp, array)

    monkeypatch.setattr(image_io, "save_png", flaky)            # the cutout command writes PNGs with it
    out = tmp_path / "out"
    result, err = run(inputs / "astronaut.png", "-o", out, "--preset", "upper", "--matting", "off")
    assert result.exit_code == 1 and "disk full" in err
    assert len(saved) == 2 and all("partial" in s for s in saved)   # written under temporary names
    assert sorted(p.name for p in out.glob("*")) == []               # no half set, no leftovers


def test_layers_folder_is_replaced_whole_and_never_left_half_written(inputs, tmp_path, monkeypatch):
    """A second run replaces the layer folder (a file the new run does not write is gone); a run that
    fails while exporting leaves the previous folder untouched and no staging folder behind."""
    import humanparse.compose.layers as layers_mod

    out = tmp_path / "out"
    result, err = run(inputs / "astronaut.png", "-o", out, "--layers", "--matting", "off")
    assert result.exit_code == 0, err
    folder = out / "astronaut_layers"
    (folder / "stale.png").write_bytes(b"from an older run")
    before = (folder / "manifest.json").read_bytes()
    result, err = run(inputs / "astronaut.png", "-o", out, "--layers", "--matting", "off")
    assert result.exit_code == 0, err
    assert not (folder / "stale.png").exists() and (folder / "manifest.json").read_bytes() == before

    real = layers_mod.export_layers

    def half_then_fail(image, parsing, out_dir, **kw):
        real(image, parsing, out_dir, **kw)
        (Path(out_dir) / "manifest.json").unlink()
        raise OSError("disk full")

    monkeypatch.setattr(layers_mod, "export_layers", half_then_fail)
    (folder / "marker.txt").write_text("previous run")
    result, err = run(inputs / "astronaut.png", "-o", out, "--layers", "--matting", "off")
    assert result.exit_code == 1 and "disk full" in err
    assert (folder / "marker.txt").exists() and (folder / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_keep_a_part_nobody_has_warns_and_fails_unless_allowed(tmp_path, astronaut, fake_backend):
    """Issue 22 item 8: ``--keep hat`` on a photo with no hat wrote a fully transparent PNG, rc 0, no word."""
    src = tmp_path / "soccer.jpg"
    Image.fromarray(astronaut).save(src)
    out = tmp_path / "out"
    result, err = run(src, "-o", out, "--keep", "hat", "-b", "fake", "-q")
    assert result.exit_code == 1
    assert f"no pixels of 'hat' in {src}" in " ".join(err.split())
    result, err = run(src, "-o", out, "--keep", "hat", "--person", "1", "-b", "fake", "--allow-empty")
    assert result.exit_code == 0, err
    assert "no pixels of 'hat' of person 1" in " ".join(err.split())
    assert (np.asarray(Image.open(out / "soccer_cutout.png"))[..., 3] == 0).all()
    result, err = run(src, "-o", out, "--keep", "face", "-b", "fake", "-q")             # the fake person has a face
    assert result.exit_code == 0 and "warning" not in err
    black = tmp_path / "night.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(black)                         # nobody in it
    result, err = run(black, "-o", out, "-b", "fake", "-q")
    assert result.exit_code == 1 and "nobody found in" in err
