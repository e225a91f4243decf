"""Batch parsing: resumable, atomic outputs, per-file errors in a report, inputs never touched."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from humanparse.backends.base import Backend
from humanparse.batch import BatchError, plan_batch, read_report, run_local
from humanparse.batch.core import PARTIAL_PREFIX, REPORT_NAME
from humanparse.parsing import Parsing


class CountingBackend(Backend):
    """Fake backend: bright pixels are one person's upper-clothes. Counts calls; can fail on a given size."""

    name = "counting"
    label_set = "cihp"

    def __init__(self, fail_width: int | None = None, **kw) -> None:
        super().__init__(**kw)
        self.calls = 0
        self.fail_width = fail_width

    def predict(self, image: np.ndarray) -> Parsing:
        self.calls += 1
        if image.shape[1] == self.fail_width:
            raise RuntimeError("model exploded")
        m = image.mean(axis=2) > 110
        return Parsing.from_maps(np.where(m, 5, 0), m.astype(np.uint16))


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def photos(tmp_path) -> Path:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    astro = skimage.data.astronaut()
    Image.fromarray(astro[::4, ::4]).save(src / "a.jpg", quality=90)
    Image.fromarray(astro[::3, ::3]).save(src / "b.png")
    Image.fromarray(skimage.data.chelsea()[::2, ::2]).save(src / "sub" / "c.jpg")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    (src / "notes.txt").write_text("not an image, not an input")
    return src


FORMATS = "labels,json,color"


def test_corrupt_file_is_reported_and_the_rest_finish(photos, tmp_path):
    out = tmp_path / "out"
    before = tree_hashes(photos)
    backend = CountingBackend()
    summary = run_local(plan_batch(photos, out, FORMATS), backend)
    assert (summary.total, summary.done, summary.failed, summary.skipped) == (4, 3, 1, 0)
    assert backend.calls == 3
    records = {r["input"]: r for r in read_report(out / REPORT_NAME)}
    assert set(records) == {"a.jpg", "b.png", "sub/c.jpg", "broken.jpg"}
    bad = records["broken.jpg"]
    assert bad["status"] == "failed" and "ImageError" in bad["error"] and "broken.jpg" in bad["error"]
    for stem in ("a", "b", "sub/c"):
        for suffix in ("_labels.png", "_color.png", ".json"):
            assert (out / f"{stem}{suffix}").is_file(), f"{stem}{suffix}"
    labels = np.asarray(Image.open(out / "a_labels.png"))
    assert labels.shape == (128, 128) and set(np.unique(labels)) <= {0, 5} and (labels == 5).any()
    assert not list(out.glob(f"{PARTIAL_PREFIX}*")), "temporary folders must be cleaned up"
    assert tree_hashes(photos) == before, "inputs must never change"


def test_second_run_skips_done_files_without_inference(photos, tmp_path):
    out = tmp_path / "out"
    run_local(plan_batch(photos, out, FORMATS), CountingBackend())
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    backend = CountingBackend()
    summary = run_local(plan_batch(photos, out, FORMATS), backend)
    assert backend.calls == 0
    assert (summary.done, summary.skipped, summary.failed) == (0, 3, 1)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == mtimes
    statuses = {r["input"]: r["status"] for r in read_report(out / REPORT_NAME)}
    assert statuses == {"a.jpg": "skipped", "b.png": "skipped", "sub/c.jpg": "skipped", "broken.jpg": "failed"}
    # An incomplete item (one output missing) is redone; --overwrite redoes everything.
    (out / "b_color.png").unlink()
    backend = CountingBackend()
    assert run_local(plan_batch(photos, out, FORMATS), backend).done == 1 and backend.calls == 1
    backend = CountingBackend()
    assert run_local(plan_batch(photos, out, FORMATS, overwrite=True), backend).done == 3 and backend.calls == 3


def test_backend_crash_on_one_file_leaves_no_partial_outputs(photos, tmp_path):
    out = tmp_path / "out"
    (out / f"{PARTIAL_PREFIX}stale").mkdir(parents=True)          # left by a killed run
    backend = CountingBackend(fail_width=171)                     # b.png is 512 / 3 -> 171 px wide
    summary = run_local(plan_batch(photos, out, FORMATS), backend)
    assert summary.failed == 2 and summary.done == 2
    errors = dict(summary.failures)
    assert "RuntimeError: model exploded" == errors["b.png"]
    assert not list(out.glob("b_*")) and not (out / "b.json").exists(), "a failed item must leave no output"
    assert not list(out.glob(f"{PARTIAL_PREFIX}*"))


def test_thread_workers_give_identical_outputs(photos, tmp_path):
    run_local(plan_batch(photos, tmp_path / "one", FORMATS), CountingBackend())
    summary = run_local(plan_batch(photos, tmp_path / "two", FORMATS), CountingBackend, workers=2)
    assert summary.done == 3
    one, two = tree_hashes(tmp_path / "one"), tree_hashes(tmp_path / "two")
    one.pop(REPORT_NAME), two.pop(REPORT_NAME)
    assert one == two and len(one) == 9
    with pytest.raises(ValueError, match="factory"):
        run_local(plan_batch(photos, tmp_path / "three", FORMATS), CountingBackend(), workers=2)


def test_output_inside_input_is_not_rescanned_and_stems_do_not_collide(photos, tmp_path):
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(photos / "a.png")      # a.jpg and a.png
    out = photos / "parsed"
    first = run_local(plan_batch(photos, out, "labels"), CountingBackend())
    assert first.total == 5 and first.done == 4
    assert (out / "a_jpg_labels.png").is_file() and (out / "a_png_labels.png").is_file()
    plan = plan_batch(photos, out, "labels")
    assert plan.total == 5 and len(plan.todo) == 1 and plan.todo[0].rel == "broken.jpg"


def test_bad_jobs_raise_clear_errors(photos, tmp_path):
    with pytest.raises(BatchError, match="not a folder"):
        plan_batch(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(BatchError, match="is the input folder"):
        plan_batch(photos, photos)
    with pytest.raises(BatchError, match="unknown"):
        plan_batch(photos, tmp_path / "out", "labels,thumbnail")


def test_label_set_maps_every_output_and_bad_names_fail_early(photos, tmp_path):
    """--label-set coarse: the labels written are the backend's CIHP labels mapped to coarse (the JSON
    says so); an unknown set stops the plan; a set the output cannot map to fails each file, reported."""
    from humanparse.labels import get_label_set, map_labels

    out = tmp_path / "out"
    summary = run_local(plan_batch(photos, out, FORMATS, label_set="coarse"), CountingBackend())
    assert summary.done == 3 and summary.failed == 1
    own = CountingBackend().predict(np.asarray(Image.open(photos / "b.png").convert("RGB")))
    want = map_labels(own.labels, "cihp", "coarse")
    got = np.asarray(Image.open(out / "b_labels.png"))
    assert (got == want).all() and set(np.unique(got)) == {0, get_label_set("coarse").index("upper-clothes")}
    assert get_label_set("coarse").index("upper-clothes") != 5
    assert json.loads((out / "b.json").read_text())["label_set"] == "coarse"
    with pytest.raises(BatchError, match="nosuchset"):
        plan_batch(photos, tmp_path / "out2", FORMATS, label_set="nosuchset")
    summary = run_local(plan_batch(photos, tmp_path / "out3", FORMATS, label_set="ccp"), CountingBackend())
    records = read_report(tmp_path / "out3" / REPORT_NAME)
    assert summary.done == 0 and all(r["status"] == "failed" for r in records)
    assert not list((tmp_path / "out3").glob("*.png"))


def test_cli_batch_label_set_is_checked_before_any_work(photos, tmp_path):
    from typer.testing import CliRunner

    from humanparse.cli.main import app

    r = CliRunner().invoke(app, ["batch", str(photos), "-o", str(tmp_path / "o"), "--label-set", "nosuchset"])
    assert r.exit_code == 2 and "nosuchset" in r.output
    assert not (tmp_path / "o").exists()


def test_cli_batch_exit_code_summary_and_resume(photos, tmp_path):
    """Real default backend on one real photo (plus the broken file): exit 1, summary, then a resumed run."""
    from typer.testing import CliRunner

    from humanparse.cli.main import app
    from humanparse.paths import shared_data_dir

    data = shared_data_dir()
    if data is None:
        pytest.skip("../shared/data not found: set HUMANPARSE_SHARED_DATA to the evaluation data folder")
    src = tmp_path / "real"
    src.mkdir()
    (src / "jockey.jpg").write_bytes((data / "unlabeled_photos" / "images" / "jockey.jpg").read_bytes())
    (src / "broken.jpg").write_bytes(b"garbage")
    out = tmp_path / "real_out"
    r = CliRunner().invoke(app, ["batch", str(src), "-o", str(out), "-f", "labels,json"])
    assert r.exit_code == 1, r.output
    assert "1 done" in r.output and "1 failed" in r.output and "broken.jpg" in r.output
    labels = np.asarray(Image.open(out / "jockey_labels.png"))
    assert labels.shape == (426, 640) and (labels > 0).mean() > 0.01
    stamp = os.stat(out / "jockey_labels.png").st_mtime_ns
    os.remove(src / "broken.jpg")
    r = CliRunner().invoke(app, ["batch", str(src), "-o", str(out), "-f", "labels,json"])
    assert r.exit_code == 0 and "1 skipped" in r.output
    assert os.stat(out / "jockey_labels.png").st_mtime_ns == stamp
    r = CliRunner().invoke(app, ["batch", str(src), "-o", str(out), "--engine", "spark"])
    assert r.exit_code == 2 and "spark" in r.output


def test_a_folder_holds_one_job_and_an_interrupted_overwrite_keeps_the_old_record(photos, tmp_path):
    """batch_job.json records backend and label set; another job stops at planning (nothing skipped
    wrongly); --overwrite takes the folder over, but only once every input was redone."""
    from humanparse.batch import JOB_NAME, read_job

    out = tmp_path / "out"
    lite = {"backend": "lite", "model": None, "weights": None, "max_persons": 10}
    run_local(plan_batch(photos, out, FORMATS, job=lite), CountingBackend())
    assert read_job(out) == {**lite, "label_set": None}
    assert len(plan_batch(photos, out, FORMATS, job=lite).skipped) == 3          # same job: resumes
    with pytest.raises(BatchError, match=r"another job \(backend lite.*label_set coarse"):
        plan_batch(photos, out, FORMATS, label_set="coarse", job=lite)
    other = {**lite, "backend": "mediapipe"}
    with pytest.raises(BatchError, match="backend mediapipe.*--overwrite"):
        plan_batch(photos, out, FORMATS, job=other)
    assert len(plan_batch(photos, out, FORMATS, job=None).skipped) == 3           # API without a job: no check

    class Interrupted(Exception):
        pass

    def stop_after_one(record):
        if record["status"] == "done":
            raise Interrupted
    with pytest.raises(Interrupted):
        run_local(plan_batch(photos, out, FORMATS, overwrite=True, job=other), CountingBackend(),
                  progress=stop_after_one)
    assert read_job(out)["backend"] == "lite", "an interrupted overwrite must not claim the folder"
    with pytest.raises(BatchError, match="another job"):
        plan_batch(photos, out, FORMATS, job=other)
    backend = CountingBackend()
    run_local(plan_batch(photos, out, FORMATS, overwrite=True, job=other), backend)
    assert backend.calls == 3 and read_job(out)["backend"] == "mediapipe"
    assert len(plan_batch(photos, out, FORMATS, job=other).skipped) == 3
    (out / JOB_NAME).write_text("{not json")                                     # damaged record: as if absent
    assert len(plan_batch(photos, out, FORMATS, job=lite).skipped) == 3


def test_cli_batch_refuses_to_resume_another_backends_folder(photos, tmp_path):
    from typer.testing import CliRunner

    from humanparse.batch import write_job
    from humanparse.batch.core import BatchPlan
    from humanparse.cli.main import app

    out = tmp_path / "o"
    write_job(BatchPlan(photos, out, ("labels",), job={"backend": "segformer", "model": None, "weights": None,
                                                        "max_persons": 10, "label_set": None}))
    r = CliRunner().invoke(app, ["batch", str(photos), "-o", str(out), "-f", "labels"])
    assert r.exit_code == 2 and "backend segformer" in r.output and "backend lite" in r.output, r.output
    assert sorted(p.name for p in out.iterdir()) == ["batch_job.json"], "nothing may be written"


def test_cli_batch_min_score_reaches_the_backend_and_the_job_record(photos, tmp_path, monkeypatch):
    """--min-score: the backend gets score_threshold; batch_job.json records it (a later run without it,
    or with another value, is another job); another backend or a value outside [0, 1) is a usage error
    before anything is written."""
    from typer.testing import CliRunner

    import humanparse.api
    from humanparse.batch import read_job
    from humanparse.cli.main import app

    seen = []

    def spy(name, **options):
        seen.append(options)
        return CountingBackend()

    monkeypatch.setattr(humanparse.api, "load_backend", spy)
    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["batch", str(photos), "-o", str(out), "-f", "labels", "--min-score", "0.35"])
    assert r.exit_code in (0, 1), r.output                      # the photos fixture holds a broken file
    assert seen and seen[0]["score_threshold"] == pytest.approx(0.35)
    assert read_job(out)["min_score"] == pytest.approx(0.35)
    r = CliRunner().invoke(app, ["batch", str(photos), "-o", str(out), "-f", "labels", "--min-score", "0.5"])
    assert r.exit_code == 2 and "min_score 0.35" in r.output, r.output
    for args in (["-b", "fake", "--min-score", "0.4"], ["--min-score", "1.5"]):
        bad = tmp_path / f"bad{len(args)}"
        r = CliRunner().invoke(app, ["batch", str(photos), "-o", str(bad), *args])
        assert r.exit_code == 2 and "--min-score" in r.output and not bad.exists(), r.output
