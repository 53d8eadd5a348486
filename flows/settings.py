"""Where things are. Every path can be overridden, so tests point the warehouse at a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "seeds"
RAW_DIR = SEEDS_DIR / "raw"
SQL_DIR = REPO_ROOT / "sql"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


def default_warehouse() -> Path:
    """``$TAIZHANG_WAREHOUSE`` or ``warehouse/taizhang.duckdb`` in the repository."""
    return Path(os.environ.get("TAIZHANG_WAREHOUSE", REPO_ROOT / "warehouse" / "taizhang.duckdb"))
