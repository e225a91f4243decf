"""bench/peers.py's ISNet peer plumbing (bench/isnet_peer.py), with hand-made chunks: no network, no model.

ISNet itself is never loaded here: these tests cover joining the npm package's chunks and the
"skipped" path when npm cannot fetch it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import isnet_peer  # noqa: E402

PARTS = [b"first chunk, ", b"second, ", b"and the third."]


def _resources(folder: Path, parts: list[bytes], size: int | None = None) -> dict:
    """Write ``parts`` as chunk files named by their SHA-256 and return a resources.json listing them in order."""
    chunks, pos = [], 0
    for data in parts:
        h = hashlib.sha256(data).hexdigest()
        (folder / h).write_bytes(data)
        chunks.append({"hash": h, "offsets": [pos, pos + len(data)]})
        pos += len(data)
    res = {"/models/tiny": {"chunks": chunks, "size": pos if size is None else size,
                            "mime": "application/octet-steam"}}
    (folder / "resources.json").write_text(json.dumps(res))
    return res


def test_join_in_listed_order(tmp_path):
    _resources(tmp_path, PARTS)
    # the hashes sort in another order than the list: the join must follow the list
    assert sorted(hashlib.sha256(p).hexdigest() for p in PARTS) != [hashlib.sha256(p).hexdigest() for p in PARTS]
    out = isnet_peer.join_chunks(tmp_path / "resources.json", "/models/tiny", tmp_path, tmp_path / "m.onnx",
                                 expected_size=sum(map(len, PARTS)), expected_chunks=3)
    assert out.read_bytes() == b"".join(PARTS)
    assert not (tmp_path / "m.onnx.part").exists()


def test_join_size_mismatch_leaves_nothing(tmp_path):
    res = _resources(tmp_path, PARTS, size=sum(map(len, PARTS)) + 1)
    with pytest.raises(isnet_peer.ChunkError, match="join into 35 bytes, resources.json lists 36"):
        isnet_peer.join_chunks(res, "/models/tiny", tmp_path, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.onnx.part").exists()
    with pytest.raises(isnet_peer.ChunkError, match="expected 88,188,479"):
        isnet_peer.join_chunks(res, "/models/tiny", tmp_path, tmp_path / "m.onnx", expected_size=88_188_479)


def test_join_checks_offsets_and_hash(tmp_path):
    res = _resources(tmp_path, PARTS)
    swapped = json.loads(json.dumps(res))
    c = swapped["/models/tiny"]["chunks"]
    c[0], c[1] = c[1], c[0]  # listed out of order: offsets no longer continue
    with pytest.raises(isnet_peer.ChunkError, match="chunk 0 starts at 13"):
        isnet_peer.join_chunks(swapped, "/models/tiny", tmp_path, tmp_path / "m.onnx")
    first = res["/models/tiny"]["chunks"][0]["hash"]
    (tmp_path / first).write_bytes(b"FIRST CHUNK, ")  # same length, other bytes
    with pytest.raises(isnet_peer.ChunkError, match="SHA-256"):
        isnet_peer.join_chunks(res, "/models/tiny", tmp_path, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_skipped_without_npm(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(isnet_peer.PeerSkipped, match="npm not found on PATH"):
        isnet_peer.ensure_model("medium", cache=tmp_path)
    import peers

    with pytest.raises(peers.PeerSkipped) as e:
        peers.open_peer("isnet", isnet_cache=tmp_path)
    assert peers.skip_line("isnet", str(e.value)).startswith("isnet: skipped (npm not found on PATH")


def test_skipped_when_npm_pack_fails(tmp_path):
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\nexit 1\n")
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(isnet_peer.PeerSkipped, match="exit 1; no network.*ENOTFOUND"):
        isnet_peer.ensure_model("small", cache=tmp_path, npm=str(npm))
    assert os.listdir(tmp_path) == ["npm"]


def test_person_target_ignores_255():
    import peers
    from humanparse.labels import mapping_lut

    gt = np.array([[0, 1, 255], [19, 0, 41]], np.uint8)
    lut = mapping_lut("ccp", "coarse")
    assert peers.person_target(gt, lut).tolist() == [[0, 1, 255], [1, 0, 1]]


def test_docs_carry_the_marked_tables():
    """--update-docs rewrites exactly the marked block of README.md and docs/accuracy.md."""
    import peers

    for path in (peers.ROOT / "README.md", peers.ROOT / "docs" / "accuracy.md"):
        text = path.read_text()
        assert text.count(peers.MARK_BEGIN) == 1 and text.count(peers.MARK_END) == 1
        new = peers.replace_marked(text, "| a | b |")
        assert f"{peers.MARK_BEGIN}\n| a | b |\n{peers.MARK_END}" in new
        assert new.split(peers.MARK_BEGIN)[0] == text.split(peers.MARK_BEGIN)[0]
        assert new.split(peers.MARK_END)[1] == text.split(peers.MARK_END)[1]
    with pytest.raises(ValueError, match="no <!-- peers:begin -->"):
        peers.replace_marked("no markers", "x")
