"""``fct_supervision_activity``: who supervised what, and how, in 纪检监察 features.

Grain: one row per supervision action named in a sentence: 武清区纪委监委深入
西诺通科(北京)生物科技有限公司开展调研监督 is one row with the body (武清区纪委监委),
the action (调研监督) and the target (西诺通科(北京)生物科技有限公司).

The action words and their canonical actions, the words that open a target
(深入, 赴, 到, 就, 对…) and the body types that supervise come from
``seeds/supervision_terms.csv``. The body is the supervising organisation
(``org_mentions`` of a supervising type) named last before the action in the same
sentence, or else the last one named earlier in the paragraph (``body_source`` says
which): features often name the body once and go on with 他们/该组. The target is the
text after the first target word between the body and the action, up to a comma or
to 开展/进行; when an organisation is named inside it, ``target_org_id`` is that body.

Photo captions are boilerplate elsewhere but are kept here, flagged ``in_caption``:
a caption such as ▲市纪委监委驻…纪检监察组深入…开展监督检查 is a supervision record of
its own. Other boilerplate never yields a row.
"""

from __future__ import annotations

import polars as pl

from transforms.ledger_text import alternation
from transforms.spans import find_spans

ACTIVITY_COLUMNS = [
    "activity_id",
    "document_id",
    "sentence_id",
    "org_id",
    "supervisor_name",
    "body_source",
    "action",
    "action_text",
    "action_start_char",
    "action_end_char",
    "target_text",
    "target_start_char",
    "target_end_char",
    "target_org_id",
    "in_caption",
]


def fct_supervision_activity(
    sentences: pl.DataFrame,
    mentions: pl.DataFrame,
    supervision_terms: pl.DataFrame,
    dim_documents: pl.DataFrame | None = None,
    genres: tuple[str, ...] = ("discipline_feature",),
) -> pl.DataFrame:
    """One row per supervision action.

    ``sentences`` is ``stg_sentences`` marked by ``mark_boilerplate``; ``mentions`` is
    ``org_mentions``; ``supervision_terms`` is ``seeds/supervision_terms.csv``. With
    ``dim_documents``, only documents of ``genres`` are read (pass ``genres=()`` for all).

    Columns: activity_id (``document_id:a<action start>``), document_id, sentence_id, org_id
    and supervisor_name (the body), body_source (``sentence`` or ``paragraph``), action
    (canonical), action_text (as written), action_start_char, action_end_char, target_text,
    target_start_char, target_end_char (document offsets, ``text == doc[start:end]``),
    target_org_id, in_caption.
    """
    terms = supervision_terms
    actions = terms.filter(pl.col("kind") == "action").select(pl.col("term").alias("action_text"), "action")
    markers = terms.filter(pl.col("kind") == "target_marker")["term"].to_list()
    supervisor_types = terms.filter(pl.col("kind") == "supervisor_type")["term"].to_list()
    usable = sentences
    if "is_boilerplate" in sentences.columns:
        usable = sentences.filter(
            ~pl.col("is_boilerplate") | (pl.col("boilerplate_reason") == "photo_caption")
        ).with_columns((pl.col("boilerplate_reason") == "photo_caption").fill_null(False).alias("in_caption"))
    else:
        usable = sentences.with_columns(pl.lit(False).alias("in_caption"))
    if dim_documents is not None and genres:
        keep = dim_documents.filter(pl.col("genre").is_in(list(genres))).select("document_id")
        usable = usable.join(keep, on="document_id", how="semi")
    found = find_spans(
        usable, "text", alternation(actions["action_text"]), keep=["sentence_id", "document_id", "start_char"]
    )
    if found.height == 0:
        # Typed even when empty, so that buckets without activities concatenate with the others.
        return pl.DataFrame(
            schema={
                c: pl.Int64 if c.endswith("_char") else pl.Boolean if c == "in_caption" else pl.String
                for c in ACTIVITY_COLUMNS
            }
        )
    found = (
        found.rename({"match": "action_text"})
        .join(actions, on="action_text", how="left")
        .select(
            "sentence_id",
            "document_id",
            pl.col("start_char").alias("_s_start"),
            (pl.col("start_char") + pl.col("start")).alias("action_start_char"),
            (pl.col("start_char") + pl.col("end")).alias("action_end_char"),
            "action_text",
            "action",
        )
        .join(
            usable.select("sentence_id", "paragraph_index", "in_caption", pl.col("text").alias("_sentence")),
            on="sentence_id",
        )
    )
    bodies = mentions.filter(pl.col("type").is_in(supervisor_types)).join(
        sentences.select("sentence_id", "paragraph_index"), on="sentence_id"
    )
    found = _with_body(found, bodies)
    found = _with_target(found, markers)
    # A target lies within its action's sentence, so only that sentence's bodies can be in it.
    targets = mentions.select(
        "sentence_id",
        pl.col("start_char").alias("_t_org_start"),
        pl.col("end_char").alias("_t_org_end"),
        pl.col("org_id").alias("target_org_id"),
    )
    with_org = (
        found.select("activity_key", "sentence_id", "target_start_char", "target_end_char")
        .drop_nulls("target_start_char")
        .join(targets, on="sentence_id")
        .filter(
            (pl.col("_t_org_start") >= pl.col("target_start_char"))
            & (pl.col("_t_org_end") <= pl.col("target_end_char"))
        )
        .sort("_t_org_start")
        .group_by("activity_key", maintain_order=True)
        .agg(pl.col("target_org_id").first())
    )
    return (
        found.join(with_org, on="activity_key", how="left")
        .with_columns(
            (pl.col("document_id") + ":a" + pl.col("action_start_char").cast(pl.String).str.zfill(6)).alias(
                "activity_id"
            )
        )
        .select(ACTIVITY_COLUMNS)
        .sort(["document_id", "action_start_char"])
    )


def _with_body(found: pl.DataFrame, bodies: pl.DataFrame) -> pl.DataFrame:
    """The supervising body named last before the action: in the sentence, else in the paragraph.

    "Last" is the body that starts last among those that end before the action. An as-of
    join within the paragraph finds it without pairing every action with every body of the
    paragraph (that pairing grew with the square of a paragraph's length): bodies sorted by
    end, each carries the latest-starting body among those ending at or before it.
    """
    found = found.with_row_index("activity_key")
    para = ["document_id", "_b_para"]
    best = pl.col("_b_start") == pl.col("_b_start").cum_max().over(para)
    ranked = (
        bodies.select(
            "document_id",
            pl.col("sentence_id").alias("_b_sentence"),
            pl.col("paragraph_index").alias("_b_para"),
            pl.col("start_char").alias("_b_start"),
            pl.col("end_char").alias("_b_end"),
            "org_id",
            pl.col("name").alias("supervisor_name"),
        )
        .sort([*para, "_b_end", "_b_start"])
        .with_columns(pl.col("_b_end").alias("_b_end_key"))
        .with_columns(
            pl.when(best).then(pl.col(c)).forward_fill().over(para).alias(c)
            for c in ("_b_sentence", "org_id", "supervisor_name", "_b_start", "_b_end")
        )
        # Bodies ending at the same place: the last one has seen them all.
        .unique([*para, "_b_end_key"], keep="last", maintain_order=True)
    )
    keyed = found.select(
        "activity_key",
        "document_id",
        "sentence_id",
        pl.col("paragraph_index").alias("_b_para"),
        pl.col("action_start_char").alias("_b_end_key"),
    ).sort("_b_end_key")
    candidates = (
        keyed.join_asof(
            ranked.sort("_b_end_key"), on="_b_end_key", by=para, strategy="backward", check_sortedness=False
        )
        .drop_nulls("_b_end")
        .select(
            "activity_key",
            "org_id",
            "supervisor_name",
            pl.when(pl.col("_b_sentence") == pl.col("sentence_id"))
            .then(pl.lit("sentence"))
            .otherwise(pl.lit("paragraph"))
            .alias("body_source"),
            "_b_end",
        )
    )
    return found.join(candidates, on="activity_key", how="inner")


def _with_target(found: pl.DataFrame, markers: list[str]) -> pl.DataFrame:
    """The target: what follows the first target word between the body and the action."""
    # Text of the sentence between the body (or the sentence start) and the action.
    from_char = pl.max_horizontal(pl.col("_b_end"), pl.col("_s_start"))
    between = pl.col("_sentence").str.slice(
        from_char - pl.col("_s_start"), pl.col("action_start_char") - from_char
    )
    marker_alt = alternation(markers)
    groups = between.str.extract_groups(
        f"^(?P<pre>.*?(?:{marker_alt})\\s*)(?P<target>[^，,。；;：:]+?)(?:[，,；;]|开展|进行|$)"
    )
    return (
        found.with_columns(from_char.alias("_from"), groups.alias("_t"))
        .with_columns(
            pl.col("_t").struct.field("target").str.strip_chars_end().alias("target_text"),
            pl.col("_t").struct.field("pre").str.len_chars().cast(pl.Int64).alias("_pre_len"),
        )
        .with_columns(
            pl.when(pl.col("target_text").str.len_chars() > 0)
            .then(pl.col("target_text"))
            .alias("target_text"),
        )
        .with_columns(
            (pl.col("_from") + pl.col("_pre_len")).alias("target_start_char"),
        )
        .with_columns(
            pl.when(pl.col("target_text").is_not_null())
            .then(pl.col("target_start_char"))
            .alias("target_start_char"),
        )
        .with_columns(
            (pl.col("target_start_char") + pl.col("target_text").str.len_chars().cast(pl.Int64)).alias(
                "target_end_char"
            ),
        )
    )
