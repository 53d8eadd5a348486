"""Boilerplate: web-page furniture and newspaper apparatus marked on ``stg_sentences``.

Grain: one row per sentence, exactly the rows of ``stg_sentences`` with two
columns added: ``is_boilerplate`` and ``boilerplate_reason``. Nothing is
deleted, so offsets stay intact and an analyst can still see what was set aside;
the ledger tables and the metric facts simply leave these sentences out.

Why sentences and not lines: ``stg_sentences`` already splits at line breaks, so a
banner line is one or more sentences, and a contact footer that shares a line with
the report's last words (…监督。联系电话:…) is cut off without losing them.

Rules come from ``seeds/boilerplate_patterns.csv`` (reason, scope, pattern): a
``sentence`` pattern marks the sentence it matches, a ``paragraph`` pattern
(photo captions: ▲…, 图为…) marks the whole paragraph. Two rules need position,
not words, and are built in: short unpunctuated lines above the title (site
banners such as 政府公告) and everything after the final dated signature
(link lists, CMS residue, 浏览量).
"""

from __future__ import annotations

import polars as pl

_DATE_LINE = r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$"


def _pattern_reason(patterns: pl.DataFrame, scope: str) -> pl.Expr:
    rows = patterns.filter(pl.col("scope") == scope).iter_rows(named=True)
    # One expression per CSV row (a handful); the first row that matches gives the reason.
    cases = [pl.when(pl.col("text").str.contains(r["pattern"])).then(pl.lit(r["reason"])) for r in rows]
    return pl.coalesce(cases) if cases else pl.lit(None, dtype=pl.String)


def mark_boilerplate(
    sentences: pl.DataFrame, patterns: pl.DataFrame, documents: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Add ``is_boilerplate`` and ``boilerplate_reason`` to ``stg_sentences`` rows.

    ``patterns`` is ``seeds/boilerplate_patterns.csv``. ``documents`` (optional) carries
    ``document_id, title`` (``stg_documents``); with it, short unpunctuated lines above the
    title's line are marked ``pre_title``.
    """
    keep = sentences.columns
    out = sentences.with_columns(
        _pattern_reason(patterns, "sentence").alias("_sentence_reason"),
        _pattern_reason(patterns, "paragraph").alias("_para_hit"),
    ).with_columns(
        pl.col("_para_hit")
        .drop_nulls()
        .first()
        .over(["document_id", "paragraph_index"])
        .alias("_para_reason"),
        # The dated signature closes the report; what follows it on a web page is furniture.
        pl.when(
            pl.col("text").str.contains(_DATE_LINE)
            & (pl.col("start_char") * 2 > pl.col("end_char").max().over("document_id"))
        )
        .then(pl.col("start_char"))
        .max()
        .over("document_id")
        .alias("_signature_at"),
    )
    after_signature = (
        pl.when(pl.col("_signature_at").is_not_null() & (pl.col("start_char") > pl.col("_signature_at")))
        .then(pl.lit("after_signature"))
        .otherwise(None)
    )
    pre_title = pl.lit(None, dtype=pl.String)
    if documents is not None and "title" in documents.columns:
        out = out.join(
            documents.select("document_id", pl.col("title").alias("_title")), on="document_id", how="left"
        )
        is_title = pl.col("_title").is_not_null() & (
            pl.col("text").str.contains(pl.col("_title"), literal=True)
            | (
                (pl.col("text").str.len_chars() >= 4)
                & pl.col("_title").str.contains(pl.col("text"), literal=True)
            )
        )
        para_len = (pl.col("end_char").max() - pl.col("start_char").min()).over(
            ["document_id", "paragraph_index"]
        )
        para_has_stop = pl.col("text").str.contains("[。！？]").any().over(["document_id", "paragraph_index"])
        out = out.with_columns(
            pl.when(is_title).then(pl.col("paragraph_index")).min().over("document_id").alias("_title_para"),
            para_len.alias("_para_len"),
            para_has_stop.alias("_para_stop"),
        )
        pre_title = (
            pl.when(
                (pl.col("paragraph_index") < pl.col("_title_para"))
                & (pl.col("_para_len") <= 40)
                & ~pl.col("_para_stop")
            )
            .then(pl.lit("pre_title"))
            .otherwise(None)
        )
    reason = pl.coalesce(pl.col("_sentence_reason"), pl.col("_para_reason"), pre_title, after_signature)
    return out.with_columns(reason.alias("boilerplate_reason")).select(
        *keep,
        pl.col("boilerplate_reason").is_not_null().alias("is_boilerplate"),
        "boilerplate_reason",
    )


def drop_boilerplate(frame: pl.DataFrame, marked_sentences: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``frame`` (with ``sentence_id``) whose sentence is not boilerplate.

    Use it on ``fct_metric`` and any other sentence-keyed table so that no fact comes from
    furniture.
    """
    furniture = marked_sentences.filter(pl.col("is_boilerplate")).select("sentence_id")
    return frame.join(furniture, on="sentence_id", how="anti")
