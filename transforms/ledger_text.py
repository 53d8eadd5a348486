"""Small helpers the ledger transforms share: paragraphs, alternations, quote-aware leads.

Grain: helpers only, no table of their own. ``paragraphs`` has one row per
paragraph (a line of text) of every document, rebuilt from ``stg_sentences`` so
that its ``paragraph_index`` is exactly the one the sentences carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

# The first sentence of a text, where a quotation “…” counts as one piece even when it
# holds a 。 (a problem title such as 关于“…。巡视指出‘…’问题”问题。 must stay whole).
# A stray quote that never closes falls back to the plain first sentence.
QUOTE_AWARE_LEAD = r"^(?:[^“”。！？\n]|“[^”\n]*”)*(?:[。！？]|$)"
PLAIN_LEAD = r"^[^。！？\n]*(?:[。！？]|$)"

# Characters that end a name: punctuation, quotes, brackets, spaces.
NAME_BOUNDARY = r"\s，,。；;、：:“”‘’（）()《》【】！？!?"


def alternation(words: Iterable[str], escape: bool = True) -> str:
    """A regex alternation of ``words``, longest first, so that 监督检查 wins over 监督."""
    unique = sorted({w for w in words if w}, key=lambda w: (-len(w), w))
    return "|".join(re.escape(w) if escape else w for w in unique)


def lead_length(text: pl.Expr) -> pl.Expr:
    """Length of the quote-aware first sentence of ``text`` (0 when the text is empty)."""
    return (
        pl.coalesce(text.str.extract(f"({QUOTE_AWARE_LEAD})", 1), text.str.extract(f"({PLAIN_LEAD})", 1))
        .str.len_chars()
        .fill_null(0)
        .cast(pl.Int64)
    )


def paragraphs(documents: pl.DataFrame, sentences: pl.DataFrame) -> pl.DataFrame:
    """One row per paragraph: ``document_id, paragraph_index, start_char, end_char, text, is_boilerplate``.

    ``text == document.text[start_char:end_char]``. ``is_boilerplate`` is true when every
    sentence of the paragraph is boilerplate (false when the sentences were not marked).
    """
    marked = "is_boilerplate" in sentences.columns
    grouped = sentences.group_by(["document_id", "paragraph_index"]).agg(
        pl.col("start_char").min(),
        pl.col("end_char").max(),
        (pl.col("is_boilerplate").all() if marked else pl.lit(False)).alias("is_boilerplate"),
    )
    return (
        grouped.join(documents.select("document_id", "text"), on="document_id", how="inner")
        .with_columns(
            pl.col("text").str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char"))
        )
        .select("document_id", "paragraph_index", "start_char", "end_char", "text", "is_boilerplate")
        .sort(["document_id", "start_char"])
    )


def slice_document(
    documents: pl.DataFrame, frame: pl.DataFrame, start: str, end: str, alias: str
) -> pl.DataFrame:
    """Add ``alias`` = the document text between the ``start`` and ``end`` columns of ``frame``."""
    return (
        frame.join(
            documents.select("document_id", pl.col("text").alias("_doc")), on="document_id", how="left"
        )
        .with_columns(pl.col("_doc").str.slice(pl.col(start), pl.col(end) - pl.col(start)).alias(alias))
        .drop("_doc")
    )
