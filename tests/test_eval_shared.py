"""Evaluation on small slices of the real annotated data (../shared/data) with the real default backend.

Skipped when the data folder is absent. Full-set numbers are produced by the commands in docs/accuracy.md,
not here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from humanparse.paths import shared_data_dir

DATA = shared_data_dir()
pytestmark = pytest.mark.skipif(DATA is None, reason="../shared/data not found: set HUMANPARSE_SHARED_DATA "
                                                     "or place the evaluation data beside the repository")


@pytest.fixture(scope="module")
def backend():
    from humanparse.api import load_backend

    return load_backend("mediapipe")


def test_ccp_slice_through_default_backend(backend):
    from humanparse.eval import metrics
    from humanparse.eval.datasets import check_classes_file, find_samples
    from humanparse.eval.report import fairness_dict
    from humanparse.eval.runner import evaluate

    ccp = DATA / "ccp"
    check_classes_file(ccp, "ccp")
    samples = find_samples(ccp / "images", ccp / "labels", limit=3)
    res = evaluate(samples, "ccp", backend, fairness=True)
    assert res.images == 3 and not res.failures
    # CCP has no face class: the comparison folds face into skin on both sides
    assert res.comparison.merges == (("face", "skin"),) and "face" not in res.comparison.label_set.classes
    assert res.matrix.shape == (8, 9) and res.matrix[:, -1].sum() == 0  # CIHP output maps fully into coarse
    gt_rows = res.matrix.sum(1)
    assert gt_rows[res.comparison.label_set.index("skin")] > 0
    # every CCP photo shows one full-body person: a working parser must find most of them
    assert metrics.person_iou(res.matrix) > 0.6
    assert 0 < metrics.mean_iou(res.matrix) < 1
    f = fairness_dict(res, n_boot=50, min_units=2)
    assert len(f["units"]) == 3 and all(u["ita"] is not None and -90 < u["ita"] < 90 for u in f["units"])
    assert sum(g["n"] for g in f["groups"]) == 3


def test_cli_on_multi_person_with_instances_and_cache(tmp_path, backend):
    from typer.testing import CliRunner

    from humanparse.cli.main import app

    mp = DATA / "multi_person"
    args = ["eval", "--images", str(mp / "images"), "--labels", str(mp / "labels"), "--label-set", "cihp",
            "--instances", str(mp / "instances_approx"), "--limit", "2", "--fairness", "--boot", "50",
            "-o", str(tmp_path / "out"), "--quiet"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    for name in ("metrics.json", "report.md", "iou.png", "confusion.png", "fairness.json", "fairness.md"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["images"] == 2 and m["comparison"]["comparison_set"] == "cihp"
    # only 0002190 of the first two ids has an instance map; it shows 2 persons
    assert m["instances"]["images"] == 1 and m["instances"]["human"]["gt"] == 2
    assert m["instances"]["human"]["apr_50"] is not None and 0 <= m["instances"]["human"]["apr_vol"] <= 1
    assert "APr@0.5, persons" in (out / "report.md").read_text()
    f = json.loads((out / "fairness.json").read_text())
    assert [u["id"] for u in f["units"]] == ["0000002", "0002190#1", "0002190#2"]

    r2 = CliRunner().invoke(app, args)  # second run reads the prediction cache
    assert r2.exit_code == 0, r2.output
    m2 = json.loads((out / "metrics.json").read_text())
    assert m2["timing"]["predictions_from_cache"] == 2
    assert np.isclose(m2["miou"], m["miou"]) and m2["per_class"] == m["per_class"]


def test_cli_wrong_label_set_on_real_data(tmp_path):
    from typer.testing import CliRunner

    from humanparse.cli.main import app

    ccp = DATA / "ccp"
    r = CliRunner().invoke(app, ["eval", "--images", str(ccp / "images"), "--labels", str(ccp / "labels"),
                                 "--label-set", "cihp", "--limit", "1", "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "does not match label set 'cihp'" in r.output
