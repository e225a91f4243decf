"""The Ray engine: the same job as :func:`humanparse.batch.local.run_local`, as a Ray Data pipeline.

``ray.data.from_items`` (one row per input) -> ``map_batches`` with a *model actor* class
(:class:`_ParseActor`: loads the backend once in ``__init__``, then runs
:func:`humanparse.batch.core.process_item` per row, ``concurrency=workers`` actors) -> rows streamed
back to the driver, which writes the report. Outputs are written by the actors with the same code
as the local engine, so results are byte-identical.

On a cluster (``address="ray://host:10001"`` or ``"auto"``) every node must see the input and output
folders under the same paths (a shared file system) and have humanparse installed.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Callable

from ..errors import BackendUnavailableError
from .core import BatchError, BatchItem, BatchPlan, BatchSummary, Report, clean_partials, process_item


class _ParseActor:
    """Ray Data callable class: one loaded backend per actor process."""

    def __init__(self, backend: str, options: dict, out_dir: str, formats: tuple, label_set: str | None = None) -> None:
        from ..api import load_backend

        self.backend = load_backend(backend, **options)
        self.out_dir = out_dir
        self.formats = tuple(formats)
        self.label_set = label_set

    def __call__(self, batch: dict) -> dict:
        records = []
        for src, rel, stem in zip(batch["src"], batch["rel"], batch["stem"]):
            item = BatchItem(Path(str(src)), str(rel), str(stem))
            records.append(json.dumps(process_item(item, self.backend, self.out_dir, self.formats, self.label_set)))
        return {"record": records}


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise BackendUnavailableError(f"the Ray engine needs ray[data] ({e}); pip install 'humanparse[ray]'") from e
    return ray


def run_ray(plan: BatchPlan, backend: str, options: dict | None = None, workers: int = 1,
            address: str | None = None, num_cpus: int | None = None,
            progress: Callable[[dict], None] | None = None) -> BatchSummary:
    """Process ``plan.todo`` with Ray Data model actors.

    Args:
        plan: from :func:`humanparse.batch.core.plan_batch`.
        backend: backend *name* (the actors load it themselves) and ``options`` for it.
        workers: number of model actors (``concurrency``), each reserving 1 CPU.
        address: Ray cluster address; ``None`` starts a local Ray instance (``num_cpus`` CPUs, default all)
            that is shut down at the end. An already initialised Ray is used as is and left running.
        progress: called on the driver with each finished record.
    Returns:
        :class:`BatchSummary` (same report as the local engine).
    Raises:
        BackendUnavailableError: Ray or the backend is not installed. ValueError: ``workers < 1``.
        BatchError: the Ray pipeline itself failed (e.g. actors could not start); per-file errors are
            reported, not raised.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    ray = _import_ray()
    from ..backends import backend_class

    backend_class(backend)                      # unknown name / missing deps: fail here, not in the actors
    clean_partials(plan.out_dir)
    report = Report(plan)
    started = False
    try:
        if progress is not None:
            for item in plan.skipped:
                progress({"input": item.rel, "status": "skipped"})
        if plan.todo:
            if not ray.is_initialized():
                kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
                if address is None:
                    kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
                ray.init(address=address, **kwargs)
                started = True
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False
            ctx.print_on_execution_start = False
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            rows = [{"src": str(i.src.resolve()), "rel": i.rel, "stem": i.stem} for i in plan.todo]
            ds = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
                _ParseActor, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
                fn_constructor_kwargs={"backend": backend, "options": dict(options or {}),
                                       "out_dir": str(plan.out_dir.resolve()), "formats": plan.formats,
                                       "label_set": plan.label_set})
            try:
                for row in ds.iter_rows():
                    record = json.loads(row["record"])
                    report.add(record)
                    if progress is not None:
                        progress(record)
            except Exception as e:  # noqa: BLE001 - actor start-up / cluster failures: one clear error
                first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                raise BatchError(f"the Ray pipeline failed ({type(e).__name__}: {first}); finished files are "
                                 f"kept and listed in {report.path}, rerun to resume") from e
    finally:
        summary = report.close()
        if started:
            ray.shutdown()
    return summary
