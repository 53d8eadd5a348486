"""Shared fixtures: the real Prefect engine (test harness), reference data, tiny frames."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
SEEDS_RAW = REPO_ROOT / "seeds" / "raw"
GOLD_DIR = TESTS_DIR / "gold"
GOLD_DEV = GOLD_DIR / "dev"  # 13 gold files: the seeds 000-004 and the work-report excerpts 101-108
GOLD_TEXTS = GOLD_DIR / "texts"  # the texts of 101-108 (those of 000-004 are SEEDS_RAW)
GOLD_SCORER = GOLD_DIR / "score.py"  # the reference scorer


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One real, temporary Prefect API for all flow tests (about 10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def ref():
    from flows.warehouse.reference import load_reference

    return load_reference()


def doc_frame(texts: dict[str, str]) -> pl.DataFrame:
    """A raw-documents frame from {file name: text}."""
    return pl.DataFrame(
        {
            "document_id": [f"d{i}" for i in range(len(texts))],
            "file_name": list(texts),
            "text": list(texts.values()),
        }
    )


def staged_documents(docs: pl.DataFrame) -> pl.DataFrame:
    """``stg_documents`` of a raw-documents frame, with the seeds' document structure."""
    from flows.warehouse.ledger_reference import load_ledger_reference
    from transforms.stg_documents import stg_documents

    return stg_documents(docs, load_ledger_reference().document_structure)


def extract(text: str) -> list[dict[str, object]]:
    """Mentions of one text through the real transforms."""
    from flows.warehouse.reference import load_reference
    from transforms.fct_metric import fct_metric
    from transforms.stg_sentences import stg_sentences

    docs = doc_frame({"case.txt": text})
    facts = fct_metric(stg_sentences(docs), staged_documents(docs), load_reference())
    return facts.to_dicts()
