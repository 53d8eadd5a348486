"""The etl flow's data-quality gate: results stored, docs written, a critical failure loads nothing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO_ROOT, SEEDS_RAW


def _checks() -> int:
    """Every expectation of every suite: on the seeds each is one check and one dq_result row."""
    suites = (REPO_ROOT / "expectations").glob("*.json")
    return sum(len(json.loads(p.read_text(encoding="utf-8"))["expectations"]) for p in suites)


pytestmark = pytest.mark.flow


def test_clean_run_stores_dq_run_and_dq_result_and_writes_data_docs(
    prefect_harness: None, tmp_path: Path
) -> None:
    from flows.pipeline.etl import etl
    from flows.warehouse import store as warehouse

    target = tmp_path / "taizhang.duckdb"
    etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target))

    run = warehouse.query(target, "select * from dq_run").row(0, named=True)
    assert run["success"] and run["failed_critical"] == 0 and run["tables"] == 12
    assert warehouse.query(target, "select count(*) n from dq_result")["n"][0] == run["checks"]
    assert (tmp_path / "taizhang.dq" / "index.html").exists()
    # Written by the checker process while the flow loaded, and waited for before the flow ended.
    docs = tmp_path / "taizhang.dq"  # beside the warehouse, named after it
    assert (docs / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()


@pytest.fixture
def loaded_then_broken(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, str]]:
    """A warehouse loaded from the seeds (and its checksums), then a unit dictionary that lost 个:
    every fact in 个 now has a unit the dictionary does not know, a critical failure."""
    import flows.pipeline.etl as etl_module
    from flows.pipeline.etl import etl
    from flows.warehouse import store as warehouse

    target = tmp_path / "taizhang.duckdb"
    etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target))
    real_dim_unit = etl_module.dim_unit
    monkeypatch.setattr(
        etl_module, "dim_unit", lambda units: real_dim_unit(units).filter(pl.col("unit") != "个")
    )
    return target, warehouse.checksums(target)


def test_critical_failure_stops_the_run_and_leaves_every_table_unchanged(
    loaded_then_broken: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    from flows.pipeline.etl import DataQualityError, etl
    from flows.warehouse import store as warehouse

    target, before = loaded_then_broken
    with pytest.raises(
        DataQualityError, match=r"fct_metric: expect_column_values_to_be_in_set\(unit\): \d+ bad rows"
    ):
        # A full refresh re-extracts every document (an incremental run would extract none).
        etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target), full_refresh=True)

    assert warehouse.checksums(target) == before
    assert "critical checks failed" in (tmp_path / "taizhang.dq" / "index.html").read_text(encoding="utf-8")


def test_a_load_begun_beside_failing_checks_is_cancelled_once_not_retried(
    loaded_then_broken: tuple[Path, dict[str, str]],
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.pipeline.etl import etl
    from flows.warehouse import store as warehouse

    target, before = loaded_then_broken
    state = etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target), full_refresh=True, return_state=True)

    assert state.is_failed()
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    loads = [r for r in runs if r.name.startswith("load")]
    assert len(loads) == 1 and loads[0].state_name == "Failed" and loads[0].run_count == 1
    assert warehouse.checksums(target) == before
    assert warehouse.temp_files(target) == []


def test_a_chunk_checked_in_the_checker_process_gives_the_rows_checked_here(tmp_path: Path) -> None:
    from prefect.logging import disable_run_logger

    from flows.pipeline.etl import extract
    from flows.quality import checker
    from flows.quality import checks as dq
    from flows.warehouse.ingest import read_folder
    from flows.warehouse.reference import load_reference
    from flows.warehouse.tables import chunk_tables
    from transforms.dim_unit import dim_unit

    raw, _ = read_folder(SEEDS_RAW)
    units = dim_unit(load_reference().units)
    with disable_run_logger():
        group = [extract.fn("k", raw, str(tmp_path))]

    there = checker.check(group, raw, units, "r").result(timeout=300)
    here = dq.validate_all(chunk_tables(group, raw, units), "r", with_counts=True)

    assert there.height == here.height == _checks()
    assert there.equals(here)
    # A later chunk of the same run leaves dim_unit, the same table in every chunk, to the first.
    later = checker.check(group, raw, units, "r", check_units=False).result(timeout=300)
    assert later.equals(here.filter(~pl.col("table_name").is_in(["dim_unit", "dim_metric"])))


def test_pooled_tables_left_under_the_budget_are_checked_once_when_the_run_finishes(tmp_path: Path) -> None:
    from prefect.logging import disable_run_logger

    from flows.pipeline.check_queue import combine_results
    from flows.pipeline.etl import extract
    from flows.quality import checker
    from flows.quality import checks as dq
    from flows.warehouse.ingest import read_folder
    from flows.warehouse.reference import load_reference
    from flows.warehouse.tables import chunk_tables
    from transforms.dim_unit import dim_unit

    raw, _ = read_folder(SEEDS_RAW)
    units = dim_unit(load_reference().units)
    with disable_run_logger():
        first = extract.fn("a", raw.head(2), str(tmp_path / "a"))
        second = extract.fn("b", raw.tail(raw.height - 2), str(tmp_path / "b"))
    chunks = [
        checker.check([first], raw, units, "h", hold=True).result(timeout=300),
        checker.check([second], raw, units, "h", check_units=False, hold=True).result(timeout=300),
    ]
    final = checker.finish("h").result(timeout=300)
    whole = dq.validate_all(chunk_tables([first, second], raw, units), "h", with_counts=True)

    pooled = set(checker.POOLED_TABLES)  # the seeds' tables are far below the pools' budget
    assert set(chunks[0]["table_name"]) == {"dim_unit", "dim_metric", "dim_org_unit"}
    assert set(chunks[1]["table_name"]) == {"dim_org_unit"}
    assert set(final["table_name"]) == pooled
    verdict = ["table_name", "expectation", "severity", "success", "unexpected_count"]
    assert combine_results([*chunks, final]).select(verdict).equals(whole.select(verdict))
    assert checker.finish("h").result(timeout=300).height == 0  # nothing is checked twice


def test_a_pooled_table_is_checked_once_its_pool_is_full_or_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In this process (``_check`` is what the checker process runs), so the budget can be set.
    from prefect.logging import disable_run_logger

    from flows.pipeline.check_queue import combine_results
    from flows.pipeline.etl import extract
    from flows.quality import checker
    from flows.quality import checks as dq
    from flows.warehouse.ingest import read_folder
    from flows.warehouse.reference import load_reference
    from flows.warehouse.tables import chunk_tables
    from transforms.dim_unit import dim_unit

    raw, _ = read_folder(SEEDS_RAW)
    units = dim_unit(load_reference().units)
    with disable_run_logger():
        parts = [extract.fn(k, raw[i : i + 2], str(tmp_path / k)) for k, i in (("a", 0), ("b", 2), ("c", 4))]
    verdict = ["table_name", "expectation", "severity", "success", "unexpected_count"]
    whole = dq.validate_all(chunk_tables(parts, raw, units), "p", with_counts=True).select(verdict)

    def tables(result: pl.DataFrame) -> set[str]:
        return set(result["table_name"])

    def rows(part: dict) -> dict[str, int]:
        frames, _ = dq.prepare_each(chunk_tables([part], raw, units))
        return {t: frames[t]().height for t in checker.POOLED_TABLES}

    # A budget of rows above any table's rows in the first chunk: the tables with that many in
    # the first two chunks are checked with the second (the sentences, say), the others stay.
    (a, b), pooled = (rows(parts[0]), rows(parts[1])), set(checker.POOLED_TABLES)
    budget = max(a.values()) + 1
    full = {t for t in pooled if a[t] + b[t] >= budget}
    assert "stg_sentences" in full and "stg_documents" not in full
    monkeypatch.setattr(checker, "POOL_ROWS", budget)
    monkeypatch.setattr(checker, "POOL_BYTES", 10**12)
    first = checker._check(parts[:1], raw, units, "p", False, True, True)
    second = checker._check(parts[1:2], raw, units, "p", False, False, True)
    # ... and a budget of bytes below what any table pooled: the third chunk's tables are all
    # checked, the pools' earlier frames with them.
    monkeypatch.setattr(checker, "POOL_BYTES", 1)
    third = checker._check(parts[2:], raw, units, "p", False, False, True)
    # ... and with no budget reached, ``flush`` checks every pool (another run's).
    monkeypatch.setattr(checker, "POOL_ROWS", 10**9)
    monkeypatch.setattr(checker, "POOL_BYTES", 10**12)
    flushed = checker._check(parts[2:], raw, units, "q", False, False, True, flush=True)
    final = checker._finish("p")

    assert tables(first) == {"dim_unit", "dim_metric", "dim_org_unit"}
    assert tables(second) == full | {"dim_org_unit"}
    assert tables(third) == pooled | {"dim_org_unit"}
    assert tables(flushed) == pooled | {"dim_org_unit"}
    assert final.height == 0  # nothing was left in the pools
    # Every row checked once: the verdict is that of checking the three chunks as one.
    assert combine_results([first, second, third]).select(verdict).equals(whole)


def test_checks_chunk_by_chunk_reach_the_verdict_of_one_chunk(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.pipeline import check_queue
    from flows.pipeline.etl import etl
    from flows.warehouse import store as warehouse

    whole = etl(input_dir=str(SEEDS_RAW), warehouse_path=str(tmp_path / "whole.duckdb"))
    monkeypatch.setattr(check_queue, "VALIDATE_CHUNK_BYTES", 1)  # every batch is a chunk of its own
    split = etl(input_dir=str(SEEDS_RAW), warehouse_path=str(tmp_path / "split.duckdb"), batch_mb=0.02)

    assert split["extract_tasks"] > 1 and whole["checks_failed"] == split["checks_failed"]
    query = "select table_name, expectation, success, unexpected_count from dq_result order by all"
    assert warehouse.query(tmp_path / "split.duckdb", query).equals(
        warehouse.query(tmp_path / "whole.duckdb", query)
    )


def test_a_run_after_the_checker_process_died_starts_a_new_one(prefect_harness: None, tmp_path: Path) -> None:
    import os
    from concurrent.futures.process import BrokenProcessPool

    from flows.pipeline.etl import etl
    from flows.quality import checker
    from flows.warehouse import store as warehouse

    checker.start()
    with pytest.raises(BrokenProcessPool):
        checker._pool().submit(os._exit, 1).result(timeout=300)  # the process dies, as if out of memory

    summary = etl(input_dir=str(SEEDS_RAW), warehouse_path=str(tmp_path / "taizhang.duckdb"))

    assert summary["loaded"] and summary["checks_passed"] == _checks()
    assert warehouse.query(tmp_path / "taizhang.duckdb", "select success from dq_run")["success"][0]


def test_combining_chunks_takes_a_mostly_share_over_all_of_them() -> None:
    from flows.pipeline.check_queue import combine_results
    from flows.quality.checks import COUNT_SCHEMA, DQ_RESULT_SCHEMA

    def chunk(nulls: int, rows: int) -> pl.DataFrame:
        row = {
            "run_id": "r",
            "table_name": "fct_metric",
            "expectation": "expect_column_values_to_not_be_null(as_of)",
            "severity": "warning",
            "success": (rows - nulls) / rows >= 0.8,
            "observed_value": None,
            "unexpected_count": nulls,
            "sample": None,
            "mostly": 0.8,
            "considered": rows,
        }
        return pl.DataFrame([row], schema={**DQ_RESULT_SCHEMA, **COUNT_SCHEMA})

    # 5 of 10 null in one chunk (fails there), 1 of 90 in the other: 6 of 100 overall passes.
    assert combine_results([chunk(5, 10), chunk(1, 90)])["success"].to_list() == [True]
    assert combine_results([chunk(9, 10), chunk(20, 90)])["success"].to_list() == [False]
    assert combine_results([chunk(5, 10), chunk(1, 90)]).columns == list(DQ_RESULT_SCHEMA)


def test_combining_chunks_keeps_a_table_checked_once_and_the_suites_order() -> None:
    from flows.pipeline.check_queue import combine_results
    from flows.quality.checks import COUNT_SCHEMA, DQ_RESULT_SCHEMA

    def row(table: str, success: bool) -> dict[str, object]:
        return {
            "run_id": "r",
            "table_name": table,
            "expectation": "expect_column_values_to_not_be_null(x)",
            "severity": "critical",
            "success": success,
            "observed_value": None,
            "unexpected_count": 0 if success else 1,
            "sample": None,
            "mostly": None,
            "considered": None,
        }

    schema = {**DQ_RESULT_SCHEMA, **COUNT_SCHEMA}
    first = pl.DataFrame([row("fct_metric", True), row("dim_unit", False)], schema=schema)
    later = pl.DataFrame([row("fct_metric", True)], schema=schema)
    held = pl.DataFrame([row("stg_documents", True), row("dim_section", True)], schema=schema)

    combined = combine_results([first, later, held])

    assert combined["table_name"].to_list() == ["stg_documents", "fct_metric", "dim_unit", "dim_section"]
    assert combined["success"].to_list() == [True, True, False, True]
