"""The `humanparse parse` command: plumbing with a fake backend (fast), so failures point at the CLI."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from humanparse.cli.main import app

runner = CliRunner()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_inputs(root):
    (root / "sub").mkdir(parents=True)
    Image.fromarray(np.full((60, 40, 3), 120, np.uint8)).save(root / "a.jpg")
    Image.fromarray(np.full((50, 50, 3), 90, np.uint8)).save(root / "sub" / "b.png")
    Image.fromarray(np.full((50, 50, 3), 90, np.uint8)).save(root / "sub" / "a.png")  # same stem as a.jpg
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")


def test_folder_recurses_bad_file_reported_others_continue(tmp_path, fake_backend):
    src = tmp_path / "in"
    make_inputs(src)
    before = {p: digest(p) for p in src.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    r = runner.invoke(app, ["parse", str(src), "-o", str(out), "-b", "fake", "-f", "labels,color,json"])
    assert r.exit_code == 1, r.output
    assert "broken.jpg" in r.output and "3 of 4 image(s) parsed" in r.output
    assert (out / "a_labels.png").exists() and (out / "sub" / "a_labels.png").exists()
    assert (out / "sub" / "b_color.png").exists()
    data = json.loads((out / "a.json").read_text())
    assert data["num_persons"] == 1 and data["width"] == 40 and data["height"] == 60
    assert {p: digest(p) for p in src.rglob("*") if p.is_file()} == before  # inputs untouched
    assert fake_backend.calls == 3


def test_all_good_exits_zero_and_unknown_format_is_rejected(tmp_path, fake_backend):
    img = tmp_path / "x.png"
    Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(img)
    r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), "-b", "fake", "-f", "cutout"])
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "o" / "x_cutout.png").mode == "RGBA"
    r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), "-b", "fake", "-f", "gif"])
    assert r.exit_code == 2 and "unknown format" in r.output


def test_output_that_would_overwrite_an_input_is_refused(tmp_path, fake_backend):
    img = tmp_path / "x.png"
    Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(img)
    victim = tmp_path / "x_labels.png"
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(victim)
    before = digest(victim)
    r = runner.invoke(app, ["parse", str(img), str(victim), "-o", str(tmp_path), "-b", "fake", "-f", "labels"])
    assert r.exit_code == 1 and "would overwrite an input" in r.output
    assert digest(victim) == before


def test_unknown_backend_and_no_files(tmp_path):
    img = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    r = runner.invoke(app, ["parse", str(img), "-b", "nope"])
    assert r.exit_code == 2 and "unknown backend" in r.output
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["parse", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "no image files" in r.output


def test_flip_reaches_the_lite_backend_and_is_refused_elsewhere(tmp_path, fake_backend, monkeypatch):
    import humanparse.cli.parse as cli_parse

    img = tmp_path / "x.png"
    Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(img)
    r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), "-b", "fake", "--flip"])
    assert r.exit_code == 2 and "only the lite backend has flip averaging" in r.output
    seen = {}

    def spy(name, **options):
        seen.update(options, name=name)
        return fake_backend()

    monkeypatch.setattr(cli_parse, "open_backend", spy)
    r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), "-b", "lite", "--flip", "-f", "labels"])
    assert r.exit_code == 0, r.output
    assert seen["name"] == "lite" and seen["flip"] is True
    seen.clear()
    r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), "-b", "lite", "-f", "labels"])
    assert r.exit_code == 0 and "flip" not in seen            # the backend's own default
    r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), "-b", "lite", "--no-flip", "-f", "labels"])
    assert r.exit_code == 0 and seen["flip"] is False


def test_min_score_reaches_the_backend_and_is_checked(tmp_path, fake_backend, monkeypatch):
    """--min-score becomes the backend's score_threshold (lite, mediapipe); another backend or a value
    outside [0, 1) is a usage error before any work."""
    import humanparse.cli.parse as cli_parse

    img = tmp_path / "x.png"
    Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(img)
    seen = {}

    def spy(name, **options):
        seen.update(options, name=name)
        return fake_backend()

    monkeypatch.setattr(cli_parse, "open_backend", spy)
    for backend in ("lite", "mediapipe"):
        seen.clear()
        r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), "-b", backend, "--min-score", "0.45",
                                "-f", "labels"])
        assert r.exit_code == 0, r.output
        assert seen["score_threshold"] == pytest.approx(0.45)
    seen.clear()
    for args in (["-b", "fake", "--min-score", "0.4"], ["-b", "lite", "--min-score", "1.5"]):
        r = runner.invoke(app, ["parse", str(img), "-o", str(tmp_path / "o"), *args])
        assert r.exit_code == 2 and "--min-score" in r.output and not seen


def test_label_set_option_maps_the_output_and_rejects_what_cannot_be_mapped(tmp_path, fake_backend):
    from humanparse.labels import get_label_set

    img = tmp_path / "x.png"
    Image.fromarray(np.full((48, 48, 3), 50, np.uint8)).save(img)
    out = tmp_path / "o"
    r = runner.invoke(app, ["parse", str(img), "-o", str(out), "-b", "fake", "-f", "labels,json", "--label-set", "coarse"])
    assert r.exit_code == 0, r.output
    coarse = get_label_set("coarse")
    assert set(np.unique(np.asarray(Image.open(out / "x_labels.png"))).tolist()) == {
        0, coarse.index("face"), coarse.index("upper-clothes"), coarse.index("lower-clothes")}
    assert json.loads((out / "x.json").read_text())["label_set"] == "coarse"
    r = runner.invoke(app, ["parse", str(img), "-o", str(out), "-b", "fake", "--label-set", "nope"])
    assert r.exit_code == 2 and "unknown label set" in r.output
    r = runner.invoke(app, ["parse", str(img), "-o", str(out), "-b", "fake", "--label-set", "fashn"])
    assert r.exit_code == 2 and "fake outputs cihp" in r.output
    assert fake_backend.calls == 1


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_output_folder_inside_the_input_folder_is_not_read_as_input(tmp_path, fake_backend):
    """Issue 22 item 5: running twice into nest/out parses the photo again, never the first run's outputs,
    and hidden files are no inputs."""
    for command, extra in (("parse", ["-f", "labels,json"]), ("cutout", [])):
        nest = tmp_path / command / "nest"
        (nest / ".cache").mkdir(parents=True)
        for f in ("photo.jpg", ".hidden.jpg", ".cache/thumb.png"):
            Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(nest / f)
        out = nest / "out"
        for run in (1, 2):
            r = runner.invoke(app, [command, str(nest), "-o", str(out), "-b", "fake", *extra])
            assert r.exit_code == 0, f"{command} run {run}: {r.output}"
            assert "1 of 1 image(s)" in r.output, f"{command} run {run}: {r.output}"
        written = _files(out)
        assert written and all(name.startswith("photo") for name in written), written
    r = runner.invoke(app, ["parse", str(tmp_path / "parse" / "nest" / ".hidden.jpg"), "-o", str(tmp_path / "o"), "-b", "fake", "-q"])
    assert r.exit_code == 0 and (tmp_path / "o" / ".hidden_labels.png").is_file()   # named explicitly: taken


def test_output_path_that_is_a_file_or_cannot_be_made_is_one_usage_error(tmp_path, fake_backend):
    """Issue 22 item 8: one sentence and exit 2 before any work, not a raw errno per input."""
    for name in ("x.jpg", "y.jpg"):
        Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(tmp_path / name)
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    for out, says in ((afile, "is a file"), (afile / "sub", "which is a file"), (tmp_path, "is the input folder")):
        for command in ("parse", "cutout"):
            r = runner.invoke(app, [command, str(tmp_path), "-o", str(out), "-b", "fake"])
            assert r.exit_code == 2, f"{command} -o {out}: {r.output}"
            assert r.output.count("error") == 1 and says in r.output and "Errno" not in r.output, r.output
            assert fake_backend.calls == 0
    assert afile.read_text() == "keep me"
    if Path("/proc").is_dir():
        r = runner.invoke(app, ["parse", str(tmp_path / "x.jpg"), "-o", "/proc/nope", "-b", "fake"])
        assert r.exit_code == 2 and "Errno" not in r.output and "cannot create the output folder" in r.output, r.output


def test_json_timings_are_filled(tmp_path, fake_backend):
    """Issue 22 item 8: the CLI's JSON had ``"timings": {}``; ``parse`` gives decode, inference and write
    seconds, ``batch`` (whose outputs are the same from run to run and engine to engine) none."""
    img = tmp_path / "x.png"
    Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(img)
    for fmt, stages in (("labels,json", {"decode", "inference", "write"}), ("json", {"decode", "inference"})):
        out = tmp_path / fmt.replace(",", "-")
        r = runner.invoke(app, ["parse", str(img), "-o", str(out), "-b", "fake", "-f", fmt, "-q"])
        assert r.exit_code == 0, r.output
        timings = json.loads((out / "x.json").read_text())["timings"]
        assert set(timings) == stages and all(isinstance(v, float) and 0 <= v < 60 for v in timings.values())
    from humanparse.batch import plan_batch, run_local

    (tmp_path / "in").mkdir()
    Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(tmp_path / "in" / "y.png")
    run_local(plan_batch(tmp_path / "in", tmp_path / "batch", "labels,json"), fake_backend())
    assert "timings" not in json.loads((tmp_path / "batch" / "y.json").read_text())    # byte-identical reruns
