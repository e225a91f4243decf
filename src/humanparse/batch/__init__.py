"""Batch parsing of image folders: resumable, per-file errors reported, local or Ray engine.

::

    from humanparse.batch import plan_batch, run_local
    plan = plan_batch("photos/", "out/", formats="labels,json")
    summary = run_local(plan, humanparse.load_backend("mediapipe"))

CLI: ``humanparse batch IN_DIR -o OUT_DIR [--engine local|ray]``.
"""

from .core import (DEFAULT_FORMATS, JOB_NAME, REPORT_NAME, BatchError, BatchItem, BatchPlan, BatchSummary,
                   plan_batch, process_item, read_job, read_report, write_job)
from .local import run_local

__all__ = ["plan_batch", "run_local", "run_ray", "process_item", "read_report", "BatchPlan", "BatchItem",
           "BatchSummary", "BatchError", "REPORT_NAME", "JOB_NAME", "read_job", "write_job", "DEFAULT_FORMATS"]


def run_ray(*args, **kwargs):
    """Run a plan on Ray; see :func:`humanparse.batch.ray_engine.run_ray` (imported lazily: Ray is optional)."""
    from .ray_engine import run_ray as _run_ray

    return _run_ray(*args, **kwargs)
