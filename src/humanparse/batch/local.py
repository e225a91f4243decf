"""The local batch engine: this process, one backend per worker thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..backends.base import Backend
from .core import BatchPlan, BatchSummary, Report, clean_partials, process_item


def run_local(plan: BatchPlan, backend: Backend | Callable[[], Backend], workers: int = 1,
              progress: Callable[[dict], None] | None = None) -> BatchSummary:
    """Process ``plan.todo`` here; skipped items are only reported.

    Args:
        plan: from :func:`humanparse.batch.core.plan_batch`.
        backend: a loaded backend (``workers`` must be 1), or a zero-argument factory that builds one;
            with ``workers > 1`` each worker thread builds its own (backends are not assumed thread-safe).
        workers: worker threads (>= 1). Useful when the backend releases the GIL (MediaPipe, ONNX Runtime).
        progress: called with each finished record (``{"input", "status", ...}``), skipped ones included.
    Returns:
        :class:`BatchSummary`; the per-file report is ``<out_dir>/batch_report.jsonl``.
    Raises:
        ValueError: ``workers < 1``, or a backend instance with ``workers > 1``.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if isinstance(backend, Backend) and workers > 1:
        raise ValueError("workers > 1 needs a backend factory (each thread loads its own backend)")
    clean_partials(plan.out_dir)
    report = Report(plan)
    try:
        if progress is not None:
            for item in plan.skipped:
                progress({"input": item.rel, "status": "skipped"})
        if not plan.todo:
            pass
        elif workers == 1 or len(plan.todo) < 2:
            model = backend if isinstance(backend, Backend) else backend()
            for item in plan.todo:
                _finish(report, process_item(item, model, plan.out_dir, plan.formats, plan.label_set), progress)
        else:
            local = threading.local()

            def work(item):
                if not hasattr(local, "model"):
                    local.model = backend()
                return process_item(item, local.model, plan.out_dir, plan.formats, plan.label_set)

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="humanparse-batch") as pool:
                for record in pool.map(work, plan.todo):
                    _finish(report, record, progress)
    finally:
        summary = report.close()
    return summary


def _finish(report: Report, record: dict, progress) -> None:
    report.add(record)
    if progress is not None:
        progress(record)
