"""The etl flow end to end on the seeds, with the real Prefect engine and a real DuckDB file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.warehouse import store as warehouse
from tests.conftest import SEEDS_RAW

pytestmark = pytest.mark.flow


def _counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            t: con.execute(f"select count(*) from {t}").fetchone()[0]  # type: ignore[index]
            for t in ("raw_documents", "stg_documents", "stg_sentences", "fct_metric", "dim_unit")
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def seeded_warehouse(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from flows.pipeline.etl import etl

    target = tmp_path_factory.mktemp("wh") / "taizhang.duckdb"
    summary = etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target))
    return target, summary


def test_flow_loads_documents_sentences_and_facts(seeded_warehouse: tuple[Path, dict]) -> None:
    target, summary = seeded_warehouse
    counts = _counts(target)
    assert counts["stg_documents"] == 5
    assert counts["stg_sentences"] > 500
    assert counts["fct_metric"] > 400
    assert summary["facts"] == counts["fct_metric"]
    assert summary["checks_failed"] == 0


def test_every_fact_slices_back_to_its_text_in_the_warehouse(seeded_warehouse: tuple[Path, dict]) -> None:
    target, _ = seeded_warehouse
    con = duckdb.connect(str(target), read_only=True)
    try:
        bad = con.execute(
            """
            select count(*) from fct_metric m
            join (select distinct document_id, text from raw_documents) r using (document_id)
            where substring(r.text, m.start_char + 1, m.end_char - m.start_char) <> m.text
            """
        ).fetchone()[0]  # type: ignore[index]
        sentences_bad = con.execute(
            """
            select count(*) from stg_sentences s
            join (select distinct document_id, text from raw_documents) r using (document_id)
            where substring(r.text, s.start_char + 1, s.end_char - s.start_char) <> s.text
            """
        ).fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    assert bad == 0
    assert sentences_bad == 0


def test_rerunning_on_the_same_input_changes_no_row_counts(seeded_warehouse: tuple[Path, dict]) -> None:
    from flows.pipeline.etl import etl

    target, _ = seeded_warehouse
    before = _counts(target)
    etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target))
    assert _counts(target) == before


def test_warehouse_opens_in_the_duckdb_cli_from_pypi(seeded_warehouse: tuple[Path, dict]) -> None:
    import shutil
    import subprocess
    import sys

    cli = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")
    if cli is None:
        pytest.skip("duckdb-cli is not installed (pip install duckdb-cli)")
    target, _ = seeded_warehouse
    out = subprocess.run(
        [cli, "-readonly", str(target), "-csv", "-c", "select count(*) from fct_metric"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(out.stdout.strip().splitlines()[-1]) > 400


def test_a_rerun_reads_only_files_touched_since_and_records_their_new_time(
    prefect_harness: None, tmp_path: Path
) -> None:
    from flows.pipeline.etl import etl

    folder = tmp_path / "inbox"
    shutil.copytree(SEEDS_RAW, folder)
    target = tmp_path / "taizhang.duckdb"
    etl(input_dir=str(folder), warehouse_path=str(target))
    before = warehouse.checksums(target, current_only=True)
    first = sorted(folder.iterdir())[0]
    stat = first.stat()
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched, same text
    summary = etl(input_dir=str(folder), warehouse_path=str(target))
    counts = (summary["unchanged"], summary["new"], summary["changed"], summary["extract_tasks"])
    assert counts == (5, 0, 0, 0)
    assert summary["not_read"] == 4  # the touched file was read again, the others were not
    assert warehouse.checksums(target, current_only=True) == before
    con = duckdb.connect(str(target), read_only=True)
    try:
        stored = con.execute(
            "select modified_ns from raw_documents where source_path = ?", [str(first.resolve())]
        ).fetchone()
    finally:
        con.close()
    assert stored == (stat.st_mtime_ns + 5_000_000_000,)


def _task_runs(state: Any, prefix: str) -> list[Any]:
    """The task runs of a flow run (by its final state) whose name starts with ``prefix``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    return [r for r in runs if r.name.startswith(prefix)]


def test_a_missing_input_folder_fails_at_once_without_retries(tmp_path: Path) -> None:
    """A folder that is not there will not appear on a retry: one attempt, a readable reason."""
    from flows.pipeline.etl import etl

    missing = tmp_path / "no-such-folder"
    state = etl(input_dir=str(missing), warehouse_path=str(tmp_path / "w.duckdb"), return_state=True)

    assert state.is_failed()
    assert "does not exist or is not a folder" in str(state.result(raise_on_failure=False))
    ingests = _task_runs(state, "ingest")
    assert len(ingests) == 1 and ingests[0].run_count == 1
    assert not (tmp_path / "w.duckdb").exists()


def test_errors_a_retry_cannot_fix_are_told_from_transient_ones() -> None:
    import errno

    from flows.pipeline.etl import LoadCancelled, is_permanent
    from flows.warehouse.state import WarehouseWriteError

    def wrapped(cause: BaseException) -> WarehouseWriteError:
        try:
            raise WarehouseWriteError("writing the warehouse failed") from cause
        except WarehouseWriteError as exc:
            return exc

    for permanent in (
        FileNotFoundError("no folder"),
        PermissionError(errno.EACCES, "Permission denied"),
        OSError(errno.ENOSPC, "No space left on device"),
        wrapped(RuntimeError('IO Error: Could not write file "x": No space left on device')),
        wrapped(OSError(errno.EROFS, "Read-only file system")),
        LoadCancelled("critical checks failed"),
    ):
        assert is_permanent(permanent), permanent
    for transient in (
        wrapped(RuntimeError("Could not set lock on file: Conflicting lock is held")),
        TimeoutError("the API did not answer"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        None,
    ):
        assert not is_permanent(transient), transient


def test_a_warehouse_path_through_a_file_fails_the_load_once(tmp_path: Path) -> None:
    """A part of the warehouse's folder path is a file: no retry makes it a folder."""
    from flows.pipeline.etl import etl

    (tmp_path / "a-file").write_text("not a folder")
    state = etl(
        input_dir=str(SEEDS_RAW), warehouse_path=str(tmp_path / "a-file" / "w.duckdb"), return_state=True
    )
    assert state.is_failed()
    assert "is a file, not a folder" in str(state.result(raise_on_failure=False))
    loads = _task_runs(state, "load")
    assert len(loads) == 1 and loads[0].run_count == 1
