"""Load the ledger's reference data (``seeds/*.csv``) into the frames the ledger transforms take.

The ledger transforms (``stg_documents``, ``dim_document``, ``boilerplate``, ``dim_section``,
``fct_rectification_item``, ``fct_measure``, ``dim_org_unit``,
``fct_supervision_activity``) never read files: every word list and pattern they
use arrives as a Polars frame from here, so a new province's phrasing is a CSV
edit, not a code change.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from flows.settings import SEEDS_DIR
from transforms.ledger import LedgerReference


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
        document_structure=_csv(seeds_dir / "document_structure.csv"),
    )
