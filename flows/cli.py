"""``taizhang``: run the ETL, query the warehouse, extract and evaluate.

taizhang run [INPUT_DIR] [--warehouse PATH]
taizhang sql "SELECT …" [--warehouse PATH]
taizhang extract PATH... [--format jsonl|csv] [--output FILE]
taizhang eval GOLD_DIR [PATH...] [--json]
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

# Prefect reads these at import time: no telemetry from a machine without internet.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Prefect waits 20 s for its embedded server by default. On a fresh machine the server first
# creates and migrates its database (about 13 s alone), beside the checker process warming GX up
# on the other core: a 2-core machine under load was measured at 22 s, and the run failed with
# "Timed out while attempting to connect to ephemeral Prefect API server". Wait longer instead.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

GUIDE_FIELDS = [
    "doc",
    "start",
    "end",
    "text",
    "number",
    "unit",
    "kind",
    "approx",
    "change",
    "metric",
    "borderline",
]
EXTRA_FIELDS = [
    "unit_canonical",
    "value_canonical",
    "as_of",
    "period",
    "as_of_source",
    "value_type",
    "document_id",
    "sentence_id",
]


_exit_code = 1  # what a process that armed skip_teardown_at_exit exits with, unless told otherwise


def skip_teardown_at_exit() -> None:
    """Make the process leave right after its last exit handler, skipping interpreter teardown.

    ``taizhang run`` ends with an interpreter full of Polars, DuckDB, Prefect and jieba objects;
    freeing them all took about 2 s (measured: 2.2 s between the last exit handler and the
    process's end, on an empty folder's 30 s run), for nothing, since the process is ending.
    Registered first, the handler runs last, after Prefect has drained its log and event
    workers and the embedded server has stopped; it flushes the standard streams and the
    logging handlers, then calls ``os._exit`` with the code ``set_exit_code`` recorded (1 if
    none was: an uncaught exception). Every file the run writes is closed before then.
    Only the command arms it (``main`` with no argv), never a caller of ``main([...])``.
    """
    atexit.register(_leave_now)


def set_exit_code(code: int) -> None:
    """The code ``skip_teardown_at_exit`` exits with."""
    global _exit_code
    _exit_code = code


def _leave_now() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(_exit_code)


def _cmd_run(args: argparse.Namespace) -> int:
    from flows.pipeline import stopping

    stopping.install()  # SIGTERM / SIGINT: stop within seconds, warehouse as it was, recorded
    try:
        return _run(args)
    except BaseException:
        signum = stopping.stopping()
        if signum is None:
            raise
        recorded = stopping.record_cancelled(signum)
        print(
            f"run cancelled by {signum.name}: the warehouse was left as it was"
            + ("; the flow run is marked Cancelled" if recorded else ""),
            file=sys.stderr,
        )
        return 128 + signum


def _run(args: argparse.Namespace) -> int:
    from flows.pipeline import extract_pool, prefect_server

    # First, before any thread exists or Prefect is imported: Prefect's embedded server starts
    # (6-13 s) while the rest of this imports, instead of after it (flows.pipeline.prefect_server).
    server = prefect_server.launch()
    from flows.quality import checker

    stage_names = {s.strip() for s in args.stages.split(",")} if args.stages else {"transform", "validate"}
    if {"transform", "validate"} <= stage_names:
        # The checker process warms GX up (5-8 s) while this imports the flow and Prefect
        # starts its embedded server, instead of after the flow run has begun.
        checker.start()
    try:
        ceiling = extract_pool.memory_ceiling(args.memory_limit)  # a bad value fails here, at once
    except ValueError as exc:
        print(f"taizhang run: {exc}", file=sys.stderr)
        return 2
    if "transform" in stage_names and not args.runner and not os.environ.get("TAIZHANG_TASK_RUNNER"):
        # The default runner's extract tasks hand their batches to worker processes
        # (flows.pipeline.extract_pool): the first one warms up (2-4 s) while Prefect starts.
        extract_pool.prestart(ceiling)
    extract_pool.KEEP_WARM = 0  # this process ends with the run: no worker is kept past extraction
    if args.lock_wait is not None:  # read by the load (flows.warehouse.store.lock_wait)
        if args.lock_wait < 0:
            print("taizhang run: --lock-wait must be 0 or more seconds", file=sys.stderr)
            return 2
        os.environ["TAIZHANG_LOCK_WAIT"] = f"{args.lock_wait:g}"
    from flows.pipeline import progress
    from flows.pipeline.etl import DataQualityError, etl, run_name
    from flows.pipeline.runners import task_runner
    from flows.settings import RAW_DIR, default_warehouse

    progress.SHOW = True  # a bar on the terminal (none when stderr is not one)
    input_dir = Path(args.input_dir) if args.input_dir else RAW_DIR
    target = Path(args.warehouse) if args.warehouse else default_warehouse()
    name = run_name(str(input_dir))  # the flow run's name in Prefect, printed as it is
    prefect_server.adopt(server)
    try:
        stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
        # runner None: $TAIZHANG_TASK_RUNNER
        flow_ = etl.with_options(task_runner=task_runner(args.runner), flow_run_name=name)
        with prefect_server.without_heartbeats():
            summary = flow_(
                input_dir=str(input_dir),
                warehouse_path=str(target),
                full_refresh=args.full_refresh,
                stages=stages,
                parquet_dir=args.parquet,
                parquet_base_url=args.parquet_base_url,
                memory_limit=args.memory_limit,
            )
    except DataQualityError as exc:
        print(f"run failed, warehouse unchanged: {exc}\nflow run {name}", file=sys.stderr)
        return 1
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"run failed: {exc}\nflow run {name}", file=sys.stderr)
        return 1
    return _print_run(summary, target)


def _checks_line(summary: dict[str, object]) -> str:
    """The checks of a run, failures split by severity: critical ones block the load, warnings not."""
    critical, warning = summary["checks_failed_critical"], summary["checks_failed_warning"]
    line = f"checks passed {summary['checks_passed']}, failed {summary['checks_failed']}"
    if summary["checks_failed"]:
        verdict = "nothing blocked" if not critical else "the load was blocked"
        line += f" (critical {critical}, warning {warning}: {verdict})"
    return line


def _print_run(summary: dict[str, object], target: Path) -> int:
    """What ``taizhang run`` prints after a run that ended well."""
    from flows.warehouse import store as warehouse

    if not summary["loaded"]:
        print(f"dry run (stages {','.join(summary['stages'])}): the warehouse was not touched")  # type: ignore[arg-type]
        counts = ("documents", "quarantined", "facts")
        print("  ".join(f"{k} {summary[k]}" for k in counts))
        print(f"flow run {summary['flow_run']}")
        return 0

    run_filter = f"run_id = '{summary['run_id']}'"
    for row in warehouse.query(
        target, f"SELECT source_path, reason FROM quarantine WHERE {run_filter} ORDER BY source_path"
    ).iter_rows():
        print(f"quarantined: {row[0]}: {row[1]}")
    if summary["removed"]:
        for row in warehouse.query(
            target,
            "SELECT source_path, removed_reason FROM document_status WHERE status = 'removed' ORDER BY 1",
        ).iter_rows():
            print(f"removed: {row[0]}: {row[1]}")
    totals = dict(summary["totals"])  # type: ignore[call-overload]
    print(
        f"documents {summary['documents']} (new {summary['new']}, changed {summary['changed']}, "
        f"unchanged {summary['unchanged']}, removed {summary['removed']}; "
        f"files not read again, untouched since the last run: {summary['not_read']})  "
        f"quarantined {summary['quarantined']}\n"
        f"extracted: sentences {summary['sentences']}  metric facts {summary['facts']}  "
        f"rectification items {summary['items']}  measures {summary['measures']}\n"
        f"warehouse holds: documents {totals.get('raw_documents', 0)}  "
        f"sentences {totals.get('stg_sentences', 0)}  metric facts {totals.get('fct_metric', 0)}  "
        f"rectification items {totals.get('fct_rectification_item', 0)}  "
        f"measures {totals.get('fct_measure', 0)}\n"
        f"extract tasks {summary['extract_tasks']} ({summary['extract_tasks_cached']} cached)  "
        f"{_checks_line(summary)}\n"
        f"warehouse {summary['warehouse']}\n"
        f"flow run {summary['flow_run']}"
    )
    lake = dict(summary["lake"])  # type: ignore[call-overload]
    if lake:
        where = lake["database"] or lake["views_sql"]
        print(f"parquet lake {lake['directory']}: {lake['files']} files, {where}")
        if lake.get("note"):
            print(lake["note"])
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from flows.outputs.report import build_report
    from flows.settings import default_warehouse

    target = Path(args.warehouse) if args.warehouse else default_warehouse()
    try:
        index = build_report(target, Path(args.out) if args.out else None)
    except Exception as exc:
        print(f"report failed: {exc}", file=sys.stderr)
        return 1
    print(f"report written: {index}\nopen in a browser: {index.resolve().as_uri()}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    """CSV: the files. Parquet: the lake, i.e. the files plus views.sql and lake.duckdb over them."""
    from flows.outputs.export import export, export_lake
    from flows.settings import default_warehouse

    if args.base_url and args.format != "parquet":
        print("--base-url names where Parquet files live: use it with --format parquet", file=sys.stderr)
        return 2
    target = Path(args.warehouse) if args.warehouse else default_warehouse()
    try:
        if args.format == "csv":
            files = export(target, Path(args.dir), args.format)
            print(f"{len(files)} {args.format} files under {args.dir}")
            return 0
        lake = export_lake(target, Path(args.dir), base_url=args.base_url)
    except Exception as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    print(f"{len(lake.files)} parquet files under {args.dir} ({lake.seconds:.1f} s)")
    print(f"views over {lake.base_url}: {lake.views_sql}")
    if lake.database:
        print(f'query them: taizhang sql --warehouse {lake.database} "SELECT …"')
    if lake.note:
        print(lake.note)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        print(
            "taizhang serve needs a Prefect server: start one with `prefect server start` and set\n"
            "  export PREFECT_API_URL=http://127.0.0.1:4200/api\n"
            "(`taizhang run` needs no server.)",
            file=sys.stderr,
        )
        return 2
    from pydantic import ValidationError

    if args.runner:  # the served runs execute in subprocesses that read it when they import the flow
        from flows.pipeline.runners import ENV_VAR, task_runner

        try:
            task_runner(args.runner)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        os.environ[ENV_VAR] = args.runner
    from flows.pipeline.serve import DEFAULT_INBOX, serve_deployments

    try:
        serve_deployments(
            cron=args.cron,
            inbox=Path(args.inbox) if args.inbox else DEFAULT_INBOX,
            warehouse=Path(args.warehouse) if args.warehouse else None,
            timezone=args.timezone,
        )
    except ValidationError as exc:
        print(f"invalid --cron or --timezone: {exc.errors()[0].get('msg', exc)}", file=sys.stderr)
        return 2
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    from flows.settings import default_warehouse
    from flows.warehouse import store as warehouse

    target = Path(args.warehouse) if args.warehouse else default_warehouse()
    from flows.outputs.sql_shell import explain, interactive, print_frame, run_file

    if args.query is None:
        return interactive(target)
    try:
        if args.query.endswith(".sql") and Path(args.query).is_file():
            frames = run_file(target, Path(args.query))
        else:
            frames = [warehouse.query(target, args.query)]
    except Exception as exc:
        print(f"query failed: {explain(exc)}", file=sys.stderr)
        return 1
    for frame in frames:
        print_frame(frame, sys.stdout, max_rows=args.max_rows)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    """Re-validate a built warehouse with every suite; exit 1 when a critical check fails."""
    from datetime import UTC, datetime

    import polars as pl

    from flows.quality import checks as dq
    from flows.settings import default_warehouse

    target = Path(args.warehouse) if args.warehouse else default_warehouse()
    started = datetime.now(UTC)
    try:
        results = dq.validate_warehouse(target)
    except Exception as exc:  # no file, or a writer holds it
        print(f"cannot validate {target}: {exc}", file=sys.stderr)
        return 2
    run = dq.dq_run_row(results, results["run_id"][0], started).row(0, named=True)
    index = dq.build_data_docs(results, dq.docs_dir(target), started_at=started)
    failed = results.filter(~pl.col("success")).sort(pl.col("severity") != "critical")
    if failed.height:
        with pl.Config(tbl_rows=50, tbl_cols=-1, fmt_str_lengths=80, tbl_width_chars=200):
            print(failed.select("table_name", "expectation", "severity", "unexpected_count", "sample"))
    print(
        f"{run['tables']} tables, {run['checks']} checks: {run['passed']} passed, "
        f"{run['failed_critical']} critical and {run['failed_warning']} warning failed"
    )
    print(f"data docs: {index}")
    message = dq.critical_failures_message(results)
    if message:
        print(message, file=sys.stderr)
        return 1
    return 0


def extract_rows(paths: list[Path]) -> list[dict[str, object]]:
    """Mentions of the files/folders, one dict per mention with the guide's fields first."""
    from flows.pipeline.etl import build_tables
    from flows.warehouse.ingest import read_paths

    raw, quarantine = read_paths(paths)
    for row in quarantine.iter_rows(named=True):
        print(f"quarantined: {row['source_path']}: {row['reason']}", file=sys.stderr)
    if raw.height == 0:
        return []
    facts = build_tables(raw)["fct_metric"]
    to_file = _file_offsets(raw)
    out = []
    for r in facts.iter_rows(named=True):
        row = {
            k: r[k]
            for k in ("doc", "text", "number", "unit", "kind", "approx", "change", "metric", "borderline")
        }
        move = to_file.get(r["document_id"])
        start = move(r["start_char"]) if move else r["start_char"]
        row["start"], row["end"] = start, start + (r["end_char"] - r["start_char"])
        row.update({k: r[k] for k in EXTRA_FIELDS})
        row["as_of"] = r["as_of"].isoformat() if r["as_of"] else None
        out.append({k: row[k] for k in [*GUIDE_FIELDS, *EXTRA_FIELDS]})
    return out


def _file_offsets(raw: pl.DataFrame) -> dict[str, Callable[[int], int]]:
    """Per text document whose furniture lines were cut, how a stored offset moves into the file.

    The file is read again and decoded as the run decoded it, and the cut lines are found
    by the same rules (``flows.warehouse.normalise``), so ``start``/``end`` slice the file as
    ``open()`` reads it, as the annotation guide's offsets do.
    """
    import polars as pl

    from flows.warehouse.ingest import decode
    from flows.warehouse.normalise import furniture_spans, unshift_offset

    moves: dict[str, Callable[[int], int]] = {}
    # The file a document's facts name (``doc``) is its first path, as ``build_tables`` keeps it.
    first = raw.unique("document_id", keep="first", maintain_order=True)
    cut = first.filter((pl.col("file_format") == "txt") & (pl.col("furniture_lines") > 0))
    for doc, path in cut.select("document_id", "source_path").iter_rows():
        try:
            decoded = decode(Path(path).read_bytes())
        except OSError as exc:  # gone since it was read: its offsets stay the stored text's
            print(f"offsets of {path} are the stored text's: {exc}", file=sys.stderr)
            continue
        if decoded.text is not None:
            spans = furniture_spans(decoded.text.replace("\r\n", "\n").replace("\r", "\n"))
            moves[doc] = lambda offset, spans=spans: unshift_offset(offset, spans)
    return moves


def _cmd_extract(args: argparse.Namespace) -> int:
    import csv

    rows = extract_rows([Path(p) for p in args.paths])
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        if args.format == "csv":
            writer = csv.DictWriter(out, fieldnames=[*GUIDE_FIELDS, *EXTRA_FIELDS])
            writer.writeheader()
            writer.writerows(rows)
        else:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def eval_text_paths(gold_dir: Path) -> list[Path]:
    """Where ``taizhang eval`` looks for texts by default: the seeds, and ``texts/`` beside the gold.

    For ``tests/gold/dev`` that is ``seeds/raw`` (000-004) and ``tests/gold/texts`` (101-108).
    """
    from flows.settings import RAW_DIR

    texts = gold_dir.resolve().parent / "texts"
    return [RAW_DIR, *([texts] if texts.is_dir() else [])]


def _cmd_eval(args: argparse.Namespace) -> int:
    from flows.quality.evaluate import load_gold, report, score
    from flows.warehouse.ingest import list_files

    gold_dir = Path(args.gold_dir)
    gold = load_gold(gold_dir)
    if not gold:
        print(f"no gold *.jsonl files in {gold_dir}", file=sys.stderr)
        return 1
    paths = [Path(p) for p in args.paths] or eval_text_paths(gold_dir)
    found = {f.name for p in paths for f in (list_files(p) if p.is_dir() else [p])}
    missing = sorted({str(g["doc"]) for g in gold} - found)
    if missing:
        print(
            f"no text for {len(missing)} gold document(s), scored as all missed: {', '.join(missing)}",
            file=sys.stderr,
        )
    s = score(gold, extract_rows(paths))
    if args.json:
        print(json.dumps(s.to_json(), ensure_ascii=False))
    else:
        print(report(s, max_errors=args.errors))
    return 0


RUNNER_HELP = (
    "where tasks run: threads (default, or $TAIZHANG_TASK_RUNNER), sequential, processes, dask "
    "(a local Dask cluster, one worker per core), or tcp://host:port (an existing Dask scheduler)"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="taizhang", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the ETL flow (Prefect, embedded mode) into the warehouse")
    p.add_argument("input_dir", nargs="?", help="folder of raw reports (default: seeds/raw)")
    p.add_argument(
        "--warehouse", help="DuckDB file (default: $TAIZHANG_WAREHOUSE or warehouse/taizhang.duckdb)"
    )
    p.add_argument("--full-refresh", action="store_true", help="re-extract everything, ignoring the cache")
    p.add_argument(
        "--parquet", metavar="DIR", help="also write the warehouse as a Parquet lake (views.sql, lake.duckdb)"
    )
    p.add_argument("--parquet-base-url", help="where the lake's files will live, e.g. s3://bucket/taizhang")
    p.add_argument("--runner", help=RUNNER_HELP)
    p.add_argument(
        "--memory-limit",
        help="the run's memory ceiling (4GB, 1500MB, 40%%; default $TAIZHANG_MEMORY_LIMIT or half the "
        "machine's memory): a document whose extraction would go over it is quarantined",
    )
    p.add_argument("--stages", help="comma-separated subset of ingest,transform,validate,load (default: all)")
    p.add_argument(
        "--lock-wait",
        type=float,
        metavar="SECONDS",
        help="how long the load waits while another run writes the same warehouse, then fails saying"
        " which (default $TAIZHANG_LOCK_WAIT or 300)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("serve", help="serve the scheduled and on-demand deployments (needs a Prefect server)")
    p.add_argument(
        "--cron", default="0 6 * * *", help="schedule of the inbox deployment (default: daily 06:00)"
    )
    p.add_argument(
        "--timezone", default="Asia/Shanghai", help="time zone of the schedule (default: Asia/Shanghai)"
    )
    p.add_argument("--inbox", help="folder the scheduled deployment reads (default: inbox/)")
    p.add_argument("--warehouse")
    p.add_argument("--runner", help=RUNNER_HELP)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("sql", help="run a query or a .sql file read-only; no argument: interactive shell")
    p.add_argument("query", nargs="?", help='"SELECT …" or FILE.sql; leave out for the shell')
    p.add_argument("--warehouse")
    p.add_argument("--max-rows", type=int, default=50)
    p.set_defaults(func=_cmd_sql)

    p = sub.add_parser("validate", help="re-run every data-quality check on a built warehouse")
    p.add_argument("--warehouse")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("report", help="write the static HTML report (default: warehouse/report/)")
    p.add_argument("--warehouse")
    p.add_argument("--out", help="folder (default: report/ beside the warehouse)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "export",
        help="write every table as Parquet or CSV, partitioned by document year;"
        " Parquet also gets views.sql and lake.duckdb, views over the files",
    )
    p.add_argument("dir")
    p.add_argument("--format", choices=["parquet", "csv"], required=True)
    p.add_argument("--warehouse")
    p.add_argument(
        "--base-url",
        help="where the views find the Parquet files once DIR is uploaded, e.g. s3://bucket/taizhang"
        " (default: DIR's absolute path; a URL gets views.sql only)",
    )
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("extract", help="extract metric facts from files without touching the warehouse")
    p.add_argument("paths", nargs="+")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--output", help="write here instead of standard output")
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser("eval", help="score the extractor against gold files")
    p.add_argument("gold_dir")
    p.add_argument(
        "paths",
        nargs="*",
        help="files or folders to extract from (default: seeds/raw and the texts/ folder beside GOLD_DIR)",
    )
    p.add_argument("--errors", type=int, default=10, help="errors to list per kind")
    p.add_argument(
        "--json", action="store_true", help="print each document's, the macro and the pooled figures as JSON"
    )
    p.set_defaults(func=_cmd_eval)

    args = parser.parse_args(argv)
    if argv is None and args.func is _cmd_run:  # the command itself, not a test calling main([...])
        skip_teardown_at_exit()
    try:
        code = int(args.func(args))
        set_exit_code(code)
        return code
    except BrokenPipeError:  # `taizhang sql … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
