"""Reports as they really arrive: a web page, a PDF and a Word file of one report give its text.

Each fixture is written here, small: the same short report as a page with its chrome (nav
bar, breadcrumb, 字号 control, share bar, footer), as a PDF drawn with reportlab's built-in
CJK font, and as a .docx; and the PDFs that give no text (a scan, a password, broken bytes).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import pytest

from flows.warehouse.formats import Read, Unreadable, read_docx, read_html, read_pdf, sniff_format
from flows.warehouse.ingest import html_to_text
from flows.warehouse.normalise import remove_furniture
from tests.conftest import extract

TITLE = "某市2024年政府工作报告"
REPORT = [
    "各位代表：",
    "现在，我代表市人民政府，向大会报告工作，请予审议。",
    "一、2023年工作回顾",
    "过去一年，全市地区生产总值增长5.2%，经济运行稳中向好。",
    "全年完成固定资产投资120亿元，产业投资占比提高。",
    "我们制定32条措施支持民营经济发展，新增经营主体1.8万户。",
    "城镇新增就业3.6万人，居民人均可支配收入增长6.1%。",
    "二、2024年工作安排",
    "今年主要预期目标是：地区生产总值增长5%左右。",
    "我们将推动3D打印、数据下载服务等新业态发展。",
]
TABLE = [("指标", "增速"), ("地区生产总值", "5.2%")]
FURNITURE = ("下载", "打印", "全屏", "收藏", "字号", "分享到", "ICP备", "联系电话", "当前位置", "网站标识码")


def page() -> str:
    """A government page as saved from a browser: the article sits among the site's chrome."""
    paragraphs = "\n".join(f"<p>{line}</p>" for line in REPORT[:5])
    rows = "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in TABLE)
    paragraphs += f"<table>{rows}</table>"
    paragraphs += "\n".join(f"<p>{line}</p>" for line in REPORT[5:])
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{TITLE}_某市人民政府门户网站</title>
<meta name="ArticleTitle" content="{TITLE}"><meta name="PubDate" content="2024-01-05 09:30">
<style>.nav {{ color: red }}</style><script>var tracker = "下载";</script></head><body>
<div class="top"><a>无障碍浏览</a> <a>长者模式</a> <a>English</a></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li>
<li><a href="/hdjl">互动交流</a></li><li><a href="/bsfw">办事服务</a></li></ul></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a>
&gt; <a>政府工作报告</a></div>
<div class="tools"><a>下载</a> <a>打印</a> <a>全屏</a> <a>收藏</a></div>
<div class="article"><h1>{TITLE}</h1>
<div class="info"><span>来源：某市日报</span> <span>发布时间：2024-01-05</span>
<span>【字号：<a>大</a> <a>中</a> <a>小</a>】</span> <a>打印本页</a> <a>关闭窗口</a></div>
<div class="content" id="zoom">
{paragraphs}
</div></div>
<div class="share">分享到：<a>微信</a> <a>微博</a></div><div class="qr">扫一扫在手机打开当前页</div>
<div class="footer"><p>主办单位：某市人民政府办公室 承办单位：某市大数据中心</p>
<p>网站标识码：1234000001 某ICP备12345678号</p><p>联系电话：0000-12345678</p></div>
</body></html>"""


def pdf_bytes(lines: list[str], *, encrypt: str | None = None, scanned: bool = False) -> bytes:
    """A one-page PDF with ``lines`` as text (reportlab's built-in STSong-Light CJK font)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, encrypt=encrypt)
    if scanned:  # what a scanner makes: a picture of the page, no text
        from PIL import Image, ImageDraw
        from reportlab.lib.utils import ImageReader

        picture = Image.new("L", (240, 320), 255)
        for y in range(20, 300, 16):  # lines of "print", as pixels
            ImageDraw.Draw(picture).rectangle((20, y, 220, y + 6), fill=40)
        pdf.drawImage(ImageReader(picture), 60, 300, width=480, height=460)
    else:
        pdf.setFont("STSong-Light", 11)
        for i, line in enumerate(lines):
            pdf.drawString(60, 780 - 18 * i, line)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def docx_bytes() -> bytes:
    """The report as a Word file: a heading, its paragraphs, and a two-row table."""
    import docx

    document = docx.Document()
    document.add_heading(TITLE, level=1)
    for line in REPORT[:5]:
        document.add_paragraph(line)
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    for line in REPORT[5:]:
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def stored(read: Read) -> list[str]:
    """The lines that would be stored: the read text with page furniture removed."""
    text, _, _ = remove_furniture(read.text)
    return text.splitlines()


def assert_is_the_report(lines: list[str]) -> None:
    for sentence in REPORT:
        assert sentence in lines, sentence
    for line in lines:
        assert not any(word in line for word in FURNITURE if line not in REPORT), line


def assert_table_between(lines: list[str], before: str, after: str) -> None:
    """The fixtures' table, a row a line with its cells tab-separated, where the file has it."""
    table = lines.index("指标\t增速")
    assert lines[table + 1] == "地区生产总值\t5.2%"
    assert lines[table - 1] == before and lines[table + 2] == after


def test_a_web_page_gives_its_article_headed_by_title_publisher_and_date() -> None:
    read = read_html(page(), html_to_text)
    assert read.file_format == "html" and read.extracted_with.startswith("trafilatura ")
    lines = stored(read)
    assert lines[0] == TITLE
    assert "来源：某市日报" in lines[1] and "2024-01-05" in lines[1]
    assert_is_the_report(lines)
    assert_table_between(lines, REPORT[4], REPORT[5])
    assert "var tracker" not in read.text and "政务公开" not in read.text


def test_a_page_titled_only_by_its_title_tag_loses_the_site_name() -> None:
    html = page().replace(f'<meta name="ArticleTitle" content="{TITLE}">', "")
    html = html.replace(f"<h1>{TITLE}</h1>", "")
    assert f"{TITLE}_" in html
    assert read_html(html, html_to_text).text.splitlines()[0] == TITLE


def test_a_page_trafilatura_finds_nothing_in_falls_back_to_the_visible_text() -> None:
    read = read_html('<html><body><img src="scan.png"></body></html>', lambda html: "fallback text\n")
    assert read == Read("fallback text\n", "html", "html.parser", 0)


def test_a_pdf_gives_its_text_layer_in_reading_order() -> None:
    read = read_pdf(pdf_bytes([TITLE, *REPORT]))
    assert read.file_format == "pdf" and read.extracted_with.startswith("pdfplumber ")
    lines = stored(read)
    assert lines[0] == TITLE
    assert_is_the_report(lines)
    assert read.layout_joins == 0 and read.text.endswith("\n") and "\r" not in read.text


def wrap(paragraph: str, width: float) -> list[str]:
    """The paragraph cut into lines of ``width`` Chinese characters (a digit is half one)."""
    lines, line, used = [], "", 0.0
    for ch in paragraph:
        w = 0.5 if ch.isascii() else 1.0
        if used + w > width:
            lines, line, used = [*lines, line], "", 0.0
        line, used = line + ch, used + w
    return [*lines, line]


def test_a_paragraph_the_pdf_broke_into_lines_is_one_line_again() -> None:
    paragraph = "".join(REPORT[3:7])  # four sentences, one paragraph
    lines = [TITLE, REPORT[2], *wrap(paragraph, 24), REPORT[7], REPORT[8]]
    assert len(lines) > 7
    read = read_pdf(pdf_bytes(lines))
    assert read.text.splitlines() == [TITLE, REPORT[2], paragraph, REPORT[7], REPORT[8]]
    assert read.reflowed_lines == len(lines) - 5


def test_a_page_number_under_a_paragraph_that_runs_on_is_cut_not_glued_to_the_prose() -> None:
    paragraph = "".join(REPORT[3:7])
    lines = wrap(paragraph, 24)[:-1]  # the page ends mid-sentence on a full line: it runs on
    read = read_pdf(pdf_bytes([TITLE, *lines, "- 1 -"]))
    assert read.text.splitlines() == [TITLE, "".join(lines)]
    assert (read.furniture_lines, read.furniture_text) == (1, "- 1 -")


def test_a_pdf_with_numbers_split_by_its_layout_is_joined_and_counted() -> None:
    read = read_pdf(pdf_bytes(["出口总额 1 6 5 5 亿美元，增长１２．５％。"]))
    assert read.text == "出口总额 1655亿美元，增长12.5%。\n"
    assert read.layout_joins == 2


def test_a_word_file_gives_paragraphs_and_table_rows_in_document_order() -> None:
    read = read_docx(docx_bytes())
    assert read.file_format == "docx" and read.extracted_with.startswith("python-docx ")
    lines = stored(read)
    assert lines[0] == TITLE
    assert_is_the_report(lines)
    assert_table_between(lines, REPORT[4], REPORT[5])


def test_a_scanned_pdf_is_unreadable_for_want_of_a_text_layer() -> None:
    with pytest.raises(Unreadable) as err:
        read_pdf(pdf_bytes([], scanned=True))
    assert "no text layer" in err.value.reason and "OCR" in err.value.reason


def test_a_password_protected_pdf_is_unreadable_as_encrypted() -> None:
    with pytest.raises(Unreadable) as err:
        read_pdf(pdf_bytes(REPORT, encrypt="secret"))
    assert "encrypted" in err.value.reason and "password" in err.value.reason


def test_a_pdf_encrypted_without_a_user_password_is_read() -> None:
    # Only the owner's permissions are set: any reader opens it, so it is not quarantined.
    assert REPORT[3] in read_pdf(pdf_bytes(REPORT, encrypt="")).text


@pytest.mark.parametrize("cut", [b"%PDF-1.4 not really a pdf", "half"])
def test_a_damaged_pdf_is_unreadable_as_damaged(cut: bytes | str) -> None:
    data = cut if isinstance(cut, bytes) else pdf_bytes(REPORT)[:300]
    with pytest.raises(Unreadable) as err:
        read_pdf(data)
    assert "damaged" in err.value.reason


def test_a_pdf_that_reads_past_its_time_budget_is_unreadable_as_too_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import flows.warehouse.formats as formats

    monkeypatch.setattr(formats, "PDF_SECONDS", -1.0)
    with pytest.raises(Unreadable, match="too slow to read"):
        read_pdf(pdf_bytes(REPORT))


def test_a_word_file_that_inflates_past_the_limit_is_not_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.warehouse.formats as formats

    data = docx_bytes()
    monkeypatch.setattr(formats, "DOCX_INFLATED_BYTES", len(data))  # its parts inflate to more
    with pytest.raises(Unreadable, match="inflates to"):
        read_docx(data)


def test_a_damaged_word_file_is_unreadable() -> None:
    with pytest.raises(Unreadable) as err:
        read_docx(docx_bytes()[:200])
    assert "damaged" in err.value.reason


def test_a_macro_enabled_word_file_is_unreadable_by_name_not_as_damaged() -> None:
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(docx_bytes())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as docm:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
                )
            docm.writestr(item, data)
    with pytest.raises(Unreadable) as err:
        read_docx(out.getvalue())
    assert "macro-enabled" in err.value.reason and "damaged" not in err.value.reason


def test_formats_are_sniffed_from_the_bytes_not_the_name() -> None:
    assert sniff_format(pdf_bytes(REPORT), ".txt") == "pdf"
    assert sniff_format(docx_bytes(), ".bin") == "docx"
    other_zip = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert sniff_format(other_zip.getvalue(), ".xlsx") is None
    assert sniff_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".doc") is None  # legacy .doc
    assert sniff_format("各位代表：".encode(), ".txt") is None
    assert sniff_format("附件格式：%PDF-1.4 或 Word。".encode(), ".txt") is None  # names the marker
    assert sniff_format(b"\xef\xbb\xbf\n" + pdf_bytes(REPORT), ".pdf") == "pdf"
    assert sniff_format(docx_bytes()[:200], ".docx") == "docx"  # broken: read_docx says so


def test_each_format_gives_the_extractor_the_figures_the_plain_text_gives() -> None:
    def figures(text: str) -> set[str]:
        return {str(m["text"]) for m in extract(remove_furniture(text)[0])}

    plain = figures("\n".join([TITLE, *REPORT]) + "\n")
    assert {"5.2%", "120亿元", "32条", "1.8万户"} <= plain
    wrapped = [TITLE, *REPORT[:3], *wrap("".join(REPORT[3:7]), 24), *REPORT[7:]]
    for read in (read_html(page(), html_to_text), read_pdf(pdf_bytes(wrapped)), read_docx(docx_bytes())):
        assert figures(read.text) == plain, read.file_format


@pytest.mark.parametrize("reader", [read_pdf, read_docx])
def test_a_mangled_file_gives_text_or_unreadable_never_another_error(reader: Callable[[bytes], Read]) -> None:
    good = pdf_bytes(REPORT) if reader is read_pdf else docx_bytes()
    rng = random.Random(26)
    for i in range(60):
        data = bytearray(good)
        if i % 3 == 0:
            data = data[: rng.randrange(len(data))]  # cut short
        elif i % 3 == 1:
            for _ in range(5):
                data[rng.randrange(len(data))] = rng.randrange(256)  # bytes flipped
        else:
            at = rng.randrange(len(data))
            del data[at : at + 50]  # a piece lost
        try:
            reader(bytes(data))
        except Unreadable as err:
            assert err.reason
