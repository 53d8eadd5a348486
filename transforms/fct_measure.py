"""``fct_measure``: the measures a report lists under each problem, and the facts inside them.

Grain: one row per measure. After an item's lead (``fct_rectification_item``) comes
its body, up to the item's ``scope_end_char``. Where the body enumerates
(一是…二是…三是…), each clause is one measure, from its enumerator to the next. Where
it does not, each paragraph of the body is one measure (most often the single
paragraph after 进行了以下整改。, or the 整改情况：… after a problem).

An enumerator counts only where a clause starts (at the body's start, or after 。；;
！？：: or a line break) and only when it continues the sequence: 一是, then the first 二是
after it, then the first 三是 after that. A nested list (…五是…其中一是…) therefore
stays inside its clause. Text before the first enumerator is the item's preamble and is
not a measure.

Labelled bodies (问题：… 整改措施：… 责任单位：… 完成情况：…) are read by their labels
(``seeds/item_patterns.csv``, ``kind = body_label``): a ``measure`` label opens a
measure, a ``status`` label (完成情况, 整改进展) says how far the item's measures have
come and is not a measure itself, an ``attribute`` label (责任单位, 完成时限) is neither.
A status or attribute paragraph ends the measure before it.

``headline`` is the short phrase that names the measure: the clause without its
enumerator or label, up to the first 。，,；;. ``status`` is what the measure's own words
say about progress, matched as words (``transforms.measure_status``,
``seeds/measure_status.csv``), together with what its item's status paragraph or the
list the item stands in (一、已完成整改的问题 / 二、正在推进整改的问题) says: a statement
that the whole is complete wins, otherwise the least advanced status stated, so
6个问题中2个已完成,1个正在推进 is 正在推进, never 已完成.

``metric_count`` counts the metric facts (``fct_metric`` rows) that lie inside the
measure; ``assign_measure`` gives each fact its measure.
"""

from __future__ import annotations

import polars as pl

from transforms.dim_section import section_ancestors
from transforms.ledger_text import alternation, slice_document
from transforms.measure_status import decide, status_hits
from transforms.numbers import chinese_value
from transforms.spans import find_spans

MEASURE_COLUMNS = [
    "measure_id",
    "item_id",
    "document_id",
    "ordinal",
    "enumerated",
    "headline",
    "text",
    "start_char",
    "end_char",
    "status",
    "status_phrase",
    "metric_count",
]
_CLAUSE_START = r"(?:^|[。；;！？\n：:])[ \t\u3000]*"


def _bodies(documents: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    return slice_document(
        documents,
        items.select(
            "item_id", "document_id", pl.col("end_char").alias("body_start"), "scope_end_char"
        ).filter(pl.col("scope_end_char") > pl.col("body_start")),
        "body_start",
        "scope_end_char",
        "body",
    ).drop_nulls("body")  # an item of no document given has no body


def _enumerated(bodies: pl.DataFrame, enumerator: str) -> pl.DataFrame:
    """Start offsets of the enumerated clauses that continue the 一是, 二是… sequence."""
    hits = find_spans(bodies, "body", f"{_CLAUSE_START}(?:{enumerator})", keep=["item_id"])
    if hits.height == 0:
        return pl.DataFrame(schema={"item_id": pl.String, "ordinal": pl.Int64, "rel_start": pl.Int64})
    hits = hits.with_columns(
        pl.col("match").str.extract(f"({enumerator})$", 1).alias("_enum"),
    ).with_columns(
        (pl.col("end") - pl.col("_enum").str.len_chars().cast(pl.Int64)).alias("rel_start"),
        pl.col("_enum").str.strip_chars_end("是").alias("_numeral"),
    )
    numerals = hits.select(pl.col("_numeral").unique())
    values = numerals.with_columns(
        pl.col("_numeral")
        .map_elements(chinese_value, return_dtype=pl.Float64)
        .cast(pl.Int64)
        .alias("ordinal")
    )
    hits = hits.join(values, on="_numeral", how="left").filter(pl.col("ordinal").is_not_null())
    # Walk the sequence one ordinal at a time (bounded by the longest list, not by rows).
    chosen = (
        hits.filter(pl.col("ordinal") == 1)
        .group_by("item_id")
        .agg(pl.col("rel_start").min())
        .with_columns(pl.lit(1, dtype=pl.Int64).alias("ordinal"))
    )
    frames = [chosen]
    max_ordinal = int(hits["ordinal"].max() or 0)
    for k in range(2, max_ordinal + 1):
        prev = frames[-1].select("item_id", pl.col("rel_start").alias("_prev"))
        nxt = (
            hits.filter(pl.col("ordinal") == k)
            .join(prev, on="item_id")
            .filter(pl.col("rel_start") > pl.col("_prev"))
            .group_by("item_id")
            .agg(pl.col("rel_start").min())
            .with_columns(pl.lit(k, dtype=pl.Int64).alias("ordinal"))
        )
        if nxt.height == 0:
            break
        frames.append(nxt)
    return pl.concat(frames).select("item_id", "ordinal", "rel_start")


def _labels(item_patterns: pl.DataFrame, name: str) -> str | None:
    rows = item_patterns.filter((pl.col("kind") == "body_label") & (pl.col("name") == name))["pattern"]
    return "|".join(f"(?:{p})" for p in rows.to_list()) or None


def _label_paragraphs(paras: pl.DataFrame, labels: str | None) -> pl.DataFrame:
    """The body paragraphs that open with one of ``labels``: ``item_id, rel_start, text``."""
    if labels is None:
        return pl.DataFrame(schema={"item_id": pl.String, "rel_start": pl.Int64, "text": pl.String})
    return paras.filter(pl.col("match").str.contains(f"^(?:{labels})[：:]")).select(
        "item_id", pl.col("start").cast(pl.Int64).alias("rel_start"), pl.col("match").alias("text")
    )


def _item_status_texts(
    items: pl.DataFrame,
    label_paras: pl.DataFrame,
    sections: pl.DataFrame | None,
    item_patterns: pl.DataFrame,
) -> pl.DataFrame:
    """Texts that state an item's progress: ``item_id, text``.

    Its status paragraphs (完成情况：已完成。), and the heading of a list it stands in
    (一、已完成整改的问题（6项）), when that heading is a ``status_list`` of
    ``seeds/item_patterns.csv``.
    """
    texts = [label_paras.select("item_id", "text")]
    lists = item_patterns.filter(pl.col("kind") == "status_list")["pattern"].to_list()
    if sections is not None and lists and sections.height:
        heading = (
            pl.col("heading_text").str.slice(pl.col("marker").str.len_chars().fill_null(0)).str.strip_chars()
        )
        marked = sections.filter(heading.str.contains("|".join(f"(?:{p})" for p in lists))).select(
            pl.col("section_id").alias("ancestor_id"), heading.alias("text")
        )
        # The sections an item lies in: its own and their ancestors, not every list of its document.
        inside = (
            items.select("item_id", "section_id", "start_char")
            .with_row_index("_row")
            .join(section_ancestors(sections), on="section_id")
            .filter(pl.col("ancestor_start") < pl.col("start_char"))
            .join(marked, on="ancestor_id")
            .sort(["_row", "ancestor_start"])
            .select("item_id", "text")
        )
        texts.append(inside)
    return pl.concat(texts)


def _with_status(
    measures: pl.DataFrame, item_texts: pl.DataFrame, measure_status: pl.DataFrame
) -> pl.DataFrame:
    """``status`` and ``status_phrase`` from the measure's own words and its item's status texts."""
    own = status_hits(measures, "measure_id", "text", measure_status)
    said = status_hits(
        item_texts.with_row_index("_t").with_columns(pl.col("_t").cast(pl.String)),
        "_t",
        "text",
        measure_status,
    )
    # What the item's texts say counts for each of its measures, after the measure's own
    # words among equals.
    by_item = (
        said.join(
            item_texts.with_row_index("_t").select(pl.col("_t").cast(pl.String).alias("key"), "item_id"),
            on="key",
        )
        .join(measures.select("item_id", "measure_id"), on="item_id")
        .select(
            pl.col("measure_id").alias("key"),
            "priority",
            "status",
            "phrase",
            (pl.col("pos") + 1_000_000_000).alias("pos"),
        )
    )
    chosen = decide(pl.concat([own, by_item])).rename({"key": "measure_id"})
    return measures.join(chosen, on="measure_id", how="left")


def fct_measure(
    documents: pl.DataFrame,
    items: pl.DataFrame,
    item_patterns: pl.DataFrame,
    measure_status: pl.DataFrame,
    facts: pl.DataFrame | None = None,
    sections: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per measure of every item.

    ``documents`` has ``document_id, text``; ``items`` is ``fct_rectification_item``;
    ``item_patterns`` is ``seeds/item_patterns.csv`` (its ``enumerator``, ``body_label``
    and ``status_list`` rows); ``measure_status`` is ``seeds/measure_status.csv``;
    ``facts`` (optional) is any frame with ``document_id, start_char, end_char`` such as
    ``fct_metric``; ``sections`` (optional) is ``dim_section``, for the status lists.

    Columns: measure_id (``document_id:m<start>``), item_id, document_id, ordinal (from
    the enumerator, or the paragraph's rank in the body), enumerated, headline, text
    (== text[start_char:end_char]), start_char, end_char, status, status_phrase,
    metric_count (0 without facts).
    """
    enum_rows = item_patterns.filter(pl.col("kind") == "enumerator")["pattern"].to_list()
    enumerator = alternation(enum_rows, escape=False) if enum_rows else "[一二三四五六七八九十]{1,3}是"
    bodies = _bodies(documents, items)
    if bodies.height == 0:
        return _empty()
    paras = find_spans(bodies, "body", r"[^\s](?:[^\n]*[^\s])?", keep=["item_id"])
    stops = "|".join(x for x in (_labels(item_patterns, "status"), _labels(item_patterns, "attribute")) if x)
    label_paras = _label_paragraphs(paras, stops or None)
    status_paras = _label_paragraphs(paras, _labels(item_patterns, "status"))
    starts = _enumerated(bodies, enumerator)
    body_len = pl.col("body").str.len_chars().cast(pl.Int64)
    # A status or attribute paragraph ends the measure before it.
    stop_at = label_paras.select("item_id", pl.col("rel_start").alias("_stop")).sort("_stop")
    enumerated = (
        starts.join(bodies, on="item_id")
        .sort(["item_id", "rel_start"])
        .with_columns(
            pl.col("rel_start").shift(-1).over("item_id").fill_null(body_len).alias("rel_end"),
            pl.lit(True).alias("enumerated"),
        )
        .join_asof(
            stop_at,
            left_on="rel_start",
            right_on="_stop",
            by="item_id",
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns(pl.min_horizontal("rel_end", "_stop").alias("rel_end"))
    )
    # Bodies without an enumeration: one measure per paragraph. Status and attribute
    # paragraphs are not measures, unless the item has nothing else (1.…问题。整改进展：…).
    plain = (
        paras.join(starts.select("item_id").unique(), on="item_id", how="anti")
        .join(
            label_paras.select("item_id", pl.col("rel_start").alias("start"), pl.lit(True).alias("_label")),
            on=["item_id", "start"],
            how="left",
        )
        .with_columns(pl.col("_label").fill_null(False))
        .filter(~pl.col("_label") | pl.col("_label").all().over("item_id"))
        .join(bodies, on="item_id")
        .sort(["item_id", "start"])
        .select(
            "item_id",
            "document_id",
            "body_start",
            "body",
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("item_id").alias("ordinal"),
            pl.col("start").alias("rel_start"),
            pl.col("end").alias("rel_end"),
            pl.lit(False).alias("enumerated"),
        )
    )
    cols = ["item_id", "document_id", "body_start", "body", "ordinal", "rel_start", "rel_end", "enumerated"]
    measures = pl.concat([enumerated.select(cols), plain.select(cols)], how="vertical_relaxed")
    raw_text = pl.col("body").str.slice(pl.col("rel_start"), pl.col("rel_end") - pl.col("rel_start"))
    measure_label = "|".join(
        x for x in (_labels(item_patterns, "measure"), _labels(item_patterns, "status")) if x
    )
    headline = pl.col("text").str.replace(f"^(?:{enumerator})", "")
    if measure_label:
        headline = headline.str.replace(f"^(?:{measure_label})[：:]", "").str.replace(
            f"^(?:{enumerator})", ""
        )
    measures = (
        measures.with_columns(raw_text.str.strip_chars_end().alias("text"))
        .filter(pl.col("text").str.len_chars() > 0)
        .with_columns(
            (pl.col("body_start") + pl.col("rel_start")).alias("start_char"),
        )
        .with_columns(
            (pl.col("start_char") + pl.col("text").str.len_chars().cast(pl.Int64)).alias("end_char"),
            headline.str.extract(r"^([^。，,；;！？\n]*)", 1).str.strip_chars().alias("headline"),
            (
                pl.col("document_id")
                + ":m"
                + (pl.col("body_start") + pl.col("rel_start")).cast(pl.String).str.zfill(6)
            ).alias("measure_id"),
            pl.lit(0, dtype=pl.Int64).alias("metric_count"),
        )
    )
    item_texts = _item_status_texts(items, status_paras, sections, item_patterns)
    out = (
        _with_status(measures, item_texts, measure_status)
        .select(MEASURE_COLUMNS)
        .sort(["document_id", "start_char"])
    )
    return metric_count(out, facts) if facts is not None else out


def _empty() -> pl.DataFrame:
    schema = dict.fromkeys(MEASURE_COLUMNS, pl.String)
    schema.update(
        ordinal=pl.Int64, enumerated=pl.Boolean, start_char=pl.Int64, end_char=pl.Int64, metric_count=pl.Int64
    )
    return pl.DataFrame(schema=schema)


def assign_measure(facts: pl.DataFrame, measures: pl.DataFrame) -> pl.DataFrame:
    """``facts`` (``document_id, start_char, end_char``) with the ``measure_id`` holding each.

    A fact belongs to a measure when it lies wholly inside it. Measures do not overlap, so
    an as-of join on the start finds the only candidate; row order is kept.
    """
    right = measures.select(
        "document_id",
        pl.col("start_char").alias("_m_start"),
        pl.col("end_char").alias("_m_end"),
        "measure_id",
    ).sort("_m_start")
    keyed = facts.drop([c for c in ("measure_id",) if c in facts.columns]).with_row_index("_row")
    joined = (
        keyed.with_columns(pl.col("start_char").cast(pl.Int64).alias("_f_start"))
        .sort("_f_start")
        .join_asof(
            right,
            left_on="_f_start",
            right_on="_m_start",
            by="document_id",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(
            pl.when(pl.col("end_char") <= pl.col("_m_end")).then(pl.col("measure_id")).alias("measure_id")
        )
    )
    return joined.sort("_row").drop("_row", "_f_start", "_m_start", "_m_end")


def metric_count(measures: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """``measures`` with ``metric_count``: how many of ``facts`` lie inside each measure."""
    counts = (
        assign_measure(facts.select("document_id", "start_char", "end_char"), measures)
        .drop_nulls("measure_id")
        .group_by("measure_id")
        .len("metric_count")
    )
    return (
        measures.drop([c for c in ("metric_count",) if c in measures.columns])
        .join(counts, on="measure_id", how="left")
        .with_columns(pl.col("metric_count").fill_null(0).cast(pl.Int64))
        .select(MEASURE_COLUMNS)
    )
