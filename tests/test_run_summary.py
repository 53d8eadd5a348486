"""What a run tells the people who run it (issue 29): one name, a form without meaningless
parameters, data docs per warehouse, failed checks by severity, summary rows one can read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from flows.cli import _checks_line
from flows.pipeline import etl as etl_module
from flows.pipeline.etl import RunSummary, etl, run_name
from flows.quality.checks import docs_dir
from tests.conftest import REPO_ROOT


def _dq(*rows: tuple[bool, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"table_name": "fct_metric", "expectation": f"e{i}", "severity": sev, "success": ok}
            for i, (ok, sev) in enumerate(rows)
        ]
    )


def test_the_deployment_form_offers_only_parameters_that_mean_something() -> None:
    """``show_progress`` drew a bar on a terminal; a deployment's run has none."""
    properties = etl.parameters.model_dump()["properties"]
    assert "show_progress" not in properties
    assert {"input_dir", "warehouse_path", "full_refresh", "stages"} <= set(properties)
    deployments = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    for deployment in deployments:
        assert set(deployment.get("parameters", {})) <= set(properties), deployment["name"]


def test_one_run_name_everywhere() -> None:
    """``taizhang run`` names its flow run with ``run_name`` and prints that name; a deployment's run
    gets the same form (tests/test_concurrent_runs.py checks the printed name against Prefect's)."""
    assert run_name("/x/inbox", datetime(2026, 12, 7, 23, 9, 41, tzinfo=UTC)) == "etl-inbox-20261207-230941"
    summary = RunSummary.begin("/x", Path("/w/cc.duckdb"), ["ingest"], "etl-x-20261207-230941")
    assert summary.flow_run == "etl-x-20261207-230941"


def test_warehouses_in_one_folder_keep_their_own_data_docs(tmp_path: Path) -> None:
    assert docs_dir(tmp_path / "taizhang.duckdb") == tmp_path / "taizhang.dq"
    assert docs_dir(tmp_path / "test.duckdb") != docs_dir(tmp_path / "taizhang.duckdb")


def test_failed_checks_are_split_into_critical_and_warning() -> None:
    summary = RunSummary.begin("/x", Path("/w/cc.duckdb"), ["ingest"])
    summary.count_checks(_dq((True, "critical"), (False, "warning"), (False, "warning")))
    assert (summary.checks_passed, summary.checks_failed) == (1, 2)
    assert (summary.checks_failed_critical, summary.checks_failed_warning) == (0, 2)
    line = _checks_line(vars(summary))
    assert line == "checks passed 1, failed 2 (critical 0, warning 2: nothing blocked)"
    summary.count_checks(_dq((False, "critical"), (False, "warning")))
    assert "critical 1, warning 1: the load was blocked" in _checks_line(vars(summary))
    summary.count_checks(_dq((True, "critical")))
    assert _checks_line(vars(summary)) == "checks passed 1, failed 0"


def test_the_summary_artifact_reads_as_sentences(monkeypatch: pytest.MonkeyPatch) -> None:
    tables: list[list[dict[str, object]]] = []
    monkeypatch.setattr(etl_module, "create_table_artifact", lambda table, **_: tables.append(table))
    monkeypatch.setattr(etl_module, "create_markdown_artifact", lambda **_: None)
    summary = RunSummary.begin("/x", Path("/w/cc.duckdb"), ["ingest"])
    summary.documents, summary.new, summary.unchanged, summary.loaded = 3, 1, 2, True
    dq = _dq((True, "critical"), (False, "warning"))
    summary.count_checks(dq)
    quarantine = pl.DataFrame(schema={"source_path": pl.String, "reason": pl.String})
    etl_module.publish.fn(summary, dq.with_columns(unexpected_count=pl.lit(1), sample=pl.lit("")), quarantine)
    rows = {r["figure"]: r["value"] for r in tables[0]}
    assert rows["documents loaded into the warehouse (new or changed)"] == 1
    assert rows["warehouse written"] == "yes"
    assert rows["checks failed, critical (these block the load)"] == 0
    assert rows["checks failed, warning (recorded; the load went ahead)"] == 1
    assert "loaded" not in rows and "checks failed" not in rows
