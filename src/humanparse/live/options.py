"""Settings of one live session (WebSocket query parameters, ``humanparse live`` options), checked in one place."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping

MODES = ("person", "parts")
"""``person``: person / background alpha from the selfie segmenter every frame (fast). ``parts``: the default
parser (``humanparse.get_backend()``) at whatever rate it reaches, its last result reused meanwhile."""
OUTPUTS = ("frame", "alpha")
"""``frame``: the composited frame (JPEG, or PNG with alpha for ``background=transparent``). ``alpha``: the
matte as a single-channel 8-bit PNG."""
MAX_FPS_LIMIT = 120.0


@dataclass(frozen=True)
class LiveOptions:
    """One session's settings.

    Attributes:
        mode: one of :data:`MODES`.
        background: a :func:`humanparse.compose.parse_background` string: ``blur``, ``blur:SIGMA`` (px),
            ``#rrggbb``, ``r,g,b``, a colour name, ``transparent`` (the CLI also takes an image file).
        output: one of :data:`OUTPUTS`.
        max_fps: most frames processed per second (frames arriving faster are dropped); ``None`` = no cap.
        smoothing: temporal EMA strength in [0, 1) of the matte (0 = off), see :class:`humanparse.video.EmaSmoother`.
        refine: hair-edge refinement: the matte is re-solved around its edge with the guided-filter matting of
            :func:`humanparse.compose.alpha_matte` (``fast``); costs tens of ms per frame.
        parts: ``mode=parts`` only: the part names to keep (``"hair,face"``; coarse names work), ``None`` = the
            whole person.
        quality: JPEG quality 1..100 of the answers.
    """

    mode: str = "person"
    background: str = "blur"
    output: str = "frame"
    max_fps: float | None = None
    smoothing: float = 0.5
    refine: bool = False
    parts: str | None = None
    quality: int = 80

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")
        if self.max_fps is not None and not (0 < self.max_fps <= MAX_FPS_LIMIT):
            raise ValueError(f"max_fps must be in (0, {MAX_FPS_LIMIT:g}], got {self.max_fps}")
        if not (0.0 <= self.smoothing < 1.0):
            raise ValueError(f"smoothing must be in [0, 1), got {self.smoothing}")
        if not (1 <= self.quality <= 100):
            raise ValueError(f"quality must be 1..100, got {self.quality}")
        if self.parts is not None and self.mode != "parts":
            raise ValueError("parts= needs mode=parts")

    def to_dict(self) -> dict:
        """JSON-ready settings (the WebSocket's first message)."""
        return asdict(self)


def _float(name: str, value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def options_from_query(query: Mapping[str, str]) -> LiveOptions:
    """:class:`LiveOptions` from URL query parameters (``mode``, ``background``, ``output``, ``max_fps``,
    ``smoothing``, ``refine``, ``parts``, ``quality``); missing ones take the defaults.

    Raises:
        ValueError: an unknown parameter or a bad value (the message names it).
    """
    known = {"mode", "background", "output", "max_fps", "smoothing", "refine", "parts", "quality"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    kw: dict = {}
    for name in ("mode", "background", "output", "parts"):
        if name in query:
            value = query[name].strip()
            kw[name] = (value or None) if name == "parts" else value
    if "max_fps" in query and query["max_fps"].strip():
        kw["max_fps"] = _float("max_fps", query["max_fps"])
    if "smoothing" in query:
        kw["smoothing"] = _float("smoothing", query["smoothing"])
    if "quality" in query:
        q = _float("quality", query["quality"])
        if q != int(q):
            raise ValueError(f"quality must be an integer, got {query['quality']!r}")
        kw["quality"] = int(q)
    if "refine" in query:
        r = query["refine"].strip().lower()
        if r not in _TRUE | _FALSE:
            raise ValueError(f"refine must be 0 or 1, got {query['refine']!r}")
        kw["refine"] = r in _TRUE
    return LiveOptions(**kw)
