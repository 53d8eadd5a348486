"""Data quality for every table: prepare the frames, run the GX suites, summarise, publish.

The rules live in ``expectations/<table>.json`` (GX's own suite format) and are run by
``flows/quality/suites.py``. This module supplies what the rules need and turns their results into
the warehouse's ``dq_result`` and ``dq_run`` rows, a failure message and HTML data docs:

- ``prepare`` adds validation-only columns, because a GX expectation sees one row of one
  table: a fact cannot look up its document's text or its unit's factor by itself. So the
  document text sliced at each row's offsets (``source_slice``), the dictionary's factor
  and canonical unit, the document of a referenced sentence, per-document row counts and
  the like are joined in here, in Polars, and the suites compare columns. It also gathers
  the run-time ``$PARAMETER``s: the id sets of the dimensions (foreign keys), the accepted
  values that come from ``seeds/*.csv``, and the plausible date range.
- ``validate_all`` runs every suite and returns the ``dq_result`` rows;
  ``critical_failures_message`` says why a load must stop; ``dq_run_row`` is the run's
  one-line summary.
- ``build_data_docs`` writes a self-contained ``index.html`` (every run, every check, no
  external resources) and, beside it, GX's own Data Docs site.
- ``validate_warehouse`` re-validates a DuckDB warehouse that is already built.

Nothing here imports Prefect, so the flow, the CLI and the tests call the same functions.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from flows.quality import suites as quality

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult

# The tables with a suite, in the order a reader meets them (and the order results come in).
TABLES = (
    "stg_documents",
    "stg_sentences",
    "fct_metric",
    "dim_unit",
    "dim_metric",
    "dim_document",
    "dim_section",
    "fct_rectification_item",
    "fct_measure",
    "dim_org_unit",
    "bridge_sentence_org",
    "fct_supervision_activity",
)
DQ_RESULT_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "table_name": pl.String(),
    "expectation": pl.String(),
    "severity": pl.String(),
    "success": pl.Boolean(),
    "observed_value": pl.String(),
    "unexpected_count": pl.Int64(),
    "sample": pl.String(),
}
DQ_RUN_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "validated_at": pl.Datetime("us"),
    "tables": pl.Int64(),
    "checks": pl.Int64(),
    "passed": pl.Int64(),
    "failed_critical": pl.Int64(),
    "failed_warning": pl.Int64(),
    "success": pl.Boolean(),
}
# The founding of the PRC: no report in this genre is older.
MIN_DATE = dt.date(1949, 10, 1)
# Significant digits at which value_canonical and number x factor must agree (floats).
_SIG_FIGS = 12
# GX Data Docs render a value set in full; a dimension's id set can be large.
_DOCS_VALUE_SET_LIMIT = 25
# How many runs' GX result objects stay in memory for build_data_docs.
_KEEP_GX_RESULTS = 4
# validate_all(with_counts=True) adds these to the dq_result columns.
COUNT_SCHEMA = {"mostly": pl.Float64, "considered": pl.Int64}
_MESSAGE_CHECKS = 10
_MESSAGE_SAMPLES = 3
_GX_SITE = Path("gx") / "uncommitted" / "data_docs" / "local_site"
_OFFSET_COLUMN = re.compile(r"(^|_)(start|end)_char$")

_gx_results: OrderedDict[str, dict[str, ExpectationSuiteValidationResult]] = OrderedDict()


# --------------------------------------------------------------------------- prepare


def prepare(
    tables: Mapping[str, pl.DataFrame], today: dt.date | None = None
) -> tuple[dict[str, pl.DataFrame], dict[str, object]]:
    """Return the frames to validate (with validation-only columns) and the suite parameters.

    ``prepare_each`` is the same, a table at a time.
    """
    builders, parameters = prepare_each(tables, today)
    return {table: build() for table, build in builders.items()}, parameters


def prepare_each(
    tables: Mapping[str, pl.DataFrame], today: dt.date | None = None
) -> tuple[dict[str, Callable[[], pl.DataFrame]], dict[str, object]]:
    """For each table to validate, a function that builds its frame; and the suite parameters.

    Built one at a time and dropped once checked, the frames (which add copies of the text
    at each offset pair) never all live at once: a chunk's checks then need about half the
    memory.

    ``tables`` is what ``flows.pipeline.etl.build_tables`` returns (or what ``validate_warehouse``
    reads); ``raw_documents`` supplies the texts that offsets point into. Only tables that
    have a suite and are present come back. Each frame keeps the rows of its table, one for
    one: every lookup joins on a de-duplicated key, so a broken dimension cannot multiply or
    hide the rows being checked. ``today`` fixes the upper bound of publish dates (tests).

    Foreign keys are resolved here, not passed to GX as id sets: a ``$PARAMETER`` value set
    costs GX about 0.4 ms per id per expectation (it copies the kwargs many times while
    planning), so 100 000 section ids made one suite take 40 s. ``<column>_found`` holds
    the dimension's key where it exists, and the suite compares the two columns.
    """
    today = today or dt.date.today()
    texts = _document_texts(tables.get("raw_documents"))
    sentences = tables.get("stg_sentences")
    facts = tables.get("fct_metric")
    items = tables.get("fct_rectification_item")
    keys = {
        "document": _keys(tables.get("stg_documents"), "document_id"),
        "section": _keys(tables.get("dim_section"), "section_id"),
        "item": _keys(items, "item_id"),
        "measure": _keys(tables.get("fct_measure"), "measure_id"),
        "org": _keys(tables.get("dim_org_unit"), "org_id"),
    }

    def found(frame: pl.DataFrame, **columns: str) -> pl.DataFrame:
        """Add ``<column>_found`` for each foreign key ``column=dimension``."""
        return frame.with_columns(
            pl.when(pl.col(column).is_in(keys[dim].implode())).then(pl.col(column)).alias(f"{column}_found")
            for column, dim in columns.items()
        )

    builders: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
        "stg_documents": lambda df: _stg_documents(df, texts, sentences, facts),
        "stg_sentences": lambda df: _with_slices(
            found(df, document_id="document", section_id="section").with_columns(
                pl.col("sentence_id").str.extract(r"^([^:]*):", 1).alias("key_document_id")
            ),
            texts,
            {"source_slice": ("start_char", "end_char")},
        ),
        "fct_metric": lambda df: _fct_metric(
            found(df, document_id="document", section_id="section", measure_id="measure"),
            texts,
            sentences,
            tables.get("dim_unit"),
        ),
        "dim_unit": _dim_unit,
        "dim_metric": lambda df: df.with_columns(
            pl.col("aliases").list.len().fill_null(0).cast(pl.Int64).alias("alias_count")
        ).drop("aliases"),
        "dim_document": lambda df: _dim_document(found(df, document_id="document"), texts, items),
        "dim_section": lambda df: _with_slices(
            found(df, document_id="document", parent_section_id="section"),
            texts,
            {"heading_source_slice": ("heading_start_char", "heading_end_char")},
        ),
        "fct_rectification_item": lambda df: _with_slices(
            found(df, document_id="document", section_id="section", parent_item_id="item"),
            texts,
            {
                "source_slice": ("start_char", "end_char"),
                "problem_source_slice": ("problem_start_char", "problem_end_char"),
            },
        ),
        "fct_measure": lambda df: _fct_measure(
            found(df, item_id="item", document_id="document"), texts, items, facts
        ),
        "dim_org_unit": lambda df: found(df, parent_org_id="org"),
        "bridge_sentence_org": lambda df: _with_slices(
            _with_sentence_document(found(df, document_id="document", org_id="org"), sentences),
            texts,
            {"source_slice": ("start_char", "end_char")},
        ),
        "fct_supervision_activity": lambda df: _with_slices(
            _with_sentence_document(
                found(df, document_id="document", org_id="org", target_org_id="org"), sentences
            ),
            texts,
            {
                "action_source_slice": ("action_start_char", "action_end_char"),
                "target_source_slice": ("target_start_char", "target_end_char"),
            },
        ),
    }

    def builder(table: str, build: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[], pl.DataFrame]:
        def built() -> pl.DataFrame:
            frame = tables[table]
            prepared = build(_typed_offsets(frame))
            if prepared.height != frame.height:  # a join that multiplied rows would fake duplicates
                raise AssertionError(f"prepare changed the row count of {table}")
            return prepared

        return built

    present = {
        table: builder(table, build) for table, build in builders.items() if tables.get(table) is not None
    }
    return present, _parameters(tables, today)


def _parameters(tables: Mapping[str, pl.DataFrame], today: dt.date) -> dict[str, object]:
    """The suites' ``$PARAMETER``s: small accepted-value sets (units, seeds/*.csv) and date bounds."""
    from flows.warehouse.ledger_reference import load_ledger_reference

    ref = load_ledger_reference()
    units = tables.get("dim_unit")
    unit_values = _values(units, "unit")
    items = ref.item_patterns
    terms = ref.supervision_terms
    return {
        "allowed_units": unit_values,
        "allowed_kinds": sorted({*_values(units, "kind"), "other"}),
        "allowed_genres": sorted({*ref.genre_rules["genre"].drop_nulls(), "other"}),
        "allowed_categories": sorted({*items["category"].drop_nulls(), "other"}),
        "allowed_statuses": sorted(set(ref.measure_status["status"].drop_nulls())),
        "allowed_org_types": sorted({*ref.org_patterns["type"].drop_nulls(), "other"}),
        "allowed_org_levels": sorted({*ref.org_levels["level"].drop_nulls(), "other"}),
        "provinces": sorted(set(ref.regions.filter(pl.col("level") == "province")["name"].drop_nulls())),
        "heading_levels": sorted(set(ref.heading_patterns["level"].drop_nulls().to_list())),
        "supervision_actions": sorted(set(terms.filter(pl.col("kind") == "action")["action"].drop_nulls())),
        "min_date": MIN_DATE,
        "max_publish_date": today + dt.timedelta(days=1),
    }


def _values(frame: pl.DataFrame | None, column: str) -> list[Any]:
    """Sorted distinct non-null values of a column; empty when the table or column is absent."""
    if frame is None or column not in frame.columns:
        return []
    return sorted(frame[column].drop_nulls().unique().to_list())


def _typed_offsets(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast text-typed offset columns (``*start_char``, ``*end_char``) to integers.

    An extract bucket without supervision activities returns an all-text empty frame, and
    concatenating buckets with ``vertical_relaxed`` then turns every offset of the table into
    text. DuckDB casts such text to BIGINT on insert, so the checks must see the numbers that
    will be stored; a value that is not a number becomes null and fails the span checks.
    """
    text_offsets = [
        name for name, dtype in frame.schema.items() if dtype == pl.String and _OFFSET_COLUMN.search(name)
    ]
    if not text_offsets:
        return frame
    return frame.with_columns(pl.col(text_offsets).cast(pl.Int64, strict=False))


def _keys(frame: pl.DataFrame | None, column: str) -> pl.Series:
    """The distinct keys of a dimension (empty when the table is absent)."""
    if frame is None or column not in frame.columns:
        return pl.Series(column, [], dtype=pl.String)
    return frame[column].drop_nulls().unique().cast(pl.String)


def _document_texts(raw: pl.DataFrame | None) -> pl.DataFrame:
    """``document_id, _doc_text``: one text per document (the same text under two paths is one)."""
    if raw is None:
        return pl.DataFrame(schema={"document_id": pl.String, "_doc_text": pl.String})
    return raw.unique("document_id", keep="first").select("document_id", pl.col("text").alias("_doc_text"))


def _unique_lookup(
    frame: pl.DataFrame | None, key: str, columns: dict[str, str], schema: dict
) -> pl.DataFrame:
    """``key`` plus renamed columns, one row per key, or an empty frame when the table is absent."""
    if frame is None:
        return pl.DataFrame(schema={key: pl.String, **schema})
    select = [pl.col(key)]
    for source, alias in columns.items():
        if source in frame.columns:
            select.append(pl.col(source).alias(alias))
        else:
            select.append(pl.lit(None, dtype=schema[alias]).alias(alias))
    return frame.filter(pl.col(key).is_not_null()).unique(key, keep="first").select(select)


def _with_slices(
    frame: pl.DataFrame, texts: pl.DataFrame, slices: Mapping[str, tuple[str, str]]
) -> pl.DataFrame:
    """Add one column per ``alias: (start, end)``: the document text at those code-point offsets.

    A negative or reversed span gives null rather than Polars' wrap-around slice, so it can
    never match by accident; its own span check reports it. Offsets are cast for slicing
    only (an empty ledger frame can come with text-typed offsets); the suite still sees the
    column as it is.
    """
    joined = frame.join(texts, on="document_id", how="left")
    columns = []
    for alias, (start, end) in slices.items():
        s, e = pl.col(start).cast(pl.Int64, strict=False), pl.col(end).cast(pl.Int64, strict=False)
        valid = s.is_not_null() & e.is_not_null() & (s >= 0) & (e >= s)
        columns.append(
            pl.when(valid).then(pl.col("_doc_text").str.slice(s, e - s)).otherwise(None).alias(alias)
        )
    return joined.with_columns(columns).drop("_doc_text")


def _per_document_count(frame: pl.DataFrame | None, alias: str) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame(schema={"document_id": pl.String, alias: pl.Int64})
    return frame.group_by("document_id").len(name=alias).with_columns(pl.col(alias).cast(pl.Int64))


def _raw_char_count(texts: pl.DataFrame) -> pl.DataFrame:
    return texts.select(
        "document_id", pl.col("_doc_text").str.len_chars().cast(pl.Int64).alias("raw_char_count")
    )


def _stg_documents(
    docs: pl.DataFrame, texts: pl.DataFrame, sentences: pl.DataFrame | None, facts: pl.DataFrame | None
) -> pl.DataFrame:
    """Per-document counts flag an empty extraction; the raw length checks char_count."""
    return (
        docs.join(_raw_char_count(texts), on="document_id", how="left")
        .join(_per_document_count(sentences, "sentence_count"), on="document_id", how="left")
        .join(_per_document_count(facts, "fact_count"), on="document_id", how="left")
        .with_columns(pl.col("sentence_count", "fact_count").fill_null(0), _unsourced(docs, _HEADER_FIELDS))
    )


# A document's header fields, as the value that is null when the text states nothing, and the
# column that says where each came from (``none`` when it is null).
_HEADER_FIELDS = {
    "title": (pl.col("title"), "title_source"),
    "publisher": (pl.col("publisher"), "publisher_source"),
    "publish_date": (pl.col("publish_date"), "publish_date_source"),
    "report_year": (pl.col("report_year"), "report_year_source"),
}
_DIMENSION_FIELDS = {
    **_HEADER_FIELDS,
    "region_province": (pl.col("region_province"), "region_source"),
    "genre": (pl.when(pl.col("genre") != "other").then(pl.col("genre")), "genre_source"),
}


def _unsourced(frame: pl.DataFrame, fields: Mapping[str, tuple[pl.Expr, str]]) -> pl.Expr:
    """``unsourced_fields``: the fields whose source contradicts them, comma-separated, else null.

    A field is null (a genre ``other``) exactly when its source is ``none``. A null source (a
    row written before the sources existed) is not judged.
    """
    wrong = [
        pl.when(pl.col(source).is_not_null() & (value.is_null() != (pl.col(source) == "none"))).then(
            pl.lit(field)
        )
        for field, (value, source) in fields.items()
        if field in frame.columns and source in frame.columns
    ]
    joined = pl.concat_str(wrong, separator=",", ignore_nulls=True) if wrong else pl.lit("")
    return pl.when(joined == "").then(None).otherwise(joined).alias("unsourced_fields")


def _with_sentence_document(frame: pl.DataFrame, sentences: pl.DataFrame | None) -> pl.DataFrame:
    """``sentence_document_id``: the document of the row's sentence, null when there is no such sentence."""
    lookup = _unique_lookup(
        sentences, "sentence_id", {"document_id": "sentence_document_id"}, {"sentence_document_id": pl.String}
    )
    return frame.join(lookup, on="sentence_id", how="left")


def _fct_metric(
    facts: pl.DataFrame, texts: pl.DataFrame, sentences: pl.DataFrame | None, units: pl.DataFrame | None
) -> pl.DataFrame:
    sentence = _unique_lookup(
        sentences,
        "sentence_id",
        {"document_id": "sentence_document_id", "is_boilerplate": "sentence_is_boilerplate"},
        {"sentence_document_id": pl.String, "sentence_is_boilerplate": pl.Boolean},
    )
    unit = _unique_lookup(
        units,
        "unit",
        {"canonical": "dict_canonical", "kind": "dict_kind", "factor": "_dict_factor"},
        {"dict_canonical": pl.String, "dict_kind": pl.String, "_dict_factor": pl.Float64},
    )
    frame = (
        facts.join(sentence, on="sentence_id", how="left")
        .join(unit, on="unit", how="left")
        .with_columns(
            pl.concat_str(
                pl.col("document_id"),
                pl.lit(":"),
                pl.col("start_char").cast(pl.String),
                pl.lit("-"),
                pl.col("end_char").cast(pl.String),
            ).alias("expected_metric_id"),
            pl.col("value_canonical")
            .cast(pl.Float64)
            .round_sig_figs(_SIG_FIGS)
            .alias("value_canonical_rounded"),
            (pl.col("number").cast(pl.Float64) * pl.col("_dict_factor"))
            .round_sig_figs(_SIG_FIGS)
            .alias("value_canonical_expected"),
        )
        .drop("_dict_factor")
    )
    if "metric_concept_id" in frame.columns:  # issue 27: the mapped concept's unit family, from the seeds
        from flows.warehouse.concept_reference import load_dim_metric

        family = load_dim_metric().select(
            "metric_concept_id",
            pl.col("metric_concept_id").alias("metric_concept_id_found"),
            pl.col("unit_family").alias("concept_unit_family"),
        )
        frame = frame.join(family, on="metric_concept_id", how="left")
    return _with_slices(frame, texts, {"source_slice": ("start_char", "end_char")})


def _dim_unit(units: pl.DataFrame) -> pl.DataFrame:
    """Spellings of one unit must agree; a canonical unit must convert to itself."""
    return units.with_columns(
        pl.struct("canonical", "kind", "factor")
        .n_unique()
        .over("unit")
        .cast(pl.Int64)
        .alias("unit_variants"),
        (pl.col("unit") == pl.col("canonical")).alias("is_canonical"),
    )


def _dim_document(docs: pl.DataFrame, texts: pl.DataFrame, items: pl.DataFrame | None) -> pl.DataFrame:
    return (
        docs.join(_raw_char_count(texts), on="document_id", how="left")
        .join(_per_document_count(items, "item_count"), on="document_id", how="left")
        .with_columns(
            pl.col("item_count").fill_null(0),
            pl.col("content_sha256").str.slice(0, 16).alias("content_sha256_prefix"),
            _unsourced(docs, _DIMENSION_FIELDS),
        )
    )


def _fct_measure(
    measures: pl.DataFrame, texts: pl.DataFrame, items: pl.DataFrame | None, facts: pl.DataFrame | None
) -> pl.DataFrame:
    item = _unique_lookup(
        items, "item_id", {"document_id": "item_document_id"}, {"item_document_id": pl.String}
    )
    if facts is None:
        counts = pl.DataFrame(schema={"measure_id": pl.String, "metric_count_actual": pl.Int64})
    else:
        counts = (
            facts.filter(pl.col("measure_id").is_not_null())
            .group_by("measure_id")
            .len(name="metric_count_actual")
            .with_columns(pl.col("metric_count_actual").cast(pl.Int64))
        )
    frame = (
        measures.join(item, on="item_id", how="left")
        .join(counts, on="measure_id", how="left")
        .with_columns(pl.col("metric_count_actual").fill_null(0))
    )
    return _with_slices(frame, texts, {"source_slice": ("start_char", "end_char")})


# --------------------------------------------------------------------------- validate


def validate_all(
    tables: Mapping[str, pl.DataFrame],
    run_id: str,
    suite_dir: Path = quality.SUITE_DIR,
    today: dt.date | None = None,
    with_counts: bool = False,
) -> pl.DataFrame:
    """Run every suite against its table and return the ``dq_result`` rows (one per expectation).

    ``with_counts`` adds the columns ``mostly`` and ``considered`` (see ``quality.CheckResult``),
    which results of several chunks need to be combined.

    Tables absent from ``tables`` are skipped (their suites are not run); ``dq_run.tables``
    says how many were checked. Nothing is raised for failed checks: use
    ``critical_failures_message`` to decide whether the load may go on.
    """
    frames, parameters = prepare_each(tables, today=today)
    return check_prepared(frames, parameters, run_id, suite_dir, with_counts)


def check_prepared(
    frames: Mapping[str, Callable[[], pl.DataFrame]],
    parameters: Mapping[str, object],
    run_id: str,
    suite_dir: Path = quality.SUITE_DIR,
    with_counts: bool = False,
) -> pl.DataFrame:
    """Run the suites of prepared frames (``prepare_each``'s builders) in ``TABLES`` order.

    Each frame is built just before its suite runs and dropped after. Split from
    ``validate_all`` so that the checker process can hold a chunk's prepared frames of small
    tables and check them all at once when the run's last chunk is in (``flows.quality.checker``).
    """
    suites = set(quality.suite_tables(suite_dir))
    order = [t for t in TABLES if t in suites] + sorted(suites - set(TABLES))
    rows: list[dict[str, object]] = []
    outcomes: dict[str, ExpectationSuiteValidationResult] = {}
    for table in order:
        if table not in frames:
            continue
        checks, outcomes[table] = quality.validate_table_with_result(
            table, frames[table](), parameters, suite_dir
        )
        rows.extend(
            {
                "run_id": run_id,
                "table_name": check.table,
                "expectation": check.expectation,
                "severity": check.severity,
                "success": check.success,
                "observed_value": check.observed_value,
                "unexpected_count": check.unexpected_count,
                "sample": check.sample,
                "mostly": check.mostly,
                "considered": check.considered,
            }
            for check in checks
        )
    # Kept so that build_data_docs can render GX's own pages; a few runs at most. A run checked
    # chunk by chunk keeps each table's latest result (dim_unit's is the first chunk's).
    _gx_results.setdefault(run_id, {}).update(outcomes)
    _gx_results.move_to_end(run_id)
    while len(_gx_results) > _KEEP_GX_RESULTS:
        _gx_results.popitem(last=False)
    counted = pl.DataFrame(rows, schema={**DQ_RESULT_SCHEMA, **COUNT_SCHEMA})
    return counted if with_counts else counted.select(list(DQ_RESULT_SCHEMA))


def dq_run_row(results: pl.DataFrame, run_id: str, started_at: dt.datetime) -> pl.DataFrame:
    """The ``dq_run`` row: how many tables and checks, how many failed by severity, and the verdict.

    ``validated_at`` is ``started_at`` (naive UTC, like ``etl_run``), so a run's rows share
    one timestamp. ``success`` is false exactly when a critical check failed.
    """
    if started_at.tzinfo is not None:
        started_at = started_at.astimezone(dt.UTC).replace(tzinfo=None)
    failed = results.filter(~pl.col("success"))
    failed_critical = failed.filter(pl.col("severity") == "critical").height
    return pl.DataFrame(
        [
            {
                "run_id": run_id,
                "validated_at": started_at,
                "tables": results["table_name"].n_unique(),
                "checks": results.height,
                "passed": results.height - failed.height,
                "failed_critical": failed_critical,
                "failed_warning": failed.height - failed_critical,
                "success": failed_critical == 0,
            }
        ],
        schema=DQ_RUN_SCHEMA,
    )


def critical_failures_message(results: pl.DataFrame) -> str | None:
    """Why the load must stop, or None: each failed critical check with its table, bad rows and a few of them.

    The message goes into the exception, the log and the Prefect UI, so it is short: at most
    ten checks, three sample rows each, long texts cut. It does not say "nothing was loaded",
    since ``taizhang validate`` uses it too; the flow adds that.
    """
    critical = results.filter(~pl.col("success") & (pl.col("severity") == "critical"))
    if not critical.height:
        return None
    lines = [f"{critical.height} critical data-quality check{'s' if critical.height != 1 else ''} failed:"]
    for row in critical.head(_MESSAGE_CHECKS).iter_rows(named=True):
        lines.append(f"- {row['table_name']}: {row['expectation']}: {_what_failed(row)}")
    if critical.height > _MESSAGE_CHECKS:
        lines.append(f"- … and {critical.height - _MESSAGE_CHECKS} more (see dq_result / the data docs)")
    return "\n".join(lines)


def _what_failed(row: Mapping[str, Any]) -> str:
    observed = row["observed_value"]
    if observed is not None and str(observed).startswith("error: "):
        return f"could not be evaluated ({_cut(str(observed)[7:], 200)})"
    count = row["unexpected_count"]
    if count is None:
        return f"observed {_cut(str(observed), 200)}"
    text = f"{count} bad row{'s' if count != 1 else ''}"
    sample = _sample_items(row["sample"])
    if sample:
        shown = "; ".join(_compact(item) for item in sample[:_MESSAGE_SAMPLES])
        text += f", e.g. {shown}"
    return text


def _sample_items(sample: str | None) -> list[Any]:
    if not sample:
        return []
    try:
        value = json.loads(sample)
    except ValueError:
        return [sample]
    return value if isinstance(value, list) else [value]


def _compact(item: object, width: int = 60) -> str:
    """One sample row as short JSON: long strings (a whole sentence) are cut to ``width``."""
    if isinstance(item, dict):
        item = {k: _cut(v, width) if isinstance(v, str) else v for k, v in item.items()}
    elif isinstance(item, list):
        item = [_cut(v, width) if isinstance(v, str) else v for v in item]
    elif isinstance(item, str):
        item = _cut(item, width)
    return json.dumps(item, ensure_ascii=False)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- warehouse


def validate_warehouse(
    path: Path, run_id: str | None = None, today: dt.date | None = None, suite_dir: Path = quality.SUITE_DIR
) -> pl.DataFrame:
    """Re-validate a built DuckDB warehouse: every table with a suite, against ``raw_documents.text``.

    The file is opened read-only and closed before validation starts, so a long validation
    never blocks a load. Rows of removed documents stay in the warehouse with their text,
    so they are checked too. ``run_id`` defaults to ``validate-<random>``.
    """
    from flows.warehouse.store import connect_sealed

    con = connect_sealed(Path(path))  # no file access beyond the warehouse
    try:
        present = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                " AND database_name = current_database()"
            ).fetchall()
        }
        tables: dict[str, pl.DataFrame] = {}
        for table in TABLES:
            if table in present:
                tables[table] = pl.from_arrow(con.sql(f'SELECT * FROM "{table}"').to_arrow_table())  # type: ignore[assignment]
        if "raw_documents" in present:
            query = "SELECT document_id, text FROM raw_documents"
            tables["raw_documents"] = pl.from_arrow(con.sql(query).to_arrow_table())  # type: ignore[assignment]
    finally:
        con.close()
    return validate_all(
        tables, run_id or f"validate-{uuid.uuid4().hex[:12]}", suite_dir=suite_dir, today=today
    )


# --------------------------------------------------------------------------- data docs


def docs_dir(warehouse: Path) -> Path:
    """Where a warehouse's data docs go: ``<stem>.dq/`` beside it (``warehouse/taizhang.dq/``),
    so that warehouses in one folder each keep their own."""
    warehouse = Path(warehouse)
    return warehouse.parent / f"{warehouse.stem}.dq"


def build_data_docs(
    results: pl.DataFrame,
    out_dir: Path,
    started_at: dt.datetime | None = None,
    gx_site: bool = True,
    keep_runs: int = 50,
) -> Path:
    """Write the data docs for a run into ``out_dir`` and return ``out_dir/index.html``.

    Every run's rows are kept as ``out_dir/runs/<run_id>.json``, and ``index.html`` is
    rebuilt from all of them, newest first: one self-contained page, inline CSS, a
    Content-Security-Policy that forbids scripts and remote loads, every value HTML-escaped,
    so it opens offline and a hostile text in a sample cannot run. With ``gx_site`` GX's own
    Data Docs are built under ``out_dir/gx/`` too, when this process ran the validation (GX
    pages are rendered from GX's result objects); they pull their CSS from CDNs, so offline
    they render unstyled. A failure there is shown on the index page rather than raised: the
    docs must never be the reason a run fails. Only the newest ``keep_runs`` runs are kept
    (GX writes about 2 MB per run), so a scheduled flow does not fill the disk.
    """
    out_dir = Path(out_dir)
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    built_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if started_at is not None and started_at.tzinfo is not None:
        started_at = started_at.astimezone(dt.UTC).replace(tzinfo=None)
    records = []
    for (run_id,), rows in results.group_by("run_id", maintain_order=True):
        record: dict[str, object] = {
            "run_id": str(run_id),
            "built_at": built_at.isoformat(timespec="microseconds"),
            "validated_at": (started_at or built_at).isoformat(timespec="microseconds"),
            "gx_error": None,
            "results": rows.drop("run_id").to_dicts(),
        }
        _write_record(runs_dir, record)
        records.append(record)
    _prune(out_dir, keep_runs)
    for record in records:
        run_id = str(record["run_id"])
        if gx_site and run_id in _gx_results and (runs_dir / f"{_safe(run_id)}.json").exists():
            try:
                _build_gx_site(out_dir, run_id, _gx_results[run_id])
            except Exception as exc:  # the HTML index must still be written
                record["gx_error"] = f"{type(exc).__name__}: {exc}"
                _write_record(runs_dir, record)
    index = out_dir / "index.html"
    _write_whole(index, _render_index(out_dir))
    return index


def _write_record(runs_dir: Path, record: Mapping[str, object]) -> None:
    path = runs_dir / f"{_safe(str(record['run_id']))}.json"
    _write_whole(path, json.dumps(record, ensure_ascii=False))


def _write_whole(path: Path, text: str) -> None:
    """Write aside, then rename: two runs' docs at once never leave (or read) half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_records(out_dir: Path) -> list[dict[str, Any]]:
    """Every stored run, newest first."""
    records = []
    for path in (out_dir / "runs").glob("*.json"):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    records.sort(key=lambda r: (r.get("validated_at") or "", r.get("built_at") or ""), reverse=True)
    return records


def _prune(out_dir: Path, keep_runs: int) -> None:
    """Delete runs beyond the newest ``keep_runs``: their JSON and their GX results and pages."""
    import shutil

    for record in _read_records(out_dir)[max(keep_runs, 1) :]:
        run = _safe(str(record["run_id"]))
        (out_dir / "runs" / f"{run}.json").unlink(missing_ok=True)
        for folder in (out_dir / "gx" / "uncommitted" / "validations", out_dir / _GX_SITE / "validations"):
            for stale in folder.glob(f"*/{run}"):
                shutil.rmtree(stale, ignore_errors=True)


def _safe(name: str) -> str:
    """A run id as a file name and HTML anchor."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120] or "run"


def _build_gx_site(
    out_dir: Path, run_id: str, outcomes: Mapping[str, ExpectationSuiteValidationResult]
) -> None:
    """Store the run's GX results in a file-backed context under ``out_dir/gx`` and build its site."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = gx.get_context(mode="file", project_root_dir=str(out_dir))
    site = context.variables.data_docs_sites or {}
    local = site.get("local_site")
    if isinstance(local, dict) and local.get("show_how_to_buttons", True):
        local["show_how_to_buttons"] = False  # they link to GX's tutorials, not to our data
        context.variables.data_docs_sites = site
        context.variables.save()
    store = context.validation_results_store
    run = RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC))
    keys = []
    for table, outcome in outcomes.items():
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=table),
            run_id=run,
            batch_identifier=table,
        )
        store.set(key, store.deserialize(json.dumps(_trim_value_sets(outcome.to_json_dict()))))
        keys.append(key)
    context.build_data_docs(resource_identifiers=keys)


def _trim_value_sets(value: object) -> object:
    """Cut long ``value_set`` lists (dimension id sets) so a GX page stays readable."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "value_set" and isinstance(item, list) and len(item) > _DOCS_VALUE_SET_LIMIT:
                extra = len(item) - _DOCS_VALUE_SET_LIMIT
                out[key] = [*item[:_DOCS_VALUE_SET_LIMIT], f"… and {extra} more"]
            else:
                out[key] = _trim_value_sets(item)
        return out
    if isinstance(value, list):
        return [_trim_value_sets(item) for item in value]
    return value


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;
margin:1.5em auto;max-width:1400px;padding:0 1em;color:#1d1d1f}
h1{font-size:1.5em}h2{font-size:1.2em;margin:0}h3{font-size:1.05em;margin:1.2em 0 .3em}
table{border-collapse:collapse;width:100%;margin:.3em 0}
th,td{border:1px solid #d0d0d5;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f5}td.n{text-align:right;white-space:nowrap}
tr.fail-critical td{background:#fde2e2}tr.fail-warning td{background:#fff4d6}
.ok{color:#17692b;font-weight:600}.bad{color:#b00020;font-weight:600}.warn{color:#8a5a00;font-weight:600}
code,.sample{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.sample{word-break:break-all}
table.checks td:first-child{width:1%;white-space:nowrap}
details{border:1px solid #d0d0d5;border-radius:6px;padding:.5em .8em;margin:.8em 0}
summary{cursor:pointer}p.note{color:#555}
"""


def _render_index(out_dir: Path) -> str:
    """The self-contained page: a table of runs, then each run's checks per table."""
    records = _read_records(out_dir)
    e = _esc
    gx_index = out_dir / _GX_SITE / "index.html"
    parts = [
        "<!doctype html>",
        '<html lang="zh"><head><meta charset="utf-8">',
        # No scripts, no remote anything: the page is only text and inline style.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>taizhang data quality</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>taizhang data quality</h1>",
        '<p class="note">Each run checks every table against its Great Expectations suite '
        "(<code>expectations/&lt;table&gt;.json</code>). A failed <b>critical</b> check stops the load; "
        "a failed <b>warning</b> is reported. Samples show the key of each bad row and the values checked. "
        "Newest run first.</p>",
    ]
    if gx_index.exists():
        parts.append(
            f'<p>Great Expectations Data Docs: <a href="{e(_rel(gx_index, out_dir))}">GX site</a> '
            "(it loads its styles from CDNs, so offline it shows unstyled).</p>"
        )
    parts += [
        "<h2>Runs</h2>",
        "<table><tr><th>run</th><th>validated (UTC)</th><th>tables</th><th>checks</th><th>passed</th>"
        "<th>failed critical</th><th>failed warning</th><th>result</th></tr>",
    ]
    for record in records:
        summary = _summary(record["results"])
        parts.append(
            f'<tr><td><a href="#run-{e(_safe(record["run_id"]))}"><code>{e(record["run_id"])}</code></a></td>'
            f"<td>{e(_when(record))}</td><td class=n>{summary['tables']}</td>"
            f"<td class=n>{summary['checks']}</td><td class=n>{summary['passed']}</td>"
            f"<td class=n>{summary['failed_critical']}</td><td class=n>{summary['failed_warning']}</td>"
            f"<td>{_verdict(summary)}</td></tr>"
        )
    parts.append("</table>")
    for position, record in enumerate(records):
        parts.append(_render_run(out_dir, record, open_=position == 0))
    parts.append("</body></html>")
    return "\n".join(parts)


def _render_run(out_dir: Path, record: Mapping[str, Any], open_: bool) -> str:
    """One run: its failed checks first (critical before warning), then every check per table."""
    e = _esc
    summary = _summary(record["results"])
    run_id = str(record["run_id"])
    out = [
        f'<details id="run-{e(_safe(run_id))}"{" open" if open_ else ""}>',
        f'<summary><h2 style="display:inline">Run <code>{e(run_id)}</code></h2> · '
        f"{e(_when(record))} · {summary['checks']} checks · {_verdict(summary)}</summary>",
    ]
    if record.get("gx_error"):
        out.append(f'<p class="bad">GX Data Docs could not be built: {e(record["gx_error"])}</p>')
    failed = [r for r in record["results"] if not r["success"]]
    if failed:
        failed.sort(key=lambda r: r["severity"] != "critical")
        out.append(f"<h3>Failed checks ({len(failed)})</h3>")
        out += _check_table(failed, with_table=True)
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    for row in record["results"]:
        by_table.setdefault(str(row["table_name"]), []).append(row)
    for table, rows in by_table.items():
        n_failed = sum(not r["success"] for r in rows)
        link = ""
        pages = sorted((out_dir / _GX_SITE / "validations" / table / _safe(run_id)).glob("*/*.html"))
        if pages:
            link = f' · <a href="{e(_rel(pages[-1], out_dir))}">GX page</a>'
        out.append(f"<h3>{e(table)} · {len(rows)} checks, {n_failed} failed{link}</h3>")
        out += _check_table(rows, with_table=False)
    out.append("</details>")
    return "\n".join(out)


def _check_table(rows: list[Mapping[str, Any]], with_table: bool) -> list[str]:
    e = _esc
    head = "<th>table</th>" if with_table else ""
    out = [
        f'<table class="checks"><tr>{head}<th>check</th><th>severity</th><th>result</th>'
        "<th>observed</th><th>bad rows</th><th>sample</th></tr>"
    ]
    for row in rows:
        css = "" if row["success"] else f' class="fail-{e(row["severity"])}"'
        result = '<span class="ok">pass</span>' if row["success"] else '<span class="bad">FAIL</span>'
        count = "" if row["unexpected_count"] is None else str(row["unexpected_count"])
        observed = _cut(str(row["observed_value"] or ""), 300)
        sample = _cut(str(row["sample"] or ""), 800)
        table = f"<td>{e(row['table_name'])}</td>" if with_table else ""
        out.append(
            f"<tr{css}>{table}<td><code>{e(row['expectation'])}</code></td><td>{e(row['severity'])}</td>"
            f"<td>{result}</td><td class=sample>{e(observed)}</td>"
            f"<td class=n>{e(count)}</td><td class=sample>{e(sample)}</td></tr>"
        )
    out.append("</table>")
    return out


def _summary(rows: list[Mapping[str, Any]]) -> dict[str, int]:
    failed = [r for r in rows if not r["success"]]
    critical = sum(r["severity"] == "critical" for r in failed)
    return {
        "tables": len({r["table_name"] for r in rows}),
        "checks": len(rows),
        "passed": len(rows) - len(failed),
        "failed_critical": critical,
        "failed_warning": len(failed) - critical,
    }


def _verdict(summary: Mapping[str, int]) -> str:
    if summary["failed_critical"]:
        return '<span class="bad">critical checks failed</span>'
    if summary["failed_warning"]:
        return '<span class="warn">passed with warnings</span>'
    return '<span class="ok">passed</span>'


def _when(record: Mapping[str, Any]) -> str:
    """``validated_at`` to the second, for display."""
    return str(record.get("validated_at") or "")[:19].replace("T", " ")


def _rel(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)
