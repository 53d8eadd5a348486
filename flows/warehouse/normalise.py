"""Normalising a report's text before it is stored: three documented, counted steps.

Each is a pure ``str → str`` function that also says how much it changed, so a run can
report it and a reader can check it; none touches DuckDB or Prefect.

* ``join_layout_splits`` (PDF text only): a PDF places glyphs, it does not store words,
  so its text layer splits numbers that the page shows whole: letter-spaced digits
  (``1 6 5 5 亿美元``), a line break inside a number or between a number and its unit,
  full-width digits (``１２．５％``). The extractor reads a number as one run of digits,
  so these are joined, conservatively: two separate numbers are never joined.
* ``reflow_lines`` (a PDF page's text only): a PDF breaks a paragraph into the page's
  lines, and the extractor ends a sentence at a line break, so a line that runs the full
  width of the page and does not end a sentence is joined to the next.
* ``remove_furniture`` (every format): a page scraped or saved from a government site
  carries its controls as lines of text (下载 打印 全屏 收藏, the 字号 control, share bars,
  breadcrumbs, footers). They are not part of the report, so whole lines that match
  ``seeds/page_furniture.csv`` are dropped, and the dropped lines are returned so that a
  run can show what went. A line that reads as prose is never dropped. ``furniture_spans``
  with ``shift_offset`` and ``unshift_offset`` carry an offset over the cut and back.

The stored text is the normalised one, so every offset of a fact refers to it and still
slices it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from flows.settings import SEEDS_DIR

FURNITURE_FILE = SEEDS_DIR / "page_furniture.csv"
# A matched line this long or longer is kept: furniture is short, and a pattern that matches
# a long line has probably matched prose.
FURNITURE_MAX_CHARS = 200
# A crumb of a breadcrumb split one link per line: the short line right after a separator (>).
CRUMB_MAX_CHARS = 16
# Sentence punctuation: a line holding one is prose, whatever pattern it matches.
_PROSE = re.compile(r"[。！？；!?;]")
_CRUMB_PUNCT = re.compile(r"[。，,；;！？!?、：:]")
_STRIP = " \t\u3000\u00a0\u200b\ufeff"  # white space of both widths, and the zero-width kinds
_BULLETS = "•·●▪"  # a list item's marker, as a page's text gives an <li>: not part of the line's words

SCOPES = ("anywhere", "beside", "separator")


@dataclass(frozen=True)
class Furniture:
    """The page-furniture rules of ``seeds/page_furniture.csv``, ready to match.

    ``scope`` decides when a matching line goes: ``anywhere``, ``beside`` (only in a block of
    furniture lines that holds an ``anywhere`` or ``separator`` line: a word such as 打印 or 大
    alone on a line is a page tool only next to other tools), ``separator`` (a breadcrumb's
    ``>``: it goes, and so does the short line after it, a crumb).
    """

    exact: dict[str, str]  # line → scope
    prefixes: tuple[tuple[str, str], ...]  # (prefix, scope)
    patterns: tuple[tuple[re.Pattern[str], str], ...]  # (regex, scope)

    def scope_of(self, line: str) -> str | None:
        """The scope of the first rule that matches the whole (stripped) line, or None."""
        scope = self.exact.get(line)
        if scope is not None:
            return scope
        if len(line) >= FURNITURE_MAX_CHARS or _PROSE.search(line):
            return None  # prose is never furniture, whatever a prefix or pattern says
        for prefix, scope in self.prefixes:
            if line.startswith(prefix):
                return scope
        for pattern, scope in self.patterns:
            if pattern.search(line):
                return scope
        return None


@lru_cache(maxsize=4)
def load_furniture(path: Path = FURNITURE_FILE) -> Furniture:
    """Read the furniture rules (``pattern, kind, match, scope, why``), cached per file.

    A malformed row (an unknown ``match`` or ``scope``, a regex that does not compile) raises
    here, at load, naming the row: reference data that silently matched nothing would hide
    the furniture it was written for.
    """
    exact: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    patterns: list[tuple[re.Pattern[str], str]] = []
    # Every column is text (as ledger_reference reads its seeds): a pattern must stay a string.
    rows = pl.read_csv(path, infer_schema=False).select("pattern", "match", "scope").iter_rows()
    for number, (pattern, match, scope) in enumerate(rows, start=2):
        if scope not in SCOPES:
            raise ValueError(f"{path.name} line {number}: scope {scope!r} is not one of {SCOPES}")
        if match == "exact":
            exact.setdefault(pattern.strip(_STRIP), scope)
        elif match == "prefix":
            prefixes.append((pattern, scope))
        elif match == "regex":
            try:
                patterns.append((re.compile(pattern), scope))
            except re.error as exc:
                raise ValueError(f"{path.name} line {number}: bad regex {pattern!r}: {exc}") from exc
        else:
            raise ValueError(f"{path.name} line {number}: match {match!r} is not exact, prefix or regex")
    return Furniture(exact, tuple(prefixes), tuple(patterns))


def _classify(lines: list[str], furniture: Furniture) -> list[str | None]:
    """Each line's furniture scope (None: not furniture, ``blank``: empty, ``crumb``)."""
    kinds: list[str | None] = []
    previous: str | None = None  # the kind of the last non-blank line
    for line in lines:
        stripped = line.strip(_STRIP)
        if not stripped:
            kinds.append("blank")
            continue
        kind = furniture.scope_of(stripped.lstrip(_BULLETS + _STRIP) or stripped)
        if (
            kind is None
            and previous == "separator"
            and len(stripped) <= CRUMB_MAX_CHARS
            and not _CRUMB_PUNCT.search(stripped)
        ):
            kind = "crumb"
        kinds.append(kind)
        previous = kind
    return kinds


def _dropped(lines: list[str], rules: Furniture) -> tuple[list[str | None], list[bool]]:
    """Each line's kind, and whether it goes (a furniture block holding an anchor line)."""
    kinds = _classify(lines, rules)
    drop = [False] * len(lines)
    run: list[int] = []  # indexes of the current block's furniture lines
    anchored = False

    def close() -> None:
        if anchored:
            for i in run:
                drop[i] = True
            for i in range(run[0], run[-1] + 1):  # the blank lines inside the block
                drop[i] = drop[i] or kinds[i] == "blank"

    for i, kind in enumerate(kinds):
        if kind == "blank":
            continue
        if kind is None:
            if run:
                close()
            run, anchored = [], False
            continue
        run.append(i)
        anchored = anchored or kind != "beside"
    if run:
        close()
    return kinds, drop


def remove_furniture(text: str, furniture: Furniture | None = None) -> tuple[str, int, str]:
    """Drop the whole lines of ``text`` that are page furniture.

    Returns ``(clean text, number of lines removed, the removed lines joined by "\\n")``.
    Lines are matched stripped of white space against ``seeds/page_furniture.csv`` (or
    ``furniture``); a block of consecutive furniture lines (blank lines between them do not
    break it) goes whole when it holds a line that is furniture on its own, and the blank
    lines inside it go with it. A line with sentence punctuation is never dropped by a
    prefix or a pattern, so prose that mentions 下载 or 打印 stays. Linear in the text.
    """
    lines = text.split("\n")
    kinds, drop = _dropped(lines, furniture or load_furniture())
    removed = [line for line, gone, kind in zip(lines, drop, kinds, strict=True) if gone and kind != "blank"]
    kept = [line for line, gone in zip(lines, drop, strict=True) if not gone]
    return "\n".join(kept), len(removed), "\n".join(removed)


def furniture_spans(text: str, furniture: Furniture | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` character spans of ``text`` that ``remove_furniture`` cuts, in order.

    Cutting them gives its clean text exactly; with ``shift_offset`` an offset into the
    original (a gold span of a file saved with its furniture) becomes one into the clean text.
    A line goes with the line end after it, or, at the end of the text, the one before it.
    """
    lines = text.split("\n")
    _, drop = _dropped(lines, furniture or load_furniture())
    last_kept = max((i for i, gone in enumerate(drop) if not gone), default=-1)
    spans: list[tuple[int, int]] = []
    start = 0
    for i, (line, gone) in enumerate(zip(lines, drop, strict=True)):
        end = start + len(line)
        if gone:
            span = (start, end + 1) if i < last_kept else (max(0, start - 1), end)
            if spans and spans[-1][1] >= span[0]:
                spans[-1] = (spans[-1][0], span[1])  # one span per run of cut lines
            else:
                spans.append(span)
        start = end + 1
    return spans


def shift_offset(offset: int, spans: list[tuple[int, int]]) -> int:
    """``offset`` into the original text as an offset into the text with ``spans`` cut.

    An offset inside a cut span maps to where the span was. Linear in the spans (a document
    has a handful).
    """
    shift = 0
    for start, end in spans:
        if start >= offset:
            break
        shift += min(end, offset) - start
    return offset - shift


def unshift_offset(offset: int, spans: list[tuple[int, int]]) -> int:
    """``offset`` into the text with ``spans`` cut as an offset into the original: ``shift_offset``
    undone. ``taizhang extract`` answers in the file's offsets with it (``flows/cli.py``)."""
    for start, end in spans:
        if start > offset:
            break
        offset += end - start
    return offset


# ---------------------------------------------------------------------------------------------
# Numbers split by a PDF's layout

_FULL_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_FULL_NUMBER = re.compile(r"[０-９](?:[０-９]|[．.](?=[０-９]))*(?:％)?|(?<=[0-9])％")
_SPACE = "[ \\t\u3000]"
# Single characters of a number spaced out by the layout: three or more (1 6 5 5), so that
# two numbers written side by side (第1 2, a year and a count) are left alone.
_LETTER_SPACED = re.compile(
    rf"(?<![0-9A-Za-z.第])[0-9](?:{_SPACE}[0-9.%](?![0-9A-Za-z])){{2,}}"
    rf"(?:{_SPACE}(?=[^\x00-\x7f\s]|%)|(?=[^\x00-\x7f\s]|%))"  # and the space before its unit
)


@lru_cache(maxsize=4)
def _unit_pattern(seeds_dir: Path = SEEDS_DIR) -> str:
    """A regex alternation of the units and multipliers a number may be followed by.

    From ``seeds/units.csv`` and ``seeds/multipliers.csv``, so a unit added there is joined
    here too; only those that do not start with an ASCII letter or digit (a Latin word after
    a number is more often the next word than its unit).
    """
    words: set[str] = set()
    for name in ("units.csv", "multipliers.csv"):
        words.update(w for w in pl.read_csv(seeds_dir / name, infer_schema=False)["written"] if w)
    kept = sorted((w for w in words if not w[0].isascii() or w[0] == "%"), key=lambda w: (-len(w), w))
    return "|".join(re.escape(w) for w in kept)


@lru_cache(maxsize=4)
def _break_pattern(seeds_dir: Path = SEEDS_DIR) -> re.Pattern[str]:
    """A line break after a digit (or a decimal point) before a digit, a point or a unit."""
    return re.compile(rf"(?<=[0-9.])\n(?=[0-9.]|(?:{_unit_pattern(seeds_dir)}))")


def _line_break_join(text: str, m: re.Match[str], units: re.Pattern[str]) -> bool:
    """Whether the line break at ``m`` is inside a number (or between a number and its unit).

    Conservative: the line before must hold more than the number (a line that is only a
    number is a page number or a list marker), the number must touch the text before it
    (after a space it is a table's column), and a number on the next line must go on into a
    unit, a decimal part or Chinese text, not a list marker (``2.`` ``2、``) or a space.
    """
    start = text.rfind("\n", 0, m.start()) + 1
    before = text[start : m.start()]
    head = before.rstrip("0123456789.")
    if not head.strip(_STRIP) or head[-1] in _STRIP:
        return False
    after = text[m.end() : m.end() + 40]
    if units.match(after):
        return before[-1] != "."  # 12.\n亿 is no number
    number = re.match(r"[0-9]*(?:\.[0-9]+)?", after)
    rest = after[number.end() if number else 0 :]
    if not number or not number.group() or not rest:
        return False
    if rest[0] in "、.．)）" and not (rest[0] in ".．" and rest[1:2].isdigit()):
        return False
    return bool(units.match(rest) or (not rest[0].isascii() and not rest[0].isspace()))


def join_layout_splits(text: str) -> tuple[str, int]:
    """Join the numbers a PDF's layout split; returns ``(text, joins)``.

    In order: full-width digits, points and percent signs become ASCII (``１２．５％`` →
    ``12.5%``; one join per number); letter-spaced digits close up (``1 6 5 5 亿美元`` →
    ``1655亿美元``); a space between a number and a Chinese unit goes (``5.2 %``, ``120 亿元``);
    a line break inside a number or between a number and its unit goes. Two numbers that
    stand apart (``2023 2024``, ``第1 2``, a year then a count) are not joined. Applying it
    twice changes nothing more.
    """
    joins = 0

    def count(replace: Callable[[re.Match[str]], str]) -> Callable[[re.Match[str]], str]:
        def wrapped(m: re.Match[str]) -> str:
            nonlocal joins
            new = replace(m)
            joins += new != m.group()
            return new

        return wrapped

    full_width = count(lambda m: m.group().translate(_FULL_DIGITS).replace("．", ".").replace("％", "%"))
    text = _FULL_NUMBER.sub(full_width, text)
    text = _LETTER_SPACED.sub(count(lambda m: re.sub(_SPACE, "", m.group())), text)
    units = _unit_pattern()
    text = re.sub(rf"(?<=[0-9]){_SPACE}(?=(?:{units}))", count(lambda m: ""), text)
    unit_start = re.compile(rf"(?:{units})")
    text = _break_pattern().sub(
        count(lambda m: "" if _line_break_join(m.string, m, unit_start) else m.group()), text
    )
    # Once more: a full-width sign that a join has just put after a digit (5 ％ → 5％).
    return _FULL_NUMBER.sub(full_width, text), joins


# ---------------------------------------------------------------------------------------------
# Paragraphs broken into a PDF page's lines

# A line at least this share of the page's widest line is "full": the text ran on to the next.
FULL_LINE_SHARE = 0.9
# A page with fewer lines than this has no paragraph to reflow (a title page, a chart).
MIN_REFLOW_LINES = 3
# A line ending here ends a sentence or introduces a list (closing quotes may follow).
_LINE_END = re.compile(r"[。！？；：!?;:…][”’」』）)]*$")
# The next line starts a heading or an item, which never continues the line before it.
_ITEM_START = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[.、．](?![0-9])"
    r"|第[一二三四五六七八九十百0-9]+[章节条部分]|[—－-]{2}|[①-⑳●■◆▲•])"
)
# A gap between two words that are not both Latin: Chinese prose has almost none, a table's
# row (columns set apart) has one per column; two or more mark a row, never joined.
_COLUMN_GAP = re.compile(r"(?<=[^\x00-\x7f]) +(?=\S)|(?<=\S) +(?=[^\x00-\x7f])|(?<=[0-9%]) +(?=[0-9])")
_NARROW = re.compile(r"[\x20-\u10ff\uff61-\uffdc]")  # Latin, digits, half-width forms


def _width(line: str) -> float:
    """A line's printed width in Chinese characters: a Latin letter or digit is half of one."""
    return len(line) - 0.5 * len(_NARROW.findall(line))


def reflow_lines(page: str) -> tuple[str, int]:
    """Join a PDF page's lines that a paragraph ran across; returns ``(text, joins)``.

    A line is joined to the next when it is full (at least ``FULL_LINE_SHARE`` of the page's
    widest line: Chinese text is set to the width of the column) and does not end a sentence
    (``。！？；：``), and the next line does not start a heading or an item (一、 （一） 1.).
    A short line, the last of a paragraph or a heading, is never joined, nor is a table's row
    (two or more gaps between words, which Chinese prose does not have). Latin words joined
    across the break keep a space between them; Chinese ones do not.
    """
    lines = page.split("\n")
    widths = [_width(line.strip()) for line in lines]
    if sum(1 for w in widths if w) < MIN_REFLOW_LINES:
        return page, 0
    full = FULL_LINE_SHARE * max(widths)
    out = [lines[0]]
    joins = 0
    for i in range(1, len(lines)):
        before, line = lines[i - 1].rstrip(), lines[i].lstrip()
        if (
            widths[i - 1] >= full
            and line
            and not _LINE_END.search(before)
            and not _ITEM_START.match(line)
            and len(_COLUMN_GAP.findall(before)) < 2
            and len(_COLUMN_GAP.findall(line)) < 2
        ):
            space = " " if before[-1:].isascii() and before[-1:].isalpha() and line[0].isascii() else ""
            out[-1] = out[-1].rstrip() + space + line
            joins += 1
        else:
            out.append(lines[i])
    return "\n".join(out), joins
