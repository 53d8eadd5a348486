"""The check queue (flows/pipeline/check_queue.py): the run's checks beside the extraction, and the load gate.

Real extracted batches of the seeds, the real checker process and GX, a real load into a
DuckDB file; the queue runs inside a small Prefect flow, as in the etl flow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import pytest

from tests.conftest import SEEDS_RAW

T = TypeVar("T")
VERDICT = ["table_name", "expectation", "severity", "success", "unexpected_count"]


def in_a_flow(body: Callable[[], T]) -> T:
    """Run ``body`` as a Prefect flow run: the queue's tasks and logger work as in the etl flow."""
    from prefect import flow

    return flow(name="check-queue-test")(body)()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seeds read, their units, and three extracted batches (2, 2 and 1 documents)."""
    from prefect.logging import disable_run_logger

    from flows.pipeline.etl import extract
    from flows.warehouse.ingest import read_folder
    from flows.warehouse.reference import load_reference
    from transforms.dim_unit import dim_unit

    raw, quarantine = read_folder(SEEDS_RAW)
    staging = tmp_path_factory.mktemp("staging")
    parts = [raw[0:2], raw[2:4], raw[4:]]
    with disable_run_logger():
        batches = [extract.fn(f"b{i}", part, str(staging)) for i, part in enumerate(parts)]
    ids = [part["document_id"].to_list() for part in parts]
    units = dim_unit(load_reference().units)
    return {"raw": raw, "quarantine": quarantine, "units": units, "batches": batches, "ids": ids}


def verdict_of_one_chunk(seeds: dict[str, Any], units: pl.DataFrame | None = None) -> pl.DataFrame:
    """What checking every batch at once in this process finds."""
    from flows.quality import checks as dq
    from flows.warehouse.tables import chunk_tables

    tables = chunk_tables(seeds["batches"], seeds["raw"], seeds["units"] if units is None else units)
    return dq.validate_all(tables, "r", with_counts=True).select(VERDICT)


def tables_of(check: Any) -> set[str]:
    return set(check.result(timeout=300)["table_name"])


def load_parameters(seeds: dict[str, Any], target: Path, units: pl.DataFrame | None = None) -> dict[str, Any]:
    """What the etl flow hands ``load_beside``: the batches' files, the documents, the run's rows."""
    from flows.pipeline.etl import Extraction, RunSummary, load_tables

    extraction = Extraction(target.parent, list(seeds["batches"]))
    summary = RunSummary.begin(str(SEEDS_RAW), target, ["ingest", "transform", "validate", "load"])
    started = datetime.now(UTC).replace(tzinfo=None)
    run_rows = {"etl_run": summary.etl_run(started), "quarantine": seeds["quarantine"]}
    tables = load_tables(extraction, seeds["raw"], seeds["units"] if units is None else units)
    return {"warehouse_path": target, "tables": tables, "run_rows": run_rows, "full_refresh": False}


# --- the gate ------------------------------------------------------------------------------


def test_the_gate_holds_the_load_until_it_opens_with_the_rows_or_cancels_it() -> None:
    from flows.pipeline.check_queue import LoadCancelled, LoadGate

    rows = {"dq_result": pl.DataFrame({"x": [1]})}
    gate = LoadGate()
    got: list[object] = []
    waiting = threading.Thread(target=lambda: got.append(gate()))
    waiting.start()
    waiting.join(timeout=0.2)
    assert waiting.is_alive() and not got  # the load waits at the gate
    gate.open(rows)
    waiting.join(timeout=10)
    assert got == [rows]

    cancelled = LoadGate()
    cancelled.cancel("critical checks failed")
    with pytest.raises(LoadCancelled, match="critical checks failed"):
        cancelled()


# --- chunks, flushes, back-pressure ----------------------------------------------------------


@pytest.mark.flow
def test_small_batches_wait_for_a_chunk_and_the_only_chunk_checks_every_table(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path
) -> None:
    from flows.pipeline import check_queue
    from flows.pipeline.check_queue import CheckQueue

    assert sum(int(b["bytes"]) for b in seeds["batches"]) < check_queue.VALIDATE_CHUNK_BYTES

    def body() -> tuple[int, int, pl.DataFrame, set[str]]:
        with CheckQueue("r", seeds["raw"], seeds["units"]) as checks:
            for batch, ids in zip(seeds["batches"], seeds["ids"], strict=True):
                checks.submit(batch, ids)
            before = len(checks.handed_over)
            checks.finish()
            only = tables_of(checks.handed_over[0])
            return before, len(checks.handed_over), checks.results(tmp_path / "dq", datetime.now()), only

    before, after, results, only = in_a_flow(body)

    assert (before, after) == (0, 1)  # below the chunk size: one chunk, at the end, not held
    assert "dim_unit" in only and "stg_sentences" in only
    assert results.select(VERDICT).equals(verdict_of_one_chunk(seeds))


@pytest.mark.flow
def test_each_chunk_goes_as_it_fills_and_the_pools_with_finish(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.pipeline import check_queue
    from flows.pipeline.check_queue import CheckQueue
    from flows.quality import checker

    monkeypatch.setattr(check_queue, "VALIDATE_CHUNK_BYTES", 1)  # every batch is a chunk

    def body() -> tuple[list[int], list[set[str]], pl.DataFrame]:
        handed = []
        with CheckQueue("r", seeds["raw"], seeds["units"]) as checks:
            for batch, ids in zip(seeds["batches"], seeds["ids"], strict=True):
                checks.submit(batch, ids)
                handed.append(len(checks.handed_over))
            checks.finish()
            tables = [tables_of(c) for c in checks.handed_over]
            return handed, tables, checks.results(tmp_path / "dq", datetime.now())

    handed, tables, results = in_a_flow(body)

    pooled = set(checker.POOLED_TABLES)  # the seeds' rows are far below the pools' budget
    assert handed == [1, 2, 3]
    assert tables == [{"dim_unit", "dim_metric", "dim_org_unit"}, {"dim_org_unit"}, {"dim_org_unit"}, pooled]
    assert results.select(VERDICT).equals(verdict_of_one_chunk(seeds))


@pytest.mark.flow
def test_the_last_round_hands_each_batch_over_and_the_first_back_flushes_the_pools(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.pipeline import check_queue
    from flows.pipeline.check_queue import CheckQueue
    from flows.quality import checker

    monkeypatch.setattr(check_queue, "VALIDATE_CHUNK_BYTES", 10**12)  # no chunk ever fills
    first, second, last = zip(seeds["batches"], seeds["ids"], strict=True)

    def body() -> tuple[list[int], list[set[str]], pl.DataFrame]:
        handed = []
        with CheckQueue("r", seeds["raw"], seeds["units"]) as checks:
            checks.submit(*first)  # batches still to submit: it waits for more
            handed.append(len(checks.handed_over))
            checks.submit(*second, all_submitted=True, others_running=True)  # the last round
            handed.append(len(checks.handed_over))
            checks.submit(*last, all_submitted=True, others_running=False)  # the last one: left to finish
            handed.append(len(checks.handed_over))
            checks.finish()
            tables = [tables_of(c) for c in checks.handed_over]
            return handed, tables, checks.results(tmp_path / "dq", datetime.now())

    handed, tables, results = in_a_flow(body)

    pooled = set(checker.POOLED_TABLES)
    assert handed == [0, 1, 1]
    # The first two batches with every pool (flush), the last batch held, then its pools.
    assert tables == [pooled | {"dim_unit", "dim_metric", "dim_org_unit"}, {"dim_org_unit"}, pooled]
    assert results.select(VERDICT).equals(verdict_of_one_chunk(seeds))


@pytest.mark.flow
def test_back_pressure_waits_for_the_oldest_check_before_handing_over_another(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.pipeline import check_queue
    from flows.pipeline.check_queue import CheckQueue

    monkeypatch.setattr(check_queue, "VALIDATE_CHUNK_BYTES", 1)
    monkeypatch.setattr(check_queue, "CHECKS_QUEUED", 1)  # one chunk waiting for the checker, at most

    def body() -> list[bool]:
        older_done = []
        with CheckQueue("r", seeds["raw"], seeds["units"]) as checks:
            for batch, ids in zip(seeds["batches"], seeds["ids"], strict=True):
                checks.submit(batch, ids)
                older_done.append(all(c.done() for c in checks.handed_over[:-1]))
            checks.finish()
            checks.results(tmp_path / "dq", datetime.now())
        return older_done

    assert in_a_flow(body) == [True, True, True]


# --- the load gate -------------------------------------------------------------------------


@pytest.mark.flow
def test_a_load_beside_the_checks_commits_their_rows_once_they_pass(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path
) -> None:
    from flows.pipeline.check_queue import CheckQueue
    from flows.pipeline.etl import load
    from flows.quality import checks as dq
    from flows.warehouse import store as warehouse

    target = tmp_path / "w" / "taizhang.duckdb"
    target.parent.mkdir()
    parameters = load_parameters(seeds, target)

    def body() -> tuple[bool, pl.DataFrame, dict[str, int], bool]:
        with CheckQueue("r", seeds["raw"], seeds["units"]) as checks:
            for batch, ids in zip(seeds["batches"], seeds["ids"], strict=True):
                checks.submit(batch, ids)
            checks.load_beside(load, **parameters)
            checks.finish()
            results = checks.results(tmp_path / "dq", datetime.now())
            committed_before = target.exists()  # the load waits at the gate
            rows = {"dq_result": results, "dq_run": dq.dq_run_row(results, "r", datetime.now())}
            counts = checks.commit(rows)
        return committed_before, results, counts, checks.wait_for_docs()

    committed_before, results, counts, docs = in_a_flow(body)

    assert not committed_before
    assert counts["stg_documents"] == 5
    stored = warehouse.query(target, "select count(*) n from dq_result")["n"][0]
    assert stored == results.height and warehouse.query(target, "select success from dq_run")["success"][0]
    assert docs and (tmp_path / "dq" / "index.html").exists()


@pytest.mark.flow
def test_a_critical_failure_cancels_the_load_and_stops_the_checker(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path
) -> None:
    from flows.pipeline.check_queue import CheckQueue, DataQualityError
    from flows.pipeline.etl import load
    from flows.quality import checker
    from flows.warehouse import store as warehouse

    # A unit dictionary that lost 个: every fact in 个 has a unit it does not know (critical).
    units = seeds["units"].filter(pl.col("unit") != "个")
    target = tmp_path / "taizhang.duckdb"
    parameters = load_parameters(seeds, target, units)
    queue: list[CheckQueue] = []

    def body() -> None:
        with CheckQueue("r", seeds["raw"], units) as checks:
            queue.append(checks)
            for batch, ids in zip(seeds["batches"], seeds["ids"], strict=True):
                checks.submit(batch, ids)
            checks.load_beside(load, **parameters)
            checks.finish()
            checks.results(tmp_path / "dq", datetime.now())

    with pytest.raises(DataQualityError, match=r"fct_metric: expect_column_values_to_be_in_set\(unit\)"):
        in_a_flow(body)

    load_run = queue[0]._load
    assert load_run is not None and load_run.state.is_failed()
    assert "critical checks failed" in str(load_run.state.result(raise_on_failure=False))
    assert not target.exists() and warehouse.temp_files(target) == []
    assert checker._executor is None  # stopped: its queued work must not hold up the next run
    assert not queue[0].wait_for_docs()  # none to wait for: written before the error was raised
    assert "critical checks failed" in (tmp_path / "dq" / "index.html").read_text(encoding="utf-8")


@pytest.mark.flow
def test_a_run_that_stops_before_the_verdict_leaves_the_warehouse_as_it_was(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path
) -> None:
    import signal

    from flows.pipeline.check_queue import CheckQueue
    from flows.pipeline.etl import load
    from flows.pipeline.stopping import RunStopped
    from flows.warehouse import store as warehouse

    target = tmp_path / "taizhang.duckdb"
    parameters = load_parameters(seeds, target)
    queue: list[CheckQueue] = []

    def body() -> None:
        with CheckQueue("r", seeds["raw"], seeds["units"]) as checks:
            queue.append(checks)
            checks.submit(seeds["batches"][0], seeds["ids"][0])
            checks.load_beside(load, **parameters)
            raise RunStopped(signal.SIGINT)  # Ctrl-C before the checks are done

    with pytest.raises(RunStopped):
        in_a_flow(body)

    # Leaving the queue closed the load's runner, which cancelled the load at the gate.
    load_run = queue[0]._load
    assert load_run is not None and load_run.state.is_final() and not load_run.state.is_completed()
    assert not target.exists() and warehouse.temp_files(target) == []


@pytest.mark.flow
def test_without_checks_nothing_is_handed_over_and_the_load_runs_at_commit(
    prefect_harness: None, seeds: dict[str, Any], tmp_path: Path
) -> None:
    from flows.pipeline.check_queue import DQ_SCHEMA, CheckQueue
    from flows.pipeline.etl import load
    from flows.warehouse import store as warehouse

    target = tmp_path / "taizhang.duckdb"
    parameters = load_parameters(seeds, target)

    def body() -> tuple[int, pl.DataFrame, bool, dict[str, int], bool]:
        with CheckQueue("r", seeds["raw"], seeds["units"], enabled=False) as checks:
            for batch, ids in zip(seeds["batches"], seeds["ids"], strict=True):
                checks.submit(batch, ids, all_submitted=True, others_running=True)
            checks.load_beside(load, **parameters)
            checks.finish()
            results = checks.results(tmp_path / "dq", datetime.now())
            loaded_before = target.exists()
            counts = checks.commit({"dq_result": results})
        return len(checks.handed_over), results, loaded_before, counts, checks.wait_for_docs()

    handed, results, loaded_before, counts, docs = in_a_flow(body)

    assert handed == 0 and results.height == 0 and results.schema == pl.Schema(DQ_SCHEMA)
    assert not loaded_before and counts["stg_documents"] == 5 and not docs
    assert warehouse.query(target, "select count(*) n from etl_run")["n"][0] == 1
