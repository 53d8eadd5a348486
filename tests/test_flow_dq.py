"""The etl flow's data-quality gate: results stored, docs written, a critical failure loads nothing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SEEDS_RAW

pytestmark = pytest.mark.flow


def test_clean_run_stores_dq_run_and_dq_result_and_writes_data_docs(
    prefect_harness: None, tmp_path: Path
) -> None:
    from flows import warehouse
    from flows.etl import etl

    target = tmp_path / "taizhang.duckdb"
    etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target))

    run = warehouse.query(target, "select * from dq_run").row(0, named=True)
    assert run["success"] and run["failed_critical"] == 0 and run["tables"] == 11
    assert warehouse.query(target, "select count(*) n from dq_result")["n"][0] == run["checks"]
    assert (tmp_path / "dq" / "index.html").exists()


def test_critical_failure_stops_the_run_and_leaves_every_table_unchanged(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.etl as etl_module
    from flows import warehouse
    from flows.etl import DataQualityError, etl

    target = tmp_path / "taizhang.duckdb"
    etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target))
    before = warehouse.checksums(target)
    real_dim_unit = etl_module.dim_unit
    # A dictionary that lost 个: every fact in 个 now has a unit the dictionary does not know.
    monkeypatch.setattr(
        etl_module, "dim_unit", lambda units: real_dim_unit(units).filter(pl.col("unit") != "个")
    )

    with pytest.raises(
        DataQualityError, match=r"fct_metric: expect_column_values_to_be_in_set\(unit\): \d+ bad rows"
    ):
        # A full refresh re-extracts every document (an incremental run would extract none).
        etl(input_dir=str(SEEDS_RAW), warehouse_path=str(target), full_refresh=True)

    assert warehouse.checksums(target) == before
    assert "critical checks failed" in (tmp_path / "dq" / "index.html").read_text(encoding="utf-8")
