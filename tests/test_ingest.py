"""Reading files: encodings are decoded, unreadable files are quarantined with a reason."""

from __future__ import annotations

from pathlib import Path

from flows.ingest import decode, read_folder

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
    assert reasons["binary.txt"]


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
