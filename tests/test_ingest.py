"""Reading files: encodings are decoded, unreadable files are quarantined with a reason."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from flows.warehouse.ingest import decode, read_folder

TEXT = "截至2021年10月，共召开11次会议。"


def test_gb18030_utf16_and_bom_are_decoded_with_their_encoding_recorded() -> None:
    assert decode(TEXT.encode("gb18030")).encoding == "gb18030"
    assert decode(TEXT.encode("utf-16")).text == TEXT
    assert decode(("\ufeff" + TEXT).encode("utf-8")).encoding == "utf-8-sig"
    assert decode(TEXT.encode("utf-8")).encoding == "utf-8"


def test_empty_and_binary_files_are_quarantined_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    raw, quarantine = read_folder(tmp_path)
    assert raw["file_name"].to_list() == ["ok.txt"]
    reasons = dict(
        zip(
            quarantine["source_path"].map_elements(lambda p: Path(p).name, return_dtype=str),
            quarantine["reason"],
            strict=True,
        )
    )
    assert "empty" in reasons["empty.txt"]
    # Every byte value four times: no encoding the reader tries decodes it.
    assert "not readable as text" in reasons["binary.txt"]


def test_html_pages_are_reduced_to_their_visible_text(tmp_path: Path) -> None:
    html = f"<html><head><script>var x=1;</script></head><body><p>{TEXT}</p></body></html>"
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    raw, _ = read_folder(tmp_path)
    text = raw["text"][0]
    assert TEXT in text and "var x" not in text
    assert raw["encoding"][0] == "utf-8+html"


def test_duplicate_files_are_one_document_with_two_paths(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "b.txt").write_text(TEXT, encoding="utf-8")
    raw, _ = read_folder(tmp_path)
    assert raw.height == 2 and raw["document_id"].n_unique() == 1


def _known(raw: pl.DataFrame, **changes: object) -> pl.DataFrame:
    """What ``known_files`` returns for these rows (no text), with columns overridden."""
    return raw.drop("text", "ingested_at").with_columns(pl.lit(v).alias(k) for k, v in changes.items())


def test_a_file_untouched_since_the_warehouse_read_it_is_not_read_again(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    raw, _ = read_folder(tmp_path)
    # A known row that differs from the file's content: only a row that was not read can carry it.
    known = _known(raw, document_id="fromthewarehouse", content_sha256="x" * 64)
    again, quarantine = read_folder(tmp_path, known=known)
    assert quarantine.height == 0
    assert again["document_id"].to_list() == ["fromthewarehouse"]
    assert again["text"].to_list() == [None]
    assert again["ingested_at"][0] >= raw["ingested_at"][0]  # when this run looked, not the old read
    assert again.columns == raw.columns


def test_a_touched_or_resized_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(TEXT, encoding="utf-8")
    raw, _ = read_folder(tmp_path)
    known = _known(raw, document_id="fromthewarehouse")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))
    touched, _ = read_folder(tmp_path, known=known)
    assert touched["document_id"].to_list() == raw["document_id"].to_list()
    assert touched["text"].to_list() == [TEXT]
    assert touched["modified_ns"].to_list() == [stat.st_mtime_ns + 1_000]
    resized, _ = read_folder(tmp_path, known=_known(touched, document_id="old", size_bytes=1))
    assert resized["document_id"].to_list() == raw["document_id"].to_list()


def test_skipped_and_read_files_keep_the_listing_order(tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"{TEXT}{name}", encoding="utf-8")
    raw, _ = read_folder(tmp_path)
    known = _known(raw.filter(pl.col("file_name") != "b.txt"))
    again, _ = read_folder(tmp_path, known=known)
    assert again["file_name"].to_list() == ["a.txt", "b.txt", "c.txt"]
    assert again["text"].is_null().to_list() == [True, False, True]
