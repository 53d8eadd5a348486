"""What a document is and when: title, issuing body, date, region and genre, and where each came from.

The rules read structures that reports share (a page header, the title block with its delivery
line, a signature, the opening of a speech), not any one document: each tiny text below is
written for one structure. The last test holds the warehouse to a table read by hand off 28
work reports of the corpus (``tests/fixtures/work_report_metadata.csv``; the texts are copied to
``tests/fixtures/work_reports/`` so that the test needs nothing beside the repository).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from flows.warehouse.ingest import read_folder
from flows.warehouse.ledger_reference import load_ledger_reference
from flows.warehouse.tables import extract_documents
from tests.conftest import TESTS_DIR, doc_frame, staged_documents
from transforms.dim_document import dim_document
from transforms.stg_documents import SOURCES

WORK_REPORTS = TESTS_DIR / "fixtures" / "work_reports"
HAND_READ = TESTS_DIR / "fixtures" / "work_report_metadata.csv"

NEWSPAPER_PAGE = (
    "下载\n打印\n【字号：\n加大\n减小\n】\n"
    "2025年某某省政府工作报告\n"
    "——2025年1月20日在湖北省第十五届人民代表大会第二次会议上\n"
    "来源：某某日报\n时间：2025-01-29\n"
    "省长 张三\n"
    "省长张三代表省人民政府向大会作政府工作报告。本报记者 李四 摄\n"
    "各位代表：\n"
    "现在，我代表省人民政府，向大会报告工作，请予审议。\n"
    "一、2024年工作回顾\n"
)


def _documents(texts: dict[str, str]) -> pl.DataFrame:
    """``dim_document`` rows, by file name, as the ledger builds them."""
    ref = load_ledger_reference()
    docs = doc_frame(texts)
    return dim_document(
        docs,
        staged_documents(docs),
        ref.regions,
        ref.region_suffixes,
        ref.genre_rules,
        ref.document_structure,
    )


def _one(text: str, file_name: str = "x.txt") -> dict[str, object]:
    return _documents({file_name: text}).row(0, named=True)


def test_a_photo_caption_a_byline_and_page_fields_are_never_the_title() -> None:
    d = _one(NEWSPAPER_PAGE)
    assert (d["title"], d["title_source"]) == ("2025年某某省政府工作报告", "title_line")


def test_a_title_may_name_a_reporter_in_passing() -> None:
    text = "新华社记者 王五 摄\n关于保障新闻记者正常采访活动的通知\n发布日期：2024-03-01\n正文。\n"
    assert _one(text)["title"] == "关于保障新闻记者正常采访活动的通知"


def test_the_delivery_line_dates_a_speech_before_the_page_that_reposted_it() -> None:
    d = _one(NEWSPAPER_PAGE)
    assert (d["publish_date"], d["publish_date_source"]) == (dt.date(2025, 1, 20), "title_line")
    assert (d["report_year"], d["report_year_source"]) == (2025, "title_line")


def test_a_newspaper_is_not_the_issuing_body_the_government_the_speaker_reports_for_is() -> None:
    d = _one(NEWSPAPER_PAGE)
    assert (d["publisher"], d["publisher_source"]) == ("湖北省人民政府", "body")
    assert (d["region_province"], d["region_source"]) == ("湖北省", "body")
    assert (d["genre"], d["genre_source"]) == ("work_report", "title_line")


def test_without_a_delivery_line_the_bare_government_of_the_opening_takes_the_titles_region() -> None:
    text = (
        "2025年成都市人民政府工作报告\n2025-01-12 10:30:00 来源：成都日报\n"
        "各位代表：\n现在，我代表市人民政府，向大会报告工作。\n"
    )
    d = _one(text)
    assert (d["publisher"], d["publish_date"], d["publish_date_source"]) == (
        "成都市人民政府",
        dt.date(2025, 1, 12),
        "header",
    )
    assert (d["region_province"], d["region_city"]) == ("四川省", "成都市")


def test_the_page_header_dates_a_page_whose_report_states_no_date() -> None:
    text = (
        "首页 > 要闻\n关于某项工作的报告\n时间：\n2025-02-09 09:45:30\n来源：\n某某区人民政府\n正文第一段。\n"
    )
    d = _one(text)
    assert (d["publish_date"], d["publish_date_source"]) == (dt.date(2025, 2, 9), "header")
    assert (d["publisher"], d["publisher_source"]) == ("某某区人民政府", "header")


def test_a_delivery_line_in_chinese_numerals_or_wrapped_over_two_lines_is_read() -> None:
    wrapped = "政府工作报告\n——2024年1月6日在甘肃省第十五届\n人民代表大会第一次会议上\n各位代表：\n正文。\n"
    numerals = "政府工作报告\n——二〇二四年一月二十六日在甘肃省十五届人民代表大会第一次会议上\n各位代表：\n"
    assert _one(wrapped)["publish_date"] == dt.date(2024, 1, 6)
    assert _one(numerals)["publish_date"] == dt.date(2024, 1, 26)


def test_a_delivery_line_after_the_title_on_its_line_or_in_brackets_is_read_and_not_title() -> None:
    one_line = "政府工作报告——2025年1月15日在上海市第十六届人民代表大会第三次会议上\n各位代表：\n"
    bracketed = (
        "2025年某某市政府工作报告\n（2025年1月8日在某某市第十七届人民代表大会第四次会议上）\n各位代表：\n"
    )
    first, second = _one(one_line), _one(bracketed)
    assert (first["title"], first["publish_date"]) == ("政府工作报告", dt.date(2025, 1, 15))
    assert first["region_province"] == "上海市"
    assert (second["title"], second["publish_date"]) == ("2025年某某市政府工作报告", dt.date(2025, 1, 8))


def test_a_title_the_page_wrapped_over_two_lines_is_joined() -> None:
    text = "\u200b\n政府工作报\n告\n——2024年3月5日在第十五届全国人民代表大会第一次会议上\n各位代表：\n"
    assert _one(text)["title"] == "政府工作报告"


def test_a_resolution_is_dated_by_its_adoption_line_and_issued_by_the_meeting() -> None:
    text = (
        "第十五届全国人民代表大会第一次会议关于政府工作报告的决议\n"
        "（2024年3月11日第十五届全国人民代表大会第一次会议通过）\n"
        "第十五届全国人民代表大会第一次会议听取和审议了国务院总理所作的政府工作报告。会议同意。\n"
    )
    d = _one(text)
    assert d["title"] == "第十五届全国人民代表大会第一次会议关于政府工作报告的决议"
    assert d["publish_date"] == dt.date(2024, 3, 11)
    assert d["publisher"] == "第十五届全国人民代表大会第一次会议"
    assert d["genre"] == "other"  # a resolution on a work report is not one


def test_a_sentence_split_by_a_link_line_is_not_a_title() -> None:
    text = (
        "第十五届全国人民代表大会第二次会议听取和审议了国务院总理所作的\n政府工作报告\n"
        "。会议充分肯定国务院过去一年的工作。\n"
    )
    d = _one(text)
    assert (d["title"], d["title_source"]) == (None, "none")
    assert (d["publish_date"], d["publish_date_source"]) == (None, "none")


def test_a_speech_without_a_title_line_is_a_work_report_by_its_opening_and_has_no_province() -> None:
    text = (
        "各位代表：\n"
        "现在，我代表国务院，向大会报告政府工作，请予审议。\n"
        "一、过去一年工作回顾\n台湾同胞。台湾问题。香港、澳门。台湾地区。\n"
    )
    d = _one(text, "speech_2025.txt")
    assert (d["title"], d["genre"], d["genre_source"]) == (None, "work_report", "body")
    assert d["publisher"] == "国务院"
    assert (d["region_province"], d["region_source"]) == (None, "none")
    assert (d["publish_date"], d["report_year"], d["report_year_source"]) == (None, 2025, "file")


def test_the_file_name_is_the_last_resort_for_title_region_and_genre() -> None:
    d = _one("各位代表：\n今年的工作很多。\n", "2025_湖南省_政府工作报告.txt")
    assert (d["title"], d["title_source"]) == ("2025 湖南省 政府工作报告", "file")
    assert (d["genre"], d["genre_source"]) == ("work_report", "file")
    assert (d["region_province"], d["region_source"]) == ("湖南省", "file")


@pytest.mark.parametrize(
    "title",
    [
        "国务院关于2024年度中央预算执行和其他财政收支的审计工作报告",
        "关于2024年度省级预算执行和其他财政收支审计查出问题整改情况的报告",
    ],
)
def test_audit_reports_and_their_rectification_reports_are_audit_reports(title: str) -> None:
    text = (
        f"{title}\n——2025年6月24日在某某会议上\n审计署审计长 王五\n"
        "委员长、各位副委员长、秘书长、各位委员：\n正文。\n"
    )
    assert _one(text)["genre"] == "audit_report"


def test_a_notice_takes_its_issuing_body_and_date_from_the_signature() -> None:
    text = (
        "某县关于巡察整改进展情况的通报\n\n根据部署，现将整改情况通报如下。\n\n"
        "中共某县委员会\n\n2024年9月1日 \u00a0\n\nkey=1&checkdate=1754/1/1 0:00:00\n"  # no-break space
    )
    d = _one(text)
    assert (d["publisher"], d["publisher_source"]) == ("中共某县委员会", "signature")
    assert (d["publish_date"], d["publish_date_source"]) == (dt.date(2024, 9, 1), "signature")


def test_every_field_says_where_it_came_from_and_none_only_when_it_is_null() -> None:
    d = _documents({"a.txt": NEWSPAPER_PAGE, "b.txt": "今天天气很好。\n", "2025_x.txt": "各位代表：\n"})
    for field in ("title", "publisher", "publish_date", "report_year", "region_province"):
        source = "region_source" if field == "region_province" else f"{field}_source"
        assert d[source].is_in(SOURCES).all()
        assert (d[field].is_null() == (d[source] == "none")).all(), field
    assert ((d["genre"] == "other") == (d["genre_source"] == "none")).all()


# --- the hand-read table --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hand_read() -> pl.DataFrame:
    return pl.read_csv(HAND_READ, infer_schema=False).with_columns(
        pl.col("publish_date").str.to_date(strict=False)
    )


@pytest.fixture(scope="module")
def extracted() -> pl.DataFrame:
    """dim_document of the copied work reports, through the flow's own extract step."""
    raw, quarantine = read_folder(WORK_REPORTS)
    assert quarantine.is_empty()
    return extract_documents(raw)["dim_document"]


def test_the_hand_read_table_covers_28_texts_provincial_and_national_all_copied(
    hand_read: pl.DataFrame,
) -> None:
    files = set(hand_read["file_name"])
    assert len(files) == hand_read.height == 28
    # 15 provincial reports of 2026 and 13 of the State Council's.
    assert (sum(f.startswith("2026_") for f in files), sum(f.startswith("gwr_") for f in files)) == (15, 13)
    assert files == {p.name for p in Path(WORK_REPORTS).iterdir()}
    assert hand_read["read_from"].is_not_null().all()


def test_the_warehouse_agrees_with_the_hand_read_table_on_95_percent_of_fields(
    hand_read: pl.DataFrame, extracted: pl.DataFrame
) -> None:
    got = extracted.select("file_name", "title", "publish_date", "genre")
    both = hand_read.join(got, on="file_name", how="left", suffix="_got")
    assert both.height == hand_read.height
    disagreements = [
        f"{row['file_name']}: {field} read {row[field]!r}, extracted {row[field + '_got']!r}"
        for row in both.iter_rows(named=True)
        for field in ("title", "publish_date", "genre")
        if row[field] != row[f"{field}_got"]
    ]
    fields = 3 * both.height
    agreement = 1 - len(disagreements) / fields
    print(f"agreement {agreement:.3f} on {fields} fields; disagreements:", *disagreements, sep="\n  ")
    # The metadata reader's quality on 28 real reports: a floor, not a fact of the texts.
    assert agreement >= 0.95, disagreements


def test_a_field_that_contradicts_its_source_fails_a_critical_check() -> None:
    from flows.quality import checks as dq
    from flows.quality.suites import validate_table

    ref = load_ledger_reference()
    raw = doc_frame({"a.txt": NEWSPAPER_PAGE, "b.txt": "今天天气很好。\n"})
    stg = staged_documents(raw)
    dim = dim_document(raw, stg, ref.regions, ref.region_suffixes, ref.genre_rules, ref.document_structure)
    broken = dim.with_columns(
        pl.when(pl.col("file_name") == "a.txt").then(None).otherwise(pl.col("title")).alias("title")
    )
    frames, parameters = dq.prepare({"raw_documents": raw, "stg_documents": stg, "dim_document": broken})
    results = validate_table("dim_document", frames["dim_document"], parameters)
    [check] = [r for r in results if r.expectation == "expect_column_values_to_be_null(unsourced_fields)"]
    assert (check.success, check.severity, check.unexpected_count) == (False, "critical", 1)
    assert "title" in str(check.sample)
    clean = validate_table("stg_documents", frames["stg_documents"], parameters)
    assert all(r.success for r in clean if "source" in r.expectation), clean
