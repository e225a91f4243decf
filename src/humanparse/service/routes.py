"""HTTP routes of the service (``/v1/...``, ``/healthz``, ``/metrics``)."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from .. import __version__
from ..backends import available_backends
from ..labels import get_label_set, label_set_names, mapping_lut
from .errors import InvalidInputError, NotReadyError, ServiceError
from .jobs import JobResult, PersonLimit, check_upload, cutout_job, parse_background_spec, parse_job
from .schemas import ErrorResponse, HealthResponse, LabelsResponse, ModelsResponse, ParseResponse

router = APIRouter()

ParseFormat = Literal["json", "labels", "instances", "color", "overlay"]
Matting = Literal["off", "fast", "quality"]

_ERRORS = {code: {"model": ErrorResponse, "description": text} for code, text in {
    413: "Upload larger than the byte limit (`upload_too_large`) or image larger than the pixel limit (`image_too_large`).",
    415: "Not an image, or an image format the server does not decode (`unsupported_media_type`).",
    422: "Corrupt image (`invalid_image`), bad parameter (`validation_error`, `invalid_parameter`).",
    503: "All workers busy and the queue full (`queue_full`, with `Retry-After`), or model not loaded.",
    504: "The request took longer than the server's timeout (`timeout`).",
}.items()}

_PNG = {"content": {"image/png": {}}}


def _pool(request: Request):
    pool = request.app.state.pool
    if pool is None or not pool.started:
        raise NotReadyError("the model is not loaded")
    return pool


async def _read_upload(request: Request, upload: UploadFile, field: str) -> bytes:
    """Read an upload (its size is already capped by the body-limit middleware) and check its header."""
    data = await upload.read()
    await upload.close()
    check_upload(data, upload.content_type, request.app.state.config.max_pixels, field)
    return data


async def _run(request: Request, job) -> tuple[JobResult, float]:
    """Run ``job`` in the pool with the configured timeout; record metrics; return the result and wall time."""
    config, metrics = request.app.state.config, request.app.state.metrics
    pool = _pool(request)
    t0 = time.perf_counter()
    try:
        result: JobResult = await pool.run(job, config.timeout_s)
    except ServiceError as e:  # count refusals/timeouts by their code, then let the handlers answer
        metrics.rejected.labels(e.code).inc()
        raise
    total = time.perf_counter() - t0
    metrics.inference.labels(pool.backends[0].name).observe(result.timings.get("inference", 0.0))
    return result, total


def _headers(result: JobResult, total: float, filename: str) -> dict[str, str]:
    stages = {**result.timings, "total": total}
    return {
        "Server-Timing": ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in stages.items()),
        "X-Humanparse-Persons": str(len(result.parsing.persons)),
        "Content-Disposition": f'inline; filename="{filename}"',
    }


async def _one_value_per_field(request: Request) -> None:
    """422 naming the field when a form field comes more than once (two ``image`` parts): FastAPI would
    silently take one of them."""
    form = await request.form()         # already parsed by FastAPI: cached, not read again
    for field in dict.fromkeys(form.keys()):
        n = len(form.getlist(field))
        if n > 1:
            raise InvalidInputError(f"{field}: sent {n} times in one request; send it once",
                                    code="invalid_parameter")


def _pick(form_value, query_value):
    return form_value if form_value is not None else query_value


def _output_label_set(backend, name: str | None) -> str | None:
    """``name`` checked against ``backend``'s output (None: the backend's own); 422 before any inference."""
    if name:
        try:
            mapping_lut(backend.label_set, name)
        except (KeyError, ValueError) as e:
            raise InvalidInputError(f"label_set: {backend.name} outputs {backend.label_set}: {e.args[0]}",
                                    code="invalid_parameter") from None
    return name or None


def _mappable_label_sets(backend) -> list[str]:
    """Label sets ``backend``'s output maps to (:func:`humanparse.labels.mapping_lut`), its own first."""
    own = get_label_set(backend.label_set).name
    out = [own]
    for name in label_set_names():
        if name == own:
            continue
        try:
            mapping_lut(own, name)
        except (KeyError, ValueError):
            continue
        out.append(name)
    return out


@router.post("/v1/parse", summary="Parse every person in an image into body parts and clothing",
             response_model=ParseResponse, responses={**_ERRORS, 200: _PNG}, tags=["parsing"])
async def parse_image(
    request: Request,
    image: Annotated[UploadFile, File(description="The photo (JPEG, PNG, WebP, BMP, GIF, TIFF).")],
    format: Annotated[ParseFormat | None, Query(description="json (default) or a PNG: labels (8-bit class "
                                                 "ids), instances (16-bit person ids), color, overlay.")] = None,
    max_persons: Annotated[int | None, Query(ge=1, le=1000, description="Keep the N highest-scoring persons.")] = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0, description="Keep persons whose detection score "
                                             "is at least this (0..1); the server's detection threshold "
                                             "(`humanparse serve --min-score`) is the floor.")] = None,
    opacity: Annotated[float | None, Query(ge=0.0, le=1.0, description="Colour weight of format=overlay "
                                                                        "(default 0.5).")] = None,
    label_set: Annotated[str | None, Query(description="Output label set when not the backend's own: one its "
                                                         "classes map to (GET /v1/labels), e.g. cihp for plain "
                                                         "CIHP-20 from lite, whose cihp-bag adds a bag class.")] = None,
    format_form: Annotated[ParseFormat | None, Form(alias="format", description="Same as the query parameter.")] = None,
    max_persons_form: Annotated[int | None, Form(alias="max_persons", ge=1, le=1000)] = None,
    min_score_form: Annotated[float | None, Form(alias="min_score", ge=0.0, le=1.0)] = None,
    opacity_form: Annotated[float | None, Form(alias="opacity", ge=0.0, le=1.0)] = None,
    label_set_form: Annotated[str | None, Form(alias="label_set")] = None,
):
    """Returns JSON (image size, label set, persons with bbox/score/part areas and per-part COCO RLE masks,
    timings in seconds) or the PNG chosen by `format`. Parameters may come as query or form fields."""
    await _one_value_per_field(request)
    fmt = _pick(format_form, format) or "json"
    k = _pick(max_persons_form, max_persons)
    alpha = _pick(opacity_form, opacity)
    out_set = _output_label_set(_pool(request).backends[0], _pick(label_set_form, label_set))
    data = await _read_upload(request, image, "image")
    config = request.app.state.config
    limit = PersonLimit(k, _pick(min_score_form, min_score))
    result, total = await _run(request, parse_job(data, fmt, config.max_pixels, limit,
                                                  0.5 if alpha is None else alpha, out_set))
    headers = _headers(result, total, f"parsing_{fmt}.{'json' if fmt == 'json' else 'png'}")
    if fmt == "json":
        body = result.body
        body["timings"] = {**body.get("timings", {}), "encode": round(result.timings.get("encode", 0.0), 4),
                           "total": round(total, 4)}
        return JSONResponse(body, headers=headers)
    return Response(result.body, media_type=result.media_type, headers=headers)


@router.post("/v1/cutout", summary="Cut out persons or parts; replace the background",
             response_class=Response, responses={**_ERRORS, 200: _PNG}, tags=["parsing"])
async def cutout(
    request: Request,
    image: Annotated[UploadFile, File(description="The photo.")],
    background_image: Annotated[UploadFile | None, File(description="Optional new background (resized to cover).")] = None,
    parts: Annotated[str | None, Form(description="Comma-separated part names (e.g. 'hair,face', coarse "
                                                   "names like 'shoes'); default: the whole person.")] = None,
    person: Annotated[int | None, Form(ge=1, description="Keep only this person id (1..N).")] = None,
    background: Annotated[str | None, Form(description="transparent (default, RGBA PNG), blur, #rrggbb or r,g,b.")] = None,
    matting: Annotated[Matting, Form(description="Edge refinement: off (binary), fast, quality.")] = "fast",
    max_persons: Annotated[int | None, Form(ge=1, le=1000)] = None,
    min_score: Annotated[float | None, Form(ge=0.0, le=1.0, description="Keep persons whose detection score is "
                                                                          "at least this (as in /v1/parse).")] = None,
    label_set: Annotated[str | None, Form(description="Label set the parts are chosen in, when not the backend's "
                                                       "own (as in /v1/parse: person ids then match that "
                                                       "parsing's).")] = None,
):
    """Returns a PNG: RGBA with transparent background, or RGB over the chosen colour / blur / image.
    Refused before inference (422): `background` together with `background_image`, a `person` id above
    `max_persons` (the request's, else the server's), a `label_set` the backend's output cannot be mapped to."""
    await _one_value_per_field(request)
    has_bg_image = background_image is not None and bool(background_image.filename)
    if has_bg_image and background is not None:
        raise InvalidInputError(f"background={background} and background_image are two backgrounds; send one "
                                "(leave background out to put the person on the uploaded image)",
                                code="invalid_parameter")
    bg = parse_background_spec(background)
    out_set = _output_label_set(_pool(request).backends[0], label_set)
    if person is not None:
        limit = max_persons if max_persons is not None else _pool(request).backends[0].max_persons
        if person > limit:
            raise InvalidInputError(f"no person {person}: at most {limit} person(s) are parsed "
                                    f"(max_persons={limit})", code="invalid_parameter")
    data = await _read_upload(request, image, "image")
    bg_data = None
    if has_bg_image:
        bg_data = await _read_upload(request, background_image, "background_image")
    config = request.app.state.config
    job = cutout_job(data, config.max_pixels, PersonLimit(max_persons, min_score), parts, person, bg, matting,
                     bg_data, out_set)
    result, total = await _run(request, job)
    return Response(result.body, media_type="image/png", headers=_headers(result, total, "cutout.png"))


@router.get("/v1/labels", response_model=LabelsResponse, summary="All label sets with classes and colours",
            tags=["reference"])
async def labels(request: Request):
    pool = request.app.state.pool
    default = pool.backends[0].label_set if pool is not None and pool.backends else "cihp"
    return {"default": get_label_set(default).name,
            "label_sets": [get_label_set(n).to_dict() for n in label_set_names()]}


@router.get("/v1/models", response_model=ModelsResponse, summary="Backends and the loaded model", tags=["reference"])
async def models(request: Request):
    """The loaded backend, the registered backends, and the model catalogue with each model's id, source,
    licence and cache status. No file-system paths of the server (weights, caches): file names only.
    Cheap: nothing is imported or hashed (heavy backends such as torch stay unloaded)."""
    pool = _pool(request)
    active = pool.backends[0]
    backends = [{"name": name, "loaded": name == active.name, "installed": _module_exists(name)}
                for name in available_backends()]
    catalogue = []
    try:
        from ..models import CATALOG, cache_status
    except ImportError:
        CATALOG = ()
    for entry in CATALOG:
        status, _ = cache_status(entry)
        catalogue.append({"name": entry.name, "backend": entry.backend, "label_set": entry.label_set,
                          "licence": entry.licence, "source": entry.source, "status": status})
    return {"active": without_paths(active.info()), "output_label_sets": _mappable_label_sets(active),
            "backends": backends, "models": catalogue}


def _is_path(value: str) -> bool:
    from pathlib import PurePosixPath, PureWindowsPath

    return (PurePosixPath(value).is_absolute() or bool(PureWindowsPath(value).drive)
            or value.startswith(("~", "./", "../", ".\\", "..\\")))


def without_paths(value):
    """``value`` (JSON-like) with every file-system path replaced by its last component: the REST API tells
    which model runs (ids, file names, checksums, options), never where the server keeps it
    (``/home/…/weights/…``, ``~/.cache/…``). ``humanparse models list`` on the server shows the paths."""
    if isinstance(value, dict):
        return {k: without_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_paths(v) for v in value]
    if isinstance(value, str) and _is_path(value):
        from pathlib import PureWindowsPath

        return PureWindowsPath(value).name if "\\" in value else value.rstrip("/").rsplit("/", 1)[-1]
    return value


def _module_exists(backend: str) -> bool:
    from importlib.util import find_spec

    from ..backends import _REGISTRY

    try:
        return find_spec(_REGISTRY[backend][0]) is not None
    except (ImportError, ValueError, KeyError):
        return False


@router.get("/healthz", response_model=HealthResponse, responses={503: {"model": ErrorResponse}},
            summary="Liveness and load", tags=["operations"])
async def healthz(request: Request):
    pool = _pool(request)
    return {"status": "ok", "backend": pool.backends[0].name, "workers": pool.workers,
            "workers_busy": pool.busy, "queue_depth": pool.queue_depth, "queue_size": pool.queue_size,
            "version": __version__}


@router.get("/metrics", summary="Prometheus metrics (text exposition format)", tags=["operations"],
            response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request):
    body, ctype = request.app.state.metrics.render()
    return Response(body, media_type=ctype)
