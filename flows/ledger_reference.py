"""Load the ledger's reference data (``seeds/*.csv``) into the frames the ledger transforms take.

The ledger transforms (``dim_document``, ``boilerplate``, ``dim_section``,
``fct_rectification_item``, ``fct_measure``, ``dim_org_unit``,
``fct_supervision_activity``) never read files: every word list and pattern they
use arrives as a Polars frame from here, so a new province's phrasing is a CSV
edit, not a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from flows.settings import SEEDS_DIR


@dataclass(frozen=True)
class LedgerReference:
    """The ledger's dictionaries, one frame per CSV under ``seeds/``.

    - ``regions``: ``name, short_name, kind, level, province`` (seeds/regions.csv): province-level
      units and prefecture-level cities with their province
    - ``region_suffixes``: ``suffix, level, note`` (seeds/region_suffixes.csv): 省/市/自治区/区/县/旗…
    - ``genre_rules``: ``genre, scope, pattern, min_count, weight`` (seeds/genre_rules.csv)
    - ``boilerplate_patterns``: ``reason, scope, pattern`` (seeds/boilerplate_patterns.csv)
    - ``heading_patterns``: ``level, kind, pattern`` (seeds/heading_patterns.csv)
    - ``item_patterns``: ``kind, name, anchor, pattern, category, can_group`` (seeds/item_patterns.csv)
    - ``measure_status``: ``pattern, status, priority`` (seeds/measure_status.csv)
    - ``org_patterns``: ``type, needs_boundary, pattern`` (seeds/org_patterns.csv)
    - ``org_trim_words``: ``word`` (seeds/org_trim_words.csv): verbs and prepositions that
      precede an organisation's name and are not part of it
    - ``org_false_names``: ``pattern, why`` (seeds/org_false_names.csv): words that only look
      like names (布局, 举办, 办公…), matched on the name and the character after it
    - ``org_levels``: ``marker, level`` (seeds/org_levels.csv): the administrative suffix of a
      name's place and the level it gives
    - ``supervision_terms``: ``kind, term, action`` (seeds/supervision_terms.csv)
    """

    regions: pl.DataFrame
    region_suffixes: pl.DataFrame
    genre_rules: pl.DataFrame
    boilerplate_patterns: pl.DataFrame
    heading_patterns: pl.DataFrame
    item_patterns: pl.DataFrame
    measure_status: pl.DataFrame
    org_patterns: pl.DataFrame
    org_trim_words: pl.DataFrame
    org_levels: pl.DataFrame
    org_false_names: pl.DataFrame
    supervision_terms: pl.DataFrame


def _csv(path: Path, **overrides: pl.DataType) -> pl.DataFrame:
    # Every column is text unless stated: patterns such as 1.5 or 0316 must not become numbers.
    frame = pl.read_csv(path, infer_schema=False)
    return frame.with_columns(pl.col(name).cast(dtype) for name, dtype in overrides.items())


@lru_cache(maxsize=4)
def load_ledger_reference(seeds_dir: Path = SEEDS_DIR) -> LedgerReference:
    """Read the ledger CSVs under ``seeds_dir`` (cached per folder)."""
    return LedgerReference(
        regions=_csv(seeds_dir / "regions.csv"),
        region_suffixes=_csv(seeds_dir / "region_suffixes.csv"),
        genre_rules=_csv(seeds_dir / "genre_rules.csv", min_count=pl.Int64, weight=pl.Int64),
        boilerplate_patterns=_csv(seeds_dir / "boilerplate_patterns.csv"),
        heading_patterns=_csv(seeds_dir / "heading_patterns.csv", level=pl.Int32),
        item_patterns=_csv(seeds_dir / "item_patterns.csv"),
        measure_status=_csv(seeds_dir / "measure_status.csv", priority=pl.Int32),
        org_patterns=_csv(seeds_dir / "org_patterns.csv").with_columns(
            (pl.col("needs_boundary") == "true").alias("needs_boundary")
        ),
        org_trim_words=_csv(seeds_dir / "org_trim_words.csv"),
        org_levels=_csv(seeds_dir / "org_levels.csv"),
        org_false_names=_csv(seeds_dir / "org_false_names.csv"),
        supervision_terms=_csv(seeds_dir / "supervision_terms.csv"),
    )
