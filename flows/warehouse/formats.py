"""Reading reports as they arrive: web pages without their chrome, PDF and Word files.

Pure functions from bytes (or a decoded page) to a ``Read``: the text to store and how it
was got. No DuckDB, no Prefect; the heavy libraries (trafilatura, pdfplumber, python-docx)
are imported inside the functions that need them, so the command line starts as fast as
before for a folder of plain text.

The stored text is what every offset refers to, so each reader returns exactly the text
that is stored: ``"\\n"`` line ends, one paragraph (or PDF text line) per line. A file that
cannot give text raises ``Unreadable`` with a reason a person can act on; the caller turns
it into a quarantine row, as it does for any unreadable file.
"""

from __future__ import annotations

import io
import logging
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flows.warehouse.normalise import join_layout_splits, reflow_lines, remove_furniture

# trafilatura text shorter than this share of the page's visible text is called "found
# nothing": the main-text heuristics then latched onto a teaser or a caption, not the report,
# and the whole visible text (furniture is removed later, line by line) loses less.
MIN_MAIN_SHARE = 0.1
# A report's PDF reads in seconds (200 pages: 26 s on a busy 2-core machine); past this budget a
# file is quarantined rather than left to use up the reading task's time.
PDF_SECONDS = 300.0
# A .docx is a zip; a report's inflates to a few megabytes. Past this it is not read.
DOCX_INFLATED_BYTES = 256 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_PUBLISHER = re.compile(r"^(?:来源|信息来源|文章来源|稿件来源|发布机构|发文机关)\s*[:：]\s*(.*)$")
_SITE_NAME = re.compile(r"网$|网站|门户|政府$|人民政府|官网|频道|首页")
_CID = re.compile(r"\(cid:[0-9]+\)")


@dataclass(frozen=True)
class Read:
    """A file read as text: the text to store, and how it was got."""

    text: str  # the text to store ("\n" line ends)
    file_format: str  # 'txt' | 'html' | 'pdf' | 'docx'
    extracted_with: str  # the library and its version, e.g. 'pdfplumber 0.11.11', or 'html.parser'
    layout_joins: int = 0  # numbers normalise.join_layout_splits joined (PDF only)
    reflowed_lines: int = 0  # line breaks normalise.reflow_lines joined inside paragraphs (PDF only)
    furniture_lines: int = 0  # furniture lines the reader already removed (a PDF's page numbers)
    furniture_text: str = ""  # ... and those lines, one per line


class Unreadable(Exception):
    """A file of a known format that gives no text; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _version(package: str) -> str:
    """``package version`` as installed, recorded with each text so a change of library shows."""
    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:  # pragma: no cover - a vendored or renamed install
        return package


def sniff_format(data: bytes, suffix: str = "") -> str | None:
    """``'pdf'`` or ``'docx'`` when the bytes are one (whatever the name says), else None.

    A PDF starts with ``%PDF-`` (after white space or a byte-order mark, which some writers
    leave; a text that mentions the marker further on is not a PDF); a .docx is a ZIP archive
    holding ``word/document.xml``. Anything else, a legacy .doc (OLE) file included, is None:
    the caller decodes it as text or quarantines it as it always has. ``suffix`` decides
    nothing but a broken ZIP named ``.docx``: that is called 'docx', so that ``read_docx``
    says it is a damaged Word file rather than the caller calling it a ZIP archive.
    """
    if data.lstrip(b"\xef\xbb\xbf \t\r\n\x00")[:5] == b"%PDF-":
        return "pdf"
    if data.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except (zipfile.BadZipFile, OSError, ValueError):
            return "docx" if suffix.lower() == ".docx" else None  # read_docx says it is damaged
    return None


def _pdf_pages(pdf: Any) -> Iterator[str]:
    """Each page's text; a page's cached layout is freed once read, so memory stays flat.

    Raises ``Unreadable`` past ``PDF_SECONDS``: one pathological file must not use up the
    reading task's time and fail the run's other files with it.
    """
    deadline = time.monotonic() + PDF_SECONDS
    for number, page in enumerate(pdf.pages, 1):
        if time.monotonic() > deadline:
            raise Unreadable(
                f"a PDF too slow to read: {number - 1} pages took over {PDF_SECONDS:g} s "
                "(split it, or save it as text)"
            )
        try:
            yield page.extract_text() or ""
        finally:
            page.close()  # pdfplumber keeps every parsed page otherwise: a long PDF would not fit


def read_pdf(data: bytes) -> Read:
    """The PDF's text layer, page by page (joined with ``"\\n"``), numbers rejoined.

    Raises ``Unreadable`` for a PDF that needs a password, one that is damaged, and one
    with no text on any page (a scan: no OCR is done here). Each page's lines go through
    ``normalise.reflow_lines`` (a paragraph's lines become one line again; counted in
    ``reflowed_lines``), then the text through ``normalise.join_layout_splits`` (counted in
    ``layout_joins``).
    """
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    # pdfminer warns on every repair it makes to a damaged file ("Data-loss while
    # decompressing"); a run reports an unreadable file once, as a quarantine reason.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = list(_pdf_pages(pdf))
    except Unreadable:
        raise
    except Exception as exc:  # pdfplumber wraps pdfminer's errors in PdfminerException
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
        if isinstance(inner, PDFPasswordIncorrect | PDFEncryptionError):
            raise Unreadable(
                "an encrypted PDF: it needs a password to open (save it without one to read it)"
            ) from exc
        raise Unreadable(f"a damaged PDF: it could not be parsed ({type(inner).__name__})") from exc
    if not any(page.strip() for page in pages):
        what = f"{len(pages)} page{'s' if len(pages) != 1 else ''}" if pages else "no pages"
        raise Unreadable(f"a scanned PDF: no text layer ({what}, no text; OCR is not done)")
    chars = sum(len("".join(page.split())) for page in pages)
    if sum(len(m) for page in pages for m in _CID.findall(page)) > chars / 2:
        # Glyph numbers without a map to characters: the text layer exists but says nothing.
        raise Unreadable("a PDF whose fonts carry no character map: its text layer reads as (cid:N) codes")
    # A page's furniture (its number, a running footer) goes before the reflow: the page's last
    # line runs on into the next page, and reflowing would glue the footer onto the prose.
    cut = [remove_furniture(page.replace("\r\n", "\n").replace("\r", "\n").strip("\n")) for page in pages]
    reflowed = [reflow_lines(page) for page, _, _ in cut]
    text, joins = join_layout_splits("\n".join(page for page, _ in reflowed))
    removed = "\n".join(lines for _, n, lines in cut if n)
    return Read(
        text.strip() + "\n",
        "pdf",
        _version("pdfplumber"),
        joins,
        sum(n for _, n in reflowed),
        sum(n for _, n, _ in cut),
        removed,
    )


def _docx_blocks(document: Any) -> Iterator[str]:
    """Paragraphs and table rows in document order (a table row: its cells, tab-separated).

    A merged cell appears once per row it spans in python-docx; repeats within a row are
    dropped so a spanning heading is not read three times.
    """
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block.text
        elif isinstance(block, Table):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if value and (not cells or cells[-1] != value):
                        cells.append(value)
                yield "\t".join(cells)


def _one_line(block: str) -> str:
    """A paragraph on one line, its runs of white space one space (a table row keeps its tabs)."""
    return "\t".join(" ".join(cell.replace("\u3000", " ").split()) for cell in block.split("\t"))


def read_docx(data: bytes) -> Read:
    """A Word (.docx) file's paragraphs and table rows, in document order, one per line.

    Raises ``Unreadable`` for a damaged file and for one with no text at all.
    """
    import docx

    try:  # the inflated size, before anything is inflated: a small zip can hold gigabytes
        inflated = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        inflated = 0  # python-docx says what is wrong with it below
    if inflated > DOCX_INFLATED_BYTES:
        raise Unreadable(
            f"a Word file that inflates to {inflated:,} bytes, over the limit of "
            f"{DOCX_INFLATED_BYTES:,} (a zip bomb, or far larger than a report)"
        )
    try:
        document = docx.Document(io.BytesIO(data))
        lines = [_one_line(block) for block in _docx_blocks(document)]
    except ValueError as exc:
        if "content type" not in str(exc):
            raise Unreadable(f"a damaged Word file: it could not be opened ({type(exc).__name__})") from exc
        kind = str(exc).rsplit("content type is ", 1)[-1].strip("'")
        why = f"a Word file of a kind that is not read (macro-enabled or a template: {kind})"
        raise Unreadable(why) from exc
    except Exception as exc:  # python-docx raises a zoo: BadZipFile, KeyError, lxml errors
        raise Unreadable(f"a damaged Word file: it could not be opened ({type(exc).__name__})") from exc
    text = "\n".join(line for line in lines if line)
    if not text.strip():
        raise Unreadable("a Word file with no text (its pages may be images)")
    return Read(text + "\n", "docx", _version("python-docx"), 0)


def _states_date(html: str, date: str) -> bool:
    """Whether the page writes ``date`` (``YYYY-MM-DD``) itself, in any usual spelling.

    trafilatura's date may be inferred (from a URL, a file time); only a stated one is put
    in the text, since downstream reads the text's date as the report's.
    """
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", date)
    if not m:
        return False
    y, mo, d = m.groups()
    spellings = [f"{y}{sep}{mo}{sep}{d}" for sep in "-/."]
    spellings += [f"{y}年{mo}月{d}日", f"{y}年{int(mo)}月{int(d)}日"]
    return any(s in html for s in spellings)


def _clean_title(title: str) -> str:
    """The page's title without the site's name that a ``<title>`` appends (``X_某市人民政府``)."""
    parts = re.split(r"\s*(?:_|｜|\||\s-\s|——)\s*", " ".join(title.split()))
    while len(parts) > 1 and _SITE_NAME.search(parts[-1]):
        parts.pop()
    return "_".join(parts).strip()


def _page_header(html: str, visible: str, first_body: str, title: str | None, date: str | None) -> list[str]:
    """The first lines: the title, then ``来源：X  date`` as far as the page states them.

    trafilatura returns the article without them, but title and date detection downstream
    reads them off the text's first lines, as they stand in a page's own text.
    """
    publisher = None
    lines = visible.splitlines()
    if first_body in lines:  # the page's head, above the article: a 来源 in its prose is not taken
        lines = lines[: lines.index(first_body)]
    for i, line in enumerate(lines):
        m = _PUBLISHER.match(line.strip())
        if m:
            value = m.group(1).strip() or (lines[i + 1].strip() if i + 1 < len(lines) else "")
            value = re.split(r"\s{2,}|\s(?=(?:发布|时间|日期|作者|责任编辑|浏览|阅读))", value)[0].strip()
            if 0 < len(value) <= 40:
                publisher = value
                break
    if publisher is None:
        m = re.search(r'<meta[^>]+name="ContentSource"[^>]+content="([^"]{1,40})"', html[:20000])
        publisher = m.group(1).strip() if m else None
    title = _clean_title(title or "")
    header = [title] if title else []
    stated = date if date and _states_date(html, date) else None  # a date the page shows, not a guess
    source = "  ".join(p for p in (f"来源：{publisher}" if publisher else None, stated) if p)
    return [*header, *([source] if source else [])]


def _html_line(line: str) -> str:
    """One line of trafilatura's text; a table row (``| a | b |``) as tab-separated cells.

    Tab-separated, as ``read_docx`` writes a row, so a table reads the same from either; a
    Markdown rule line (``|---|``) is dropped.
    """
    line = " ".join(line.split())
    if len(line) > 1 and line[0] == "|" and line[-1] == "|":
        if not line.strip("|-: "):
            return ""
        return "\t".join(cell.strip() for cell in line[1:-1].split(" | "))
    return line


# Inline formatting inside a sentence. trafilatura puts each such element on a line of its own
# (投资额<b>1975</b>亿元 came out as three lines), which cuts a figure off from its unit and its
# sentence; unwrapped first, their text stays where it was.
# (Not <sup>/<sub>: 10<sup>4</sup> unwrapped would read as 104.)
_INLINE_TAGS = ("b", "strong", "em", "i", "u", "font", "span", "small", "big", "mark")


def _inline_unwrapped(html: str) -> Any:
    """The page as an lxml tree with inline formatting tags unwrapped and ``<noscript>`` gone."""
    import lxml.html
    from lxml import etree

    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return html  # trafilatura says what it can of it, or the fallback does
    etree.strip_tags(tree, *_INLINE_TAGS)
    etree.strip_elements(tree, "noscript", with_tail=False)
    return tree


def read_html(html: str, fallback: Callable[[str], str]) -> Read:
    """A web page's main text (trafilatura), headed by its title, publisher and date.

    ``fallback`` (``ingest.html_to_text``: every visible line) is used when trafilatura
    finds nothing, or a text under ``MIN_MAIN_SHARE`` of the visible text; ``extracted_with``
    then says ``html.parser``. Furniture left in either is for ``normalise.remove_furniture``.
    """
    visible = fallback(html)
    try:
        from trafilatura import bare_extraction

        doc = bare_extraction(
            _inline_unwrapped(html), with_metadata=True, include_comments=False, include_tables=True
        )
    except Exception:  # a page trafilatura's lxml cannot take: the standard parser still can
        doc = None
    main = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    share = len("".join(main.split())) / max(1, len("".join(visible.split())))
    if not main or share < MIN_MAIN_SHARE:
        return Read(visible, "html", "html.parser", 0)
    body = [_html_line(line) for line in main.replace("\r\n", "\n").splitlines()]
    body = [line for line in body if line]
    if not body:
        return Read(visible, "html", "html.parser", 0)
    header = _page_header(html, visible, body[0], getattr(doc, "title", None), getattr(doc, "date", None))
    if header and body[0] == header[0]:
        header = header[1:]  # the article already starts with its title
    if any(_PUBLISHER.match(line) for line in body[:3]):  # and states its source itself
        header = [line for line in header if not line.startswith("来源：")]
    return Read("\n".join([*header, *body]) + "\n", "html", _version("trafilatura"), 0)
