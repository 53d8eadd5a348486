"""The tables ``extract`` produces, and reading a chunk of them back: no Prefect here.

The checker process (``flows.quality.checker``) imports this module and GX, not the flow's module:
Prefect would add about 70 MB and 2 CPU-seconds to its start for nothing it uses.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from flows.warehouse.concept_reference import load_concept_words, load_dim_metric
from flows.warehouse.ledger_reference import load_ledger_reference
from flows.warehouse.reference import load_reference
from transforms.fct_metric import fct_metric
from transforms.fct_metric_concept import map_concepts
from transforms.ledger import build_ledger
from transforms.simplified_reading import original_text, simplified_reading
from transforms.stg_documents import stg_documents
from transforms.stg_sentences import stg_sentences
from transforms.temporal import flow_time

# Tables whose rows each belong to one document, produced by ``extract``.
DOCUMENT_TABLES = (
    "stg_documents",
    "stg_sentences",
    "fct_metric",
    "dim_document",
    "dim_section",
    "fct_rectification_item",
    "fct_measure",
    "bridge_sentence_org",
    "fct_supervision_activity",
)
EXTRACT_TABLES = (*DOCUMENT_TABLES, "dim_org_unit")


def extract_documents(documents: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every table derived from a set of distinct documents: staging, metric facts and the ledger.

    The ledger marks boilerplate first, so no fact, item or measure comes from page furniture,
    and gives each fact its section and measure. Traditional-script documents are read in
    their simplified reading and every sliced text is given back from the original
    (``transforms.simplified_reading``), so facts still slice the stored text.
    """
    original = documents
    documents = simplified_reading(documents)
    ref = load_reference()
    ledger_ref = load_ledger_reference()
    docs = stg_documents(documents, ledger_ref.document_structure)
    sentences = stg_sentences(documents)
    facts = fct_metric(sentences, docs, ref)
    ledger = build_ledger(documents, docs, sentences, ledger_ref, facts)
    ledger["fct_metric"] = flow_time(
        ledger["fct_metric"],
        ledger["stg_sentences"],
        ledger["dim_section"],
        ledger["dim_document"],
        ref.time_frames,
        ref.plan_periods,
        ref.target_words,
    )
    # Issue 27: each fact's conformed metric; dim_metric rides along for loads that take every
    # frame (``build_tables``), and is not a per-batch table (not in EXTRACT_TABLES).
    concepts = load_dim_metric()
    ledger["fct_metric"] = map_concepts(
        ledger["fct_metric"], concepts, load_concept_words(), ref, ledger["stg_sentences"]
    )
    return original_text({"stg_documents": docs, **ledger, "dim_metric": concepts}, original)


def merge_org_units(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per organisation across buckets: the same body named in two buckets is one row."""
    orgs = pl.concat(parts, how="vertical_relaxed")
    return (
        orgs.group_by("org_id", maintain_order=True)
        .agg(
            pl.col("name", "type", "level", "parent_org_id").first(),
            pl.col("mention_count").sum(),
            pl.col("document_count").sum(),
        )
        .select(orgs.columns)
    )


def chunk_tables(
    group: list[dict[str, Any]], raw: pl.DataFrame, units: pl.DataFrame, all_unchanged: bool = False
) -> dict[str, pl.DataFrame]:
    """The extracted tables of a group of batches, to validate together (one chunk).

    ``raw`` holds (at least) the group's documents, whose text the offsets point into. Every
    check but dim_unit's looks within one document (offsets, foreign keys, ids hashed with
    the document), so checking chunk by chunk finds what checking everything at once would,
    with memory bounded by the chunk. An empty group gives empty tables (an empty folder:
    its warnings say so), or only dim_unit when ``all_unchanged`` (the folder has documents
    but every one is in the warehouse already: only the reference data is new). ``units`` is
    the dim_unit the run loads, so that what is checked is what is loaded.
    """
    if not group and all_unchanged:
        return {"dim_unit": units, "dim_metric": load_dim_metric()}
    if group:
        tables = {
            name: pl.concat(
                [pl.read_parquet(Path(r["dir"]) / f"{name}.parquet") for r in group],
                how="vertical_relaxed",
            )
            for name in DOCUMENT_TABLES
        }
        tables["dim_org_unit"] = merge_org_units(
            [pl.read_parquet(Path(r["dir"]) / "dim_org_unit.parquet") for r in group]
        )
    else:
        tables = {name: empty_table(name) for name in EXTRACT_TABLES}
    ids = tables["stg_documents"]["document_id"].implode()
    tables["raw_documents"] = raw.filter(pl.col("document_id").is_in(ids))
    tables["dim_unit"] = units
    tables["dim_metric"] = load_dim_metric()  # reference data like dim_unit (issue 27)
    return tables


def empty_table(table: str) -> pl.DataFrame:
    """The table with no rows, typed as the transforms type it."""
    return _empty_tables()[table]


@lru_cache(maxsize=1)
def _empty_tables() -> dict[str, pl.DataFrame]:
    return extract_documents(
        pl.DataFrame(schema={"document_id": pl.String, "file_name": pl.String, "text": pl.String})
    )


def warm_extractor_in_background() -> threading.Thread:
    """Load jieba (dictionary, genre words, POS model: about 1 s) in a daemon thread.

    ``taizhang run`` and the benchmark call it before the flow: the flow's process then mostly
    waits for Prefect's embedded server to answer (about 5 s), and the first extract batch
    would otherwise pay jieba's load on the critical path. A failure is left for the
    extraction to raise, where it is reported.
    """

    def warm() -> None:
        try:
            from transforms.metric_phrase import warm_tagger

            warm_tagger(load_reference())
        except Exception as exc:
            logging.getLogger(__name__).debug("warming jieba failed: %s", exc)

    thread = threading.Thread(target=warm, name="warm-jieba", daemon=True)
    thread.start()
    return thread
