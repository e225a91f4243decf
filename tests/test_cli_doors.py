"""CLI rough edges (issue 13): output names that never collide, contradictory options, checks before the
model loads, help at 80 columns, no Python reprs, no dead progress bar. Fake backend: fast."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from humanparse.cli.main import app
from humanparse.io.naming import output_stems

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs"


def photo(path: Path, width: int, height: int = 40) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(path)
    return path


@pytest.fixture
def coll(tmp_path):
    """The folder of issue 13: photo.jpg, photo.png, photo.jpg.png, each of its own width."""
    d = tmp_path / "coll"
    for name, w in (("photo.jpg", 30), ("photo.png", 40), ("photo.jpg.png", 50)):
        photo(d / name, w)
    return d


# ------------------------------------------------------------------------------------ output names
def test_output_stems_rule(tmp_path):
    a, b, x = tmp_path / "a" / "soccer.jpg", tmp_path / "b" / "sub" / "soccer.jpg", tmp_path / "x.jpg"
    for p in (a, b, x):
        photo(p, 20)
    assert output_stems([a, b, x], [a, b, x]) == ["a/soccer_jpg", "b/sub/soccer_jpg", "x"]
    files = [photo(tmp_path / "c" / n, 20) for n in ("p.jpg", "p.png", "P.JPEG")]
    assert output_stems(files, [tmp_path / "c"]) == ["p_jpg", "p_png", "P_jpeg"]    # case-insensitive clash
    assert output_stems([x, x], [x, x]) == ["x_jpg", "x_jpg_2"]           # the same file twice
    assert output_stems([a, x], [tmp_path]) == ["a/soccer", "x"]         # no clash: names as before


def test_parse_folder_with_same_stem_writes_one_set_per_input(coll, tmp_path, fake_backend):
    out = tmp_path / "outc"
    r = runner.invoke(app, ["parse", str(coll), "-o", str(out), "-b", "fake", "-f", "json"])
    assert r.exit_code == 0, r.output
    assert "3 of 3 image(s) parsed" in r.output
    widths = {p.name: json.loads(p.read_text())["width"] for p in out.glob("*.json")}
    assert widths == {"photo_jpg.json": 30, "photo_png.json": 40, "photo.jpg.json": 50}


def test_parse_same_name_in_two_folders(tmp_path, fake_backend):
    a = photo(tmp_path / "a" / "soccer.jpg", 30)
    b = photo(tmp_path / "b" / "sub" / "soccer.jpg", 40)
    x = photo(tmp_path / "x.jpg", 50)
    out = tmp_path / "out"
    r = runner.invoke(app, ["parse", str(a), str(b), str(x), "-o", str(out), "-b", "fake", "-f", "json,labels"])
    assert r.exit_code == 0, r.output
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert found == ["a/soccer_jpg.json", "b/sub/soccer_jpg.json", "x.json"]
    assert json.loads((out / "b" / "sub" / "soccer_jpg.json").read_text())["width"] == 40
    assert len(list(out.rglob("*_labels.png"))) == 3


def test_cutout_folder_with_same_stem(coll, tmp_path, fake_backend):
    out = tmp_path / "out"
    r = runner.invoke(app, ["cutout", str(coll), "-o", str(out), "-b", "fake", "--matting", "off"])
    assert r.exit_code == 0, r.output
    sizes = {p.name: Image.open(p).size[0] for p in out.glob("*_cutout.png")}
    assert sizes == {"photo_jpg_cutout.png": 30, "photo_png_cutout.png": 40, "photo.jpg_cutout.png": 50}


def test_batch_uses_the_same_rule(coll, tmp_path):
    from humanparse.batch import plan_batch

    plan = plan_batch(coll, tmp_path / "out", "json")
    assert [i.stem for i in plan.todo] == output_stems([i.src for i in plan.todo], [coll])
    assert len({i.stem for i in plan.todo}) == 3


# ------------------------------------------------------------------------------------ options
def test_version():
    from humanparse import __version__

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output and "Missing command" not in r.output


@pytest.mark.parametrize("args, hint", [
    (["--keep", "hair", "--remove", "hair"], "nothing would be left"),
    (["--remove", "person"], "nothing would be left"),
    (["--preset", "upper", "--keep", "hair"], "--keep"),
])
def test_contradictory_cutout_options_are_refused(tmp_path, fake_backend, args, hint):
    src = photo(tmp_path / "x.png", 30)
    out = tmp_path / "out"
    r = runner.invoke(app, ["cutout", str(src), "-o", str(out), "-b", "fake", *args])
    assert r.exit_code == 2, r.output
    assert hint in r.output
    assert not out.exists() or not any(out.iterdir())
    assert fake_backend.calls == 0


def test_keep_minus_remove_that_leaves_parts_is_fine(tmp_path, fake_backend):
    src = photo(tmp_path / "x.png", 30)
    r = runner.invoke(app, ["cutout", str(src), "-o", str(tmp_path / "o"), "-b", "fake", "--matting", "off",
                            "--keep", "person", "--remove", "face"])
    assert r.exit_code == 0, r.output
    alpha = np.asarray(Image.open(tmp_path / "o" / "x_cutout.png"))[..., 3]
    assert 0 < (alpha > 0).sum() < alpha.size


@pytest.mark.parametrize("command", ["parse", "cutout"])
def test_missing_file_is_reported_before_the_model_loads(tmp_path, command):
    # "nope" is not a backend: had the model been loaded first, the error would be "unknown backend".
    r = runner.invoke(app, [command, str(tmp_path / "nonexistent.jpg"), "-b", "nope"])
    assert r.exit_code == 2
    assert "nonexistent.jpg: no such file or folder" in r.output and "unknown backend" not in r.output


def test_unknown_part_message_is_not_a_python_repr(tmp_path, fake_backend):
    src = photo(tmp_path / "x.png", 30)
    r = runner.invoke(app, ["cutout", str(src), "-b", "fake", "--keep", "tail"], env={"COLUMNS": "300"})
    assert r.exit_code == 2
    msg = " ".join(r.output.split())
    assert "unknown part 'tail'" in msg and "or 'person'" in msg and "KeyError" not in msg


# ------------------------------------------------------------------------------------ help and output layout
def _commands():
    r = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    names = re.findall(r"^│ (\w+)\s", r.output, flags=re.M)
    assert {"parse", "cutout", "batch", "models"} <= set(names), r.output
    return names


def test_help_fits_80_columns_without_python_types():
    for args in [["--help"], *([name, "--help"] for name in _commands()), ["models", "list", "--help"]]:
        r = runner.invoke(app, args, env={"COLUMNS": "80"})
        assert r.exit_code == 0, (args, r.output)
        too_wide = [line for line in r.output.splitlines() if len(line) > 80]
        assert not too_wide, (args, too_wide)
        assert not re.search(r"<(list\[|bool|str|int|path|float)", r.output), (args, r.output)
    r = runner.invoke(app, ["parse", "--help"], env={"COLUMNS": "80"})
    assert "cutout." in r.output and "…" not in r.output            # the --format list is not cut off


def test_models_list_at_80_columns_keeps_names_whole():
    from humanparse.models import CATALOG

    r = runner.invoke(app, ["models", "list"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert all(len(line) <= 80 for line in r.output.splitlines())
    for entry in CATALOG:
        assert re.search(rf"^{re.escape(entry.name)}\s", r.output, flags=re.M), entry.name


def test_dropped_progress_bar_leaves_nothing_behind():
    from rich.console import Console
    from rich.progress import Progress

    from humanparse.cli.common import drop_progress

    def run(stop):
        buf = io.StringIO()
        bar = Progress(console=Console(file=buf, force_terminal=False, width=80))
        bar.start()
        bar.add_task("video", total=None)
        stop(bar)
        return buf.getvalue()

    assert "video" in run(lambda bar: bar.stop())                        # what the user saw before
    assert "video" not in run(drop_progress)


def test_cutout_help_and_service_docs_agree_on_matting():
    r = runner.invoke(app, ["cutout", "--help"], env={"COLUMNS": "200"})
    help_text = " ".join(r.output.split())
    service = " ".join((DOCS / "service.md").read_text().split())
    for text in (help_text, service):
        assert "closed-form matting" in text and "40 k px" in text and "0.5 MP" in text
    assert "guided filter" not in help_text and "fast` (guided filter" not in service


def test_docs_option_tables_name_the_default_backend():
    """Every option table row for ``--backend`` in docs/ states the real default (issue 22, item 12)."""
    from humanparse.backends import _REGISTRY, DEFAULT_BACKEND

    rows = [(md.name, line) for md in sorted(DOCS.glob("*.md")) for line in md.read_text().splitlines()
            if line.startswith("|") and "--backend" in line.split("|")[1]]
    assert len(rows) >= 2
    for name, line in rows:
        cells = [c.strip().strip("`") for c in line.split("|")[2:]]
        assert DEFAULT_BACKEND in cells and not set(cells) & (set(_REGISTRY) - {DEFAULT_BACKEND}), f"{name}: {line}"
