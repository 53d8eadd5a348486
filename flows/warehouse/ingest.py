"""Reading input files: decode, hash, flag the script, and quarantine what cannot be read.

Nothing is dropped silently: every entry below the input folder ends as a
document or as a quarantine row whose reason says in plain words what is wrong
with it, and ``read_files`` never raises, so one bad file cannot stop a run.
The only entries skipped on purpose are hidden ones (a name starting with a dot:
editor backups, ``.DS_Store``, a warehouse's lock file).

A file becomes text by its bytes, not its name (``to_text``): a PDF's text layer,
a Word file's paragraphs and tables, a web page's article (``flows.warehouse.formats``);
anything else is decoded, in order:

1. nothing but whitespace → quarantined (empty);
2. larger than ``MAX_BYTES`` → quarantined without being read whole, so a huge
   file costs nothing (a report is a few hundred kilobytes; past the limit the
   extractor would take minutes);
3. a known binary signature (images, archives, legacy Office, executables) →
   quarantined, naming what the file looks like;
4. a byte-order mark decides (UTF-8, UTF-16, UTF-32);
5. UTF-8 if the bytes are valid UTF-8 (random bytes almost never are) and hold
   no NUL;
6. otherwise charset-normalizer picks the reading that is least chaotic among
   UTF-16 (when NUL bytes show it), GB18030 (a superset of GBK and GB2312) and
   Big5 (CP950); when every reading is noise the file is quarantined as garbled,
   because both Chinese decoders accept nearly any byte pair and a wrong guess
   is silent garbage.

After decoding, control characters mean binary; an HTML page is reduced to its
article (trafilatura; the standard library's parser gives the visible text when
no article is found). Line ends become ``\\n`` and whole lines of page furniture
go (``flows.warehouse.normalise``); that text is what is stored, so every offset
refers to it. The script (simplified or traditional) is decided by the share of
traditional-only characters, as OpenCC's conversion table defines them.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

# A report is a few hundred kilobytes; the largest seed is 96 KB. Past this the extractor would
# run for minutes on one file, so the file is quarantined instead (it is not even read whole).
MAX_BYTES = 16 * 1024 * 1024
# A document is 'traditional' when at least this share of its Han characters (and at least
# TRADITIONAL_MIN_COUNT of them) are traditional-only. Simplified reports score 0 (seeds: 0 of
# 58,000); traditional prose scores 0.2-0.35, so any threshold in between works.
TRADITIONAL_MIN_SHARE = 0.05
TRADITIONAL_MIN_COUNT = 3
_BLOCK = 256  # files read into Python before they become a frame
FIRST_BYTES = 16

RAW_SCHEMA = {
    "document_id": pl.String,
    "content_sha256": pl.String,
    "source_path": pl.String,
    "file_name": pl.String,
    "size_bytes": pl.Int64,
    "modified_ns": pl.Int64,
    "encoding": pl.String,
    "script": pl.String,
    "ingested_at": pl.Datetime("us"),
    "text": pl.String,
}
# How each file was read (sql/014_formats.sql): named once, for raw_documents, its versions
# and the warehouse's state.
FORMAT_SCHEMA = {
    "file_format": pl.String,
    "file_sha256": pl.String,
    "extracted_with": pl.String,
    "furniture_lines": pl.Int32,
    "furniture_text": pl.String,
    "layout_joins": pl.Int32,
}
RAW_SCHEMA |= FORMAT_SCHEMA
QUARANTINE_SCHEMA = {
    "source_path": pl.String,
    "reason": pl.String,
    "size_bytes": pl.Int64,
    "first_bytes_hex": pl.String,
    "quarantined_at": pl.Datetime("us"),
}

# Magic numbers of files that are not text, whatever their name says.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an .xlsx/.pptx Office file, which is one; .docx files are read)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.doc/.xls/.ppt)"),
    (b"{\\rtf", "an RTF document (save it as plain text)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"RIFF", "a RIFF media file (WAV/AVI/WebP)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a Linux program (ELF)"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
# Signatures too short to trust alone: they count only with a NUL byte near the start.
_WEAK_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program"),
    (b"BZh", "a bzip2 archive"),
    (b"BM", "a BMP image"),
)


class _TextOnly(HTMLParser):
    """Collects the text of an HTML page, skipping scripts and styles, keeping block breaks."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
    _BLOCK = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "tr",
            "td",
            "th",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "section",
            "article",
            "title",
            "header",
            "footer",
            "nav",
            "main",
            "aside",
            "blockquote",
            "pre",
            "hr",
            "dl",
            "dt",
            "dd",
            "figcaption",
            "form",
            "center",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <svg/>: a self-closing tag opens nothing, so it must not start a skipped region.
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page; the stored text is this, so offsets refer to it.

    Runs of white space inside a line collapse to one space and empty lines go,
    because markup indentation is not part of the report.
    """
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(line for line in lines if line).strip()
    return text + "\n" if text else ""


@dataclass(frozen=True)
class Decoded:
    """The outcome of decoding one file's bytes."""

    text: str | None
    encoding: str | None
    reason: str | None  # why it was quarantined, when text is None


def _binary_kind(data: bytes) -> str | None:
    """What a file is when its first bytes are a known non-text signature, else None."""
    if data[8:12] == b"DUCK":  # DuckDB keeps its magic at offset 8
        return "a DuckDB database"
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    for magic, kind in _WEAK_SIGNATURES:
        if data.startswith(magic) and b"\x00" in data[:4096]:
            return kind
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")  # below 32, less \t \n \v \f \r and \x1a
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _control_share(text: str) -> float:
    sample = text[:100_000]
    return len(_CONTROL.findall(sample)) / max(1, len(sample))


def _detected(data: bytes, utf16: bool) -> tuple[str, str] | None:
    """``(text, encoding)`` as charset-normalizer reads bytes that are not UTF-8, or None (garbled).

    The candidates are the encodings Chinese reports come in: UTF-16 when NUL bytes
    show it (NULs never occur in the others, and Shift-JIS or Latin-1 can pass for
    UTF-16 otherwise), else GB18030 (a superset of GBK and GB2312) and Big5 (CP950).
    charset-normalizer decodes with each and measures how chaotic the result reads;
    it returns nothing when every reading is noise (binary data, Japanese, Latin-1).
    A tie goes to GB18030: a handful of characters can read as either.
    """
    from charset_normalizer import from_bytes  # imported on first use: most files are UTF-8

    candidates = ["utf_16_le", "utf_16_be"] if utf16 else ["gb18030", "cp950"]
    matches = from_bytes(data, cp_isolation=candidates)
    best = matches.best()
    if best is None:
        return None
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    chosen = next((m for m in tied if m.encoding == "gb18030"), best)
    encoding = chosen.encoding.replace("_", "-")
    return str(chosen), encoding


def _checked(text: str, encoding: str) -> Decoded:
    """Reject decoded text that is really binary (NUL or many control characters)."""
    if "\x00" in text or _control_share(text) > 0.01:
        return Decoded(
            None, None, f"binary content: NUL or control characters where text should be (read as {encoding})"
        )
    return Decoded(text, encoding, None)


def decode(data: bytes, max_bytes: int = MAX_BYTES) -> Decoded:
    """Decode report bytes into text, recording the encoding, or say why they are not text."""
    if not data.strip():
        return Decoded(None, None, "empty file (no text at all)" if not data else "only white space, no text")
    if len(data) > max_bytes:
        return Decoded(None, None, _too_large(len(data), max_bytes))
    kind = _binary_kind(data)
    if kind:
        return Decoded(None, None, f"not a text file: it looks like {kind}")
    for bom, enc, name in (
        (b"\xff\xfe\x00\x00", "utf-32", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8-sig", "utf-8-sig"),
        (b"\xff\xfe", "utf-16", "utf-16-le"),
        (b"\xfe\xff", "utf-16", "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return _checked(data.decode(enc), name)
            except UnicodeDecodeError:
                return Decoded(None, None, f"starts with a {name} byte-order mark but is not valid {name}")
    utf16 = not len(data) % 2 and b"\x00" in data[:65536]
    if not utf16:
        try:  # valid UTF-8 is almost never an accident, however short
            return _checked(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            pass
    detected = _detected(data, utf16)
    if detected is None and utf16:
        return Decoded(
            None, None, "not readable as text: it holds NUL bytes but does not read as UTF-16 (binary data)"
        )
    if detected is None:
        return Decoded(
            None,
            None,
            "not readable as text: every reading as UTF-8, UTF-16, GB18030/GBK or Big5 is garbled "
            "(binary data, or another encoding such as Latin-1 or Shift-JIS)",
        )
    return _checked(*detected)


def _too_large(size: int, limit: int) -> str:
    mib = f" ({limit / (1024 * 1024):g} MiB)" if limit >= 1024 * 1024 else ""
    return f"file too large: {size:,} bytes, over the limit of {limit:,} bytes{mib} for one report"


@cache
def traditional_chars() -> frozenset[str]:
    """The traditional-only Han characters, as OpenCC's traditional→simplified table defines them.

    A character is traditional-only when OpenCC simplifies it and it is not itself in
    GB2312, the simplified character set (so 著, 乾 and 干, which simplified text
    uses, do not count). Derived once per process, in about a tenth of a second.
    """
    import opencc  # imported on first use: a run with no documents needs none of it

    chars = [chr(o) for o in range(0x3400, 0xA000)] + [chr(o) for o in range(0xF900, 0xFB00)]
    simplified = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    return frozenset(ch for ch, s in zip(chars, simplified, strict=True) if s != ch and not _in_gb2312(ch))


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


_HAN_CLASS = "[\u3400-\u9fff\uf900-\ufaff]"  # _HAN, for Polars' regex engine


@cache
def _traditional_class() -> str:
    """The traditional-only Han characters as one regex class (Han characters need no escape)."""
    han = [ch for ch in traditional_chars() if _HAN.fullmatch(ch)]  # counted among Han characters only
    return "[" + "".join(sorted(han)) + "]"


def script_of(text: str) -> str:
    """``traditional``, ``simplified`` or ``none`` (no Han characters to judge by): ``script_expr``
    on one text."""
    return str(pl.DataFrame({"text": [text]}).select(script_expr("text")).item())


def script_expr(column: str = "text") -> pl.Expr:
    """``traditional``, ``simplified`` or ``none`` for each text of ``column``, as a Polars expression.

    A character-frequency rule over the first 200,000 characters: the share of Han characters
    that are traditional-only. Simplified text has none, bar a stray name; traditional prose
    has one in four or five, so the rule needs no dictionary. Counted by Polars' regex engine
    over the whole column at once: Python's ``re`` took two thirds of ingest's time.
    """
    sample = pl.col(column).str.slice(0, 200_000)
    # Han characters are most of a report, and counting matches costs per match: so count the
    # others and subtract (the same number, four times faster on 100 MB).
    han = sample.str.len_chars() - sample.str.count_matches(f"[^{_HAN_CLASS[1:-1]}]")
    traditional = sample.str.count_matches(_traditional_class())
    return (
        pl.when(han == 0)
        .then(pl.lit("none"))
        .when((traditional >= TRADITIONAL_MIN_COUNT) & (traditional / han >= TRADITIONAL_MIN_SHARE))
        .then(pl.lit("traditional"))
        .otherwise(pl.lit("simplified"))
        .alias("script")
    )


def _looks_like_html(text: str, suffix: str = "") -> bool:
    head = text[:2000].lower()
    if "<html" in head or "<!doctype html" in head or ("<body" in head and "</" in head):
        return True
    return suffix.lower() in {".html", ".htm", ".xhtml", ".shtml"} and "</" in head and ">" in head


def list_files(folder: Path) -> list[Path]:
    """Every entry below ``folder`` that is not a folder, sorted; hidden entries skipped.

    Paths are under the *resolved* folder but the entries themselves are not
    resolved, so two links to one file are two paths (one document), and a
    broken link, a pipe or a link to a folder is listed and later quarantined
    rather than vanishing.
    """
    root = folder.resolve()
    return sorted(
        root / p.relative_to(folder)
        for p in folder.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not (p.is_dir() and not p.is_symlink())
    )


def read_folder(
    folder: Path, max_bytes: int | None = None, known: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read every file below ``folder``; see ``read_files``."""
    return read_files(list_files(folder), max_bytes=max_bytes, known=known)


def read_paths(paths: list[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read files and folders given on a command line."""
    files: list[Path] = []
    for p in paths:
        files.extend(list_files(p) if p.is_dir() else [p])
    return read_files(files)


def path_text(path: Path) -> str:
    """The path as stored: absolute, and representable even when the name is not valid UTF-8.

    Linux names are bytes; a GBK-encoded name from a Windows archive would
    reach Python as lone surrogates, which no table can hold. Those bytes are
    written as ``\\xNN`` instead, the same way on every run, so the path stays a
    stable key.
    """
    text = os.path.abspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = os.fsencode(text).decode("utf-8", errors="backslashreplace")
    return text


def read_files(
    paths: list[Path], max_bytes: int | None = None, known: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and decode files. Returns ``(raw_documents, quarantine)``.

    A file that cannot be read becomes a quarantine row; this never raises. The
    same path given twice is read once.

    ``known`` (``flows.warehouse.state.known_files``: the warehouse's current rows, without
    their text) lets a file be skipped: when its path, size and modification time
    (``st_mtime_ns``) are those of a known row, that row comes back, with a null ``text`` and
    this run's ``ingested_at``, and the file is not read. That is the test ``make`` and
    ``rsync`` rely on; a file rewritten with the same size within the same nanosecond is the
    case it cannot see (``--full-refresh`` reads everything). An unchanged re-run of 4,000
    files (100 MB) read them all in about 3 s; it now only looks at them.
    """
    limit = MAX_BYTES if max_bytes is None else max_bytes
    now = datetime.now(UTC).replace(tzinfo=None)
    docs: list[dict[str, object]] = []
    blocks: list[pl.DataFrame] = []
    bad: list[dict[str, object]] = []
    seen: set[str] = set()
    listed: list[str] = []
    skipped: list[str] = []
    stamps: dict[str, tuple[int, int]] = {}
    if known is not None and known.height:
        stamps = {
            p: (s, m)
            for p, s, m in known.select("source_path", "size_bytes", "modified_ns").iter_rows()
            if s is not None and m is not None
        }
    schema = {k: v for k, v in RAW_SCHEMA.items() if k != "script"}
    for path in paths:
        if len(docs) >= _BLOCK:  # a frame per block: the texts are not held twice, as str and in Arrow
            blocks.append(pl.DataFrame(docs, schema=schema))
            docs.clear()
        source = path_text(path)
        if source in seen:
            continue
        seen.add(source)
        listed.append(source)
        if source in stamps and _untouched(path, stamps[source], limit):
            skipped.append(source)
            continue
        try:
            row = _read_one(path, source, limit, now)
        except Exception as exc:  # never let one file stop the run
            reason = f"could not be processed: {type(exc).__name__}: {exc}"
            bad.append(_quarantined(source, reason, b"", 0, now))
            continue
        (docs if "text" in row else bad).append(row)
    blocks.append(pl.DataFrame(docs, schema=schema))
    raw = pl.concat(blocks).with_columns(script_expr("text")).select(list(RAW_SCHEMA))
    if skipped and known is not None:
        kept = (
            known.filter(pl.col("source_path").is_in(pl.Series(skipped, dtype=pl.String).implode()))
            .unique("source_path", keep="first")
            .with_columns(pl.lit(now).alias("ingested_at"), pl.lit(None, dtype=pl.String).alias("text"))
            .select([pl.col(c).cast(t) for c, t in RAW_SCHEMA.items()])
        )
        # In the order the files were listed, as if they had been read.
        order = pl.DataFrame({"source_path": listed}, schema={"source_path": pl.String})
        raw = order.join(pl.concat([raw, kept]), on="source_path", how="inner", maintain_order="left").select(
            list(RAW_SCHEMA)
        )
    return raw, pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)


@dataclass(frozen=True)
class Text:
    """A file turned into the text that is stored, and what was done to get it."""

    text: str
    encoding: str
    file_format: str
    extracted_with: str
    furniture_lines: int
    furniture_text: str
    layout_joins: int


def to_text(data: bytes, suffix: str, limit: int = MAX_BYTES) -> Text | str:
    """The text to store for a file's bytes, or why there is none (a sentence for the quarantine).

    By the bytes, not the name: a PDF's text layer (pdfplumber) with the numbers its layout
    split joined again; a Word file's paragraphs and tables (python-docx); otherwise the
    bytes are decoded and an HTML page is reduced to its article (trafilatura, else its
    visible text). Lines of page furniture (``seeds/page_furniture.csv``) are then
    removed from every format, and line ends become ``\\n``. Everything downstream refers
    to this text, so every offset slices it.
    """
    from flows.warehouse import formats, normalise

    kind = formats.sniff_format(data, suffix)
    try:
        if kind == "pdf":
            read = formats.read_pdf(data)
            encoding = "pdf"
        elif kind == "docx":
            read = formats.read_docx(data)
            encoding = "docx"
        else:
            decoded = decode(data, limit)
            if decoded.text is None:
                return decoded.reason or "unreadable"
            encoding = decoded.encoding or "utf-8"
            if _looks_like_html(decoded.text, suffix):
                read = formats.read_html(decoded.text, html_to_text)
                encoding = f"{encoding}+html"
                if not read.text.strip():
                    return "an HTML page with no visible text"
            else:
                read = formats.Read(decoded.text, "txt", f"decoded as {encoding}")
    except formats.Unreadable as exc:
        return exc.reason
    text = read.text.replace("\r\n", "\n").replace("\r", "\n")  # a PDF's numbers are joined by read_pdf
    text, furniture, removed = normalise.remove_furniture(text)
    if read.furniture_lines:  # the reader's own cut (a PDF's page numbers, before its reflow)
        furniture += read.furniture_lines
        removed = "\n".join(part for part in (read.furniture_text, removed) if part)
    if not text.strip():
        return "only white space, no text" if not furniture else "nothing but page furniture, no report text"
    return Text(text, encoding, read.file_format, read.extracted_with, furniture, removed, read.layout_joins)


def _untouched(path: Path, stamp: tuple[int, int], limit: int) -> bool:
    """True when ``path`` is a regular file of the known size and modification time."""
    try:
        st = path.stat()
    except OSError:
        return False  # read it: the reading says why it cannot be
    size, modified_ns = stamp
    return stat.S_ISREG(st.st_mode) and st.st_size == size and st.st_mtime_ns == modified_ns and size <= limit


def _read_one(path: Path, source: str, limit: int, now: datetime) -> dict[str, object]:
    """One file as a raw-documents row, or as a quarantine row (no ``text`` key)."""
    try:
        st = path.stat()
    except OSError as exc:
        why = "a broken link (its target does not exist)" if path.is_symlink() else exc.strerror or str(exc)
        return _quarantined(source, f"could not be read: {why}", b"", 0, now)
    if stat.S_ISDIR(st.st_mode):
        return _quarantined(source, "a link to a folder: links to folders are not followed", b"", 0, now)
    if not stat.S_ISREG(st.st_mode):
        return _quarantined(
            source, "not a regular file (a pipe, socket or device): it was not read", b"", 0, now
        )
    try:
        with path.open("rb") as fh:
            if st.st_size > limit:
                head = fh.read(FIRST_BYTES)
                return _quarantined(source, _too_large(st.st_size, limit), head, st.st_size, now)
            data = fh.read(limit + 1)
    except OSError as exc:
        return _quarantined(source, f"could not be read: {exc.strerror or exc}", b"", st.st_size, now)
    if len(data) > limit:  # it grew while we looked
        return _quarantined(source, _too_large(len(data), limit), data, len(data), now)
    read = to_text(data, path.suffix, limit)
    if isinstance(read, str):
        return _quarantined(source, read, data, len(data), now)
    text, encoding = read.text, read.encoding
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return {
        "document_id": digest[:16],
        "content_sha256": digest,
        "source_path": source,
        "file_name": source.rsplit(os.sep, 1)[-1],
        "size_bytes": len(data),
        "modified_ns": st.st_mtime_ns,
        "encoding": encoding,
        "ingested_at": now,
        "text": text,
        "file_format": read.file_format,
        "file_sha256": hashlib.sha256(data).hexdigest(),
        "extracted_with": read.extracted_with,
        "furniture_lines": read.furniture_lines,
        "furniture_text": read.furniture_text,
        "layout_joins": read.layout_joins,
    }


def _quarantined(source: str, reason: str, data: bytes, size: int, now: datetime) -> dict[str, object]:
    return {
        "source_path": source,
        "reason": reason,
        "size_bytes": size,
        "first_bytes_hex": data[:FIRST_BYTES].hex(" "),
        "quarantined_at": now,
    }


def quarantine_documents(
    raw: pl.DataFrame, quarantine: pl.DataFrame, reasons: dict[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Move the documents named in ``reasons`` (document id → why) from ``raw`` to quarantine.

    A document read fine but could not be extracted (it went over the run's memory ceiling):
    each of its files becomes a quarantine row with the reason, so that it is neither loaded
    half-done nor lost. Its first bytes are those of its decoded text.
    """
    if not reasons:
        return raw, quarantine
    ids = pl.Series(list(reasons), dtype=pl.String).implode()
    moved = raw.filter(pl.col("document_id").is_in(ids))
    rows = pl.DataFrame(
        [
            _quarantined(
                row["source_path"],
                reasons[row["document_id"]],
                (row["text"] or "").encode()[:FIRST_BYTES],
                int(row["size_bytes"] or 0),
                row["ingested_at"],
            )
            for row in moved.iter_rows(named=True)
        ],
        schema=QUARANTINE_SCHEMA,
    )
    return raw.filter(~pl.col("document_id").is_in(ids)), pl.concat(
        [quarantine, rows], how="vertical_relaxed"
    )
