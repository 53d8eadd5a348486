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
  is committed;
- ``load`` writes the run in one transaction on a copy of the warehouse (I/O: retried
  with back-off), beside the last checks: it commits only once they have passed;
  unchanged documents' rows are not touched;
- ``publish`` leaves a summary table and a markdown list of problems as
  artifacts of the flow run, visible in the UI.

Frames travel between tasks in memory, so tasks that take frames have no
input-hashing cache policy (Prefect would otherwise hash whole frames).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, wait
from concurrent.futures.process import BrokenProcessPool
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
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.pipeline import extract_pool, stopping
from flows.pipeline.progress import document_progress
from flows.pipeline.runners import cpu_count, import_in_workers, task_runner
from flows.quality import checker
from flows.quality import checks as dq_checks
from flows.settings import RAW_DIR, REPO_ROOT, SEEDS_DIR, default_warehouse
from flows.warehouse import store as warehouse
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
# Text per validation chunk, at least: each batch of a large run is a chunk of its own. The
# checker pools the chunks' frames and runs a suite once its pool is full (``flows.quality.checker``),
# so GX's planning is not paid per chunk; handing each batch over as it comes back keeps the
# checker busy while the extraction goes on. Small batches are grouped up to this size: each
# chunk still costs a read of its files and dim_org_unit's suite (about 0.2 s).
VALIDATE_CHUNK_BYTES = 1_000_000
CHECKS_QUEUED = 4  # chunks handed to the checker process and not yet checked, at most
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


class DataQualityError(RuntimeError):
    """A critical expectation failed; the load was not attempted. ``results`` are the dq_result rows."""

    def __init__(self, message: str, results: pl.DataFrame) -> None:
        super().__init__(message)
        self.results = results


class LoadCancelled(RuntimeError):
    """The checks did not pass (or did not finish): a load started beside them stops before its commit."""


class _Gate:
    """The run rows a load started beside the last checks appends last, once the checks are done.

    ``warehouse.load`` calls it before its commit (``before_commit``) and waits there; the flow
    ``open``s it with the rows that hold the checks' results, or ``cancel``s it, and the load
    then stops with ``LoadCancelled`` and leaves the warehouse as it was.
    """

    def __init__(self) -> None:
        self._done = threading.Event()
        self._rows: dict[str, pl.DataFrame] = {}
        self._why: str | None = None

    def open(self, rows: dict[str, pl.DataFrame]) -> None:
        self._rows = rows
        self._done.set()

    def cancel(self, why: str) -> None:
        self._why = why
        self._done.set()

    def __call__(self) -> dict[str, pl.DataFrame]:
        self._done.wait()
        if self._why is not None:
            raise LoadCancelled(self._why)
        return self._rows


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
    or quota, a read-only file system, a wrong kind of path, or a load the flow cancelled. The
    error or any error it was raised from counts (the load wraps DuckDB's errors, which name
    the cause only in their text). A busy warehouse, a dropped connection or a timeout are
    transient and retried."""
    while exc is not None:
        if isinstance(exc, LoadCancelled | FileNotFoundError | FileExistsError | PermissionError):
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
    loaded: bool = False
    stages: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage, for benchmarks


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


def _remove_stale_batches(staging: Path, started: datetime) -> None:
    """After a load: remove the batch folders older than this run (left by runs that were
    stopped before their load), so that the staging folder holds no more than a run's batches.
    A cached extract result whose folder is gone is extracted again (``runner`` in ``etl``)."""
    cutoff = started.replace(tzinfo=UTC).timestamp()
    for folder in staging.iterdir():
        with contextlib.suppress(OSError):
            if folder.is_dir() and ".tmp-" not in folder.name and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


def _complete(result: dict[str, Any]) -> bool:
    """Whether a (possibly cached) extract result's files are all still there."""
    return all((Path(result["dir"]) / f"{name}.parquet").is_file() for name in EXTRACT_TABLES)


def staged_tables(results: list[dict[str, Any]]) -> dict[str, warehouse.StagedTable]:
    """The extracted tables as Parquet files, for ``warehouse.load`` to stream."""
    return {
        name: warehouse.StagedTable.of([Path(r["dir"]) / f"{name}.parquet" for r in results])
        for name in EXTRACT_TABLES
    }


def combine_results(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One ``dq_result`` row per expectation from the rows of several chunks.

    Bad rows add up. A check passes when it passed on every chunk, except one with
    ``mostly``: its share of good rows is taken over all chunks (each chunk's ``considered``
    rows, from ``dq.validate_all(with_counts=True)``), since a chunk below the threshold
    does not fail a run that is above it. A table checked in one part alone (dim_unit, the
    same in every chunk, in the first; a small table whose rows all fit one of the checker's
    pools, in the last) has its rows from that part. Rows come in ``dq.TABLES`` order, each
    suite's in its own order. The count columns are dropped.
    """
    columns = list(DQ_SCHEMA)
    rows = pl.concat(parts)
    combined = rows.group_by("run_id", "table_name", "expectation", "severity", maintain_order=True).agg(
        pl.col("success").all(),
        pl.col("observed_value")
        .filter(~pl.col("success"))
        .first()
        .fill_null(pl.col("observed_value").first()),
        # Table-level checks count no rows: their count stays empty rather than a sum of nothing.
        pl.when(pl.col("unexpected_count").is_not_null().any()).then(pl.col("unexpected_count").sum()),
        pl.col("sample").filter(~pl.col("success")).first().fill_null(pl.col("sample").first()),
        pl.col("mostly").first(),
        pl.col("considered").sum(),
        (pl.col("unexpected_count").is_null() | pl.col("considered").is_null()).any().alias("_uncounted"),
        pl.col("observed_value").str.starts_with("error: ").any().alias("_error"),
    )
    share = 1 - pl.col("unexpected_count") / pl.col("considered")
    by_share = pl.when(pl.col("considered") == 0).then(True).otherwise(share >= pl.col("mostly"))
    order = {table: i for i, table in enumerate(dq_checks.TABLES)}
    return (
        combined.with_columns(
            pl.when(pl.col("mostly").is_not_null() & ~pl.col("_uncounted") & ~pl.col("_error"))
            .then(by_share)
            .otherwise(pl.col("success"))
            .alias("success")
        )
        .sort(pl.col("table_name").replace_strict(order, default=len(order)), maintain_order=True)
        .select(columns)
    )


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


DQ_SCHEMA = dq_checks.DQ_RESULT_SCHEMA


@task(name="validate", timeout_seconds=1800, cache_policy=NO_CACHE)
def validate(
    checks: list[Future[pl.DataFrame]],
    run_id: str,
    docs_dir: Path | None = None,
    started_at: datetime | None = None,
) -> pl.DataFrame:
    """Wait for the chunks' checks, combine their results (``combine_results``), log what
    failed, and raise on a critical failure, before anything is loaded.

    The checks were started by the flow chunk by chunk while extracting, and run in the
    checker process (``flows.quality.checker``); this task takes what is left of them. A run that
    fails here writes its data docs before it raises; one that passes writes them while
    the flow loads (``checker.build_docs_later``): 1-2 s of GX rendering off the critical path.
    """
    logger = get_run_logger()
    try:
        parts = [c.result() for c in checks]
    except BrokenProcessPool as exc:
        raise RuntimeError(
            "the checker process stopped before the checks were done: out of memory, or a script "
            "that calls etl() without `if __name__ == '__main__':` (the checker process starts "
            "by importing the script). Nothing was loaded; the warehouse is unchanged."
        ) from exc
    results = combine_results(parts)
    failed = results.filter(~pl.col("success"))
    for r in failed.iter_rows(named=True):
        logger.warning(
            "%s check failed on %s: %s (%s bad rows, e.g. %s)",
            r["severity"],
            r["table_name"],
            r["expectation"],
            r["unexpected_count"],
            r["sample"],
        )
    message = dq_checks.critical_failures_message(results)
    if message and docs_dir is not None:
        try:
            logger.info("data docs: %s", checker.build_docs(results, docs_dir, started_at))
        except OSError as exc:  # the docs must never be why a run fails
            logger.warning("data docs not written to %s: %s", docs_dir, exc)
    if message:
        raise DataQualityError(f"{message}\nNothing was loaded; the warehouse is unchanged.", results)
    logger.info("data quality: %d checks passed, %d warnings", results.height - failed.height, failed.height)
    return results


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
    gate: _Gate | None = None,
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
    rows = [
        {"figure": "documents read", "value": summary.documents},
        {"figure": "new", "value": summary.new},
        {"figure": "changed", "value": summary.changed},
        {"figure": "unchanged", "value": summary.unchanged},
        {"figure": "quarantined", "value": summary.quarantined},
        {"figure": "removed (no longer in the folder)", "value": summary.removed},
        {"figure": "sentences", "value": summary.sentences},
        {"figure": "metric facts", "value": summary.facts},
        {"figure": "rectification items", "value": summary.items},
        {"figure": "measures", "value": summary.measures},
        {"figure": "extract tasks", "value": summary.extract_tasks},
        {"figure": "extract tasks cached", "value": summary.extract_tasks_cached},
        {"figure": "checks passed", "value": summary.checks_passed},
        {"figure": "checks failed", "value": summary.checks_failed},
        {"figure": "loaded", "value": int(summary.loaded)},
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


def _wait_for_docs(docs: Future[Path], docs_dir: Path) -> None:
    """Wait for the data docs the checker writes while the flow loads; never fail the run for them."""
    logger = get_run_logger()
    try:
        logger.info("data docs: %s", docs.result())
    except (OSError, BrokenProcessPool) as exc:
        logger.warning("data docs not written to %s: %s", docs_dir, exc)


def _run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    folder = Path(str(params.get("input_dir") or RAW_DIR)).name
    return f"etl-{folder}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def _default_runner() -> Any:
    """$TAIZHANG_TASK_RUNNER's runner; a bad value must not make this module unimportable."""
    try:
        return task_runner()
    except ValueError as exc:
        logging.getLogger(__name__).warning("%s; the flow uses threads", exc)
        return task_runner("threads")


# The runner comes from $TAIZHANG_TASK_RUNNER (threads when unset); `taizhang run --runner` picks
# another per run with etl.with_options(task_runner=...).
def _stop_checker(*_: Any) -> None:
    """Flow hook: a run that failed before its checks were collected stops the checker process,
    so that its queued checks do not hold up the next run's."""
    checker.shutdown()


def _kill_children(*_: Any) -> None:
    """Flow hook: a crashed or cancelled run (a signal, a cancellation from the UI) kills its
    checker process and extract workers at once rather than waiting for what they were doing."""
    stopping.stop_children()


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
    show_progress: bool = False,
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
        show_progress: Draw a progress bar on the terminal (taizhang run sets it; silent when not a terminal).
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
    run_id = uuid.uuid4().hex[:12]
    logger = get_run_logger()
    target = Path(warehouse_path) if warehouse_path else default_warehouse()
    summary = RunSummary(
        run_id=run_id, input_dir=str(Path(input_dir).resolve()), warehouse=str(target.resolve())
    )
    summary.stages = chosen

    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        summary.stage_seconds[stage] = round(summary.stage_seconds.get(stage, 0.0) + now - clock, 3)
        clock = now

    checking = "validate" in chosen and "transform" in chosen
    if checking:  # the checker process warms GX up while this reads and extracts
        checker.start()

    raw, quarantine = ingest(Path(input_dir), target, reuse=not full_refresh)
    lap("ingest")
    status = compare(raw, target)
    lap("compare")
    summary.documents = raw["document_id"].n_unique()
    summary.not_read = raw["text"].null_count()
    summary.quarantined = quarantine.height
    by_status = dict(status.unique("document_id").group_by("status").len().iter_rows())
    summary.new, summary.changed, summary.unchanged = (
        by_status.get(k, 0) for k in ("new", "changed", "unchanged")
    )

    dq = pl.DataFrame(schema=DQ_SCHEMA)
    if "transform" not in chosen:
        logger.info("stages %s: stopping after ingest", chosen)
        publish(summary, dq, quarantine)
        return asdict(summary)

    # Files not read again (``ingest``) have no text here; their documents are unchanged.
    read = pl.col("text").is_not_null()
    documents = raw.filter(read).unique("document_id", keep="first", maintain_order=True)
    if not full_refresh:  # the warehouse already holds every table of an unchanged document
        documents = documents.filter(
            pl.col("document_id").is_in(
                status.filter(pl.col("status") != "unchanged")["document_id"].implode()
            )
        )
    extracted: list[dict[str, Any]] = []
    staging = _staging_dir(target)
    for left in extract_pool.clean_staging(staging):
        logger.info("removed %s, left by a run that was stopped", left.name)
    out_dir = str(staging)
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
    # Checks start chunk by chunk as a chunk's batches come back, in the checker process,
    # while the runner's workers extract the next batches: validating overlaps extracting.
    units = dim_unit(load_reference().units)  # checked, then loaded: the same frame
    chunk: list[dict[str, Any]] = []
    chunk_ids: list[str] = []
    chunk_bytes = 0
    checks: list[Future[pl.DataFrame]] = []
    flushed = False

    def check(group: list[dict[str, Any]], ids: list[str], hold: bool = True, flush: bool = False) -> None:
        # Back-pressure: with workers that extract faster than one checker checks (a cluster),
        # chunks waiting for it would pile up in memory; wait for the oldest instead.
        queued = [c for c in checks if not c.done()]
        if len(queued) >= CHECKS_QUEUED:
            wait(queued[:1])
        docs = raw.filter(read & pl.col("document_id").is_in(pl.Series(ids, dtype=pl.String).implode()))
        checks.append(
            checker.check(
                group,
                docs,
                units,
                run_id,
                all_unchanged=not extracted and raw.height > 0,
                check_units=not checks,
                hold=hold,
                flush=flush,
            )
        )

    pool = extract_pool.opened(cpu_count(), ceiling) if _extracts_here() else contextlib.nullcontext()
    with pool, document_progress(total, enabled=None if show_progress else False) as advance:
        # A window of batches in flight keeps every worker busy while bounding the frames
        # queued for them; results are taken in submission order, so every runner gives the
        # same tables.
        futures: deque[Any] = deque()
        while pending and len(futures) < in_flight:
            key, batch = pending.popleft()
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
            summary.extract_tasks += 1
            summary.extract_tasks_cached += int(cached)
            extracted.append(result)
            advance(batch.height)
            if checking:
                chunk.append(result)
                chunk_ids.extend(batch["document_id"].to_list())
                chunk_bytes += int(result["bytes"])
                # When the last round starts (every batch submitted, others still extracting),
                # the next batch back is checked with everything the checker pooled (``flush``):
                # it works on that while the last batches finish, and only theirs are left to
                # check after them, all at once (``finish``).
                if chunk_bytes >= VALIDATE_CHUNK_BYTES or (not pending and futures):
                    check(chunk, chunk_ids, flush=not pending and not flushed)
                    flushed = flushed or not pending
                    chunk, chunk_ids, chunk_bytes = [], [], 0
            del future, batch
            if pending:
                key, batch = pending.popleft()
                futures.append((runner(key).submit(key, batch, out_dir), key, batch))
    lap("extract")
    failed = {doc: why for r in extracted for doc, why in r.get("failed", {}).items()}
    if failed:  # over the memory ceiling: quarantined with the reason, not loaded half-done
        raw, quarantine = quarantine_documents(raw, quarantine, failed)
        summary.quarantined = quarantine.height
    rows = {name: sum(int(r["rows"][name]) for r in extracted) for name in EXTRACT_TABLES}
    summary.sentences = rows["stg_sentences"]
    summary.facts = rows["fct_metric"]
    summary.items = rows["fct_rectification_item"]
    summary.measures = rows["fct_measure"]
    logger.info(
        "extracted %d sentences and %d metric facts in %d tasks (%d cached)",
        summary.sentences,
        summary.facts,
        summary.extract_tasks,
        summary.extract_tasks_cached,
    )

    docs: Future[Path] | None = None
    docs_dir = target.parent / "dq"
    loading = "load" in chosen

    def etl_run() -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "run_id": run_id,
                    "started_at": started,
                    "finished_at": datetime.now(UTC).replace(tzinfo=None),
                    "input_dir": summary.input_dir,
                    "documents": summary.documents,
                    "sentences": summary.sentences,
                    "facts": summary.facts,
                    "checks_passed": summary.checks_passed,
                    "checks_failed": summary.checks_failed,
                }
            ]
        )

    with contextlib.ExitStack() as stack:
        future_load: PrefectFuture[dict[str, int]] | None = None
        gate: _Gate | None = None
        if loading:
            tables: dict[str, warehouse.Frame] = {
                **(staged_tables(extracted) if extracted else {t: empty_table(t) for t in EXTRACT_TABLES}),
                "raw_documents": raw,
                "dim_unit": units,
            }
            run_rows = {"etl_run": etl_run(), "quarantine": quarantine}
            if checking:
                # The load writes the tables while the last checks run, in a thread of this process
                # (whatever the task runner), and waits for their verdict before its commit.
                gate = _Gate()
                early = stack.enter_context(ThreadPoolTaskRunner(max_workers=1))
                future_load = early.submit(
                    load,
                    {
                        "warehouse_path": target,
                        "tables": tables,
                        "run_rows": run_rows,
                        "full_refresh": full_refresh,
                        "gate": gate,
                    },
                )

        def cancel_load(why: str) -> None:
            if gate is not None and future_load is not None:
                gate.cancel(why)
                future_load.wait()  # its copy removed: the warehouse is as it was

        if checking:
            if not checks:
                # The run's only chunk (a small or incremental run; or the one that says the folder
                # is empty) checks every table itself: holding the small ones for ``finish`` would
                # cost GX's fixed planning twice, about 1.5 s, for nothing.
                check(chunk, chunk_ids, hold=False)
            else:
                if chunk:  # the last chunk
                    check(chunk, chunk_ids)
                checks.append(checker.finish(run_id))  # what is left in the pools
            try:
                dq = validate(checks, run_id, docs_dir=docs_dir, started_at=started)
            except DataQualityError as exc:
                cancel_load("critical checks failed")
                # The report of what failed must not hide the failure itself.
                state = publish(summary, exc.results, quarantine, return_state=True)
                if not state.is_completed():
                    logger.warning("could not publish the problems artifact: %s", state.message)
                checker.shutdown(wait=False)
                raise
            except BaseException:
                cancel_load("the checks did not finish")
                checker.shutdown(wait=False)  # a failed run's hook stops it too
                raise
            # The checker writes the data docs while the load runs, then exits (its memory is the
            # load's); the flow waits for them after the load.
            docs = checker.build_docs_later(dq, docs_dir, started)
            checker.shutdown(wait=False, cancel_futures=False)
        else:
            logger.warning("stage validate left out: loading without data-quality checks")
        lap("validate")
        summary.checks_passed = int(dq["success"].sum()) if dq.height else 0
        summary.checks_failed = dq.height - summary.checks_passed

        if loading:
            final_rows = {
                "etl_run": etl_run(),
                "dq_result": dq,
                **({"dq_run": dq_checks.dq_run_row(dq, run_id, started)} if "validate" in chosen else {}),
            }
            if gate is not None and future_load is not None:
                gate.open(final_rows)
                counts = future_load.result()
            else:
                counts = load(target, tables, {**run_rows, **final_rows}, full_refresh)
            summary.removed = int(counts.get("files_removed", 0))
            summary.totals = {
                t: int(counts[t])
                for t in (
                    "raw_documents",
                    "stg_sentences",
                    "fct_metric",
                    "fct_rectification_item",
                    "fct_measure",
                )
                if t in counts
            }
            summary.loaded = True
            for result in extracted:  # in the warehouse now; a later run extracts only what changes
                shutil.rmtree(result["dir"], ignore_errors=True)
            _remove_stale_batches(Path(out_dir), started)
            lap("load")
        else:
            logger.info("stage load left out: dry run, the warehouse was not touched")
    if loading and parquet_dir:  # the load has committed: a lake that cannot be written is a warning
        state = lake(target, Path(parquet_dir), parquet_base_url, return_state=True)
        if state.is_completed():
            summary.lake = state.result()
        else:
            logger.warning("the warehouse is loaded, but the Parquet lake was not written: %s", state.message)
            summary.lake = {"directory": parquet_dir, "files": 0, "database": None, "note": state.message}
        lap("lake")
    if docs is not None:
        _wait_for_docs(docs, docs_dir)
        lap("docs")  # only what was left of them after the load
    publish(summary, dq, quarantine)
    return asdict(summary)
