"""Behaviour of flows/quality/suites.py, with real GX, against a frozen copy of the first fct_metric suite.

The live suite (expectations/fct_metric.json) needs the validation-only columns that
flows/quality/checks.py prepares; tests/test_dq.py covers it. These tests pin the wrapper's behaviour on
a suite that does not change under them (tests/fixtures/quality/fct_metric.json).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from flows.quality.suites import CheckResult, suite_tables, validate_table

DOCUMENT = "2023年公司营业收入约12.5亿元，同比增长8.3%，员工超过1200人。"
PARAMETERS = {"allowed_units": ["亿元", "%", "人"], "allowed_kinds": ["money", "ratio", "count"]}
PROVENANCE = "expect_column_pair_values_to_be_equal(text, source_slice)"
SUITES = Path(__file__).parent / "fixtures" / "quality"


def _row(i: int, text: str, number: float, unit: str, kind: str, **overrides: object) -> dict:
    start = DOCUMENT.index(text)
    row = {
        "metric_id": f"m{i}",
        "document_id": "d1",
        "sentence_id": "d1-s1",
        "doc": "d1.txt",
        "start_char": start,
        "end_char": start + len(text),
        "text": text,
        "number": number,
        "unit": unit,
        "kind": kind,
        "approx": None,
        "change": None,
        "metric": None,
        "borderline": False,
        "unit_canonical": unit,
        "value_canonical": number,
        "as_of": dt.date(2023, 12, 31),
        "period": "FY2023",
        "as_of_source": "text",
    }
    row.update(overrides)
    return row


def _frame(*rows: dict) -> pl.DataFrame:
    """Build fct_metric rows plus source_slice, sliced from the document as the caller does."""
    rows = rows or (
        _row(1, "12.5亿元", 12.5, "亿元", "money", approx="about", metric="营业收入"),
        _row(2, "8.3%", 8.3, "%", "ratio", change="increase", metric="营业收入增速"),
        _row(3, "1200人", 1200.0, "人", "count", approx="more_than", metric="员工人数"),
    )
    frame = pl.DataFrame(list(rows))
    slices = [DOCUMENT[s:e] for s, e in zip(frame["start_char"], frame["end_char"], strict=True)]
    return frame.with_columns(source_slice=pl.Series(slices))


def _failures(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.expectation: r for r in results if not r.success}


def test_suite_tables_lists_fct_metric() -> None:
    assert "fct_metric" in suite_tables()


def test_clean_frame_passes_every_expectation_with_nullable_columns_null() -> None:
    results = validate_table("fct_metric", _frame(), PARAMETERS, SUITES)

    assert len(results) == 19
    assert _failures(results) == {}
    assert {r.severity for r in results} == {"critical", "warning"}


def test_shifted_offset_fails_provenance_as_critical_for_one_row() -> None:
    good = _frame()
    shifted = good.with_columns(
        start_char=pl.when(pl.col("metric_id") == "m2")
        .then(pl.col("start_char") + 1)
        .otherwise(pl.col("start_char")),
        end_char=pl.when(pl.col("metric_id") == "m2")
        .then(pl.col("end_char") + 1)
        .otherwise(pl.col("end_char")),
    )
    slices = [DOCUMENT[s:e] for s, e in zip(shifted["start_char"], shifted["end_char"], strict=True)]
    shifted = shifted.with_columns(source_slice=pl.Series(slices))

    failures = _failures(validate_table("fct_metric", shifted, PARAMETERS, SUITES))

    assert list(failures) == [PROVENANCE]
    provenance = failures[PROVENANCE]
    assert provenance.severity == "critical"
    assert provenance.unexpected_count == 1
    assert json.loads(provenance.sample or "[]") == [["8.3%", ".3%，"]]


def test_unit_outside_allowed_units_fails() -> None:
    parameters = {**PARAMETERS, "allowed_units": ["亿元", "%"]}

    failures = _failures(validate_table("fct_metric", _frame(), parameters, SUITES))

    assert list(failures) == ["expect_column_values_to_be_in_set(unit)"]
    assert json.loads(failures["expect_column_values_to_be_in_set(unit)"].sample or "[]") == ["人"]


def test_duplicated_metric_id_fails_uniqueness() -> None:
    frame = _frame().with_columns(metric_id=pl.Series(["m1", "m1", "m3"]))

    failures = _failures(validate_table("fct_metric", frame, PARAMETERS, SUITES))

    assert list(failures) == ["expect_column_values_to_be_unique(metric_id)"]
    assert failures["expect_column_values_to_be_unique(metric_id)"].unexpected_count == 2


def test_negative_number_fails_only_the_warning() -> None:
    frame = _frame(
        _row(1, "12.5亿元", -12.5, "亿元", "money", metric="净利润"),
        _row(2, "8.3%", 8.3, "%", "ratio", metric="增速"),
    )

    failures = _failures(validate_table("fct_metric", frame, PARAMETERS, SUITES))

    assert list(failures) == ["expect_column_values_to_be_between(number)"]
    assert failures["expect_column_values_to_be_between(number)"].severity == "warning"


def test_suite_with_unknown_expectation_type_is_refused(tmp_path: Path) -> None:
    # GX itself only logs and drops such an expectation, which would silently skip a check.
    suite = {
        "name": "fct_metric",
        "expectations": [{"type": "expect_column_values_to_be_nul", "kwargs": {"column": "x"}}],
    }
    (tmp_path / "fct_metric.json").write_text(json.dumps(suite), encoding="utf-8")

    with pytest.raises(ValueError, match="expect_column_values_to_be_nul"):
        validate_table("fct_metric", _frame(), PARAMETERS, suite_dir=tmp_path)


def test_memoized_configurations_give_gx_own_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from flows.quality import suites as quality

    bad = _frame().with_columns(
        unit=pl.when(pl.col("metric_id") == "m3").then(pl.lit("头")).otherwise(pl.col("unit")),
        number=pl.when(pl.col("metric_id") == "m1").then(-1.0).otherwise(pl.col("number")),
    )
    memoized = validate_table("fct_metric", bad, PARAMETERS, SUITES)
    monkeypatch.setattr(quality, "_memoized", contextlib.nullcontext)  # GX's own property each time
    plain = validate_table("fct_metric", bad, PARAMETERS, SUITES)

    assert memoized == plain
    # 头 is not among the allowed units (m3), and -1 is below zero (m1): one bad row each.
    assert {name: r.unexpected_count for name, r in _failures(plain).items()} == {
        "expect_column_values_to_be_in_set(unit)": 1,
        "expect_column_values_to_be_between(number)": 1,
    }
    assert quality._configurations is None  # nothing is kept once a validation is over
