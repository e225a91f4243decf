"""What a batch job is, shared by the local and Ray engines: planning, one-file processing, the report.

A job parses every image under an input folder into ``Parsing.save`` outputs under an output folder,
keeping sub-folders. It is *resumable*: an input whose outputs all exist is skipped, and outputs are
written to a hidden temporary folder inside the output folder and moved into place with atomic
renames (:mod:`humanparse.io.atomic`), so an existing output is always complete. Inputs are only ever read.
Failures are per file: recorded in the report (``batch_report.jsonl``, one JSON object per input)
and never stop the job. What made the outputs (backend, weights, label set: the *job*) is recorded in
``batch_job.json``; a run asking for another job refuses to resume into that folder, so one folder never
mixes the outputs of two models or label sets.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HumanParseError
from ..io.atomic import PARTIAL_PREFIX, atomic_path, clean_partials, commit, staging_dir  # noqa: F401 - re-exported
from ..parsing import FORMATS

REPORT_NAME = "batch_report.jsonl"
JOB_NAME = "batch_job.json"
DEFAULT_FORMATS = ("labels", "color", "overlay", "json")


class BatchError(HumanParseError, ValueError):
    """The job as a whole cannot run: missing input folder, bad formats, output folder = input folder."""


@dataclass(frozen=True)
class BatchItem:
    """One input image. ``rel``: path relative to the input folder (as in the report);
    ``stem``: output stem relative to the output folder (sub-folders kept, suffix dropped)."""

    src: Path
    rel: str
    stem: str

    def targets(self, out_dir: Path, formats) -> list[Path]:
        """Output files of this item, named as :meth:`humanparse.Parsing.save` names them."""
        base = Path(out_dir) / self.stem
        return [base.with_name(f"{base.name}.json") if f == "json" else base.with_name(f"{base.name}_{f}.png")
                for f in formats]


@dataclass
class BatchPlan:
    """The work of one run: ``todo`` items to process, ``skipped`` items already complete;
    ``label_set``: output label set when not the backend's own (:meth:`humanparse.Parsing.to_label_set`);
    ``job``: what makes the outputs (recorded in :data:`JOB_NAME` when the run starts), None: not recorded;
    ``takes_over``: the folder holds another job's record and ``overwrite`` redoes it under ``job``."""

    in_dir: Path
    out_dir: Path
    formats: tuple[str, ...]
    label_set: str | None = None
    todo: list[BatchItem] = field(default_factory=list)
    skipped: list[BatchItem] = field(default_factory=list)
    job: dict | None = None
    takes_over: bool = False

    @property
    def total(self) -> int:
        return len(self.todo) + len(self.skipped)


@dataclass
class BatchSummary:
    """Counts of one run, the report path, and ``failures`` as ``[(input, error message)]``."""

    total: int
    done: int
    skipped: int
    failed: int
    seconds: float
    report: Path
    failures: list[tuple[str, str]] = field(default_factory=list)


def parse_formats(formats) -> tuple[str, ...]:
    """``"labels,json"`` or a sequence -> tuple of :data:`humanparse.parsing.FORMATS` names.

    Raises:
        BatchError: empty or unknown format.
    """
    items = [f.strip() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        raise BatchError(f"unknown or no format(s) {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(items))


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _describe(job: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in job.items() if v is not None) or "defaults"


def read_job(out_dir) -> dict | None:
    """The job recorded in ``<out_dir>/batch_job.json``; None when there is none (or it is unreadable)."""
    try:
        job = json.loads((Path(out_dir) / JOB_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return job if isinstance(job, dict) else None


def write_job(plan: BatchPlan) -> None:
    """Record ``plan.job`` in ``<out_dir>/batch_job.json`` (atomically; nothing when ``plan.job`` is None)."""
    if plan.job is None:
        return
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(plan.out_dir / JOB_NAME) as tmp:
        tmp.write_text(json.dumps(plan.job, indent=1) + "\n", encoding="utf-8")


def plan_batch(in_dir, out_dir, formats=DEFAULT_FORMATS, overwrite: bool = False,
               label_set: str | None = None, job: dict | None = None) -> BatchPlan:
    """List the images under ``in_dir`` (recursively; see :data:`humanparse.io.image.IMAGE_SUFFIXES`)
    and split them into work to do and inputs whose outputs are complete (skipped unless ``overwrite``).

    Files inside ``out_dir`` are never taken as inputs (so ``out_dir`` may live inside ``in_dir``).
    Stems come from :func:`humanparse.io.naming.output_stems` (as in every command): two inputs that
    differ only by suffix (``a.jpg``, ``a.png``) get stems ``a_jpg`` and ``a_png``.

    ``label_set``: write every parsing in this label set (:meth:`humanparse.Parsing.to_label_set`);
    None keeps the backend's own.

    ``job``: what makes the outputs, as JSON values (the CLI passes ``{"backend", "model", "weights", "max_persons"}``);
    ``label_set`` is added to it. The run records it in ``<out_dir>/batch_job.json``. When the folder
    holds another job's record, the plan is refused unless ``overwrite`` (which redoes every input), so a
    resumed run never skips outputs that another backend or label set made. None: nothing is recorded
    or checked (outputs that exist are skipped whatever made them).

    Raises:
        BatchError: ``in_dir`` is not a folder, ``out_dir`` is ``in_dir``, bad ``formats``, an
            unknown ``label_set`` name, or ``out_dir`` holds another job's outputs (without ``overwrite``).
    """
    from ..io.image import iter_image_files
    from ..io.naming import output_stems
    from ..labels import get_label_set

    in_dir, out_dir = Path(in_dir), Path(out_dir)
    fmts = parse_formats(formats)
    if label_set is not None:
        try:
            label_set = get_label_set(label_set).name
        except KeyError as e:
            raise BatchError(str(e.args[0])) from None
    if not in_dir.is_dir():
        raise BatchError(f"{in_dir}: not a folder")
    if out_dir.exists() and out_dir.resolve() == in_dir.resolve():
        raise BatchError(f"output folder {out_dir} is the input folder; choose another --out")
    files = [f for f in iter_image_files([in_dir]) if not (out_dir.exists() and _is_within(f, out_dir))]
    rels = [f.relative_to(in_dir).as_posix() for f in files]
    old = None
    if job is not None:
        job = {**job, "label_set": label_set}
        old = read_job(out_dir)
        if old is not None and old != job and not overwrite:
            raise BatchError(f"{out_dir} holds the outputs of another job ({_describe(old)}); this run asks for "
                             f"{_describe(job)}. Redo them with --overwrite, or choose another --out")
    plan = BatchPlan(in_dir, out_dir, fmts, label_set, job=job, takes_over=old not in (None, job))
    for f, rel, stem in zip(files, rels, output_stems(files, [in_dir])):
        item = BatchItem(f, rel, stem)
        done = all(t.is_file() for t in item.targets(out_dir, fmts))
        (plan.skipped if done and not overwrite else plan.todo).append(item)
    return plan


def process_item(item: BatchItem, backend, out_dir, formats, label_set: str | None = None) -> dict:
    """Parse one image and commit its outputs atomically. Never raises for a per-file problem.

    Args:
        item: the input; backend: a loaded :class:`humanparse.backends.base.Backend`;
        out_dir: output folder; formats: output formats (:data:`humanparse.parsing.FORMATS`);
        label_set: output label set, None for the backend's own (a set the backend's output cannot
            be mapped to fails the file, with the mapping error in the record).
    Returns:
        a report record: ``{"input", "status": "done"|"failed", "outputs": [paths relative to out_dir],
        "persons", "seconds"}``, with ``"error": "<ExceptionType>: message"`` when failed.
    """
    from ..io.image import load_image

    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    record: dict = {"input": item.rel}
    try:
        targets = item.targets(out_dir, formats)
        if any(t.exists() and t.resolve() == item.src.resolve() for t in targets):
            raise BatchError(f"output would overwrite the input {item.src}")
        image = load_image(item.src)
        parsing = backend.predict(image)
        if label_set:
            parsing = parsing.to_label_set(label_set)
        with staging_dir(out_dir) as tmp:
            written = parsing.save(tmp, formats, stem=Path(item.stem).name, image=image)
            commit((written[fmt], target) for fmt, target in zip(formats, targets))
        record.update(status="done", outputs=[t.relative_to(out_dir).as_posix() for t in targets],
                      persons=len(parsing))
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch; the report says why
        record.update(status="failed", error=f"{type(e).__name__}: {e}")
    record["seconds"] = round(time.perf_counter() - t0, 4)
    return record


class Report:
    """The per-run report ``<out_dir>/batch_report.jsonl`` (rewritten each run, one line per input,
    flushed line by line so it survives a crash) plus the running :class:`BatchSummary`."""

    def __init__(self, plan: BatchPlan) -> None:
        plan.out_dir.mkdir(parents=True, exist_ok=True)
        # A new job over another one's outputs (overwrite) is recorded only once every input is redone:
        # interrupted, the folder keeps the old record, so a plain resume stops instead of mixing jobs.
        self._plan = plan
        if not plan.takes_over:
            write_job(plan)
        self.path = plan.out_dir / REPORT_NAME
        self._fh = open(self.path, "w", encoding="utf-8")
        self._t0 = time.perf_counter()
        self.summary = BatchSummary(plan.total, 0, 0, 0, 0.0, self.path)
        for item in plan.skipped:
            self.add({"input": item.rel, "status": "skipped",
                      "outputs": [t.relative_to(plan.out_dir).as_posix() for t in item.targets(plan.out_dir,
                                                                                               plan.formats)]})

    def add(self, record: dict) -> None:
        """Write one record and count it."""
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        status = record["status"]
        if status == "failed":
            self.summary.failed += 1
            self.summary.failures.append((record["input"], record.get("error", "")))
        elif status == "skipped":
            self.summary.skipped += 1
        else:
            self.summary.done += 1

    def close(self) -> BatchSummary:
        """Close the file and return the summary (with elapsed ``seconds``); a plan that takes the folder
        over records its job once every input has a record."""
        self._fh.close()
        self.summary.seconds = time.perf_counter() - self._t0
        s = self.summary
        if self._plan.takes_over and s.done + s.skipped + s.failed == s.total:
            write_job(self._plan)
        return self.summary


def read_report(path) -> list[dict]:
    """The records of a ``batch_report.jsonl``."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
