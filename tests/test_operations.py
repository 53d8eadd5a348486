"""How the flow behaves for operators: cache reuse, dry runs, artifacts, write failures."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SEEDS_RAW

pytestmark = pytest.mark.flow


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    shutil.copytree(SEEDS_RAW, folder)
    return folder


def test_rerun_on_unchanged_input_extracts_nothing_and_keeps_the_warehouse(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    from flows.pipeline.etl import etl
    from flows.warehouse import store as warehouse

    target = tmp_path / "wh.duckdb"
    first = etl(input_dir=str(inbox), warehouse_path=str(target))
    before = warehouse.checksums(target, current_only=True)
    second = etl(input_dir=str(inbox), warehouse_path=str(target))
    assert first["new"] == 5
    assert second["unchanged"] == second["documents"] == 5
    assert second["new"] == second["changed"] == 0
    assert second["extract_tasks"] == 0 and second["facts"] == 0
    assert second["totals"] == first["totals"] and first["totals"]["fct_metric"] == first["facts"]
    assert warehouse.checksums(target, current_only=True) == before


def test_a_run_after_a_dry_run_takes_the_extraction_from_the_cache(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    from flows.pipeline.etl import etl

    target = tmp_path / "wh.duckdb"
    dry = etl(input_dir=str(inbox), warehouse_path=str(target), stages=["ingest", "transform", "validate"])
    real = etl(input_dir=str(inbox), warehouse_path=str(target))
    assert real["extract_tasks"] == dry["extract_tasks"] == 1  # 190 kB of seeds: one batch of 8 MB
    assert real["extract_tasks_cached"] == real["extract_tasks"]
    assert real["facts"] == dry["facts"] == real["totals"]["fct_metric"]


def test_a_warehouse_deleted_after_its_load_is_rebuilt_by_the_task_runner_not_from_the_cache(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.pipeline.etl import etl

    target = tmp_path / "wh.duckdb"
    first = etl(input_dir=str(inbox), warehouse_path=str(target), batch_mb=0.02)
    target.unlink()  # the cached extract results now point at batch folders the load deleted
    state = etl(input_dir=str(inbox), warehouse_path=str(target), batch_mb=0.02, return_state=True)
    again = state.result()
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    extract_runs = [r for r in runs if r.name.startswith("extract")]
    # 190 kB in batches of 20 kB: ten hash buckets (rounded to the cores), of which the five
    # documents fill as many as their hashes fall in; more than one is what this test needs.
    assert again["extract_tasks"] == first["extract_tasks"] > 1 and again["extract_tasks_cached"] == 0
    # One task run per batch, none of them a stale cache hit re-run one by one in the flow's thread.
    assert len(extract_runs) == again["extract_tasks"]
    assert all(r.state_name == "Completed" for r in extract_runs)
    assert again["totals"] == first["totals"]


def test_a_changed_file_is_the_only_document_extracted_again(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    from flows.pipeline.etl import etl

    target = tmp_path / "wh.duckdb"
    first = etl(input_dir=str(inbox), warehouse_path=str(target))
    victim = sorted(inbox.iterdir())[0]
    # A fresh sentence each time: the result cache outlives test sessions.
    extra = f"\n补充（{uuid.uuid4().hex[:8]}）：新增12家企业。\n"
    victim.write_text(victim.read_text(encoding="utf-8") + extra, encoding="utf-8")
    again = etl(input_dir=str(inbox), warehouse_path=str(target))
    assert (again["new"], again["changed"], again["unchanged"]) == (0, 1, 4)
    assert (again["extract_tasks"], again["extract_tasks_cached"]) == (1, 0)
    assert again["totals"]["fct_metric"] == first["totals"]["fct_metric"] + 1  # 新增12家企业


def test_leaving_out_the_load_stage_is_a_dry_run(prefect_harness: None, inbox: Path, tmp_path: Path) -> None:
    from flows.pipeline.etl import etl

    target = tmp_path / "wh.duckdb"
    summary = etl(
        input_dir=str(inbox), warehouse_path=str(target), stages=["ingest", "transform", "validate"]
    )
    from flows.pipeline.etl import build_tables
    from flows.warehouse.ingest import read_folder

    # The dry run counts the facts a load would have written: those of the seeds.
    assert summary["facts"] == build_tables(read_folder(inbox)[0])["fct_metric"].height
    assert not summary["loaded"]
    assert not target.exists()


def test_every_run_leaves_a_summary_table_and_a_problems_report(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.pipeline.etl import etl

    state = etl(input_dir=str(inbox), warehouse_path=str(tmp_path / "wh.duckdb"), return_state=True)
    assert state.is_completed()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    by_key = {a.key: a for a in artifacts}
    assert {"etl-summary", "etl-problems"} <= set(by_key)
    assert by_key["etl-summary"].type == "table"
    assert "documents read" in str(by_key["etl-summary"].data)


@pytest.mark.slow
def test_a_warehouse_locked_by_another_process_is_retried_then_named_in_the_failure(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    """A lock is transient (the analyst may close the session): reading the warehouse is tried
    three times, then the run fails naming the lock and what to do. A permanent error fails at
    once (tests/test_flow_etl.py)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.pipeline.etl import etl

    target = tmp_path / "wh.duckdb"
    duckdb.connect(str(target)).close()
    with _held_read_write(target):
        state = etl(input_dir=str(inbox), warehouse_path=str(target), return_state=True)
    assert state.is_failed()
    message = str(state.result(raise_on_failure=False))
    assert "locked by another process" in message and "-readonly" in message
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    compares = [r for r in runs if r.name.startswith("compare")]
    assert len(compares) == 1 and compares[0].run_count == 3  # the first try and two retries
    assert not [r for r in runs if r.name.startswith("load")]


@contextlib.contextmanager
def _held_read_write(target: Path) -> Iterator[None]:
    """Another process holds ``target`` open read-write (as an analyst's session would) meanwhile."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(target)!r}); print('ok', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_a_warehouse_locked_by_another_process_gives_a_message_naming_the_lock(tmp_path: Path) -> None:
    from flows.warehouse.state import explain_write_error

    target = tmp_path / "wh.duckdb"
    with _held_read_write(target):
        with pytest.raises(duckdb.Error) as info:
            duckdb.connect(str(target))
        message = explain_write_error(target, info.value)
        assert "locked by another process" in message and "-readonly" in message


def test_a_copied_or_restored_file_keeps_its_documents_rows(
    prefect_harness: None, inbox: Path, tmp_path: Path
) -> None:
    from flows.pipeline.etl import etl
    from flows.warehouse import store as warehouse

    target = tmp_path / "wh.duckdb"
    first = etl(input_dir=str(inbox), warehouse_path=str(target))
    victim = sorted(inbox.iterdir())[0]
    text = victim.read_text(encoding="utf-8")
    facts = "SELECT count(*) FROM fct_metric WHERE document_id IN (SELECT document_id FROM current_documents)"

    shutil.copy(victim, inbox / "copy_of_first.txt")  # the same text at a second path
    etl(input_dir=str(inbox), warehouse_path=str(target))
    assert warehouse.query(target, facts).item() == first["totals"]["fct_metric"]

    victim.unlink()
    (inbox / "copy_of_first.txt").unlink()
    etl(input_dir=str(inbox), warehouse_path=str(target))  # both paths marked removed
    victim.write_text(text, encoding="utf-8")
    restored = etl(input_dir=str(inbox), warehouse_path=str(target))
    assert restored["unchanged"] == 4
    assert warehouse.query(target, facts).item() == first["totals"]["fct_metric"]


def test_a_locked_warehouse_makes_ingest_read_every_file_instead_of_failing(
    inbox: Path, tmp_path: Path
) -> None:
    from prefect.logging import disable_run_logger

    from flows.pipeline.etl import ingest
    from flows.warehouse.state import known_files

    target = tmp_path / "wh.duckdb"
    duckdb.connect(str(target)).close()
    with _held_read_write(target):
        with pytest.raises(duckdb.Error):
            known_files(target)  # what ingest asks first: the lock refuses it
        with disable_run_logger():
            raw, quarantine = ingest.fn(inbox, target)
        assert raw.height == len(list(inbox.iterdir())) and quarantine.height == 0
        assert raw["text"].null_count() == 0
