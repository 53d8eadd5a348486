"""The run's data-quality checks beside the extraction, and the gate the load waits at.

A ``CheckQueue`` is what the flow hands each extracted batch to (``submit``), what hands over
the rest once the extraction is done (``finish``) and what gives the verdict (``results``, the
``validate`` task). Between the two it holds everything about overlapping the checks with the
rest of the run:

- **Chunks.** Batches are grouped into chunks of at least ``VALIDATE_CHUNK_BYTES`` of text, and
  each chunk is checked in the checker process (``flows.quality.checker``) while the workers
  extract the next batches, so that checking overlaps extracting.
- **Pools.** The checker pools each table's rows and checks a table once its pool is full
  (``checker.POOL_ROWS``); when the last round of batches starts (every batch submitted,
  others still extracting), the next chunk is checked with everything pooled (``flush``), so
  that after the last extraction only the last batches' rows are left (``finish``).
- **Back-pressure.** At most ``CHECKS_QUEUED`` chunks wait for the checker: with workers that
  extract faster than one checker checks (a cluster), chunks would pile up in memory.
- **The load gate.** ``load_beside`` starts the load in a thread of this process (whatever the
  task runner) as soon as the extraction is done: it writes every table while the last checks
  run, then waits at a ``LoadGate`` before its commit. ``commit`` opens the gate with the run's
  last rows (the checks' results among them); a critical failure, or checks that did not
  finish, cancel it instead, and the load stops with ``LoadCancelled``, leaving the warehouse
  as it was.
- **Data docs.** A run that passes has the checker write the data docs while the load commits
  (``wait_for_docs`` waits for them after it).

A queue made with ``enabled=False`` (a run without the validate stage) checks nothing: the
load then runs at ``commit``, in the flow's thread, with every run row at once.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl
from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from flows.quality import checker
from flows.quality import checks as dq_checks

DQ_SCHEMA = dq_checks.DQ_RESULT_SCHEMA
# Text per validation chunk, at least: each batch of a large run is a chunk of its own. The
# checker pools the chunks' frames and runs a suite once its pool is full (``flows.quality.checker``),
# so GX's planning is not paid per chunk; handing each batch over as it comes back keeps the
# checker busy while the extraction goes on. Small batches are grouped up to this size: each
# chunk still costs a read of its files and dim_org_unit's suite (about 0.2 s).
VALIDATE_CHUNK_BYTES = 1_000_000
CHECKS_QUEUED = 4  # chunks handed to the checker process and not yet checked, at most


class DataQualityError(RuntimeError):
    """A critical expectation failed; the load was not attempted. ``results`` are the dq_result rows."""

    def __init__(self, message: str, results: pl.DataFrame) -> None:
        super().__init__(message)
        self.results = results


class LoadCancelled(RuntimeError):
    """The checks did not pass (or did not finish): a load started beside them stops before its commit."""


class LoadGate:
    """The run rows a load started beside the last checks appends last, once the checks are done.

    ``warehouse.load`` calls it before its commit (``before_commit``) and waits there; the
    queue ``open``s it with the rows that hold the checks' results, or ``cancel``s it, and the
    load then stops with ``LoadCancelled`` and leaves the warehouse as it was.
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


@task(name="validate", timeout_seconds=1800, cache_policy=NO_CACHE)
def validate(
    checks: list[Future[pl.DataFrame]],
    run_id: str,
    docs_dir: Path | None = None,
    started_at: datetime | None = None,
) -> pl.DataFrame:
    """Wait for the chunks' checks, combine their results (``combine_results``), log what
    failed, and raise on a critical failure, before anything is loaded.

    The checks were started chunk by chunk while extracting (``CheckQueue``), and run in the
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


class CheckQueue:
    """One run's checks in the checker process, chunk by chunk while extracting, and its load gate.

    ``raw`` is the run's ``raw_documents`` (the text the offsets point into; a chunk is handed
    its own documents), ``units`` the dim_unit the run loads (checked with the first chunk).
    Use it as a context manager: leaving it closes the thread the load ran in (Prefect's
    runner cancels a load still running then), and stops the checker process when the checks
    failed. The chunk size and the queue's depth are read as the queue is made
    (``VALIDATE_CHUNK_BYTES``, ``CHECKS_QUEUED``).
    """

    def __init__(self, run_id: str, raw: pl.DataFrame, units: pl.DataFrame, *, enabled: bool = True) -> None:
        self.run_id = run_id
        self.enabled = enabled
        self._raw = raw
        self._units = units
        self._chunk_bytes = VALIDATE_CHUNK_BYTES
        self._queued = CHECKS_QUEUED
        self._chunk: list[dict[str, Any]] = []  # extract results not handed to the checker yet
        self._chunk_ids: list[str] = []
        self._chunk_size = 0
        self._batches = 0  # batches submitted, checked or not
        self._flushed = False
        self._checks: list[Future[pl.DataFrame]] = []
        self._stack = contextlib.ExitStack()
        self._gate: LoadGate | None = None
        self._load: PrefectFuture[dict[str, int]] | None = None
        self._deferred: tuple[Task[..., dict[str, int]], dict[str, Any]] | None = None
        self._failed = False  # the checks failed or did not finish: the checker is stopped on exit
        self._docs: Future[Path] | None = None
        self._docs_dir: Path | None = None

    def __enter__(self) -> CheckQueue:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._failed:
                checker.shutdown(wait=False)  # a failed run's hook stops it too
        finally:
            # A load still running here (the run failed elsewhere) is cancelled by the runner.
            self._stack.close()

    @property
    def handed_over(self) -> tuple[Future[pl.DataFrame], ...]:
        """The checks handed to the checker process so far, in order: one per chunk, then the pools'."""
        return tuple(self._checks)

    # ------------------------------------------------------------------ while extracting

    def submit(
        self,
        result: dict[str, Any],
        document_ids: list[str],
        *,
        all_submitted: bool = False,
        others_running: bool = False,
    ) -> None:
        """One extracted batch (``extract``'s result) and its documents, as the batch comes back.

        The batch joins the chunk being gathered; the chunk goes to the checker once it holds
        ``VALIDATE_CHUNK_BYTES`` of text, or at once in the last round (``all_submitted``: every
        batch was submitted; ``others_running``: some are still extracting). The first batch
        back in the last round is checked with everything the checker pooled (``flush``): it
        works on that while the last batches finish, and only theirs are left for ``finish``.
        """
        self._batches += 1
        if not self.enabled:
            return
        self._chunk.append(result)
        self._chunk_ids.extend(document_ids)
        self._chunk_size += int(result["bytes"])
        if self._chunk_size >= self._chunk_bytes or (all_submitted and others_running):
            self._check(flush=all_submitted and not self._flushed)
            self._flushed = self._flushed or all_submitted

    def _check(self, hold: bool = True, flush: bool = False) -> None:
        """Hand the chunk gathered so far to the checker process."""
        # Back-pressure: with workers that extract faster than one checker checks (a cluster),
        # chunks waiting for it would pile up in memory; wait for the oldest instead.
        queued = [c for c in self._checks if not c.done()]
        if len(queued) >= self._queued:
            wait(queued[:1])
        read = pl.col("text").is_not_null()  # files not read again (``ingest``) have no text
        ids = pl.Series(self._chunk_ids, dtype=pl.String).implode()
        docs = self._raw.filter(read & pl.col("document_id").is_in(ids))
        self._checks.append(
            checker.check(
                self._chunk,
                docs,
                self._units,
                self.run_id,
                all_unchanged=not self._batches and self._raw.height > 0,
                check_units=not self._checks,
                hold=hold,
                flush=flush,
            )
        )
        self._chunk, self._chunk_ids, self._chunk_size = [], [], 0

    # ------------------------------------------------------------------ once extracted

    def load_beside(
        self,
        load: Task[..., dict[str, int]],
        warehouse_path: Path,
        tables: dict[str, Any],
        run_rows: dict[str, pl.DataFrame],
        full_refresh: bool,
    ) -> None:
        """Start ``load`` (the flow's load task) beside the last checks.

        It runs in a thread of this process, whatever the task runner, writes every table and
        waits at the gate (its ``gate`` parameter) before it appends the rows ``commit`` gives
        and commits. Without checks it is only called at ``commit``.
        """
        parameters = {
            "warehouse_path": warehouse_path,
            "tables": tables,
            "run_rows": run_rows,
            "full_refresh": full_refresh,
        }
        if not self.enabled:
            self._deferred = (load, parameters)
            return
        self._gate = LoadGate()
        early = self._stack.enter_context(ThreadPoolTaskRunner(max_workers=1))
        self._load = early.submit(load, {**parameters, "gate": self._gate})

    def finish(self) -> None:
        """Hand what is left to the checker: the last chunk, then what its pools hold.

        The run's only chunk (a small or incremental run; or the one that says the folder is
        empty) checks every table itself: holding the small ones for ``checker.finish`` would
        cost GX's fixed planning twice, about 1.5 s, for nothing.
        """
        if not self.enabled:
            return
        if not self._checks:
            self._check(hold=False)
        else:
            if self._chunk:  # the last chunk
                self._check()
            self._checks.append(checker.finish(self.run_id))  # what is left in the pools

    def results(self, docs_dir: Path, started_at: datetime) -> pl.DataFrame:
        """The ``dq_result`` rows of the run: the ``validate`` task, once every check is done.

        A critical failure raises ``DataQualityError`` (as does a checker process that died),
        after the load begun beside the checks was cancelled and its copy removed. A run that
        passes has the checker write the data docs to ``docs_dir`` while the load commits, then
        stop. Without checks: no rows, and a warning.
        """
        if not self.enabled:
            get_run_logger().warning("stage validate left out: loading without data-quality checks")
            return pl.DataFrame(schema=DQ_SCHEMA)
        try:
            dq = validate(self._checks, self.run_id, docs_dir=docs_dir, started_at=started_at)
        except DataQualityError:
            self._failed = True
            self._cancel_load("critical checks failed")
            raise
        except BaseException:
            self._failed = True
            self._cancel_load("the checks did not finish")
            raise
        # The checker writes the data docs while the load runs, then exits (its memory is the
        # load's); the flow waits for them after the load.
        self._docs, self._docs_dir = checker.build_docs_later(dq, docs_dir, started_at), docs_dir
        checker.shutdown(wait=False, cancel_futures=False)
        return dq

    def commit(self, rows: dict[str, pl.DataFrame]) -> dict[str, int]:
        """Open the gate with the run's last ``rows`` (``etl_run``, ``dq_result``, ``dq_run``): the
        load appends them and commits. Returns the load's counts."""
        if self._load is not None and self._gate is not None:
            self._gate.open(rows)
            return self._load.result()
        if self._deferred is None:
            raise RuntimeError("commit() before load_beside()")
        load, parameters = self._deferred
        return load(**{**parameters, "run_rows": {**parameters["run_rows"], **rows}})

    def _cancel_load(self, why: str) -> None:
        """Cancel a load waiting at the gate, and wait for it to stop (once)."""
        if self._gate is not None and self._load is not None:
            gate, self._gate = self._gate, None
            gate.cancel(why)
            self._load.wait()  # its copy removed: the warehouse is as it was

    # ------------------------------------------------------------------ after the load

    def wait_for_docs(self) -> bool:
        """Wait for the data docs the checker writes while the flow loads; never fail the run for
        them. False when there are none to wait for (the checks did not run)."""
        if self._docs is None:
            return False
        logger = get_run_logger()
        try:
            logger.info("data docs: %s", self._docs.result())
        except (OSError, BrokenProcessPool) as exc:
            logger.warning("data docs not written to %s: %s", self._docs_dir, exc)
        return True
