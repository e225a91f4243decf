"""humanparse: multi-person human parsing (body parts and clothing, person by person).

Quick start::

    import humanparse
    result = humanparse.parse("group.jpg")          # offline default backend
    result.persons                                   # [Person(id=1, bbox=..., ...), ...]
    result.mask("face", person=1)                    # (H, W) bool
"""

from .api import load_backend, parse
from .backends import available_backends, get_backend
from .errors import (BackendUnavailableError, HumanParseError, ImageError, ImageTooLargeError,
                     WeightsNotFoundError)
from .io.image import load_image
from .labels import LabelSet, get_label_set, map_labels
from .parsing import Parsing, Person

__version__ = "0.1.0"

__all__ = [
    "parse", "load_backend", "get_backend", "available_backends", "load_image",
    "Parsing", "Person", "LabelSet", "get_label_set", "map_labels",
    "HumanParseError", "ImageError", "ImageTooLargeError", "BackendUnavailableError", "WeightsNotFoundError",
]
