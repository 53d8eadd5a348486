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
BINHAI = "滨海新区关于十一届市委第九轮巡视整改进展情况的通报"  # seeds/raw/003, line 4
LANGFANG = "中共廊坊市委关于省委巡视“回头看”整改进展情况的通报"  # seeds/raw/004, line 3
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
OBJECTS = (
    f"SELECT table_name, comment FROM duckdb_tables() WHERE {MAIN}"
    f" UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND {MAIN}"
)


def test_every_table_and_view_has_a_bilingual_comment(seed_warehouse: Path) -> None:
    objects = _rows(seed_warehouse, OBJECTS)
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
    assert {t for t, _, _ in columns} == {name for name, _ in _rows(seed_warehouse, OBJECTS)}
    missing = [f"{t}.{c}" for t, c, comment in columns if not comment]
    assert not missing, f"columns without COMMENT ON COLUMN (sql/006_comments.sql, 007_views.sql): {missing}"
    for t, c, comment in columns:
        assert CJK.search(comment) and LATIN.search(comment), f"{t}.{c}: {comment!r}"


def test_v_metric_has_every_fact_with_its_context(seed_warehouse: Path) -> None:
    facts, rows, distinct = _rows(
        seed_warehouse,
        "SELECT (SELECT count(*) FROM fct_metric), count(*), count(DISTINCT metric_id) FROM v_metric",
    )[0]
    # How many facts the seeds give is the extractor's reading of 190 kB of real text, not a
    # count the text states: the bound only says the view is not empty; the equalities are exact.
    assert facts == rows == distinct > 500
    (with_orgs, with_measure, with_section, with_title, current) = _rows(
        seed_warehouse,
        "SELECT count(organisations), count(measure_headline),"
        " count(section_heading), count(title), count(*) FILTER (WHERE is_current) FROM v_metric",
    )[0]
    assert (with_orgs, with_measure, with_section) == _rows(
        seed_warehouse,
        "SELECT count(*) FILTER (WHERE sentence_id IN (SELECT sentence_id FROM bridge_sentence_org)),"
        " count(measure_id), count(section_id) FROM fct_metric",
    )[0]
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
    # The ten largest amounts the seeds write, all in 元 (grep '[0-9.]+(万|亿)?元' seeds/raw/*):
    # 003 and 004 name no larger ones, and 003's 30.7亿美元 is in 美元. 004 writes 310亿元 twice.
    assert [(title, text) for title, text, *_ in rows] == [
        (BINHAI, "2227亿元"),
        (BINHAI, "1975亿元"),
        (LANGFANG, "877亿元"),
        (BINHAI, "760.54亿元"),
        (BINHAI, "525.26亿元"),
        (BINHAI, "456亿元"),
        (BINHAI, "437.4亿元"),
        (BINHAI, "395.77亿元"),
        (LANGFANG, "310.1亿元"),
        (LANGFANG, "310亿元"),
    ]
    assert [yuan for *_, yuan, _ in rows] == pytest.approx(
        [2227e8, 1975e8, 877e8, 760.54e8, 525.26e8, 456e8, 437.4e8, 395.77e8, 310.1e8, 310e8]
    )
    assert all(text in sentence for _, text, _, _, sentence in rows)


def test_v_measure_has_every_measure_with_item_status_and_figures(seed_warehouse: Path) -> None:
    (measures,) = _rows(seed_warehouse, "SELECT count(*) FROM fct_measure")[0]
    rows = _rows(
        seed_warehouse,
        "SELECT count(*), count(category), count(status), sum(figures), count(figure_list) FROM v_measure",
    )[0]
    # The measures of the two reports, counted in the text: 70 + 66 + 57 + 17 in 003 and 79 in
    # 004 (tests/test_examples.py, MEASURES, says how).
    assert rows[0] == measures == 289
    assert rows[1] == measures  # every measure has its item's category
    (with_status, with_figures, with_measure) = _rows(
        seed_warehouse,
        "SELECT (SELECT count(status) FROM fct_measure), count(DISTINCT measure_id), count(measure_id)"
        " FROM fct_metric",
    )[0]
    assert (rows[2], rows[3], rows[4]) == (with_status, with_measure, with_figures)
    example = _rows(
        seed_warehouse,
        "SELECT figure_list, largest_money_yuan FROM v_measure WHERE figure_list LIKE '%1975亿元%'",
    )
    # 003, line 29: the measure of 协议投资额1975亿元 also holds 262.48亿元, and no larger amount.
    assert [largest for _, largest in example] == [1975e8]
    assert "262.48亿元" in example[0][0]


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
