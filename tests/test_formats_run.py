"""One report as .txt, .html, .pdf and .docx: the same facts from each, offsets into the stored text."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import polars as pl

from flows.pipeline.etl import build_tables
from flows.warehouse.ingest import read_folder
from tests.test_formats import REPORT, TABLE, TITLE, docx_bytes, page, pdf_bytes
from tests.test_incremental import rows, run


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


def test_a_scanned_and_an_encrypted_pdf_are_quarantined_each_with_its_reason(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(pdf_bytes(REPORT, scanned=True))
    (folder / "locked.pdf").write_bytes(pdf_bytes(REPORT, encrypt="secret"))
    raw, quarantine = read_folder(folder)
    assert raw.height == 0
    reasons = {Path(p).name: r for p, r in quarantine.select("source_path", "reason").iter_rows()}
    assert "scanned PDF" in reasons["scan.pdf"] and "no text layer" in reasons["scan.pdf"]
    assert "encrypted PDF" in reasons["locked.pdf"]


def test_a_changed_pdf_keeps_its_earlier_version_with_format_and_file_hash(tmp_path: Path) -> None:
    folder, target = tmp_path / "inbox", tmp_path / "w.duckdb"
    folder.mkdir()
    first = pdf_bytes([TITLE, *REPORT])
    (folder / "report.pdf").write_bytes(first)
    run(folder, target)
    (folder / "report.pdf").write_bytes(pdf_bytes([TITLE, *REPORT[:-1]]))
    run(folder, target)
    [(fmt, sha, reason)] = rows(target, "select file_format, file_sha256, reason from document_version")
    assert (fmt, sha) == ("pdf", hashlib.sha256(first).hexdigest()) and reason.startswith("changed")
    [(fmt, extracted_with)] = rows(target, "select file_format, extracted_with from raw_documents")
    assert fmt == "pdf" and extracted_with.startswith("pdfplumber")
