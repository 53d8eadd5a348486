"""The read-only SQL shell: files of statements, and the REPL driven through pipes and streams."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows.outputs.sql_shell import PROMPT, interactive, is_complete, run_file
from tests.conftest import REPO_ROOT
from tests.test_views import seed_warehouse_path

EXAMPLES = sorted((REPO_ROOT / "sql" / "examples").glob("*.sql"))


@pytest.fixture(scope="module")
def seed_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_warehouse_path(tmp_path_factory)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_file_runs_every_example(seed_warehouse: Path) -> None:
    """The shell gives each example's rows as DuckDB does (tests/test_examples.py checks the answers)."""
    con = duckdb.connect(str(seed_warehouse), read_only=True)
    try:
        direct = {path: con.sql(path.read_text(encoding="utf-8")).fetchall() for path in EXAMPLES}
    finally:
        con.close()
    for path in EXAMPLES:
        frames = run_file(seed_warehouse, path)
        assert len(frames) == 1, path.name
        assert frames[0].rows() == direct[path], path.name


def test_run_file_returns_one_frame_per_statement(seed_warehouse: Path, tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text(
        "-- a comment; with a semicolon\n"
        "create temp view v1 as select 1 as one;\n"
        "select count(*) as n from fct_metric;\n"
        "select ';' as s, 'it''s' as t; /* ; */\n"
        "create temp table scratch as select doc from fct_metric;  -- temporary tables are allowed\n"
        "select count(*) as n from scratch",
        encoding="utf-8",
    )
    frames = run_file(seed_warehouse, sql)
    assert len(frames) == 5
    con = duckdb.connect(str(seed_warehouse), read_only=True)
    try:
        assert frames[1]["n"].to_list() == [con.execute("select count(*) from fct_metric").fetchall()[0][0]]
    finally:
        con.close()
    assert frames[2].row(0) == (";", "it's")
    assert frames[4]["n"][0] == frames[1]["n"][0]
    assert all(isinstance(f, pl.DataFrame) for f in frames)


def test_run_file_cannot_write_the_warehouse(seed_warehouse: Path, tmp_path: Path) -> None:
    before = _digest(seed_warehouse)
    sql = tmp_path / "w.sql"
    sql.write_text("select 1;\ndelete from fct_metric;\n", encoding="utf-8")
    with pytest.raises(duckdb.Error, match=r"statement 2 .*read-only"):
        run_file(seed_warehouse, sql)
    assert _digest(seed_warehouse) == before


def test_is_complete_waits_for_a_semicolon_outside_quotes_and_comments() -> None:
    assert is_complete("select 1;")
    assert is_complete("select 1;  \n")
    assert is_complete("select 1; -- done\n")
    assert is_complete("select\n  1\n;")
    assert not is_complete("select 1")
    assert not is_complete("select ';")
    assert not is_complete("select 1 -- ;")
    assert not is_complete("select 1 /* ; */")
    assert not is_complete('select "a;')
    assert is_complete("select 'it''s';")


def test_the_shell_runs_multi_line_statements_and_dot_commands(seed_warehouse: Path) -> None:
    before = _digest(seed_warehouse)
    stdin = io.StringIO(
        ".tables\n"
        ".schema fct_metric\n"
        "select doc, count(*) as figures\n"
        "from fct_metric\n"
        "group by doc order by doc;\n"
        "\n"
        "select * from no_such_table;\n"
        "delete from fct_metric;\n"
        "select 'still here' as after_errors; select 42 as answer;\n"
        ".schema nope\n"
        ".frobnicate\n"
        ".quit\n"
        "select 'not run' as x;\n"
    )
    out = io.StringIO()
    code = interactive(seed_warehouse, stdin=stdin, stdout=out)
    text = out.getvalue()
    assert code == 1  # two statements failed
    assert PROMPT not in text  # not a terminal: no prompts
    assert "fct_metric" in text and "v_metric" in text and "指标事实" in text  # .tables with comments
    assert "value_canonical" in text and "规范单位下的数值" in text  # .schema with column meanings
    con = duckdb.connect(str(seed_warehouse), read_only=True)
    try:
        (count,) = con.execute(
            "select count(*) from fct_metric where doc = '003_59a226dc23570f64.txt'"
        ).fetchone()
    finally:
        con.close()
    assert "003_59a226dc23570f64.txt" in text and str(count) in text
    assert "Catalog Error" in text and "read-only" in text
    assert "still here" in text and "42" in text
    assert "no table or view named 'nope'" in text and "unknown command .frobnicate" in text
    assert "not run" not in text
    assert _digest(seed_warehouse) == before


def test_the_shell_prompts_on_a_terminal_and_continues_lines(seed_warehouse: Path) -> None:
    out = io.StringIO()
    code = interactive(seed_warehouse, stdin=io.StringIO("select\n1 as one;\n"), stdout=out, prompt=True)
    text = out.getvalue()
    assert code == 0
    assert text.count(PROMPT) == 2  # before each statement, and again before end of input
    assert "...> " in text and "one" in text


def test_an_unfinished_statement_at_end_of_input_is_an_error(seed_warehouse: Path) -> None:
    out = io.StringIO()
    assert interactive(seed_warehouse, stdin=io.StringIO("select 1\n"), stdout=out) == 1
    assert "missing ;" in out.getvalue()


def test_the_shell_reads_piped_input_in_a_real_process(seed_warehouse: Path) -> None:
    """stdin is a pipe, not a TTY: what `echo … | taizhang sql` does."""
    result = subprocess.run(
        [sys.executable, "-m", "flows.outputs.sql_shell", "--warehouse", str(seed_warehouse)],
        input="select count(*) as documents from v_document;\n.tables\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "documents" in result.stdout and re.search(r"│ +5 │", result.stdout.replace("┆", "│"))
    assert "v_measure" in result.stdout
    assert PROMPT not in result.stdout


# --- sealed from the file system (issue 29) -------------------------------------------------

FILE_STATEMENTS = {
    "copy to": "copy (select 1 as x) to '{out}/x.csv'",
    "read_text": "select * from read_text('/etc/passwd')",
    "read_csv": "select * from read_csv('/etc/hostname')",
    "attach": "attach '{out}/other.duckdb' as other",
    "install": "install httpfs",
}


@pytest.mark.parametrize("name", list(FILE_STATEMENTS))
def test_taizhang_sql_cannot_touch_the_file_system(
    name: str, seed_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each statement fails from `taizhang sql`, with a message that says why, and writes nothing."""
    from flows.cli import main

    sql = FILE_STATEMENTS[name].format(out=tmp_path)
    assert main(["sql", "--warehouse", str(seed_warehouse), sql]) == 1
    err = capsys.readouterr().err
    assert "disabled by configuration" in err and "cannot read or write other files" in err, err
    assert "root:" not in err
    assert not list(tmp_path.iterdir())  # no x.csv, no other.duckdb


def test_shell_and_sql_files_are_sealed_but_temp_tables_work(seed_warehouse: Path, tmp_path: Path) -> None:
    stdin = io.StringIO(
        f"copy (select 1) to '{tmp_path}/y.csv';\n"
        "set enable_external_access = true;\n"
        "create temp table t as select 2 as two;\n"
        "select two from t;\n"
    )
    out = io.StringIO()
    assert interactive(seed_warehouse, stdin=stdin, stdout=out) == 1
    text = out.getvalue()
    assert "disabled by configuration" in text and "configuration has been locked" in text
    assert re.search(r"│ +2 │", text.replace("┆", "│"))
    sql = tmp_path / "q.sql"
    sql.write_text("select 1;\nselect * from read_text('/etc/passwd');\n", encoding="utf-8")
    with pytest.raises(duckdb.Error, match=r"statement 2 .*disabled by configuration"):
        run_file(seed_warehouse, sql)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.sql"]


def test_report_and_validate_open_the_warehouse_sealed(
    seed_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's and the validator's connections cannot read other files either."""
    from flows.outputs import report
    from flows.quality import checks
    from flows.warehouse import store

    opened: list[duckdb.DuckDBPyConnection] = []
    real = store.connect_sealed

    def sealed(path: Path) -> duckdb.DuckDBPyConnection:
        con = real(path)
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            con.execute("select * from read_text('/etc/passwd')").fetchall()
        opened.append(con)
        return con

    monkeypatch.setattr(store, "connect_sealed", sealed)
    report.build_report(seed_warehouse, tmp_path / "report")
    assert len(opened) == 1
    checks.validate_warehouse(seed_warehouse)
    assert len(opened) == 2


def test_sql_prints_numbers_in_full_without_a_shape_line(
    seed_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    sql = "select 222700000000.0::double as money, 12345678 as n, 2023 as report_year, 'x' as s"
    assert main(["sql", "--warehouse", str(seed_warehouse), sql]) == 0
    out = capsys.readouterr().out
    assert "222,700,000,000" in out and "12,345,678" in out and "2023" in out and "2,023" not in out
    assert "e11" not in out and "shape:" not in out and "1 row" in out
