"""Every example query in sql/examples runs against the seed warehouse and returns rows."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO_ROOT, SEEDS_RAW

EXAMPLES = sorted((REPO_ROOT / "sql" / "examples").glob("*.sql"))


@pytest.fixture(scope="module")
def seed_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.pipeline.etl import build_tables
    from flows.warehouse import store as warehouse
    from flows.warehouse.ingest import read_folder

    raw, _ = read_folder(SEEDS_RAW)
    target = tmp_path_factory.mktemp("examples") / "taizhang.duckdb"
    warehouse.load(target, build_tables(raw), {})
    return target


def test_there_are_at_least_eight_examples_each_saying_its_question() -> None:
    assert len(EXAMPLES) >= 8
    for path in EXAMPLES:
        assert path.read_text(encoding="utf-8").startswith("-- "), path.name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_query_returns_rows_on_the_seed_warehouse(seed_warehouse: Path, path: Path) -> None:
    con = duckdb.connect(str(seed_warehouse), read_only=True)
    try:
        rows = con.sql(path.read_text(encoding="utf-8")).fetchall()
    finally:
        con.close()
    assert rows, f"{path.name} returned no rows"


def test_no_view_or_example_adds_up_figures() -> None:
    """Figures measure different things (a budget, a turnover, both ends of a from/to pair): a
    query that sums value_canonical across rows adds unlike quantities (issue 23)."""
    summing = re.compile(r"sum\s*\(\s*(?:\w+\.)?value_canonical", re.IGNORECASE)
    files = [*EXAMPLES, *sorted((REPO_ROOT / "sql").glob("*.sql"))]
    assert [f.name for f in files if summing.search(f.read_text(encoding="utf-8"))] == []
