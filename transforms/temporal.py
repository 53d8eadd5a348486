"""Temporal context of a sentence: the as-of date (截至…) or the period it reports on.

``截至2021年10月`` → as_of 2021-10-31 (the end of the month it names);
``截至2022年2月10日`` → 2022-02-10; ``截至2021年底`` → 2021-12-31.
A period (``2021年1-10月``, ``2021年前三季度``, ``2021年全年``, ``2021年``) is kept as
written, with as_of at its end. Sentences stating neither get null here and
``fct_metric`` falls back to the document's publish date.
"""

from __future__ import annotations

import polars as pl

_AS_OF = (
    r"截[至止]\s*(?:到\s*)?(?P<y>\d{4})\s*年\s*"
    r"(?:(?P<m>\d{1,2})\s*月\s*(?:(?P<d>\d{1,2})\s*日)?)?\s*(?P<end>底|末)?"
)
_PERIOD = (
    r"(?P<py>\d{4})\s*年\s*(?P<pspan>(?:(?P<m1>\d{1,2})\s*[-－—至到~～]\s*)?(?P<m2>\d{1,2})\s*月"
    r"|前三季度|上半年|下半年|全年|第?[一二三四1-4]季度|前两个月)?"
)
_QUARTER_END = {"前三季度": 9, "上半年": 6, "下半年": 12, "全年": 12, "前两个月": 2}


def _month_end(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    return pl.date(year, month, 1).dt.month_end()


def sentence_time(sentences: pl.DataFrame) -> pl.DataFrame:
    """``sentence_id, as_of, period, as_of_source`` for every sentence that states a time."""
    s = sentences.select(
        "sentence_id",
        pl.col("text").str.extract_groups(_AS_OF).alias("a"),
        pl.col("text").str.extract_groups(_PERIOD).alias("p"),
        pl.col("text").str.extract(f"((?:{_PERIOD}))", 1).alias("period_text"),
    ).unnest("a", "p")
    y = pl.col("y").cast(pl.Int32, strict=False)
    m = pl.col("m").cast(pl.Int8, strict=False)
    d = pl.col("d").cast(pl.Int8, strict=False)
    as_of = (
        pl.when(y.is_null())
        .then(None)
        .when(m.is_null())
        .then(pl.date(y, 12, 31))
        .when(d.is_null())
        .then(_month_end(y, m.clip(1, 12)))
        .otherwise(
            pl.min_horizontal(
                pl.date(y, m.clip(1, 12), 1).dt.offset_by(pl.format("{}d", (d.clip(1, 31) - 1))),
                _month_end(y, m.clip(1, 12)),
            )
        )
    )
    py = pl.col("py").cast(pl.Int32, strict=False)
    span = pl.col("pspan")
    q_month = (
        pl.when(span.is_null())
        .then(12)
        .when(pl.col("m2").is_not_null())
        .then(pl.col("m2").cast(pl.Int8, strict=False))
        .when(span.str.contains("一|1"))
        .then(3)
        .when(span.str.contains("二|2"))
        .then(6)
        .when(span.str.contains("三|3") & span.str.contains("季度") & ~span.str.contains("前"))
        .then(9)
        .when(span.str.contains("四|4"))
        .then(12)
        .otherwise(span.replace_strict(_QUARTER_END, default=12, return_dtype=pl.Int8))
    )
    period_end = _month_end(py, q_month.cast(pl.Int8).clip(1, 12))
    in_range = (y.is_between(1949, 2100) | y.is_null()) & (py.is_between(1949, 2100) | py.is_null())
    return s.filter(in_range & (y.is_not_null() | py.is_not_null())).select(
        "sentence_id",
        pl.coalesce(as_of, period_end).alias("as_of"),
        pl.when(y.is_null()).then(pl.col("period_text")).otherwise(None).alias("period"),
        pl.when(y.is_not_null()).then(pl.lit("sentence")).otherwise(pl.lit("period")).alias("as_of_source"),
    )
