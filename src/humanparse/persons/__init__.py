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


def finder_threshold(persons: str, score_threshold: float | None) -> float:
    """The YOLOX score threshold of a backend's ``persons`` / ``score_threshold`` options, both checked.

    Returns:
        ``score_threshold``, or :data:`.yolox.SCORE_THRESHOLD` when None.
    Raises:
        ValueError: ``persons`` is not one of :data:`FINDERS`, or the threshold is outside [0, 1).
    """
    from .yolox import SCORE_THRESHOLD

    if persons not in FINDERS:
        raise ValueError(f"persons must be one of {', '.join(FINDERS)}, got {persons!r}")
    threshold = SCORE_THRESHOLD if score_threshold is None else float(score_threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"score_threshold must be in [0, 1), got {threshold}")
    return threshold


__all__ = ["FINDERS", "Detection", "YoloxDetector", "finder_threshold"]
