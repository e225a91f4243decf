"""Pydantic models of the service's JSON bodies (they document the API in OpenAPI at ``/docs``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'upload_too_large', 'queue_full'.")
    message: str = Field(description="Human-readable explanation.")


class ErrorResponse(BaseModel):
    """Body of every error response."""

    error: ErrorDetail


class CocoRLE(BaseModel):
    """COCO run-length encoding of a binary mask (column-major, compressed string counts)."""

    size: list[int] = Field(description="[height, width]")
    counts: str


class PersonOut(BaseModel):
    id: int = Field(description="Instance id: value of this person's pixels in the instance map (1..N).")
    bbox: list[int] = Field(description="[x1, y1, x2, y2] in pixels, x2/y2 exclusive.")
    score: float = Field(description="Detection confidence in [0, 1].")
    area: int = Field(description="Pixels of this person.")
    part_areas: dict[str, int] = Field(description="Pixels per class name present in this person.")
    head: list[float] | None = Field(None, description="[x, y] in pixels: top of the person's own pixels, "
                                     "centred (mean x of its top 3 % rows); where the Web UI puts the number.")
    mask: CocoRLE | None = Field(None, description="The whole person (COCO RLE).")
    masks: dict[str, CocoRLE] | None = Field(None, description="One COCO RLE per part present.")


class ParseResponse(BaseModel):
    """``POST /v1/parse?format=json``: :meth:`humanparse.Parsing.to_json` plus the backend name."""

    width: int
    height: int
    label_set: str = Field(description="Name of the label set of class ids; see GET /v1/labels.")
    classes: list[str] = Field(description="Class names; index = pixel value of the label map.")
    num_persons: int
    persons: list[PersonOut]
    timings: dict[str, float] = Field(description="Seconds per stage: queue, decode, inference, encode, total.")
    backend: str


class LabelClass(BaseModel):
    id: int
    name: str
    color: list[int] = Field(description="[r, g, b] palette colour, 0..255.")


class LabelSetOut(BaseModel):
    name: str
    title: str
    source: str
    notes: str
    classes: list[LabelClass]


class LabelsResponse(BaseModel):
    default: str = Field(description="Label set of the loaded backend's output.")
    label_sets: list[LabelSetOut]


class BackendOut(BaseModel):
    name: str
    loaded: bool = Field(description="This server runs it.")
    installed: bool = Field(description="Its module is installed (its dependencies are not imported to check).")


class ModelOut(BaseModel):
    name: str
    backend: str
    label_set: str | None = Field(description="Label set of its output classes; null for the person detector "
                                              "(it outputs boxes, not a label map).")
    licence: str
    source: str
    status: str = Field(description="bundled, cached, unverified, partial or missing (humanparse models pull NAME).")


class ModelsResponse(BaseModel):
    active: dict = Field(description="Description of the loaded backend (Backend.info(), file-system paths "
                                     "reduced to file names).")
    output_label_sets: list[str] = Field(default_factory=list, description="Label sets the loaded backend's "
                                         "output can be asked for (label_set of /v1/parse and /v1/cutout), its own first.")
    backends: list[BackendOut]
    models: list[ModelOut] = Field(description="The model catalogue and what is in the local cache.")


class HealthResponse(BaseModel):
    status: str
    backend: str
    workers: int
    workers_busy: int
    queue_depth: int
    queue_size: int
    version: str
