"""Time that flows down a document: a figure whose sentence names no date takes its paragraph's,
then its section heading's, then the document's frame, then the publish date (issue 23)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from flows.warehouse.reference import load_reference
from flows.warehouse.tables import extract_documents
from tests.conftest import REPO_ROOT, TESTS_DIR, doc_frame
from transforms.temporal import text_time


def facts(text: str) -> dict[str, dict[str, object]]:
    """The figures of one document through the real pipeline, by their text."""
    out = extract_documents(doc_frame({"report.txt": text}))["fct_metric"]
    return {str(r["text"]): r for r in out.to_dicts()}


REPORT = """政府工作报告
发布日期：2026-01-27
一、2025年工作回顾
全省新建基站3万个。城乡居民收入增长5.1%。
截至2025年10月，累计建成充电桩12万个。其中公共充电桩4万个。
二、2026年工作安排
新增城镇就业110万人。
主要预期目标是：地区生产总值增长5%左右。
三、“十四五”时期成就
五年累计新增高标准农田800万亩。
"""


def test_a_figure_without_a_date_takes_its_section_headings_year() -> None:
    got = facts(REPORT)["3万个"]
    assert (got["as_of"], got["period"], got["as_of_source"]) == (dt.date(2025, 12, 31), "2025年", "section")


def test_a_figure_takes_the_date_stated_earlier_in_its_paragraph() -> None:
    got = facts(REPORT)["4万个"]
    assert (got["as_of"], got["as_of_source"]) == (dt.date(2025, 10, 31), "paragraph")


def test_a_date_in_the_figures_own_sentence_wins_over_its_section() -> None:
    got = facts(REPORT)["12万个"]
    assert (got["as_of"], got["as_of_source"]) == (dt.date(2025, 10, 31), "sentence")


def test_a_plan_period_heading_gives_its_five_years() -> None:
    got = facts(REPORT)["800万亩"]
    assert (got["as_of"], got["period"], got["as_of_source"]) == (
        dt.date(2025, 12, 31),
        "2021-2025年",
        "section",
    )


def test_figures_of_the_plan_for_the_reports_own_year_are_targets() -> None:
    got = facts(REPORT)
    assert got["110万人"]["value_type"] == "target"  # 2026年工作安排, after the publish date
    assert got["5%"]["value_type"] == "target"  # 主要预期目标
    assert got["3万个"]["value_type"] == "actual"
    assert got["5.1%"]["value_type"] == "actual"


def test_relative_frames_are_read_against_the_reports_year() -> None:
    text = "报告\n发布日期：2026-01-27\n过去一年，全省粮食产量达到720亿斤。今年，力争新增就业80万人。\n"
    got = facts(text)
    assert (got["720亿斤"]["as_of"], got["720亿斤"]["period"]) == (dt.date(2025, 12, 31), "2025年")
    assert (got["80万人"]["as_of"], got["80万人"]["value_type"]) == (dt.date(2026, 12, 31), "target")


def test_a_comparison_base_is_not_the_time_of_the_figure() -> None:
    text = "报告\n发布日期：2026-01-27\n一、2025年工作回顾\n生产安全事故起数比2020年下降35%。\n"
    got = facts(text)["35%"]
    assert (got["period"], got["as_of_source"]) == ("2025年", "section")


def test_each_figure_of_a_from_to_pair_takes_the_year_written_before_it() -> None:
    text = "报告\n发布日期：2026-01-27\n全省生产总值从2020年的2.15万亿元增长到2025年的2.87万亿元。\n"
    got = facts(text)
    assert got["2.15万亿元"]["as_of"] == dt.date(2020, 12, 31)
    assert got["2.87万亿元"]["as_of"] == dt.date(2025, 12, 31)


def test_years_written_in_chinese_digits_date_the_figures_after_them() -> None:
    text = "报告\n比重由一九四九年的百分之六十三点三下降为一九五二年的百分之三十九。\n"
    got = facts(text)
    assert got["百分之六十三点三"]["as_of"] == dt.date(1949, 12, 31)
    assert got["百分之三十九"]["as_of"] == dt.date(1952, 12, 31)


def test_without_any_time_the_publish_date_is_the_as_of() -> None:
    got = facts("通报\n发布日期：2022-08-04\n共发现问题12个。\n")["12个"]
    assert (got["as_of"], got["as_of_source"], got["value_type"]) == (
        dt.date(2022, 8, 4),
        "document",
        "actual",
    )


@pytest.mark.parametrize(
    ("text", "as_of", "period"),
    [
        ("一九五三年的工作", dt.date(1953, 12, 31), "1953年"),
        ("“十三五”时期主要成就", dt.date(2020, 12, 31), "2016-2020年"),
        ("给“十六五”留出空间，“十五五”时期目标", dt.date(2030, 12, 31), "2026-2030年"),
        ("过去五年工作回顾", dt.date(2025, 12, 31), "2021-2025年"),
        ("二、第一个五年计划概要", dt.date(1957, 12, 31), "1953-1957年"),
        ("一九五五年上半年", dt.date(1955, 6, 30), "1955年上半年"),
        ("比2020年增长", None, None),
    ],
)
def test_text_time_reads_years_plans_and_frames(text: str, as_of: dt.date | None, period: str | None) -> None:
    ref = load_reference()
    got = text_time(
        pl.DataFrame({"t": [text], "ry": [2026]}), "t", "ry", ref.time_frames, ref.plan_periods
    ).row(0, named=True)
    assert (got["t_as_of"], got["t_period"]) == (as_of, period)


HAND_CHECKED = TESTS_DIR / "fixtures" / "as_of"


def test_thirty_hand_checked_facts_of_three_work_reports_have_their_as_of() -> None:
    """30 facts of three work reports of 2026, 2008 and 1955, chosen evenly along each text (every
    n-th figure) and dated by reading them: review sections, plan sections and targets, from/to
    pairs, Chinese-numeral years (tests/fixtures/as_of/facts.csv)."""
    want = pl.read_csv(HAND_CHECKED / "facts.csv", schema_overrides={"as_of": pl.Date})
    texts = {p.name: p.read_text(encoding="utf-8") for p in HAND_CHECKED.glob("*.txt")}
    got = extract_documents(doc_frame(texts))["fct_metric"].select(
        pl.col("doc"), pl.col("start_char").alias("start"), pl.col("as_of").alias("got")
    )
    rows = want.join(got, on=["doc", "start"], how="left")
    assert rows.height == 30
    # Every hand-checked figure is found at its offset and dated (a null would pass != below).
    assert rows["got"].null_count() == 0, rows.filter(pl.col("got").is_null())
    wrong = rows.filter(pl.col("got") != pl.col("as_of")).select("doc", "start", "text", "as_of", "got")
    assert wrong.height == 0, wrong


def _dated_share(folder: Path) -> float:
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}
    facts_ = extract_documents(doc_frame(texts))["fct_metric"]
    dated = facts_.filter(pl.col("as_of").is_not_null() | pl.col("period").is_not_null())
    return dated.height / facts_.height


def test_nine_in_ten_figures_of_the_hand_read_work_reports_have_a_date() -> None:
    # A share of the extractor's figures on 1.5 MB of real reports: the date resolver's floor.
    assert _dated_share(TESTS_DIR / "fixtures" / "work_reports") >= 0.9


CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "work-reports"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the 96-report corpus lives in ../shared, beside the clone")
def test_nine_in_ten_figures_of_the_whole_work_report_corpus_have_a_date() -> None:
    assert _dated_share(CORPUS) >= 0.9
