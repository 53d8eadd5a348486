"""Page furniture goes line by line, prose stays, offsets follow; PDF numbers and lines are rejoined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.warehouse.normalise import (
    furniture_spans,
    join_layout_splits,
    load_furniture,
    reflow_lines,
    remove_furniture,
    shift_offset,
)
from tests.conftest import GOLD_DEV, REPO_ROOT, SEEDS_RAW

CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "work-reports"
TOOLS_IN_ORDER = ["下载", "打印", "全屏", "收藏"]
TOOLS = set(TOOLS_IN_ORDER)

# The head and tail of a provincial report as the scraper saved it: one control per line.
SCRAPED = """下载
打印
全屏
收藏
【字号：
加大
还原
减小
】
某省政府工作报告
来源：某省日报
时间：2024-01-30
各位代表：
全年地区生产总值增长5.2%，完成投资120亿元。
相关报道：
"""


def test_the_scraped_controls_are_removed_and_counted() -> None:
    text, removed, lines = remove_furniture(SCRAPED)
    assert text == SCRAPED[SCRAPED.index("某省") : SCRAPED.index("相关报道")]
    assert removed == 10
    assert lines.split("\n") == [*TOOLS_IN_ORDER, "【字号：", "加大", "还原", "减小", "】", "相关报道："]


def test_prose_that_names_a_page_tool_stays() -> None:
    prose = "推动3D打印产业发展，应用下载量增长30%。\n打印\n收藏\n全年新增就业3.6万人。\n"
    # 打印 and 收藏 alone on a line are tools only beside other furniture: here they are not.
    assert remove_furniture(prose) == (prose, 0, "")


def test_a_line_with_sentence_punctuation_is_never_furniture() -> None:
    prose = "当前位置：我省经济运行总体平稳，地区生产总值增长5%。\n联系电话：12345热线全年受理诉求300万件。\n"
    assert remove_furniture(prose)[1] == 0


def test_a_breadcrumb_split_one_link_per_line_goes_with_its_crumbs() -> None:
    text = "当前位置：\n首页\n>\n政务信息\n>\n要闻\n2024年某自治区政府工作报告\n各位代表：\n"
    clean, removed, _ = remove_furniture(text)
    assert clean == "2024年某自治区政府工作报告\n各位代表：\n"
    assert removed == 6


def test_the_one_line_controls_of_a_web_page_and_its_footer_go() -> None:
    text = "\n".join(
        [
            "当前位置：首页 > 政务公开",
            "> 政府工作报告",
            "【字号：大 中 小】 打印本页 关闭窗口",
            "下载 打印 全屏 收藏",
            "各位代表：",
            "我们制定32条措施支持民营经济发展。",
            "【打印本页】",
            "分享到：微信 微博",
            "  • 扫一扫在手机打开当前页",
            "主办单位：某市人民政府办公室 承办单位：某市大数据中心",
            "网站标识码：1234000001 某ICP备12345678号",
            "联系电话：0000-12345678",
        ]
    )
    clean, removed, _ = remove_furniture(text)
    assert clean == "各位代表：\n我们制定32条措施支持民营经济发展。"
    assert removed == 10


def test_blank_lines_inside_a_block_of_furniture_go_with_it_and_others_stay() -> None:
    text = "正文第一段。\n\n收藏\n\n\n分享到:\n分享到微信\n×\n\n正文第二段。\n"
    clean, removed, _ = remove_furniture(text)
    assert clean == "正文第一段。\n\n\n正文第二段。\n"
    assert removed == 4


def test_a_pdf_page_number_goes_and_a_fraction_in_a_table_stays() -> None:
    text = "全年新增就业3.6万人。\n- 3 -\n第3页 共10页\n城镇化率提高。\n占比\n3/10\n"
    clean, removed, lines = remove_furniture(text)
    assert clean == "全年新增就业3.6万人。\n城镇化率提高。\n占比\n3/10\n"
    assert (removed, lines) == (2, "- 3 -\n第3页 共10页")


def test_a_malformed_furniture_row_is_refused_when_loaded(tmp_path: Path) -> None:
    bad = tmp_path / "furniture.csv"
    bad.write_text("pattern,kind,match,scope,why\n下载,page_tools,exact,everywhere,typo\n", encoding="utf-8")
    with pytest.raises(ValueError, match="scope"):
        load_furniture(bad)
    header = "pattern,kind,match,scope,why\n"
    bad.write_text(header + "[unclosed,page_tools,regex,anywhere,typo\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad regex"):
        load_furniture(bad)


@pytest.mark.parametrize(
    ("split", "joined"),
    [
        ("出口1 6 5 5 亿美元", "出口1655亿美元"),  # letter-spaced digits, and the space before the unit
        ("增长１２．５％", "增长12.5%"),  # full-width digits, point and percent
        ("完成投资120\n亿元", "完成投资120亿元"),  # a line break between a number and its unit
        ("收入增长1\n2.5%，", "收入增长12.5%，"),  # a line break inside a number
        ("增长5.2 %", "增长5.2%"),
        ("截至2023 年底", "截至2023年底"),
    ],
)
def test_numbers_split_by_the_layout_are_joined(split: str, joined: str) -> None:
    text, joins = join_layout_splits(split)
    assert text == joined and joins >= 1
    assert join_layout_splits(text) == (text, 0)  # idempotent


@pytest.mark.parametrize(
    "apart",
    [
        "2023 2024",  # a list of years
        "2023年 12个",  # a year, then a count
        "2023 12个",  # the same without its 年
        "第1 2",  # an ordinal, then another number
        "第1 2 3名",
        "1. 5G网络",  # a list item about 5G
        "各位代表：\n2.加快发展",  # a list marker on the next line
        "12\n个人所得税",  # a page number above a line
        "年份 2023\n2024 增长",  # table columns
        "合计 5 3 2",  # a table row: no unit follows
    ],
)
def test_separate_numbers_are_not_joined(apart: str) -> None:
    assert join_layout_splits(apart) == (apart, 0)


def test_full_lines_that_do_not_end_a_sentence_are_joined_to_the_next() -> None:
    page = "\n".join(
        [
            "一、工作回顾",
            "过去一年，全市地区生产总值增长5.2%，经济运行稳中向好，全年完成固定",
            "资产投资120亿元，产业投资占比提高，我们制定32条措施支持民营经济发",
            "展，新增经营主体1.8万户。",
            "（一）稳增长",
            "城镇新增就业3.6万人。",
        ]
    )
    text, joins = reflow_lines(page)
    assert joins == 2
    assert text.splitlines()[1].endswith("发展，新增经营主体1.8万户。")
    assert text.splitlines()[2:] == ["（一）稳增长", "城镇新增就业3.6万人。"]


def test_headings_items_and_table_rows_are_not_reflowed() -> None:
    table = "\n".join(
        [
            "指标 2022年 2023年 2024年 增速",
            "地区生产总值 5.2 6.1 5.0 较快增长",
            "一般公共预算收入 3.1 2.0 4.4 稳定增长",
        ]
    )
    assert reflow_lines(table) == (table, 0)
    items = "\n".join(
        [
            "我们将重点抓好以下几个方面的工作，推动经济持续回升向好，努力完成全年目标",
            "一、扩大内需",
            "二、稳定就业",
        ]
    )
    assert reflow_lines(items) == (items, 0)
    assert reflow_lines("短\n两行") == ("短\n两行", 0)  # too few lines to know the column's width


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")


_SPLIT_ALPHABET = [*"0123456789 \n\t.%亿元年个第增长，。a、)-", "１", "２", "．", "％", "\u3000"]


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(_SPLIT_ALPHABET)))
def test_joining_only_drops_white_space_and_narrows_full_width_and_is_done_in_one_pass(text: str) -> None:
    joined, joins = join_layout_splits(text)

    def key(t: str) -> str:
        return "".join(t.translate(_FULL_WIDTH).split())

    assert key(joined) == key(text)
    assert (joins == 0) == (joined == text)
    assert join_layout_splits(joined) == (joined, 0)


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of work reports is not here")
def test_no_page_tool_or_font_size_control_is_left_in_the_work_report_corpus() -> None:
    """Read as a run reads the folder, no sentence of the stored texts is a page control."""
    from flows.warehouse.ingest import read_folder
    from transforms.stg_sentences import stg_sentences

    raw, _ = read_folder(CORPUS)
    assert raw.height == len(list(CORPUS.glob("*.txt")))
    assert raw["furniture_lines"].sum() > 0
    for name, text in raw.select("file_name", "text").iter_rows():
        assert remove_furniture(text)[1] == 0, name  # nothing left that the rules would cut
    sentences = stg_sentences(raw.unique("document_id"))
    for sentence in sentences["text"]:
        stripped = sentence.strip()
        assert stripped not in TOOLS, stripped
        assert not stripped.startswith(("【字号", "【字体", "字号：", "字体：")), stripped
    for name, removed in raw.select("file_name", "furniture_text").iter_rows():
        for line in (removed or "").split("\n"):  # nothing removed reads as prose
            assert "。" not in line and len(line) < 40, (name, line)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, previous = [], 0
    for start, end in spans:
        pieces.append(text[previous:start])
        previous = end
    return "".join(pieces) + text[previous:]


_LINES = ["下载", "打印", "【字号：", "加大", "】", ">", "首页", "政务信息", "", "各位代表：", "增长5.2%。"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_LINES), max_size=12), st.booleans())
def test_the_cut_spans_give_the_clean_text_and_offsets_follow_them(lines: list[str], newline: bool) -> None:
    text = "\n".join(lines) + ("\n" if newline else "")
    clean = remove_furniture(text)[0]
    spans = furniture_spans(text)
    assert _cut(text, spans) == clean
    for offset, char in enumerate(text):
        if not any(start <= offset < end for start, end in spans):
            assert clean[shift_offset(offset, spans)] == char


def test_a_gold_span_of_a_seed_saved_with_its_furniture_still_slices_after_the_cut() -> None:
    name = "003_59a226dc23570f64.txt"
    text = (SEEDS_RAW / name).read_text(encoding="utf-8")
    clean, removed, _ = remove_furniture(text)
    spans = furniture_spans(text)
    assert removed == 3 and spans  # its breadcrumb, 字号 control and QR-code line
    gold = [json.loads(line) for line in (GOLD_DEV / name.replace(".txt", ".jsonl")).read_text().splitlines()]
    assert gold
    for g in gold:
        start, end = shift_offset(g["start"], spans), shift_offset(g["end"], spans)
        assert clean[start:end] == text[g["start"] : g["end"]] == g["text"]
