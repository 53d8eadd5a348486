"""Load the reference data under ``seeds/`` into the frames the transforms take."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from flows.settings import SEEDS_DIR
from transforms.reference import Reference


@lru_cache(maxsize=4)
def load_reference(seeds_dir: Path = SEEDS_DIR) -> Reference:
    """Read units, multipliers, qualifiers, non-facts and genre terms (cached per folder)."""
    terms = pl.read_csv(
        seeds_dir / "genre_terms.txt",
        separator=" ",
        has_header=False,
        new_columns=["word", "freq", "tag"],
        schema_overrides={"word": pl.String, "freq": pl.Int64, "tag": pl.String},
    )
    return Reference(
        units=pl.read_csv(seeds_dir / "units.csv", schema_overrides={"factor": pl.Float64}),
        multipliers=pl.read_csv(seeds_dir / "multipliers.csv", schema_overrides={"factor": pl.Float64}),
        qualifiers=pl.read_csv(seeds_dir / "qualifiers.csv"),
        non_facts=pl.read_csv(seeds_dir / "non_facts.csv"),
        genre_terms=terms,
        noun_suffixes=pl.read_csv(seeds_dir / "noun_suffixes.txt", has_header=False, new_columns=["suffix"]),
        implied_units=pl.read_csv(seeds_dir / "implied_units.csv"),
        unit_heads=pl.read_csv(seeds_dir / "unit_heads.csv"),
        time_frames=pl.read_csv(seeds_dir / "time_frames.csv"),
        plan_periods=pl.read_csv(seeds_dir / "plan_periods.csv"),
        target_words=pl.read_csv(seeds_dir / "target_words.csv"),
    )
