"""The ledger on the five seed texts: documents, items, measures, sections, organisations.

The item and measure checks do not restate the transforms' rules: they scan the raw
lines of the two rectification reports in plain Python (a line that opens with 针对,
a numbered 关于“…”问题 heading, a clause that opens with 一是/二是…) and require the
ledger to have exactly those rows, so a rule that silently drops a paragraph fails here.

``COUNTED_SQL`` and ``REPORTED_SQL`` are the queries that set what the ledger found
beside what each report says about itself (针对36个具体问题，制定整改措施182条…);
``test_counts_can_be_compared_with_each_reports_own_summary`` pins both sides.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import polars as pl
import pytest

from flows.warehouse.ingest import read_folder
from flows.warehouse.ledger_reference import load_ledger_reference
from tests.conftest import SEEDS_RAW, staged_documents
from transforms.ledger import build_ledger
from transforms.stg_sentences import stg_sentences

REPORTS = ("003_59a226dc23570f64.txt", "004_9a9d1e4e8ebcd03f.txt")
_ENUMERATOR = re.compile(r"(?:^|[。；;\n])[ \t\u3000]*([一二三四五六七八九十]{1,3}是)")
_MARKER = re.compile(r"^(?:\d{1,2}[.．、]|[（(][一二三四五六七八九十]{1,3}[)）])")

COUNTED_SQL = """
select d.file_name, i.category,
       count(distinct i.item_id) as items,
       count(m.measure_id) as measures,
       count(m.measure_id) filter (where m.status in ('已完成', '已整改到位')) as measures_done,
       coalesce(sum(m.metric_count), 0) as figures
from fct_rectification_item i
join dim_document d using (document_id)
left join fct_measure m using (item_id)
where i.item_kind = 'problem'
group by all
order by all
"""

REPORTED_SQL = r"""
with patterns(category, item_re, measure_re) as (values
    ('具体问题', '(\d+)个具体问题', '具体问题[，,]制定整改措施(\d+)条'),
    ('举一反三', '“举一反三”整改事项(\d+)个', '“举一反三”整改事项\d+个[，,]制定整改措施(\d+)条'),
    ('推动改革促进发展', '“推[动进]改革促进发展”整改事项(\d+)个',
     '“推[动进]改革促进发展”整改事项\d+个[，,]制定整改措施(\d+)条'),
    ('合计', '(\d+)项整改任务', '制定(\d+)条整改措施')
)
select d.file_name, p.category,
       max(try_cast(nullif(regexp_extract(s.text, p.item_re, 1), '') as integer)) as reported_items,
       max(try_cast(nullif(regexp_extract(s.text, p.measure_re, 1), '') as integer)) as reported_measures
from stg_sentences s
join dim_document d using (document_id)
cross join patterns p
where not s.is_boilerplate and d.genre = 'rectification_report'
group by all
order by all
"""


@pytest.fixture(scope="module")
def seeds() -> dict[str, pl.DataFrame]:
    raw, quarantine = read_folder(SEEDS_RAW)
    assert quarantine.is_empty()
    ledger = build_ledger(raw, staged_documents(raw), stg_sentences(raw), load_ledger_reference())
    ledger["raw"] = raw
    return ledger


def _doc(seeds: dict[str, pl.DataFrame], file_name: str) -> tuple[str, str]:
    row = seeds["raw"].filter(pl.col("file_name") == file_name).row(0, named=True)
    return row["document_id"], row["text"]


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, stripped line) of every non-empty line."""
    out, pos = [], 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            out.append((pos + line.index(stripped[0]), stripped))
        pos += len(line) + 1
    return out


# --- dim_document -----------------------------------------------------------------------------


EXPECTED_DOCUMENTS = {
    "000_b61bd1e1bea2ac28.txt": (
        "全市各级纪检监察机关监督护航重大国家战略",
        None,
        None,
        ("天津市", "天津市", None),
        "discipline_feature",
    ),
    "001_fa351d63da40e074.txt": (
        "以“善督善促”夯实“大城之治”",
        None,
        None,
        ("天津市", "天津市", None),
        "discipline_feature",
    ),
    "002_91699af62f33a314.txt": (
        "强化监督保障 守护绿水青山",
        None,
        None,
        ("天津市", "天津市", None),
        "discipline_feature",
    ),
    "003_59a226dc23570f64.txt": (
        "滨海新区关于十一届市委第九轮巡视整改进展情况的通报",
        "中共天津市滨海新区委员会",
        dt.date(2022, 8, 4),
        ("天津市", "天津市", "滨海新区"),
        "rectification_report",
    ),
    "004_9a9d1e4e8ebcd03f.txt": (
        "中共廊坊市委关于省委巡视“回头看”整改进展情况的通报",
        "中共廊坊市委",
        dt.date(2022, 8, 16),
        ("河北省", "廊坊市", None),
        "rectification_report",
    ),
}


def test_dim_document_is_right_for_all_five_seeds(seeds) -> None:
    docs = seeds["dim_document"]
    assert docs.height == 5
    for row in docs.iter_rows(named=True):
        title, publisher, date, region, genre = EXPECTED_DOCUMENTS[row["file_name"]]
        assert row["title"] == title
        assert row["publisher"] == publisher
        assert row["publish_date"] == date
        assert (row["region_province"], row["region_city"], row["region_district"]) == region, row[
            "file_name"
        ]
        assert row["genre"] == genre
        assert row["content_sha256"].startswith(row["document_id"])
        assert row["char_count"] == len(
            seeds["raw"].filter(pl.col("document_id") == row["document_id"])["text"][0]
        )


# --- fct_rectification_item -------------------------------------------------------------------


def test_every_zhendui_paragraph_of_the_bh_report_is_an_item_with_its_category(seeds) -> None:
    doc_id, text = _doc(seeds, REPORTS[0])
    expected, top = {}, ""
    for offset, line in _lines(text):
        if re.match(r"^[一二三四五六七八九十]+、", line):
            top = line
        body = _MARKER.sub("", line)
        if not body.startswith("针对"):
            continue
        if body.startswith("针对“举一反三”"):
            category = "举一反三"
        elif re.match(r"针对“推[动进]改革促进发展”", body):
            category = "推动改革促进发展"
        else:
            category = "专题报告" if "专题报告" in top else "具体问题"
        expected[offset] = category
    items = seeds["fct_rectification_item"].filter(
        (pl.col("document_id") == doc_id) & pl.col("lead_form").str.starts_with("guanyu").not_()
    )
    assert dict(zip(items["start_char"], items["category"], strict=True)) == expected
    assert len(expected) == 32 + 59 + 49


def test_every_guanyu_heading_of_the_bh_report_groups_the_items_under_it(seeds) -> None:
    doc_id, text = _doc(seeds, REPORTS[0])
    headings = {
        o for o, line in _lines(text) if re.match(r"^[（(][一二三四五六七八九十]+[)）]关于.*问题$", line)
    }
    items = seeds["fct_rectification_item"].filter(pl.col("document_id") == doc_id)
    groups = items.filter(pl.col("item_kind") == "problem_group")
    assert set(groups["start_char"]) == headings
    assert len(headings) == 13 + 4
    # Every other item sits under one of them.
    assert items.filter(pl.col("item_kind") == "problem")["parent_item_id"].null_count() == 0


def test_every_numbered_problem_of_the_lf_report_is_an_item(seeds) -> None:
    doc_id, text = _doc(seeds, REPORTS[1])
    numbered = {o: line for o, line in _lines(text) if re.match(r"^\d{1,2}\.关于“", line)}
    sub_problems = {o for o, line in _lines(text) if re.match(r"^关于.{0,12}“[^”]*”问题。", line)}
    inline = {text.index(m.group(0)) + 1 for m in re.finditer(r"。关于“[^”]*”问题。", text)}
    items = seeds["fct_rectification_item"].filter(pl.col("document_id") == doc_id)
    assert len(numbered) == 18
    assert set(items["start_char"]) == set(numbered) | sub_problems | inline
    assert items["category"].unique().to_list() == ["具体问题"]
    # The problem is the quoted text, even where it holds a full stop of its own.
    first = items.row(0, named=True)
    assert first["problem_text"].startswith("个别问题整改成效不明显。巡视指出‘市第六中学存在大班额’问题")
    assert text[first["problem_start_char"] : first["problem_end_char"]] == first["problem_text"]
    group = items.filter(pl.col("item_kind") == "problem_group")
    assert group["text"].to_list()[0].startswith("17.关于“推动京津冀协同发展重点工作力度还不够")
    assert items.filter(pl.col("parent_item_id") == group["item_id"][0]).height == len(sub_problems) + len(
        inline
    )


# --- fct_measure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "first", "last"), [(REPORTS[0], "二、", "四、"), (REPORTS[1], "三、", "四、")]
)
def test_every_enumerated_clause_is_a_measure_under_its_item(seeds, file_name, first, last) -> None:
    doc_id, text = _doc(seeds, file_name)
    start = next(o for o, line in _lines(text) if line.startswith(first))
    end = next(o for o, line in _lines(text) if line.startswith(last) and o > start)
    clauses = {start + m.start(1) for m in _ENUMERATOR.finditer(text[start:end])}
    measures = seeds["fct_measure"].filter(pl.col("document_id") == doc_id)
    assert set(measures.filter(pl.col("enumerated"))["start_char"]) == clauses
    items = seeds["fct_rectification_item"].select("item_id", "end_char", "scope_end_char")
    inside = measures.join(items, on="item_id")
    assert inside.height == measures.height
    assert inside.filter(
        (pl.col("start_char") < pl.col("end_char_right")) | (pl.col("end_char") > pl.col("scope_end_char"))
    ).is_empty()
    for row in measures.iter_rows(named=True):
        assert text[row["start_char"] : row["end_char"]] == row["text"]
    # Ordinals run 1, 2, 3… within each item.
    runs = measures.group_by("item_id").agg(pl.col("ordinal").sort())
    assert all(r == list(range(1, len(r) + 1)) for r in runs["ordinal"].to_list())


def test_measures_carry_headlines_and_the_items_without_enumeration_their_paragraph(seeds) -> None:
    doc_id, _ = _doc(seeds, REPORTS[0])
    items = seeds["fct_rectification_item"].filter(pl.col("document_id") == doc_id)
    measures = seeds["fct_measure"].join(items.select("item_id", "problem_text", "category"), on="item_id")
    first = measures.filter(pl.col("problem_text") == "承接北京非首都功能疏解方面问题")
    assert first["headline"].to_list() == [
        "深刻领悟新形势新要求",
        "创新思路推进京津冀协同发展",
        "持续加力完善产业链条",
    ]
    plain = measures.filter(pl.col("problem_text") == "招商产业类型不丰富,赴北京招商推介活动较少")
    assert plain.select("ordinal", "enumerated").rows() == [(1, False)]
    assert plain["text"][0].startswith("聚焦构建“1+3+4”产业体系")
    assert plain["text"][0].endswith("开展推介活动10余次。")
    # Every item that is not a group has at least one measure.
    leaves = items.filter(pl.col("item_kind") == "problem")
    assert leaves.join(measures, on="item_id", how="anti").is_empty()


def test_status_is_the_least_advanced_progress_a_measure_states(seeds) -> None:
    doc_id, _ = _doc(seeds, REPORTS[0])
    measures = seeds["fct_measure"].filter(pl.col("document_id") == doc_id)
    mixed = measures.filter(pl.col("text").str.contains("6个问题中2个已完成"))
    assert mixed["status"].to_list() == ["正在推进"]
    statuses = set(seeds["fct_measure"]["status"].drop_nulls())
    assert statuses <= {"已完成", "基本完成", "正在推进", "已整改到位", "持续推进"}


def test_counts_can_be_compared_with_each_reports_own_summary(seeds) -> None:
    con = duckdb.connect()
    for name in ("dim_document", "stg_sentences", "fct_rectification_item", "fct_measure"):
        con.register(name, seeds[name].to_arrow())
    counted = pl.from_arrow(con.sql(COUNTED_SQL).to_arrow_table())
    reported = pl.from_arrow(con.sql(REPORTED_SQL).to_arrow_table())
    got = {
        (r["file_name"][:3], r["category"]): (r["items"], r["measures"])
        for r in counted.iter_rows(named=True)
    }
    assert got == {
        ("003", "专题报告"): (5, 17),
        ("003", "举一反三"): (59, 66),
        ("003", "具体问题"): (27, 70),
        ("003", "推动改革促进发展"): (49, 57),
        ("004", "具体问题"): (23, 79),
    }
    said = {
        (r["file_name"][:3], r["category"]): (r["reported_items"], r["reported_measures"])
        for r in reported.iter_rows(named=True)
    }
    assert said[("003", "具体问题")] == (36, 182)
    assert said[("003", "举一反三")] == (74, 86)
    assert said[("003", "推动改革促进发展")] == (54, 60)
    assert said[("003", "合计")] == (None, 328)
    assert said[("004", "合计")] == (29, None)


# --- dim_section, organisations, supervision --------------------------------------------------


def test_every_report_sentence_after_the_first_heading_has_a_section(seeds) -> None:
    sentences = seeds["stg_sentences"].filter(~pl.col("is_boilerplate"))
    for file_name in REPORTS:
        doc_id, _ = _doc(seeds, file_name)
        rows = sentences.filter(pl.col("document_id") == doc_id).sort("start_char")
        first = rows["section_id"].is_not_null().arg_true()[0]
        assert rows["section_id"][int(first) :].null_count() == 0
    doc_id, _ = _doc(seeds, REPORTS[1])
    paths = seeds["dim_section"].filter(pl.col("document_id") == doc_id)["path"].to_list()
    assert "三/（四）/17" in paths
    assert paths[:2] == ["一", "一/（一）"]


def test_organisations_of_the_features_are_normalised(seeds) -> None:
    orgs = seeds["dim_org_unit"]
    table = {r["name"]: (r["type"], r["level"]) for r in orgs.iter_rows(named=True)}
    assert table["天津市纪委监委驻天津市科技局纪检监察组"] == ("派驻纪检监察组", "市")
    assert table["武清区纪委监委"] == ("纪委监委", "区县")
    assert table["滨海新区委"] == ("党委", "区县")
    assert table["滨海新区委组织部"] == ("党委部门", "区县")
    assert table["廊坊市委"] == ("党委", "市")
    assert table["廊坊市委组织部"] == ("党委部门", "市")
    assert table["廊坊市教育局"] == ("政府部门", "市")
    assert table["天津港集团"] == ("国企", "other")
    assert table["天津瑞科自动化有限公司"] == ("企业", "other")
    bridge = seeds["bridge_sentence_org"]
    texts = dict(zip(seeds["raw"]["document_id"], seeds["raw"]["text"], strict=True))
    for row in bridge.iter_rows(named=True):
        assert texts[row["document_id"]][row["start_char"] : row["end_char"]] == row["mention_text"]
    # The short and the full form of a 派驻组 are one body.
    kejiju = orgs.filter(pl.col("name") == "天津市纪委监委驻天津市科技局纪检监察组")["org_id"][0]
    written = bridge.filter(pl.col("org_id") == kejiju)["mention_text"].unique().sort().to_list()
    assert written == ["市纪委监委驻市科技局纪检监察组", "驻市科技局纪检监察组"]


def test_supervision_activities_of_the_features(seeds) -> None:
    acts = seeds["fct_supervision_activity"]
    assert set(acts["document_id"]) <= set(
        seeds["dim_document"].filter(pl.col("genre") == "discipline_feature")["document_id"]
    )
    rows = acts.select("supervisor_name", "action", "target_text").rows()
    assert ("武清区纪委监委", "调研监督", "西诺通科(北京)生物科技有限公司") in rows
    assert ("蓟州区纪委监委", "监督检查", "于桥水库水源地保护区") in rows
    assert ("天津市纪委监委驻天津市科技局纪检监察组", "调研监督", "天津医学健康研究院") in rows
