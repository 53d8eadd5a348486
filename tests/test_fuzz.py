"""Fuzz tests (hypothesis) of decoding, extraction and the loader, each bounded in examples.

They run in CI on every push: ``max_examples`` keeps the three of them to well
under a minute together on a 2-core machine, and ``deadline=None`` because a
DuckDB load has no steady per-example time.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.pipeline.etl import build_tables
from flows.warehouse import store as warehouse
from flows.warehouse.ingest import read_folder
from tests.conftest import SEEDS_RAW

SEED = (SEEDS_RAW / "000_b61bd1e1bea2ac28.txt").read_text(encoding="utf-8")
# Characters of a real report, full-width digits and punctuation, and odd white space.
ALPHABET = sorted(set(SEED) | set("０１２３４５６７８９％．，：；（）\t\r\u3000 -~、") - {"\x00"})
SNIPPETS = [
    "截至2021年10月，",
    "共制定整改措施328条",
    "协议投资额1975亿元",
    "同比增长11%",
    "完成投资１２３．５亿元",
    "新增学位５４９０个",
    "2-3名",
    "10.6万、3.3万平方公里",
    "约800余个",
    "百分之十五",
    "翻一番",
    "第三巡视组",
    "“十四五”",
    "。",
    "；",
    "\n",
    "\r\n",
    "<p>",
    "&nbsp;",
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

report_text = st.lists(
    st.one_of(st.sampled_from(SNIPPETS), st.text(alphabet=st.sampled_from(ALPHABET), max_size=40)),
    max_size=12,
).map("".join)

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "utf-16-le", "utf-16-be", "gb18030", "cp950"]
# Encodings whose reading is never ambiguous: a byte-order mark, or valid UTF-8.
UNAMBIGUOUS = {"utf-8", "utf-8-sig", "utf-16", "utf-32"}


@st.composite
def payloads(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """Bytes of one file, with the text a correct reader must find in them when that is certain."""
    kind = draw(st.sampled_from(["text", "text", "text", "binary", "signature"]))
    if kind == "binary":
        return draw(st.binary(max_size=3000)), None
    if kind == "signature":
        head = draw(st.sampled_from([b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"\x7fELF"]))
        return head + draw(st.binary(max_size=300)), None
    text = draw(report_text)
    enc = draw(st.sampled_from(ENCODINGS))
    data = text.encode(enc, errors="ignore")
    decoded = data.decode(enc)
    han = sum(1 for ch in decoded if "\u4e00" <= ch <= "\u9fff")
    # GB18030 with enough Chinese is unambiguous in practice (its bytes are not UTF-8 by chance).
    certain = enc in UNAMBIGUOUS or (enc == "gb18030" and han >= 8 and not decoded.isascii())
    return data, decoded if certain else None


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@FUZZ
@given(files=st.lists(payloads(), min_size=1, max_size=6))
def test_every_file_is_a_document_or_a_quarantine_row_and_never_raises(
    files: list[tuple[bytes, str | None]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, (data, _) in enumerate(files):
            (folder / f"{i}.txt").write_bytes(data)
        raw, quarantine = read_folder(folder)
        docs = {Path(p).name: r for p, r in zip(raw["source_path"], raw.iter_rows(named=True), strict=True)}
        bad = {Path(r["source_path"]).name: r for r in quarantine.iter_rows(named=True)}
    assert set(docs) | set(bad) == {f"{i}.txt" for i in range(len(files))}
    assert not set(docs) & set(bad)
    for i, (data, expected) in enumerate(files):
        name = f"{i}.txt"
        if name in bad:
            row = bad[name]
            assert row["reason"] and row["size_bytes"] == len(data)
            assert row["first_bytes_hex"] == data[:16].hex(" ")
            assert expected is None or not _normalised(expected).strip(), (row["reason"], expected)
            continue
        text = docs[name]["text"]
        assert "\r" not in text and "\x00" not in text and text.strip()
        assert docs[name]["document_id"] == hashlib.sha256(text.encode()).hexdigest()[:16]
        assert docs[name]["script"] in {"simplified", "traditional", "none"}
        if expected is not None:
            assert text == _normalised(expected)


def _slices_hold(tables: dict[str, pl.DataFrame]) -> None:
    texts = dict(zip(tables["raw_documents"]["document_id"], tables["raw_documents"]["text"], strict=False))
    for table in ("stg_sentences", "fct_metric"):
        for row in tables[table].select("document_id", "start_char", "end_char", "text").iter_rows():
            doc, start, end, text = row
            assert texts[doc][start:end] == text, (table, row)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(report_text, min_size=1, max_size=3))
def test_extraction_offsets_hold_and_the_load_keeps_every_row(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "inbox"
        folder.mkdir()
        for i, text in enumerate(texts):
            (folder / f"{i}.txt").write_text(text, encoding="utf-8")
        raw, quarantine = read_folder(folder)
        tables = build_tables(raw)
        _slices_hold(tables)
        target = Path(tmp) / "wh.duckdb"
        counts = warehouse.load(target, tables, {"quarantine": quarantine}, input_dir=folder)
        for table in ("raw_documents", "stg_documents", "stg_sentences", "fct_metric"):
            assert counts[table] == tables[table].height, table
        con = duckdb.connect(str(target), read_only=True)
        try:
            bad = con.execute(
                """
                select count(*) from fct_metric m
                join (select distinct document_id, text from raw_documents) r using (document_id)
                where substring(r.text, m.start_char + 1, m.end_char - m.start_char) <> m.text
                """
            ).fetchall()[0][0]
        finally:
            con.close()
        assert bad == 0


POOL = [
    "关于甲市巡视整改进展情况的通报\n截至2021年10月，甲市制定整改措施328条，协议投资额1975亿元。\n",
    "关于乙县整改情况的报告\n乙县新增学位5490个，同比增长11%，整改问题120个。\n",
    "关于乙县整改情况的报告\n乙县新增学位6000个，同比增长12%，问责干部15名。\n",
    "关于丙区整改情况的通报\n丙区完成投资１２．５亿元，新建公园3个。\n",
    "關於丁市整改情況的通報\n丁市完成投資8億元，同比增長9%。\n",
]
NAMES = ["a.txt", "b.txt", "c.txt"]
# Per name: absent, one of the pool's texts, or a file that cannot be read.
folder_state = st.fixed_dictionaries(
    {name: st.one_of(st.none(), st.integers(0, len(POOL) - 1), st.just(-1)) for name in NAMES}
)


def _put(folder: Path, state: dict[str, int | None]) -> None:
    for name, choice in state.items():
        path = folder / name
        if choice is None:
            path.unlink(missing_ok=True)
        elif choice < 0:
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
        else:
            path.write_text(POOL[choice], encoding="utf-8")


def _data_checksums(target: Path) -> dict[str, str]:
    return {t: c for t, c in warehouse.checksums(target).items() if t not in warehouse.BOOKKEEPING_TABLES}


def _run(folder: Path, target: Path, *, full_refresh: bool = False) -> None:
    raw, quarantine = read_folder(folder)
    warehouse.load(
        target, build_tables(raw), {"quarantine": quarantine}, input_dir=folder, full_refresh=full_refresh
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.lists(folder_state, min_size=1, max_size=4))
def test_any_incremental_history_equals_a_full_refresh_and_loses_no_text(
    history: list[dict[str, int | None]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder, inc, fresh = Path(tmp) / "inbox", Path(tmp) / "inc.duckdb", Path(tmp) / "fresh.duckdb"
        folder.mkdir()
        ever: set[str] = set()
        for state in history:
            _put(folder, state)
            _run(folder, inc)
            ever |= set(warehouse.query(inc, "select content_sha256 from raw_documents")["content_sha256"])
        before = _data_checksums(inc)
        _run(folder, inc)  # the same input again changes nothing (the run logs aside)
        assert _data_checksums(inc) == before
        _run(folder, fresh, full_refresh=True)
        assert warehouse.checksums(fresh, current_only=True) == warehouse.checksums(inc, current_only=True)
        kept = warehouse.query(
            inc, "select content_sha256 from raw_documents union select content_sha256 from document_version"
        )
        assert set(kept["content_sha256"]) == ever
