"""Person finding, shared by every backend, video tracking and live mode.

* :class:`Detection` (:mod:`.record`): one found person (box, score, optional landmarks and mask).
* :class:`YoloxDetector` (:mod:`.yolox`): YOLOX-Nano multi-person boxes; the network ships in the package.
* :mod:`.pose`, :mod:`.pose_finder`: MediaPipe's PoseLandmarker and Face Mesh (models inside the
  mediapipe wheel, :mod:`.mediapipe_assets`): the previous release's whole-photo person finder, and a
  pose per detector box (:func:`.pose_finder.poses_in_boxes`).
* :class:`PersonSegmenter` (:mod:`.segmenter`): MediaPipe's selfie segmenter, a whole-photo person alpha.

Backends take their persons from here (``persons="yolox"``, the default, or ``"pose"``); video tracking
and live ``mode=parts`` follow the backend's persons.
"""

from .record import Detection
from .yolox import YoloxDetector

FINDERS = ("yolox", "pose")
"""The ``persons`` option of the backends: YOLOX boxes (default) or the previous release's MediaPipe
pose passes."""

__all__ = ["FINDERS", "Detection", "YoloxDetector"]
