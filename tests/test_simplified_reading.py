"""Traditional-script documents are read in OpenCC's simplified reading; stored texts stay original."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from flows.warehouse.ingest import script_of
from flows.warehouse.tables import extract_documents
from transforms.simplified_reading import SLICED_COLUMNS, simplified_reading, simplify_same_length

SIMPLIFIED = (
    "关于全县环境整治工作进展情况的报告\n"
    "一、主要成效\n"
    "全县累计投入资金3.6亿元，较上年增长12.5%，新建污水处理厂4座，"
    "日处理能力达到8万吨。\n"
    "二、整改措施\n"
    "县发展和改革委员会牵头制定整改措施27条，已完成21条。\n"
)


def _documents(text: str, script: str, doc: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "document_id": [doc],
            "content_sha256": [doc * 4],
            "source_path": [f"/in/{doc}.txt"],
            "file_name": [f"{doc}.txt"],
            "size_bytes": [len(text.encode())],
            "modified_ns": [0],
            "encoding": ["utf-8"],
            "script": [script],
            "ingested_at": [datetime(2026, 12, 7, tzinfo=UTC).replace(tzinfo=None)],
            "text": [text],
        }
    )


def _traditional() -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(SIMPLIFIED)


def test_the_simplified_reading_has_the_same_length_and_simplified_characters() -> None:
    traditional = _traditional()
    assert traditional != SIMPLIFIED and script_of(traditional) == "traditional"
    reading = simplify_same_length(traditional)
    assert len(reading) == len(traditional)
    assert reading == SIMPLIFIED


def test_a_traditional_report_gives_the_facts_of_its_simplified_text_with_original_slices() -> None:
    traditional = _traditional()
    simple = extract_documents(_documents(SIMPLIFIED, "simplified", "s" * 16))
    trad = extract_documents(_documents(traditional, "traditional", "t" * 16))
    key = ["start_char", "end_char", "number", "unit", "metric"]
    expected = simple["fct_metric"].select(key).sort("start_char")
    assert expected.height >= 5
    assert trad["fct_metric"].select(key).sort("start_char").equals(expected)
    # What a row shows is what the file says: every sliced text of every table is the original's.
    checked = 0
    for name, frame in trad.items():
        for start, end, text in SLICED_COLUMNS:
            if {start, end, text, "document_id"} <= set(frame.columns):
                for row in frame.filter(pl.col(start).is_not_null()).iter_rows(named=True):
                    assert row[text] == traditional[row[start] : row[end]], (name, text)
                    checked += 1
    assert checked > 10
    assert any("億" in text for text in trad["fct_metric"]["text"])


def test_a_simplified_document_is_not_converted() -> None:
    # OpenCC's t2s would change this simplified sentence (乾旱 → 干旱); only traditional texts are converted.
    text = "全县显著改善乾旱地区灌溉条件，新增灌溉面积1200亩。\n"
    assert simplify_same_length(text) != text
    docs = _documents(text, "simplified", "a" * 16)
    assert simplified_reading(docs).equals(docs)
    assert simplified_reading(docs.with_columns(script=pl.lit("traditional")))["text"].item() != text
