"""``dim_section``: the heading tree of every document, and the join that puts rows in it.

Grain: one row per heading. Reports number their parts 一、 → （一）/(一) → 1./1、 →
（1）→ ①, sometimes under 第X部分; features use 【…】. The markers and their levels
come from ``seeds/heading_patterns.csv``; the first row whose pattern matches at the
start of a paragraph decides.

A heading is a marker *at the start of a paragraph*. That is what tells a heading from
an enumerated clause in running text (…，2.…) and lets an inline heading count: in
"(一)提高政治站位,以对党忠诚的自觉抓好巡视整改。一是…" the heading is the paragraph's
first sentence and its section goes on with the text after it. The first sentence is
read quote-aware, so 1.关于“…。巡视指出‘…’问题”问题。 is one heading.

A section runs from its heading to the next heading of the same or a higher level (or
the end of the document), so sections nest. Its path joins the markers of its
ancestors, e.g. ``二/（三）/2`` (一、 drops its 、, 1. its dot, half-width brackets become
full-width). Boilerplate paragraphs are never headings.

``assign_section`` puts any frame with ``document_id`` and a character position into
the deepest section containing it: since sections nest, that is the last heading that
starts at or before the position, an as-of join.
"""

from __future__ import annotations

import polars as pl

from transforms.ledger_text import lead_length, paragraphs

SECTION_SCHEMA = {
    "section_id": pl.String,
    "document_id": pl.String,
    "parent_section_id": pl.String,
    "path": pl.String,
    "marker": pl.String,
    "kind": pl.String,
    "level": pl.Int32,
    "heading_text": pl.String,
    "heading_start_char": pl.Int64,
    "heading_end_char": pl.Int64,
    "start_char": pl.Int64,
    "end_char": pl.Int64,
}


def _component(marker: pl.Expr) -> pl.Expr:
    """The marker as a path component: 一、 → 一, (三) → （三）, 2. → 2."""
    return marker.str.strip_chars_end("、.．").str.replace_all(r"\(", "（").str.replace_all(r"\)", "）")


def dim_section(
    documents: pl.DataFrame, sentences: pl.DataFrame, heading_patterns: pl.DataFrame
) -> pl.DataFrame:
    """One row per heading of every document.

    ``documents`` has ``document_id, text``; ``sentences`` is ``stg_sentences``, marked by
    ``mark_boilerplate`` or not; ``heading_patterns`` is ``seeds/heading_patterns.csv``.

    Columns: section_id (``document_id:s<heading start>``), document_id, parent_section_id,
    path, marker, kind, level, heading_text (== text[heading_start_char:heading_end_char],
    marker included, closing 。 excluded), heading_start_char, heading_end_char, start_char
    (== heading_start_char), end_char (next heading of the same or a higher level, or the
    document's end).
    """
    paras = paragraphs(documents, sentences).filter(~pl.col("is_boilerplate"))
    rules = list(heading_patterns.sort("level", maintain_order=True).iter_rows(named=True))
    marker = pl.coalesce([pl.col("text").str.extract(f"^[ \\t\\u3000]*(?:{r['pattern']})", 1) for r in rules])
    level = pl.coalesce(
        [
            pl.when(pl.col("text").str.contains(f"^[ \\t\\u3000]*(?:{r['pattern']})")).then(
                pl.lit(r["level"])
            )
            for r in rules
        ]
    )
    kind = pl.coalesce(
        [
            pl.when(pl.col("text").str.contains(f"^[ \\t\\u3000]*(?:{r['pattern']})")).then(pl.lit(r["kind"]))
            for r in rules
        ]
    )
    heads = (
        paras.with_columns(marker.alias("marker"), level.cast(pl.Int32).alias("level"), kind.alias("kind"))
        .filter(pl.col("marker").is_not_null())
        .with_columns(
            lead_length(pl.col("text")).alias("_lead"),
        )
        .with_columns(
            # The heading is the paragraph's first sentence, without its closing 。.
            pl.col("text")
            .str.slice(0, pl.col("_lead"))
            .str.strip_chars_end("。！？ \t\u3000")
            .alias("heading_text"),
            pl.col("start_char").alias("heading_start_char"),
        )
        .with_columns(
            (pl.col("heading_start_char") + pl.col("heading_text").str.len_chars().cast(pl.Int64)).alias(
                "heading_end_char"
            ),
            (pl.col("document_id") + ":s" + pl.col("start_char").cast(pl.String).str.zfill(6)).alias(
                "section_id"
            ),
            _component(pl.col("marker")).alias("_component"),
        )
        .sort(["document_id", "heading_start_char"])
    )
    if heads.height == 0:
        return pl.DataFrame(schema=SECTION_SCHEMA)
    doc_len = documents.select("document_id", pl.col("text").str.len_chars().cast(pl.Int64).alias("_doc_len"))
    heads = heads.join(doc_len, on="document_id", how="left")
    levels = sorted({r["level"] for r in rules})
    # For every level L: the component and id of the current level-L ancestor. A heading of a
    # higher level (smaller number) closes it, so it is reset to "" and forward filling stops there.
    anc_cols, id_cols, end_cols = [], [], []
    for lv in levels:
        current = pl.when(pl.col("level") == lv)
        reset = pl.when(pl.col("level") < lv).then(pl.lit(""))
        anc = pl.coalesce(current.then(pl.col("_component")), reset).forward_fill().over("document_id")
        sid = pl.coalesce(current.then(pl.col("section_id")), reset).forward_fill().over("document_id")
        # The next heading of level <= lv ends a level-lv section.
        nxt = (
            pl.when(pl.col("level") <= lv)
            .then(pl.col("heading_start_char"))
            .shift(-1)
            .backward_fill()
            .over("document_id")
        )
        anc_cols.append(pl.when(pl.col("level") >= lv).then(anc).alias(f"_a{lv}"))
        id_cols.append(pl.when(pl.col("level") > lv).then(sid).alias(f"_p{lv}"))
        end_cols.append(pl.when(pl.col("level") == lv).then(nxt).alias(f"_e{lv}"))
    heads = heads.with_columns(*anc_cols, *id_cols, *end_cols)
    components = [pl.when(pl.col(f"_a{lv}") != "").then(pl.col(f"_a{lv}")) for lv in levels]
    parents = [pl.when(pl.col(f"_p{lv}") != "").then(pl.col(f"_p{lv}")) for lv in reversed(levels)]
    return heads.select(
        "section_id",
        "document_id",
        pl.coalesce(parents).alias("parent_section_id"),
        pl.concat_list(components).list.drop_nulls().list.join("/").alias("path"),
        "marker",
        "kind",
        "level",
        "heading_text",
        "heading_start_char",
        "heading_end_char",
        pl.col("heading_start_char").alias("start_char"),
        pl.coalesce([pl.col(f"_e{lv}") for lv in levels]).fill_null(pl.col("_doc_len")).alias("end_char"),
    )


def assign_section(frame: pl.DataFrame, sections: pl.DataFrame, position: str = "start_char") -> pl.DataFrame:
    """``frame`` with ``section_id`` and ``section_path`` of the deepest section holding ``position``.

    ``frame`` needs ``document_id`` and the ``position`` column; rows before the first
    heading get nulls. Row order is kept. An as-of join per document: no Python loop.
    """
    keyed = frame.with_row_index("_row").with_columns(pl.col(position).cast(pl.Int64).alias("_pos"))
    right = sections.select(
        "document_id",
        pl.col("start_char").alias("_pos"),
        "section_id",
        pl.col("path").alias("section_path"),
    ).sort("_pos")
    drop = [c for c in ("section_id", "section_path") if c in frame.columns]
    joined = (
        keyed.drop(drop)
        .sort("_pos")
        .join_asof(right, on="_pos", by="document_id", strategy="backward", check_sortedness=False)
    )
    return joined.sort("_row").drop("_row", "_pos")


def section_ancestors(sections: pl.DataFrame) -> pl.DataFrame:
    """``section_id, ancestor_id, ancestor_start, depth``: each section with itself (depth 0) and
    every section it lies in (its parent at depth 1, and so on up).

    Why: "the sections that hold a position" is the deepest one (``assign_section``) and its
    ancestors, since sections nest. Reading them here costs sections × depth (the number of
    heading levels at most), where testing every section of a document against every row
    costs rows × sections: quadratic in the document, 2.2 GB for the 11,000 items of one
    12 MB report.
    """
    step = sections.select("section_id", pl.col("parent_section_id").alias("_up"))
    starts = sections.select(
        pl.col("section_id").alias("ancestor_id"), pl.col("start_char").alias("ancestor_start")
    )
    level = sections.select("section_id", pl.col("section_id").alias("ancestor_id"))
    frames = [level.with_columns(pl.lit(0, dtype=pl.Int32).alias("depth"))]
    depth = 0
    while level.height:
        depth += 1
        level = (
            level.join(step, left_on="ancestor_id", right_on="section_id")
            .select("section_id", pl.col("_up").alias("ancestor_id"))
            .drop_nulls("ancestor_id")
        )
        frames.append(level.with_columns(pl.lit(depth, dtype=pl.Int32).alias("depth")))
    return pl.concat(frames).join(starts, on="ancestor_id", how="left")
