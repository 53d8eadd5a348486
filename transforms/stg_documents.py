"""``stg_documents``: one row per ingested document, with what its text says about itself.

Grain: one row per distinct document (content hash). Title, publisher and
publish date come from rules over the text (header fields such as 来源/发布机构/
发布日期, or the dated signature at the end), never from file names, so they
work on pages from any site. A field the text does not state stays null.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

# Lines that are page furniture, not a title.
_FURNITURE = r"当前位置|网站|政务邮箱|字号|字体|扫一扫|发布机构|发布日期|来源[:：]|浏览|打印|关闭|首页|分享"
_TITLE_WORDS = r"关于.*(?:通报|报告|情况|公告|意见|方案|决定|通知)|工作报告|进展情况"
_DATE_LINE = r"(?m)^[ \t\u3000]*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日[ \t\u3000]*$"


# A publish date outside these bounds is a typo or not a publish date; it is dropped (null) here so
# that one odd document does not fail the critical date check and stop the whole load.
EARLIEST = dt.date(1949, 10, 1)


def _ymd(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    """A date from text fields; an impossible (2021年13月45日) or implausible (2066年) one is null."""
    date = pl.format("{}-{}-{}", y, m.str.zfill(2), d.str.zfill(2)).str.to_date("%Y-%m-%d", strict=False)
    latest = dt.date.today() + dt.timedelta(days=1)
    return pl.when(date.is_between(pl.lit(EARLIEST), pl.lit(latest))).then(date).otherwise(None)


def stg_documents(documents: pl.DataFrame) -> pl.DataFrame:
    """Derive ``title``, ``publisher``, ``publish_date`` and ``char_count`` for each document."""
    head = pl.col("text").str.head(600)
    lines = (
        documents.select("document_id", pl.col("text").str.head(2000).str.split("\n").alias("line"))
        .explode("line")
        .with_columns(pl.col("line").str.strip_chars(" \t\r\u3000\u2022•"))
        .filter(
            pl.col("line").str.len_chars().is_between(6, 80)
            & ~pl.col("line").str.contains(_FURNITURE)
            & ~pl.col("line").str.contains(r"[。；;]$|^\d{4}\s*[年\-/]|https?://|^[—\-]")
        )
        .with_columns(
            # A line that names a report (关于…的通报) beats an earlier kicker or banner.
            pl.col("line").str.contains(_TITLE_WORDS).alias("_named"),
            pl.int_range(pl.len()).over("document_id").alias("_order"),
        )
        .with_columns((pl.col("_order") < 8).alias("_early"))
        .sort(["document_id", pl.col("_named") & pl.col("_early"), "_order"], descending=[False, True, False])
        .group_by("document_id", maintain_order=True)
        .agg(pl.col("line").first().alias("title"))
    )
    # A header date is labelled (发布日期: 2022-08-04) or stands alone at the head of a line
    # (2022年08月16日 来源: …); a sentence that opens with a date goes on with a comma and is not one.
    header_date = (
        pl.col("text")
        .str.head(800)
        .str.extract_groups(
            r"(?m)(?:发布(?:日期|时间)\s*[:：]\s*|^[ \t\u3000]*)"
            r"(\d{4})[-年/.](\d{1,2})[-月/.](\d{1,2})日?(?:[ \t\u3000]|$)"
        )
    )
    sig_date = (
        pl.col("text")
        .str.extract_all(_DATE_LINE)
        .list.last()
        .str.extract_groups(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})")
    )
    out = documents.with_columns(
        pl.coalesce(
            head.str.extract(r"来源\s*[:：]\s*([^\s|｜]{2,40})", 1),
            head.str.extract(r"发布机构\s*[:：]\s*([^\s|｜]{2,40})", 1),
            pl.col("text").str.extract(
                r"(?m)^[ \t\u3000]*([^\s，,。：:]{2,30}(?:委员会|委|政府|办公室|办公厅|局|院|部|厅|中心))"
                r"[ \t\u3000]*\n\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日[ \t\u3000]*\s*(?:\n|$)",
                1,
            ),
        ).alias("publisher"),
        pl.coalesce(
            _ymd(header_date.struct.field("1"), header_date.struct.field("2"), header_date.struct.field("3")),
            _ymd(sig_date.struct.field("1"), sig_date.struct.field("2"), sig_date.struct.field("3")),
        ).alias("publish_date"),
        pl.col("text").str.len_chars().cast(pl.Int64).alias("char_count"),
    ).join(lines, on="document_id", how="left")
    return out.select("document_id", "file_name", "title", "publisher", "publish_date", "char_count")
