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
from contextlib import contextmanager
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


RAY_LOG_ENV = "RAY_BACKEND_LOG_LEVEL"
"""Ray's C++ log level variable (read when Ray starts the driver's core worker and its processes)."""


@contextmanager
def _ray_quieted():
    """Keep Ray's warnings off the terminal for the block; yields the Python log level to give Ray.

    Unless :func:`humanparse.logs.verbose`: the ``ray`` and ``ray.data`` loggers at ERROR (start-up notes,
    e.g. on token authentication; Ray Data's "Progress bars disabled"), and the C++ core worker's lines
    (``[... E ...] core_worker.cc:...``, e.g. about actor constructor arguments in the object store) at
    FATAL through :data:`RAY_LOG_ENV`, unless the user set it (Ray's own note that it read the variable is
    dropped by :func:`humanparse.logs.native_stderr_quieted` around ``ray.init``). Failures still end the run
    as exceptions.
    """
    from ..logs import verbose

    if verbose():
        yield logging.WARNING
        return
    loggers = [logging.getLogger(name) for name in ("ray", "ray.data")]
    levels = [lg.level for lg in loggers]
    user_env = os.environ.get(RAY_LOG_ENV)
    if user_env is None:
        os.environ[RAY_LOG_ENV] = "fatal"
    try:
        yield logging.ERROR
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        if user_env is None:
            os.environ.pop(RAY_LOG_ENV, None)


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
    with _ray_quieted() as log_level:
        return _run_ray(plan, backend, options, workers, address, num_cpus, progress, log_level)


def _run_ray(plan: BatchPlan, backend: str, options: dict | None, workers: int, address: str | None,
             num_cpus: int | None, progress: Callable[[dict], None] | None, log_level: int) -> BatchSummary:
    """:func:`run_ray` after its argument checks, with Ray's loggers at ``log_level``."""
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
                kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=log_level)
                if address is None:
                    kwargs["num_cpus"] = num_cpus or os.cpu_count() or 1
                from ..logs import native_stderr_quieted

                with native_stderr_quieted():       # Ray's C++ start-up line on RAY_BACKEND_LOG_LEVEL
                    ray.init(address=address, **kwargs)
                started = True
            logging.getLogger("ray.data").setLevel(log_level)      # ray.init reset it; before the context's note
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False
            ctx.print_on_execution_start = False
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
