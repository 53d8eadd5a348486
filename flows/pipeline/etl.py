"""The ``etl`` Prefect flow: ingest → extract → validate → load, then artifacts.

It reads top to bottom as extract, transform, load:

- ``ingest`` reads the input folder (I/O: retried with back-off) and quarantines
  what cannot be read;
- ``compare`` looks at the warehouse to say which documents are new, changed or
  unchanged (I/O: retried);
- ``extract`` runs the Polars transforms on the documents the warehouse does not
  hold yet (new or changed; every document with ``full_refresh``), in batches of
  bounded size (``BATCH_BYTES`` of text), submitted to the flow's task runner so
  that they run in parallel when it has several workers (``flows.pipeline.runners``:
  threads, processes, or a Dask cluster). Documents go to a batch by their content
  hash, and a batch's cache key is the hash of its members plus the version of the
  transforms and the reference data, so a run that failed after extracting
  (warehouse busy, a check failed) does not extract again when re-run;
- the Great Expectations suites check what was extracted batch by batch, as the
  batches come back, in a checker process of their own (``flows.quality.checker``, which pools
  the rows and runs a suite once a pool is full), so that checking overlaps extracting;
  ``validate`` then combines the results, and a critical failure raises before anything
  is committed. ``flows.pipeline.check_queue.CheckQueue`` holds all of that: the chunks, the
  flushes, the back-pressure and the gate the load waits at;
- ``load`` writes the run in one transaction on a copy of the warehouse (I/O: retried
  with back-off), beside the last checks: it commits only once they have passed;
  unchanged documents' rows are not touched;
- ``publish`` leaves a summary table and a markdown list of problems as
  artifacts of the flow run, visible in the UI.

The flow function itself reads as these stages in order; what it calls holds the rest.
Frames travel between tasks in memory, so tasks that take frames have no
input-hashing cache policy (Prefect would otherwise hash whole frames).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl
from prefect import flow, get_run_logger, task
from prefect import runtime as prefect_runtime
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.pipeline import extract_pool, progress, staging, stopping
from flows.pipeline.check_queue import DQ_SCHEMA, CheckQueue, DataQualityError, LoadCancelled, LoadGate
from flows.pipeline.progress import document_progress
from flows.pipeline.runners import cpu_count, import_in_workers, task_runner
from flows.quality import checker
from flows.quality import checks as dq_checks
from flows.settings import RAW_DIR, REPO_ROOT, SEEDS_DIR, default_warehouse
from flows.warehouse import store as warehouse
from flows.warehouse.concept_reference import load_dim_metric
from flows.warehouse.ingest import quarantine_documents, read_folder
from flows.warehouse.reference import load_reference
from flows.warehouse.state import WarehouseWriteError, explain_write_error, known_documents, known_files
from flows.warehouse.tables import (
    EXTRACT_TABLES,
    empty_table,
    extract_documents,
)
from transforms.dim_unit import dim_unit

# The process runner's workers import this module as they start: unpickling its tasks does anyway.
import_in_workers(__name__)

Stage = Literal["ingest", "transform", "validate", "load"]
ALL_STAGES: list[Stage] = ["ingest", "transform", "validate", "load"]
# Text per extract task. Each task has a fixed cost of about 0.65 CPU-seconds whatever its size:
# the transforms use far more regexes than Polars' per-thread cache of 32 compiled ones holds,
# so every batch compiles them all again. Bigger batches waste less; smaller ones bound a
# worker's memory. Measured on 16 MB of the benchmark's corpus, in one process: 0.66
# CPU-seconds per MB in 4 MB batches, 0.55 in 8 MB, 0.53 in 16 MB. 8 MB has most of the gain;
# 12 MB batches put peak RSS at 2.17 GB on 200 MB, 24% more than on 100 MB (benchmarks/bench.py).
BATCH_BYTES = 8_000_000
# Extract batches in flight, the one being collected included: None means one per worker
# (this machine's cores) and one ready, so that no worker waits, and no more, since each
# holds its batch's text.
IN_FLIGHT: int | None = None
# The tasks carry no tags. Prefect asks its API for tag concurrency slots before every tagged
# task run, and once its 5-second memory of "no limits on these tags" lapses that took about
# 2 s a task on the embedded server (measured: before each extract batch and before the
# load, on the run's critical path). The flow runs of the deployments are tagged instead.
LOG_FILES = 50  # files named one by one in a run's log; the rest are counted


_THREAD_TIMEOUT_NOTICE = "Timeout of %s seconds configured for this task, but the task is running in a worker"


class _ThreadTimeoutNotice(logging.Filter):
    """Drop Prefect's notice that a task with a timeout runs in a worker thread.

    On the default runner every extract task runs in one of the task runner's threads, and
    Prefect 3.8 logs a WARNING saying so for each of them (14 on a 100 MB run) although
    nothing is wrong: in a thread Prefect raises the timeout in the task's Python code, which
    is waiting for its extract worker process (``flows.pipeline.extract_pool``), and the pool then kills
    that worker, so a stuck batch stops at once. docs/design.md (Prefect, Timeouts) says so.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_THREAD_TIMEOUT_NOTICE)


logging.getLogger("prefect.task_runs").addFilter(_ThreadTimeoutNotice())


# What ``extract`` depends on: a change to any of these files invalidates its cache.
EXTRACT_INPUTS = sorted(
    [
        *(REPO_ROOT / "transforms").glob("*.py"),
        REPO_ROOT / "flows" / "warehouse" / "tables.py",  # extract_documents: how the transforms are wired
        *SEEDS_DIR.glob("*.csv"),
        *SEEDS_DIR.glob("*.txt"),
    ]
)


def _code_version() -> str:
    """Hash of the transforms and reference data that ``extract`` uses."""
    h = hashlib.sha256()
    for path in EXTRACT_INPUTS:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


CODE_VERSION = _code_version()


# Errors a retry cannot fix: the same call fails the same way seconds later.
_PERMANENT_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS}
_PERMANENT_TEXTS = (
    "No space left on device",
    "Disk quota exceeded",
    "Permission denied",
    "Read-only file system",
    "Not a directory",
    "Is a directory",
)


def is_permanent(exc: BaseException | None) -> bool:
    """Whether retrying cannot help: a missing folder or file, a permission error, a full disk
    or quota, a read-only file system, a wrong kind of path, a load the flow cancelled, or another
    run that held the writer lock for the whole wait (``$TAIZHANG_LOCK_WAIT``). The
    error or any error it was raised from counts (the load wraps DuckDB's errors, which name
    the cause only in their text). A busy warehouse, a dropped connection or a timeout are
    transient and retried."""
    while exc is not None:
        if isinstance(exc, LoadCancelled | FileNotFoundError | FileExistsError | PermissionError):
            return True
        if isinstance(exc, warehouse.WriterLockTimeout):
            return True
        if isinstance(exc, NotADirectoryError | IsADirectoryError) or (
            isinstance(exc, OSError) and exc.errno in _PERMANENT_ERRNOS
        ):
            return True
        if any(text in str(exc) for text in _PERMANENT_TEXTS):
            return True
        exc = exc.__cause__
    return False


def _retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """The I/O tasks' retry condition: an error a retry cannot fix (``is_permanent``) fails the
    run at once instead of after the retries and their back-off."""
    data = getattr(state, "data", None)
    return not is_permanent(data if isinstance(data, BaseException) else None)


@dataclass
class RunSummary:
    run_id: str
    input_dir: str
    warehouse: str
    flow_run: str = ""  # the flow run's name, as Prefect (and its UI) shows it
    documents: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    not_read: int = 0  # files untouched since the warehouse read them: not read again (``ingest``)
    quarantined: int = 0
    removed: int = 0
    sentences: int = 0  # extracted by this run (new and changed documents)
    facts: int = 0
    items: int = 0
    measures: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # rows in the warehouse after the load
    lake: dict[str, object] = field(default_factory=dict)  # the Parquet lake written after the load, if any
    extract_tasks: int = 0
    extract_tasks_cached: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    checks_failed_critical: int = 0  # a critical failure blocks the load
    checks_failed_warning: int = 0  # a warning is recorded; the load goes ahead
    loaded: bool = False
    stages: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage, for benchmarks

    @classmethod
    def begin(cls, input_dir: str, target: Path, stages: list[Stage], flow_run: str = "") -> RunSummary:
        """A new run's summary, with a new run id."""
        run_id = uuid.uuid4().hex[:12]
        return cls(run_id, str(Path(input_dir).resolve()), str(target.resolve()), flow_run, stages=stages)

    def count_documents(self, raw: pl.DataFrame, quarantine: pl.DataFrame, status: pl.DataFrame) -> None:
        """The documents read, their status against the warehouse, and the files quarantined."""
        self.documents = raw["document_id"].n_unique()
        self.not_read = raw["text"].null_count()
        self.quarantined = quarantine.height
        by_status = dict(status.unique("document_id").group_by("status").len().iter_rows())
        self.new, self.changed, self.unchanged = (
            by_status.get(k, 0) for k in ("new", "changed", "unchanged")
        )

    def count_checks(self, dq: pl.DataFrame) -> None:
        """The checks that passed and failed (``dq_result`` rows)."""
        self.checks_passed = int(dq["success"].sum()) if dq.height else 0
        self.checks_failed = dq.height - self.checks_passed
        failed = dq.filter(~pl.col("success")) if dq.height else dq
        self.checks_failed_critical = (
            failed.filter(pl.col("severity") == "critical").height if dq.height else 0
        )
        self.checks_failed_warning = self.checks_failed - self.checks_failed_critical

    def count_load(self, counts: dict[str, int]) -> None:
        """What the load says: files removed, rows in the warehouse after it."""
        self.removed = int(counts.get("files_removed", 0))
        self.totals = {
            t: int(counts[t])
            for t in ("raw_documents", "stg_sentences", "fct_metric", "fct_rectification_item", "fct_measure")
            if t in counts
        }
        self.loaded = True

    def etl_run(self, started: datetime) -> pl.DataFrame:
        """The run's ``etl_run`` row, as of now."""
        return pl.DataFrame(
            [
                {
                    "run_id": self.run_id,
                    "started_at": started,
                    "finished_at": datetime.now(UTC).replace(tzinfo=None),
                    "input_dir": self.input_dir,
                    "documents": self.documents,
                    "sentences": self.sentences,
                    "facts": self.facts,
                    "checks_passed": self.checks_passed,
                    "checks_failed": self.checks_failed,
                }
            ]
        )


def build_tables(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """All transforms of one batch of documents (pure; also used by ``taizhang extract``)."""
    tables = extract_documents(raw.unique("document_id", keep="first", maintain_order=True))
    tables["raw_documents"] = raw
    tables["dim_unit"] = dim_unit(load_reference().units)
    return tables


@task(
    name="ingest",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=1),
    timeout_seconds=900,
    cache_policy=NO_CACHE,
    retry_condition_fn=_retry_if_transient,
)
def ingest(
    input_dir: Path, warehouse_path: Path | None = None, reuse: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and decode every file of the input folder; unreadable files go to quarantine.

    With ``reuse``, a file whose path, size and modification time are those the warehouse
    holds is not read again: its row comes back without its text (``read_files``), and the
    flow treats it as unchanged. A full refresh reads everything.
    """
    logger = get_run_logger()
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder {input_dir} does not exist or is not a folder")
    known = None
    if reuse and warehouse_path is not None:
        try:
            known = known_files(warehouse_path)
        except duckdb.Error as exc:  # compare, next, says plainly what is wrong with the warehouse
            logger.warning("reading every file: the warehouse could not be read (%s)", exc)
    raw, quarantine = read_folder(input_dir, known=known)
    untouched = raw["text"].null_count()
    logger.info(
        "%d files in %s: %d read (%d quarantined), %d untouched since the warehouse read them",
        raw.height + quarantine.height,
        input_dir,
        raw.height + quarantine.height - untouched,
        quarantine.height,
        untouched,
    )
    for row in quarantine.iter_rows(named=True):
        logger.warning("quarantined %s: %s", row["source_path"], row["reason"])
    return raw, quarantine


@task(
    name="compare",
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=_retry_if_transient,
    timeout_seconds=120,
    cache_policy=NO_CACHE,
)
def compare(raw: pl.DataFrame, warehouse_path: Path) -> pl.DataFrame:
    """``document_id, source_path, status`` with status new / changed / unchanged against the warehouse."""
    try:
        known = known_documents(warehouse_path)
    except duckdb.Error as exc:  # a lock held by an analyst's session: retried, then named plainly
        raise WarehouseWriteError(explain_write_error(warehouse_path, exc)) from exc
    # Unchanged means this path holds this text in the warehouse now. The same text at another
    # path (a copy, a move) or at a path marked removed (a restore) is extracted again: the
    # load rewrites the rows of every document whose paths changed.
    current = known.filter(pl.col("current")).select(
        "source_path", "document_id", pl.lit(True).alias("_current")
    )
    paths = known.select("source_path").unique().with_columns(pl.lit(True).alias("_known_path"))
    status = (
        raw.select("document_id", "source_path", "file_name")
        .join(current, on=["source_path", "document_id"], how="left")
        .join(paths, on="source_path", how="left")
        .with_columns(
            pl.when(pl.col("_current"))
            .then(pl.lit("unchanged"))
            .when(pl.col("_known_path"))
            .then(pl.lit("changed"))
            .otherwise(pl.lit("new"))
            .alias("status")
        )
    )
    logger = get_run_logger()
    news = status.filter(pl.col("status") != "unchanged")
    for row in news.head(LOG_FILES).iter_rows(named=True):
        logger.info("%s document: %s", row["status"], row["file_name"])
    if news.height > LOG_FILES:
        logger.info("… and %d more new or changed documents", news.height - LOG_FILES)
    counts = dict(status.group_by("status").len().iter_rows())
    logger.info("documents: %s", counts)
    return status.select("document_id", "source_path", "status")


def _bucket_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    where = hashlib.sha256(str(parameters["out_dir"]).encode()).hexdigest()[:8]
    return f"extract-{parameters['bucket_key']}-{where}"


@task(
    name="extract",
    task_run_name="extract-{bucket_key:.8}",
    cache_key_fn=_bucket_cache_key,
    cache_expiration=timedelta(days=90),
    persist_result=True,
    timeout_seconds=1800,
)
def extract(bucket_key: str, documents: pl.DataFrame, out_dir: str) -> dict[str, Any]:
    """Every table of one batch of documents, written as Parquet to ``out_dir/<bucket_key>/``.

    Returns the folder and each table's row count, not the tables: the flow then holds a few
    numbers per batch however large the corpus, workers in other processes (or on a Dask
    cluster with a shared disk) hand over no frames, and the load streams the files. The
    folder appears whole or not at all (written aside, then renamed), so a cached result
    never points at half a batch. Cached by content: see ``batches``.
    """
    folder = Path(out_dir) / bucket_key
    done = {"dir": str(folder), "bytes": int(documents["text"].str.len_bytes().sum() or 0)}
    if _complete(done):  # another run extracted these very documents a moment ago
        rows = {
            name: pl.scan_parquet(folder / f"{name}.parquet").select(pl.len()).collect().item()
            for name in EXTRACT_TABLES
        }
        return {**done, "rows": rows}
    pool = extract_pool.current()
    if pool is None:  # on a process or Dask runner's worker: extract here
        result = extract_pool.write_batch(bucket_key, documents, out_dir)
    else:
        try:
            result = pool.run(bucket_key, documents, out_dir)
        except extract_pool.MemoryCeilingExceeded as exc:
            result = extract_alone(pool, bucket_key, documents, out_dir, str(exc))
    get_run_logger().info(
        "batch %s: %d documents, %d sentences, %d metric facts",
        bucket_key[:8],
        documents.height,
        result["rows"]["stg_sentences"],
        result["rows"]["fct_metric"],
    )
    return result


def extract_alone(
    pool: extract_pool.ExtractPool, bucket_key: str, documents: pl.DataFrame, out_dir: str, why: str
) -> dict[str, Any]:
    """A batch that went over the memory ceiling, again, one document at a time.

    The documents that fit load as usual; each one that goes over the ceiling alone is
    named in the result's ``failed`` (document id → reason), and the flow quarantines it.
    """
    logger = get_run_logger()
    failed: dict[str, str] = {}
    parts = []
    if documents.height == 1:
        failed[documents["document_id"][0]] = why
    else:
        logger.warning(
            "batch %s: %s; extracting its %d documents one by one", bucket_key[:8], why, documents.height
        )
        for i, one in enumerate(documents.iter_slices(1)):
            try:
                parts.append(pool.run(f"{bucket_key}.part{i}", one, out_dir))
            except extract_pool.MemoryCeilingExceeded as exc:
                failed[one["document_id"][0]] = str(exc)
    for doc, reason in failed.items():
        logger.warning("document %s not extracted: %s", doc[:12], reason)
    result = extract_pool.merge_batches(parts, Path(out_dir) / bucket_key, documents)
    return {**result, "failed": failed}


def _staging_dir(target: Path) -> Path:
    """Where extract batches write their Parquet files: ``.<warehouse>.extract`` beside the warehouse.

    Beside it, because that disk holds the warehouse anyway and is the one a cluster's workers
    must share. When that folder cannot be made (the warehouse's folder path is wrong, say), a
    folder under the system's temp directory stands in, so that the run still extracts and
    validates and the load then fails with the message that says what is wrong with the path.
    """
    beside = target.parent / f".{target.name}.extract"
    try:
        beside.mkdir(parents=True, exist_ok=True)
        return beside
    except OSError as exc:
        name = hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:16]
        fallback = Path(tempfile.gettempdir()) / f"taizhang-extract-{name}"
        get_run_logger().warning("cannot write %s (%s); extract batches go to %s", beside, exc, fallback)
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def _extracts_here() -> bool:
    """Whether the flow's extract tasks run in this process (a thread runner): they then hand
    their batches to ``flows.pipeline.extract_pool``'s workers, under the memory ceiling. A process or
    Dask runner's workers extract themselves (a Dask worker has Dask's own memory limit)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return context is None or isinstance(context.task_runner, ThreadPoolTaskRunner)


def _stale_batches(folder: Path, started: datetime) -> list[Path]:
    """After a load: the batch folders older than this run (left by runs that were stopped
    before their load), to remove so that the staging folder holds no more than a run's
    batches. A cached extract result whose folder is gone is extracted again (``runner`` in
    ``etl``)."""
    cutoff = started.replace(tzinfo=UTC).timestamp()
    stale = []
    for batch in folder.iterdir():
        with contextlib.suppress(OSError):
            if batch.is_dir() and ".tmp-" not in batch.name and batch.stat().st_mtime < cutoff:
                stale.append(batch)
    return stale


def _complete(result: dict[str, Any]) -> bool:
    """Whether a (possibly cached) extract result's files are all still there."""
    return all((Path(result["dir"]) / f"{name}.parquet").is_file() for name in EXTRACT_TABLES)


def staged_tables(results: list[dict[str, Any]]) -> dict[str, warehouse.StagedTable]:
    """The extracted tables as Parquet files, for ``warehouse.load`` to stream."""
    return {
        name: warehouse.StagedTable.of([Path(r["dir"]) / f"{name}.parquet" for r in results])
        for name in EXTRACT_TABLES
    }


def batches(
    documents: pl.DataFrame, batch_bytes: int = BATCH_BYTES, workers: int = 1
) -> list[tuple[str, pl.DataFrame]]:
    """Split distinct documents into batches of at most about ``batch_bytes`` of text, by content hash.

    Each batch comes with a key naming its members and the code version, the cache key of its
    extract task. The split depends only on the set of documents (and ``workers``), so
    re-running the same documents (after a failed load, say) finds every batch in the cache.
    When there is more than one batch, their number is rounded up to a multiple of
    ``workers``: big batches in a number the workers cannot share evenly leave one worker
    alone with the last of them (7 batches on 2 workers: the last round runs on one core).
    """
    size = int(documents["text"].str.len_bytes().sum() or 0) if documents.height else 0
    n = max(1, -(-size // batch_bytes))
    if n > 1 and workers > 1:
        n = -(-n // workers) * workers
    out = []
    for (_,), part in documents.sort("document_id").group_by(
        (pl.col("document_id").str.slice(0, 8).str.to_integer(base=16) % n).alias("_b"), maintain_order=True
    ):
        members = ",".join(part["document_id"].to_list())
        key = hashlib.sha256(f"{CODE_VERSION}:{members}".encode()).hexdigest()[:24]
        out.append((key, part))
    return out


def with_source_slice(facts: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Add ``source_slice``: the document text at the fact's offsets (the provenance check)."""
    texts = raw.unique("document_id").select("document_id", pl.col("text").alias("_doc_text"))
    return (
        facts.join(texts, on="document_id", how="left")
        .with_columns(
            pl.col("_doc_text")
            .str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char"))
            .alias("source_slice")
        )
        .drop("_doc_text")
    )


@task(
    name="load",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    timeout_seconds=1800,
    cache_policy=NO_CACHE,
    retry_condition_fn=_retry_if_transient,
)
def load(
    warehouse_path: Path,
    tables: dict[str, warehouse.Frame],
    run_rows: dict[str, pl.DataFrame],
    full_refresh: bool = False,
    gate: LoadGate | None = None,
) -> dict[str, int]:
    """Write everything atomically (see ``flows.warehouse.store``); a failure leaves the warehouse as it was.

    With a ``gate``, the load writes every table and then waits for it before appending the
    run rows it gives and committing (``warehouse.load``'s ``before_commit``).
    """
    try:
        counts = warehouse.load(
            warehouse_path, tables, run_rows, full_refresh=full_refresh, before_commit=gate
        )
    except LoadCancelled:
        raise
    except warehouse.WarehouseBusyError as exc:
        raise WarehouseWriteError(str(exc)) from exc
    except Exception as exc:
        raise WarehouseWriteError(explain_write_error(warehouse_path, exc)) from exc
    get_run_logger().info("loaded into %s: %s", warehouse_path, counts)
    return counts


@task(
    name="lake",
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    timeout_seconds=1800,
    cache_policy=NO_CACHE,
)
def lake(warehouse_path: Path, parquet_dir: Path, base_url: str | None = None) -> dict[str, object]:
    """Write the warehouse out as a Parquet lake partitioned by document year (``flows.outputs.export``)."""
    from flows.outputs.export import export_lake

    written = export_lake(warehouse_path, parquet_dir, base_url=base_url)
    get_run_logger().info(
        "parquet lake: %d files in %s (%.1f s)%s",
        len(written.files),
        parquet_dir,
        written.seconds,
        f"; {written.note}" if written.note else "",
    )
    return written.as_dict()


@task(name="publish", timeout_seconds=300, retries=1, cache_policy=NO_CACHE)
def publish(summary: RunSummary, dq: pl.DataFrame, quarantine: pl.DataFrame) -> None:
    """Leave a summary table and a markdown report of problems on the flow run."""
    s = summary
    rows = [
        {"figure": "documents read", "value": s.documents},
        {"figure": "documents new", "value": s.new},
        {"figure": "documents changed", "value": s.changed},
        {"figure": "documents unchanged", "value": s.unchanged},
        {"figure": "files quarantined (not loaded)", "value": s.quarantined},
        {"figure": "files removed (no longer in the folder)", "value": s.removed},
        {"figure": "sentences extracted", "value": s.sentences},
        {"figure": "metric facts extracted", "value": s.facts},
        {"figure": "rectification items extracted", "value": s.items},
        {"figure": "measures extracted", "value": s.measures},
        {"figure": "extract tasks", "value": s.extract_tasks},
        {"figure": "extract tasks cached", "value": s.extract_tasks_cached},
        {"figure": "checks passed", "value": s.checks_passed},
        {"figure": "checks failed, critical (these block the load)", "value": s.checks_failed_critical},
        {
            "figure": "checks failed, warning (recorded; the load went ahead)",
            "value": s.checks_failed_warning,
        },
        {
            "figure": "documents loaded into the warehouse (new or changed)",
            "value": s.new + s.changed if s.loaded else 0,
        },
        {
            "figure": "warehouse written",
            "value": "yes" if s.loaded else "no: dry run" if "load" not in s.stages else "no: not committed",
        },
    ]
    create_table_artifact(key="etl-summary", table=rows, description=f"taizhang run {summary.run_id}")
    lines = [
        f"# taizhang run {summary.run_id}",
        "",
        f"Input: `{summary.input_dir}`  ",
        f"Warehouse: `{summary.warehouse}`",
        "",
    ]
    problems = dq.filter(~pl.col("success"))
    if quarantine.height:
        lines += ["## Quarantined files", ""]
        lines += [f"- `{r['source_path']}`: {r['reason']}" for r in quarantine.head(20).iter_rows(named=True)]
        lines.append("")
    if problems.height:
        lines += [
            "## Data-quality checks that failed",
            "",
            "| table | check | severity | bad rows | sample |",
            "|---|---|---|---|---|",
        ]
        lines += [
            "| {} | {} | {} | {} | {} |".format(
                r["table_name"],
                r["expectation"].replace("|", "\\|"),
                r["severity"],
                r["unexpected_count"],
                str(r["sample"] or "")[:300].replace("|", "\\|").replace("\n", " "),
            )
            for r in problems.head(20).iter_rows(named=True)
        ]
    if not quarantine.height and not problems.height:
        lines.append("No problems: every file was read and every check passed.")
    create_markdown_artifact(
        key="etl-problems", markdown="\n".join(lines), description="what went wrong, if anything"
    )


# ------------------------------------------------------------------------------ the flow's helpers


@dataclass
class Extraction:
    """What ``extract_batches`` did: each batch's ``extract`` result, in submission order."""

    staging: Path  # the folder the batches were written to
    results: list[dict[str, Any]] = field(default_factory=list)
    tasks: int = 0
    cached: int = 0
    lease: staging.Lease | None = None  # this run's hold on its batches there (``flows.pipeline.staging``)

    def failed(self) -> dict[str, str]:
        """The documents that went over the memory ceiling alone: document id → why."""
        return {doc: why for r in self.results for doc, why in r.get("failed", {}).items()}

    def rows(self) -> dict[str, int]:
        """Rows extracted per table."""
        return {name: sum(int(r["rows"][name]) for r in self.results) for name in EXTRACT_TABLES}


def documents_to_extract(raw: pl.DataFrame, status: pl.DataFrame, full_refresh: bool) -> pl.DataFrame:
    """The distinct documents the warehouse does not hold yet (every one read, with ``full_refresh``)."""
    # Files not read again (``ingest``) have no text here; their documents are unchanged.
    documents = raw.filter(pl.col("text").is_not_null()).unique(
        "document_id", keep="first", maintain_order=True
    )
    if not full_refresh:  # the warehouse already holds every table of an unchanged document
        documents = documents.filter(
            pl.col("document_id").is_in(
                status.filter(pl.col("status") != "unchanged")["document_id"].implode()
            )
        )
    return documents


def extract_batches(
    raw: pl.DataFrame,
    status: pl.DataFrame,
    target: Path,
    batch_mb: float,
    memory_limit: str | None,
    full_refresh: bool,
    *,
    on_batch: Callable[..., None],
) -> Extraction:
    """Extract the documents the warehouse does not hold yet (``documents_to_extract``): an
    ``extract`` task per batch (``batches``, of ``batch_mb`` of text), results in order.

    A window of batches in flight (``IN_FLIGHT``) keeps every worker busy while bounding the
    frames queued for them; results are taken in submission order, so every runner gives the
    same tables. Each result goes to ``on_batch`` as it comes back (the check queue's
    ``submit``), with the batch's document ids and whether every batch was submitted
    (``all_submitted``) and others are still extracting (``others_running``). On the thread
    runner the tasks hand their batches to the extract worker processes, under the run's
    memory ceiling (``flows.pipeline.extract_pool``).
    """
    documents = documents_to_extract(raw, status, full_refresh)
    folder = _staging_dir(target)
    for left in extract_pool.clean_staging(folder):
        get_run_logger().info("removed %s, left by a run that was stopped", left.name)
    lease = staging.Lease(folder)  # no other run removes a batch this run holds
    out_dir = str(folder)
    ceiling = extract_pool.memory_ceiling(memory_limit)
    fresh = extract.with_options(refresh_cache=True)

    def runner(key: str) -> Any:
        """``extract``, or ``fresh`` when a cached result could not be used: its batch folder is
        gone (deleted after the load that used it). Found out only once the task came back
        cached, the batch would be extracted again in this thread, one batch at a time."""
        if full_refresh or not _complete({"dir": str(Path(out_dir) / key)}):
            return fresh
        return extract

    # Batches leave this queue as they are submitted, and nothing else keeps the documents'
    # text (``raw`` aside), so a finished batch's text is freed.
    pending = deque(batches(documents, max(1, int(batch_mb * 1_000_000)), cpu_count()))
    in_flight = IN_FLIGHT or cpu_count() + 1
    total = documents.height
    del documents
    done = Extraction(folder, lease=lease)
    pool = extract_pool.opened(cpu_count(), ceiling) if _extracts_here() else contextlib.nullcontext()
    with pool, document_progress(total, enabled=None if progress.SHOW else False) as advance:
        futures: deque[Any] = deque()
        while pending and len(futures) < in_flight:
            key, batch = pending.popleft()
            lease.hold(key)  # before its folder is looked at
            futures.append((runner(key).submit(key, batch, out_dir), key, batch))
        while futures:
            future, key, batch = futures.popleft()
            future.wait()
            state = future.state
            result = state.result()
            cached = state.name == "Cached"
            if not _complete(result):  # cached, but its files were cleaned up since it was submitted
                result = fresh(key, batch, out_dir)
                cached = False
            done.tasks += 1
            done.cached += int(cached)
            done.results.append(result)
            advance(batch.height)
            ids = batch["document_id"].to_list()
            on_batch(result, ids, all_submitted=not pending, others_running=bool(futures))
            del future, batch
            if pending:
                key, batch = pending.popleft()
                lease.hold(key)
                futures.append((runner(key).submit(key, batch, out_dir), key, batch))
    return done


def take_stock(
    summary: RunSummary, extraction: Extraction, raw: pl.DataFrame, quarantine: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Quarantine the documents that went over the memory ceiling alone (with the reason: not
    loaded half-done), count what was extracted, and say so. Returns ``raw`` and ``quarantine``."""
    raw, quarantine = quarantine_documents(raw, quarantine, extraction.failed())
    rows = extraction.rows()
    summary.quarantined = quarantine.height
    summary.extract_tasks, summary.extract_tasks_cached = extraction.tasks, extraction.cached
    summary.sentences = rows["stg_sentences"]
    summary.facts = rows["fct_metric"]
    summary.items = rows["fct_rectification_item"]
    summary.measures = rows["fct_measure"]
    get_run_logger().info(
        "extracted %d sentences and %d metric facts in %d tasks (%d cached)",
        summary.sentences,
        summary.facts,
        summary.extract_tasks,
        summary.extract_tasks_cached,
    )
    return raw, quarantine


def load_tables(extraction: Extraction, raw: pl.DataFrame, units: pl.DataFrame) -> dict[str, warehouse.Frame]:
    """What the load writes: the batches' files (``staged_tables``), the documents and the units."""
    extracted = extraction.results
    return {
        **(staged_tables(extracted) if extracted else {t: empty_table(t) for t in EXTRACT_TABLES}),
        "raw_documents": raw,
        "dim_unit": units,
        "dim_metric": load_dim_metric(),
    }


def last_rows(
    summary: RunSummary, dq: pl.DataFrame, started: datetime, chosen: list[Stage]
) -> dict[str, pl.DataFrame]:
    """The run rows the load appends last, once the checks are done: the run and its checks."""
    return {
        "etl_run": summary.etl_run(started),
        "dq_result": dq,
        **({"dq_run": dq_checks.dq_run_row(dq, summary.run_id, started)} if "validate" in chosen else {}),
    }


def clean_staging(extraction: Extraction, started: datetime) -> None:
    """After the load: the batches are in the warehouse now; a later run extracts only what
    changes. Batches another live run holds stay (``flows.pipeline.staging``), and so do those
    another run is writing (``*.tmp-<pid>-*``, ``extract_pool.clean_staging``)."""
    folders = [Path(result["dir"]) for result in extraction.results]
    staging.remove_batches(
        extraction.staging, [*folders, *_stale_batches(extraction.staging, started)], extraction.lease
    )
    if extraction.lease is not None:
        extraction.lease.release()


def write_lake(target: Path, parquet_dir: str, base_url: str | None) -> dict[str, object]:
    """The ``lake`` task, after the load has committed: a lake that cannot be written is a warning."""
    state = lake(target, Path(parquet_dir), base_url, return_state=True)
    if state.is_completed():
        return state.result()
    get_run_logger().warning(
        "the warehouse is loaded, but the Parquet lake was not written: %s", state.message
    )
    return {"directory": parquet_dir, "files": 0, "database": None, "note": state.message}


def publish_problems(summary: RunSummary, results: pl.DataFrame, quarantine: pl.DataFrame) -> None:
    """``publish`` for a run whose checks failed: the report of what failed must not hide the
    failure itself, so a publish that fails is only a warning."""
    summary.count_checks(results)
    state = publish(summary, results, quarantine, return_state=True)
    if not state.is_completed():
        get_run_logger().warning("could not publish the problems artifact: %s", state.message)


class _Laps:
    """Wall time per stage, for benchmarks: each call ends a stage that began at the call before."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary
        self.clock = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        seconds = self.summary.stage_seconds
        seconds[stage] = round(seconds.get(stage, 0.0) + now - self.clock, 3)
        self.clock = now


def run_name(input_dir: str | None, now: datetime | None = None) -> str:
    """A flow run's name: ``etl-<folder>-<UTC time>``. ``taizhang run`` names its run with it up
    front (and prints it); a deployment's run gets it from ``_run_name``."""
    folder = Path(str(input_dir or RAW_DIR)).name
    return f"etl-{folder}-{now or datetime.now(UTC):%Y%m%d-%H%M%S}"


def _run_name() -> str:
    from prefect.runtime import flow_run

    return run_name((flow_run.parameters or {}).get("input_dir"))


def _default_runner() -> Any:
    """$TAIZHANG_TASK_RUNNER's runner; a bad value must not make this module unimportable."""
    try:
        return task_runner()
    except ValueError as exc:
        logging.getLogger(__name__).warning("%s; the flow uses threads", exc)
        return task_runner("threads")


def _stop_checker(*_: Any) -> None:
    """Flow hook: a run that failed before its checks were collected stops the checker process,
    so that its queued checks do not hold up the next run's; it also lets go of its batches
    (they stay in staging, for a re-run to find, until a later run's clean-up)."""
    staging.release_all()
    checker.shutdown()


def _kill_children(*_: Any) -> None:
    """Flow hook: a crashed or cancelled run (a signal, a cancellation from the UI) kills its
    checker process and extract workers at once rather than waiting for what they were doing."""
    staging.release_all()
    stopping.stop_children()


# ------------------------------------------------------------------------------ the flow


# The runner comes from $TAIZHANG_TASK_RUNNER (threads when unset); `taizhang run --runner` picks
# another per run with etl.with_options(task_runner=...).
@flow(
    name="etl",
    flow_run_name=_run_name,
    log_prints=True,
    task_runner=_default_runner(),
    on_failure=[_stop_checker],
    on_crashed=[_kill_children],
    on_cancellation=[_kill_children],
)
def etl(
    input_dir: str = str(RAW_DIR),
    warehouse_path: str | None = None,
    full_refresh: bool = False,
    stages: list[Stage] | None = None,
    parquet_dir: str | None = None,
    parquet_base_url: str | None = None,
    batch_mb: float = BATCH_BYTES / 1_000_000,
    memory_limit: str | None = None,
) -> dict[str, object]:
    """Read Chinese government reports and load their metric facts into the DuckDB warehouse.

    Args:
        input_dir: Folder of raw reports to read (every file below it; .txt, .html, any encoding).
        warehouse_path: DuckDB file to write; empty means $TAIZHANG_WAREHOUSE or warehouse/taizhang.duckdb.
        full_refresh: Re-extract every document, ignoring the cache, and rebuild the warehouse's tables.
        stages: Stages to run, in order ingest, transform, validate, load. Leave out "load" for a dry
            run that writes nothing; leave out "validate" to load without data-quality checks.
        parquet_dir: After the load, also write every table as Parquet partitioned by document year, with
            views.sql and lake.duckdb over the files (for object storage and engines beyond DuckDB).
        parquet_base_url: Where the Parquet files will live, e.g. s3://bucket/taizhang (views.sql names it).
        batch_mb: Megabytes of text per extract task: bounds each worker's memory; smaller batches
            spread a small run over more workers.
        memory_limit: The run's memory ceiling (4GB, 1500MB, 40%); empty means $TAIZHANG_MEMORY_LIMIT or
            half the machine's memory. A document whose extraction would go over it is quarantined.
    """
    chosen = list(stages or ALL_STAGES)
    started = datetime.now(UTC).replace(tzinfo=None)
    stopping.note_flow_run(prefect_runtime.flow_run.id)
    stopping.take_over()
    target = Path(warehouse_path) if warehouse_path else default_warehouse()
    summary = RunSummary.begin(input_dir, target, chosen, prefect_runtime.flow_run.name)
    lap = _Laps(summary)
    checking, loading = "validate" in chosen and "transform" in chosen, "load" in chosen
    if checking:  # the checker process warms GX up while this reads and extracts
        checker.start()

    raw, quarantine = ingest(Path(input_dir), target, reuse=not full_refresh)
    lap("ingest")
    status = compare(raw, target)
    lap("compare")
    summary.count_documents(raw, quarantine, status)
    if "transform" not in chosen:
        get_run_logger().info("stages %s: stopping after ingest", chosen)
        publish(summary, pl.DataFrame(schema=DQ_SCHEMA), quarantine)
        return asdict(summary)

    units = dim_unit(load_reference().units)  # checked, then loaded: the same frame
    # Batches go to the checks as they come back; the load waits for their verdict to commit.
    with CheckQueue(summary.run_id, raw, units, enabled=checking) as checks:
        extraction = extract_batches(
            raw, status, target, batch_mb, memory_limit, full_refresh, on_batch=checks.submit
        )
        lap("extract")
        raw, quarantine = take_stock(summary, extraction, raw, quarantine)
        if loading:  # it writes every table beside the last checks and commits once they passed
            run_rows = {"etl_run": summary.etl_run(started), "quarantine": quarantine}
            checks.load_beside(load, target, load_tables(extraction, raw, units), run_rows, full_refresh)
        checks.finish()
        try:
            dq = checks.results(dq_checks.docs_dir(target), started)  # the validate task
        except DataQualityError as exc:
            publish_problems(summary, exc.results, quarantine)
            raise
        lap("validate")
        summary.count_checks(dq)
        if loading:
            summary.count_load(checks.commit(last_rows(summary, dq, started, chosen)))
            clean_staging(extraction, started)
            lap("load")
        else:  # its batches stay for the run that loads them
            staging.release_all()
            get_run_logger().info("stage load left out: dry run, the warehouse was not touched")
    if loading and parquet_dir:
        summary.lake = write_lake(target, parquet_dir, parquet_base_url)
        lap("lake")
    if checks.wait_for_docs():
        lap("docs")  # only what was left of them after the load
    publish(summary, dq, quarantine)
    return asdict(summary)
