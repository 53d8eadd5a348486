"""Hostile input: every file a user may drop in ends in the warehouse or in quarantine, with a reason.

The files are real files written at test time (the 50 MB one included: it is
generated, never committed), read by ``flows.warehouse.ingest``, transformed by
``build_tables`` and loaded into a real DuckDB file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows.pipeline.etl import build_tables
from flows.warehouse import store as warehouse
from flows.warehouse.ingest import decode, html_to_text, read_folder, script_of
from tests.conftest import SEEDS_RAW

SIMPLIFIED = (
    "关于市委巡视整改进展情况的通报\n"
    "截至2021年10月，共制定整改措施328条，协议投资额1975亿元，同比增长11%。\n"
    "全市新增学位5490个，完成整改问题120个。\n"
)
TRADITIONAL = (
    "關於市委巡視整改進展情況的通報\n"
    "截至2021年10月，共制定整改措施328條，協議投資額1975億元，同比增長11%。\n"
    "這些問題已經全部整改完成，相關責任人員受到嚴肅處理，新增學位5490個。\n"
)
FULL_WIDTH = "２０２１年全市完成投资１２３．５亿元，同比增长１１％；新增学位５４９０个（含民办）。\n"
HTML_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='gbk'><title>整改通报</title>"
    "<style>p {{color: red}}</style><script>var total = 999999;</script></head>"
    "<body><div class='nav'>首页 &gt; 通知公告</div><p>{body}</p>"
    "<p>投资&nbsp;额<b>1975</b>亿元</p><noscript>请启用脚本</noscript></body></html>"
)
FIFTY_MB = 50 * 1024 * 1024


def _write_hostile_folder(folder: Path) -> None:
    """Write one entry per hostile case into ``folder``."""
    files: dict[str, bytes] = {
        "gb18030.txt": SIMPLIFIED.encode("gb18030"),
        "gbk.txt": SIMPLIFIED.replace("关于", "關于").encode("gbk"),
        "utf16_le_bom.txt": SIMPLIFIED.encode("utf-16"),
        "utf16_be_bom.txt": b"\xfe\xff" + SIMPLIFIED.encode("utf-16-be"),
        "utf16_no_bom.txt": SIMPLIFIED.encode("utf-16-le"),
        "utf8_bom.txt": ("\ufeff" + SIMPLIFIED).encode("utf-8"),
        "crlf.txt": SIMPLIFIED.replace("\n", "\r\n").replace("328", "329").encode("utf-8"),
        "big5.txt": TRADITIONAL.encode("cp950"),
        "traditional.txt": TRADITIONAL.replace("5490", "5491").encode("utf-8"),
        "fullwidth.txt": FULL_WIDTH.encode("utf-8"),
        "page.html": HTML_PAGE.format(body=SIMPLIFIED.replace("\n", "<br>")).encode("gbk"),
        "fragment.htm": f"<div><p>{FULL_WIDTH}</p><p>附件：无</p></div>".encode(),
        "dup_a.txt": (SIMPLIFIED + "（副本）\n").encode("utf-8"),
        "dup_b.txt": (SIMPLIFIED + "（副本）\n").encode("utf-8"),
        "empty.txt": b"",
        "whitespace.txt": " \r\n\t\u3000\u3000\n".encode(),
        "binary.txt": os.urandom(4096),
        "zeros.txt": bytes(2048),
        "png_named.txt": b"\x89PNG\r\n\x1a\n" + os.urandom(500),
        "pdf_named.txt": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
        + os.urandom(300),
        "docx_named.txt": b"PK\x03\x04\x14\x00\x06\x00" + os.urandom(300),
        "shift_jis.txt": "これは日本語の文書です。東京都は晴れ、気温は二十度。".encode("shift_jis") * 5,
        "latin1.txt": "Résumé du café: état des lieux, déjà vu.".encode("latin-1"),
        "empty_page.html": b"<html><body><script>x=1</script></body></html>",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with (folder / "huge.txt").open("wb") as fh:  # 50 MB of plausible report text
        block = (SIMPLIFIED * 200).encode("utf-8")
        while fh.tell() < FIFTY_MB:
            fh.write(block[: FIFTY_MB - fh.tell()])
    # A name that is GBK bytes, as Windows archives leave them: not valid UTF-8.
    with open(os.path.join(os.fsencode(folder), "报告".encode("gbk") + b".txt"), "wb") as fh:
        fh.write(SIMPLIFIED.replace("120", "121").encode("utf-8"))
    (folder / "broken_link.txt").symlink_to(folder / "nowhere.txt")
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.txt").write_text(SIMPLIFIED.replace("11%", "12%"), encoding="utf-8")
    (folder / "folder_link").symlink_to(folder / "sub")
    os.mkfifo(folder / "pipe.txt")
    (folder / ".hidden.txt").write_text("skipped on purpose", encoding="utf-8")


def _entries(folder: Path) -> set[str]:
    """Every non-hidden entry below ``folder`` as ``flows.warehouse.ingest`` stores paths (bytes escaped)."""
    root = os.fsencode(folder.resolve())
    found = set()
    for parent, dirs, names in os.walk(root):  # does not descend into links to folders
        for name in [*names, *(d for d in dirs if os.path.islink(os.path.join(parent, d)))]:
            if not name.startswith(b"."):
                found.add(os.path.join(parent, name).decode("utf-8", errors="backslashreplace"))
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pl.DataFrame, pl.DataFrame, float]:
    """The hostile folder read, transformed and loaded once; returns (folder, warehouse, raw, q, seconds)."""
    folder = tmp_path_factory.mktemp("hostile")
    _write_hostile_folder(folder)
    started = time.perf_counter()
    raw, quarantine = read_folder(folder)
    read_seconds = time.perf_counter() - started
    target = tmp_path_factory.mktemp("wh") / "taizhang.duckdb"
    run = pl.DataFrame(
        {
            "run_id": ["hostile"],
            "started_at": [raw["ingested_at"][0]],
            "finished_at": [raw["ingested_at"][0]],
            "input_dir": [str(folder.resolve())],
            "documents": [raw.height],
            "sentences": [0],
            "facts": [0],
            "checks_passed": [0],
            "checks_failed": [0],
        }
    )
    warehouse.load(target, build_tables(raw), {"etl_run": run, "quarantine": quarantine})
    return folder, target, raw, quarantine, read_seconds


def _by_name(frame: pl.DataFrame) -> dict[str, dict[str, object]]:
    return {Path(r["source_path"]).name: r for r in frame.iter_rows(named=True)}


def test_every_entry_ends_in_the_warehouse_or_in_quarantine_with_a_reason(hostile) -> None:
    folder, target, _, _, _ = hostile
    expected = _entries(folder)
    assert len(expected) == 30  # 24 plain files, the 50 MB one, the GBK name, 4 odd entries
    con = duckdb.connect(str(target), read_only=True)
    try:
        loaded = {r[0] for r in con.execute("select source_path from raw_documents").fetchall()}
        quarantined = dict(con.execute("select source_path, reason from quarantine").fetchall())
        columns = [r[0] for r in con.execute("describe quarantine").fetchall()]
        nulls = con.execute(
            "select count(*) from quarantine where reason is null or reason = '' or size_bytes is null"
            " or first_bytes_hex is null or quarantined_at is null or run_id is null"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert loaded | set(quarantined) == expected
    assert not loaded & set(quarantined)
    assert nulls == 0
    assert {"source_path", "reason", "size_bytes", "first_bytes_hex", "quarantined_at"} <= set(columns)
    for path, reason in quarantined.items():
        assert len(reason) > 10 and " " in reason, (path, reason)  # a sentence, not a code


def test_encodings_are_decoded_and_recorded(hostile) -> None:
    _, _, raw, _, _ = hostile
    enc = {name: r["encoding"] for name, r in _by_name(raw).items()}
    assert enc["gb18030.txt"] == "gb18030"
    assert enc["gbk.txt"] == "gb18030"  # GB18030 is a superset of GBK
    assert enc["utf16_le_bom.txt"] == "utf-16-le"
    assert enc["utf16_be_bom.txt"] == "utf-16-be"
    assert enc["utf16_no_bom.txt"] == "utf-16-le"
    assert enc["utf8_bom.txt"] == "utf-8-sig"
    assert enc["big5.txt"] == "cp950"
    assert enc["page.html"] == "gb18030+html"
    assert enc["fragment.htm"] == "utf-8+html"
    texts = {name: r["text"] for name, r in _by_name(raw).items()}
    for name in ("gb18030.txt", "utf16_le_bom.txt", "utf16_be_bom.txt", "utf16_no_bom.txt", "utf8_bom.txt"):
        assert texts[name] == SIMPLIFIED, name
    assert texts["big5.txt"] == TRADITIONAL
    assert texts["crlf.txt"] == SIMPLIFIED.replace("328", "329")  # line ends normalised to \n
    assert all("\r" not in t and "\x00" not in t for t in texts.values())


def test_html_is_reduced_to_visible_text_and_offsets_refer_to_it(hostile) -> None:
    _, target, raw, _, _ = hostile
    page = _by_name(raw)["page.html"]["text"]
    assert "巡视整改进展情况" in page and "投资 额1975亿元" in page
    assert "999999" not in page and "color" not in page and "请启用脚本" not in page
    assert "<" not in page and "&gt;" not in page and "首页" not in page  # the navigation is furniture
    con = duckdb.connect(str(target), read_only=True)
    try:
        bad = con.execute(
            """
            select count(*) from fct_metric m
            join (select distinct document_id, text from raw_documents) r using (document_id)
            where substring(r.text, m.start_char + 1, m.end_char - m.start_char) <> m.text
            """
        ).fetchall()[0][0]
        page_facts = con.execute(
            "select m.start_char, m.text from fct_metric m join raw_documents r using (document_id)"
            " where r.file_name = 'page.html' order by m.start_char"
        ).fetchall()
    finally:
        con.close()
    assert bad == 0
    # The five figures of SIMPLIFIED, then 投资&nbsp;额<b>1975</b>亿元 read as 投资 额1975亿元.
    assert [text for _, text in page_facts] == ["328条", "1975亿元", "11%", "5490个", "120个", "1975亿元"]


def test_unreadable_files_are_quarantined_with_plain_reasons(hostile) -> None:
    _, _, _, quarantine, _ = hostile
    reasons = {name: r["reason"] for name, r in _by_name(quarantine).items()}
    assert "empty" in reasons["empty.txt"]
    assert "white space" in reasons["whitespace.txt"]
    assert "PNG image" in reasons["png_named.txt"]
    assert "a damaged PDF" in reasons["pdf_named.txt"]  # read as the PDF it is, whatever its name
    assert "ZIP archive" in reasons["docx_named.txt"]
    assert "binary" in reasons["zeros.txt"]
    assert "not readable" in reasons["binary.txt"] or "garbled" in reasons["binary.txt"]
    assert "garbled" in reasons["shift_jis.txt"] or "not readable" in reasons["shift_jis.txt"]
    assert "not readable" in reasons["latin1.txt"]
    assert "no visible text" in reasons["empty_page.html"]
    assert "broken link" in reasons["broken_link.txt"]
    assert "not a regular file" in reasons["pipe.txt"]
    assert "links to folders are not followed" in reasons["folder_link"]
    row = _by_name(quarantine)["png_named.txt"]
    assert row["first_bytes_hex"].startswith("89 50 4e 47 0d 0a 1a 0a")
    assert row["size_bytes"] == 508


def test_a_50_mb_file_is_quarantined_quickly_without_being_read_whole(hostile) -> None:
    _, _, _, quarantine, read_seconds = hostile
    row = _by_name(quarantine)["huge.txt"]
    assert "too large" in row["reason"] and "52,428,800 bytes" in row["reason"]
    assert row["size_bytes"] == FIFTY_MB
    assert bytes.fromhex(row["first_bytes_hex"].replace(" ", "")) == SIMPLIFIED.encode("utf-8")[:16]
    assert read_seconds < 10


def test_exact_duplicates_are_one_document_with_two_paths(hostile) -> None:
    _, target, raw, _, _ = hostile
    rows = _by_name(raw)
    assert rows["dup_a.txt"]["document_id"] == rows["dup_b.txt"]["document_id"]
    con = duckdb.connect(str(target), read_only=True)
    try:
        paths = con.execute(
            "select count(*) from raw_documents where file_name in ('dup_a.txt', 'dup_b.txt')"
        ).fetchall()[0][0]
        docs = con.execute(
            "select count(*) from stg_documents where document_id in"
            " (select document_id from raw_documents where file_name in ('dup_a.txt', 'dup_b.txt'))"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert (paths, docs) == (2, 1)


def test_traditional_chinese_is_processed_and_flagged(hostile) -> None:
    _, target, raw, _, _ = hostile
    scripts = {name: r["script"] for name, r in _by_name(raw).items()}
    assert scripts["traditional.txt"] == "traditional"
    assert scripts["big5.txt"] == "traditional"
    assert scripts["gb18030.txt"] == "simplified"
    assert scripts["gbk.txt"] == "simplified"  # one traditional character is not a traditional text
    assert scripts["fullwidth.txt"] == "simplified"
    con = duckdb.connect(str(target), read_only=True)
    try:
        trad_facts = con.execute(
            "select m.start_char, m.text from fct_metric m join raw_documents r using (document_id)"
            " where r.file_name = 'traditional.txt' and r.script = 'traditional' order by m.start_char"
        ).fetchall()
    finally:
        con.close()
    # It went all the way through: the four figures of the text, with traditional units and 億.
    assert [text for _, text in trad_facts] == ["328條", "1975億元", "11%", "5491個"]


def test_mixed_full_width_digits_and_punctuation_give_facts_at_the_right_offsets(hostile) -> None:
    _, target, _, _, _ = hostile
    con = duckdb.connect(str(target), read_only=True)
    try:
        facts = con.execute(
            "select m.text, m.number, m.unit from fct_metric m join raw_documents r using (document_id)"
            " where r.file_name = 'fullwidth.txt' order by m.start_char"
        ).fetchall()
    finally:
        con.close()
    assert ("１２３．５亿元", 12_350_000_000.0, "元") in facts
    assert ("１１％", 11.0, "%") in facts
    assert ("５４９０个", 5490.0, "个") in facts


def test_a_file_name_that_is_not_utf8_is_kept_as_an_escaped_path(hostile) -> None:
    _, _, raw, _, _ = hostile
    names = [r for r in raw["file_name"].to_list() if r.endswith(".txt") and "\\x" in r]
    assert names == ["\\xb1\\xa8\\xb8\\xe6.txt"]


def test_seed_reports_are_simplified_and_plausible() -> None:
    raw, quarantine = read_folder(SEEDS_RAW)
    assert quarantine.height == 0
    assert set(raw["script"]) == {"simplified"}
    assert set(raw["encoding"]) == {"utf-8"}


def test_decode_rules_on_bytes() -> None:
    assert decode(b"").reason == "empty file (no text at all)"
    assert decode(SIMPLIFIED.encode("utf-32")).encoding == "utf-32-le"
    assert decode(b"\xff\xfe" + b"\x00\xd8" * 3).reason.startswith("starts with a utf-16-le byte-order mark")
    assert "DuckDB database" in (decode(b"\x00" * 8 + b"DUCK" + b"\x00" * 100).reason or "")
    assert script_of("12345 abc") == "none"
    assert html_to_text("<p>a<br/>b</p><svg/>c") == "a\nb\nc\n"
