"""One report as .txt, .html, .pdf and .docx: the same facts from each, offsets into the stored text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from flows.pipeline.etl import build_tables
from flows.warehouse.ingest import read_folder
from tests.test_formats import REPORT, TABLE, TITLE, docx_bytes, page, pdf_bytes


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    rows = ["\t".join(row) for row in TABLE]
    (folder / "report.txt").write_text(
        "\n".join([TITLE, *REPORT[:5], *rows, *REPORT[5:]]) + "\n", encoding="utf-8"
    )
    (folder / "report.html").write_text(page(), encoding="utf-8")
    (folder / "report.pdf").write_bytes(pdf_bytes([TITLE, *REPORT[:5], *rows, *REPORT[5:]]))
    (folder / "report.docx").write_bytes(docx_bytes())
    return folder


def test_the_same_report_in_four_formats_gives_the_same_facts_that_slice_the_stored_text(
    tmp_path: Path,
) -> None:
    raw, quarantine = read_folder(_folder(tmp_path))
    assert quarantine.height == 0
    formats = dict(raw.select("file_name", "file_format").iter_rows())
    assert formats == {"report.txt": "txt", "report.html": "html", "report.pdf": "pdf", "report.docx": "docx"}
    assert raw["file_sha256"].n_unique() == 4 and raw["extracted_with"].null_count() == 0
    facts = build_tables(raw)["fct_metric"]
    # The .txt and the .docx give the very same text, so they are one document with two paths.
    doc_of = dict(raw.select("file_name", "document_id").iter_rows())
    by_file = {
        name: Counter(
            facts.filter(pl.col("document_id") == doc_of[name]).select("number", "unit", "metric").rows()
        )
        for name in formats
    }
    expected = by_file["report.txt"]
    assert sum(expected.values()) >= 8
    for name, found in by_file.items():
        assert found == expected, name
    texts = dict(raw.select("document_id", "text").iter_rows())
    for doc, start, end, text in facts.select("document_id", "start_char", "end_char", "text").iter_rows():
        assert texts[doc][start:end] == text


def test_the_web_page_is_stored_without_its_chrome_and_says_what_it_removed(tmp_path: Path) -> None:
    raw, _ = read_folder(_folder(tmp_path))
    html = raw.filter(pl.col("file_format") == "html").row(0, named=True)
    assert html["text"].startswith(TITLE + "\n")
    lines = html["text"].splitlines()
    for chrome in ("首页", "下载", "打印", "【字号", "分享到", "主办单位", "网站标识码", "联系电话"):
        assert not any(line.startswith(chrome) for line in lines), chrome
    assert html["extracted_with"].startswith("trafilatura")
