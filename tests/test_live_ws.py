"""``GET /v1/live`` over a real WebSocket (Starlette's test client): settings message, real frames answered,
a corrupt frame, an oversized frame and a too-large image answered with JSON errors while the session goes on,
frame dropping under a burst, alpha / transparent outputs, ``mode=parts`` with the service's parser, refusals."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from conftest import FakeBackend  # noqa: E402
from humanparse.live import decode_frame, encode_frame  # noqa: E402
from humanparse.service import create_app  # noqa: E402


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    from humanparse.samples import two_person_photo

    return cv2.resize(two_person_photo(360), (640, 360), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def jpeg(frame) -> bytes:
    return encode_frame(frame, 90)[0]


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(backend=FakeBackend())) as c:
        yield c


def next_message(ws, kind: str):
    """The next message of ``kind`` (``"bytes"``, or a JSON ``type`` such as ``"error"``), skipping stats."""
    while True:
        m = ws.receive()
        if m["type"] == "websocket.close":
            raise AssertionError(f"socket closed while waiting for {kind}: {m}")
        if m.get("bytes") is not None:
            if kind == "bytes":
                return m["bytes"]
            raise AssertionError(f"expected {kind}, got a frame")
        msg = json.loads(m["text"])
        if msg["type"] == "stats" and kind != "stats":
            continue
        assert msg["type"] == kind, msg
        return msg


def test_settings_then_frames(client, jpeg, frame):
    with client.websocket_connect("/v1/live?background=%2300ff00&quality=85") as ws:
        s = ws.receive_json()
        assert s["type"] == "settings" and s["mode"] == "person" and s["background"] == "#00ff00"
        assert s["quality"] == 85 and s["max_frame_bytes"] > 0 and s["model"].startswith("selfie")
        for _ in range(3):
            ws.send_bytes(jpeg)
            out = decode_frame(next_message(ws, "bytes"))
            assert out.shape == frame.shape
        # the flag in the top-left corner became green, the astronaut's face stayed
        assert np.abs(out[5:50, 5:50].astype(int) - [0, 255, 0]).mean() < 15
        assert np.abs(out[45:100, 125:175].astype(int) - frame[45:100, 125:175]).mean() < 6


def test_bad_frames_get_errors_and_the_session_goes_on(jpeg, frame):
    app = create_app(backend=FakeBackend())
    with TestClient(app) as c:
        app.state.live_limits.max_frame_bytes = 200_000
        app.state.live_limits.max_pixels = 1_000_000
        with c.websocket_connect("/v1/live") as ws:
            ws.receive_json()
            ws.send_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
            assert next_message(ws, "error")["code"] in ("invalid_image", "unsupported_media_type")
            ws.send_bytes(jpeg[: len(jpeg) // 3] + b"\x00" * 100)          # truncated: decodes partly or fails
            m = ws.receive()
            assert m.get("bytes") or json.loads(m["text"])["type"] in ("error", "stats")
            ws.send_bytes(b"\x00" * 300_000)
            err = next_message(ws, "error")
            assert err["code"] == "frame_too_large" and "300,000" in err["message"]
            buf = io.BytesIO()                                           # 2000 x 1000 = 2 MP, 8 kB as PNG
            from PIL import Image

            Image.new("RGB", (2000, 1000), (90, 90, 90)).save(buf, format="PNG")
            ws.send_bytes(buf.getvalue())
            err = next_message(ws, "error")
            assert err["code"] == "image_too_large" and "2000x1000" in err["message"]
            ws.send_text("hello")
            assert next_message(ws, "error")["code"] == "invalid_message"
            ws.send_bytes(jpeg)                                            # still alive
            assert decode_frame(next_message(ws, "bytes")).shape == frame.shape


def test_burst_is_dropped_not_queued(jpeg):
    app = create_app(backend=FakeBackend())
    with TestClient(app) as c:
        app.state.live_limits.stats_interval_s = 0.0          # a stats message after every frame
        with c.websocket_connect("/v1/live?background=blur") as ws:
            ws.receive_json()
            n = 40
            for _ in range(n):
                ws.send_bytes(jpeg)
            frames = 0
            while True:
                m = ws.receive()
                if m.get("bytes") is not None:
                    frames += 1
                    continue
                stats = json.loads(m["text"])
                assert stats["type"] == "stats"
                if stats["received"] == n and stats["processed"] + stats["dropped"] == n:
                    break
            assert stats["processed"] == frames == stats["frames"]   # every frame answered once or counted dropped
            assert stats["dropped"] > 0 and frames < n
            assert stats["latency_ms_p95"] >= stats["latency_ms_p50"] > 0 and stats["timings_ms"]["total"] > 0


def test_alpha_and_transparent_outputs(client, jpeg):
    with client.websocket_connect("/v1/live?output=alpha") as ws:
        ws.receive_json()
        ws.send_bytes(jpeg)
        matte = cv2.imdecode(np.frombuffer(next_message(ws, "bytes"), np.uint8), cv2.IMREAD_UNCHANGED)
        assert matte.shape == (360, 640) and matte[45:100, 125:175].mean() > 200 and matte[0:50, 0:50].mean() < 40
    with client.websocket_connect("/v1/live?background=transparent") as ws:
        ws.receive_json()
        ws.send_bytes(jpeg)
        data = next_message(ws, "bytes")
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        rgba = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert rgba.shape == (360, 640, 4) and rgba[0:50, 0:50, 3].mean() < 40


def test_parts_mode_uses_the_service_parser(client, jpeg, frame):
    with client.websocket_connect("/v1/live?mode=parts&parts=face&background=%23000000&smoothing=0") as ws:
        s = ws.receive_json()
        assert s["mode"] == "parts" and s["model"] == "fake"
        ws.send_bytes(jpeg)
        out = decode_frame(next_message(ws, "bytes"))
    from humanparse.live import PersonSegmenter
    from humanparse.live.follow import follow_mask

    box = FakeBackend().predict(frame).mask("face")
    with PersonSegmenter() as seg:                 # the parsing is kept only where the segmenter sees people
        face = follow_mask(box, None, seg(decode_frame(jpeg))) > 0.5
    assert 0 < face.sum() < box.sum()
    assert np.abs(out[face].astype(int) - frame[face]).mean() < 8
    assert out[~face].mean() < 3


@pytest.mark.parametrize("query, code", [("mode=fast", "invalid_parameter"), ("background=/etc/passwd", "invalid_parameter"),
                                         ("mode=parts&parts=wings", "invalid_parameter")])
def test_bad_parameters_close_the_session(client, query, code):
    with client.websocket_connect(f"/v1/live?{query}") as ws:
        err = ws.receive_json()
        assert err["type"] == "error" and err["code"] == code
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_json()
        assert e.value.code == 1008


def test_session_limit(jpeg):
    app = create_app(backend=FakeBackend())
    with TestClient(app) as c:
        app.state.live_limits.max_sessions = 1
        with c.websocket_connect("/v1/live") as first:
            first.receive_json()
            with c.websocket_connect("/v1/live") as second:
                err = second.receive_json()
                assert err["code"] == "too_many_sessions"
                with pytest.raises(WebSocketDisconnect) as e:
                    second.receive_json()
                assert e.value.code == 1013
            first.send_bytes(jpeg)
            assert next_message(first, "bytes")
        with c.websocket_connect("/v1/live") as again:       # the slot is free again
            assert again.receive_json()["type"] == "settings"


def test_live_page_is_served(client):
    r = client.get("/live")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/static/live.js" in r.text and 'id="out"' in r.text
    js = client.get("/static/live.js")
    assert js.status_code == 200 and "/v1/live" in js.text
