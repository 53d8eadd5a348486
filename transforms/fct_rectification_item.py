"""``fct_rectification_item``: one row per problem a rectification report says it addressed.

Grain: one row per problem lead. Reports introduce each problem with a frame, and the
frames (``seeds/item_patterns.csv``, ``kind = lead``) are what this table keys on, not
any one report's numbering. The frames are the structures rectification reports share,
whoever writes them (a province's party committee, a central enterprise, an audit
report, a county's 巡察 notice, a city's 督察 list, a university):

- 针对“…”(的)问题，… and 针对…方面问题和“…”整改意见，… (the 整改意见 in ``opinion_text``);
  a quoted category before the problem (针对“举一反三”整改事项“…”) is the item's category
- 关于“…”(的)问题 / 关于…(的)问题, as a heading or opening its paragraph, with or without
  the measures after it in the same paragraph; a group when other items sit under it
- a labelled problem: 问题：… / 反馈问题：… / 巡视指出：… (a ledger table written out)
- a numbered heading that names a problem: （一）…方面存在的问题, 1.…直排某某河问题。

A ``paragraph`` lead must open a paragraph (after the heading marker, if the paragraph
is a heading: 1.针对…); a ``sentence`` lead may also open a sentence inside one
(…河北临空集团。关于“北运河…”问题。北运河…); a ``heading`` lead must be a heading
(``dim_section``). A problem that names no problem (存在的主要问题, 已完成整改的问题:
``kind = not_problem``) is no item. Items inside a 专题报告 section take the category
专题报告 unless the frame names its own (``kind = section_category``).

Only documents about rectification have items: a ``document_gate`` row asks for at
least one 整改 per 1000 characters, so the 关于…问题 headings of a 1955 work report
(关于农业的增产问题) are not read as problems addressed.

Offsets. ``start_char``/``end_char`` span the lead: the heading or lead sentence,
numbering marker included, closing 。 included (a labelled problem to the end of its
line): ``text == document[start_char:end_char]``. ``problem_start_char``/
``problem_end_char`` span ``problem_text``, the problem as the report names it without
the frame (no 关于/针对/整改事项/问题：, no (的)问题 of 关于…问题, and without the quotes when
the whole problem is quoted).

Scope. An item's measures are the text after its lead up to ``scope_end_char``: the next
item, else the end of its section (a heading item) or the next heading (an item inside
running text), and never past boilerplate or the report's closing signature and date.
"""

from __future__ import annotations

import polars as pl

from transforms.dim_section import assign_section, section_ancestors
from transforms.ledger_text import paragraphs, slice_document

LEAD_WINDOW_CHARS = 1000
"""How much of a paragraph, from a sentence inside it, a lead is looked for in.

Why: a lead may open any sentence, and the text it is matched against runs on to the end of
the paragraph (a quoted problem may hold a 。). Handing every sentence the rest of its
paragraph cost (sentences × paragraph length): quadratic in the paragraph, 3 GB on a 1 MB
document written as one line. The longest lead of the seeds, the gold texts and the work
reports is 124 characters, so 1,000 reads every real one; a lead that would reach within
``_TAIL_ROOM`` characters of a cut window's end is not read, since the window cannot show
where it ends (a frame ending at ``$`` would otherwise match at the cut).
"""
_TAIL_ROOM = 32  # longer than any lead_tail of seeds/item_patterns.csv (，进行了以下整改。)

ITEM_COLUMNS = [
    "item_id",
    "document_id",
    "section_id",
    "section_path",
    "parent_item_id",
    "item_kind",
    "category",
    "lead_form",
    "marker",
    "problem_text",
    "problem_start_char",
    "problem_end_char",
    "opinion_text",
    "start_char",
    "end_char",
    "text",
    "scope_end_char",
]
# The columns' types, so that a document with no items still gives a frame of the right shape.
ITEM_SCHEMA: dict[str, pl.DataType] = {
    c: pl.Int64() if c.endswith("_char") else pl.String() for c in ITEM_COLUMNS
}


def _candidates(documents: pl.DataFrame, sentences: pl.DataFrame, sections: pl.DataFrame) -> pl.DataFrame:
    """Places a lead may start: every paragraph (after its heading marker) and every sentence."""
    paras = paragraphs(documents, sentences).filter(~pl.col("is_boilerplate"))
    heads = sections.select(
        "document_id",
        pl.col("heading_start_char").alias("start_char"),
        "marker",
        pl.lit(True).alias("_heading"),
    )
    para_c = (
        paras.join(heads, on=["document_id", "start_char"], how="left")
        .with_columns(pl.col("_heading").fill_null(False))
        .with_columns(
            pl.col("text").str.slice(pl.col("marker").str.len_chars().fill_null(0)).alias("_after_marker"),
        )
        .with_columns(pl.col("_after_marker").str.strip_chars_start(" \t\u3000").alias("rest"))
        .with_columns(
            (
                pl.col("start_char")
                + pl.col("text").str.len_chars().cast(pl.Int64)
                - pl.col("rest").str.len_chars().cast(pl.Int64)
            ).alias("cand_start"),
            pl.lit(True).alias("para_start"),
            pl.col("start_char").alias("para_start_char"),
        )
        .select(
            "document_id",
            "cand_start",
            "para_start_char",
            "rest",
            "para_start",
            "_heading",
            "marker",
            pl.lit(False).alias("_window_cut"),
        )
    )
    inner = sentences.filter(pl.col("sentence_index") > 0)
    if "is_boilerplate" in inner.columns:
        inner = inner.filter(~pl.col("is_boilerplate"))
    sent_c = (
        inner.select("document_id", "paragraph_index", pl.col("start_char").alias("cand_start"))
        .join(
            paras.select(
                "document_id",
                "paragraph_index",
                pl.col("start_char").alias("para_start_char"),
                pl.col("end_char").alias("_para_end"),
                "text",
            ),
            on=["document_id", "paragraph_index"],
        )
        .with_columns(
            pl.col("text")
            .str.slice(pl.col("cand_start") - pl.col("para_start_char"), LEAD_WINDOW_CHARS)
            .alias("rest")
        )
        .select(
            "document_id",
            "cand_start",
            "para_start_char",
            "rest",
            pl.lit(False).alias("para_start"),
            pl.lit(False).alias("_heading"),
            pl.lit(None, dtype=pl.String).alias("marker"),
            (pl.col("_para_end") - pl.col("cand_start") > LEAD_WINDOW_CHARS).alias("_window_cut"),
        )
    )
    return pl.concat([para_c, sent_c], how="vertical_relaxed")


def _named_category(written: pl.Expr, vocabulary: list[dict]) -> pl.Expr:
    """The category a report names in its frame (针对“举一反三”整改事项…), as the ``category``
    rows of ``seeds/item_patterns.csv`` spell it (推进改革促进发展 → 推动改革促进发展), or
    ``other`` when the vocabulary does not know it: the category column stays a closed set."""
    known = [
        pl.when(written.str.contains(f"^(?:{v['pattern']})$")).then(pl.lit(v["category"])) for v in vocabulary
    ]
    return pl.when(written.is_not_null()).then(pl.coalesce([*known, pl.lit("other")]))


def _match_leads(cands: pl.DataFrame, leads: list[dict], vocabulary: list[dict]) -> pl.DataFrame:
    """The candidates a lead opens, with what its frame says.

    Which lead (the first CSV row that matches) is decided over every candidate with one
    ``contains`` per row; the frame's groups are read afterwards, on the few that matched.
    """
    names = []
    for lead in leads:  # a few CSV rows → a few expressions
        hit = pl.col("rest").str.contains(f"^(?:{lead['pattern']})")
        if lead["anchor"] in ("paragraph", "heading"):
            hit = hit & pl.col("para_start")
        if lead["anchor"] == "heading":
            hit = hit & pl.col("_heading")
        names.append(pl.when(hit).then(pl.lit(lead["name"])))
    found = cands.with_columns(pl.coalesce(names).alias("lead_form")).filter(
        pl.col("lead_form").is_not_null()
    )
    problems, opinions, categories, groups, lengths = [], [], [], [], []
    for lead in leads:
        anchored = f"^(?:{lead['pattern']})"
        groups_of = pl.col("rest").str.extract_groups(anchored)
        when = pl.when(pl.col("lead_form") == lead["name"])
        problems.append(when.then(groups_of.struct.field("problem")))
        if "(?P<opinion>" in lead["pattern"]:
            opinions.append(when.then(groups_of.struct.field("opinion")))
        own = pl.lit(lead["category"] or None, dtype=pl.String)
        if "(?P<category>" in lead["pattern"]:
            own = pl.coalesce(_named_category(groups_of.struct.field("category"), vocabulary), own)
        categories.append(when.then(own))
        groups.append(when.then(pl.lit(lead["can_group"] == "true")))
        lengths.append(
            when.then(pl.col("rest").str.extract(f"({anchored})", 1).str.len_chars().cast(pl.Int64))
        )
    return found.with_columns(
        pl.coalesce(problems).alias("problem_text"),
        (pl.coalesce(opinions) if opinions else pl.lit(None, dtype=pl.String)).alias("opinion_text"),
        pl.coalesce(categories).alias("_own_category"),
        pl.coalesce(groups).alias("_can_group"),
        pl.coalesce(lengths).alias("_match_len"),
    )


def _tail_length(item_patterns: pl.DataFrame) -> pl.Expr:
    """Length of the ``lead_tail`` right after the lead's frame (0 when there is none)."""
    tails = item_patterns.filter(pl.col("kind") == "lead_tail")["pattern"].to_list()
    if not tails:
        return pl.lit(0, dtype=pl.Int64)
    after = pl.col("rest").str.slice(pl.col("_match_len"))
    tail = "|".join(f"(?:{t})" for t in tails)
    return after.str.extract(f"^({tail})", 1).str.len_chars().fill_null(0).cast(pl.Int64)


def _about_rectification(documents: pl.DataFrame, item_patterns: pl.DataFrame) -> pl.DataFrame:
    """The documents that pass every ``document_gate`` row: its word at least ``threshold``
    times per 1000 characters."""
    kept = documents.select("document_id", "text")
    for gate in item_patterns.filter(pl.col("kind") == "document_gate").iter_rows(named=True):
        per_1000 = float(gate["threshold"] or 0)
        kept = kept.filter(
            pl.col("text").str.count_matches(gate["pattern"]) * 1000
            >= per_1000 * pl.col("text").str.len_chars().cast(pl.Float64)
        )
    return kept.select("document_id")


def fct_rectification_item(
    documents: pl.DataFrame,
    sentences: pl.DataFrame,
    sections: pl.DataFrame,
    item_patterns: pl.DataFrame,
) -> pl.DataFrame:
    """One row per problem lead of every document.

    ``documents`` has ``document_id, text``; ``sentences`` is ``stg_sentences`` marked by
    ``mark_boilerplate`` (boilerplate never yields an item); ``sections`` is ``dim_section``;
    ``item_patterns`` is ``seeds/item_patterns.csv``.

    Columns: item_id (``document_id:i<start>``), document_id, section_id, section_path,
    parent_item_id, item_kind (``problem`` or ``problem_group``), category, lead_form (the
    CSV row's name), marker, problem_text, problem_start_char, problem_end_char,
    opinion_text, start_char, end_char, text, scope_end_char.
    """
    leads = item_patterns.filter(pl.col("kind") == "lead").to_dicts()
    default_category = item_patterns.filter(pl.col("kind") == "default_category")["category"].to_list()
    default = default_category[0] if default_category else "other"
    about = _about_rectification(documents, item_patterns)
    cands = _candidates(documents.join(about, on="document_id"), sentences, sections)
    vocabulary = item_patterns.filter(pl.col("kind") == "category").to_dicts()
    found = _match_leads(cands, leads, vocabulary)
    generic = item_patterns.filter(pl.col("kind") == "not_problem")["pattern"].to_list()
    if generic:
        found = found.filter(~pl.col("problem_text").str.contains("|".join(f"(?:{g})" for g in generic)))
    if found.height == 0:
        return pl.DataFrame(schema=ITEM_SCHEMA)
    items = (
        found.with_columns(
            # The frame and what joins it to the measures (，进行了以下整改。).
            (pl.col("_match_len") + _tail_length(item_patterns)).alias("_lead_len"),
            # Characters before the problem (``str.find`` would count bytes).
            pl.col("rest")
            .str.split(pl.col("problem_text"))
            .list.first()
            .str.len_chars()
            .cast(pl.Int64)
            .alias("_p_off"),
        )
        .with_columns(
            pl.when(pl.col("_heading"))
            .then(pl.col("para_start_char"))
            .otherwise(pl.col("cand_start"))
            .alias("start_char"),
            (pl.col("cand_start") + pl.col("_lead_len")).alias("end_char"),
            (pl.col("cand_start") + pl.col("_p_off")).alias("problem_start_char"),
        )
        .with_columns(
            (pl.col("problem_start_char") + pl.col("problem_text").str.len_chars().cast(pl.Int64)).alias(
                "problem_end_char"
            ),
            # A problem quoted whole (“…”) is stored without its quotes.
            (
                pl.col("problem_text").str.starts_with("“")
                & pl.col("problem_text").str.ends_with("”")
                & (pl.col("problem_text").str.count_matches("“") == 1)
            ).alias("_wrapped"),
        )
        .with_columns(
            pl.when(pl.col("_wrapped"))
            .then(pl.col("problem_text").str.slice(1, pl.col("problem_text").str.len_chars() - 2))
            .otherwise(pl.col("problem_text"))
            .alias("problem_text"),
            (pl.col("problem_start_char") + pl.col("_wrapped").cast(pl.Int64)).alias("problem_start_char"),
            (pl.col("problem_end_char") - pl.col("_wrapped").cast(pl.Int64)).alias("problem_end_char"),
        )
        # A lead that reaches the end of a cut window may go on past it: not read (LEAD_WINDOW_CHARS).
        .filter(~pl.col("_window_cut") | (pl.col("_lead_len") + _TAIL_ROOM <= LEAD_WINDOW_CHARS))
        .sort(["document_id", "start_char"])
        # A sentence that opens inside an earlier lead (a 。 within a quoted problem) is not a lead.
        .with_columns(pl.col("end_char").cum_max().shift(1).over("document_id").alias("_prev_end"))
        .filter(pl.col("_prev_end").is_null() | (pl.col("start_char") >= pl.col("_prev_end")))
        .with_columns(
            (pl.col("document_id") + ":i" + pl.col("start_char").cast(pl.String).str.zfill(6)).alias(
                "item_id"
            )
        )
    )
    items = _with_text(documents, items)
    items = assign_section(items, sections, "start_char")
    items = _with_scope(items, sections, sentences)
    items = _with_parent(items, sections)
    items = _with_category(items, sections, item_patterns, default)
    return items.select(ITEM_COLUMNS).sort(["document_id", "start_char"])


def _with_text(documents: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    lengths = documents.select("document_id", pl.col("text").str.len_chars().cast(pl.Int64).alias("_doc_len"))
    return slice_document(documents, items, "start_char", "end_char").join(
        lengths, on="document_id", how="left", maintain_order="left"
    )


_DATE_LINE = r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$"


def _sign_off(sentences: pl.DataFrame) -> pl.DataFrame:
    """``document_id, _sign_off``: where the report's closing signature and date begin.

    The date is a line of its own in the second half of the text (2022年10月12日); the
    signature is the short unpunctuated line before it (中共某某县委员会), when there is one.
    A report without a contact footer would otherwise give them to its last item as measures.
    """
    doc_end = pl.col("end_char").max().over("document_id")
    dates = sentences.filter(pl.col("text").str.contains(_DATE_LINE) & (pl.col("start_char") * 2 > doc_end))
    keys = ["document_id", "paragraph_index"]
    # Only the paragraphs that hold a date line, and those just before them, are read.
    near = pl.concat(
        [
            dates.select(keys),
            dates.select("document_id", (pl.col("paragraph_index") - 1).alias("paragraph_index")),
        ]
    ).unique()
    paras = (
        sentences.join(near, on=keys, how="semi")
        .group_by(keys)
        .agg(pl.col("start_char").min(), pl.col("text").str.join(""), pl.len().alias("_n"))
        .filter(pl.col("_n") == 1)
    )
    lines = paras.filter(pl.col("text").str.contains(_DATE_LINE))
    signers = paras.filter(
        (pl.col("text").str.len_chars() <= 40) & ~pl.col("text").str.contains("[。！？；]")
    ).select(
        "document_id",
        (pl.col("paragraph_index") + 1).alias("paragraph_index"),
        pl.col("start_char").alias("_signer"),
    )
    return (
        lines.join(signers, on=keys, how="left")
        .select("document_id", pl.coalesce("_signer", "start_char").alias("_sign_off"))
        .group_by("document_id")
        .agg(pl.col("_sign_off").max())
    )


def _with_scope(items: pl.DataFrame, sections: pl.DataFrame, sentences: pl.DataFrame) -> pl.DataFrame:
    """``scope_end_char``: where the text that belongs to an item stops."""
    own = sections.select(
        "document_id", pl.col("heading_start_char").alias("start_char"), pl.col("end_char").alias("_sec_end")
    )
    next_heading = sections.select("document_id", pl.col("heading_start_char").alias("_next_heading")).sort(
        "_next_heading"
    )
    furniture = (
        sentences.filter(pl.col("is_boilerplate"))
        if "is_boilerplate" in sentences.columns
        else sentences.clear()
    )
    next_furniture = furniture.select("document_id", pl.col("start_char").alias("_next_bp")).sort("_next_bp")
    return (
        items.join(own, on=["document_id", "start_char"], how="left")
        .with_columns((pl.col("start_char") + 1).alias("_after"))
        .sort("_after")
        .join_asof(
            next_heading,
            left_on="_after",
            right_on="_next_heading",
            by="document_id",
            strategy="forward",
            check_sortedness=False,
        )
        .join_asof(
            next_furniture,
            left_on="_after",
            right_on="_next_bp",
            by="document_id",
            strategy="forward",
            check_sortedness=False,
        )
        .join(_sign_off(sentences), on="document_id", how="left")
        .sort(["document_id", "start_char"])
        .with_columns(pl.col("start_char").shift(-1).over("document_id").alias("_next_item"))
        .with_columns(
            pl.min_horizontal(
                pl.col("_next_item"),
                pl.coalesce("_sec_end", "_next_heading"),
                pl.col("_next_bp"),
                pl.when(pl.col("_sign_off") > pl.col("start_char")).then(pl.col("_sign_off")),
                pl.col("_doc_len"),
            ).alias("scope_end_char"),
            pl.col("_sec_end").is_not_null().alias("_is_heading"),
        )
    )


def _with_parent(items: pl.DataFrame, sections: pl.DataFrame) -> pl.DataFrame:
    """The innermost grouping heading item (关于…问题) whose section holds the item.

    A grouping heading item opens a section, so the candidates are the item's own section
    and its ancestors (``section_ancestors``), nearest first; a heading item's own section
    is not its parent (the parent must start before it).
    """
    group_sections = (
        items.filter(pl.col("_can_group") & pl.col("_is_heading"))
        .select("document_id", "start_char", pl.col("item_id").alias("parent_item_id"))
        .join(
            sections.select("document_id", pl.col("heading_start_char").alias("start_char"), "section_id"),
            on=["document_id", "start_char"],
        )
        .select(pl.col("section_id").alias("ancestor_id"), "parent_item_id")
    )
    links = (
        items.select("item_id", "section_id", "start_char")
        .join(section_ancestors(sections), on="section_id")
        .filter(pl.col("ancestor_start") < pl.col("start_char"))
        .join(group_sections, on="ancestor_id")
        .sort("depth")
        .group_by("item_id", maintain_order=True)
        .agg(pl.col("parent_item_id").first())
    )
    with_parent = items.join(links, on="item_id", how="left")
    has_children = links.select(
        pl.col("parent_item_id").unique().alias("item_id"), pl.lit(True).alias("_has_kids")
    )
    return with_parent.join(has_children, on="item_id", how="left").with_columns(
        pl.when(pl.col("_has_kids"))
        .then(pl.lit("problem_group"))
        .otherwise(pl.lit("problem"))
        .alias("item_kind")
    )


def _with_category(
    items: pl.DataFrame, sections: pl.DataFrame, item_patterns: pl.DataFrame, default: str
) -> pl.DataFrame:
    """The frame's own category, else that of a section it lies in (专题报告), else the default.

    The sections an item lies in are its own and their ancestors (``section_ancestors``).
    """
    rules = item_patterns.filter(pl.col("kind") == "section_category")
    by_section = pl.DataFrame(schema={"item_id": pl.String, "_sec_category": pl.String})
    if rules.height:
        holding = items.select("item_id", "section_id").join(section_ancestors(sections), on="section_id")
    for rule in rules.iter_rows(named=True):  # one join per CSV row, a handful
        marked = sections.filter(pl.col("heading_text").str.contains(rule["pattern"])).select(
            pl.col("section_id").alias("ancestor_id")
        )
        hit = (
            holding.join(marked, on="ancestor_id", how="semi")
            .select("item_id", pl.lit(rule["category"]).alias("_sec_category"))
            .unique("item_id", maintain_order=True)
        )
        by_section = pl.concat([by_section, hit]).unique("item_id", keep="first", maintain_order=True)
    return items.join(by_section, on="item_id", how="left").with_columns(
        pl.coalesce("_own_category", "_sec_category", pl.lit(default)).alias("category")
    )
