"""Data-quality checks for taizhang tables, run through Great Expectations.

Each table has one suite, ``expectations/<table>.json``, in the JSON format GX itself writes
for an ``ExpectationSuite``. The suites live in git so that a reviewer can see and edit the
rules; GX parses them, so we never re-implement an expectation here.

This is the only module that imports ``great_expectations``. The import costs 2-3 s, so it
happens lazily on the first validation, not when a flow imports this module. The GX context
is ephemeral (in memory): nothing is written to disk, and the suite files stay the single
source of truth.

GX 1.x facts this module works around (measured on 1.24.1):

* GX has no Polars support, so frames are validated as ``df.to_pandas()``.
* Results do not come back in suite order, and their kwargs carry resolved ``$PARAMETER``
  values plus a ``batch_id``, so each expectation gets an in-memory id to match on.
* An expectation of an unknown type is dropped from the suite with only a logged traceback;
  the loader counts expectations and refuses such a suite instead.
* Validation never raises on failed expectations (``success`` must be checked), and a
  missing column shows up as a failed result with ``exception_info``, not as an error.
* A tqdm progress bar prints on every validation unless ``progress_bars`` is off in the
  context config.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    import polars as pl
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.datasource.fluent import PandasDatasource

REPO_ROOT = Path(__file__).resolve().parents[1]
SUITE_DIR = REPO_ROOT / "expectations"
SEVERITIES = ("critical", "warning")
DEFAULT_SEVERITY = "critical"

# How many unexpected values GX keeps per expectation; CheckResult.sample is for a human
# reading a report, and a long list only bloats it.
_SAMPLE_SIZE = 5
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": _SAMPLE_SIZE}
_DATASOURCE_NAME = "taizhang_frames"

# A GX context is not safe to share between threads, and Prefect may run tasks in threads.
_lock = threading.Lock()


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one expectation on one table, flat enough to store as a row.

    ``expectation`` is a readable label such as
    ``expect_column_values_to_not_be_null(metric_id)``. ``column`` is the expectation's
    column, the columns joined by ``", "`` for a column-pair or multicolumn expectation, or
    None for a table-level one. ``observed_value`` and ``sample`` are JSON text: GX's
    observed value for aggregate expectations, and up to five unexpected values (pairs for a
    column-pair expectation) for row-level ones; None when GX gives none. When GX could not
    evaluate the expectation at all (e.g. a missing column), ``success`` is False and
    ``observed_value`` holds ``"error: <message>"``.
    """

    table: str
    expectation: str
    expectation_type: str
    column: str | None
    severity: str
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    sample: str | None


@dataclass(frozen=True)
class _LoadedSuite:
    """A parsed suite plus what we need to map GX results back onto it."""

    file_key: tuple[int, int]
    suite: ExpectationSuite
    severity_by_id: dict[str, str]


_suites: dict[Path, _LoadedSuite] = {}
_batch_definitions: dict[str, BatchDefinition] = {}


def suite_tables(suite_dir: Path = SUITE_DIR) -> list[str]:
    """List the tables that have a suite, so a flow can validate every one it builds."""
    return sorted(path.stem for path in Path(suite_dir).glob("*.json"))


def validate_table(
    table: str,
    df: pl.DataFrame,
    parameters: Mapping[str, object] | None = None,
    suite_dir: Path = SUITE_DIR,
) -> list[CheckResult]:
    """Run ``suite_dir/<table>.json`` against ``df`` and return one result per expectation.

    ``parameters`` fill the suite's ``{"$PARAMETER": name}`` placeholders, so values known
    only at run time (the allowed units, say) stay out of the suite file; GX raises
    ``SuiteParameterError`` when one is missing. Results come back in suite-file order.
    Nothing is raised for failed expectations: the caller decides what a failed critical
    check means.
    """
    path = Path(suite_dir) / f"{table}.json"
    frame = df.to_pandas()
    params = {key: _plain_parameter(value) for key, value in (parameters or {}).items()}
    with _lock:
        loaded = _load_suite(path, table)
        batch = _batch_definition(table).get_batch(batch_parameters={"dataframe": frame})
        outcome = batch.validate(loaded.suite, expectation_parameters=params, result_format=_RESULT_FORMAT)
    by_id = {result.expectation_config.id: result for result in outcome.results}
    checks = []
    for expectation in loaded.suite.expectations:
        result = by_id.get(expectation.id)
        if result is None:
            raise RuntimeError(f"GX returned no result for {expectation.expectation_type}")
        checks.append(_check_result(table, loaded.severity_by_id[expectation.id], result))
    return checks


@cache
def _context() -> EphemeralDataContext:
    """Build the in-memory GX context once per process; this is where GX gets imported."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@cache
def _datasource() -> PandasDatasource:
    """One pandas data source holds an in-memory asset per table."""
    return _context().data_sources.add_pandas(_DATASOURCE_NAME)


def _batch_definition(table: str) -> BatchDefinition:
    """Reuse the table's whole-dataframe batch definition; the frame is passed per run."""
    if table not in _batch_definitions:
        asset = _datasource().add_dataframe_asset(table)
        _batch_definitions[table] = asset.add_batch_definition_whole_dataframe(table)
    return _batch_definitions[table]


def _load_suite(path: Path, table: str) -> _LoadedSuite:
    """Parse a suite file with GX's own schema, re-reading it only when the file changes."""
    stat = path.stat()
    file_key = (stat.st_mtime_ns, stat.st_size)
    cached = _suites.get(path)
    if cached is not None and cached.file_key == file_key:
        return cached

    text = path.read_text(encoding="utf-8")
    raw = json.loads(text)
    if raw.get("name") != table:
        raise ValueError(f"{path}: suite name {raw.get('name')!r} should be {table!r}")
    raw_expectations = raw.get("expectations", [])
    severities = [_severity(path, item) for item in raw_expectations]

    store = _context().expectations_store
    suite = store.deserialize_suite_dict(store.deserialize(text))
    loaded_types = [expectation.expectation_type for expectation in suite.expectations]
    raw_types = [item.get("type") for item in raw_expectations]
    if loaded_types != raw_types:
        dropped = sorted(set(raw_types) - set(loaded_types))
        raise ValueError(f"{path}: GX could not build these expectation types: {dropped}")

    severity_by_id = {}
    for expectation, severity in zip(suite.expectations, severities, strict=True):
        expectation.id = str(uuid.uuid4())
        # Keep GX's own severity field in step with meta, so anything GX renders agrees.
        expectation.severity = severity
        severity_by_id[expectation.id] = severity
    loaded = _LoadedSuite(file_key=file_key, suite=suite, severity_by_id=severity_by_id)
    _suites[path] = loaded
    return loaded


def _severity(path: Path, item: dict[str, Any]) -> str:
    """Read an expectation's severity from ``meta``; GX's own field is the fallback.

    A typo such as ``"warn"`` must fail loudly rather than turn a warning into a critical.
    """
    from_meta = (item.get("meta") or {}).get("severity")
    native = item.get("severity")
    if from_meta is not None and native is not None and from_meta != native:
        raise ValueError(f"{path}: {item.get('type')} has severity {native!r} and meta {from_meta!r}")
    severity = from_meta or native or DEFAULT_SEVERITY
    if severity not in SEVERITIES:
        raise ValueError(f"{path}: {item.get('type')} severity {severity!r} not in {SEVERITIES}")
    return severity


def _check_result(table: str, severity: str, result: ExpectationValidationResult) -> CheckResult:
    """Flatten one GX result into a CheckResult."""
    config = result.expectation_config
    kwargs = config.kwargs
    if "column" in kwargs:
        columns = [kwargs["column"]]
    elif "column_A" in kwargs:
        columns = [kwargs["column_A"], kwargs["column_B"]]
    else:
        columns = list(kwargs.get("column_list") or [])
    details = result.result or {}
    error = _error_message(result.exception_info)
    if error is not None:
        observed = f"error: {error}"
    elif "observed_value" in details:
        observed = _json_text(details["observed_value"])
    else:
        observed = None
    unexpected = details.get("unexpected_count")
    sample = details.get("partial_unexpected_list")
    return CheckResult(
        table=table,
        expectation=f"{config.type}({', '.join(columns)})",
        expectation_type=config.type,
        column=", ".join(columns) or None,
        severity=severity,
        success=bool(result.success) and error is None,
        observed_value=observed,
        unexpected_count=None if unexpected is None else int(unexpected),
        sample=_json_text(sample) if sample else None,
    )


def _error_message(exception_info: dict[str, Any] | None) -> str | None:
    """Find the message of an exception GX caught while evaluating an expectation.

    GX reports it either flat or keyed by the metric that failed, depending on the stage.
    """
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message") or "unknown error")
    return None


def _plain_parameter(value: object) -> object:
    """Turn sets and tuples into lists, since GX parameters must be JSON-like."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def _json_text(value: object) -> str:
    """Render GX values (NumPy scalars, tuples, NaN, timestamps) as valid JSON text."""
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _jsonable(value: object) -> object:
    """Convert a value to plain JSON types; missing values become null."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return _jsonable(value.tolist())
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else str(value)
    import pandas as pd  # already imported by GX; only needed for NaT and NA

    if pd.isna(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
