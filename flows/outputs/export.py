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

The Parquet lake (``export_lake``) adds two files beside the folders::

    DIR/views.sql     one view per table over its files, then the warehouse's own views
    DIR/lake.duckdb   a small DuckDB file holding only those views

so the data can live on object storage and still be queried like the warehouse:

- **Views, not a copy.** A table view is
  ``SELECT <columns>, publish_year FROM read_parquet('<base>/<table>/**/*.parquet', …)``;
  the analyst views (``v_metric``, ``v_measure``, ``v_document``, ``current_documents``,
  ``document_status``) are the warehouse's own definitions, re-run unchanged on top of
  the table views, in dependency order. So ``taizhang sql --warehouse DIR/lake.duckdb``
  and ``sql/examples`` answer exactly as on the warehouse, reading only Parquet.
- **``publish_year`` stays a column of every per-document view** (VARCHAR: a year, or
  ``unknown``), typed explicitly so that it does not turn into BIGINT for a table whose
  documents are all dated. A filter on it lets DuckDB skip the other years' files,
  which is what makes partitioning by document date pay on object storage. No
  warehouse table has a column of that name (a table that did would be exported
  unpartitioned instead).
- **The column list is the warehouse's**, not ``*``: Hive partitioning reads every
  ``key=value`` folder in a path as a column, so a base such as ``s3://b/env=prod``
  would otherwise add an ``env`` column. Single-file tables are read without Hive
  partitioning for the same reason.
- **``<base>`` is a parameter.** By default it is the absolute local path of ``DIR``.
  With ``base_url="s3://bucket/taizhang"`` (after the user uploads ``DIR`` there) the
  views name that URL; DuckDB's httpfs extension then reads the files (it installs
  and loads itself on first use; credentials come from ``CREATE SECRET``). Creating a
  DuckDB view reads its files' schemas, so ``lake.duckdb`` is only built when the
  base is a local folder that holds the files; for a URL, ``views.sql`` is written
  and the summary says how to build the database once the files are uploaded.
- **Comments travel**: the tables' and views' comments (``sql/006_comments.sql``,
  ``sql/007_views.sql``) are set on the lake's views, so ``.tables`` and ``.schema``
  in ``taizhang sql`` explain the lake as they explain the warehouse.
- ``lake.duckdb`` is written with the warehouse's ``storage_compatibility_version``
  so that the duckdb 1.5 command line opens it, and replaced atomically, so a reader
  holding the old one open is not disturbed.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from flows.warehouse import store as wh

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


def _partitioned(columns: list[str]) -> bool:
    """Whether a table is split by document year: it has a document, and no column of the key's name."""
    return "document_id" in columns and PARTITION_COLUMN not in columns


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
            if _partitioned(columns):
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


# --- The Parquet lake -------------------------------------------------------------------------------

VIEWS_FILE = "views.sql"
LAKE_FILE = "lake.duckdb"
YEAR_COMMENT = (
    "文档发布年份（分区键），无日期为 unknown / year of the document's publish date"
    " (the partition folder), or unknown"
)


@dataclass(frozen=True)
class LakeSummary:
    """What ``export_lake`` wrote: for the flow's log, and for the CLI to print."""

    directory: Path
    base_url: str
    tables: tuple[str, ...]
    views: tuple[str, ...]  # the analyst views, in the order views.sql creates them
    files: tuple[Path, ...]  # the Parquet files
    views_sql: Path
    database: Path | None  # lake.duckdb, or None when the base is not a local folder with the files
    note: str | None = None  # why there is no database, and how to make one
    seconds: float = field(default=0.0, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "directory": str(self.directory),
            "base_url": self.base_url,
            "tables": list(self.tables),
            "views": list(self.views),
            "files": len(self.files),
            "views_sql": str(self.views_sql),
            "database": str(self.database) if self.database else None,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class _Table:
    name: str
    columns: list[str]
    partitioned: bool
    comment: str | None
    column_comments: dict[str, str]


@dataclass(frozen=True)
class _View:
    name: str
    body: str  # the statement after "CREATE VIEW name"
    comment: str | None
    column_comments: dict[str, str]


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_url(base: str) -> bool:
    return "://" in base


def _comments(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    rows = con.sql(
        "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'main'"
        " AND database_name = current_database() AND table_name = ? AND comment IS NOT NULL"
        " ORDER BY column_index",
        params=[name],
    ).fetchall()
    return {r[0]: r[1] for r in rows if r[1]}


def _catalog(warehouse: Path) -> tuple[list[_Table], list[_View]]:
    """The warehouse's tables and (non-internal, permanent) views, with their comments."""
    con = wh.connect(Path(warehouse), read_only=True)
    try:
        table_comments = dict(
            con.sql(
                "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'"
                " AND database_name = current_database()"
            ).fetchall()
        )
        out_tables = []
        for name in tables(con):
            columns = _columns(con, name)
            out_tables.append(
                _Table(name, columns, _partitioned(columns), table_comments.get(name), _comments(con, name))
            )
        out_views = []
        for name, sql, comment in con.sql(
            "SELECT view_name, sql, comment FROM duckdb_views() WHERE NOT internal AND NOT temporary"
            " AND schema_name = 'main' AND database_name = current_database() ORDER BY view_name"
        ).fetchall():
            head = f"CREATE VIEW {name} "
            if not sql.startswith(head):
                raise ValueError(f"cannot re-create view {name}: its definition starts {sql[:60]!r}")
            body = sql[len(head) :].rstrip().rstrip(";")
            out_views.append(_View(name, body, comment, _comments(con, name)))
        return out_tables, out_views
    finally:
        con.close()


def _comment_statements(kind: str, name: str, comment: str | None, columns: dict[str, str]) -> list[str]:
    out = [f"COMMENT ON {kind} {_quote(name)} IS {_text(comment)}"] if comment else []
    out += [f"COMMENT ON COLUMN {_quote(name)}.{_quote(c)} IS {_text(text)}" for c, text in columns.items()]
    return out


def _table_view(table: _Table, base: str) -> list[str]:
    """``CREATE OR REPLACE VIEW`` over the table's files under ``base``, then its comments."""
    select = ", ".join(_quote(c) for c in table.columns)
    if table.partitioned:
        source = (
            f"read_parquet({_text(f'{base}/{table.name}/**/*.parquet')}, hive_partitioning = true,"
            f" hive_types = {{'{PARTITION_COLUMN}': VARCHAR}}, union_by_name = true)"
        )
        select += f", {PARTITION_COLUMN}"
        comments = {**table.column_comments, PARTITION_COLUMN: YEAR_COMMENT}
    else:
        path = f"{base}/{table.name}/{table.name}.parquet"
        source = f"read_parquet({_text(path)}, hive_partitioning = false)"
        comments = table.column_comments
    create = f"CREATE OR REPLACE VIEW {_quote(table.name)} AS SELECT {select} FROM {source}"
    return [create, *_comment_statements("VIEW", table.name, table.comment, comments)]


def _analyst_view(view: _View) -> list[str]:
    create = f"CREATE OR REPLACE VIEW {_quote(view.name)} {view.body}"
    return [create, *_comment_statements("VIEW", view.name, view.comment, view.column_comments)]


def _dependency_order(tables_: list[_Table], views: list[_View], local_base: str) -> list[_View]:
    """The views in an order in which each can be created: found by creating them over the local files.

    DuckDB binds a view when it is created, so a view that names another must come
    after it. Rather than parse the SQL, each round creates what it can, in memory,
    over the files just written; a round that creates nothing means a view cannot
    be re-run on the lake, and that is an error worth seeing.
    """
    con = duckdb.connect()
    try:
        for table in tables_:
            con.sql(_table_view(table, local_base)[0])
        ordered: list[_View] = []
        pending = list(views)
        while pending:
            failed: list[_View] = []
            errors: dict[str, str] = {}
            for view in pending:
                try:
                    con.sql(_analyst_view(view)[0])
                except duckdb.Error as exc:
                    failed.append(view)
                    errors[view.name] = str(exc).splitlines()[0]
                else:
                    ordered.append(view)
            if len(failed) == len(pending):
                raise RuntimeError(f"views that cannot be created over the Parquet files: {errors}")
            pending = failed
        return ordered
    finally:
        con.close()


def _views_sql(statements: list[str], base: str) -> str:
    header = [
        "-- The taizhang Parquet lake: one view per warehouse table over its Parquet files, then the",
        "-- warehouse's analyst views over those. Written by `taizhang export --format parquet`.",
        f"-- Files under: {base}",
        "-- Use it in any DuckDB session:  .read views.sql   (or: duckdb lake.duckdb < views.sql)",
        "-- On object storage (s3://, gs://, https://) DuckDB's httpfs extension reads the files: it",
        "-- installs and loads itself on first use (INSTALL httpfs; LOAD httpfs; where autoloading is off),",
        "-- and credentials come from a secret, e.g. CREATE SECRET (TYPE s3, PROVIDER credential_chain);",
        "-- Filter on publish_year ('2022', …, 'unknown') to read only that year's files.",
        "",
    ]
    return "\n".join(header) + "".join(f"{s};\n" for s in statements)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _build_database(path: Path, statements: list[str]) -> None:
    """Create ``path`` holding only the views, readable by duckdb 1.5; replace any old one whole."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp), config={"storage_compatibility_version": wh.STORAGE_COMPATIBILITY})
    try:
        con.sql("BEGIN TRANSACTION")  # one commit, not one per comment
        for statement in statements:
            con.sql(statement)
        con.sql("COMMIT")
        con.sql("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, path)


def export_lake(warehouse_path: Path, out_dir: Path, base_url: str | None = None) -> LakeSummary:
    """Write the warehouse as a Parquet lake under ``out_dir``: the files, ``views.sql``, ``lake.duckdb``.

    The files are ``export(warehouse_path, out_dir, "parquet")`` (per-document
    tables partitioned by ``publish_year``, the year of the document's publish
    date). ``base_url`` is where the views will find them: by default the absolute
    path of ``out_dir``; give e.g. ``s3://bucket/taizhang`` when ``out_dir`` will be
    uploaded there. ``lake.duckdb`` is built only when the base is a local folder
    holding the files (a view reads its files' schemas when it is created); with a
    URL, ``note`` says how to build it after the upload. Reads the warehouse
    read-only, so it can run while analysts hold it open or right after a load.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    files = export(Path(warehouse_path), out, "parquet")
    local_base = out.resolve().as_posix()
    base = (base_url or local_base).rstrip("/") or "/"
    tables_, views = _catalog(Path(warehouse_path))
    ordered = _dependency_order(tables_, views, local_base)
    statements = [s for t in tables_ for s in _table_view(t, base)]
    statements += [s for v in ordered for s in _analyst_view(v)]
    views_sql = out / VIEWS_FILE
    _write_atomically(views_sql, _views_sql(statements, base))
    database: Path | None = out / LAKE_FILE
    note = None
    if _is_url(base):
        database.unlink(missing_ok=True)  # an older lake.duckdb would name other files
        database = None
        note = (
            f"views name {base}: upload {out} there, then build the database where the files can be read:"
            f" duckdb {out / LAKE_FILE} < {views_sql}"
        )
    else:
        try:
            _build_database(database, statements)
        except duckdb.Error as exc:
            database.unlink(missing_ok=True)
            database = None
            note = (
                f"no {LAKE_FILE}: the files are not readable under {base} yet ({str(exc).splitlines()[0]});"
                f" copy {out} there, then: duckdb {out / LAKE_FILE} < {views_sql}"
            )
    return LakeSummary(
        directory=out,
        base_url=base,
        tables=tuple(t.name for t in tables_),
        views=tuple(v.name for v in ordered),
        files=tuple(files),
        views_sql=views_sql,
        database=database,
        note=note,
        seconds=time.perf_counter() - started,
    )
