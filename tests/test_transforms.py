"""The staging transforms on tiny hand-written texts."""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.conftest import doc_frame, staged_documents
from transforms.numbers import chinese_value
from transforms.spans import find_spans
from transforms.stg_sentences import stg_sentences


def test_find_spans_gives_offsets_that_slice_back_to_the_match() -> None:
    df = pl.DataFrame({"id": [1, 2], "t": ["共有12个和3名。", "无"]})
    spans = find_spans(df, "t", r"[0-9]+[个名]", keep=["id"])
    assert spans.select("match", "start", "end").rows() == [("12个", 2, 5), ("3名", 6, 8)]


def test_sentences_split_at_terminators_and_line_breaks_with_exact_offsets() -> None:
    text = "标题\n\n  第一句，有逗号。第二句！“引语。”\n后面；分号 \n"
    s = stg_sentences(doc_frame({"a.txt": text}))
    assert s["text"].to_list() == ["标题", "第一句，有逗号。", "第二句！", "“引语。”", "后面；分号"]
    assert s["paragraph_index"].to_list() == [0, 1, 1, 1, 2]
    for row in s.iter_rows(named=True):
        assert text[row["start_char"] : row["end_char"]] == row["text"]


def test_documents_take_title_publisher_and_date_from_header_fields() -> None:
    text = (
        "某某市人民政府网站\n当前位置: 首页>公开\n\n"
        "某县关于巡察整改进展情况的通报\n发布日期: 2023-05-06 09:00  来源: 中共某县委员会\n正文。\n"
    )
    d = staged_documents(doc_frame({"x.txt": text})).row(0, named=True)
    assert d["title"] == "某县关于巡察整改进展情况的通报"
    assert d["publisher"] == "中共某县委员会"
    assert d["publish_date"] == dt.date(2023, 5, 6)


def test_documents_fall_back_to_the_dated_signature() -> None:
    text = "关于整改情况的通报\n\n正文第一段。\n\n中共某市委员会\n\n2021年12月3日\n"
    d = staged_documents(doc_frame({"x.txt": text})).row(0, named=True)
    assert d["publisher"] == "中共某市委员会"
    assert d["publish_date"] == dt.date(2021, 12, 3)


def test_chinese_numerals_read_as_values() -> None:
    assert chinese_value("三千五百") == 3500
    assert chinese_value("十四") == 14
    assert chinese_value("两") == 2
    assert chinese_value("一百二十") == 120
    assert chinese_value("两千万") == 20_000_000
    assert chinese_value("三四") is None


def test_an_impossible_date_is_null_not_an_error() -> None:
    text = "关于整改情况的通报\n发布日期: 2021-13-45\n正文截至2021年14月，共3家。\n\n某委\n\n2422年48月16日\n"
    d = staged_documents(doc_frame({"x.txt": text})).row(0, named=True)
    assert d["publish_date"] is None


def test_an_implausible_publish_date_is_null_so_one_odd_document_does_not_stop_the_load() -> None:
    text = "关于整改情况的通报\n发布日期: 2066-08-16\n正文。\n"
    d = staged_documents(doc_frame({"x.txt": text})).row(0, named=True)
    assert d["publish_date"] is None
