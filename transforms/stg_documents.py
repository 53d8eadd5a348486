"""``stg_documents``: one row per ingested document, with what its text says about itself.

Grain: one row per distinct document (content hash). Title, publisher (the issuing body) and
publish date come from the structures that reports share, whatever site or press they come
from, and each field says which structure gave it (``*_source``):

- ``title_line``: the title block above the body. Its lines are those before the salutation
  (各位代表：) or the first line of prose; page furniture, photo captions, the speaker's byline
  and date lines are never the title, and a line naming a report (关于…的通报, 政府工作报告) beats
  a kicker above it. The block also holds the date a speech was delivered
  (``——2026年1月27日在…会议上``) and a resolution's adoption line (``（…会议通过）``).
- ``signature``: the issuing body and date that close a notice (中共某市委 / 2022年8月16日).
- ``header``: the labelled fields of a web page (来源：, 发布日期：, 时间：); a newspaper or a
  website named as the source published the page but did not issue the report.
- ``body``: the opening of a speech names the body it reports for (我代表省人民政府…), which
  takes the region of the congress that heard it (在某省第十四届人民代表大会 → 某省人民政府).
- ``file``: the file name, only when the text states nothing: a title when the name names a
  report, and ``report_year``.

The publish date is the report's own date, the delivery line or the signature, before the
page's: a report reposted by three newspapers on three days is still the report of the day it
was delivered. A field the text does not state is null, with source ``none``. Every pattern is
a row of ``seeds/document_structure.csv`` (the ``structure`` column names its role).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

# A written date: Arabic, full-width or Chinese numerals, 年月日 or - / . (二〇二六年一月二十七日,
# 2026-02-02). Rows of document_structure.csv write it as {date}: in a row that reads a date it
# brings three groups (year, month, day); in a row that reads a name it groups nothing.
_DIGITS = "0-9０-９〇零一二三四五六七八九"
_DATE_FORM = "({y})\\s*[-年/.]\\s*({m})\\s*[-月/.]\\s*({m})\\s*日?"
DATE = _DATE_FORM.format(y=f"[{_DIGITS}]{{4}}", m=f"[{_DIGITS}十]{{1,3}}")
_DATE_UNGROUPED = DATE.replace("(", "(?:")
_HEAD_CHARS = 3000  # the title block and page header of every report read so far fit in 1,000
_HEAD_LINES = 60
_HEADER_CHARS = 800  # labelled page-header fields are searched this far
_MIN_TITLE, _MAX_TITLE = 6, 80
_EARLY = 8  # a named line among the first candidates beats the first line
_PROSE_CHARS = 120  # a line this long is prose, caption or not
_SENTENCE_END = r"[。！？；!?;…]$"
# A line that begins with sentence punctuation continues the line before: a page that set a
# link on its own line splits a sentence there (…所作的↵政府工作报告↵。会议充分肯定…).
_CONTINUES = r"^[。，、；！？》”,;!?]"
_STRIP = " \t\r\u3000\u00a0\u2022•"
_INVISIBLE = r"[\u200b-\u200f\u2060\ufeff]"
# Where a field came from, as *_source says it.
SOURCES = ("title_line", "signature", "header", "body", "file", "none")

# A publish date outside these bounds is a typo or not a publish date; it is dropped (null) here so
# that one odd document does not fail the critical date check and stop the whole load.
EARLIEST = dt.date(1949, 10, 1)


def patterns(structure: pl.DataFrame, name: str, date_groups: bool = True) -> list[str]:
    """The patterns of one structure, in file order, with ``{date}`` written out.

    With ``date_groups=False`` the date groups nothing, so that a row's own group is group 1.
    """
    date = DATE if date_groups else _DATE_UNGROUPED
    rows = structure.filter(pl.col("structure") == name)["pattern"].to_list()
    return [p.replace("{date}", date) for p in rows]


def alternation(structure: pl.DataFrame, name: str) -> str:
    """All patterns of a structure as one regex (dates ungrouped); one matching nothing if none."""
    found = patterns(structure, name, date_groups=False)
    return "|".join(f"(?:{p})" for p in found) if found else r"[^\s\S]"


def _number(part: pl.Expr) -> pl.Expr:
    """A date part in any numerals as an ASCII number: 二〇二六 → 2026, 二十七 → 27, ０２ → 02."""
    tens = (
        part.str.replace(r"^十$", "10")
        .str.replace(r"^十", "1")
        .str.replace(r"十$", "0")
        .str.replace_all("十", "")
    )
    return tens.str.replace_many(
        list("〇零一二三四五六七八九０１２３４５６７８９"), list("00123456789" + "0123456789")
    )


def _ymd(groups: pl.Expr) -> pl.Expr:
    """The date of a ``DATE`` match; an impossible (2021年13月45日) or implausible (2066年) one is null."""
    y, m, d = (_number(groups.struct.field(k)) for k in ("1", "2", "3"))
    date = pl.format("{}-{}-{}", y, m.str.zfill(2), d.str.zfill(2)).str.to_date("%Y-%m-%d", strict=False)
    latest = dt.date.today() + dt.timedelta(days=1)
    return pl.when(date.is_between(pl.lit(EARLIEST), pl.lit(latest))).then(date).otherwise(None)


def _first_date(column: pl.Expr, regexes: list[str]) -> pl.Expr:
    """The first valid date that one of the regexes finds, in their order."""
    return pl.coalesce([_ymd(column.str.extract_groups(r)) for r in regexes] + [pl.lit(None, pl.Date)])


def _first_capture(column: pl.Expr, regexes: list[str]) -> pl.Expr:
    """Group 1 of the first regex that matches, in their order."""
    return pl.coalesce([column.str.extract(r, 1) for r in regexes] + [pl.lit(None, pl.String)])


def _multiline(regexes: list[str]) -> list[str]:
    return [f"(?m){r}" for r in regexes]


def _sourced(candidates: list[tuple[pl.Expr, str]], name: str) -> list[pl.Expr]:
    """The first non-null candidate as ``name``, and the source that gave it as ``name_source``."""
    value = pl.coalesce([expr for expr, _ in candidates])
    source = pl.coalesce(
        [pl.when(expr.is_not_null()).then(pl.lit(src)) for expr, src in candidates] + [pl.lit("none")]
    )
    return [value.alias(name), source.alias(f"{name}_source")]


def _title_block(documents: pl.DataFrame, structure: pl.DataFrame) -> pl.DataFrame:
    """Per document: the title (``_title``) and the lines of the title block (``_block``).

    The block is every line above the body. The body starts at the salutation, at a line of
    prose (it ends a sentence and is not a caption, or runs past 120 characters), or at a
    line that the next one continues. A title the page wrapped (政府工作报 / 告) is joined.
    """
    line = pl.col("line")
    nxt = pl.col("_next")
    named = alternation(structure, "title_word")
    lines = (
        documents.select("document_id", pl.col("text").str.head(_HEAD_CHARS).str.split("\n").alias("line"))
        .explode("line")
        .with_columns(line.str.replace_all(_INVISIBLE, "").str.strip_chars(_STRIP))
        .filter(line.str.len_chars() > 0)
        .with_columns(pl.int_range(pl.len()).over("document_id").alias("_n"))
        .filter(pl.col("_n") < _HEAD_LINES)
        .with_columns(line.shift(-1).over("document_id").alias("_next"))
        .with_columns(nxt.str.contains(_CONTINUES).fill_null(False).alias("_continued"))
        .with_columns(
            # A line that ends without punctuation before a continued one starts that sentence.
            (
                pl.col("_continued")
                | line.str.contains(_CONTINUES)
                | (
                    ~line.str.contains(_SENTENCE_END)
                    & pl.col("_continued").shift(-1).over("document_id").fill_null(False)
                )
            ).alias("_fragment"),
            line.str.contains(alternation(structure, "caption")).alias("_caption"),
            pl.when(
                nxt.str.contains(r"^\p{Han}{1,2}$").fill_null(False)
                & ~line.str.contains(named)
                & (line + nxt).str.contains(named).fill_null(False)
            )
            .then(line + nxt)
            .otherwise(line)
            # A delivery line set after the title on its line (政府工作报告——2026年…) is not title.
            .str.replace(f"\\s*(?:{alternation(structure, 'occasion')}).*$", "")
            .alias("_title_text"),
        )
        .with_columns(
            (
                line.str.contains(alternation(structure, "salutation"))
                | pl.col("_fragment")
                | (line.str.contains(_SENTENCE_END) & ~pl.col("_caption"))
                | (line.str.len_chars() > _PROSE_CHARS)
            ).alias("_body")
        )
        .filter(~pl.col("_body").cum_max().over("document_id"))
    )
    block = lines.group_by("document_id", maintain_order=True).agg(
        pl.col("line").str.join("\n").alias("_block")
    )
    not_title = "|".join(f"(?:{alternation(structure, s)})" for s in ("furniture", "byline", "adoption"))
    title = pl.col("_title_text")
    titles = (
        lines.filter(
            title.str.len_chars().is_between(_MIN_TITLE, _MAX_TITLE)
            & ~pl.col("_caption")
            & ~title.str.contains(not_title)
            & ~title.str.contains(f"^{_DATE_UNGROUPED}")  # a date line; 2026年某省政府工作报告 is a title
            & ~line.str.contains(r"^[—―–─\-－]")  # a subtitle (——全市纪检监察机关…)
        )
        .with_columns(
            title.str.contains(named).alias("_named"),
            pl.int_range(pl.len()).over("document_id").alias("_order"),
        )
        .sort(
            ["document_id", pl.col("_named") & (pl.col("_order") < _EARLY), "_order"],
            descending=[False, True, False],
        )
        .group_by("document_id", maintain_order=True)
        .agg(title.first().alias("_title"))
    )
    return block.join(titles, on="document_id", how="left")


def _publisher(structure: pl.DataFrame) -> list[pl.Expr]:
    """``publisher`` and ``publisher_source``: header, signature, adoption line, or the opening.

    The opening's 省人民政府 takes the region of the delivery line, else of the title.
    """
    text = pl.col("text")
    block = pl.col("_block").fill_null("")
    media = alternation(structure, "media")
    labelled = [
        text.str.head(_HEADER_CHARS).str.extract(r, 1) for r in patterns(structure, "header_publisher")
    ]
    header = pl.coalesce(
        [pl.when(v.str.contains(media)).then(None).otherwise(v) for v in labelled] + [pl.lit(None, pl.String)]
    )
    signed = _first_capture(text, patterns(structure, "signature_publisher", date_groups=False))
    adopted_by = _first_capture(
        block, _multiline(patterns(structure, "adoption_publisher", date_groups=False))
    )
    region = pl.coalesce(
        _first_capture(block, _multiline(patterns(structure, "occasion_region", date_groups=False))),
        _first_capture(pl.col("_title"), patterns(structure, "title_region")),
    )
    spoken_for = _first_capture(text.str.head(_HEAD_CHARS), patterns(structure, "opening_publisher"))
    # 省人民政府 → 某省人民政府: the level word gives way to the region that ends in it.
    body = _first_capture(spoken_for, patterns(structure, "bare_level"))
    qualified = pl.when(body.is_not_null() & region.is_not_null()).then(region + body).otherwise(spoken_for)
    return _sourced(
        [
            (header, "header"),
            (signed, "signature"),
            (adopted_by, "title_line"),
            (qualified, "body"),
        ],
        "publisher",
    )


def stg_documents(documents: pl.DataFrame, structure: pl.DataFrame) -> pl.DataFrame:
    """Title, publisher, publish date and publish year, each with its source, and ``char_count``.

    ``documents`` has ``document_id, file_name, text``; ``structure`` is
    ``seeds/document_structure.csv`` (``structure, pattern, why``).
    """
    text = pl.col("text")
    block = pl.col("_block").fill_null("")
    stem = pl.col("file_name").str.replace(r"\.[^.]*$", "")
    signed = pl.concat_list(
        [text.str.extract_all(p) for p in patterns(structure, "signature_date", date_groups=False)]
    ).list.last()
    file_title = (
        pl.when(stem.str.contains(alternation(structure, "title_word")))
        .then(stem.str.replace_all(r"[_\s]+", " ").str.strip_chars())
        .otherwise(None)
    )
    delivered = _multiline([*patterns(structure, "occasion"), *patterns(structure, "adoption")])
    out = documents.join(_title_block(documents, structure), on="document_id", how="left").with_columns(
        *_sourced([(pl.col("_title"), "title_line"), (file_title, "file")], "title"),
        *_publisher(structure),
        *_sourced(
            [
                (_first_date(block, delivered), "title_line"),
                (_ymd(signed.str.extract_groups(DATE)), "signature"),
                (_first_date(text.str.head(_HEADER_CHARS), patterns(structure, "header_date")), "header"),
            ],
            "publish_date",
        ),
        text.str.len_chars().cast(pl.Int64).alias("char_count"),
    )
    file_year = _first_capture(stem, patterns(structure, "file_year")).cast(pl.Int32, strict=False)
    dated = pl.col("publish_date").is_not_null()
    out = out.with_columns(
        pl.coalesce(pl.col("publish_date").dt.year().cast(pl.Int32), file_year).alias("report_year"),
        pl.when(dated)
        .then(pl.col("publish_date_source"))
        .when(file_year.is_not_null())
        .then(pl.lit("file"))
        .otherwise(pl.lit("none"))
        .alias("report_year_source"),
    )
    return out.select(*STG_DOCUMENT_COLUMNS)


# The header fields a document states about itself, each beside its source; dim_document takes them.
HEADER_FIELDS = (
    "title",
    "title_source",
    "publisher",
    "publisher_source",
    "publish_date",
    "publish_date_source",
    "report_year",
    "report_year_source",
)
STG_DOCUMENT_COLUMNS = ("document_id", "file_name", *HEADER_FIELDS, "char_count")
