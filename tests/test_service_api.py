"""REST API of the service: every status code, every output format, limits, metrics, concurrency.

Status-code tests use fake backends (a synthetic :class:`Parsing`, optionally slow) so they are fast and
deterministic; one end-to-end test runs the real default backend on a real photo (skimage astronaut).
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("multipart")
pytest.importorskip("prometheus_client")
from fastapi.testclient import TestClient  # noqa: E402

from humanparse.backends.base import Backend  # noqa: E402
from humanparse.parsing import Parsing  # noqa: E402
from humanparse.service import create_app  # noqa: E402
from humanparse.service.jobs import limit_persons, parse_background_spec  # noqa: E402
from humanparse.service.errors import InvalidInputError  # noqa: E402

H, W = 60, 80


def synthetic_parsing(h: int, w: int) -> Parsing:
    """Two persons: person 1 (score 0.9) face over pants on the left, person 2 (score 0.6) upper-clothes + face on the right."""
    labels = np.zeros((h, w), np.uint8)
    inst = np.zeros((h, w), np.uint16)
    labels[h // 4: h // 2, : w // 2] = 13            # face
    labels[h // 2:, : w // 2] = 9                    # pants
    inst[h // 4:, : w // 2] = 1
    labels[h // 4:, w // 2 + 2:] = 5                 # upper-clothes
    labels[h // 4: h // 4 + 4, w // 2 + 2: w // 2 + 8] = 13
    inst[h // 4:, w // 2 + 2:] = 2
    return Parsing.from_maps(labels, inst, "cihp", [0.9, 0.6])


class FakeBackend(Backend):
    """Returns :func:`synthetic_parsing` at the image's size; optionally blocks until ``release`` is set."""

    name = "fake"
    label_set = "cihp"

    def __init__(self, max_persons: int = 10, delay: float = 0.0, release: threading.Event | None = None, **options):
        super().__init__(max_persons, **options)
        self.delay = delay
        self.release = release
        self.calls = 0

    def predict(self, image: np.ndarray) -> Parsing:
        self.calls += 1
        if self.release is not None:
            self.release.wait(timeout=10)
        if self.delay:
            time.sleep(self.delay)
        return synthetic_parsing(*image.shape[:2])


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def photo_png(photo) -> bytes:
    return png_bytes(photo)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(backend=FakeBackend(), max_upload_bytes=200_000, max_pixels=100_000)) as c:
        yield c


def upload(data: bytes, name: str = "photo.png", ctype: str = "image/png") -> dict:
    return {"image": (name, data, ctype)}


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def decode_png(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(content)))


# ------------------------------------------------------------------------------------------ 200s
def test_parse_json_round_trips_the_parsing(client, photo_png):
    r = client.post("/v1/parse", files=upload(photo_png))
    assert r.status_code == 200, r.text
    body = r.json()
    expected = synthetic_parsing(H, W)
    assert (body["width"], body["height"], body["label_set"], body["backend"]) == (W, H, "cihp", "fake")
    assert body["num_persons"] == 2
    assert [p["bbox"] for p in body["persons"]] == [list(p.bbox) for p in expected.persons]
    assert body["persons"][1]["part_areas"] == expected.persons[1].part_areas
    back = Parsing.from_json(body)  # per-part COCO RLE masks decode to the exact maps
    np.testing.assert_array_equal(back.labels, expected.labels)
    np.testing.assert_array_equal(back.instances, expected.instances)
    assert {"decode", "inference", "encode", "total"} <= set(body["timings"])
    assert body["timings"]["total"] >= body["timings"]["inference"]
    assert "inference;dur=" in r.headers["server-timing"]
    assert r.headers["x-humanparse-persons"] == "2"


@pytest.mark.parametrize("fmt", ["labels", "instances", "color", "overlay"])
def test_parse_png_formats_match_the_parsing(client, photo, photo_png, fmt):
    r = client.post(f"/v1/parse?format={fmt}", files=upload(photo_png))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    got = decode_png(r.content)
    p = synthetic_parsing(H, W)
    expected = {"labels": p.labels, "instances": p.instances, "color": p.colorize(),
                "overlay": p.overlay(photo, 0.5)}[fmt]
    np.testing.assert_array_equal(got, expected)


def test_parse_options_as_form_fields_and_max_persons(client, photo_png):
    r = client.post("/v1/parse", data={"format": "instances", "max_persons": "1"}, files=upload(photo_png))
    assert r.status_code == 200, r.text
    inst = decode_png(r.content)
    assert r.headers["x-humanparse-persons"] == "1"
    assert set(np.unique(inst)) == {0, 1}
    # the kept person is the higher-scoring one (person 1, the left half)
    assert inst[:, : W // 2].any() and not inst[:, W // 2:].any()


def test_parse_label_set_maps_the_output_and_bad_sets_are_422_before_inference(client, photo_png):
    from humanparse.labels import map_labels

    r = client.post("/v1/parse?format=labels&label_set=coarse", files=upload(photo_png))
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(decode_png(r.content), map_labels(synthetic_parsing(H, W).labels, "cihp", "coarse"))
    body = client.post("/v1/parse", data={"label_set": "ppp"}, files=upload(photo_png)).json()
    assert body["label_set"] == "ppp" and body["num_persons"] == 2
    calls = client.app.state.pool.backends[0].calls
    err = assert_error(client.post("/v1/parse?label_set=nope", files=upload(photo_png)), 422, "invalid_parameter")
    assert "unknown label set" in err["message"]
    err = assert_error(client.post("/v1/parse?label_set=fashn", files=upload(photo_png)), 422, "invalid_parameter")
    assert "fake outputs cihp" in err["message"]
    assert client.app.state.pool.backends[0].calls == calls


def test_opacity_as_form_field_is_used(client, photo, photo_png):
    def overlay(**kw):
        r = client.post("/v1/parse", files=upload(photo_png), **kw)
        assert r.status_code == 200, r.text
        return decode_png(r.content)

    plain = overlay(data={"format": "overlay", "opacity": "0"})
    np.testing.assert_array_equal(plain, photo)                     # opacity 0: the photo itself
    assert (overlay(data={"format": "overlay"}) != photo).any()     # default 0.5 tints the persons
    np.testing.assert_array_equal(overlay(params={"opacity": 0}, data={"format": "overlay"}), plain)
    assert_error(client.post("/v1/parse", data={"opacity": "2"}, files=upload(photo_png)), 422, "validation_error")


def test_cutout_background_image_with_background_is_refused(client, photo_png):
    bg = png_bytes(np.zeros((30, 40, 3), np.uint8))
    backend = client.app.state.pool.backends[0]
    before = backend.calls
    err = assert_error(client.post("/v1/cutout", data={"background": "blur"},
                                   files={**upload(photo_png), "background_image": ("bg.png", bg, "image/png")}),
                       422, "invalid_parameter")
    assert "background_image" in err["message"] and "blur" in err["message"]
    assert backend.calls == before                                   # refused before inference


def test_cutout_person_above_max_persons_is_refused_before_inference(client, photo_png):
    backend = client.app.state.pool.backends[0]
    before = backend.calls
    err = assert_error(client.post("/v1/cutout", data={"person": "99"}, files=upload(photo_png)),
                       422, "invalid_parameter")
    assert "no person 99" in err["message"] and "10" in err["message"]
    err = assert_error(client.post("/v1/cutout", data={"person": "2", "max_persons": "1"}, files=upload(photo_png)),
                       422, "invalid_parameter")
    assert "max_persons=1" in err["message"]
    assert backend.calls == before
    r = client.post("/v1/cutout", data={"person": "2"}, files=upload(photo_png))   # within the limit: served
    assert r.status_code == 200 and backend.calls == before + 1


def test_cutout_hands_free_memory_back_after_each_job(client, photo_png, monkeypatch):
    import humanparse.malloc as malloc

    calls = []
    monkeypatch.setattr(malloc, "release_free_memory", lambda: calls.append(1) or True)
    assert client.post("/v1/cutout", data={"matting": "quality"}, files=upload(photo_png)).status_code == 200
    assert_error(client.post("/v1/cutout", data={"parts": "tail"}, files=upload(photo_png)), 422, "invalid_parameter")
    assert len(calls) == 2                                            # also when the job fails
    monkeypatch.undo()
    monkeypatch.setenv("HUMANPARSE_MALLOC_TRIM", "0")
    assert malloc.release_free_memory() is False


def test_limit_persons_keeps_top_scores_and_renumbers():
    p = synthetic_parsing(H, W)
    p2 = Parsing.from_maps(p.labels, p.instances, "cihp", [0.2, 0.7])
    kept = limit_persons(p2, 1)
    assert len(kept) == 1 and kept.persons[0].score == pytest.approx(0.7)
    assert kept.instances[:, : W // 2].max() == 0 and kept.labels[:, : W // 2].max() == 0
    assert limit_persons(p2, 5) is p2


def test_limit_persons_by_min_score():
    p = synthetic_parsing(H, W)
    p2 = Parsing.from_maps(p.labels, p.instances, "cihp", [0.2, 0.7])
    kept = limit_persons(p2, None, 0.5)
    assert len(kept) == 1 and kept.persons[0].score == pytest.approx(0.7)
    assert kept.instances[:, : W // 2].max() == 0
    assert limit_persons(p2, None, 0.1) is p2
    assert len(limit_persons(p2, None, 0.9)) == 0


def test_parse_min_score_drops_low_scoring_persons(client, photo_png):
    """min_score (query or form) keeps only persons scored at least that; out of 0..1 is a 422."""
    everyone = client.post("/v1/parse", files=upload(photo_png)).json()["persons"]
    assert everyone
    top = max(p["score"] for p in everyone)
    r = client.post("/v1/parse", params={"min_score": top}, files=upload(photo_png))
    assert r.status_code == 200
    kept = r.json()["persons"]
    assert len(kept) == sum(p["score"] >= top for p in everyone) and all(p["score"] >= top for p in kept)
    r = client.post("/v1/parse", data={"min_score": "1.0"}, files=upload(photo_png))
    assert all(p["score"] >= 1.0 for p in r.json()["persons"])
    assert client.post("/v1/parse", params={"min_score": 1.5}, files=upload(photo_png)).status_code == 422


def test_cutout_transparent_alpha_is_the_person_mask(client, photo, photo_png):
    r = client.post("/v1/cutout", data={"matting": "off"}, files=upload(photo_png))
    assert r.status_code == 200, r.text
    rgba = decode_png(r.content)
    assert rgba.shape == (H, W, 4)
    mask = synthetic_parsing(H, W).mask()
    np.testing.assert_array_equal(rgba[..., 3], mask.astype(np.uint8) * 255)
    np.testing.assert_array_equal(rgba[..., :3][mask], photo[mask])


def test_cutout_part_of_one_person_over_a_colour(client, photo, photo_png):
    r = client.post("/v1/cutout", data={"parts": "face", "person": "2", "background": "#00ff00", "matting": "off"},
                    files=upload(photo_png))
    assert r.status_code == 200, r.text
    rgb = decode_png(r.content)
    mask = synthetic_parsing(H, W).mask("face", 2)
    assert rgb.shape == (H, W, 3)
    np.testing.assert_array_equal(rgb[mask], photo[mask])
    assert (rgb[~mask] == [0, 255, 0]).all()


def test_cutout_parts_in_another_label_set(client, photo, photo_png):
    """label_set=ppp: parts are Pascal-Person-Part names (head = CIHP face/hair/hat); without it the same
    name is unknown (422); a set the output cannot map to is 422 before inference."""
    data = {"parts": "head", "person": "2", "background": "#00ff00", "matting": "off", "label_set": "ppp"}
    r = client.post("/v1/cutout", data=data, files=upload(photo_png))
    assert r.status_code == 200, r.text
    mask = synthetic_parsing(H, W).to_label_set("ppp").mask("head", 2)
    assert mask.any()
    rgb = decode_png(r.content)
    np.testing.assert_array_equal(rgb[mask], photo[mask])
    assert (rgb[~mask] == [0, 255, 0]).all()
    assert_error(client.post("/v1/cutout", data={**data, "label_set": ""}, files=upload(photo_png)), 422,
                 "invalid_parameter")
    calls = client.app.state.pool.backends[0].calls
    err = assert_error(client.post("/v1/cutout", data={**data, "label_set": "fashn"}, files=upload(photo_png)), 422,
                       "invalid_parameter")
    assert "fake outputs cihp" in err["message"] and client.app.state.pool.backends[0].calls == calls


def test_cutout_background_image_and_blur(client, photo_png):
    bg = np.full((30, 40, 3), (10, 20, 200), np.uint8)
    r = client.post("/v1/cutout", data={"matting": "fast"},
                    files={**upload(photo_png), "background_image": ("bg.png", png_bytes(bg), "image/png")})
    assert r.status_code == 200, r.text
    rgb = decode_png(r.content)
    far = ~synthetic_parsing(H, W).mask()
    far[H // 4 - 3:, :] = False  # away from the matte's soft band
    assert (rgb[far] == [10, 20, 200]).all()
    r = client.post("/v1/cutout", data={"background": "blur"}, files=upload(photo_png))
    assert r.status_code == 200 and decode_png(r.content).shape == (H, W, 3)


def test_cutout_bad_parameters_are_422(client, photo_png):
    assert_error(client.post("/v1/cutout", data={"parts": "tail"}, files=upload(photo_png)), 422, "invalid_parameter")
    err = assert_error(client.post("/v1/cutout", data={"person": "9"}, files=upload(photo_png)), 422, "invalid_parameter")
    assert "no person 9" in err["message"]
    # a background is never read from a server path or fetched from a URL
    for spec in ("/etc/passwd", "http://127.0.0.1:1/x.png"):
        assert_error(client.post("/v1/cutout", data={"background": spec}, files=upload(photo_png)), 422, "invalid_parameter")
    assert_error(client.post("/v1/cutout", data={"matting": "magic"}, files=upload(photo_png)), 422, "validation_error")


def test_background_spec_parser():
    assert parse_background_spec(None) == "transparent"
    assert parse_background_spec("#00FF00") == (0, 255, 0)
    assert parse_background_spec("1, 2,3") == (1, 2, 3)
    assert parse_background_spec("BLUR") == "blur"
    with pytest.raises(InvalidInputError):
        parse_background_spec("256,0,0")


def test_labels_models_health_openapi_docs(client):
    r = client.get("/v1/labels")
    assert r.status_code == 200
    body = r.json()
    assert body["default"] == "cihp"
    cihp = next(s for s in body["label_sets"] if s["name"] == "cihp")
    from humanparse.labels import get_label_set
    ls = get_label_set("cihp")
    assert [c["name"] for c in cihp["classes"]] == list(ls.classes)
    assert [c["color"] for c in cihp["classes"]] == ls.palette.tolist()
    models = client.get("/v1/models").json()
    assert models["active"]["name"] == "fake"
    sets = models["output_label_sets"]
    assert sets[0] == "cihp" and {"coarse", "ppp"} <= set(sets) and "fashn" not in sets and "ccp" not in sets
    assert {b["name"] for b in models["backends"]} >= {"mediapipe", "m2fp"}
    assert next(b for b in models["backends"] if b["name"] == "mediapipe")["installed"] is True
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["backend"] == "fake" and health["queue_size"] == 8
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/parse", "/v1/cutout", "/v1/labels", "/v1/models", "/healthz", "/metrics"} <= set(paths)
    assert "multipart/form-data" in paths["/v1/parse"]["post"]["requestBody"]["content"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # The docs page works offline: every script/stylesheet comes from this server, none from a CDN.
    import re

    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', docs.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    assert all(client.get(a).status_code == 200 for a in assets)


def test_web_ui_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js"' in r.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


# ------------------------------------------------------------------------------------------ errors
def test_upload_too_big_is_413(client):
    err = assert_error(client.post("/v1/parse", files=upload(b"\x89PNG" + b"0" * 300_000)), 413, "upload_too_large")
    assert "200,000 bytes" in err["message"]


def test_upload_cap_holds_without_content_length():
    """A chunked body (no Content-Length) is cut off by counting bytes as they stream in."""
    app = create_app(backend=FakeBackend(), max_upload_bytes=10_000)
    sent = {"n": 0}

    def body():
        for _ in range(50):
            sent["n"] += 1
            yield b"x" * 1000

    with TestClient(app) as c:
        r = c.post("/v1/parse", content=body(), headers={"content-type": "multipart/form-data; boundary=zz"})
    assert_error(r, 413, "upload_too_large")


def test_too_many_pixels_is_413(client):
    big = np.zeros((400, 300, 3), np.uint8)  # 120,000 px > 100,000
    err = assert_error(client.post("/v1/parse", files=upload(png_bytes(big))), 413, "image_too_large")
    assert "400" in err["message"] and "100,000" in err["message"]


def test_decompression_bomb_header_is_413_without_decoding(client):
    """A tiny PNG whose header claims 100,000 x 100,000 pixels is refused from the header alone."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    assert len(bomb) < 200
    assert_error(client.post("/v1/parse", files=upload(bomb)), 413, "image_too_large")


def test_non_image_is_415(client, photo_png):
    assert_error(client.post("/v1/parse", files=upload(b"hello world", "notes.txt", "text/plain")),
                 415, "unsupported_media_type")
    # declared as an image but not one
    assert_error(client.post("/v1/parse", files=upload(b"%PDF-1.4 not really", "x.png", "image/png")),
                 415, "unsupported_media_type")
    # a real image sent with a non-image content type
    assert_error(client.post("/v1/parse", files=upload(photo_png, "x.json", "application/json")),
                 415, "unsupported_media_type")


def test_corrupt_image_is_422(client, photo_png):
    err = assert_error(client.post("/v1/parse", files=upload(photo_png[: len(photo_png) // 2])), 422, "invalid_image")
    assert "truncated" in err["message"] or "corrupt" in err["message"]
    assert_error(client.post("/v1/parse", files=upload(b"")), 422, "invalid_image")


def test_not_found_method_and_validation_errors_are_json(client):
    assert "/nowhere" in assert_error(client.get("/nowhere"), 404, "not_found")["message"]
    assert_error(client.get("/v1/parse"), 405, "method_not_allowed")
    assert "image" in assert_error(client.post("/v1/parse"), 422, "validation_error")["message"]
    assert_error(client.post("/v1/parse?format=gif", files=upload(b"x")), 422, "validation_error")
    assert_error(client.post("/v1/parse?max_persons=0", files=upload(b"x")), 422, "validation_error")


def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_queue_full_is_503_with_retry_after(photo_png):
    release = threading.Event()
    app = create_app(backend=FakeBackend(release=release), workers=1, queue_size=1, timeout_s=20)
    with TestClient(app) as c:
        pool = app.state.pool
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(c.post("/v1/parse", files=upload(photo_png)).status_code))
                   for _ in range(2)]
        try:
            threads[0].start()
            _wait_for(lambda: pool.busy == 1)          # one running (blocked in the backend) ...
            threads[1].start()
            _wait_for(lambda: pool.queue_depth == 1)   # ... one waiting: the pool is full
            r = c.post("/v1/parse", files=upload(photo_png))
            assert_error(r, 503, "queue_full")
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert c.get("/healthz").json()["queue_depth"] == 1
        finally:
            release.set()
            for t in threads:
                t.join(10)
        assert results == [200, 200]
        metrics = c.get("/metrics").text
    assert 'humanparse_rejected_total{reason="queue_full"} 1.0' in metrics


def test_timeout_is_504_and_worker_recovers(photo_png):
    backend = FakeBackend(delay=0.6)
    app = create_app(backend=backend, timeout_s=0.2)
    with TestClient(app) as c:
        t0 = time.perf_counter()
        assert_error(c.post("/v1/parse", files=upload(photo_png)), 504, "timeout")
        assert time.perf_counter() - t0 < 0.55  # answered at the timeout, not when the backend finished
        _wait_for(lambda: app.state.pool.busy == 0)
        backend.delay = 0.0
        assert c.post("/v1/parse", files=upload(photo_png)).status_code == 200


def test_metrics_count_requests_by_route_and_status(photo_png):
    from prometheus_client.parser import text_string_to_metric_families

    app = create_app(backend=FakeBackend())
    with TestClient(app) as c:
        for _ in range(3):
            assert c.post("/v1/parse", files=upload(photo_png)).status_code == 200
        c.post("/v1/parse", files=upload(b"nope", "a.txt", "text/plain"))
        c.get("/missing")
        r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(r.text) for s in fam.samples}
    assert samples[("humanparse_requests_total", (("method", "POST"), ("route", "/v1/parse"), ("status", "200")))] == 3
    assert samples[("humanparse_requests_total", (("method", "POST"), ("route", "/v1/parse"), ("status", "415")))] == 1
    assert samples[("humanparse_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] == 1
    assert samples[("humanparse_inference_seconds_count", (("backend", "fake"),))] == 3
    assert samples[("humanparse_request_duration_seconds_count", (("route", "/v1/parse"),))] == 4
    assert ("humanparse_queue_depth", ()) in samples


def test_concurrent_clients_get_no_5xx_and_pool_stops(photo_png):
    """4 clients x 10 requests through a 2-worker pool with room for all: all 200, threads gone afterwards."""
    app = create_app(backend=FakeBackend(delay=0.005), workers=2, queue_size=4)
    statuses: list[int] = []
    lock = threading.Lock()
    with TestClient(app) as c:
        def client_loop():
            for _ in range(10):
                code = c.post("/v1/parse?format=labels", files=upload(photo_png)).status_code
                with lock:
                    statuses.append(code)

        threads = [threading.Thread(target=client_loop) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        workers = list(app.state.pool._threads)
    assert len(statuses) == 40 and set(statuses) == {200}
    assert len(workers) == 2 and not any(t.is_alive() for t in workers)


def test_requests_before_startup_are_503(photo_png):
    c = TestClient(create_app(backend=FakeBackend()))  # not entered: lifespan (model loading) has not run
    assert_error(c.get("/healthz"), 503, "not_ready")
    assert_error(c.post("/v1/parse", files=upload(photo_png)), 503, "not_ready")


def test_create_app_rejects_bad_limits():
    for kwargs in ({"workers": 0}, {"queue_size": -1}, {"max_upload_bytes": 0}, {"timeout_s": 0}):
        with pytest.raises(ValueError):
            create_app(backend=FakeBackend(), **kwargs)


# ------------------------------------------------------------------------------------------ real backend
def test_real_backend_end_to_end_on_a_real_photo():
    skimage_data = pytest.importorskip("skimage.data")
    from humanparse.errors import HumanParseError

    app = create_app(backend="mediapipe")
    try:
        c = TestClient(app).__enter__()
    except HumanParseError as e:
        pytest.skip(f"default backend unavailable: {e}")
    try:
        photo = skimage_data.astronaut()  # 512 x 512, one person (NASA portrait of Eileen Collins)
        data = io.BytesIO()
        Image.fromarray(photo).save(data, format="JPEG", quality=92)
        r = c.post("/v1/parse", files=upload(data.getvalue(), "astronaut.jpg", "image/jpeg"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["width"], body["height"]) == (512, 512) and body["backend"] == "mediapipe"
        assert body["num_persons"] >= 1
        person = max(body["persons"], key=lambda p: p["area"])
        x1, y1, x2, y2 = person["bbox"]
        assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512
        assert person["area"] > 0.1 * 512 * 512
        assert any(k in person["part_areas"] for k in ("face", "hair"))
        labels = decode_png(c.post("/v1/parse?format=labels", files=upload(data.getvalue(), "a.jpg", "image/jpeg")).content)
        assert labels.shape == (512, 512) and labels[:, :].max() > 0
    finally:
        c.__exit__(None, None, None)


def test_unknown_backend_fails_at_startup_and_in_the_cli():
    from typer.testing import CliRunner

    from humanparse.cli.main import app as cli
    from humanparse.errors import BackendUnavailableError

    with pytest.raises(BackendUnavailableError, match="unknown backend 'nope'"):
        with TestClient(create_app(backend="nope")):
            pass
    result = CliRunner().invoke(cli, ["serve", "--backend", "nope", "--port", "0"])
    assert result.exit_code == 2
    assert "unknown backend 'nope'" in result.output


class _PathsBackend(FakeBackend):
    """A backend whose description holds server paths, as m2fp's and segformer's do (weights, cache folder)."""

    def info(self) -> dict:
        return {**super().info(), "folder": self.options["weights"] + "/cache", "runtime": {"onnx": "~/.cache/x.onnx"}}


def test_models_show_ids_sources_licences_and_no_server_paths(tmp_path):
    """Issue 22 item 6: GET /v1/models showed absolute paths of the server's disk."""
    secret = tmp_path / "secret-home" / "models" / "parser.pt"
    with TestClient(create_app(backend=_PathsBackend(weights=str(secret)))) as c:
        r = c.get("/v1/models")
    assert r.status_code == 200
    assert "secret-home" not in r.text and str(tmp_path) not in r.text and "~/" not in r.text, r.text
    body = r.json()
    assert body["active"]["options"]["weights"] == "parser.pt" and body["active"]["folder"] == "cache"
    assert body["models"] and all(m["name"] and m["source"] and m["licence"] for m in body["models"])


def test_openapi_and_docs_count_under_their_route_names():
    """Issue 22 item 6: /openapi.json and /docs were counted as <unmatched> in /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with TestClient(create_app(backend=FakeBackend())) as c:
        for path in ("/openapi.json", "/docs", "/redoc", "/nowhere"):
            c.get(path)
        text = c.get("/metrics").text
    routes = {s.labels["route"]: s.labels["status"] for fam in text_string_to_metric_families(text)
              for s in fam.samples if s.name == "humanparse_requests_total"}
    assert {"/openapi.json", "/docs", "/redoc"} <= set(routes), routes
    assert routes["<unmatched>"] == "404"                       # only the path no route serves


def test_two_image_parts_are_a_422_naming_the_field(photo, photo_png):
    """Issue 22 item 7: two ``image`` parts in one request were taken as "the last one wins"."""
    other = png_bytes(photo[::-1].copy())
    backend = FakeBackend()
    with TestClient(create_app(backend=backend)) as c:
        for path in ("/v1/parse", "/v1/cutout"):
            r = c.post(path, files=[("image", ("a.png", photo_png, "image/png")), ("image", ("b.png", other, "image/png"))])
            err = assert_error(r, 422, "invalid_parameter")
            assert err["message"].startswith("image:") and "2 times" in err["message"], err
        r = c.post("/v1/cutout", files=[("image", ("a.png", photo_png, "image/png")),
                                        ("background_image", ("b.png", other, "image/png")),
                                        ("background_image", ("c.png", other, "image/png"))])
        assert assert_error(r, 422, "invalid_parameter")["message"].startswith("background_image:")
        assert c.post("/v1/parse", files=upload(photo_png)).status_code == 200       # one image: fine
    assert backend.calls == 1


def test_truncated_background_image_is_a_422_naming_it_before_inference(photo_png):
    """Issue 22 item 7: a truncated ``background_image`` was reported without its field, after inference."""
    backend = FakeBackend()
    with TestClient(create_app(backend=backend)) as c:
        r = c.post("/v1/cutout", files={"image": ("a.png", photo_png, "image/png"),
                                        "background_image": ("bg.png", photo_png[: len(photo_png) // 2], "image/png")})
        err = assert_error(r, 422, "invalid_image")
        assert err["message"].startswith("background_image:") and ("truncated" in err["message"]
                                                                   or "corrupt" in err["message"]), err
        err = assert_error(c.post("/v1/parse", files=upload(photo_png[: len(photo_png) // 2])), 422, "invalid_image")
        assert err["message"].startswith("image:"), err
    assert backend.calls == 0                                  # refused before any inference
