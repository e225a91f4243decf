"""Video: background removal/replacement frame by frame with temporal smoothing, audio and timing kept.

Entry point: :func:`process_video` (CLI: ``humanparse video``). Building blocks: :class:`VideoReader`,
:class:`VideoWriter` (thin PyAV wrappers), :mod:`.smoothing` (EMA / flow-guided), :mod:`.metrics` (flicker),
:mod:`.tracking` (stable person ids across frames, :class:`PersonTracker`; also for the live path).
"""

from .metrics import FlickerMeter, flicker
from .pipeline import VideoOptions, VideoResult, process_video
from .reader import Frame, VideoError, VideoReader, read_frames
from .smoothing import MODES as SMOOTHING_MODES, AlphaSmoother, EmaSmoother, FlowSmoother, make_smoother
from .tracking import PersonTracker, tracked_parsing
from .writer import PROFILES, VideoWriter

__all__ = ["process_video", "VideoOptions", "VideoResult", "VideoReader", "VideoWriter", "Frame", "VideoError",
           "read_frames", "flicker", "FlickerMeter", "make_smoother", "AlphaSmoother", "EmaSmoother",
           "FlowSmoother", "SMOOTHING_MODES", "PROFILES", "PersonTracker", "tracked_parsing"]
