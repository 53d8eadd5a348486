"""Exports: every table, as Parquet or CSV, partitioned by the year of its document, read back whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from flows.export import PARTITION_COLUMN, export, tables
from tests.test_views import seed_warehouse_path


@pytest.fixture(scope="module")
def seed_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_warehouse_path(tmp_path_factory)


def _table_columns(warehouse: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {t: [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()] for t in tables(con)}
    finally:
        con.close()


def _count(warehouse: Path, table: str) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
    finally:
        con.close()


def _reader(fmt: str, pattern: Path) -> str:
    fn = "read_parquet" if fmt == "parquet" else "read_csv"
    return f"{fn}('{pattern}', hive_partitioning = true)"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_every_table_is_exported_and_reads_back_whole(seed_warehouse: Path, tmp_path: Path, fmt: str) -> None:
    files = export(seed_warehouse, tmp_path / fmt, fmt)  # type: ignore[arg-type]
    assert files and all(f.exists() and f.suffix == f".{fmt}" for f in files)
    columns = _table_columns(seed_warehouse)
    assert {"fct_metric", "dim_document", "fct_measure", "raw_documents", "dim_unit"} <= set(columns)
    con = duckdb.connect()
    try:
        for table, cols in columns.items():
            folder = tmp_path / fmt / table
            assert any(f.is_relative_to(folder) for f in files), f"{table} was not exported"
            if "document_id" in cols:
                pattern = folder / "*" / f"*.{fmt}"
                assert all(p.name.startswith(f"{PARTITION_COLUMN}=") for p in folder.iterdir())
                read = con.sql(f"SELECT * FROM {_reader(fmt, pattern)}")
                assert read.columns == [*cols, PARTITION_COLUMN], table
            else:
                files_here = sorted(folder.iterdir())
                assert [f.name for f in files_here] == [f"{table}.{fmt}"]
                read = con.sql(f"SELECT * FROM {_reader(fmt, files_here[0])}")
                if _count(seed_warehouse, table):
                    assert read.columns == cols, table
            assert len(read.fetchall()) == _count(seed_warehouse, table), table
    finally:
        con.close()


def test_partitions_are_the_years_of_the_documents(seed_warehouse: Path, tmp_path: Path) -> None:
    export(seed_warehouse, tmp_path, "parquet")
    con = duckdb.connect()
    try:
        years = dict(
            con.sql(
                f"SELECT {PARTITION_COLUMN}, count(*) FROM "
                f"{_reader('parquet', tmp_path / 'fct_metric' / '*' / '*.parquet')} GROUP BY 1"
            ).fetchall()
        )
        # The rectification reports are dated 2022; the features carry no date of their own.
        assert set(years) == {"2022", "unknown"}
        wh = duckdb.connect(str(seed_warehouse), read_only=True)
        try:
            expected = dict(
                wh.sql(
                    "SELECT coalesce(CAST(year(d.publish_date) AS VARCHAR), 'unknown'), count(*)"
                    " FROM fct_metric m LEFT JOIN dim_document d USING (document_id) GROUP BY 1"
                ).fetchall()
            )
        finally:
            wh.close()
        assert years == expected
        # A partition holds only its own year's documents.
        mixed = con.sql(
            f"SELECT count(DISTINCT {PARTITION_COLUMN}) FROM "
            f"{_reader('parquet', tmp_path / 'dim_document' / '*' / '*.parquet')}"
            " GROUP BY document_id HAVING count(DISTINCT publish_year) > 1"
        ).fetchall()
        assert mixed == []
    finally:
        con.close()


def test_an_export_replaces_the_previous_one_and_leaves_the_warehouse_untouched(
    seed_warehouse: Path, tmp_path: Path
) -> None:
    before = hashlib.sha256(seed_warehouse.read_bytes()).hexdigest()
    reader = duckdb.connect(str(seed_warehouse), read_only=True)  # an analyst holds the file open
    try:
        first = export(seed_warehouse, tmp_path, "csv")
        (tmp_path / "fct_metric" / f"{PARTITION_COLUMN}=1999").mkdir()
        (tmp_path / "fct_metric" / f"{PARTITION_COLUMN}=1999" / "data_0.csv").write_text("stale\n")
        second = export(seed_warehouse, tmp_path, "csv")
    finally:
        reader.close()
    assert first == second
    assert not (tmp_path / "fct_metric" / f"{PARTITION_COLUMN}=1999").exists()
    assert hashlib.sha256(seed_warehouse.read_bytes()).hexdigest() == before


def test_an_empty_document_table_still_gets_a_file_with_its_columns(
    seed_warehouse: Path, tmp_path: Path
) -> None:
    assert _count(seed_warehouse, "document_version") == 0
    files = export(seed_warehouse, tmp_path, "parquet")
    empty = [f for f in files if f.is_relative_to(tmp_path / "document_version")]
    assert [f.relative_to(tmp_path).as_posix() for f in empty] == [
        f"document_version/{PARTITION_COLUMN}=unknown/data_0.parquet"
    ]
    con = duckdb.connect()
    try:
        assert "superseded_at" in con.sql(f"SELECT * FROM read_parquet('{empty[0]}')").columns
    finally:
        con.close()


def test_an_unknown_format_is_refused(seed_warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="parquet or csv"):
        export(seed_warehouse, tmp_path, "xlsx")  # type: ignore[arg-type]
