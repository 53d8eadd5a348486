"""Incremental, idempotent loads on real files and a real DuckDB file.

Each run reads a folder (``flows.warehouse.ingest``), transforms it (``build_tables``) and
loads it (``warehouse.load``) the way the flow does, with an ``etl_run`` row
naming the folder, so a file that left the folder is marked removed.

"The same" for a full refresh (``warehouse.checksums(current_only=True)``):
equal rows in every table except the run logs (etl_run, dq_result,
quarantine) and the history (document_version), with ``raw_documents``
limited to current paths and without its when-columns (ingested_at,
removed_at, removed_reason), and per-document tables limited to current
documents.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows.pipeline.etl import build_tables
from flows.settings import SQL_DIR
from flows.warehouse import store as warehouse
from flows.warehouse.ingest import read_folder
from tests.conftest import SEEDS_RAW

SEED = (SEEDS_RAW / "000_b61bd1e1bea2ac28.txt").read_text(encoding="utf-8")
A = "关于甲市巡视整改进展情况的通报\n截至2021年10月，甲市制定整改措施328条，协议投资额1975亿元。\n"
B = "关于乙县整改情况的报告\n乙县新增学位5490个，同比增长11%，整改问题120个。\n"
B2 = "关于乙县整改情况的报告\n乙县新增学位6000个，同比增长12%，整改问题121个，问责干部15名。\n"
C = "关于丙区整改情况的通报\n丙区完成投资12.5亿元，新建公园3个，面积10.6万平方米。\n"
D = "關於丁市整改情況的通報\n丁市完成投資8億元，同比增長9%。\n"


def run(folder: Path, target: Path, *, full_refresh: bool = False) -> dict[str, int]:
    """One scheduled-style run of ``folder`` into ``target`` (what the flow does, minus Prefect)."""
    raw, quarantine = read_folder(folder)
    tables = build_tables(raw)
    stamp = datetime.now()
    etl_run = pl.DataFrame(
        {
            "run_id": [uuid.uuid4().hex[:12]],
            "started_at": [stamp],
            "finished_at": [stamp],
            "input_dir": [str(folder.resolve())],
            "documents": [raw.height],
            "sentences": [tables["stg_sentences"].height],
            "facts": [tables["fct_metric"].height],
            "checks_passed": [0],
            "checks_failed": [0],
        }
    )
    return warehouse.load(
        target, tables, {"etl_run": etl_run, "quarantine": quarantine}, full_refresh=full_refresh
    )


def write(folder: Path, files: dict[str, str | None]) -> None:
    """Create, overwrite (text) or delete (None) files of ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is None:
            (folder / name).unlink()
        else:
            (folder / name).write_text(text, encoding="utf-8")


def rows(target: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(target), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def data_checksums(target: Path) -> dict[str, str]:
    """Checksums of every table but the run logs, which grow by design."""
    return {t: c for t, c in warehouse.checksums(target).items() if t not in warehouse.BOOKKEEPING_TABLES}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    write(folder, {"seed.txt": SEED, "a.txt": A, "b.txt": B})
    (folder / "broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    return folder


def test_same_input_twice_gives_identical_tables(inbox: Path, tmp_path: Path) -> None:
    target = tmp_path / "wh.duckdb"
    first = run(inbox, target)
    before = data_checksums(target)
    keys = rows(target, "select metric_id from fct_metric order by 1")
    second = run(inbox, target)
    assert data_checksums(target) == before  # same rows, same keys, same ingested_at
    assert rows(target, "select metric_id from fct_metric order by 1") == keys
    assert first["files_added"] == 3 and second["files_unchanged"] == 3
    assert second["files_added"] == second["files_changed"] == second["files_removed"] == 0
    # The logs record both runs; each quarantine row names its run.
    assert rows(target, "select count(*), count(distinct run_id) from quarantine") == [(2, 2)]
    assert rows(target, "select count(*) from etl_run") == [(2,)]


def test_a_new_file_adds_only_its_rows(inbox: Path, tmp_path: Path) -> None:
    target = tmp_path / "wh.duckdb"
    run(inbox, target)
    old = rows(target, "select * from fct_metric order by metric_id")
    old_raw = rows(target, "select * from raw_documents order by source_path")
    write(inbox, {"c.txt": C})
    stats = run(inbox, target)
    assert (stats["files_added"], stats["files_unchanged"]) == (1, 3)
    new_doc = rows(target, "select document_id from raw_documents where file_name = 'c.txt'")[0][0]
    assert (
        rows(target, f"select * from fct_metric where document_id <> '{new_doc}' order by metric_id") == old
    )
    assert (
        rows(target, "select * from raw_documents where file_name <> 'c.txt' order by source_path") == old_raw
    )
    assert rows(
        target, f"select text from fct_metric where document_id = '{new_doc}' order by start_char"
    ) == [
        ("12.5亿元",),
        ("3个",),
        ("10.6万平方米",),
    ]


def test_a_changed_file_replaces_its_rows_and_keeps_its_old_version(inbox: Path, tmp_path: Path) -> None:
    target = tmp_path / "wh.duckdb"
    run(inbox, target)
    old_id = rows(target, "select document_id from raw_documents where file_name = 'b.txt'")[0][0]
    write(inbox, {"b.txt": B2})
    stats = run(inbox, target)
    assert stats["files_changed"] == 1
    new_id = rows(target, "select document_id from raw_documents where file_name = 'b.txt'")[0][0]
    assert new_id != old_id
    # B2: one document, two lines (the title and one sentence), four figures (6000个, 12%, 121个, 15名).
    for table, n in (("stg_documents", 1), ("stg_sentences", 2), ("fct_metric", 4)):
        assert rows(target, f"select count(*) from {table} where document_id = '{old_id}'") == [(0,)]
        assert rows(target, f"select count(*) from {table} where document_id = '{new_id}'") == [(n,)], table
    assert ("问责干部",) in rows(target, f"select metric from fct_metric where document_id = '{new_id}'")
    history = rows(target, "select document_id, superseded_by, text, reason from document_version")
    assert len(history) == 1
    assert history[0][:3] == (old_id, new_id, B)
    assert history[0][3].startswith("changed")


def test_a_removed_file_is_marked_not_deleted_and_comes_back(inbox: Path, tmp_path: Path) -> None:
    target = tmp_path / "wh.duckdb"
    run(inbox, target)
    a_id = rows(target, "select document_id from raw_documents where file_name = 'a.txt'")[0][0]
    facts = rows(target, f"select count(*) from fct_metric where document_id = '{a_id}'")[0][0]
    write(inbox, {"a.txt": None})
    stats = run(inbox, target)
    assert stats["files_removed"] == 1
    status = rows(target, "select status, removed_reason from document_status where file_name = 'a.txt'")
    assert status == [("removed", "no longer in the input folder")]
    assert rows(target, f"select count(*) from fct_metric where document_id = '{a_id}'")[0][0] == facts
    assert (a_id,) not in rows(target, "select document_id from current_documents")
    # A second run does not mark it again (removed_at stays the first sighting).
    removed_at = rows(target, "select removed_at from raw_documents where file_name = 'a.txt'")
    run(inbox, target)
    assert rows(target, "select removed_at from raw_documents where file_name = 'a.txt'") == removed_at
    write(inbox, {"a.txt": A})
    stats = run(inbox, target)
    assert stats["files_restored"] == 1
    assert rows(target, "select status from document_status where file_name = 'a.txt'") == [("current",)]


def test_a_file_that_became_unreadable_is_marked_with_the_quarantine_reason(
    inbox: Path, tmp_path: Path
) -> None:
    target = tmp_path / "wh.duckdb"
    run(inbox, target)
    (inbox / "a.txt").write_bytes(b"%PDF-1.7\n" + bytes(100))
    run(inbox, target)
    (reason,) = rows(target, "select removed_reason from raw_documents where file_name = 'a.txt'")[0]
    assert reason.startswith("no longer readable: a damaged PDF")


def test_files_of_another_folder_are_not_marked_removed(inbox: Path, tmp_path: Path) -> None:
    target = tmp_path / "wh.duckdb"
    other = tmp_path / "other"
    write(other, {"c.txt": C})
    run(inbox, target)
    run(other, target)
    assert rows(target, "select count(*) from raw_documents where removed_at is not null") == [(0,)]
    assert rows(target, "select count(*) from current_documents") == [(4,)]


def test_full_refresh_gives_the_same_tables_as_an_incremental_history(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    inc = tmp_path / "incremental.duckdb"
    history = [
        {"seed.txt": SEED, "b.txt": B, "c.txt": C},
        {"b.txt": B2, "a.txt": A, "d.txt": D},  # changed, added, added (traditional)
        {"c.txt": None, "0_copy_of_a.txt": A},  # removed; a duplicate whose name sorts first
        {"b.txt": B, "c.txt": C},  # changed back; restored
        {"d.txt": None},
    ]
    ever: set[str] = set()
    for step in history:
        write(folder, step)
        run(folder, inc)
        ever |= {r[0] for r in rows(inc, "select content_sha256 from raw_documents")}
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copyfile(inc, refreshed)
    run(folder, refreshed, full_refresh=True)
    fresh = tmp_path / "fresh.duckdb"
    run(folder, fresh, full_refresh=True)

    current = warehouse.checksums(inc, current_only=True)
    assert warehouse.checksums(refreshed, current_only=True) == current
    assert warehouse.checksums(fresh, current_only=True) == current
    assert set(current) >= {"raw_documents", "stg_documents", "stg_sentences", "fct_metric", "dim_unit"}
    # After a refresh only current paths remain, and nothing is lost: every text ever loaded is
    # still in raw_documents or document_version.
    assert rows(refreshed, "select count(*) from raw_documents where removed_at is not null") == [(0,)]
    kept = rows(
        refreshed,
        "select content_sha256 from raw_documents union select content_sha256 from document_version",
    )
    assert {r[0] for r in kept} == ever
    dropped = "select count(*) from document_version where reason like 'dropped by a full refresh%'"
    removed = "select count(*) from raw_documents where removed_at is not null"
    assert rows(refreshed, dropped) == rows(inc, removed) == [(1,)]  # d.txt
    # An incremental run after the refresh changes nothing.
    before = data_checksums(refreshed)
    run(folder, refreshed)
    assert data_checksums(refreshed) == before


def test_a_warehouse_from_before_these_columns_is_upgraded_in_place(tmp_path: Path) -> None:
    """A file made with only sql/001 and 002 (the walking skeleton) gains the new columns and table."""
    old_sql = tmp_path / "old_sql"
    old_sql.mkdir()
    for name in ("001_tables.sql", "002_views.sql"):
        shutil.copy(SQL_DIR / name, old_sql / name)
    target = tmp_path / "old.duckdb"
    folder = tmp_path / "inbox"
    write(folder, {"a.txt": A, "b.txt": B})
    raw, _ = read_folder(folder)
    tables = build_tables(raw)
    con = warehouse.connect(target)
    try:
        warehouse.apply_schema(con, old_sql)
        for table in ("stg_documents", "stg_sentences", "fct_metric", "dim_unit"):
            con.register("f", tables[table].to_arrow())
            con.execute(f"insert into {table} by name select * from f")
            con.unregister("f")
        old_columns = ("script", "modified_ns", "file_format", "file_sha256", "extracted_with")
        old_columns += ("furniture_lines", "furniture_text", "layout_joins")
        con.register("f", raw.drop(*old_columns).to_arrow())
        con.execute("insert into raw_documents by name select * from f")
    finally:
        con.close()
    stats = run(folder, target)
    assert stats["files_unchanged"] == 2
    assert rows(target, "select distinct script from raw_documents") == [("simplified",)]
    assert rows(target, "select count(*) from raw_documents where modified_ns is null") == [(0,)]
    assert rows(target, "select distinct file_format from raw_documents") == [("txt",)]
    assert rows(target, "select count(*) from raw_documents where file_sha256 is null") == [(0,)]
    assert rows(target, "select count(*) from document_version") == [(0,)]
    assert rows(target, "select count(*) from document_status where status = 'current'") == [(2,)]
