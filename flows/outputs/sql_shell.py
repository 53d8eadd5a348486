"""Read-only SQL on the warehouse: run a ``.sql`` file, or a small interactive shell.

``run_file`` runs every statement of a file (such as ``sql/examples/*.sql``) and
returns one frame per statement. ``interactive`` is a REPL for people who have
no DuckDB CLI at hand: prompt ``taizhang> ``, statements may span lines and end
with ``;``, and ``.tables``, ``.schema TABLE``, ``.help`` and ``.quit`` do what
they do in the DuckDB and SQLite shells. Results print as tables a person reads
(``format_frame``): numbers in full with thousands separators, the row count below.

Why it is built this way:

- **Read-only connection, sealed from the file system.** Analysts explore; a shell that
  can write would let a stray ``DELETE`` damage the warehouse, and a read-write session
  would lock loads out. DuckDB itself refuses writes on a read-only connection, but a
  read-only connection still writes files (``COPY … TO``) and reads any file
  (``read_text('/etc/passwd')``); ``store.connect_sealed`` switches DuckDB's external
  access off and locks the configuration, so no SQL filtering is needed (temporary
  tables still work, for scratch work; ``SET`` does not).
- **Statements split by DuckDB's own parser** (``duckdb.extract_statements``),
  so a ``;`` inside a string or a comment never splits a statement.
- **Works without a terminal.** When standard input is not a TTY the shell shows
  no prompt and reads lines as they come, so ``cat q.sql | taizhang sql`` and
  tests that pipe input behave like a script.
- **One error does not end the session**: it is printed and the shell goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TextIO

import duckdb
import polars as pl

from flows.warehouse import store as wh

PROMPT = "taizhang> "
CONTINUATION = "     ...> "
HELP = """\
.tables           list tables and views, with what each holds
.schema TABLE     columns of TABLE with their types and meanings
.help             this text
.quit / .exit     leave (so does end of input)
SQL statements may span lines and end with ;  The warehouse is opened read-only,
without access to other files (COPY … TO, read_csv, ATTACH, INSTALL and SET fail)."""
SEALED = (
    "taizhang sql reads the warehouse only: it cannot read or write other files, attach"
    " databases, install extensions or change settings"
)
# Integer columns printed as they are, without thousands separators: years, ids, positions.
_PLAIN_INT = ("year", "id", "_char", "_index", "_no", "_ns")


def _plain(column: str) -> bool:
    name = column.lower()
    return "year" in name or name.endswith(_PLAIN_INT)


def _frame(rel: duckdb.DuckDBPyRelation | None) -> pl.DataFrame:
    """A statement's result as a frame; an empty frame for statements without one."""
    if rel is None:
        return pl.DataFrame()
    return pl.from_arrow(rel.to_arrow_table())  # type: ignore[return-value]


def explain(exc: BaseException) -> str:
    """DuckDB's error, and what it means when the sealed connection refused it."""
    text = str(exc)
    if "disabled by configuration" in text or "configuration has been locked" in text:
        return f"{text}\n({SEALED})"
    return text


def run_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list[pl.DataFrame]:
    """Run each statement of ``sql`` in order on ``con``; one frame per statement."""
    return [_frame(con.sql(statement.query)) for statement in duckdb.extract_statements(sql)]


def run_file(warehouse: Path, path: Path) -> list[pl.DataFrame]:
    """Run every statement of the ``.sql`` file at ``path`` on a read-only connection to ``warehouse``.

    Returns one frame per statement, in order (an empty frame for a statement
    without a result, such as ``SET``). A failing statement raises DuckDB's
    error, naming the statement's position, after the earlier ones ran.
    """
    sql = Path(path).read_text(encoding="utf-8")
    con = wh.connect_sealed(Path(warehouse))
    try:
        out = []
        for i, statement in enumerate(duckdb.extract_statements(sql), start=1):
            try:
                out.append(_frame(con.sql(statement.query)))
            except duckdb.Error as exc:
                raise type(exc)(f"statement {i} of {path}: {explain(exc)}") from exc
        return out
    finally:
        con.close()


def format_frame(frame: pl.DataFrame, max_rows: int = 50) -> str:
    """A result as ``taizhang sql`` prints it: every column, long strings shortened, numbers in
    full with thousands separators (money reads 222,700,000,000, not 2.2270e11), integer years
    and ids as they are (2023, not 2,023), and the row count below instead of Polars' ``shape:``."""
    if frame.width == 0:
        return "OK"
    plain = [c for c, t in frame.schema.items() if t.is_integer() and _plain(c)]
    shown = frame.with_columns(pl.col(c).cast(pl.String) for c in plain)
    with pl.Config(
        tbl_rows=max_rows,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=200,
        thousands_separator=",",
        fmt_float="full",
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_cell_numeric_alignment="RIGHT",
    ):
        table = str(shown)
    rows = frame.height
    more = f", {max_rows} shown" if 0 <= max_rows < rows else ""
    return f"{table}\n{rows:,} row{'s' if rows != 1 else ''}{more}"


def print_frame(frame: pl.DataFrame, out: TextIO, max_rows: int = 50) -> None:
    """Print a result the way ``taizhang sql`` does (``format_frame``)."""
    print(format_frame(frame, max_rows), file=out)


def is_complete(buffer: str) -> bool:
    """True when ``buffer`` ends with a ``;`` outside quotes and comments: a statement to run.

    A light scanner rather than DuckDB's parser, because a half-typed statement
    is a parse error, not an incomplete one: the shell must wait for more lines.
    """
    quote: str | None = None
    block = False
    last = ""
    i, n = 0, len(buffer)
    while i < n:
        ch = buffer[i]
        pair = buffer[i : i + 2]
        if block:
            if pair == "*/":
                block = False
                i += 1
        elif quote:
            if ch == quote:
                quote = None
                last = ch
        elif pair == "--":
            newline = buffer.find("\n", i)
            i = n if newline < 0 else newline
            continue
        elif pair == "/*":
            block = True
            i += 1
        elif ch in ("'", '"'):
            quote = ch
            last = ch
        elif not ch.isspace():
            last = ch
        i += 1
    return quote is None and not block and last == ";"


def _tables(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return _frame(
        con.sql(
            "SELECT table_name AS name, 'table' AS type, estimated_size AS rows, comment"
            " FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database()"
            " UNION ALL SELECT view_name, 'view', NULL, comment FROM duckdb_views()"
            " WHERE NOT internal AND schema_name = 'main' AND database_name = current_database()"
            " ORDER BY type, name"
        )
    )


def _schema(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    return _frame(
        con.sql(
            "SELECT column_name AS column, data_type AS type, comment FROM duckdb_columns()"
            " WHERE schema_name = 'main' AND database_name = current_database() AND table_name = ?"
            " ORDER BY column_index",
            params=[table],
        )
    )


def _dot_command(con: duckdb.DuckDBPyConnection, line: str, out: TextIO) -> bool:
    """Run a ``.command``; return False when the shell should stop."""
    parts = line.split()
    command, args = parts[0].lower(), parts[1:]
    if command in (".quit", ".exit", ".q"):
        return False
    if command == ".help":
        print(HELP, file=out)
    elif command == ".tables":
        print_frame(_tables(con), out, max_rows=200)
    elif command == ".schema":
        if not args:
            print("usage: .schema TABLE", file=out)
        else:
            frame = _schema(con, args[0].rstrip(";"))
            if frame.height:
                print_frame(frame, out, max_rows=200)
            else:
                print(f"no table or view named {args[0]!r}; .tables lists them", file=out)
    else:
        print(f"unknown command {command}; .help lists the commands", file=out)
    return True


def interactive(
    warehouse: Path,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    prompt: bool | None = None,
) -> int:
    """A read-only SQL shell on ``warehouse``, until ``.quit`` or end of input; returns an exit code.

    ``prompt`` defaults to whether ``stdin`` is a terminal: piped input gets no
    prompts, so the output is just the results. The exit code is 1 when any
    statement failed (useful when a script is piped in), else 0.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    if prompt is None:
        prompt = stdin.isatty()
    if prompt and stdin is sys.stdin:
        with contextlib.suppress(ImportError):  # line editing and history for input(); absent on Windows
            import readline  # noqa: F401
    con = wh.connect_sealed(Path(warehouse))
    failed = False
    if prompt:
        print(f"taizhang SQL shell on {warehouse} (read-only). .help for help, .quit to leave.", file=stdout)
    try:
        buffer = ""
        while True:
            try:
                line = _read_line(stdin, stdout, (PROMPT if not buffer else CONTINUATION) if prompt else None)
            except KeyboardInterrupt:  # Ctrl-C drops the statement being typed, as in other shells
                print(file=stdout)
                buffer = ""
                continue
            if line is None:
                break
            if not buffer and line.strip().startswith("."):
                if not _dot_command(con, line.strip(), stdout):
                    break
                continue
            if not buffer and not line.strip():
                continue
            buffer += line + "\n"
            if not is_complete(buffer):
                continue
            sql, buffer = buffer, ""
            try:
                for frame in run_statements(con, sql):
                    print_frame(frame, stdout)
            except duckdb.Error as exc:
                failed = True
                print(f"Error: {explain(exc)}", file=stdout)
            except KeyboardInterrupt:
                con.interrupt()
                print("interrupted", file=stdout)
        if buffer.strip():
            print("Error: input ended inside a statement (missing ;)", file=stdout)
            failed = True
    finally:
        con.close()
    return 1 if failed else 0


def _read_line(stdin: TextIO, stdout: TextIO, prompt: str | None) -> str | None:
    """One line without its newline, or None at end of input (Ctrl-D)."""
    if prompt is not None and stdin is sys.stdin and stdout is sys.stdout:
        try:
            return input(prompt)
        except EOFError:
            print(file=stdout)
            return None
    if prompt is not None:
        stdout.write(prompt)
        stdout.flush()
    line = stdin.readline()
    if not line:
        return None
    return line.rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    """``python -m flows.outputs.sql_shell [--warehouse PATH] [FILE]``: ``taizhang sql`` without a query."""
    from flows.settings import default_warehouse

    parser = argparse.ArgumentParser(
        prog="python -m flows.outputs.sql_shell", description=__doc__.split("\n")[0]
    )
    parser.add_argument("file", nargs="?", help="a .sql file to run; without it, the interactive shell")
    parser.add_argument(
        "--warehouse", help="DuckDB file (default: $TAIZHANG_WAREHOUSE or warehouse/taizhang.duckdb)"
    )
    args = parser.parse_args(argv)
    target = Path(args.warehouse) if args.warehouse else default_warehouse()
    if args.file is None:
        return interactive(target)
    try:
        frames = run_file(target, Path(args.file))
    except (duckdb.Error, FileNotFoundError) as exc:
        print(f"query failed: {explain(exc)}", file=sys.stderr)
        return 1
    for frame in frames:
        print_frame(frame, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
