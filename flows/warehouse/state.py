"""What the warehouse already holds, and failures to write it explained for a person.

Kept apart from ``flows.warehouse.store`` (the writer) because the flow reads this
before it decides anything, through a short read-only connection.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from flows.warehouse.ingest import FORMAT_SCHEMA


class WarehouseWriteError(RuntimeError):
    """The warehouse could not be written; the message says what to do about it."""


def known_documents(path: Path) -> pl.DataFrame:
    """``document_id, source_path, current`` already in the warehouse (empty when there is none yet).

    ``current`` is false for a path marked removed: a file that comes back is not unchanged.
    """
    empty = pl.DataFrame(schema={"document_id": pl.String, "source_path": pl.String, "current": pl.Boolean})
    if not path.is_file():
        return empty
    con = duckdb.connect(str(path), read_only=True)
    try:
        has = con.sql(
            "select count(*) from information_schema.tables where table_name = 'raw_documents'"
        ).fetchall()
        if not has[0][0]:
            return empty
        rel = con.sql(
            "select document_id, source_path, bool_or(removed_at is null) as current"
            " from raw_documents group by all"
        )
        return pl.from_arrow(rel.to_arrow_table())  # type: ignore[return-value]
    finally:
        con.close()


KNOWN_FILE_COLUMNS = (
    "document_id",
    "content_sha256",
    "source_path",
    "file_name",
    "size_bytes",
    "modified_ns",
    "encoding",
    "script",
    *FORMAT_SCHEMA,
)


def known_files(path: Path) -> pl.DataFrame:
    """The warehouse's current ``raw_documents`` rows that know their file's modification time.

    Everything but the text (DuckDB reads only these columns), for ``flows.warehouse.ingest.read_files``
    to skip the files that did not change. Empty when there is no warehouse yet, or it
    predates ``modified_ns``.
    """
    if not path.is_file():
        return pl.DataFrame()
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_name = 'raw_documents'"
            ).fetchall()
        }
        if not set(KNOWN_FILE_COLUMNS) <= columns:
            return pl.DataFrame()
        rel = con.sql(
            f"select {', '.join(KNOWN_FILE_COLUMNS)} from raw_documents"
            # a file read before formats were recorded (no file_sha256) is read once more
            " where removed_at is null and modified_ns is not null and file_sha256 is not null"
        )
        return pl.from_arrow(rel.to_arrow_table())  # type: ignore[return-value]
    finally:
        con.close()


def explain_write_error(path: Path, exc: BaseException) -> str:
    """Turn a low-level failure into a sentence a person can act on."""
    text = str(exc)
    if "lock" in text.lower():
        return (
            f"the warehouse {path} is locked by another process ({text.splitlines()[0]}). "
            "Close the other DuckDB session (CLI, notebook or a running flow) or open it with -readonly, "
            "then re-run."
        )
    if isinstance(exc, NotADirectoryError | FileExistsError) or "Not a directory" in text:
        return (
            f"cannot create the warehouse {path}: a part of its folder path is a file, not a folder. "
            "Choose another --warehouse."
        )
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return (
            f"cannot write the warehouse {path}: that path is a folder. "
            f"Give a file path such as {path / 'taizhang.duckdb'}."
        )
    if isinstance(exc, PermissionError) or "Permission denied" in text or "Read-only" in text:
        return (
            f"cannot write the warehouse {path}: permission denied or read-only file system ({text}). "
            "Check the folder's permissions."
        )
    return f"writing the warehouse {path} failed, nothing was changed: {type(exc).__name__}: {text}"
