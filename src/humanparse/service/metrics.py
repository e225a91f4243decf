"""Prometheus metrics of the service (``GET /metrics``), via ``prometheus_client``.

Each app gets its own :class:`prometheus_client.CollectorRegistry`, so several apps in one process
(tests) do not share counters. Route labels are route *templates* (``/v1/parse``), never raw paths,
so scanners probing random URLs cannot blow up the number of series (they count as ``<unmatched>``).
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Histogram buckets in seconds, from a cached label call (~10 ms) to the longest timeout."""


class ServiceMetrics:
    """The metric families of one app.

    Families (all prefixed ``humanparse_``): ``requests_total{method,route,status}``,
    ``request_duration_seconds{route}`` (histogram), ``inference_seconds{backend}`` (histogram, model
    time only), ``job_seconds`` (histogram, whole worker job: decode + model + encode),
    ``queue_depth`` (jobs waiting), ``workers_busy``, ``rejected_total{reason}`` (queue_full, timeout,
    upload_too_large, ...).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("humanparse_requests", "HTTP requests by route and status.",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("humanparse_request_duration_seconds", "HTTP request latency (seconds).",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.inference = Histogram("humanparse_inference_seconds", "Model inference time per image (seconds).",
                                   ["backend"], buckets=LATENCY_BUCKETS, registry=r)
        self.job = Histogram("humanparse_job_seconds", "Worker time per request: decode, inference, encode (seconds).",
                             buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("humanparse_queue_depth", "Requests waiting for an inference worker.", registry=r)
        self.busy = Gauge("humanparse_workers_busy", "Inference workers running a request.", registry=r)
        self.rejected = Counter("humanparse_rejected", "Requests refused or aborted, by reason.", ["reason"], registry=r)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """ASGI middleware counting every HTTP request by route template and status, and timing it.

    Put it outermost, so responses written by other middleware (e.g. the upload limit's 413) count too.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        t0 = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_name(scope)
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - t0)


def route_name(scope: Scope) -> str:
    """The route template a handled request matched: ``/v1/parse``, ``/static`` for any static file,
    ``<unmatched>`` for a path no route serves.

    FastAPI's own routes record themselves in ``scope["route"]``; plain Starlette routes, such as
    ``/openapi.json`` and the offline ``/docs`` and ``/redoc`` pages, only leave their ``endpoint``, which
    is looked up among the app's routes.
    """
    if scope.get("path", "").startswith("/static/") or scope.get("path") == "/static":
        return "/static"
    path = getattr(scope.get("route"), "path", None)
    if path:
        return path
    endpoint, app = scope.get("endpoint"), scope.get("app")
    if endpoint is not None and app is not None:
        for route in getattr(app, "routes", ()):
            if getattr(route, "endpoint", None) is endpoint and getattr(route, "path", None):
                return route.path
    return "<unmatched>"
