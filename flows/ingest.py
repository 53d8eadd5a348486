"""Reading input files: decode, hash, and quarantine what cannot be read.

Nothing is dropped silently: every file ends as a document or as a quarantine
row whose reason says in plain words what is wrong with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

MAX_BYTES = 200 * 1024 * 1024  # a single report is never this large; past it, quarantine
RAW_SCHEMA = {
    "document_id": pl.String,
    "content_sha256": pl.String,
    "source_path": pl.String,
    "file_name": pl.String,
    "size_bytes": pl.Int64,
    "encoding": pl.String,
    "ingested_at": pl.Datetime("us"),
    "text": pl.String,
}
QUARANTINE_SCHEMA = {
    "source_path": pl.String,
    "reason": pl.String,
    "size_bytes": pl.Int64,
    "first_bytes_hex": pl.String,
    "quarantined_at": pl.Datetime("us"),
}


class _TextOnly(HTMLParser):
    """Collects the text of an HTML page, skipping scripts and styles, keeping block breaks."""

    _BLOCK = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "title"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "noscript"}:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "noscript"}:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page; the stored text is this, so offsets refer to it."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line).strip() + "\n"


@dataclass(frozen=True)
class Decoded:
    text: str | None
    encoding: str | None
    reason: str | None  # why it was quarantined, when text is None


def decode(data: bytes) -> Decoded:
    """Decode report bytes: BOMs first, then UTF-8, then GB18030 (a superset of GBK/GB2312)."""
    if not data.strip():
        return Decoded(None, None, "empty file (no text at all)")
    if len(data) > MAX_BYTES:
        return Decoded(None, None, f"file too large ({len(data)} bytes, limit {MAX_BYTES})")
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text or _control_share(text) > 0.01:
            return Decoded(None, None, f"binary content: control characters in text decoded as {enc}")
        if enc == "utf-16":
            enc = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        return Decoded(text, enc, None)
    return Decoded(None, None, "not readable as text: neither UTF-8, UTF-16 nor GB18030/GBK")


def _control_share(text: str) -> float:
    sample = text[:100_000]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f\v")
    return bad / max(1, len(sample))


def _looks_like_html(text: str) -> bool:
    head = text[:2000].lower()
    return "<html" in head or "<!doctype html" in head or ("<body" in head and "</" in head)


def list_files(folder: Path) -> list[Path]:
    """Every file below ``folder``, sorted, hidden files and folders skipped."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def read_folder(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read every file below ``folder``; see ``read_files``."""
    return read_files(list_files(folder))


def read_paths(paths: list[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read files and folders given on a command line."""
    files: list[Path] = []
    for p in paths:
        files.extend(list_files(p) if p.is_dir() else [p])
    return read_files(files)


def read_files(paths: list[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and decode files. Returns ``(raw_documents, quarantine)``.

    A file that cannot be read becomes a quarantine row; this never raises.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    docs: list[dict[str, object]] = []
    bad: list[dict[str, object]] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            bad.append(_quarantined(path, f"could not be read: {exc.strerror or exc}", b"", now))
            continue
        decoded = decode(data)
        if decoded.text is None:
            bad.append(_quarantined(path, decoded.reason or "unreadable", data, now))
            continue
        text, encoding = decoded.text, decoded.encoding or "utf-8"
        if _looks_like_html(text):
            text, encoding = html_to_text(text), f"{encoding}+html"
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            bad.append(_quarantined(path, "no text left after removing markup", data, now))
            continue
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        docs.append(
            {
                "document_id": digest[:16],
                "content_sha256": digest,
                "source_path": str(path.resolve()),
                "file_name": path.name,
                "size_bytes": len(data),
                "encoding": encoding,
                "ingested_at": now,
                "text": text,
            }
        )
    return pl.DataFrame(docs, schema=RAW_SCHEMA), pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)


def _quarantined(path: Path, reason: str, data: bytes, now: datetime) -> dict[str, object]:
    return {
        "source_path": str(path.resolve()),
        "reason": reason,
        "size_bytes": len(data),
        "first_bytes_hex": data[:16].hex(" "),
        "quarantined_at": now,
    }
