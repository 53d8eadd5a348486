"""``dim_metric``: the conformed metric dimension. Grain: one row per metric concept.

``fct_metric.metric`` is the phrase as written (GDP written three ways is one quantity);
an analyst comparing documents needs one key per quantity. The concepts and their aliases are
curated reference data (``seeds/metric_concepts.csv``, ``seeds/metric_concept_aliases.csv``), so
adding a concept or an alias is a data change, not a code change. A level and its growth are two
concepts that share aliases: the unit family (``dim_unit.kind``) tells them apart, which is why the
dimension carries it.
"""

from __future__ import annotations

import polars as pl

KINDS = ("level", "rate", "change")

DIM_METRIC_SCHEMA: dict[str, pl.DataType] = {
    "metric_concept_id": pl.String(),
    "name_zh": pl.String(),
    "name_en": pl.String(),
    "unit_family": pl.String(),
    "canonical_unit": pl.String(),
    "concept_kind": pl.String(),
    "definition": pl.String(),
    "aliases": pl.List(pl.String()),
}


def dim_metric(concepts: pl.DataFrame, aliases: pl.DataFrame) -> pl.DataFrame:
    """One row per concept with its aliases as a list (the name itself is always an alias, so a
    concept with no alias row still matches its own name)."""
    names = concepts.select(pl.col("id").alias("concept_id"), pl.col("name_zh").alias("alias"))
    every = (
        pl.concat([names, aliases.select("concept_id", "alias")], how="vertical_relaxed")
        .unique(maintain_order=True)
        .group_by("concept_id", maintain_order=True)
        .agg(pl.col("alias").alias("aliases"))
    )
    return (
        concepts.rename({"id": "metric_concept_id", "kind": "concept_kind"})
        .join(every, left_on="metric_concept_id", right_on="concept_id", how="left")
        .select(list(DIM_METRIC_SCHEMA))
        .cast(DIM_METRIC_SCHEMA)
        .unique("metric_concept_id", keep="first", maintain_order=True)
    )


def concept_aliases(dim: pl.DataFrame) -> pl.DataFrame:
    """``metric_concept_id, alias, unit_family, concept_kind``: one row per alias of a concept,
    the table the mapping searches."""
    return (
        dim.select("metric_concept_id", "unit_family", "concept_kind", "aliases")
        .explode("aliases")
        .rename({"aliases": "alias"})
        .filter(pl.col("alias").is_not_null() & (pl.col("alias") != ""))
    )
