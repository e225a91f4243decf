"""Service errors and the handlers that turn every failure into one JSON shape.

Every error response of the service, including FastAPI's own 404/405/validation errors, has the body
``{"error": {"code": "<machine-readable>", "message": "<human-readable>"}}`` and the matching status.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ImageError, ImageTooLargeError

log = logging.getLogger("humanparse.service")

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests",
               503: "unavailable", 504: "timeout"}


class ServiceError(Exception):
    """An error with an HTTP status, a stable ``code`` string and optional response headers."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = headers or {}


class UploadTooLargeError(ServiceError):
    """The request body is larger than the upload limit (413)."""

    status, code = 413, "upload_too_large"


class UnsupportedMediaError(ServiceError):
    """The upload is not an image of a supported format (415)."""

    status, code = 415, "unsupported_media_type"


class InvalidInputError(ServiceError):
    """A parameter or image is well-formed HTTP but cannot be used (422), e.g. corrupt image, unknown part."""

    status, code = 422, "invalid_input"


class QueueFullError(ServiceError):
    """Every worker is busy and the waiting queue is full (503 with ``Retry-After``)."""

    status, code = 503, "queue_full"


class InferenceTimeoutError(ServiceError):
    """The request waited or ran longer than the per-request timeout (504)."""

    status, code = 504, "timeout"


class NotReadyError(ServiceError):
    """The model is not loaded (yet, or any more) (503)."""

    status, code = 503, "not_ready"


def error_body(code: str, message: str) -> dict:
    """The JSON body of every error response."""
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A :class:`JSONResponse` with :func:`error_body`."""
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so that every error, expected or not, is answered with :func:`error_body` JSON."""

    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(ImageTooLargeError)
    async def _too_many_pixels(_: Request, exc: ImageTooLargeError):
        return error_response(413, "image_too_large", str(exc).replace("<bytes>: ", ""))

    @app.exception_handler(ImageError)
    async def _bad_image(_: Request, exc: ImageError):
        return error_response(422, "invalid_image", str(exc).replace("<bytes>: ", ""))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        return error_response(422, "validation_error", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"{message}: {request.method} {request.url.path}"
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", f"internal error ({type(exc).__name__}); see server log")
