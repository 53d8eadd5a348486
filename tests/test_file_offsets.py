"""`taizhang extract` answers in the file's offsets, though the stored text lost its furniture lines."""

from __future__ import annotations

from pathlib import Path

from flows.cli import extract_rows
from flows.warehouse.normalise import furniture_spans, remove_furniture, shift_offset, unshift_offset

REPORT = (
    "当前位置：首页 > 信息公开 > 通知公告\n"
    "【字号：大 中 小】 打印本页 关闭窗口\n"
    "关于全县环境整治工作进展情况的报告\n"
    "全县累计投入资金3.6亿元，较上年增长12.5%。\n"
    "分享到：\n"
    "新建污水处理厂4座，日处理能力达到8万吨。\n"
)


def test_extract_gives_offsets_that_slice_the_file_as_open_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text(REPORT, encoding="utf-8")
    rows = extract_rows([path])
    assert [r["text"] for r in rows] == ["3.6亿元", "12.5%", "4座", "8万吨"]
    text = path.read_text(encoding="utf-8")
    assert all(text[r["start"] : r["end"]] == r["text"] for r in rows)


def test_unshift_undoes_shift_around_every_cut() -> None:
    original = REPORT
    spans = furniture_spans(original)
    assert len(spans) == 2  # the two lines of controls at the top, and the share bar
    clean, _, _ = remove_furniture(original)
    for offset in range(len(clean)):
        moved = unshift_offset(offset, spans)
        assert original[moved] == clean[offset]
        assert shift_offset(moved, spans) == offset


def test_a_copy_without_furniture_read_first_names_the_facts_and_keeps_their_offsets(tmp_path: Path) -> None:
    clean = "".join(line for line in REPORT.splitlines(keepends=True)[2:] if not line.startswith("分享到"))
    (tmp_path / "a_clean.txt").write_text(clean, encoding="utf-8")
    (tmp_path / "b_furniture.txt").write_text(REPORT, encoding="utf-8")
    rows = extract_rows([tmp_path / "a_clean.txt", tmp_path / "b_furniture.txt"])
    assert {r["doc"] for r in rows} == {"a_clean.txt"}
    assert all(clean[r["start"] : r["end"]] == r["text"] for r in rows)


def test_offsets_slice_a_crlf_file_as_open_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(REPORT.replace("\n", "\r\n").encode("utf-8"))
    rows = extract_rows([path])
    text = path.read_text(encoding="utf-8")  # universal newlines: \r\n reads as \n
    assert rows and all(text[r["start"] : r["end"]] == r["text"] for r in rows)
