"""Live: real-time background replacement for live streams and calls.

Building blocks (used by the ``GET /v1/live`` WebSocket, the ``/live`` page and ``humanparse live``):
:class:`PersonSegmenter` (MediaPipe's selfie segmenter from the mediapipe wheel), :class:`LiveProcessor`
(alpha -> EMA smoothing -> optional edge refinement -> :func:`humanparse.compose.composite` -> JPEG/PNG),
:class:`PartsFollower` (``mode=parts``: the default parser beside the stream, last result reused),
:class:`LatestSlot` (frame dropping: a newer frame replaces one still waiting), :class:`RateMeter`
(fps, latency percentiles), :class:`LiveOptions` / :func:`options_from_query`. See ``docs/live.md``.
"""

from .options import MODES, OUTPUTS, LiveOptions, options_from_query
from .parts import PartsFollower
from .processor import LiveFrame, LiveProcessor, decode_frame, encode_frame
from ..persons.segmenter import PersonSegmenter
from .slot import LatestSlot
from .stats import RateMeter

__all__ = ["LiveOptions", "options_from_query", "MODES", "OUTPUTS", "LiveProcessor", "LiveFrame", "decode_frame",
           "encode_frame", "PersonSegmenter", "PartsFollower", "LatestSlot", "RateMeter"]
