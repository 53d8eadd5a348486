"""``stg_sentences``: one row per sentence of every document.

Grain: one row per sentence. A sentence ends at 。！？!? (with any closing
quotes that follow) or at a line break; semicolons stay inside, because a
``截至…`` at the head of a sentence governs the clauses after its semicolons.
A new paragraph starts wherever a line break separates two sentences.
Offsets are code points into the document text, so
``document.text[start_char:end_char] == sentence.text`` holds for every row.
"""

from __future__ import annotations

import polars as pl

from transforms.spans import find_spans

_TERMINATORS = "。！？!?"
_CLOSERS = "”’」』）)"
# Starts on a non-space, runs to a terminator or the end of the line, and does not end on a space.
SENTENCE_PATTERN = (
    rf"[^\s{_TERMINATORS}](?:[^\n{_TERMINATORS}]*[^\s{_TERMINATORS}])?"
    rf"(?:[{_TERMINATORS}]+[{_CLOSERS}]*)?"
    rf"|[{_TERMINATORS}]+[{_CLOSERS}]*"
)


def stg_sentences(documents: pl.DataFrame) -> pl.DataFrame:
    """Split ``documents`` (``document_id``, ``text``) into sentences with offsets."""
    spans = find_spans(documents, "text", SENTENCE_PATTERN, keep=["document_id"])
    return (
        spans.sort(["document_id", "start"])
        .with_columns(
            pl.col("gap")
            .str.contains("\n")
            .cum_sum()
            .over("document_id")
            .cast(pl.Int32)
            .alias("paragraph_index"),
        )
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int32)
            .over(["document_id", "paragraph_index"])
            .alias("sentence_index"),
            pl.int_range(pl.len(), dtype=pl.Int32).over("document_id").alias("_seq"),
        )
        .select(
            (pl.col("document_id") + ":" + pl.col("_seq").cast(pl.String).str.zfill(5)).alias("sentence_id"),
            "document_id",
            "paragraph_index",
            "sentence_index",
            pl.col("start").alias("start_char"),
            pl.col("end").alias("end_char"),
            pl.col("match").alias("text"),
        )
    )
