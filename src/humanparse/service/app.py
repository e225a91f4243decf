"""The FastAPI application: configuration, model loading at start-up, middleware, routes, Web UI.

Run it with ``humanparse serve`` or any ASGI server::

    from humanparse.service import create_app
    app = create_app(backend="mediapipe", workers=1)
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..backends import DEFAULT_BACKEND, get_backend
from ..backends.base import Backend
from .errors import install_error_handlers
from .inference import InferencePool
from .limits import BodySizeLimitMiddleware
from .live import install_live
from .metrics import MetricsMiddleware, ServiceMetrics
from .routes import router

log = logging.getLogger("humanparse.service")

DEFAULT_MAX_UPLOAD_BYTES = 20 * 2**20
"""20 MiB: a 24 MP JPEG straight from a camera is ~10-15 MiB."""
DEFAULT_MAX_PIXELS = 40_000_000
"""40 MP: about 7700 x 5200; a decoded RGB image of that size is 120 MB, the parsing maps another 120 MB."""


@dataclass
class ServiceConfig:
    """Settings of one service instance (see :func:`create_app` for their meaning)."""

    backend: str | Backend = DEFAULT_BACKEND
    backend_options: dict = field(default_factory=dict)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    queue_size: int = 8
    workers: int = 1
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.queue_size < 0:
            raise ValueError(f"queue_size must be >= 0, got {self.queue_size}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")

    def backend_factory(self):
        """A zero-argument callable giving a backend: a fresh one per call for a name, else the given instance."""
        if isinstance(self.backend, Backend):
            instance = self.backend
            return lambda: instance
        name, opts = self.backend, dict(self.backend_options)
        return lambda: get_backend(name, **opts)


def create_app(backend: str | Backend = DEFAULT_BACKEND, backend_options: dict | None = None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS,
               queue_size: int = 8, workers: int = 1, timeout_s: float = 60.0) -> FastAPI:
    """Build the service app. The model loads when the app starts (ASGI lifespan), not here.

    Args:
        backend: backend name (``"mediapipe"`` offline default, ``"m2fp"``, ``"segformer"``) — each worker
            loads its own instance, so backends need not be thread-safe — or a :class:`Backend` instance,
            shared by all workers and called by one at a time.
        backend_options: options for :func:`humanparse.get_backend`, e.g. ``{"max_persons": 5, "weights": ...}``.
        max_upload_bytes: largest request body in bytes; larger ones get 413 ``upload_too_large``.
        max_pixels: largest image in pixels (width x height); larger ones get 413 ``image_too_large``.
        queue_size: requests that may wait for a worker; beyond that, 503 ``queue_full`` with ``Retry-After``.
        workers: inference worker threads (each with its own backend instance when ``backend`` is a name).
        timeout_s: most seconds one request may wait plus run; beyond that, 504 ``timeout``.
    Returns:
        a FastAPI app: REST API under ``/v1``, ``/healthz``, ``/metrics``, OpenAPI at ``/docs``, Web UI at ``/``.
    Raises:
        ValueError: a limit is out of range.
    """
    config = ServiceConfig(backend, dict(backend_options or {}), max_upload_bytes, max_pixels, queue_size,
                           workers, timeout_s)
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = InferencePool(config.backend_factory(), config.workers, config.queue_size,
                             on_inference=metrics.job.observe)
        pool.start()  # loads the model(s); failures abort start-up with the backend's message
        metrics.queue_depth.set_function(lambda: pool.queue_depth)
        metrics.busy.set_function(lambda: pool.busy)
        app.state.pool = pool
        log.info("humanparse service ready: backend %s, %d worker(s), queue %d",
                 pool.backends[0].name, config.workers, config.queue_size)
        try:
            yield
        finally:
            app.state.pool = None
            pool.stop()

    # FastAPIOffline serves the Swagger UI / ReDoc assets from the installed package, not a CDN,
    # so /docs works on machines without internet.
    app = FastAPIOffline(
        title="humanparse",
        version=__version__,
        summary="Multi-person human parsing: body parts and clothing, person by person.",
        description="Upload a photo to `POST /v1/parse` for the label map, instance map and per-person part "
                    "masks (COCO RLE), or to `POST /v1/cutout` for a cut-out with a new background. "
                    "Errors are JSON `{\"error\": {\"code\", \"message\"}}`. The Web UI is at `/`.",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.metrics = metrics
    app.state.pool = None
    install_error_handlers(app)
    app.include_router(router)
    install_live(app)  # GET /v1/live (WebSocket) and the /live page

    static = resources.files(__package__) / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    # Order matters: the last added is outermost. Metrics see every response, including the 413s.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=config.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
