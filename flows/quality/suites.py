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
* String row conditions (``condition_parser: "pandas"``) still work but warn on every
  validation that they are deprecated; suites use GX's structured conditions instead
  (``{"type": "comparison", "column": {"name": "kind"}, "operator": "==", "parameter": "count"}``).
* For a column check with a row condition (or a column pair with ``ignore_row_if``) the
  pandas engine filters every column of the batch, not only those the check reads: half of
  fct_metric's checks went into copying strings. ``_project_domains`` hands it the columns
  it reads.
* A ``datetime.date`` parameter cannot be compared with the ``datetime64`` column a Polars
  ``Date`` becomes in pandas (``Cannot compare Timestamp with datetime.date``), so date
  parameters are passed on as midnight datetimes.

A suite may name its table's key in ``meta.row_key`` (a list of columns). GX then reports
the key of each unexpected row, and ``CheckResult.sample`` holds those rows (key plus the
checked values) instead of bare values, so a reader can find the bad rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.datasource.fluent import PandasDatasource

REPO_ROOT = Path(__file__).resolve().parents[2]
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
    ``expect_column_values_to_not_be_null(metric_id)``, followed by ``where <condition>``
    when the expectation has a row condition; it is unique within a suite. ``column`` is the
    expectation's column, the columns joined by ``", "`` for a column-pair or multicolumn
    expectation, or None for a table-level one. ``observed_value`` and ``sample`` are JSON
    text: GX's observed value for aggregate expectations, and up to five unexpected values
    (pairs for a column-pair expectation) for row-level ones, or, when the suite names a
    ``meta.row_key``, up to five unexpected rows as objects (key columns first, then the
    checked columns); None when GX gives none. When GX could not evaluate the expectation at
    all (e.g. a missing column), ``success`` is False and ``observed_value`` holds
    ``"error: <message>"``.
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
    # For an expectation with ``mostly``: the threshold, and the rows its share is taken of
    # (every row for not-null checks, the non-null ones otherwise). The flow needs both to
    # combine the results of several chunks (``flows.pipeline.check_queue.combine_results``).
    mostly: float | None = None
    considered: int | None = None


@dataclass(frozen=True)
class _LoadedSuite:
    """A parsed suite plus what we need to map GX results back onto it."""

    file_key: tuple[int, int]
    suite: ExpectationSuite
    severity_by_id: dict[str, str]
    label_by_id: dict[str, str]
    row_key: tuple[str, ...]


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
    checks, _ = validate_table_with_result(table, df, parameters, suite_dir)
    return checks


def validate_table_with_result(
    table: str,
    df: pl.DataFrame,
    parameters: Mapping[str, object] | None = None,
    suite_dir: Path = SUITE_DIR,
) -> tuple[list[CheckResult], ExpectationSuiteValidationResult]:
    """Like ``validate_table``, and also return GX's own result object.

    The GX object is what GX Data Docs render; callers that only store rows should use
    ``validate_table``.
    """
    path = Path(suite_dir) / f"{table}.json"
    frame = df.to_pandas()
    params = {key: _plain_parameter(value) for key, value in (parameters or {}).items()}
    with _lock:
        loaded = _load_suite(path, table)
        # No unexpected_index_column_names: GX would then look up the key of every bad row one
        # by one in pandas (about 40 µs a row, 15 s for 300 000 facts without a date). The
        # sample's keys are looked up afterwards in ``_check_result``, for the sampled rows only.
        result_format: dict[str, Any] = dict(_RESULT_FORMAT)
        if loaded.row_key:
            missing = [column for column in loaded.row_key if column not in df.columns]
            if missing:
                raise ValueError(f"{path}: row_key columns {missing} are not in the frame")
        batch = _batch_definition(table).get_batch(batch_parameters={"dataframe": frame})
        with _memoized():
            outcome = batch.validate(loaded.suite, expectation_parameters=params, result_format=result_format)
        # GX's execution engine keeps every table's last batch, the pandas frame included,
        # until that table is validated again: a chunk's frames would all stay alive, and
        # the next chunk's would join them. Drop them once the results are in.
        manager = _datasource().get_execution_engine().batch_manager
        manager.reset_batch_cache()
        manager.batch_data_cache.clear()
        del batch
    by_id = {result.expectation_config.id: result for result in outcome.results}
    checks = []
    for expectation in loaded.suite.expectations:
        result = by_id.get(expectation.id)
        if result is None:
            raise RuntimeError(f"GX returned no result for {expectation.expectation_type}")
        checks.append(
            _check_result(
                table,
                loaded.severity_by_id[expectation.id],
                loaded.label_by_id[expectation.id],
                loaded.row_key,
                df,
                result,
            )
        )
    return checks, outcome


def warm_up(suite_dir: Path = SUITE_DIR) -> None:
    """Import GX, build its context and parse every suite now, ahead of the first validation.

    That is 3-5 s, which the checker process (``flows.quality.checker``) spends as it starts, while
    the flow reads and extracts. A suite that cannot be read is left for the validation to
    report.
    """
    with _lock:
        for path in sorted(Path(suite_dir).glob("*.json")):
            try:
                _load_suite(path, path.stem)
                _batch_definition(path.stem)
            except Exception:  # validate_table raises it again, where it is reported
                continue


# Expectation -> its configuration, while one suite is being validated (``_memoized``).
_configurations: dict[int, tuple[object, object]] | None = None


def _memoize_configuration() -> None:
    """Let ``Expectation.configuration`` be computed once per expectation and validation.

    GX 1.24 rebuilds the configuration from the pydantic model (``self.dict()``) every time it
    is read, about 140 times per expectation in one validation while planning its metrics:
    a fifth of the checks' CPU (measured on 16 MB: 5.8 -> 4.7 CPU-seconds, the same 169
    results). While ``_memoized`` is active (one ``batch.validate``, under ``_lock``), each
    expectation's first configuration is handed out again; outside it GX's own property runs.
    Pin-sensitive: on a GX upgrade, check that the property still exists (otherwise nothing
    is memoized) and that validation does not change an expectation half-way.
    """
    from great_expectations.expectations.expectation import Expectation

    original = getattr(Expectation, "configuration", None)
    if not isinstance(original, property) or original.fget is None:
        return
    compute = original.fget

    def configuration(self: Expectation) -> object:
        memo = _configurations
        if memo is None:
            return compute(self)
        hit = memo.get(id(self))
        if hit is None or hit[0] is not self:  # the object itself is kept, so its id is not reused
            hit = memo[id(self)] = (self, compute(self))
        return hit[1]

    Expectation.configuration = property(configuration, doc=original.__doc__)  # type: ignore[assignment]


_DOMAIN_COLUMN_KEYS = ("column", "column_A", "column_B")
_ROW_FILTER_KEYS = ("row_condition", "condition_parser", "ignore_row_if")


def _condition_columns(condition: object) -> list[str] | None:
    """The columns a structured row condition reads, or None when that cannot be told.

    Walks GX's condition objects (comparison, nullity, and/or) and their dict form; a
    pass-through or string condition is pandas query text, which only pandas reads: None.
    """
    if isinstance(condition, dict):
        if "conditions" in condition:
            parts = [_condition_columns(c) for c in condition["conditions"]]
            return None if any(p is None for p in parts) else [c for p in parts for c in p or []]
        column = condition.get("column")
        name = column.get("name") if isinstance(column, dict) else column
        return [name] if isinstance(name, str) and condition.get("type") != "pass_through" else None
    conditions = getattr(condition, "conditions", None)
    if conditions is not None:
        return _condition_columns({"conditions": list(conditions)})
    column = getattr(condition, "column", None)
    name = getattr(column, "name", None)
    return [name] if isinstance(name, str) else None


def _project_domains() -> None:
    """Let GX's pandas engine filter only the columns an expectation reads.

    For a column, column-pair or multi-column expectation with a row condition or an
    ``ignore_row_if``, GX 1.24 filters the *whole* batch (``DataFrame.query``, ``dropna``)
    and then reads one or two columns of the copy; its map metrics then index the whole
    frame again with each boolean mask. On fct_metric's 33 columns, mostly Arrow-backed
    strings, those copies were half of a suite's CPU (cProfile: 3,542 ``pyarrow.take`` calls
    on 83,000 rows). While ``_memoized`` is active, the records of such a domain are the
    domain's columns and the condition's, filtered the way GX filters them: the same rows,
    the same values, the same index. Table domains, and conditions whose columns cannot be
    told, go to GX's own method. Pin-sensitive like ``_memoize_configuration``; the tests
    compare every suite's results with and without it.
    """
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine

    original = PandasExecutionEngine.get_domain_records
    if getattr(original, "_taizhang_projected", False):
        return

    def get_domain_records(self: PandasExecutionEngine, domain_kwargs: dict) -> Any:
        columns = [domain_kwargs[k] for k in _DOMAIN_COLUMN_KEYS if k in domain_kwargs]
        columns += list(domain_kwargs.get("column_list") or [])
        condition = domain_kwargs.get("row_condition")
        wanted = _condition_columns(condition) if condition else []
        if _configurations is None or not columns or wanted is None:
            return original(self, domain_kwargs)
        # GX's own method without the filters returns the whole batch, uncopied.
        data = original(self, {k: v for k, v in domain_kwargs.items() if k not in _ROW_FILTER_KEYS})
        keep = list(dict.fromkeys([*columns, *wanted]))
        if not set(keep) <= set(data.columns):
            return original(self, domain_kwargs)  # GX reports the missing column its own way
        data = data[keep]
        if condition:
            data = self._apply_row_condition_filter(data, condition, domain_kwargs)
        ignore = domain_kwargs.get("ignore_row_if")
        if ignore is None or "column" in domain_kwargs:
            return data
        if "column_A" in domain_kwargs and "column_B" in domain_kwargs:
            subset = [domain_kwargs["column_A"], domain_kwargs["column_B"]]
            how = {"both_values_are_missing": "all", "either_value_is_missing": "any", "neither": None}
        elif "column_list" in domain_kwargs:
            subset = list(domain_kwargs["column_list"])
            how = {"all_values_are_missing": "all", "any_value_is_missing": "any", "never": None}
        else:
            return data
        if ignore not in how:
            return original(self, domain_kwargs)  # GX raises its own error for an unknown value
        return data if how[ignore] is None else data.dropna(axis=0, how=how[ignore], subset=subset)

    get_domain_records._taizhang_projected = True  # type: ignore[attr-defined]
    get_domain_records.original = original  # type: ignore[attr-defined]  # for the tests' comparison
    PandasExecutionEngine.get_domain_records = get_domain_records  # type: ignore[method-assign]


@contextmanager
def _memoized() -> Iterator[None]:
    global _configurations
    _configurations = {}
    try:
        yield
    finally:
        _configurations = None


@cache
def _context() -> EphemeralDataContext:
    """Build the in-memory GX context once per process; this is where GX gets imported."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _memoize_configuration()
    _project_domains()
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
    labels = [_label(item) for item in raw_expectations]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        # dq_result rows are told apart by this label; two equal ones would be ambiguous.
        raise ValueError(f"{path}: expectations with the same label: {repeated}")
    row_key = tuple((raw.get("meta") or {}).get("row_key") or ())

    store = _context().expectations_store
    suite = store.deserialize_suite_dict(store.deserialize(text))
    loaded_types = [expectation.expectation_type for expectation in suite.expectations]
    raw_types = [item.get("type") for item in raw_expectations]
    if loaded_types != raw_types:
        dropped = sorted(set(raw_types) - set(loaded_types))
        raise ValueError(f"{path}: GX could not build these expectation types: {dropped}")

    severity_by_id = {}
    label_by_id = {}
    for expectation, severity, label in zip(suite.expectations, severities, labels, strict=True):
        expectation.id = str(uuid.uuid4())
        # Keep GX's own severity field in step with meta, so anything GX renders agrees.
        expectation.severity = severity
        severity_by_id[expectation.id] = severity
        label_by_id[expectation.id] = label
    loaded = _LoadedSuite(
        file_key=file_key,
        suite=suite,
        severity_by_id=severity_by_id,
        label_by_id=label_by_id,
        row_key=row_key,
    )
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


def _columns(kwargs: Mapping[str, Any]) -> list[str]:
    """The columns an expectation looks at, in the order its kwargs name them."""
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_A" in kwargs:
        return [kwargs["column_A"], kwargs["column_B"]]
    return list(kwargs.get("column_list") or [])


def _label(item: Mapping[str, Any]) -> str:
    """A readable, unique-per-suite name: type, columns and, if any, the row condition.

    Two range checks on ``number`` for different kinds differ only by their condition, so
    the condition is part of the name.
    """
    kwargs = item.get("kwargs") or {}
    label = f"{item.get('type')}({', '.join(_columns(kwargs))})"
    condition = kwargs.get("row_condition")
    if condition:
        label += f" where {_condition_text(condition)}"
    return label


def _condition_text(condition: object) -> str:
    """Render a GX row condition (structured dict or legacy string) as short text."""
    if not isinstance(condition, Mapping):
        return str(condition)
    kind = condition.get("type")
    if kind == "comparison":
        parameter = json.dumps(condition.get("parameter"), ensure_ascii=False)
        return f"{condition['column']['name']} {condition['operator']} {parameter}"
    if kind == "nullity":
        return f"{condition['column']['name']} IS {'' if condition.get('is_null') else 'NOT '}NULL"
    if kind in ("and", "or"):
        parts = [_condition_text(part) for part in condition.get("conditions") or []]
        if kind == "or":
            return "(" + " OR ".join(parts) + ")"
        return " AND ".join(parts)
    if kind == "pass_through":
        return str(condition.get("pass_through_filter"))
    return json.dumps(condition, ensure_ascii=False)


def _check_result(
    table: str,
    severity: str,
    label: str,
    row_key: tuple[str, ...],
    df: pl.DataFrame,
    result: ExpectationValidationResult,
) -> CheckResult:
    """Flatten one GX result into a CheckResult; sampled bad rows get their key columns from ``df``."""
    config = result.expectation_config
    columns = _columns(config.kwargs)
    details = result.result or {}
    error = _error_message(result.exception_info)
    if error is not None:
        observed = f"error: {error}"
    elif "observed_value" in details:
        observed = _json_text(details["observed_value"])
    else:
        observed = None
    unexpected = details.get("unexpected_count")
    mostly = config.kwargs.get("mostly")
    mostly = float(mostly) if isinstance(mostly, numbers.Real) else None
    considered = None
    if mostly is not None and details.get("element_count") is not None:
        considered = int(details["element_count"])
        if config.type != "expect_column_values_to_not_be_null":  # GX's share is of non-null rows
            considered -= int(details.get("missing_count") or 0)
    sample: object = details.get("partial_unexpected_list")
    rows = details.get("partial_unexpected_index_list")
    if row_key and rows and all(isinstance(row, numbers.Integral) for row in rows):  # frame positions
        checked = [c for c in columns if c in df.columns and c not in row_key]
        picked = df[[int(row) for row in rows]].select(*row_key, *checked)
        rows = picked.to_dicts()
    if row_key and rows and all(isinstance(row, Mapping) for row in rows):
        # Key columns first, then the checked values: {"metric_id": …, "text": …, "source_slice": …}.
        sample = [
            {**{k: row.get(k) for k in row_key}, **{k: v for k, v in row.items() if k not in row_key}}
            for row in rows
        ]
    return CheckResult(
        table=table,
        expectation=label,
        expectation_type=config.type,
        column=", ".join(columns) or None,
        severity=severity,
        success=bool(result.success) and error is None,
        observed_value=observed,
        unexpected_count=None if unexpected is None else int(unexpected),
        sample=_json_text(sample) if sample else None,
        mostly=mostly,
        considered=considered,
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
    """Turn sets and tuples into lists (GX parameters must be JSON-like) and dates into datetimes.

    pandas holds a Polars ``Date`` column as ``datetime64``, which cannot be compared with a
    ``datetime.date``; a midnight ``datetime`` compares fine.
    """
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
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
