"""Load the metric concepts under ``seeds/`` (``dim_metric`` and the words the mapping strips or
blocks on): a module of its own, so the concept seeds do not widen ``Reference``, which every
extract transform takes."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from flows.settings import SEEDS_DIR
from transforms.dim_metric import dim_metric


@lru_cache(maxsize=4)
def load_dim_metric(seeds_dir: Path = SEEDS_DIR) -> pl.DataFrame:
    """``dim_metric`` from ``metric_concepts.csv`` and ``metric_concept_aliases.csv``."""
    return dim_metric(
        pl.read_csv(seeds_dir / "metric_concepts.csv", infer_schema=False),
        pl.read_csv(seeds_dir / "metric_concept_aliases.csv", infer_schema=False),
    )


@lru_cache(maxsize=4)
def load_concept_words(seeds_dir: Path = SEEDS_DIR) -> pl.DataFrame:
    """``word, role, why`` of ``metric_concept_words.csv`` (role ``strip`` or ``block``)."""
    return pl.read_csv(seeds_dir / "metric_concept_words.csv", infer_schema=False)
