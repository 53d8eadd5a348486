"""The ``etl`` Prefect flow: ingest → transform → validate → load.

Tasks pass frames in memory, so their cache policy is switched off (Prefect
would otherwise try to hash whole frames); I/O tasks retry, pure ones do not.
A critical data-quality failure raises before the load, so a failed run leaves
the warehouse exactly as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import warehouse
from flows.ingest import read_folder
from flows.reference import load_reference
from flows.settings import RAW_DIR, default_warehouse
from transforms.dim_unit import dim_unit
from transforms.fct_metric import fct_metric
from transforms.stg_documents import stg_documents
from transforms.stg_sentences import stg_sentences


class DataQualityError(RuntimeError):
    """A critical expectation failed; the load was not attempted."""


@dataclass
class RunSummary:
    run_id: str
    input_dir: str
    warehouse: str
    documents: int
    quarantined: int
    sentences: int
    facts: int
    checks_passed: int
    checks_failed: int
    warnings: int


@task(name="ingest", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def ingest(input_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and decode every file of the input folder; unreadable files go to quarantine."""
    logger = get_run_logger()
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder {input_dir} does not exist")
    raw, quarantine = read_folder(input_dir)
    logger.info("read %d documents from %s, quarantined %d", raw.height, input_dir, quarantine.height)
    for row in quarantine.iter_rows(named=True):
        logger.warning("quarantined %s: %s", row["source_path"], row["reason"])
    return raw, quarantine


def build_tables(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """All transforms of one batch of documents (pure; also used by ``taizhang extract``)."""
    ref = load_reference()
    documents = raw.unique("document_id", keep="first", maintain_order=True)
    docs = stg_documents(documents)
    sentences = stg_sentences(documents)
    facts = fct_metric(sentences, docs, ref)
    return {
        "raw_documents": raw,
        "stg_documents": docs,
        "stg_sentences": sentences,
        "fct_metric": facts,
        "dim_unit": dim_unit(ref.units),
    }


@task(name="transform", cache_policy=NO_CACHE)
def transform(raw: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Documents → sentences → metric facts (Polars transforms)."""
    tables = build_tables(raw)
    get_run_logger().info(
        "transformed %d documents into %d sentences and %d metric facts",
        tables["stg_documents"].height,
        tables["stg_sentences"].height,
        tables["fct_metric"].height,
    )
    return tables


def with_source_slice(facts: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Add ``source_slice``: the document text at the fact's offsets (the provenance check)."""
    texts = raw.unique("document_id").select("document_id", pl.col("text").alias("_doc_text"))
    return (
        facts.join(texts, on="document_id", how="left")
        .with_columns(
            pl.col("_doc_text")
            .str.slice(pl.col("start_char"), pl.col("end_char") - pl.col("start_char"))
            .alias("source_slice")
        )
        .drop("_doc_text")
    )


@task(name="validate", cache_policy=NO_CACHE)
def validate(tables: dict[str, pl.DataFrame], run_id: str) -> pl.DataFrame:
    """Run the Great Expectations suites; raise on a critical failure, return every result."""
    from flows.quality import validate_table

    logger = get_run_logger()
    units = tables["dim_unit"]
    params = {
        "allowed_units": sorted(set(units["unit"].to_list())),
        "allowed_kinds": sorted({*units["kind"].to_list(), "other"}),
    }
    results = validate_table(
        "fct_metric", with_source_slice(tables["fct_metric"], tables["raw_documents"]), params
    )
    rows = pl.DataFrame(
        [{"run_id": run_id, "table_name": r.table, **_result_fields(r)} for r in results],
        schema={
            "run_id": pl.String,
            "table_name": pl.String,
            "expectation": pl.String,
            "severity": pl.String,
            "success": pl.Boolean,
            "observed_value": pl.String,
            "unexpected_count": pl.Int64,
            "sample": pl.String,
        },
    )
    failed = rows.filter(~pl.col("success"))
    for r in failed.iter_rows(named=True):
        logger.warning(
            "%s check failed on %s: %s (%s bad rows, e.g. %s)",
            r["severity"],
            r["table_name"],
            r["expectation"],
            r["unexpected_count"],
            r["sample"],
        )
    critical = failed.filter(pl.col("severity") == "critical")
    if critical.height:
        first = critical.row(0, named=True)
        raise DataQualityError(
            f"{critical.height} critical data-quality check(s) failed, nothing was loaded. "
            f"First: table {first['table_name']}, check {first['expectation']}, "
            f"{first['unexpected_count']} bad rows, e.g. {first['sample']}"
        )
    logger.info("data quality: %d checks passed, %d warnings", rows.height - failed.height, failed.height)
    return rows


def _result_fields(r: object) -> dict[str, object]:
    d = asdict(r)  # type: ignore[call-overload]
    return {
        k: d[k]
        for k in ("expectation", "severity", "success", "observed_value", "unexpected_count", "sample")
    }


@task(name="load", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def load(
    warehouse_path: Path, tables: dict[str, pl.DataFrame], run_rows: dict[str, pl.DataFrame]
) -> dict[str, int]:
    """Write everything in one DuckDB transaction."""
    counts = warehouse.load(warehouse_path, tables, run_rows)
    get_run_logger().info("loaded into %s: %s", warehouse_path, counts)
    return counts


@flow(name="etl", log_prints=True)
def etl(input_dir: str = str(RAW_DIR), warehouse_path: str | None = None) -> dict[str, object]:
    """Ingest the reports of ``input_dir`` and load their metric facts into the DuckDB warehouse."""
    started = datetime.now(UTC).replace(tzinfo=None)
    run_id = uuid.uuid4().hex[:12]
    target = Path(warehouse_path) if warehouse_path else default_warehouse()
    raw, quarantine = ingest(Path(input_dir))
    tables = transform(raw)
    dq = validate(tables, run_id)
    passed = int(dq["success"].sum())
    summary = RunSummary(
        run_id=run_id,
        input_dir=str(Path(input_dir).resolve()),
        warehouse=str(target.resolve()),
        documents=tables["stg_documents"].height,
        quarantined=quarantine.height,
        sentences=tables["stg_sentences"].height,
        facts=tables["fct_metric"].height,
        checks_passed=passed,
        checks_failed=dq.height - passed,
        warnings=dq.height - passed,
    )
    etl_run = pl.DataFrame(
        [
            {
                "run_id": run_id,
                "started_at": started,
                "finished_at": datetime.now(UTC).replace(tzinfo=None),
                "input_dir": summary.input_dir,
                "documents": summary.documents,
                "sentences": summary.sentences,
                "facts": summary.facts,
                "checks_passed": summary.checks_passed,
                "checks_failed": summary.checks_failed,
            }
        ]
    )
    load(target, tables, {"etl_run": etl_run, "dq_result": dq, "quarantine": quarantine})
    return asdict(summary)
