"""Temporal context of a sentence: the as-of date (截至…) or the period it reports on.

``截至2021年10月`` → as_of 2021-10-31 (the end of the month it names);
``截至2022年2月10日`` → 2022-02-10; ``截至2021年底`` → 2021-12-31.
A period (``2021年1-10月``, ``2021年前三季度``, ``2021年全年``, ``2021年``) is kept as
written, with as_of at its end. Sentences stating neither get null here and
``fct_metric`` falls back to the document's publish date.
"""

from __future__ import annotations

import re

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


def _dates() -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """From the groups of ``_AS_OF`` (y, m, d) and ``_PERIOD`` (py, pspan, m2): the as-of year, the
    period's year, the as-of date (a day, else a month's end, else a year's), the period's end,
    and whether both years are plausible (1949-2100)."""
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
    period_end = _month_end(py, _span_month(pl.col("pspan"), pl.col("m2")).cast(pl.Int8).clip(1, 12))
    in_range = (y.is_between(1949, 2100) | y.is_null()) & (py.is_between(1949, 2100) | py.is_null())
    return y, py, as_of, period_end, in_range


def _span_month(span: pl.Expr, m2: pl.Expr) -> pl.Expr:
    """The last month of a period as written after its year: 1-10月 → 10, 上半年 → 6,
    第三季度 → 9, 前三季度 → 9, none (the whole year) → 12."""
    return (
        pl.when(span.is_null())
        .then(12)
        .when(m2.is_not_null())
        .then(m2.cast(pl.Int8, strict=False))
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


def _month_end(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    return pl.date(year, month, 1).dt.month_end()


def sentence_time(sentences: pl.DataFrame) -> pl.DataFrame:
    """``sentence_id, as_of, period, as_of_source`` for every sentence that states a time."""
    bare = pl.col("text").str.replace_all(COMPARISON_BASE, "")  # not 比2020年 in 比2020年增长
    s = sentences.select(
        "sentence_id",
        bare.str.extract_groups(_AS_OF).alias("a"),
        bare.str.extract_groups(_PERIOD).alias("p"),
        bare.str.extract(f"((?:{_PERIOD}))", 1).alias("period_text"),
    ).unnest("a", "p")
    y, py, as_of, period_end, in_range = _dates()
    return s.filter(in_range & (y.is_not_null() | py.is_not_null())).select(
        "sentence_id",
        pl.coalesce(as_of, period_end).alias("as_of"),
        pl.when(y.is_null()).then(pl.col("period_text")).otherwise(None).alias("period"),
        pl.when(y.is_not_null()).then(pl.lit("sentence")).otherwise(pl.lit("period")).alias("as_of_source"),
    )


# ---------------------------------------------------------------------------------------------
# Time that flows down the document (issue 23): a figure whose own sentence states no date takes
# one from its paragraph, then from the nearest section heading that names a year or a period,
# then from the document's frame, and last from the publish date.

# 比2020年增长, 较“十三五”末改善: a comparison base names the time compared with, not the time
# the figure holds for; it is removed before a time is read off a text.
COMPARISON_BASE = (
    r"(?:比|较|与|同比)(?:[0-9０-９]{4}|[〇零一二三四五六七八九]{4})年(?:底|末|同期)?(?:相比)?"
    r"|(?:比|较|与)“?十[一二三四五六七八九]五”?(?:时期|期间)?(?:末)?(?:相比)?"
    r"|(?:比|较)(?:上年|去年)(?:同期)?"
)
_CN_PERIOD = (
    r"(?P<cy>[〇○零一二三四五六七八九]{4})年(?P<cspan>前三季度|上半年|下半年|全年|第?[一二三四]季度)?"
)
# Any year with the span written after it, to find the one nearest before a figure.
_ANY_PERIOD = (
    r"(?:[0-9]{4}|[〇○零一二三四五六七八九]{4})\s*年\s*(?:[0-9]{1,2}\s*(?:[-－—至到~～]\s*[0-9]{1,2}\s*)?月"
    r"|前三季度|上半年|下半年|全年|第?[一二三四1-4]季度|前两个月)?"
)
_CN_DIGITS = list("〇○零一二三四五六七八九")
_AR_DIGITS = list("000123456789")
_MONTH_END_DAYS = "12-31"


def _frames(time_frames: pl.DataFrame) -> pl.DataFrame:
    """``seeds/time_frames.csv`` with one row per written alternative (过去一年|去年 → two rows)."""
    return (
        time_frames.with_columns(pl.col("pattern").str.split("|").alias("frame"))
        .explode("frame")
        .select("frame", "first_offset", "last_offset")
    )


def text_time(
    frame: pl.DataFrame, text: str, report_year: str, time_frames: pl.DataFrame, plan_periods: pl.DataFrame
) -> pl.DataFrame:
    """``frame`` with ``t_as_of`` and ``t_period`` read off its ``text`` column: a date or period
    written out (截至2025年底, 2025年, 2025年1-10月), else a plan period (“十四五”时期 = 2021-2025),
    else a frame relative to the report's year (过去一年, 今年, 过去五年; ``report_year``)."""
    frames = _frames(time_frames)
    frame_re = "|".join(sorted(frames["frame"].to_list(), key=len, reverse=True))
    bare = pl.col(text).str.replace_all(COMPARISON_BASE, "")
    plans = (
        "|".join(re.escape(p) for p in sorted(plan_periods["name"].to_list(), key=len, reverse=True))
        or "\x00"
    )
    s = frame.with_columns(
        bare.str.extract_groups(_AS_OF).alias("_a"),
        bare.str.extract_groups(_PERIOD).alias("_p"),
        bare.str.extract(f"((?:{_PERIOD}))", 1).alias("_period_text"),
        bare.str.extract(f"“?({plans})”?", 1).alias("plan"),
        bare.str.extract(f"“?({plans})”?(?:时期|期间|以来|规划)", 1).alias("_plan_time"),
        # 一九五五年上半年: a year written in Chinese digits, read with the same spans
        bare.str.extract_groups(_CN_PERIOD).alias("_cn"),
        bare.str.extract(f"({frame_re})", 1).alias("frame")
        if frame_re
        else pl.lit(None, dtype=pl.String).alias("frame"),
    ).unnest("_a", "_p", "_cn")
    s = s.with_columns(
        pl.coalesce("_plan_time", "plan").alias("plan"),
        pl.coalesce("py", pl.col("cy").str.replace_many(_CN_DIGITS, _AR_DIGITS)).alias("py"),
        pl.when(pl.col("py").is_null()).then(pl.col("cspan")).otherwise(pl.col("pspan")).alias("pspan"),
        pl.when(pl.col("py").is_null() & pl.col("cy").is_not_null())
        .then(
            pl.format(
                "{}年{}", pl.col("cy").str.replace_many(_CN_DIGITS, _AR_DIGITS), pl.col("cspan").fill_null("")
            )
        )
        .otherwise(pl.col("_period_text"))
        .alias("_period_text"),
    )
    s = s.join(frames, on="frame", how="left").join(
        plan_periods.select(pl.col("name").alias("plan"), "first_year", "last_year"), on="plan", how="left"
    )
    y, py, absolute, period_end, in_range = _dates()
    ry = pl.col(report_year).cast(pl.Int32)
    rel_first = ry + pl.col("first_offset").cast(pl.Int32)
    rel_last = ry + pl.col("last_offset").cast(pl.Int32)

    def span(first: pl.Expr, last: pl.Expr) -> pl.Expr:
        return (
            pl.when(first == last).then(pl.format("{}年", last)).otherwise(pl.format("{}-{}年", first, last))
        )

    ok_abs = in_range & (y.is_not_null() | py.is_not_null())
    plan_ok = pl.col("first_year").is_not_null()
    rel_ok = pl.col("first_offset").is_not_null() & ry.is_not_null()
    # The narrowest time wins: a date or a year, then a one-year frame (今年, 去年), then a plan
    # period, then a frame of several years (过去五年): 今年是“十五五”开局之年 is about this year.
    one_year = rel_ok & (pl.col("first_offset") == pl.col("last_offset"))
    return s.with_columns(
        pl.when(ok_abs)
        .then(pl.coalesce(absolute, period_end))
        .when(one_year)
        .then(pl.date(rel_last, 12, 31))
        .when(plan_ok)
        .then(pl.date(pl.col("last_year").cast(pl.Int32), 12, 31))
        .when(rel_ok)
        .then(pl.date(rel_last, 12, 31))
        .alias("t_as_of"),
        pl.when(ok_abs & y.is_null())
        .then(pl.coalesce("_period_text", pl.format("{}年", py)))
        .when(ok_abs)
        .then(None)
        .when(one_year)
        .then(span(rel_first, rel_last))
        .when(plan_ok)
        .then(span(pl.col("first_year"), pl.col("last_year")))
        .when(rel_ok)
        .then(span(rel_first, rel_last))
        .alias("t_period"),
        (ok_abs | one_year).fill_null(False).alias("t_narrow"),
    ).drop(
        "y",
        "m",
        "d",
        "end",
        "py",
        "pspan",
        "m1",
        "m2",
        "_period_text",
        "plan",
        "frame",
        "_plan_time",
        "cy",
        "cspan",
        "first_offset",
        "last_offset",
        "first_year",
        "last_year",
    )


def report_year(documents: pl.DataFrame) -> pl.Expr:
    """The year a document reports from, against which 过去一年 and 今年 are read: dim_document's
    ``report_year`` where it has one, else its publish date's year, else a year in its title
    (2026年政府工作报告), else one in its file name (gwr_2008_33.txt), the last resort."""

    def year_in(col: str) -> pl.Expr:
        if col not in documents.columns:
            return pl.lit(None, dtype=pl.Int32)
        return pl.col(col).str.extract(r"((?:19|20)[0-9]{2})", 1).cast(pl.Int32, strict=False)

    own = (
        pl.col("report_year").cast(pl.Int32)
        if "report_year" in documents.columns
        else pl.lit(None, dtype=pl.Int32)
    )
    return pl.coalesce(
        own, pl.col("publish_date").dt.year().cast(pl.Int32), year_in("title"), year_in("file_name")
    )


def _document_context(documents: pl.DataFrame) -> pl.DataFrame:
    """Per document, what time flowing down needs: the publish date, the report's year
    (``_ry``, against which 过去一年 and 今年 are read) and whether it is a government work
    report (``_work_report``: such a report reviews the year before its own)."""
    return documents.select(
        "document_id",
        "publish_date",
        report_year(documents).alias("_ry"),
        (pl.col("genre") == "work_report").fill_null(False).alias("_work_report")
        if "genre" in documents.columns
        else pl.lit(False).alias("_work_report"),
    )


def _sentence_times(
    sentences: pl.DataFrame, docs: pl.DataFrame, time_frames: pl.DataFrame, plan_periods: pl.DataFrame
) -> pl.DataFrame:
    """Each sentence's own time (``t_as_of``, ``t_period``) and its paragraph's (``p_as_of``,
    ``p_period``): the time of the nearest earlier sentence of the same paragraph that names one,
    for a figure whose own sentence names none."""
    sent = text_time(
        sentences.select("sentence_id", "document_id", "paragraph_index", "text").join(
            docs.select("document_id", "_ry"), on="document_id", how="left"
        ),
        "text",
        "_ry",
        time_frames,
        plan_periods,
    )
    sent = sent.sort("sentence_id").with_row_index("_i")
    named = sent.filter(pl.col("t_narrow")).select(
        pl.col("_i").alias("_src_i"), pl.col("t_as_of").alias("p_as_of"), pl.col("t_period").alias("p_period")
    )
    return (
        sent.with_columns(
            # only a date or a single year carries on to the next sentences; a plan period named in
            # passing (按照“十一五”规划…) frames the paragraph, it does not date its figures
            pl.when(pl.col("t_narrow"))
            .then(pl.col("_i"))
            .forward_fill()
            .shift(1)
            .over(["document_id", "paragraph_index"])
            .alias("_src_i")
        )
        .join(named, on="_src_i", how="left")
        .drop("_i", "_src_i")
    )


def _section_times(
    sections: pl.DataFrame, docs: pl.DataFrame, time_frames: pl.DataFrame, plan_periods: pl.DataFrame
) -> pl.DataFrame:
    """Each section's time (``s_as_of``, ``s_period``): its heading's, else its parent's, so a
    figure under 一、2025年工作回顾 → （一）… takes the year from the heading above."""
    sec = text_time(
        sections.select("section_id", "document_id", "parent_section_id", "heading_text").join(
            docs.select("document_id", "_ry"), on="document_id", how="left"
        ),
        "heading_text",
        "_ry",
        time_frames,
        plan_periods,
    ).select(
        "section_id",
        "parent_section_id",
        pl.col("t_as_of").alias("s_as_of"),
        pl.col("t_period").alias("s_period"),
    )
    for _ in range(6):  # sections nest a few levels deep: each round inherits one level down
        parent = sec.select(
            pl.col("section_id").alias("parent_section_id"),
            pl.col("s_as_of").alias("_pa"),
            pl.col("s_period").alias("_pp"),
        )
        sec = (
            sec.join(parent, on="parent_section_id", how="left")
            .with_columns(
                pl.when(pl.col("s_as_of").is_null())
                .then(pl.col("_pp"))
                .otherwise(pl.col("s_period"))
                .alias("s_period"),
                pl.coalesce("s_as_of", "_pa").alias("s_as_of"),
            )
            .drop("_pa", "_pp")
        )
    return sec


def _time_before_figure(
    facts: pl.DataFrame,
    sentences: pl.DataFrame,
    docs: pl.DataFrame,
    time_frames: pl.DataFrame,
    plan_periods: pl.DataFrame,
) -> pl.DataFrame:
    """Per figure, the time its own sentence names before it: ``n_as_of``, ``n_period`` and
    ``n_absolute`` (a year or date written out, not a frame or plan period).

    The figure's own sentence is read up to the figure: a time named after it (…，与国家“十五五”
    目标衔接) is not its time. The year nearest before it dates it (由2020年的2.15万亿元增长到
    2025年的2.87万亿元), else a frame or plan period before it (过去一年，…).
    """
    prefix = (
        facts.select("metric_id", "sentence_id", "start_char")
        .join(sentences.select("sentence_id", pl.col("start_char").alias("_ss"), "text"), on="sentence_id")
        .join(facts.select("metric_id", "document_id"), on="metric_id")
        .join(docs.select("document_id", "_ry"), on="document_id", how="left")
        .select(
            "metric_id",
            "_ry",
            pl.col("text").str.slice(0, pl.col("start_char") - pl.col("_ss")).alias("_pre"),
        )
    )
    before = text_time(prefix, "_pre", "_ry", time_frames, plan_periods).select(
        "metric_id", pl.col("t_as_of").alias("b_as_of"), pl.col("t_period").alias("b_period")
    )
    nearest = text_time(
        prefix.select(
            "metric_id",
            pl.col("_pre")
            .str.replace_all(COMPARISON_BASE, "")
            .str.extract_all(_ANY_PERIOD)
            .list.last()
            .alias("_near"),
            pl.lit(None, dtype=pl.Int32).alias("_no_year"),
        ).filter(pl.col("_near").is_not_null()),
        "_near",
        "_no_year",
        time_frames.clear(),
        plan_periods.clear(),
    ).select("metric_id", pl.col("t_as_of").alias("n_as_of"), pl.col("t_period").alias("n_period"))
    return before.join(nearest, on="metric_id", how="left").select(
        "metric_id",
        pl.coalesce("n_as_of", "b_as_of").alias("n_as_of"),
        pl.when(pl.col("n_as_of").is_not_null())
        .then(pl.col("n_period"))
        .otherwise(pl.col("b_period"))
        .alias("n_period"),
        pl.col("n_as_of").is_not_null().alias("n_absolute"),
    )


def _resolve_time(out: pl.DataFrame) -> pl.DataFrame:
    """``as_of``, ``period`` and ``as_of_source`` chosen down the order ``flow_time`` documents.

    ``out`` holds every candidate side by side (the figure's own ``as_of``/``period`` from
    ``fct_metric``, ``n_``, ``p_``, ``s_`` and the document's columns); the first that has a
    time wins. ``_src`` names the winner for ``as_of_source``.
    """
    near = (pl.col("as_of_source") == "period") & pl.col("n_absolute").fill_null(False)
    out = out.with_columns(
        pl.when(near).then(pl.col("n_as_of")).otherwise(pl.col("as_of")).alias("as_of"),
        pl.when(near).then(pl.col("n_period")).otherwise(pl.col("period")).alias("period"),
    )
    # Its own sentence's time counts when it stands before the figure (截至… always does).
    own = (pl.col("as_of_source") == "sentence") | near
    frame_as_of = pl.when(pl.col("_work_report")).then(pl.date(pl.col("_ry") - 1, 12, 31))
    out = out.with_columns(
        pl.when(own)
        .then(pl.col("as_of_source"))
        .when(pl.col("n_as_of").is_not_null())
        .then(pl.lit("sentence"))
        .when(pl.col("p_as_of").is_not_null())
        .then(pl.lit("paragraph"))
        .when(pl.col("s_as_of").is_not_null())
        .then(pl.lit("section"))
        .when(frame_as_of.is_not_null())
        .then(pl.lit("frame"))
        .when(pl.col("publish_date").is_not_null())
        .then(pl.lit("document"))
        .otherwise(pl.lit("none"))
        .alias("_src")
    )
    src = pl.col("_src")
    return out.with_columns(
        pl.when(own)
        .then(pl.col("as_of"))
        .when(src == "sentence")
        .then(pl.col("n_as_of"))
        .when(src == "paragraph")
        .then(pl.col("p_as_of"))
        .when(src == "section")
        .then(pl.col("s_as_of"))
        .when(src == "frame")
        .then(frame_as_of)
        .otherwise(pl.col("publish_date"))
        .alias("as_of"),
        pl.when(own)
        .then(pl.col("period"))
        .when(src == "sentence")
        .then(pl.col("n_period"))
        .when(src == "paragraph")
        .then(pl.col("p_period"))
        .when(src == "section")
        .then(pl.col("s_period"))
        .when(src == "frame")
        .then(pl.format("{}年", pl.col("_ry") - 1))
        .otherwise(pl.col("period"))
        .alias("period"),
    )


def _value_type(target_words: pl.DataFrame) -> pl.Expr:
    """``target`` or ``actual`` for a figure, once its ``as_of`` is settled: a report mixes what
    was done with what is planned, and a figure planned is not a figure achieved."""
    targets = "|".join(f"(?:{p})" for p in target_words["pattern"].to_list())
    return (
        pl.when(
            pl.col("_s").str.contains(targets)
            | (pl.col("_s").str.contains("目标") & pl.col("approx").eq("about"))
            | (pl.col("as_of") > pl.col("publish_date")).fill_null(False)
            # a work report with no date: its own year is the one it plans
            | (
                pl.col("publish_date").is_null()
                & pl.col("_work_report")
                & (pl.col("as_of").dt.year() >= pl.col("_ry"))
            ).fill_null(False)
        )
        .then(pl.lit("target"))
        .otherwise(pl.lit("actual"))
    )


def flow_time(
    facts: pl.DataFrame,
    sentences: pl.DataFrame,
    sections: pl.DataFrame,
    documents: pl.DataFrame,
    time_frames: pl.DataFrame,
    plan_periods: pl.DataFrame,
    target_words: pl.DataFrame,
) -> pl.DataFrame:
    """``facts`` (``fct_metric`` with ``section_id``) with ``as_of``, ``period`` and
    ``as_of_source`` resolved down the document, and ``value_type`` (actual or target).

    Order: the figure's own sentence (a date written out: ``sentence``/``period``, as
    ``fct_metric`` found it; or a plan period or a frame relative to the report's year such as
    过去一年: ``sentence``), then the sentences before it in its paragraph (``paragraph``), then
    the nearest section heading naming a time (一、2025年工作回顾, “十四五”时期: ``section``), then
    the document's frame (a government work report reviews the year before its own: ``frame``),
    then the publish date (``document``). ``documents`` is ``dim_document`` (publish date, genre).

    A figure is a ``target`` when its sentence states an aim (``seeds/target_words.csv``:
    预期目标, 力争, 预计; 目标 with 左右 after the number) or when its date lies after the
    document's publish date (今年 in a report published in January)."""
    if facts.height == 0:
        return facts.with_columns(pl.lit(None, dtype=pl.String).alias("value_type"))
    docs = _document_context(documents)
    sent = _sentence_times(sentences, docs, time_frames, plan_periods)
    sec = _section_times(sections, docs, time_frames, plan_periods)
    nearest = _time_before_figure(facts, sentences, docs, time_frames, plan_periods)
    out = (
        facts.join(nearest, on="metric_id", how="left")
        .join(
            sent.select(
                "sentence_id", "t_as_of", "t_period", "p_as_of", "p_period", pl.col("text").alias("_s")
            ),
            on="sentence_id",
            how="left",
        )
        .join(sec.select("section_id", "s_as_of", "s_period"), on="section_id", how="left")
        .join(docs, on="document_id", how="left")
    )
    out = _resolve_time(out).with_columns(
        pl.col("_src").alias("as_of_source"),
        _value_type(target_words).alias("value_type"),
    )
    return out.drop(
        "t_as_of",
        "t_period",
        "p_as_of",
        "p_period",
        "_s",
        "s_as_of",
        "s_period",
        "publish_date",
        "_ry",
        "_work_report",
        "_src",
        "n_as_of",
        "n_period",
        "n_absolute",
    )
