"""Great Expectations checks in a process of their own, so that they run beside the extraction.

The flow's checks are GX suites over pandas copies of the tables: pure Python for the most
part, about 3 s of planning per call (169 expectations) plus about 1 s per 10 MB of text.
Run on the flow's own thread while the task runner's threads extract, both fight over one
GIL and each goes slower than alone (measured: a 100 MB run took longer overlapped than
one phase after the other). In a second process they use the second core instead.

One checker process per flow run: started as the run starts (``start``; ``taizhang run``
starts it even before the flow, while Prefect's embedded server starts) and stopped once the
checks are done (``shutdown``; the flow's load, begun beside the last checks, then commits).
Starting costs 5-8 s, a fresh interpreter importing Polars and GX (not Prefect:
``flows.warehouse.tables``) and parsing the suites (``quality.warm_up``), spent while the flow reads
its input folder. GX's result objects, which its
own Data Docs pages are rendered from, stay in that process, so the data docs are built
there too (``build_docs``). If the process dies (out of memory, say), the checks that were
running on it raise ``BrokenProcessPool``, which fails the run before anything is loaded,
and the next run starts a new process.

A GX suite call costs its planning however few the rows: about 0.3 s for a small suite,
0.75 s of ``fct_metric``'s 1.0-1.4 s on a 16 MB chunk (41 expectations; 500 rows cost 0.8 s,
23 000 rows 0.9 s). So with ``hold`` a chunk's prepared frames are pooled in the checker
process, per table, and a table is checked once its pool holds ``POOL_ROWS`` rows or
``POOL_BYTES`` (Polars' estimate of the prepared frames), when a check is told to ``flush``
(the run's last round) or when the run finishes (``finish``). On 100 MB, handed over batch by
batch (8 MB), ``stg_sentences`` (45 000 rows a batch) is checked every third batch,
``fct_metric`` every fifth, the tables of a few rows per document (``stg_documents``,
``dim_section``) once or twice. The budget bounds the memory pools take and the size of each
check's frame. Pools are checked in the run, not all at the end: after the last extraction,
only what the last batches brought is left to check (measured: the tables held to the end
before took 3.6 s of checks there).
Keys are unique within each check; across the run, the warehouse's primary keys hold them.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

_executor: ProcessPoolExecutor | None = None
_lock = threading.Lock()
# Tables checked as their pools fill (``POOL_ROWS``, ``POOL_BYTES``). Not dim_unit (the same in every
# chunk: checked with the first) nor dim_org_unit (each chunk has its own row of an organisation,
# merged only at the load: pooled, one body would show as a duplicate key).
POOLED_TABLES = (
    "stg_documents",
    "stg_sentences",
    "fct_metric",
    "dim_document",
    "dim_section",
    "fct_rectification_item",
    "fct_measure",
    "bridge_sentence_org",
    "fct_supervision_activity",
)
POOL_ROWS = 100_000
POOL_BYTES = 32_000_000


def _pool() -> ProcessPoolExecutor:
    """The checker process, started if there is none or the last one broke."""
    global _executor
    with _lock:
        if _executor is not None and getattr(_executor, "_broken", False):
            _executor.shutdown(wait=False, cancel_futures=True)
            _executor = None
        if _executor is None:
            _executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up
            )
        return _executor


def start() -> None:
    """Start the checker process now (it warms GX up as it starts), if it is not running."""
    _pool().submit(_nothing)


def check(
    group: list[dict[str, Any]],
    raw: pl.DataFrame,
    units: pl.DataFrame,
    run_id: str,
    all_unchanged: bool = False,
    check_units: bool = True,
    hold: bool = False,
    flush: bool = False,
) -> Future[pl.DataFrame]:
    """Check one chunk of extracted batches (``flows.warehouse.tables.chunk_tables``) in the checker process.

    ``raw`` needs only the chunk's documents (their text, which offsets point into); ``units``
    is the run's dim_unit, checked only with ``check_units`` (a run's first chunk: it is the
    same table in every chunk). With ``hold``, the ``POOLED_TABLES`` join their pools and are
    checked when a pool is full; with ``flush`` too, every pool is checked now, whatever it
    holds. The future's result is the ``dq_result`` rows of what was checked, with the count
    columns of ``dq.validate_all(with_counts=True)``.
    """
    return _pool().submit(_check, group, raw, units, run_id, all_unchanged, check_units, hold, flush)


def finish(run_id: str) -> Future[pl.DataFrame]:
    """Check what is left in the run's pools (``check(hold=True)``), all at once; forget them."""
    return _pool().submit(_finish, run_id)


def build_docs(results: pl.DataFrame, docs_dir: Path, started_at: dt.datetime | None) -> Path:
    """``dq.build_data_docs`` in the checker process, where GX's result objects are."""
    return build_docs_later(results, docs_dir, started_at).result()


def build_docs_later(results: pl.DataFrame, docs_dir: Path, started_at: dt.datetime | None) -> Future[Path]:
    """``build_docs``, without waiting: the flow loads the warehouse while the docs are written."""
    return _pool().submit(_build_docs, results, docs_dir, started_at)


def shutdown(wait: bool = True, cancel_futures: bool = True) -> None:
    """Stop the checker process (at exit; tests may call it).

    With ``wait=False`` this returns at once and the process exits beside the caller: the
    flow does not wait the 1-3 s an interpreter full of GX and pandas takes to tear down
    before it starts the load. With ``cancel_futures=False`` the process first finishes what
    was submitted (the data docs), then exits.
    """
    global _executor
    with _lock:
        if _executor is not None:
            _executor.shutdown(wait=wait, cancel_futures=cancel_futures)
            _executor = None


def kill() -> None:
    """Stop the checker process at once, whatever it is doing (a run being cancelled).

    ``shutdown`` waits for the check that is running (seconds, on a big chunk); a run that was
    told to stop must not.
    """
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is not None:
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)


atexit.register(shutdown)


# --------------------------------------------------------------- in the checker process


def _nothing() -> None:
    """Submitted by ``start``: makes the pool start its process."""


def _warm_up() -> None:
    """The process's initializer: import the flow's module and GX, parse the suites.

    A failure is only logged: the first real check raises it again, where it is reported,
    whereas an initializer that raised would break the pool.
    """
    from flows.pipeline.lifeline import die_with_parent

    die_with_parent()  # a killed run must not leave its checker behind
    try:
        import flows.warehouse.tables  # noqa: F401 - what every check imports (chunk_tables)
        from flows.quality import suites as quality

        quality.warm_up()
    except Exception as exc:
        logging.getLogger(__name__).warning("warming up the checks failed: %s", exc)


def _check(
    group: list[dict[str, Any]],
    raw: pl.DataFrame,
    units: pl.DataFrame,
    run_id: str,
    all_unchanged: bool,
    check_units: bool,
    hold: bool,
    flush: bool = False,
) -> pl.DataFrame:
    from flows.quality import checks as dq
    from flows.warehouse.tables import chunk_tables

    frames, parameters = dq.prepare_each(chunk_tables(group, raw, units, all_unchanged))
    if not check_units:  # reference data, the same in every chunk: checked with the first
        frames.pop("dim_unit", None)
        frames.pop("dim_metric", None)
    if hold:
        run = _pools.setdefault(run_id, _Pools(parameters))
        for table in POOLED_TABLES:
            if table in frames:
                pool = run.pooled.setdefault(table, [])
                pool.append(frames.pop(table)())
                rows = sum(f.height for f in pool)
                if flush or rows >= POOL_ROWS or sum(f.estimated_size() for f in pool) >= POOL_BYTES:
                    frames[table] = _concat(run.pooled.pop(table))
        if flush:
            for table in list(run.pooled):
                frames[table] = _concat(run.pooled.pop(table))
    return dq.check_prepared(frames, parameters, run_id, with_counts=True)


class _Pools:
    """A run's prepared frames waiting in the checker process until their pool is full."""

    def __init__(self, parameters: dict[str, object]) -> None:
        self.parameters = parameters  # the suite parameters of the run's first chunk
        self.pooled: dict[str, list[pl.DataFrame]] = {}


def _concat(parts: list[pl.DataFrame]) -> Callable[[], pl.DataFrame]:
    """A builder (as ``dq.prepare_each`` gives) of the parts as one frame; the parts are let go."""
    frame = pl.concat(parts, how="vertical_relaxed")
    parts.clear()
    return lambda: frame


# run id -> the frames its chunks pooled
_pools: dict[str, _Pools] = {}


def _finish(run_id: str) -> pl.DataFrame:
    from flows.quality import checks as dq

    run = _pools.pop(run_id, None)
    if run is None:
        return dq.check_prepared({}, {}, run_id, with_counts=True)
    frames = {t: _concat(parts) for t, parts in run.pooled.items() if parts}
    run.pooled.clear()
    return dq.check_prepared(frames, run.parameters, run_id, with_counts=True)


def _build_docs(results: pl.DataFrame, docs_dir: Path, started_at: dt.datetime | None) -> Path:
    from flows.quality import checks as dq

    return dq.build_data_docs(results, docs_dir, started_at=started_at)
