"""Atomic loads, readers beside the writer, and writers killed at random points.

Everything here uses real processes on a real DuckDB file: a child process runs
``warehouse.load`` with real frames (``build_tables`` on real files, handed
over as Parquet) and is killed with SIGKILL, either at a named step of the load
(``warehouse.STEP_HOOK``, set inside the child only) or after a random delay.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows.pipeline.etl import build_tables
from flows.warehouse import store as warehouse
from flows.warehouse.ingest import read_folder
from tests.conftest import REPO_ROOT, SEEDS_RAW

WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path

    import polars as pl

    from flows.warehouse import store as warehouse

    dump, target, input_dir, kill_step = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    frames = {p.stem: pl.read_parquet(p) for p in sorted((dump / "frames").glob("*.parquet"))}
    run_rows = {p.stem: pl.read_parquet(p) for p in sorted((dump / "run_rows").glob("*.parquet"))}
    steps = []


    def hook(step):
        steps.append(step)
        if step == kill_step:
            os.kill(os.getpid(), signal.SIGKILL)


    warehouse.STEP_HOOK = hook
    print("loading", flush=True)
    warehouse.load(target, frames, run_rows, input_dir=input_dir)
    print("steps " + " ".join(steps), flush=True)
    """
)
READER = textwrap.dedent(
    """
    import sys
    import duckdb

    RUNS = "select string_agg(run_id, ',' order by run_id) from etl_run"
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute(RUNS).fetchall()[0][0], flush=True)
    sys.stdin.readline()
    print(con.execute(RUNS).fetchall()[0][0], flush=True)
    con.close()
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute(RUNS).fetchall()[0][0], flush=True)
    """
)
RUNS_SQL = "select string_agg(run_id, ',' order by run_id) from etl_run;"


@dataclass(frozen=True)
class States:
    """An old warehouse, the frames of the next run, and the checksums of both states."""

    folder: Path
    old: Path
    dump: Path
    frames: dict[str, pl.DataFrame]
    run_rows: dict[str, pl.DataFrame]
    old_sums: dict[str, str]
    new_sums: dict[str, str]
    worker: Path


def _etl_run(run_id: str, folder: Path) -> pl.DataFrame:
    stamp = datetime(2026, 1, 1)
    return pl.DataFrame(
        {
            "run_id": [run_id],
            "started_at": [stamp],
            "finished_at": [stamp],
            "input_dir": [str(folder.resolve())],
            "documents": [0],
            "sentences": [0],
            "facts": [0],
            "checks_passed": [0],
            "checks_failed": [0],
        }
    )


def _dump(path: Path, frames: dict[str, pl.DataFrame], run_rows: dict[str, pl.DataFrame]) -> Path:
    for kind, tables in (("frames", frames), ("run_rows", run_rows)):
        (path / kind).mkdir(parents=True)
        for name, frame in tables.items():
            frame.write_parquet(path / kind / f"{name}.parquet")
    return path


def _data(sums: dict[str, str]) -> dict[str, str]:
    return {t: c for t, c in sums.items() if t not in warehouse.BOOKKEEPING_TABLES}


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> States:
    """Old state: three seed reports and a note. Next run: one changed, one removed, two added."""
    base = tmp_path_factory.mktemp("atomic")
    folder = base / "inbox"
    folder.mkdir()
    for name in ("000_b61bd1e1bea2ac28.txt", "001_fa351d63da40e074.txt", "002_91699af62f33a314.txt"):
        shutil.copy(SEEDS_RAW / name, folder / name)
    (folder / "note.txt").write_text("截至2021年10月，共召开11次会议，整改问题120个。\n", encoding="utf-8")
    raw, quarantine = read_folder(folder)
    old = base / "old.duckdb"
    warehouse.load(old, build_tables(raw), {"etl_run": _etl_run("run-a", folder), "quarantine": quarantine})

    (folder / "note.txt").write_text("截至2021年11月，共召开12次会议，整改问题130个。\n", encoding="utf-8")
    (folder / "002_91699af62f33a314.txt").unlink()
    shutil.copy(SEEDS_RAW / "004_9a9d1e4e8ebcd03f.txt", folder / "004_9a9d1e4e8ebcd03f.txt")
    (folder / "copy_of_000.txt").write_bytes((SEEDS_RAW / "000_b61bd1e1bea2ac28.txt").read_bytes())
    (folder / "broken.txt").write_bytes(b"%PDF-1.4\n" + bytes(32))
    raw, quarantine = read_folder(folder)
    frames = build_tables(raw)
    run_rows = {"etl_run": _etl_run("run-b", folder), "quarantine": quarantine}
    new = base / "new.duckdb"
    shutil.copyfile(old, new)
    warehouse.load(new, frames, run_rows, input_dir=folder)
    worker = base / "worker.py"
    worker.write_text(WORKER, encoding="utf-8")
    old_sums, new_sums = warehouse.checksums(old), warehouse.checksums(new)
    assert _data(old_sums) != _data(new_sums)
    return States(
        folder, old, _dump(base / "dump", frames, run_rows), frames, run_rows, old_sums, new_sums, worker
    )


def _fresh_copy(states: States, name: str) -> Path:
    folder = states.old.parent / name
    folder.mkdir()
    target = folder / "taizhang.duckdb"
    shutil.copyfile(states.old, target)
    return target


def _start_worker(
    states: States, target: Path, kill_step: str = "", dump: Path | None = None
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            str(states.worker),
            str(dump or states.dump),
            str(target),
            str(states.folder),
            kill_step,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def _leftovers(target: Path) -> list[str]:
    """Files beside the warehouse other than itself and its lock."""
    keep = {target.name, warehouse.lock_path(target).name}
    return sorted(p.name for p in target.parent.iterdir() if p.name not in keep)


def _cli() -> str | None:
    return shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")


def test_a_load_leaves_no_log_or_temporary_file_and_the_cli_reads_it(states: States) -> None:
    target = _fresh_copy(states, "clean")
    for _ in range(2):
        warehouse.load(target, states.frames, {}, input_dir=states.folder)
    assert _leftovers(target) == []
    assert _data(warehouse.checksums(target)) == _data(states.new_sums)
    cli = _cli()
    if cli is None:
        pytest.skip("duckdb-cli is not installed (pip install duckdb-cli)")
    out = subprocess.run(
        [cli, "-readonly", "-csv", "-noheader", str(target), "-c", "select count(*) from fct_metric"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(out.stdout.strip()) == int(_data(states.new_sums)["fct_metric"].split(":")[0])


@pytest.mark.slow
def test_a_writer_killed_at_any_point_leaves_the_old_or_the_new_state(states: States) -> None:
    """A kill at each of the load's named steps (its own twelve and one per table it writes), and 10
    after random delays over a load."""
    trace_target = _fresh_copy(states, "trace")
    proc = _start_worker(states, trace_target)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "loading"
    started = time.perf_counter()
    done = proc.stdout.readline()  # printed as soon as load() returns
    load_seconds = time.perf_counter() - started
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    steps = done.split("steps ", 1)[1].split()
    # The worker hands the frames to the load in name order; tables with a document_id are
    # rewritten per document first, the reference tables after them.
    tables = sorted(t for t in states.frames if t != "raw_documents")
    per_document = [t for t in tables if "document_id" in states.frames[t].columns]
    reference = [t for t in tables if t not in per_document]
    assert steps == [
        *("locked", "cleaned", "copied", "schema", "raw_documents"),
        *per_document,
        *reference,
        *("run_rows", "before_commit", "committed", "closed", "synced", "replaced", "done"),
    ]
    rng = random.Random(20261123)
    plan: list[tuple[str, float | None]] = [(s, None) for s in steps]
    plan += [("", rng.uniform(0.0, load_seconds)) for _ in range(10)]
    outcomes: list[str] = []
    for i, (step, delay) in enumerate(plan):
        target = _fresh_copy(states, f"kill{i}")
        proc = _start_worker(states, target, kill_step=step)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "loading"  # frames read: the load starts now
        if delay is not None:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        sums = warehouse.checksums(target)  # it opens
        assert sums in (states.old_sums, states.new_sums), (step, delay, err[-500:])
        outcome = "new" if sums == states.new_sums else "old"
        if delay is None:
            assert proc.returncode == -signal.SIGKILL
            assert outcome == ("new" if step in ("replaced", "done") else "old"), step
        outcomes.append(outcome)
        # The next run cleans up after the dead one and completes.
        warehouse.load(target, states.frames, {"etl_run": _etl_run(f"retry-{i}", states.folder)}, timeout=10)
        assert _data(warehouse.checksums(target)) == _data(states.new_sums)
        assert _leftovers(target) == []
    assert {"old", "new"} <= set(outcomes)
    print(f"load {load_seconds:.2f} s; random kills gave {outcomes[len(steps) :]}")


def test_readers_do_not_block_a_load_and_keep_their_snapshot_until_they_reconnect(states: States) -> None:
    target = _fresh_copy(states, "readers")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline().strip() == "run-a"
    cli_path = _cli()
    cli = None
    if cli_path:
        cli = subprocess.Popen(
            [cli_path, "-readonly", "-csv", "-noheader", str(target)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_until_open(target, processes=2)  # the Python reader and the CLI
    try:
        warehouse.load(target, states.frames, states.run_rows, input_dir=states.folder, timeout=5)
        assert warehouse.checksums(target) == states.new_sums  # a new reader sees the new state
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "run-a"  # same connection: the old snapshot
        assert reader.stdout.readline().strip() == "run-a,run-b"  # reconnected: the new state
        if cli is not None:
            out, err = cli.communicate(RUNS_SQL + "\n", timeout=60)
            assert out.strip() == "run-a", err
    finally:
        reader.kill()
        reader.communicate()
        if cli is not None and cli.poll() is None:
            cli.kill()
            cli.communicate()


def _wait_until_open(target: Path, processes: int) -> None:
    """Until ``processes`` other processes have ``target`` open, so the test cannot race a reader.

    Every process is looked at because the PyPI ``duckdb`` command is a wrapper
    that runs the real CLI as its child.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        holders = 0
        for fd_dir in Path("/proc").glob("[0-9]*/fd"):
            if fd_dir.parent.name == str(os.getpid()):
                continue
            try:
                holders += any(os.readlink(fd) == str(target) for fd in fd_dir.iterdir())
            except OSError:
                continue
        if holders >= processes:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {processes} processes opened {target}")


def test_a_read_write_session_makes_the_load_fail_plainly_and_changes_nothing(states: States) -> None:
    target = _fresh_copy(states, "rw")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], config={'storage_compatibility_version':"
            " 'v1.5.0'}); print('held', flush=True); sys.stdin.readline()",
            str(target),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(warehouse.WarehouseBusyError, match="read-write"):
            warehouse.load(target, states.frames, states.run_rows, input_dir=states.folder, timeout=1)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert warehouse.checksums(target) == states.old_sums
    assert _leftovers(target) == []


def test_a_failed_load_rolls_back_and_leaves_the_file_untouched(states: States) -> None:
    target = _fresh_copy(states, "failed")
    before = target.stat().st_ino
    bad = dict(states.frames)
    bad["fct_metric"] = bad["fct_metric"].with_columns(pl.lit(None, dtype=pl.String).alias("unit"))
    with pytest.raises(duckdb.ConstraintException):
        warehouse.load(target, bad, states.run_rows, input_dir=states.folder)
    assert target.stat().st_ino == before
    assert warehouse.checksums(target) == states.old_sums
    assert _leftovers(target) == []


def test_a_load_whose_before_commit_raises_leaves_the_file_untouched(states: States) -> None:
    target = _fresh_copy(states, "cancelled")
    before = target.stat().st_ino
    written: list[str] = []

    def cancelled() -> dict[str, pl.DataFrame]:
        written.extend(warehouse.temp_files(target))  # every table written to the copy by now
        raise RuntimeError("the checks failed")

    with pytest.raises(RuntimeError, match="the checks failed"):
        warehouse.load(
            target, states.frames, states.run_rows, input_dir=states.folder, before_commit=cancelled
        )
    assert written and target.stat().st_ino == before
    assert warehouse.checksums(target) == states.old_sums
    assert _leftovers(target) == []


def test_the_rows_before_commit_gives_are_appended_with_the_run_rows(states: States) -> None:
    target = _fresh_copy(states, "gated")
    later = _etl_run("run-b", states.folder).with_columns(pl.lit(7).alias("checks_passed"))
    early = {**states.run_rows, "etl_run": later.with_columns(pl.lit(0).alias("checks_passed"))}

    warehouse.load(
        target, states.frames, early, input_dir=states.folder, before_commit=lambda: {"etl_run": later}
    )

    assert _data(warehouse.checksums(target)) == _data(states.new_sums)
    runs = warehouse.query(target, "select run_id, checks_passed from etl_run order by run_id")
    assert runs.rows() == [("run-a", 0), ("run-b", 7)]
    quarantined = warehouse.query(target, "select distinct run_id from quarantine where run_id = 'run-b'")
    assert quarantined.height == 1  # the quarantine rows, given early, carry the run's id


def test_a_write_ahead_log_left_by_a_direct_writer_is_folded_in_not_lost(states: States) -> None:
    target = _fresh_copy(states, "wal")
    direct = textwrap.dedent(
        """
        import os, sys
        import duckdb
        con = duckdb.connect(sys.argv[1], config={"storage_compatibility_version": "v1.5.0"})
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("SET wal_autocheckpoint = '1TB'")
        con.execute(
            "INSERT INTO etl_run VALUES ('direct', now()::timestamp, now()::timestamp, 'x', 0, 0, 0, 0, 0)"
        )
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", direct, str(target)], check=True, timeout=60)
    assert target.with_name(target.name + ".wal").exists()
    warehouse.load(target, states.frames, states.run_rows, input_dir=states.folder)
    assert _leftovers(target) == []
    runs = warehouse.query(target, "select run_id from etl_run order by 1")["run_id"].to_list()
    assert runs == ["direct", "run-a", "run-b"]
    assert _data(warehouse.checksums(target)) == _data(states.new_sums)


def test_two_loads_at_once_run_one_after_the_other_and_lose_nothing(states: States) -> None:
    target = _fresh_copy(states, "two")
    other = _dump(states.old.parent / "dump_c", states.frames, {"etl_run": _etl_run("run-c", states.folder)})
    first, second = _start_worker(states, target), _start_worker(states, target, dump=other)
    for proc in (first, second):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    runs = warehouse.query(target, "select run_id from etl_run order by 1")["run_id"].to_list()
    assert runs == ["run-a", "run-b", "run-c"]
    assert _data(warehouse.checksums(target)) == _data(states.new_sums)
    assert _leftovers(target) == []
