"""``stg_sentences``: one row per sentence of every document.

Grain: one row per sentence. A sentence ends at 。！？!? (with any closing
quotes that follow) or at a line break; semicolons stay inside, because a
``截至…`` at the head of a sentence governs the clauses after its semicolons.
A new paragraph starts wherever a line break separates two sentences.
Offsets are code points into the document text, so
``document.text[start_char:end_char] == sentence.text`` holds for every row.

Both units are bounded, whatever the line structure (issue 24). A sentence longer than
``MAX_SENTENCE_CHARS`` is cut into pieces of at most that many characters, each ending at
the last clause mark (，；、：) within the limit where there is one; a line longer than
``MAX_PARAGRAPH_CHARS`` is cut into paragraphs at the first sentence that starts past each
multiple of the limit. Every later scan (each fact carries its sentence, each item its
paragraph) then costs at most a bounded window per row, not the length of the line. The
rows of a cut unit say so: ``is_sentence_cut`` and ``is_paragraph_cut``.
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

MAX_SENTENCE_CHARS = 1000
"""The longest sentence kept whole; a longer one is cut into pieces of at most this length.

Why 1,000: the longest sentence of the 96 work reports, the seeds and the gold texts is 639
characters (99.9 % are under 350), so no sentence a report really writes is cut. A fact
carries its sentence and the text before and after it (``fct_metric``, ``metric_phrase``),
so a step's memory is (facts × sentence length): bounded at this length it stays a small
multiple of the input, where a 4-million-character line with no 。 made it grow without
bound. A piece ends at the last ，；、： within the limit, so that a number is not cut in two.
"""

MAX_PARAGRAPH_CHARS = 5000
"""The longest line kept as one paragraph; a longer one is cut into paragraphs of about this size.

Why 5,000: the longest paragraph of the same texts is 2,739 characters (99.9 % are under
1,100), so no paragraph a report really writes is cut. Items, headings, boilerplate
captions and the supervising body named earlier in a paragraph are read paragraph by
paragraph; a whole document written as one line would otherwise be one paragraph, and a
step that pairs what a paragraph holds would grow with its square. A cut falls between
sentences: a new paragraph starts at the first sentence that starts at or past each multiple
of the limit from the line's start, so a paragraph is at most ``MAX_PARAGRAPH_CHARS +
MAX_SENTENCE_CHARS`` long.
"""

# A piece of an overlong sentence, from a non-space: the rest of the sentence when it fits in
# the limit, else the longest run within the limit that ends at a clause mark, else the longest
# that ends on a non-space. (Top-level branches: written as \S(?:…[，]|…\S)? the regex engine
# took the last branch where the clause-mark one matched.)
_CLAUSE_MARKS = "，,；;、：:"
_RUN = rf"[^\n]{{0,{MAX_SENTENCE_CHARS - 2}}}"
_PIECE_PATTERN = rf"\S(?:{_RUN}\S)?$|\S{_RUN}[{_CLAUSE_MARKS}]|\S(?:{_RUN}\S)?"


def _cut_sentences(spans: pl.DataFrame) -> pl.DataFrame:
    """``spans`` with every match longer than ``MAX_SENTENCE_CHARS`` cut into pieces.

    A piece's ``gap`` is the whitespace before it in the sentence (the first piece keeps the
    sentence's own gap, so its line breaks still start paragraphs); ``_cut`` marks pieces.
    """
    too_long = pl.col("match").str.len_chars() > MAX_SENTENCE_CHARS
    spans = spans.with_columns(too_long.alias("_cut"))
    long = spans.filter(pl.col("_cut"))
    if long.height == 0:
        return spans
    pieces = find_spans(
        long.rename({"start": "_s", "gap": "_g"}), "match", _PIECE_PATTERN, keep=["document_id", "_s", "_g"]
    ).select(
        "document_id",
        pl.when(pl.col("match_index") == 0)
        .then(pl.col("_g") + pl.col("gap"))
        .otherwise(pl.col("gap"))
        .alias("gap"),
        "match",
        pl.col("match_index").cast(spans.schema["match_index"]),
        (pl.col("_s") + pl.col("start")).alias("start"),
        (pl.col("_s") + pl.col("end")).alias("end"),
        pl.lit(True).alias("_cut"),
    )
    return pl.concat([spans.filter(~pl.col("_cut")), pieces.select(spans.columns)])


def stg_sentences(documents: pl.DataFrame) -> pl.DataFrame:
    """Split ``documents`` (``document_id``, ``text``) into sentences with offsets.

    Columns: sentence_id, document_id, paragraph_index, sentence_index, start_char, end_char,
    text, is_sentence_cut (a piece of a sentence longer than ``MAX_SENTENCE_CHARS``),
    is_paragraph_cut (in a line longer than ``MAX_PARAGRAPH_CHARS``, cut into paragraphs).
    """
    spans = _cut_sentences(find_spans(documents, "text", SENTENCE_PATTERN, keep=["document_id"]))
    line = ["document_id", "_line"]
    return (
        spans.sort(["document_id", "start"])
        .with_columns(pl.col("gap").str.contains("\n").cum_sum().over("document_id").alias("_line"))
        .with_columns(
            ((pl.col("start") - pl.col("start").first().over(line)) // MAX_PARAGRAPH_CHARS).alias("_chunk")
        )
        .with_columns(
            (pl.col("_chunk") != pl.col("_chunk").shift(1).over(line))
            .fill_null(False)
            .cum_sum()
            .over("document_id")
            .alias("_cuts"),
            (pl.col("_chunk").max().over(line) > 0).alias("is_paragraph_cut"),
        )
        .with_columns((pl.col("_line") + pl.col("_cuts")).cast(pl.Int32).alias("paragraph_index"))
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
            pl.col("_cut").alias("is_sentence_cut"),
            "is_paragraph_cut",
        )
    )
