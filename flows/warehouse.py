"""The DuckDB warehouse: schema from ``sql/``, loads in one transaction, read-only queries.

The file is created with storage compatibility v1.5.0 so that the DuckDB CLI on
PyPI (``duckdb-cli`` 1.5.x) can open it; Python duckdb 2.x would otherwise write
a storage version that CLI cannot read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from flows.settings import SQL_DIR

STORAGE_COMPATIBILITY = "v1.5.0"
# Tables holding rows of one document each: a re-load replaces a document's rows.
DOCUMENT_TABLES = ("stg_documents", "stg_sentences", "fct_metric")


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) the warehouse file."""
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}: run `taizhang run` first")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})


def apply_schema(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> None:
    """Run every ``sql/*.sql`` file in name order (they are idempotent DDL)."""
    for f in sorted(sql_dir.glob("*.sql")):
        con.execute(f.read_text(encoding="utf-8"))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK on any error so the warehouse stays as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def load(
    path: Path, frames: Mapping[str, pl.DataFrame], run_rows: Mapping[str, pl.DataFrame]
) -> dict[str, int]:
    """Load one run's frames in a single transaction and return each table's row count.

    ``frames`` holds ``raw_documents``, the per-document tables and ``dim_unit``;
    a document already present (same content hash, or a new version at the same
    path) has its rows replaced, so a re-run adds nothing. ``run_rows`` are
    appended as they are (``etl_run``, ``dq_result``, ``quarantine``).
    """
    con = connect(path)
    try:
        apply_schema(con)
        with transaction(con):
            raw = frames["raw_documents"]
            con.register("new_raw", raw.to_arrow())
            con.execute(
                "DELETE FROM raw_documents WHERE document_id IN (SELECT document_id FROM new_raw)"
                " OR source_path IN (SELECT source_path FROM new_raw)"
            )
            con.execute("INSERT INTO raw_documents BY NAME SELECT * FROM new_raw")
            for table in DOCUMENT_TABLES:
                con.register("new_rows", frames[table].to_arrow())
                con.execute(
                    f"DELETE FROM {table} WHERE document_id IN (SELECT document_id FROM new_raw)"
                    " OR document_id NOT IN (SELECT document_id FROM raw_documents)"
                )
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
                con.unregister("new_rows")
            con.register("new_units", frames["dim_unit"].to_arrow())
            con.execute("DELETE FROM dim_unit")
            con.execute("INSERT INTO dim_unit BY NAME SELECT * FROM new_units")
            for table, rows in run_rows.items():
                if rows.height:
                    con.register("new_rows", rows.to_arrow())
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
                    con.unregister("new_rows")
        counts = {}
        for table in (*DOCUMENT_TABLES, "raw_documents", "quarantine"):
            row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts
    finally:
        con.close()


def query(path: Path, sql: str) -> pl.DataFrame:
    """Run one read-only query and return the result as a frame."""
    con = connect(path, read_only=True)
    try:
        rel = con.sql(sql)
        if rel is None:  # a statement without a result (e.g. SET)
            return pl.DataFrame()
        return pl.from_arrow(rel.to_arrow_table())  # type: ignore[return-value]
    finally:
        con.close()
