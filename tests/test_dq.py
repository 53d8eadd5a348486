"""Data-quality gates on the seed tables, with real Great Expectations and no mocks.

Each test breaks one thing in a copy of the seed tables (built once for the module, without
Prefect) and checks that the expectation meant for it fails, with its severity, a count of
bad rows and a sample that names them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows.pipeline.etl import build_tables
from flows.quality import checks as dq
from flows.quality.suites import validate_table
from flows.warehouse.ingest import read_folder

SEEDS_RAW = Path(__file__).resolve().parents[1] / "seeds" / "raw"
SUITES = Path(__file__).resolve().parents[1] / "expectations"
PROVENANCE = "expect_column_pair_values_to_be_equal(text, source_slice)"


@pytest.fixture(scope="module")
def seed() -> dict[str, pl.DataFrame]:
    raw, _ = read_folder(SEEDS_RAW)
    return build_tables(raw)


@pytest.fixture(scope="module")
def clean(seed: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return dq.validate_all(seed, "clean")


def _change(frame: pl.DataFrame, key: str, value: str, **columns: object) -> pl.DataFrame:
    """``frame`` with ``columns`` (literals or expressions) set on the row whose ``key`` is ``value``."""
    hit = pl.col(key) == value
    return frame.with_columns(
        pl.when(hit).then(v if isinstance(v, pl.Expr) else pl.lit(v)).otherwise(pl.col(c)).alias(c)
        for c, v in columns.items()
    )


def _failure(results: pl.DataFrame, table: str, expectation: str) -> dict[str, object]:
    rows = results.filter((pl.col("table_name") == table) & (pl.col("expectation") == expectation))
    assert rows.height == 1, f"no single check {expectation} on {table}"
    row = rows.row(0, named=True)
    assert row["success"] is False, f"{table}: {expectation} passed"
    return row


def _critical_failures(results: pl.DataFrame) -> set[tuple[str, str]]:
    bad = results.filter(~pl.col("success") & (pl.col("severity") == "critical"))
    return set(bad.select("table_name", "expectation").iter_rows())


def _first_fact(seed: dict[str, pl.DataFrame], kind: str = "count") -> str:
    return seed["fct_metric"].filter(pl.col("kind") == kind)["metric_id"][0]


def test_clean_seed_run_passes_every_critical_check_of_every_table(clean: pl.DataFrame) -> None:
    assert dict(clean.schema) == dq.DQ_RESULT_SCHEMA
    assert set(clean["table_name"]) == set(dq.TABLES)
    # One result per expectation of each table's suite (expectations/<table>.json).
    suites = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in SUITES.glob("*.json")}
    per_table = dict(clean.group_by("table_name").len().iter_rows())
    assert per_table == {table: len(suite["expectations"]) for table, suite in suites.items()}
    assert _critical_failures(clean) == set()
    assert dq.critical_failures_message(clean) is None
    assert set(clean["severity"]) == {"critical", "warning"}


def test_shifted_offset_fails_provenance_as_critical_and_names_the_fact(
    seed: dict[str, pl.DataFrame],
) -> None:
    fact = _first_fact(seed)
    shifted = _change(seed["fct_metric"], "metric_id", fact, start_char=pl.col("start_char") + 1)

    results = dq.validate_all({**seed, "fct_metric": shifted}, "shifted")

    provenance = _failure(results, "fct_metric", PROVENANCE)
    assert provenance["severity"] == "critical"
    assert provenance["unexpected_count"] == 1
    [sample] = json.loads(str(provenance["sample"]))
    assert sample["metric_id"] == fact
    assert sample["text"] != sample["source_slice"]
    message = dq.critical_failures_message(results) or ""
    assert "fct_metric" in message and PROVENANCE in message and fact in message and "1 bad row" in message


def test_unit_missing_from_the_dictionary_fails_critical(seed: dict[str, pl.DataFrame]) -> None:
    fact = _first_fact(seed)
    broken = _change(seed["fct_metric"], "metric_id", fact, unit="光年")

    results = dq.validate_all({**seed, "fct_metric": broken}, "unit")

    unit = _failure(results, "fct_metric", "expect_column_values_to_be_in_set(unit)")
    assert unit["severity"] == "critical"
    assert json.loads(str(unit["sample"])) == [{"metric_id": fact, "unit": "光年"}]
    # Without a dictionary row there is no factor either, so value_canonical cannot be checked.
    assert (
        "fct_metric",
        "expect_column_pair_values_to_be_equal(value_canonical_rounded, value_canonical_expected)",
    ) in _critical_failures(results)


def test_duplicate_key_fails_uniqueness_as_critical(seed: dict[str, pl.DataFrame]) -> None:
    facts = seed["fct_metric"]
    duplicated = pl.concat([facts, facts.head(1)])

    results = dq.validate_all({**seed, "fct_metric": duplicated}, "duplicate")

    unique = _failure(results, "fct_metric", "expect_column_values_to_be_unique(metric_id)")
    assert unique["severity"] == "critical"
    assert unique["unexpected_count"] == 2
    assert _critical_failures(results) == {("fct_metric", "expect_column_values_to_be_unique(metric_id)")}


def test_orphan_fact_fails_the_document_foreign_key_as_critical(seed: dict[str, pl.DataFrame]) -> None:
    fact = _first_fact(seed)
    orphan = _change(seed["fct_metric"], "metric_id", fact, document_id="0000000000000000")

    results = dq.validate_all({**seed, "fct_metric": orphan}, "orphan")

    fk = _failure(
        results, "fct_metric", "expect_column_pair_values_to_be_equal(document_id, document_id_found)"
    )
    assert fk["severity"] == "critical"
    assert fk["unexpected_count"] == 1
    assert json.loads(str(fk["sample"])) == [
        {"metric_id": fact, "document_id": "0000000000000000", "document_id_found": None}
    ]


def test_negative_count_fails_the_critical_range_and_the_sign_warning(seed: dict[str, pl.DataFrame]) -> None:
    fact = _first_fact(seed, "count")
    negative = _change(
        seed["fct_metric"],
        "metric_id",
        fact,
        number=-pl.col("number"),
        value_canonical=-pl.col("value_canonical"),
    )

    results = dq.validate_all({**seed, "fct_metric": negative}, "negative")

    count = _failure(
        results, "fct_metric", 'expect_column_values_to_be_between(number) where kind == "count"'
    )
    assert count["severity"] == "critical"
    assert json.loads(str(count["sample"]))[0]["metric_id"] == fact
    assert (
        _failure(results, "fct_metric", "expect_column_values_to_be_between(number)")["severity"] == "warning"
    )
    assert _critical_failures(results) == {
        ("fct_metric", 'expect_column_values_to_be_between(number) where kind == "count"')
    }


def test_document_without_sentences_is_flagged_as_an_empty_extraction(seed: dict[str, pl.DataFrame]) -> None:
    document = seed["stg_documents"]["document_id"][0]
    sentences = seed["stg_sentences"].filter(pl.col("document_id") != document)

    results = dq.validate_all({**seed, "stg_sentences": sentences}, "empty-doc")

    empty = _failure(results, "stg_documents", "expect_column_values_to_be_between(sentence_count)")
    assert empty["severity"] == "critical"
    assert json.loads(str(empty["sample"])) == [{"document_id": document, "sentence_count": 0}]


def test_no_input_at_all_fails_only_the_row_count_warning(seed: dict[str, pl.DataFrame]) -> None:
    raw, _ = read_folder(SEEDS_RAW)
    results = dq.validate_all(build_tables(raw.head(0)), "no-input")

    failed = results.filter(~pl.col("success"))
    assert failed.select("table_name", "expectation", "severity").rows() == [
        ("stg_documents", "expect_table_row_count_to_be_between()", "warning")
    ]


def test_publish_date_after_tomorrow_fails_critical(seed: dict[str, pl.DataFrame]) -> None:
    frames, parameters = dq.prepare(seed, today=dt.date(2022, 8, 10))

    assert parameters["max_publish_date"] == dt.date(2022, 8, 11)
    assert parameters["min_date"] == dt.date(1949, 10, 1)
    # The seed report dated 2022-08-16 lies after that "today"; the suite must refuse it.
    results = validate_table("stg_documents", frames["stg_documents"], parameters)
    [dated] = [r for r in results if r.expectation == "expect_column_values_to_be_between(publish_date)"]
    assert (dated.success, dated.severity, dated.unexpected_count) == (False, "critical", 1)


def test_critical_failures_message_is_short_and_names_table_check_rows_and_samples() -> None:
    long_text = "很长的句子" * 40
    results = pl.DataFrame(
        [
            (
                "r",
                "stg_sentences",
                "provenance",
                "critical",
                False,
                None,
                3,
                json.dumps([{"text": long_text}] * 3),
            ),
            ("r", "fct_metric", "unit", "warning", False, None, 1, '["x"]'),
            ("r", "dim_unit", "rows", "critical", False, "0", None, None),
            ("r", "dim_unit", "key", "critical", True, None, 0, None),
        ],
        schema=dq.DQ_RESULT_SCHEMA,
        orient="row",
    )

    message = dq.critical_failures_message(results) or ""

    assert message.startswith("2 critical data-quality checks failed:")
    assert "- stg_sentences: provenance: 3 bad rows, e.g." in message
    assert "- dim_unit: rows: observed 0" in message
    assert "fct_metric" not in message  # a warning never stops the load
    assert long_text not in message and len(message) < 700


def test_dq_run_row_counts_checks_by_outcome_and_severity(clean: pl.DataFrame) -> None:
    broken = pl.concat(
        [
            clean.head(3).with_columns(
                success=pl.lit(False), severity=pl.Series(["critical", "warning", "warning"])
            ),
            clean.slice(3),
        ]
    )
    started = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    row = dq.dq_run_row(broken, "r1", started).row(0, named=True)

    assert row == {
        "run_id": "r1",
        "validated_at": dt.datetime(2026, 1, 2, 3, 4, 5),
        "tables": len(dq.TABLES),
        "checks": clean.height,
        "passed": clean.height - 3,
        "failed_critical": 1,
        "failed_warning": 2,
        "success": False,
    }


def test_data_docs_index_is_self_contained_escapes_html_and_keeps_every_run(
    seed: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    hostile = '<script>alert("x")</script>'
    first = dq.validate_all({"dim_unit": seed["dim_unit"]}, "docs-1")
    first = first.with_columns(
        success=pl.col("success") & (pl.int_range(pl.len()) != 0),
        sample=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(json.dumps([hostile]))).otherwise("sample"),
    )
    dq.build_data_docs(first, tmp_path, started_at=dt.datetime(2026, 1, 1, 0, 0, 0))
    second = dq.validate_all({"dim_unit": seed["dim_unit"]}, "docs-2")

    index = dq.build_data_docs(second, tmp_path, started_at=dt.datetime(2026, 1, 1, 0, 0, 1))

    page = index.read_text(encoding="utf-8")
    assert index == tmp_path / "index.html"
    assert "docs-1" in page and "docs-2" in page and "dim_unit" in page
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(" in page
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page.lower())
    # GX's own Data Docs are built beside it and linked relatively.
    gx_index = tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert gx_index.exists()
    assert 'href="gx/uncommitted/data_docs/local_site/index.html"' in page
    assert (tmp_path / "gx" / "uncommitted" / "validations" / "dim_unit" / "docs-1").is_dir()


def test_data_docs_keep_only_the_newest_runs(seed: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    for n in range(3):
        results = dq.validate_all({"dim_unit": seed["dim_unit"]}, f"keep-{n}")
        dq.build_data_docs(results, tmp_path, started_at=dt.datetime(2026, 1, 1, 0, 0, n), keep_runs=2)

    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "keep-1" in page and "keep-2" in page and "keep-0" not in page
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["keep-1.json", "keep-2.json"]
    assert not (tmp_path / "gx" / "uncommitted" / "validations" / "dim_unit" / "keep-0").exists()


def test_validate_warehouse_rechecks_a_loaded_warehouse_and_sees_a_corrupted_offset(
    seed: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    from flows.warehouse import store as warehouse

    path = tmp_path / "w.duckdb"
    warehouse.load(path, seed, {})

    assert _critical_failures(dq.validate_warehouse(path)) == set()

    con = duckdb.connect(str(path))
    con.execute(
        "UPDATE stg_sentences SET end_char = end_char - 1"
        " WHERE sentence_id = (SELECT min(sentence_id) FROM stg_sentences)"
    )
    con.close()
    results = dq.validate_warehouse(path, run_id="recheck")

    assert set(results["run_id"]) == {"recheck"}
    assert ("stg_sentences", PROVENANCE) in _critical_failures(results)


def test_suite_with_two_checks_of_the_same_label_is_refused(tmp_path: Path) -> None:
    # dq_result rows are told apart by their label; a second, identical one would be ambiguous.
    check = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "unit"}}
    suite = {"name": "dim_unit", "expectations": [check, check]}
    (tmp_path / "dim_unit.json").write_text(json.dumps(suite), encoding="utf-8")

    with pytest.raises(ValueError, match="same label"):
        validate_table("dim_unit", pl.DataFrame({"unit": ["个"]}), {}, suite_dir=tmp_path)


def test_projected_domains_give_gx_own_results_on_every_suite(
    seed: dict[str, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX filters only the columns a check reads (``quality._project_domains``): the results are GX's own."""
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine

    facts = seed["fct_metric"]
    count, money = _first_fact(seed, "count"), _first_fact(seed, "money")
    negative = {"number": -pl.col("number"), "value_canonical": -pl.col("value_canonical")}
    broken = _change(facts, "metric_id", count, **negative)
    broken = _change(broken, "metric_id", money, start_char=pl.col("start_char") + 1, unit=None)
    sentences = seed["stg_sentences"]
    duplicated = pl.concat([sentences, sentences.head(2)])
    tables = {**seed, "fct_metric": broken, "stg_sentences": duplicated}

    projected = dq.validate_all(tables, "projected", with_counts=True)
    patched = PandasExecutionEngine.get_domain_records
    assert getattr(patched, "_taizhang_projected", False)
    monkeypatch.setattr(PandasExecutionEngine, "get_domain_records", patched.original)
    plain = dq.validate_all(tables, "projected", with_counts=True)

    assert projected.equals(plain)
    failed = plain.filter(~pl.col("success")).select("table_name", "expectation", "unexpected_count")
    assert sorted(failed.iter_rows()) == sorted(
        [
            # Two sentences twice: each of the four rows shares its keys with another.
            ("stg_sentences", "expect_column_values_to_be_unique(sentence_id)", 4),
            (
                "stg_sentences",
                "expect_compound_columns_to_be_unique(document_id, paragraph_index, sentence_index)",
                4,
            ),
            # The count made negative: below zero, and below zero as a count.
            ("fct_metric", "expect_column_values_to_be_between(number)", 1),
            ("fct_metric", 'expect_column_values_to_be_between(number) where kind == "count"', 1),
            # The money fact shifted by one character and without its unit: its text no longer
            # slices back, its id no longer names its offsets, and no dictionary row gives its
            # canonical unit, kind or value.
            ("fct_metric", PROVENANCE, 1),
            ("fct_metric", "expect_column_pair_values_to_be_equal(metric_id, expected_metric_id)", 1),
            ("fct_metric", "expect_column_values_to_not_be_null(unit)", 1),
            ("fct_metric", "expect_column_pair_values_to_be_equal(unit_canonical, dict_canonical)", 1),
            ("fct_metric", "expect_column_pair_values_to_be_equal(kind, dict_kind)", 1),
            (
                "fct_metric",
                "expect_column_pair_values_to_be_equal(value_canonical_rounded, value_canonical_expected)",
                1,
            ),
        ]
    )
