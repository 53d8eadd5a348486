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
        slice_document(
            documents,
            grouped.join(documents.select("document_id"), on="document_id"),
            "start_char",
            "end_char",
        )
        .select("document_id", "paragraph_index", "start_char", "end_char", "text", "is_boilerplate")
        .sort(["document_id", "start_char"])
    )


SLICE_CHUNK_CHARS = 256
"""The length of the pieces ``slice_document`` cuts a document into to find byte offsets.

Why: ``str.slice`` counts characters from the start of the string, so slicing a document at
many offsets costs (rows × document length): 8,956 headings of one 12 MB document took 17 s
in ``dim_section`` alone. Counting within a piece costs at most this many characters a row.
"""


def _byte_offset(frame: pl.DataFrame, pieces: pl.DataFrame, position: str, alias: str) -> pl.DataFrame:
    """``alias``: the UTF-8 byte offset of the character offset ``position`` in its document.

    The piece holding it gives the bytes before the piece; only the piece is counted in.
    """
    k = "_piece_k"
    return (
        frame.with_columns((pl.col(position) // SLICE_CHUNK_CHARS).alias(k))
        .join(pieces, on=["document_id", k], how="left", maintain_order="left")
        .with_columns(
            (
                pl.col("_piece_byte")
                + pl.col("_piece").str.head(pl.col(position) - pl.col(k) * SLICE_CHUNK_CHARS).str.len_bytes()
            ).alias(alias)
        )
        .drop(k, "_piece", "_piece_byte")
    )


def slice_document(
    documents: pl.DataFrame, frame: pl.DataFrame, start: str, end: str, alias: str = "text"
) -> pl.DataFrame:
    """Add ``alias`` = the document text between the ``start`` and ``end`` columns of ``frame``.

    Rows whose offsets fall outside their document get a null. Linear in the documents'
    length plus the rows' (``SLICE_CHUNK_CHARS``): the document is cut once into pieces of
    that many characters, each offset becomes a byte offset within its piece, and the text
    is a byte slice of the document.
    """
    ids = frame.select("document_id").unique()
    docs = documents.join(ids, on="document_id", how="semi").select("document_id", "text")
    pieces = (
        docs.select(
            "document_id",
            pl.col("text").str.extract_all(f"(?s).{{1,{SLICE_CHUNK_CHARS}}}").alias("_piece"),
        )
        .explode("_piece")
        .drop_nulls("_piece")
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).over("document_id").alias("_piece_k"),
            pl.col("_piece").str.len_bytes().cast(pl.Int64).alias("_piece_byte"),
        )
        .with_columns((pl.col("_piece_byte").cum_sum() - pl.col("_piece_byte")).over("document_id"))
    )
    # The offset just past the end of a document whose length is a multiple of the piece size.
    ends = docs.select(
        "document_id",
        pl.lit("").alias("_piece"),
        (pl.col("text").str.len_chars().cast(pl.Int64) // SLICE_CHUNK_CHARS).alias("_piece_k"),
        pl.col("text").str.len_bytes().cast(pl.Int64).alias("_piece_byte"),
    )
    pieces = pl.concat([pieces, ends]).unique(["document_id", "_piece_k"], keep="first", maintain_order=True)
    keyed = _byte_offset(frame, pieces, start, "_b_start")
    keyed = _byte_offset(keyed, pieces, end, "_b_end")
    return (
        keyed.join(
            docs.select("document_id", pl.col("text").cast(pl.Binary).alias("_doc")),
            on="document_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.col("_doc")
            .bin.slice(pl.col("_b_start"), pl.col("_b_end") - pl.col("_b_start"))
            .cast(pl.String)
            .alias(alias)
        )
        .drop("_doc", "_b_start", "_b_end")
    )
