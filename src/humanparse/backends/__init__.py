"""Backend registry. Backends are imported lazily so optional dependencies stay optional."""

from __future__ import annotations

import importlib

from ..errors import BackendUnavailableError
from .base import Backend

DEFAULT_BACKEND = "lite"

_REGISTRY: dict[str, tuple[str, str, str]] = {
    # name: (module, class, pip extra that provides its dependencies)
    "lite": ("humanparse.backends.lite.backend", "LiteBackend", ""),
    "mediapipe": ("humanparse.backends.mediapipe.backend", "MediaPipeBackend", ""),
    "m2fp": ("humanparse.backends.m2fp.backend", "M2FPBackend", "m2fp"),
    "segformer": ("humanparse.backends.segformer", "SegformerBackend", "hf"),
}


def available_backends() -> list[str]:
    """Names of all registered backends (whether or not their dependencies are installed)."""
    return sorted(_REGISTRY)


def backend_class(name: str) -> type[Backend]:
    """The backend class registered as ``name``.

    Raises:
        BackendUnavailableError: unknown name, or its optional dependencies are missing (the message
            names the pip extra to install).
    """
    key = name.lower()
    if key not in _REGISTRY:
        raise BackendUnavailableError(f"unknown backend {name!r}; choose from {', '.join(available_backends())}")
    module, cls, extra = _REGISTRY[key]
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as e:
        hint = f" (pip install 'humanparse[{extra}]')" if extra else ""
        raise BackendUnavailableError(f"backend {name!r} cannot be loaded: {e}{hint}") from e


def get_backend(name: str = DEFAULT_BACKEND, **options) -> Backend:
    """Instantiate backend ``name`` with ``options`` (e.g. ``max_persons=5``, ``weights=PATH``)."""
    return backend_class(name)(**options)


__all__ = ["Backend", "DEFAULT_BACKEND", "available_backends", "backend_class", "get_backend"]
