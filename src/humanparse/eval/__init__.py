"""Evaluation: accuracy of a backend on annotated data, overall and per skin-tone group.

Modules: :mod:`.confusion` (confusion matrix), :mod:`.metrics` (pixel accuracy, mIoU, ...),
:mod:`.instances` (APr), :mod:`.ita` (skin tone), :mod:`.fairness` (per-group CIs), :mod:`.compare`
(label-set mapping for comparison), :mod:`.datasets` (loading), :mod:`.runner` (running a backend),
:mod:`.report` (JSON, Markdown, plots). Command line: ``humanparse eval``.
"""

from .compare import Comparison, make_comparison
from .confusion import ConfusionAccumulator, confusion_matrix
from .datasets import DatasetError, Sample, find_samples
from .instances import IOU_THRESHOLDS, average_precision, match_instances
from .ita import ita_degrees, ita_group, person_ita
from .metrics import class_iou, mean_iou, pixel_accuracy, summarize

__all__ = ["Comparison", "make_comparison", "ConfusionAccumulator", "confusion_matrix", "DatasetError",
           "Sample", "find_samples", "IOU_THRESHOLDS", "average_precision", "match_instances",
           "ita_degrees", "ita_group", "person_ita", "class_iou", "mean_iou", "pixel_accuracy", "summarize"]
