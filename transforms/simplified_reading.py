"""The simplified reading of traditional-Chinese documents, and the original text given back.

The extractor's vocabulary (units, verbs, metric words, jieba's dictionary) is simplified
Chinese, so a report in traditional characters (a Hong Kong or Taiwan source, an old
scan) yields fewer facts read as it is. ``simplified_reading`` gives the transforms a
simplified copy of such a document, converted with OpenCC character by character, **of
exactly the same length**, so every offset the transforms compute holds in the original too;
``original_text`` then re-slices every stored text column from the original, so what
a fact row shows is what the file says (provenance: text == source[start:end]).

Interpretive columns, and texts without offsets of their own (the metric phrase, the unit,
titles, ``opinion_text``), stay in the simplified reading: they are the warehouse's
normalised words, which is what a query groups by.
Only documents flagged ``script == 'traditional'`` are converted: OpenCC's phrase
tables would otherwise touch simplified text that uses a character both scripts share.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import polars as pl

# (start, end, text) column triples whose text is a slice of the document at those offsets.
SLICED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("start_char", "end_char", "text"),
    ("start_char", "end_char", "mention_text"),
    ("heading_start_char", "heading_end_char", "heading_text"),
    ("problem_start_char", "problem_end_char", "problem_text"),
    ("action_start_char", "action_end_char", "action_text"),
    ("target_start_char", "target_end_char", "target_text"),
)


@cache
def _converter():
    import opencc  # imported on first use: most batches have no traditional document

    return opencc.OpenCC("t2s")


def simplify_same_length(text: str) -> str:
    """OpenCC's simplified reading of ``text``, character for character, so of the same length.

    Character by character, not phrase by phrase: a phrase table may map a phrase to one of
    another length, and two such changes can cancel out in the total while shifting every
    offset between them. One character at a time cannot shift anything; what it loses is
    the rare choice that depends on the phrase (乾 in 乾隆 against 乾淨), which no figure,
    unit or measure word of a report depends on.
    """
    converter = _converter()
    table = {}
    for ch in set(text):
        one = converter.convert(ch)
        if len(one) == 1 and one != ch:
            table[ord(ch)] = one
    return text.translate(table)


def simplified_reading(documents: pl.DataFrame) -> pl.DataFrame:
    """``documents`` with the text of traditional-script documents replaced by its simplified reading.

    Without a ``script`` column (a caller that did not flag scripts) nothing is converted.
    """
    if "script" not in documents.columns or not (documents["script"] == "traditional").any():
        return documents
    return documents.with_columns(
        pl.when(pl.col("script") == "traditional")
        .then(pl.col("text").map_elements(simplify_same_length, return_dtype=pl.String))
        .otherwise(pl.col("text"))
        .alias("text")
    )


def original_text(tables: Mapping[str, pl.DataFrame], documents: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every sliced text column of ``tables`` re-read from the original text of traditional documents.

    A no-op (the same frames) when no document is traditional.
    """
    if "script" not in documents.columns:
        return dict(tables)
    originals = documents.filter(pl.col("script") == "traditional").select(
        "document_id", pl.col("text").alias("_original")
    )
    if originals.is_empty():
        return dict(tables)
    out: dict[str, pl.DataFrame] = {}
    for name, frame in tables.items():
        triples = [t for t in SLICED_COLUMNS if set(t) <= set(frame.columns)]
        if "document_id" not in frame.columns or not triples:
            out[name] = frame
            continue
        joined = frame.join(originals, on="document_id", how="left", maintain_order="left")
        out[name] = joined.with_columns(
            pl.when(pl.col("_original").is_not_null() & pl.col(start).is_not_null())
            .then(pl.col("_original").str.slice(pl.col(start), pl.col(end) - pl.col(start)))
            .otherwise(pl.col(text))
            .alias(text)
            for start, end, text in triples
        ).drop("_original")
    return out
