"""The warehouse explains itself: every table, view and column has a comment, and the views answer.

``seed_warehouse_path`` builds the seed warehouse once per test session; the
report, export and shell tests import it too, so the seeds are extracted once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO_ROOT, SEEDS_RAW

_BUILT: dict[Path, Path] = {}
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")


def seed_warehouse_path(factory: pytest.TempPathFactory) -> Path:
    """The seed warehouse, built through the real transforms and load (once per session)."""
    base = factory.getbasetemp()
    if base not in _BUILT:
        from flows.pipeline.etl import build_tables
        from flows.warehouse import store as warehouse
        from flows.warehouse.ingest import read_folder

        raw, _ = read_folder(SEEDS_RAW)
        target = factory.mktemp("seed_warehouse") / "taizhang.duckdb"
        warehouse.load(target, build_tables(raw), {})
        _BUILT[base] = target
    return _BUILT[base]


@pytest.fixture(scope="module")
def seed_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_warehouse_path(tmp_path_factory)


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


MAIN = "schema_name = 'main' AND database_name = current_database()"


def test_every_table_and_view_has_a_bilingual_comment(seed_warehouse: Path) -> None:
    objects = _rows(
        seed_warehouse,
        f"SELECT table_name, comment FROM duckdb_tables() WHERE {MAIN}"
        f" UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND {MAIN}",
    )
    names = {name for name, _ in objects}
    assert {"fct_metric", "dim_document", "fct_measure", "v_metric", "v_measure", "v_document"} <= names
    missing = sorted(name for name, comment in objects if not comment)
    assert not missing, f"no COMMENT ON TABLE/VIEW for {missing}: add one to sql/006_comments.sql"
    for name, comment in objects:
        assert CJK.search(comment) and LATIN.search(comment), (
            f"{name}: {comment!r} is not Chinese and English"
        )


def test_every_column_has_a_bilingual_comment(seed_warehouse: Path) -> None:
    columns = _rows(
        seed_warehouse,
        f"SELECT table_name, column_name, comment FROM duckdb_columns() WHERE {MAIN} AND NOT internal"
        " ORDER BY table_name, column_index",
    )
    assert len(columns) > 200
    missing = [f"{t}.{c}" for t, c, comment in columns if not comment]
    assert not missing, f"columns without COMMENT ON COLUMN (sql/006_comments.sql, 007_views.sql): {missing}"
    for t, c, comment in columns:
        assert CJK.search(comment) and LATIN.search(comment), f"{t}.{c}: {comment!r}"


def test_v_metric_has_every_fact_with_its_context(seed_warehouse: Path) -> None:
    facts, rows, distinct = _rows(
        seed_warehouse,
        "SELECT (SELECT count(*) FROM fct_metric), count(*), count(DISTINCT metric_id) FROM v_metric",
    )[0]
    assert facts == rows == distinct > 500
    (with_orgs, with_measure, with_section, with_title, current) = _rows(
        seed_warehouse,
        "SELECT count(organisations), count(measure_headline),"
        " count(section_heading), count(title), count(*) FILTER (WHERE is_current) FROM v_metric",
    )[0]
    assert with_orgs > 0 and with_measure > 0 and with_section > 0
    assert with_title == facts == current
    # A fact inside a measure carries that measure's item category.
    bad = _rows(
        seed_warehouse,
        "SELECT count(*) FROM v_metric"
        " WHERE measure_id IS NOT NULL AND (item_id IS NULL OR item_category IS NULL)",
    )[0][0]
    assert bad == 0


def test_the_readme_query_on_v_metric_still_runs(seed_warehouse: Path) -> None:
    rows = _rows(
        seed_warehouse,
        "select title, text, metric, value_canonical as yuan, sentence"
        " from v_metric where kind = 'money' order by yuan desc limit 10",
    )
    assert len(rows) == 10
    title, text, _, yuan, sentence = rows[0]
    assert title and text in sentence and yuan > 0


def test_v_measure_has_every_measure_with_item_status_and_figures(seed_warehouse: Path) -> None:
    (measures,) = _rows(seed_warehouse, "SELECT count(*) FROM fct_measure")[0]
    rows = _rows(
        seed_warehouse,
        "SELECT count(*), count(category), count(status), sum(figures), count(figure_list) FROM v_measure",
    )[0]
    assert rows[0] == measures > 0
    assert rows[1] == measures  # every measure has its item's category
    assert rows[2] > 0 and rows[4] > 0
    (with_measure,) = _rows(seed_warehouse, "SELECT count(*) FROM fct_metric WHERE measure_id IS NOT NULL")[0]
    assert rows[3] == with_measure
    example = _rows(
        seed_warehouse,
        "SELECT figure_list, largest_money_yuan FROM v_measure WHERE figure_list LIKE '%1975亿元%'",
    )
    assert example and example[0][1] >= 1975e8


def test_v_document_counts_agree_with_the_tables(seed_warehouse: Path) -> None:
    docs = _rows(
        seed_warehouse,
        "SELECT sum(facts), sum(sentences), sum(measures), sum(items) + sum(item_groups), count(*),"
        " bool_and(is_current) FROM v_document",
    )[0]
    expected = _rows(
        seed_warehouse,
        "SELECT (SELECT count(*) FROM fct_metric), (SELECT count(*) FROM stg_sentences),"
        " (SELECT count(*) FROM fct_measure), (SELECT count(*) FROM fct_rectification_item),"
        " (SELECT count(*) FROM dim_document), true",
    )[0]
    assert docs == expected
    assert docs[4] == 5


def test_schema_files_apply_twice_and_the_cli_still_opens_the_file(
    seed_warehouse: Path, tmp_path: Path
) -> None:
    """sql/*.sql run on every load, so they must be idempotent; the file must stay CLI-readable."""
    from flows.warehouse import store as warehouse

    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(seed_warehouse, copy)
    con = warehouse.connect(copy)
    try:
        warehouse.apply_schema(con)
        warehouse.apply_schema(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    assert _rows(copy, "SELECT count(*) FROM v_document")[0][0] == 5
    cli = REPO_ROOT / ".venv" / "bin" / "duckdb"
    binary = str(cli) if cli.exists() else shutil.which("duckdb")
    if binary is None:
        pytest.skip("no DuckDB CLI (pip install duckdb-cli) to check that it opens the file")

    def cli_query(sql: str) -> str:
        result = subprocess.run(
            [binary, "-readonly", str(copy), "-csv", "-noheader", "-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert cli_query("select count(*) from v_metric") == str(
        _rows(copy, "SELECT count(*) FROM fct_metric")[0][0]
    )
    assert "指标事实" in cli_query("select comment from duckdb_tables() where table_name = 'fct_metric'")
    assert "机构" in cli_query(
        "select comment from duckdb_columns() where table_name = 'v_metric' and column_name = 'organisations'"
    )
