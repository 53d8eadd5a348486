"""Regex matches *with character offsets*, vectorised in Polars.

Polars' ``str.extract_all`` returns the matched strings but not where they are.
We recover the offsets without a Python loop: match ``(?s).*?(?:P)`` as well as
``P``. Every piece of the first pass holds the gap since the previous match
followed by the match itself, so the pieces tile the text and a cumulative sum
of their lengths gives each match's end; the second pass gives the matches, and
so each start. Because the lazy gap stops at the leftmost place where ``P``
matches, the n-th piece ends in exactly the n-th match ``re.finditer(P)`` would
give (leftmost-first semantics).

Why two ``extract_all`` passes and not one pass plus capture groups: splitting a
piece into gap and match with ``extract_groups`` needs the regex engine's
capture-tracking path, which is an order of magnitude slower than the plain
search both passes use (it was half of the ledger's time on a 2 MB corpus).
Rows where the two passes disagree in count (not seen, but cheap to guard) are
split with the capture groups instead.
"""

from __future__ import annotations

import polars as pl


def find_spans(frame: pl.DataFrame, text_col: str, pattern: str, keep: list[str]) -> pl.DataFrame:
    """One row per non-overlapping match of ``pattern`` in ``frame[text_col]``.

    Returns the ``keep`` columns plus ``match`` (the matched text), ``gap`` (the
    text between the previous match, or the start, and this one), ``match_index``
    (0-based within the row) and ``start``/``end`` (code-point offsets into the
    row's text). ``pattern`` must not match the empty string.
    """
    piece_re = f"(?s).*?(?:{pattern})"
    match_re = f"(?s)(?:{pattern})"
    lists = frame.select(
        *keep,
        # Each input row's matches are numbered and summed within the row: over a row number,
        # since over ``keep`` would hash every kept column (whole sentences, for some callers).
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_span_row"),
        pl.col(text_col).str.extract_all(piece_re).alias("_piece"),
        pl.col(text_col).str.extract_all(match_re).alias("_match"),
    ).filter(pl.col("_piece").list.len() > 0)
    agree = pl.col("_piece").list.len() == pl.col("_match").list.len()
    both = lists.filter(agree).explode(["_piece", "_match"])
    odd = lists.filter(~agree)
    if odd.height:  # fall back to splitting each piece with capture groups
        split_re = f"(?s)^(?P<gap>.*?)(?P<_m>(?:{pattern}))$"
        odd = (
            odd.drop("_match")
            .explode("_piece")
            .with_columns(pl.col("_piece").str.extract_groups(split_re).struct.field("_m").alias("_match"))
        )
        both = pl.concat([both, odd.select(both.columns)])
    if both.height == 0:
        return pl.DataFrame(
            schema={
                **{c: frame.schema[c] for c in keep},
                "gap": pl.String,
                "match": pl.String,
                "match_index": pl.UInt32,
                "start": pl.Int64,
                "end": pl.Int64,
            }
        )
    piece_len = pl.col("_piece").str.len_chars().cast(pl.Int64)
    match_len = pl.col("_match").str.len_chars().cast(pl.Int64)
    return (
        both.with_columns(
            piece_len.cum_sum().over("_span_row").alias("end"),
            pl.int_range(pl.len(), dtype=pl.UInt32).over("_span_row").alias("match_index"),
            pl.col("_piece").str.slice(0, piece_len - match_len).alias("gap"),
        )
        .with_columns((pl.col("end") - match_len).alias("start"))
        .select([*keep, "gap", pl.col("_match").alias("match"), "match_index", "start", "end"])
    )
