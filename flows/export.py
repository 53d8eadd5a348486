"""Export every warehouse table as Parquet or CSV files, for tools beyond DuckDB.

Layout (one folder per table)::

    DIR/fct_metric/publish_year=2022/data_0.parquet
    DIR/fct_metric/publish_year=unknown/data_0.parquet
    DIR/dim_unit/dim_unit.parquet

Why this layout:

- **Partitioned by document date.** Analysts slice by year first, and a year is
  the unit in which reports arrive, so a new year adds files without rewriting
  old ones. A table with a ``document_id`` column is split by the year of its
  document's ``publish_date`` (``dim_document``), or ``unknown`` when the
  document has none (features without a dated signature) or is not in
  ``dim_document`` (an earlier version in ``document_version``). The folders
  follow the Hive convention (``key=value``), which Spark, pandas/pyarrow,
  Polars and DuckDB (``hive_partitioning``) read back as a column.
- **Tables without a document get a single file**: reference data and run logs
  are small and have no date to split by.
- **DuckDB writes the files** (``COPY … TO … (FORMAT …, PARTITION_BY …)``), from
  a read-only connection, so the export streams, keeps DuckDB's types in
  Parquet, and can run while analysts hold the warehouse open.
- **A table's folder is replaced whole** on each export, so a year that no
  longer has rows does not linger. An empty per-document table still gets one
  empty file (under ``publish_year=unknown``) so that every table is present
  with its columns.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

import duckdb

from flows import warehouse as wh

Format = Literal["parquet", "csv"]
PARTITION_COLUMN = "publish_year"
UNKNOWN = "unknown"


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The base tables of the warehouse (not views: they are derived, and re-derivable from these)."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
        " AND database_name = current_database() AND NOT temporary ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main'"
        " AND database_name = current_database() AND table_name = ? ORDER BY column_index",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _options(fmt: Format) -> str:
    return "FORMAT PARQUET, COMPRESSION ZSTD" if fmt == "parquet" else "FORMAT CSV, HEADER true"


def _year_source(con: duckdb.DuckDBPyConnection) -> str:
    """Where a document's publish date comes from: dim_document, else stg_documents (older files)."""
    names = set(tables(con))
    return "dim_document" if "dim_document" in names else "stg_documents"


def export(warehouse: Path, out_dir: Path, fmt: Format) -> list[Path]:
    """Write every table of ``warehouse`` under ``out_dir`` as ``fmt``; return the files written.

    Tables with a ``document_id`` are partitioned by ``publish_year`` (the year of
    the document's publish date, or ``unknown``); the others are one file each.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be parquet or csv, not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    con = wh.connect(Path(warehouse), read_only=True)
    try:
        dates = _year_source(con)
        for table in tables(con):
            target = out / table
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            columns = _columns(con, table)
            select = ", ".join(f"t.{_quote(c)}" for c in columns)
            if "document_id" in columns and PARTITION_COLUMN not in columns:
                year = f"coalesce(CAST(year(d.publish_date) AS VARCHAR), '{UNKNOWN}')"
                source = (
                    f"SELECT {select}, {year} AS {PARTITION_COLUMN} FROM {_quote(table)} t"
                    f" LEFT JOIN (SELECT document_id, any_value(publish_date) AS publish_date"
                    f" FROM {dates} GROUP BY document_id) d ON d.document_id = t.document_id"
                )
                count = con.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
                if count and count[0]:
                    con.execute(
                        f"COPY ({source}) TO {_literal(target)}"
                        f" ({_options(fmt)}, PARTITION_BY ({PARTITION_COLUMN}))"
                    )
                else:
                    empty = target / f"{PARTITION_COLUMN}={UNKNOWN}" / f"data_0.{fmt}"
                    empty.parent.mkdir()
                    query = f"SELECT {select} FROM {_quote(table)} t"
                    con.execute(f"COPY ({query}) TO {_literal(empty)} ({_options(fmt)})")
            else:
                con.execute(
                    f"COPY (SELECT {select} FROM {_quote(table)} t) TO {_literal(target / f'{table}.{fmt}')}"
                    f" ({_options(fmt)})"
                )
            written.extend(sorted(p for p in target.rglob(f"*.{fmt}") if p.is_file()))
    finally:
        con.close()
    return written
