"""`taizhang extract` answers in the file's offsets, though the stored text lost its furniture lines."""

from __future__ import annotations

from pathlib import Path

from flows.cli import extract_rows
from flows.warehouse.file_offsets import stored_to_file

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


def test_offsets_move_past_the_removed_lines_before_them() -> None:
    original = "下载\n打印\n第一行12个\n收藏\n第二行3个\n"
    stored = "第一行12个\n第二行3个\n"
    move = stored_to_file(original, stored)
    assert move is not None
    assert original[move(3) : move(3) + 3] == stored[3:6] == "12个"
    assert original[move(10) : move(10) + 2] == stored[10:12] == "3个"
    assert move(0) == original.index("第一行")


def test_a_text_that_is_not_the_file_less_whole_lines_has_no_map() -> None:
    assert stored_to_file("第一行12个\n", "第一行１２个\n") is None
    assert stored_to_file("同一\n", "同一\n")(2) == 2
