"""The DuckDB warehouse: schema from ``sql/``, atomic incremental loads, read-only queries.

How a load stays atomic, and why readers never block it
--------------------------------------------------------
DuckDB lets one process hold a file read-write and then refuses everyone else,
readers included; and an analyst's read-only session refuses a writer. So a
load never writes the warehouse file in place. It builds the next state beside
it and swaps it in:

1. take the writer lock (``flock`` on ``.<name>.lock`` beside the file), so two
   loads into one warehouse run one after the other, never interleaved; the
   kernel drops the lock when a process dies, so a killed load never leaves it
   stuck;
2. delete temporary files left by a load that was killed (``.<name>.tmp-*``);
3. if a write-ahead log (``<name>.wal``) sits beside the file (left by someone
   who wrote it directly and was interrupted), let DuckDB fold it in first:
   copying the file without it would lose it, and a stale log beside a swapped
   file makes the file unopenable;
4. copy the file to ``.<name>.tmp-<pid>-<random>`` in the same folder while
   holding a read-only connection on it, which proves no read-write session is
   changing it under the copy (a read-only reader is fine);
5. apply the whole run to the copy in one transaction, ``CHECKPOINT`` and close
   it, check that no ``.wal`` is left, ``fsync`` it;
6. ``os.replace`` the copy over the warehouse (atomic on POSIX) and ``fsync``
   the folder.

A process killed at any point leaves either the old file (steps 1-5 touch only
the temporary copy) or the new one (after step 6); the next load removes the
debris and completes. Readers that opened the file before the swap keep the old
inode, a consistent snapshot, until they reconnect; new readers get the new
file. The file keeps storage compatibility v1.5.0 so that the DuckDB CLI on
PyPI (``duckdb-cli`` 1.5.x) can open it.

Incremental loads
-----------------
A document is its content hash (``document_id``) and is remembered with each
path it was read from (``raw_documents``, one row per path). Per path, a run
either adds it, leaves it untouched (same text: the row is not rewritten, so a
re-run changes nothing), replaces it (new text: the old row, text included,
moves to ``document_version``), or marks it removed (``removed_at``; the row and
its facts stay) when the run read the folder it came from and it was no longer
there. The rows of per-document tables are rewritten only for documents whose
paths changed, or which a table has no rows for yet. ``full_refresh=True``
empties the document tables and loads the run's frames as they are; what it
drops moves to ``document_version`` first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from flows.settings import SQL_DIR
from flows.warehouse.ingest import FORMAT_SCHEMA

STORAGE_COMPATIBILITY = "v1.5.0"
# The per-document tables of the walking skeleton (kept for callers that import it); a load
# treats every frame with a document_id column as per-document, whatever its name.
DOCUMENT_TABLES = ("stg_documents", "stg_sentences", "fct_metric")
# Logs that grow by one run's rows on every load; they are not part of a state comparison.
BOOKKEEPING_TABLES = ("etl_run", "dq_result", "dq_run", "quarantine")
HISTORY_TABLES = ("document_version",)
# Tables without a document column that a run merges into instead of replacing (``_merge_org_units``).
MERGED_TABLES = ("dim_org_unit",)
# Columns of raw_documents that a version keeps in document_version.
VERSION_COLUMNS = (
    "document_id",
    "content_sha256",
    "source_path",
    "file_name",
    "size_bytes",
    "encoding",
    "script",
    "ingested_at",
    "removed_at",
    "removed_reason",
    "text",
    *FORMAT_SCHEMA,
)
# raw_documents columns that say when, not what: left out when comparing current states.
_WHEN_COLUMNS = ("ingested_at", "modified_ns", "removed_at", "removed_reason")
DEFAULT_TIMEOUT = 300.0
# How long a load waits for another run's writer lock, in seconds (``lock_wait``).
LOCK_WAIT_ENV = "TAIZHANG_LOCK_WAIT"
# DuckDB's memory during a load; beyond it, it spills to disk. A flow's load runs beside its last
# checks (``flows.pipeline.etl``), so it must stay small: loading 100 MB of text, a 768 MB limit added
# 673 MB to the process, 256 MB added 420 MB, in about the same time (5.4 and 5.5 s).
LOAD_MEMORY_LIMIT = "256MB"

# Called with the name of each step of a load. Nothing in the package sets it; the
# kill tests set it in a child process to die at a precise point, and it can trace a load.
STEP_HOOK: Callable[[str], None] | None = None


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse (or its writer lock) for longer than the timeout."""


class WriterLockTimeout(WarehouseBusyError):
    """Another run held the writer lock for the whole wait: waiting again (a retry) would not help."""


def lock_wait(default: float = DEFAULT_TIMEOUT) -> float:
    """Seconds a load waits for the writer lock: ``$TAIZHANG_LOCK_WAIT`` (``taizhang run --lock-wait``)."""
    text = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"${LOCK_WAIT_ENV} must be a number of seconds, not {text!r}") from None
    if seconds < 0:
        raise ValueError(f"${LOCK_WAIT_ENV} must be 0 or more seconds, not {text!r}")
    return seconds


def _step(name: str) -> None:
    if STEP_HOOK is not None:
        STEP_HOOK(name)


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) a warehouse file.

    Loads never use this on the warehouse itself (they write a copy, see the
    module docstring); it is for reading, and for tools that own a file.
    """
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}: run `taizhang run` first")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})


def connect_sealed(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection that cannot touch the file system beyond the warehouse.

    For people's SQL (``taizhang sql``) and for the report and validation, which need nothing
    else: ``COPY … TO``, ``read_text`` / ``read_csv`` of other files, ``ATTACH``, ``INSTALL`` and
    ``LOAD`` fail with DuckDB's "file system operations are disabled by configuration", and the
    configuration is locked, so no ``SET`` turns that back on (nor any other ``SET``). Temporary
    tables still work. A Parquet lake's ``lake.duckdb`` (only views over Parquet files, see
    ``flows.outputs.export``) may read the folders its views name, and nothing else.
    """
    con = connect(path, read_only=True)
    try:
        folders = _view_folders(con)
        if folders:
            con.execute("SET allowed_directories = $d", {"d": folders})
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _view_folders(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The local folders a database of views only (a Parquet lake) reads: none for a warehouse."""
    tables = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()[0][0]
    if tables:
        return []
    sqls = con.execute(
        "SELECT sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
    ).fetchall()
    folders = set()
    for (sql,) in sqls:
        for found in re.findall(r"read_parquet\(\s*'([^']+)'", sql or ""):
            if found.startswith("/"):  # a URL (s3://…) is not a local folder
                folders.add(found.split("*", 1)[0].rsplit("/", 1)[0] + "/")
    return sorted(folders)


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


def lock_path(path: Path) -> Path:
    """The writer lock file beside the warehouse (hidden, so an input scan skips it)."""
    return path.parent / f".{path.name}.lock"


def temp_files(path: Path) -> list[Path]:
    """Temporary copies (and their ``.wal``) that loads into ``path`` create beside it."""
    return sorted(path.parent.glob(f".{path.name}.tmp-*"))


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@contextmanager
def writer_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive writer lock of ``path``, waiting up to ``timeout`` seconds for it
    (default ``lock_wait()``: ``$TAIZHANG_LOCK_WAIT`` or 300).

    ``flock`` rather than a marker file: the kernel releases it when the holder
    dies, so a killed load never blocks the next one. The holder writes its pid and start
    time into the file, so that a run that waited in vain can say who holds it.
    """
    timeout = lock_wait() if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterLockTimeout(
                        f"another run is writing {path} ({_holder(fd)}); waited {timeout:g} s for it"
                        f" (${LOCK_WAIT_ENV} or taizhang run --lock-wait sets how long): re-run once it"
                        " has finished"
                    ) from None
                time.sleep(0.1)
        _note_holder(fd)
        yield
    finally:
        os.close(fd)


def _note_holder(fd: int) -> None:
    """Write this process's pid and start time into the lock file it holds."""
    import psutil

    started = datetime.fromtimestamp(psutil.Process().create_time(), UTC)
    note = {"pid": os.getpid(), "started": started.strftime("%Y-%m-%d %H:%M:%S UTC")}
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note).encode(), 0)


def _holder(fd: int) -> str:
    """``started <when>, pid <pid>`` of the lock's holder, as it wrote them."""
    try:
        note = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"started {note['started']}, pid {note['pid']}"
    except (OSError, ValueError, KeyError):
        return "who and since when unknown: the lock file names nobody"


def _remove(path: Path) -> None:
    if path.is_dir():  # a load's spill folder
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fold_wal(path: Path) -> None:
    """Let DuckDB replay a write-ahead log left beside the warehouse into the file itself.

    Only a direct read-write session (not a load) leaves one; DuckDB's own
    recovery is crash-safe, so a kill here leaves the log to be folded next time.
    """
    if not _wal(path).exists():
        return
    try:
        con = duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
    except duckdb.Error as exc:
        raise WarehouseBusyError(
            f"the warehouse {path} has an unfinished write-ahead log and another process holds it "
            f"(a lock conflict: a read-write session?): {exc}"
        ) from exc
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _snapshot_copy(path: Path, tmp: Path, timeout: float) -> None:
    """Copy the warehouse file while a read-only connection proves nobody writes it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            guard = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"the warehouse {path} is held read-write by another process (a lock conflict); "
                    f"close that session or open it with -readonly: {exc}"
                ) from exc
            time.sleep(0.2)
    try:
        shutil.copyfile(path, tmp)
    finally:
        guard.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(
    path: Path,
    frames: Mapping[str, Frame],
    run_rows: Mapping[str, pl.DataFrame],
    *,
    full_refresh: bool = False,
    input_dir: Path | str | None = None,
    now: datetime | None = None,
    timeout: float | None = None,
    before_commit: Callable[[], Mapping[str, pl.DataFrame]] | None = None,
) -> dict[str, int]:
    """Apply one run atomically (see the module docstring) and return row counts and file counts.

    ``frames`` holds ``raw_documents`` (every file the run read, one row per
    path), per-document tables (any frame with a ``document_id`` column, such as
    ``stg_documents``, ``stg_sentences``, ``fct_metric``) and reference tables
    (any other frame, such as ``dim_unit``, replaced whole; ``dim_org_unit`` is merged).
    A table may also be a ``StagedTable``: Parquet files DuckDB reads as it loads. ``run_rows`` are
    appended as they are (``etl_run``, ``dq_result``, ``quarantine``; the
    quarantine rows get ``etl_run``'s ``run_id``).

    ``input_dir`` is the folder the run read completely: paths loaded from
    below it that the run did not read are marked removed. It defaults to
    ``etl_run.input_dir``; with neither, nothing is marked removed. ``now``
    stamps ``removed_at`` and ``superseded_at``; it defaults to when the run
    read its files (``ingested_at``), so replaying a run gives the same rows.

    ``before_commit``, when given, is called once every table is written and before the run's
    rows are appended and the transaction commits; it returns more run rows (they replace
    those of ``run_rows`` with the same name). It may wait, so that a flow writes the tables
    while its last checks run and supplies their results; if it raises, the load stops there
    and the warehouse is as it was.

    Besides each table's row count, the result has ``files_added``,
    ``files_changed``, ``files_unchanged``, ``files_restored`` and
    ``files_removed``.
    """
    # Through a link, so the copy is made on the target's own file system and the swap replaces
    # the file rather than the link.
    path = Path(path).resolve()
    raw = frames["raw_documents"]
    quarantine = run_rows.get("quarantine")
    stamp = now or _stamp(raw, quarantine)
    scope = _scope(input_dir, run_rows.get("etl_run"))
    timeout = lock_wait() if timeout is None else timeout
    with writer_lock(path, timeout):
        _step("locked")
        for stale in temp_files(path):
            _remove(stale)
        _step("cleaned")
        _fold_wal(path)
        tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            if path.exists():
                _snapshot_copy(path, tmp, timeout)
            _step("copied")
            con = connect(tmp)
            try:
                # A bounded buffer pool: a large run's load spills to disk beside the warehouse
                # instead of growing the process with the run (DuckDB's default is 80% of RAM).
                con.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT}'")
                spill = f"{tmp}.spill".replace("'", "''")  # a quote in the path stays a quote
                con.execute(f"SET temp_directory = '{spill}'")
                apply_schema(con)
                _step("schema")
                with transaction(con):
                    stats = _apply(
                        con,
                        frames,
                        run_rows,
                        full_refresh=full_refresh,
                        scope=scope,
                        now=stamp,
                        before_commit=before_commit,
                    )
                    _step("before_commit")
                _step("committed")
                con.execute("CHECKPOINT")
                counts = _counts(con, frames)
            finally:
                con.close()
            _step("closed")
            if _wal(tmp).exists():  # close checkpoints; a log left here would be lost by the swap
                raise RuntimeError(f"DuckDB left a write-ahead log {_wal(tmp)} after CHECKPOINT and close")
            _fsync(tmp)
            _step("synced")
            os.replace(tmp, path)
            _step("replaced")
            _fsync(path.parent)
        except BaseException:
            _remove(tmp)
            _remove(_wal(tmp))
            raise
        finally:
            shutil.rmtree(f"{tmp}.spill", ignore_errors=True)
        _step("done")
    return {**counts, **stats}


def _stamp(raw: pl.DataFrame, quarantine: pl.DataFrame | None) -> datetime:
    """When the run read its input: the latest ``ingested_at`` or ``quarantined_at``."""
    seen = [raw["ingested_at"].max()] if raw.height and "ingested_at" in raw.columns else []
    if quarantine is not None and quarantine.height and "quarantined_at" in quarantine.columns:
        seen.append(quarantine["quarantined_at"].max())
    seen = [s for s in seen if isinstance(s, datetime)]
    return max(seen) if seen else datetime.now(UTC).replace(tzinfo=None)


def _scope(input_dir: Path | str | None, etl_run: pl.DataFrame | None) -> str | None:
    """The path prefix under which absent files count as removed, or None."""
    folder: str | None = None
    if input_dir is not None:
        folder = str(Path(input_dir).resolve())
    elif etl_run is not None and etl_run.height and "input_dir" in etl_run.columns:
        folder = etl_run["input_dir"][0]
    if not folder:
        return None
    return folder.rstrip(os.sep) + os.sep


@dataclass(frozen=True)
class StagedTable:
    """A table the run wrote as Parquet files (one per extract batch) rather than holding in memory.

    ``load`` lets DuckDB read the files itself, so loading a large run streams from disk and
    the flow's memory does not grow with the corpus.
    """

    paths: tuple[str, ...]
    columns: tuple[str, ...]

    @classmethod
    def of(cls, paths: list[Path]) -> StagedTable:
        return cls(tuple(str(p) for p in paths), tuple(pl.read_parquet_schema(paths[0]).keys()))


Frame = pl.DataFrame | StagedTable


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: Frame) -> None:
    if isinstance(frame, StagedTable):
        con.register(name, con.read_parquet(list(frame.paths), union_by_name=True))
    else:
        con.register(name, frame.to_arrow())


def _per_document(frames: Mapping[str, Frame]) -> list[str]:
    return [t for t, f in frames.items() if t != "raw_documents" and "document_id" in f.columns]


def _reference(frames: Mapping[str, Frame]) -> list[str]:
    return [t for t, f in frames.items() if t != "raw_documents" and "document_id" not in f.columns]


def _raw_frame(raw: pl.DataFrame) -> pl.DataFrame:
    """The run's raw rows, with null columns where the caller predates them (``script``, formats)."""
    missing = {"script": pl.String, "modified_ns": pl.Int64, **FORMAT_SCHEMA}
    absent = [pl.lit(None, dtype=t).alias(c) for c, t in missing.items() if c not in raw.columns]
    return raw.with_columns(absent)


def _apply(
    con: duckdb.DuckDBPyConnection,
    frames: Mapping[str, Frame],
    run_rows: Mapping[str, pl.DataFrame],
    *,
    full_refresh: bool,
    scope: str | None,
    now: datetime,
    before_commit: Callable[[], Mapping[str, pl.DataFrame]] | None = None,
) -> dict[str, int]:
    """All of one run's changes, inside the caller's transaction."""
    con.register("new_raw", _raw_frame(frames["raw_documents"]).to_arrow())
    quarantine = run_rows.get("quarantine")
    q = quarantine.select("source_path", "reason") if quarantine is not None else None
    con.register("new_quarantine", (q if q is not None else _EMPTY_Q).to_arrow())
    stats = _refresh_raw(con, now) if full_refresh else _merge_raw(con, scope, now)
    _step("raw_documents")
    for table in _per_document(frames):
        _register(con, "new_rows", frames[table])
        if full_refresh:
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
        else:
            # Rewrite the documents whose paths changed, and those this table has no rows for yet
            # (a table added later, or a document that yields none); drop rows nothing refers to.
            con.execute(
                f"DELETE FROM {table} WHERE document_id NOT IN (SELECT document_id FROM raw_documents)"
                " OR (document_id IN (SELECT document_id FROM _touched)"
                "     AND document_id IN (SELECT document_id FROM new_raw))"
            )
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT * FROM new_rows"
                " WHERE document_id IN (SELECT document_id FROM _touched)"
                f"    OR document_id NOT IN (SELECT document_id FROM {table})"
            )
        con.unregister("new_rows")
        _step(table)
    for table in _reference(frames):
        _register(con, "new_rows", frames[table])
        if table in MERGED_TABLES:
            if full_refresh:
                con.execute(f"DELETE FROM {table}")
            _merge_org_units(con)
        else:
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
        con.unregister("new_rows")
        _step(table)
    if before_commit is not None:
        run_rows = {**run_rows, **before_commit()}
        _step("before_commit_rows")
    _append_run_rows(con, run_rows)
    _step("run_rows")
    for name in ("new_raw", "new_quarantine"):
        con.unregister(name)
    return stats


def _merge_org_units(con: duckdb.DuckDBPyConnection) -> None:
    """Add the run's new organisations to ``dim_org_unit`` and recount every organisation's mentions.

    A run extracts only new and changed documents, so its ``dim_org_unit`` names only the bodies
    those documents mention; replacing the table with it would drop everyone else's. Counts come
    from ``bridge_sentence_org``, which holds every document's mentions by now, and a body no
    document mentions any more goes.
    """
    con.execute(  # one row per body, also when several extract batches named it
        "INSERT INTO dim_org_unit BY NAME SELECT * FROM new_rows"
        " WHERE org_id NOT IN (SELECT org_id FROM dim_org_unit)"
        " QUALIFY row_number() OVER (PARTITION BY org_id ORDER BY type, level, parent_org_id NULLS LAST) = 1"
    )
    con.execute(
        "UPDATE dim_org_unit SET parent_org_id = n.parent_org_id FROM new_rows n"
        " WHERE dim_org_unit.org_id = n.org_id AND dim_org_unit.parent_org_id IS NULL"
        " AND n.parent_org_id IS NOT NULL"
    )
    con.execute("DELETE FROM dim_org_unit WHERE org_id NOT IN (SELECT org_id FROM bridge_sentence_org)")
    con.execute(
        "UPDATE dim_org_unit SET mention_count = c.mentions, document_count = c.documents FROM ("
        "  SELECT org_id, count(*) AS mentions, count(DISTINCT document_id) AS documents"
        "  FROM bridge_sentence_org GROUP BY org_id) c WHERE dim_org_unit.org_id = c.org_id"
    )


_EMPTY_Q = pl.DataFrame(schema={"source_path": pl.String, "reason": pl.String})
_CHANGED = "changed: the file at this path now holds different text"


def _version_columns(alias: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in VERSION_COLUMNS)


def _merge_raw(con: duckdb.DuckDBPyConnection, scope: str | None, now: datetime) -> dict[str, int]:
    """Incremental: add, keep, replace (archiving the old text) or mark removed, path by path."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _cmp AS
        SELECT n.source_path, n.document_id AS new_id, r.document_id AS old_id,
               CASE WHEN r.source_path IS NULL THEN 'added'
                    WHEN r.content_sha256 <> n.content_sha256 THEN 'changed'
                    WHEN r.size_bytes <> n.size_bytes OR r.encoding <> n.encoding
                         OR r.file_name <> n.file_name THEN 'reread'
                    WHEN r.removed_at IS NOT NULL THEN 'restored'
                    ELSE 'unchanged' END AS status
        FROM new_raw n LEFT JOIN raw_documents r USING (source_path)
        """
    )
    con.execute(
        f"""
        INSERT INTO document_version BY NAME
        SELECT {_version_columns("r")}, $now AS superseded_at, c.new_id AS superseded_by, $why AS reason
        FROM raw_documents r JOIN _cmp c USING (source_path) WHERE c.status = 'changed'
        """,
        {"now": now, "why": _CHANGED},
    )
    con.execute(
        "DELETE FROM raw_documents WHERE source_path IN"
        " (SELECT source_path FROM _cmp WHERE status IN ('changed', 'reread'))"
    )
    con.execute(
        "INSERT INTO raw_documents BY NAME SELECT n.* FROM new_raw n JOIN _cmp c USING (source_path)"
        " WHERE c.status IN ('added', 'changed', 'reread')"
    )
    con.execute(
        "UPDATE raw_documents SET removed_at = NULL, removed_reason = NULL"
        " WHERE source_path IN (SELECT source_path FROM _cmp WHERE status = 'restored')"
    )
    # A file below the folder this run read completely, which it did not read: removed, or now
    # unreadable (then the quarantine row of this run says why).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _gone AS
        SELECT r.source_path, r.document_id,
               CASE WHEN q.reason IS NULL THEN 'no longer in the input folder'
                    ELSE 'no longer readable: ' || q.reason END AS why
        FROM raw_documents r
        LEFT JOIN (SELECT source_path, min(reason) AS reason FROM new_quarantine GROUP BY 1) q
            USING (source_path)
        WHERE r.removed_at IS NULL AND $has_scope AND starts_with(r.source_path, $scope)
          AND r.source_path NOT IN (SELECT source_path FROM new_raw)
        """,
        {"has_scope": scope is not None, "scope": scope or ""},
    )
    con.execute(
        "UPDATE raw_documents SET removed_at = $now, removed_reason = g.why FROM _gone g"
        " WHERE raw_documents.source_path = g.source_path",
        {"now": now},
    )
    # A file read again with the same text keeps its row, but not its old modification time:
    # otherwise it would be read on every run (``flows.warehouse.ingest.read_files`` skips untouched files).
    con.execute(
        "UPDATE raw_documents SET modified_ns = n.modified_ns FROM new_raw n"
        " WHERE raw_documents.source_path = n.source_path"
        "   AND raw_documents.content_sha256 = n.content_sha256"
        "   AND n.modified_ns IS NOT NULL"
        "   AND raw_documents.modified_ns IS DISTINCT FROM n.modified_ns"
    )
    # Warehouses loaded before the script column existed: fill it for the files read again.
    con.execute(
        "UPDATE raw_documents SET script = n.script FROM new_raw n"
        " WHERE raw_documents.source_path = n.source_path"
        "   AND raw_documents.content_sha256 = n.content_sha256"
        "   AND raw_documents.script IS NULL AND n.script IS NOT NULL"
    )
    # ... and before formats were recorded (sql/014): how the same text was read.
    con.execute(
        f"UPDATE raw_documents SET {', '.join(f'{c} = n.{c}' for c in FORMAT_SCHEMA)} FROM new_raw n"
        " WHERE raw_documents.source_path = n.source_path"
        "   AND raw_documents.content_sha256 = n.content_sha256"
        "   AND raw_documents.file_sha256 IS NULL AND n.file_sha256 IS NOT NULL"
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _touched AS
        SELECT new_id AS document_id FROM _cmp WHERE status IN ('added', 'changed', 'restored')
        UNION SELECT old_id FROM _cmp WHERE status = 'changed'
        UNION SELECT document_id FROM _gone
        """
    )
    stats = dict(con.execute("SELECT status, count(*) FROM _cmp GROUP BY 1").fetchall())
    removed = _one(con, "SELECT count(*) FROM _gone")
    return {
        "files_added": int(stats.get("added", 0)),
        "files_changed": int(stats.get("changed", 0)) + int(stats.get("reread", 0)),
        "files_unchanged": int(stats.get("unchanged", 0)),
        "files_restored": int(stats.get("restored", 0)),
        "files_removed": int(removed[0]),
    }


def _refresh_raw(con: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, int]:
    """Full refresh: raw_documents becomes the run's files; every other row goes to history."""
    con.execute(
        f"""
        INSERT INTO document_version BY NAME
        SELECT {_version_columns("r")}, $now AS superseded_at, n.document_id AS superseded_by,
               CASE WHEN n.source_path IS NOT NULL THEN $changed
                    WHEN r.removed_at IS NOT NULL
                    THEN 'dropped by a full refresh: the file had been removed (' || r.removed_reason || ')'
                    ELSE 'dropped by a full refresh: the file was not in the input of that run' END
               AS reason
        FROM raw_documents r LEFT JOIN new_raw n USING (source_path)
        WHERE n.source_path IS NULL OR n.content_sha256 <> r.content_sha256
        """,
        {"now": now, "changed": _CHANGED},
    )
    added, changed, unchanged = _one(
        con,
        """
        SELECT count(*) FILTER (WHERE r.source_path IS NULL),
               count(*) FILTER (WHERE r.content_sha256 <> n.content_sha256),
               count(*) FILTER (WHERE r.content_sha256 = n.content_sha256)
        FROM new_raw n LEFT JOIN raw_documents r USING (source_path)
        """,
    )
    dropped = _one(
        con, "SELECT count(*) FROM raw_documents WHERE source_path NOT IN (SELECT source_path FROM new_raw)"
    )
    con.execute("DELETE FROM raw_documents")
    con.execute("INSERT INTO raw_documents BY NAME SELECT * FROM new_raw")
    return {
        "files_added": int(added),
        "files_changed": int(changed),
        "files_unchanged": int(unchanged),
        "files_restored": 0,
        "files_removed": int(dropped[0]),
    }


def _append_run_rows(con: duckdb.DuckDBPyConnection, run_rows: Mapping[str, pl.DataFrame]) -> None:
    """Append the run's log rows; quarantine rows are tagged with the run that made them."""
    etl_run = run_rows.get("etl_run")
    run_id = etl_run["run_id"][0] if etl_run is not None and etl_run.height else None
    for table, rows in run_rows.items():
        if not rows.height:
            continue
        if table == "quarantine" and run_id is not None and "run_id" not in rows.columns:
            rows = rows.with_columns(pl.lit(run_id, dtype=pl.String).alias("run_id"))
        con.register("new_rows", rows.to_arrow())
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_rows")
        con.unregister("new_rows")


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """The single row of a query, read to the end.

    DuckDB 2 refuses new work on a connection whose last result was not read to
    the end, which is how ``fetchone`` leaves it.
    """
    return con.execute(sql).fetchall()[0]


def _counts(con: duckdb.DuckDBPyConnection, frames: Mapping[str, Frame]) -> dict[str, int]:
    tables = dict.fromkeys(
        [*DOCUMENT_TABLES, *_per_document(frames), "raw_documents", "quarantine", "document_version"]
    )
    counts = {}
    for table in tables:
        counts[table] = int(_one(con, f"SELECT count(*) FROM {table}")[0])
    return counts


def checksums(path: Path, *, current_only: bool = False) -> dict[str, str]:
    """``{table: "rows:md5"}`` over each table's rows in sorted order, to compare two states.

    With ``current_only`` it compares what a full refresh must reproduce: the
    run logs and the history are left out, ``raw_documents`` is limited to
    current paths without the columns that say *when* (``ingested_at``,
    ``removed_at``, ``removed_reason``), and per-document tables to current
    documents (view ``current_documents``).
    """
    con = connect(path, read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                " AND database_name = current_database() ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            if current_only and table in (*BOOKKEEPING_TABLES, *HISTORY_TABLES):
                continue
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            where = ""
            if current_only and table == "raw_documents":
                cols = [c for c in cols if c not in _WHEN_COLUMNS]
                where = "WHERE removed_at IS NULL"
            elif current_only and "document_id" in cols:
                where = "WHERE document_id IN (SELECT document_id FROM current_documents)"
            select = ", ".join(f'"{c}"' for c in cols)
            n, digest = _one(
                con,
                "SELECT count(*), md5(coalesce(string_agg(r, chr(10) ORDER BY r), '')) FROM"
                f" (SELECT CAST(t AS VARCHAR) AS r FROM (SELECT {select} FROM {table} {where}) t)",
            )
            out[table] = f"{n}:{digest}"
        return out
    finally:
        con.close()


def query(path: Path, sql: str) -> pl.DataFrame:
    """Run one read-only query and return the result as a frame (``connect_sealed``: no file access)."""
    con = connect_sealed(path)
    try:
        rel = con.sql(sql)
        if rel is None:  # a statement without a result (e.g. SET)
            return pl.DataFrame()
        return pl.from_arrow(rel.to_arrow_table())  # type: ignore[return-value]
    finally:
        con.close()
