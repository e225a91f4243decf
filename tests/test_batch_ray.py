"""The Ray engine (Ray Data map_batches with model actors) gives the same files as the local engine.

Starts a local Ray instance with 2 CPUs, no dashboard; about 30-60 s on 2 busy cores.
"""

from __future__ import annotations

import json

import pytest

from humanparse.batch import plan_batch, read_report, run_local, run_ray
from humanparse.batch.core import REPORT_NAME
from humanparse.paths import shared_data_dir

IMAGES = ("jockey.jpg", "apollo11_crew.jpg")


def _without_timings(path):
    data = json.loads(path.read_text())
    data.pop("timings", None)
    return data


def test_ray_engine_matches_local_engine(tmp_path):
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as e:
        pytest.skip(f"ray[data] is not importable ({e}); pip install 'humanparse[ray]' to test the Ray engine")
    data = shared_data_dir()
    if data is None:
        pytest.skip("../shared/data not found: set HUMANPARSE_SHARED_DATA to the evaluation data folder")
    from humanparse.api import load_backend
    from humanparse.errors import BackendUnavailableError

    try:
        backend = load_backend("mediapipe")
    except BackendUnavailableError as e:
        pytest.skip(f"mediapipe backend unavailable: {e}")
    src = tmp_path / "in"
    (src / "group").mkdir(parents=True)
    (src / IMAGES[0]).write_bytes((data / "unlabeled_photos" / "images" / IMAGES[0]).read_bytes())
    (src / "group" / IMAGES[1]).write_bytes((data / "unlabeled_photos" / "images" / IMAGES[1]).read_bytes())
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")

    local = run_local(plan_batch(src, tmp_path / "local", "labels,json"), backend)
    ray_sum = run_ray(plan_batch(src, tmp_path / "ray", "labels,json"), "mediapipe", {}, workers=1, num_cpus=2)
    import ray

    assert not ray.is_initialized(), "the engine must shut down the Ray instance it started"
    for s in (local, ray_sum):
        assert (s.total, s.done, s.failed) == (3, 2, 1)
    records = {r["input"]: r for r in read_report(tmp_path / "ray" / REPORT_NAME)}
    assert records["broken.png"]["status"] == "failed" and "broken.png" in records["broken.png"]["error"]
    for stem in ("jockey", "group/apollo11_crew"):
        a = (tmp_path / "local" / f"{stem}_labels.png").read_bytes()
        b = (tmp_path / "ray" / f"{stem}_labels.png").read_bytes()
        assert a == b, f"{stem}: label PNGs differ between engines"
        assert _without_timings(tmp_path / "local" / f"{stem}.json") == \
            _without_timings(tmp_path / "ray" / f"{stem}.json")


def test_quiet_ray_batch_prints_nothing(tmp_path, two_person_photo):
    """Issue 22 item 8: ``batch --engine ray -q`` printed Ray's token-authentication and progress-bar notes and a
    C++ core_worker line about actor arguments; now its stderr and stdout are empty."""
    import os
    import subprocess
    import sys

    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as e:
        pytest.skip(f"ray[data] is not importable ({e}); pip install 'humanparse[ray]' to test the Ray engine")
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(two_person_photo[::4, ::4]).save(src / "two.png")
    env = {k: v for k, v in os.environ.items() if k not in ("HUMANPARSE_LOG_LEVEL", "RAY_BACKEND_LOG_LEVEL")}
    r = subprocess.run([sys.executable, "-m", "humanparse.cli.main", "batch", str(src), "-o", str(tmp_path / "out"),
                        "--engine", "ray", "--workers", "1", "-f", "labels", "-q"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "two_labels.png").is_file()
    assert r.stderr == "" and r.stdout == "", r.stderr + r.stdout
