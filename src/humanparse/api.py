"""The one-call entry point :func:`parse`, with a small cache of loaded backends."""

from __future__ import annotations

import threading
import time

from .backends import DEFAULT_BACKEND, Backend, get_backend
from .io.image import load_image
from .parsing import Parsing

_CACHE: dict[tuple, Backend] = {}
_LOCK = threading.Lock()


def load_backend(backend: str | Backend = DEFAULT_BACKEND, **options) -> Backend:
    """Return a loaded backend, reusing an earlier instance with the same name and options."""
    if isinstance(backend, Backend):
        return backend
    key = (backend.lower(), tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = get_backend(backend, **options)
        return _CACHE[key]


def parse(image, backend: str | Backend = DEFAULT_BACKEND, **options) -> Parsing:
    """Parse every person in ``image`` into body parts and clothing.

    Args:
        image: path, encoded bytes, ``PIL.Image`` or ``(H, W[, 3|4])`` array (see
            :func:`humanparse.io.image.load_image`).
        backend: backend name (``"lite"`` offline default, ``"mediapipe"``, ``"m2fp"``, ``"segformer"``) or instance.
        **options: backend options, e.g. ``max_persons=5``, ``weights="path/to/checkpoint"``.
    Returns:
        :class:`Parsing` of the image's size, with ``timings`` (seconds) for ``decode`` and ``inference``.
    Raises:
        ImageError: the image cannot be read; BackendUnavailableError: the backend cannot load.
    """
    t0 = time.perf_counter()
    rgb = load_image(image)
    t1 = time.perf_counter()
    result = load_backend(backend, **options).predict(rgb)
    result.timings.update({"decode": t1 - t0, "inference": time.perf_counter() - t1})
    return result
