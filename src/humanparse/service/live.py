"""``GET /v1/live`` (WebSocket) and the ``/live`` page: real-time background replacement over one connection.

Protocol (see ``docs/live.md``): query parameters set the session (:func:`humanparse.live.options_from_query`);
the server's first message is text, ``{"type": "settings", ...}``. The client sends binary JPEG / WebP (or PNG)
frames; each processed frame is answered with one binary message (JPEG composite, RGBA PNG for
``background=transparent``, or the single-channel PNG matte for ``output=alpha``). A frame that arrives while
another is in work waits in a one-place slot and is replaced by a newer one (dropped, counted), so nothing
queues without bound. Bad frames get ``{"type": "error", "code", "message"}`` and the session goes on; about
once a second a ``{"type": "stats", ...}`` text message reports received / processed / dropped frames, fps and
latency. Refusals at the start (bad parameter, too many sessions, model not loaded) send an error message and
close the socket (codes 1008 policy violation, 1013 try again later).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse

from ..errors import HumanParseError
from ..live import LatestSlot, LiveProcessor, RateMeter, options_from_query
from .errors import ServiceError
from .jobs import check_upload

log = logging.getLogger("humanparse.service")

router = APIRouter()

CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013


@dataclass
class LiveLimits:
    """Limits of the live endpoint (``app.state.live_limits``; change them before the app starts serving).

    Attributes:
        max_sessions: WebSocket sessions at once; more are refused with ``too_many_sessions`` (close 1013).
        max_frame_bytes: largest frame message; larger ones get ``frame_too_large`` (uvicorn itself closes
            the connection, code 1009, above its ``ws_max_size``, 16 MiB by default).
        max_pixels: largest frame (width x height), checked from the header before decoding; at most the
            service's ``max_pixels``.
        stats_interval_s: seconds between ``stats`` messages.
    """

    max_sessions: int = 4
    max_frame_bytes: int = 4 * 2**20
    max_pixels: int = 3840 * 2160
    stats_interval_s: float = 1.0


def install_live(app: FastAPI) -> None:
    """Add ``GET /v1/live`` (WebSocket) and the ``/live`` page to the service ``app``, with default :class:`LiveLimits`."""
    config = app.state.config
    app.state.live_limits = LiveLimits(max_frame_bytes=min(LiveLimits.max_frame_bytes, config.max_upload_bytes),
                                       max_pixels=min(LiveLimits.max_pixels, config.max_pixels))
    app.state.live_sessions = 0
    app.include_router(router)


@router.get("/live", include_in_schema=False)
async def live_page() -> FileResponse:
    """The live page (webcam -> WebSocket -> canvas)."""
    static = resources.files(__package__) / "static"
    return FileResponse(str(static / "live.html"), media_type="text/html")


def _error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


def _parts_submit(pool):
    """A :data:`humanparse.live.parts.Submit` running the service's loaded default parser in its bounded pool."""
    def submit(rgb):
        return pool.submit(lambda backend: backend.predict(rgb))
    return submit


class _Session:
    """One connection's state: the slot, the processor, counters, a send lock (two tasks send)."""

    def __init__(self, ws: WebSocket, processor: LiveProcessor, limits: LiveLimits) -> None:
        self.ws, self.processor, self.limits = ws, processor, limits
        self.slot: LatestSlot[tuple[bytes, float]] = LatestSlot()
        self.wake = asyncio.Event()
        self.meter = RateMeter()
        self.errors = 0
        self.last_timings: dict = {}
        self.parts_age_s = None
        self._send_lock = asyncio.Lock()

    async def send_text(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send_text(text)

    async def send_bytes(self, data: bytes) -> None:
        async with self._send_lock:
            await self.ws.send_bytes(data)

    def stats(self) -> dict:
        return {"type": "stats", "received": self.slot.received, "processed": self.meter.count,
                "dropped": self.slot.dropped, "errors": self.errors, **self.meter.summary(),
                "timings_ms": {k: round(v, 1) for k, v in self.last_timings.items()},
                "parts_age_s": None if self.parts_age_s is None else round(self.parts_age_s, 2),
                "parsed": None if self.processor.parts is None else self.processor.parts.parsed}

    async def receive_loop(self) -> None:
        """Read client messages until it disconnects; put good-looking frames in the slot."""
        while True:
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            data = msg.get("bytes")
            if data is None:
                self.errors += 1
                await self.send_text(_error("invalid_message", "send frames as binary messages (JPEG or WebP)"))
                continue
            if len(data) > self.limits.max_frame_bytes:
                self.errors += 1
                await self.send_text(_error("frame_too_large", f"frame of {len(data):,} bytes exceeds the limit of "
                                                               f"{self.limits.max_frame_bytes:,}"))
                continue
            try:
                check_upload(data, None, self.limits.max_pixels, field="frame")
            except ServiceError as e:
                self.errors += 1
                await self.send_text(_error(e.code, e.message))
                continue
            except HumanParseError as e:          # ImageTooLargeError
                self.errors += 1
                await self.send_text(_error("image_too_large", str(e)))
                continue
            self.slot.put((data, time.perf_counter()))
            self.wake.set()

    async def process_loop(self) -> None:
        """Process the newest waiting frame, answer it; repeat. Never returns on its own."""
        max_fps = self.processor.options.max_fps
        next_start = 0.0
        last_stats = time.perf_counter()
        while True:
            await self.wake.wait()
            self.wake.clear()
            if max_fps:
                delay = next_start - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)       # frames arriving meanwhile replace the waiting one
            item = self.slot.take()
            if item is None:
                continue
            data, arrived = item
            next_start = time.perf_counter() + (1.0 / max_fps if max_fps else 0.0)
            try:
                body, _, frame = await asyncio.to_thread(self.processor.process_bytes, data)
            except (HumanParseError, ValueError, KeyError) as e:
                self.errors += 1
                code = "invalid_image" if isinstance(e, HumanParseError) else "invalid_parameter"
                await self.send_text(_error(code, str(e).strip("'\"")))
            else:
                await self.send_bytes(body)
                self.meter.add(time.perf_counter() - arrived)
                self.last_timings, self.parts_age_s = frame.timings, frame.parts_age_s
            if len(self.slot):
                self.wake.set()
            now = time.perf_counter()
            if now - last_stats >= self.limits.stats_interval_s:
                last_stats = now
                await self.send_text(json.dumps(self.stats()))


@router.websocket("/v1/live")
async def live_socket(ws: WebSocket) -> None:
    """The live WebSocket (module doc)."""
    app = ws.app
    limits: LiveLimits = app.state.live_limits
    await ws.accept()
    try:
        options = options_from_query(dict(ws.query_params))
        from ..compose import parse_background
        parse_background(options.background, allow_files=False)
    except ValueError as e:
        await ws.send_text(_error("invalid_parameter", str(e)))
        await ws.close(CLOSE_POLICY)
        return
    pool = app.state.pool
    if options.mode == "parts" and (pool is None or not pool.started):
        await ws.send_text(_error("not_ready", "the model is not loaded"))
        await ws.close(CLOSE_TRY_LATER)
        return
    if options.mode == "parts" and options.parts:
        from ..labels import resolve_parts
        try:
            resolve_parts(pool.backends[0].label_set, options.parts)
        except KeyError as e:
            await ws.send_text(_error("invalid_parameter", str(e).strip("'\"")))
            await ws.close(CLOSE_POLICY)
            return
    if app.state.live_sessions >= limits.max_sessions:
        await ws.send_text(_error("too_many_sessions", f"the server runs at most {limits.max_sessions} live "
                                                       "session(s) at once; try again later"))
        await ws.close(CLOSE_TRY_LATER)
        return
    app.state.live_sessions += 1
    processor = None
    try:
        submit = _parts_submit(pool) if options.mode == "parts" else None
        processor = await asyncio.to_thread(LiveProcessor, options, None, submit)
        settings = {"type": "settings", **options.to_dict(), "max_frame_bytes": limits.max_frame_bytes,
                    "max_pixels": limits.max_pixels,
                    "model": "selfie_segmentation_landscape" if options.mode == "person" else pool.backends[0].name}
        await ws.send_text(json.dumps(settings))
        session = _Session(ws, processor, limits)
        worker = asyncio.create_task(session.process_loop())
        try:
            await session.receive_loop()
        finally:
            worker.cancel()
            try:
                await worker
            except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                pass
        log.info("live session ended: %s", session.stats())
    except WebSocketDisconnect:
        pass
    finally:
        app.state.live_sessions -= 1
        if processor is not None:
            await asyncio.to_thread(processor.close)
