"""``dim_unit``: the unit dictionary as a dimension. Grain: one row per unit as written."""

from __future__ import annotations

import polars as pl


def dim_unit(units: pl.DataFrame) -> pl.DataFrame:
    """One row per written unit; ``value_canonical = number * factor`` is computed from it alone."""
    return units.select(
        pl.col("written").cast(pl.String),
        pl.col("unit").cast(pl.String),
        pl.col("canonical").cast(pl.String),
        pl.col("kind").cast(pl.String),
        pl.col("factor").cast(pl.Float64),
    ).unique("written", keep="first", maintain_order=True)
