"""Model management: catalogue, cache layout, checksummed downloads (with a fake hub), offline errors, CLI."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from humanparse.errors import BackendUnavailableError, WeightsNotFoundError
from humanparse.labels import get_label_set
from humanparse.models import (CATALOG, ChecksumMismatchError, ModelEntry, ModelFile, UnknownModelError, cache_status,
                               get_model, pull, resolve_weights)
from humanparse.models.cache import LOCK_NAME, read_lock
from humanparse.models.integrity import git_blob_sha1


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    """Every test gets its own empty HUMANPARSE_HOME and starts online (hub calls are faked per test)."""
    monkeypatch.setenv("HUMANPARSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUMANPARSE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("humanparse.models.download.hub_unreachable", lambda hub: None)  # the real probe: below
    return tmp_path / "home"


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if any Hugging Face network function is called."""
    import huggingface_hub

    def boom(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", boom)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", boom)


# ---------------------------------------------------------------- a fake Hugging Face hub
@dataclass
class _Meta:
    etag: str | None
    commit_hash: str | None = "c0ffee" * 6 + "c0ff"


class FakeHub:
    """Serves files from a local folder through monkeypatched ``hf_hub_download`` / ``get_hf_file_metadata``."""

    def __init__(self, root: Path, monkeypatch, etags: dict[str, str | None] | None = None):
        import huggingface_hub

        self.root, self.etags, self.downloads = root, etags or {}, []

        def hf_hub_url(repo_id, filename, *, revision=None, **_):
            return f"fake://{repo_id}@{revision}/{filename}"

        def get_hf_file_metadata(url, **_):
            return _Meta(self.etags.get(url.rsplit("/", 1)[1]))

        def hf_hub_download(repo_id, filename, *, revision=None, local_dir=None, **_):
            assert local_dir is not None and revision is not None
            self.downloads.append((repo_id, filename, revision))
            dest = Path(local_dir) / filename
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes((self.root / filename).read_bytes())
            return str(dest)

        monkeypatch.setattr(huggingface_hub, "hf_hub_url", hf_hub_url)
        monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", get_hf_file_metadata)
        monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served(tmp_path):
    """Files on the fake hub: a config (regular git file) and weights (LFS file)."""
    root = tmp_path / "hub"
    root.mkdir()
    (root / "config.json").write_bytes(b'{"model_type": "segformer"}\n')
    (root / "model.safetensors").write_bytes(os.urandom(4096))
    return root


def _entry(served: Path, pin_weights: bool = True, weights_sha: str | None = None) -> ModelEntry:
    data = (served / "model.safetensors").read_bytes()
    sha = weights_sha or (_sha(data) if pin_weights else None)
    return ModelEntry(name="tiny-test", backend="segformer", hub="huggingface", repo="someone/tiny",
                      revision="a" * 40,
                      files=(ModelFile("config.json"), ModelFile("model.safetensors", sha, len(data) if sha else None)),
                      label_set="atr", licence="MIT", commercial_use=True, url="https://example.invalid")


# ---------------------------------------------------------------- catalogue
def test_catalogue_entries_are_complete_and_consistent():
    names = [e.name for e in CATALOG]
    assert len(names) == len(set(names))
    for e in CATALOG:
        assert e.hub in ("huggingface", "modelscope", "bundled"), e.name
        # a model we ship ourselves points at its page in our docs, every other at its public model card
        assert e.files and e.licence and (e.url.startswith("https://")
                                          or (e.hub == "bundled" and e.url.startswith("docs/"))), e.name
        if e.label_set is not None:  # None: a person detector, no label map
            get_label_set(e.label_set)  # raises on an unknown set
        for f in e.files:
            assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256), (e.name, f.name)
            assert f.size is None or f.size > 0
        if e.hub == "huggingface":
            assert re.fullmatch(r"[0-9a-f]{40}", e.revision), f"{e.name}: HF revision must be a commit hash"
        elif e.hub == "modelscope":
            assert e.revision, e.name
    m2fp = get_model("m2fp-r101-cihp")
    assert m2fp.hub == "modelscope" and m2fp.repo == "damo/cv_resnet101_image-multiple-human-parsing"
    assert {f.name for f in m2fp.files} == {"pytorch_model.pt", "configuration.json"}
    assert "CC BY-NC 4.0" in m2fp.licence and m2fp.commercial_use is False
    assert get_model("fashn-human-parser").commercial_use is False
    assert get_model("segformer-b2-clothes").label_set == "atr"
    assert get_model("FASHN-human-parser").label_set == "fashn"  # case-insensitive
    with pytest.raises(UnknownModelError, match="known models: .*segformer-b2-clothes"):
        get_model("segformer-b9")


def test_bundled_mediapipe_models_need_no_download(no_network):
    for e in CATALOG:
        if e.hub == "bundled":
            folder = resolve_weights(e.name)
            assert all((folder / f.name).is_file() for f in e.files)
            assert cache_status(e)[0] == "bundled"


# ---------------------------------------------------------------- --weights
def test_weights_folder_wins_and_is_validated(tmp_path, no_network):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "preprocessor_config.json").write_text("{}")
    with pytest.raises(WeightsNotFoundError, match="model.safetensors or pytorch_model.bin"):
        resolve_weights("segformer-b2-clothes", weights=d)
    (d / "pytorch_model.bin").write_bytes(b"x")  # an own fine-tune: accepted, not checksummed
    assert resolve_weights("segformer-b2-clothes", weights=d) == d
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        resolve_weights("m2fp-r101-cihp", weights=tmp_path / "nope")
    ckpt = tmp_path / "m2fp.pt"
    ckpt.write_bytes(b"\0" * 10)
    assert resolve_weights("m2fp-r101-cihp", weights=ckpt) == ckpt
    ckpt.write_bytes(b"")
    with pytest.raises(WeightsNotFoundError, match="empty"):
        resolve_weights("m2fp-r101-cihp", weights=ckpt)


# ---------------------------------------------------------------- offline
@pytest.mark.parametrize("var", ["HUMANPARSE_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_error_says_what_to_run_and_where(monkeypatch, _home, no_network, var):
    monkeypatch.setenv(var, "1")
    with pytest.raises(WeightsNotFoundError) as info:
        resolve_weights("segformer-b2-clothes")
    msg = str(info.value)
    assert f"{var}=1" in msg
    assert "humanparse models pull segformer-b2-clothes" in msg
    assert "humanparse models path segformer-b2-clothes" in msg
    assert str(_home / "models" / "segformer-b2-clothes") in msg
    assert "--weights PATH" in msg and "model.safetensors" in msg


def test_download_false_never_touches_the_network(no_network):
    with pytest.raises(WeightsNotFoundError, match="download=False"):
        resolve_weights("fashn-human-parser", download=False)


def test_modelscope_client_missing_gives_pip_hint(monkeypatch):
    # Importing modelscope (or any of its already-imported submodules) now raises ImportError.
    for name in [m for m in sys.modules if m == "modelscope" or m.startswith("modelscope.")] + ["modelscope"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(BackendUnavailableError, match="pip install modelscope"):
        pull("m2fp-r101-cihp")


def test_modelscope_download_path_with_fake_client(monkeypatch, tmp_path, _home):
    """The M2FP entry through a stand-in ``modelscope`` client: pinned tag requested, listing SHA-256 enforced."""
    import types

    blobs = {"pytorch_model.pt": os.urandom(2048), "configuration.json": b'{"framework": "pytorch"}'}
    listed = [{"Path": "pytorch_model.pt", "Sha256": _sha(blobs["pytorch_model.pt"])}]  # config: unlisted
    calls = []

    def model_file_download(model_id, file_path, revision=None, cache_dir=None, **_):
        calls.append((model_id, file_path, revision))
        dest = Path(cache_dir) / model_id / file_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(blobs[file_path])
        return str(dest)

    class HubApi:
        def get_model_files(self, model_id, revision=None, recursive=False):
            return listed

    hub_pkg = types.ModuleType("modelscope.hub")
    fd = types.ModuleType("modelscope.hub.file_download")
    fd.model_file_download = model_file_download
    api = types.ModuleType("modelscope.hub.api")
    api.HubApi = HubApi
    for name, mod in {"modelscope": types.ModuleType("modelscope"), "modelscope.hub": hub_pkg,
                      "modelscope.hub.file_download": fd, "modelscope.hub.api": api}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    folder = resolve_weights("m2fp-r101-cihp")
    assert folder == _home / "models" / "m2fp-r101-cihp"
    assert (folder / "pytorch_model.pt").read_bytes() == blobs["pytorch_model.pt"]
    assert {c[2] for c in calls} == {"v1.0.1"}
    files = read_lock(folder)["files"]
    assert files["pytorch_model.pt"]["verified_by"] == "hub-sha256"
    assert files["configuration.json"]["verified_by"] == "first-use"
    blobs["pytorch_model.pt"] = b"changed on the hub"  # the listing still has the original digest
    with pytest.raises(ChecksumMismatchError):
        pull("m2fp-r101-cihp", force=True)
    assert (folder / "pytorch_model.pt").stat().st_size == 2048  # the verified copy is untouched


def test_unreachable_hub_becomes_weights_not_found(monkeypatch):
    import huggingface_hub

    def refuse(*a, **k):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", refuse)
    with pytest.raises(WeightsNotFoundError, match="ConnectionError: Name or service not known"):
        resolve_weights("segformer-b2-clothes")
    assert not any(p.name.startswith(".staging") for p in (Path(os.environ["HUMANPARSE_HOME"]) / "models").iterdir())


# ---------------------------------------------------------------- a hub that cannot be reached: fast, quiet
@pytest.fixture
def closed_hub(monkeypatch):
    """The real reachability probe, with ModelScope's and Hugging Face's endpoints on a closed 127.0.0.1 port
    (nothing else is contacted); yields that port."""
    from humanparse.models import download, reach

    with socket.socket() as s:          # a free port, closed again: a connect is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(download, "hub_unreachable", reach.hub_unreachable)
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv(reach.TIMEOUT_ENV, raising=False)
    reach.forget()
    yield port
    reach.forget()


def _fake_modelscope(monkeypatch, download) -> None:
    """A stand-in ``modelscope`` client whose ``model_file_download`` is ``download`` (listing: empty)."""
    class HubApi:
        def get_model_files(self, model_id, revision=None, recursive=False):
            return []

    fd = types.ModuleType("modelscope.hub.file_download")
    fd.model_file_download = download
    api = types.ModuleType("modelscope.hub.api")
    api.HubApi = HubApi
    for name, mod in {"modelscope": types.ModuleType("modelscope"), "modelscope.hub": types.ModuleType("modelscope.hub"),
                      "modelscope.hub.file_download": fd, "modelscope.hub.api": api}.items():
        monkeypatch.setitem(sys.modules, name, mod)


@pytest.mark.parametrize("name", ["m2fp-r101-cihp", "segformer-b2-clothes"])
def test_unreachable_hub_fails_at_once_with_the_offline_message(monkeypatch, closed_hub, name):
    """No route to the hub: the clear error (``--weights`` hint, the endpoint named) within 5 s, and the hub
    client (which would retry for a minute) is never called."""
    import huggingface_hub

    calls = []

    def client(*a, **k):
        calls.append(a)
        raise ConnectionError("the client was called")

    _fake_modelscope(monkeypatch, client)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", client)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", client)
    t0 = time.monotonic()
    with pytest.raises(WeightsNotFoundError) as info:
        resolve_weights(name)
    assert time.monotonic() - t0 < 5.0
    assert calls == []
    msg = str(info.value)
    assert f"cannot connect to 127.0.0.1:{closed_hub}" in msg and "--weights PATH" in msg
    assert f"humanparse models pull {name}" in msg


def test_reachability_probe_is_bounded_cached_and_finds_a_listening_hub(monkeypatch, closed_hub):
    """A name lookup that hangs costs the probe's time limit, not more; one answer per process (cached);
    a hub that accepts connections is reachable; HUMANPARSE_HUB_TIMEOUT=0 turns the probe off."""
    from humanparse.models import reach

    lookups = []

    def hanging_lookup(*a, **k):
        lookups.append(a)
        time.sleep(3)
        raise socket.gaierror("too late")

    with monkeypatch.context() as m:
        m.setenv(reach.TIMEOUT_ENV, "0.3")
        m.setenv("MODELSCOPE_ENDPOINT", "https://hub.invalid")
        m.setattr(reach.socket, "getaddrinfo", hanging_lookup)
        t0 = time.monotonic()
        why = reach.hub_unreachable("modelscope")
        assert time.monotonic() - t0 < 1.0
        assert why == "cannot connect to hub.invalid:443: no answer within 0.3 s"
        assert reach.hub_unreachable("modelscope") == why and len(lookups) == 1   # cached: not asked again
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert reach.hub_unreachable("huggingface") is None
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_hub}")
    assert "connection refused" in reach.hub_unreachable("huggingface")
    monkeypatch.setenv(reach.TIMEOUT_ENV, "0")
    assert reach.hub_unreachable("huggingface") is None
    monkeypatch.setenv(reach.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match="HUMANPARSE_HUB_TIMEOUT"):
        reach.hub_unreachable("huggingface")


def test_proxy_variables_choose_what_the_probe_connects_to(monkeypatch):
    from humanparse.models.reach import connect_target

    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    assert connect_target("https://modelscope.cn") == ("modelscope.cn", 443)
    assert connect_target("http://127.0.0.1:8080/x") == ("127.0.0.1", 8080)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.lan:3128")
    monkeypatch.setenv("NO_PROXY", "mirror.lan")
    assert connect_target("https://modelscope.cn") == ("proxy.lan", 3128)
    assert connect_target("https://mirror.lan") == ("mirror.lan", 443)


def test_quiet_drops_the_hub_clients_retry_warnings_not_their_errors(monkeypatch):
    """Under ``-q`` (quiet_requested) a retrying client's warnings are not printed; its errors are, and
    without ``-q`` the warnings are (so the check can fail)."""
    from humanparse.logs import quiet_requested

    def flaky(model_id, file_path, revision=None, cache_dir=None, **_):
        logging.getLogger("modelscope_hub.download").warning("Download failed, retrying in 2.0s")
        logging.getLogger("modelscope_hub.download").error("gave up")
        raise ConnectionError("network down")

    _fake_modelscope(monkeypatch, flaky)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    hub_logger = logging.getLogger("modelscope_hub")
    hub_logger.addHandler(handler)
    level = hub_logger.level
    hub_logger.setLevel(logging.INFO)
    try:
        with quiet_requested(), pytest.raises(WeightsNotFoundError, match="--weights PATH"):
            pull("m2fp-r101-cihp")
        assert [r.getMessage() for r in records] == ["gave up"]
        assert hub_logger.level == logging.INFO                                     # restored
        records.clear()
        with pytest.raises(WeightsNotFoundError):
            pull("m2fp-r101-cihp")
        assert [r.getMessage() for r in records] == ["Download failed, retrying in 2.0s", "gave up"]
    finally:
        hub_logger.removeHandler(handler)
        hub_logger.setLevel(level)


def test_cli_parse_m2fp_without_a_route_is_one_quick_quiet_error_line(tmp_path, closed_hub):
    """``humanparse parse photo -b m2fp -q`` with the hub unreachable: exit 2, one ``error`` line with the
    ``--weights`` hint, no retry warnings, long before the clients' retries (~40 s on a refused port) end."""
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.new("RGB", (32, 32)).save(photo)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1] / "src"),
                                                                        os.environ.get("PYTHONPATH")]))}
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "humanparse.cli.main", "parse", str(photo), "-b", "m2fp", "-q",
                        "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=env)
    elapsed = time.monotonic() - t0
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error") and "--weights PATH" in lines[0], lines
    assert f"127.0.0.1:{closed_hub}" in lines[0]
    assert elapsed < 30, elapsed


# ---------------------------------------------------------------- download path, cache, checksums
def test_pull_writes_cache_and_lock_and_verifies(served, monkeypatch, _home):
    cfg = (served / "config.json").read_bytes()
    hub = FakeHub(served, monkeypatch, etags={"config.json": git_blob_sha1(served / "config.json")})
    entry = _entry(served)
    folder = resolve_weights(entry)
    assert folder == _home / "models" / "tiny-test"
    assert (folder / "config.json").read_bytes() == cfg
    assert (folder / "model.safetensors").read_bytes() == (served / "model.safetensors").read_bytes()
    assert [d[1] for d in hub.downloads] == ["config.json", "model.safetensors"]
    assert all(d[2] == "a" * 40 for d in hub.downloads)  # pinned revision requested
    lock = read_lock(folder)
    assert lock["revision"] == "a" * 40 and lock["commit"]
    assert lock["files"]["config.json"] == {**lock["files"]["config.json"], "sha256": _sha(cfg),
                                            "verified_by": "hub-git-sha1"}
    assert lock["files"]["model.safetensors"]["verified_by"] == "catalogue"
    assert not [p for p in (_home / "models").iterdir() if p.name.startswith(".staging")]
    # cached: no second download, works offline
    monkeypatch.setenv("HUMANPARSE_OFFLINE", "1")
    assert resolve_weights(entry) == folder
    assert len(hub.downloads) == 2
    assert cache_status(entry) == ("cached", folder)


def test_lfs_digest_from_hub_and_trust_on_first_use(served, monkeypatch):
    data = (served / "model.safetensors").read_bytes()
    FakeHub(served, monkeypatch, etags={"model.safetensors": f'"{_sha(data)}"'})  # config: no usable ETag
    folder = pull(_entry(served, pin_weights=False))
    files = read_lock(folder)["files"]
    assert files["model.safetensors"]["verified_by"] == "hub-sha256"
    assert files["config.json"]["verified_by"] == "first-use"
    assert files["config.json"]["sha256"] == _sha((served / "config.json").read_bytes())


def test_download_with_wrong_checksum_is_rejected_and_not_cached(served, monkeypatch, _home):
    FakeHub(served, monkeypatch)
    with pytest.raises(ChecksumMismatchError, match="model.safetensors"):
        pull(_entry(served, weights_sha="0" * 64))
    assert not (_home / "models" / "tiny-test" / "model.safetensors").exists()
    assert not (_home / "models" / "tiny-test" / LOCK_NAME).exists()


def test_hub_digest_mismatch_is_rejected(served, monkeypatch):
    FakeHub(served, monkeypatch, etags={"model.safetensors": "1" * 64})
    with pytest.raises(ChecksumMismatchError, match="expected SHA-256 1111"):
        pull(_entry(served, pin_weights=False))


def test_tampered_or_truncated_cache_is_detected(served, monkeypatch):
    FakeHub(served, monkeypatch)
    entry = _entry(served, pin_weights=False)  # verified by lock only (trust on first use)
    folder = pull(entry)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF  # same size, other content
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(1, 1))
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch for model.safetensors"):
        resolve_weights(entry)
    weights.write_bytes(bytes(data[:-10]))
    with pytest.raises(ChecksumMismatchError, match="truncated"):
        resolve_weights(entry)
    # --force fetches a good copy again
    assert pull(entry, force=True) == folder
    assert resolve_weights(entry) == folder


def test_files_copied_into_cache_by_hand_are_verified_against_the_catalogue(served, no_network):
    entry = _entry(served)
    target = Path(os.environ["HUMANPARSE_HOME"]) / "models" / entry.name
    target.mkdir(parents=True)
    (target / "config.json").write_bytes((served / "config.json").read_bytes())
    (target / "model.safetensors").write_bytes(b"not the pinned weights")
    with pytest.raises(ChecksumMismatchError):
        resolve_weights(entry)
    (target / "model.safetensors").write_bytes((served / "model.safetensors").read_bytes())
    assert pull(entry) == target  # `models pull` on the offline machine verifies instead of downloading
    assert resolve_weights(entry) == target
    assert read_lock(target)["files"]["model.safetensors"]["verified_by"] == "catalogue"


# ---------------------------------------------------------------- CLI
def _app():
    from humanparse.cli.main import app

    return app


def test_cli_pull_offline_is_one_error_line_exit_2(monkeypatch, _home, no_network):
    monkeypatch.setenv("HUMANPARSE_OFFLINE", "1")
    result = CliRunner().invoke(_app(), ["models", "pull", "segformer-b2-clothes"])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error")
    assert "humanparse models pull segformer-b2-clothes" in lines[0]
    assert str(_home / "models" / "segformer-b2-clothes") in lines[0]


def test_cli_list_json_path_and_unknown_name(_home):
    runner = CliRunner()
    result = runner.invoke(_app(), ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {e.name for e in CATALOG}
    assert rows["m2fp-r101-cihp"]["commercial_use"] is False and rows["m2fp-r101-cihp"]["status"] == "missing"
    assert rows["mediapipe-pose"]["status"] == "bundled"
    result = runner.invoke(_app(), ["models", "path", "fashn-human-parser"])
    assert result.exit_code == 0 and result.stdout.strip() == str(_home / "models" / "fashn-human-parser")
    result = runner.invoke(_app(), ["models", "list"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    m2fp_row = next(ln for ln in result.stdout.splitlines() if "m2fp-r101-cihp" in ln)
    assert "CC BY-NC 4.0" in m2fp_row and "NON-COMMERCIAL" in m2fp_row and "missing" in m2fp_row
    result = runner.invoke(_app(), ["models", "pull", "no-such-model"])
    assert result.exit_code == 2 and "unknown model" in result.stderr


def test_cli_list_names_the_shipped_person_detector_and_its_licence(_home, no_network):
    from humanparse.models.integrity import sha256_file
    from humanparse.persons import yolox

    runner = CliRunner()
    result = runner.invoke(_app(), ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    row = {r["name"]: r for r in json.loads(result.stdout)}["yolox-nano"]
    assert row["licence"] == "Apache-2.0" and row["commercial_use"] is True and row["status"] == "bundled"
    assert row["label_set"] is None                              # boxes, not a label map
    onnx = row["files"][0]
    folder = Path(row["path"])
    assert folder / onnx["name"] == yolox.WEIGHTS               # the catalogue points at the file the detector loads
    assert onnx["sha256"] == yolox.WEIGHTS_SHA256 == sha256_file(yolox.WEIGHTS)
    assert onnx["size"] == yolox.WEIGHTS.stat().st_size
    assert all((folder / f["name"]).is_file() for f in row["files"])   # licence and NOTICE ship beside it
    assert resolve_weights("yolox-nano") == folder
    for columns in ("300", "80"):                                # table, and one block per model
        result = runner.invoke(_app(), ["models", "list"], env={"COLUMNS": columns})
        assert result.exit_code == 0
        text = result.stdout
        block = text[text.index("yolox-nano"):]
        block = block[:min((block.find(e.name) for e in CATALOG if e.name != "yolox-nano" and e.name in block),
                           default=len(block))]
        assert "Apache-2.0" in block and "bundled" in block and "NON-COMMERCIAL" not in block
        assert "person boxes" in block and "cihp" not in block
