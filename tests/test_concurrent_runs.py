"""Two runs at once on one warehouse (issue 29): shared extract batches, the writer lock.

The fast tests pin the pieces: a run's lease on the batches it uses (``flows.pipeline.staging``),
a batch written twice, the writer lock's message and wait. The slow ones start two real
``taizhang run`` commands at once (``tests/test_lifecycle.py``'s helpers, each run with its own
HOME and PREFECT_HOME), over the same folder and over different folders, and compare the
warehouse with the one single runs build (the soak's table-by-table comparison).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from flows.pipeline import staging
from flows.pipeline.etl import is_permanent
from flows.pipeline.extract_pool import publish_batch
from flows.warehouse import store as warehouse
from flows.warehouse.state import WarehouseWriteError
from flows.warehouse.tables import EXTRACT_TABLES

# --- leases on shared batches ---------------------------------------------------------------


def _batch(folder: Path, mark: str = "") -> Path:
    folder.mkdir(parents=True)
    for name in EXTRACT_TABLES:
        pl.DataFrame({"x": [mark]}).write_parquet(folder / f"{name}.parquet")
    return folder


def test_a_batch_another_live_run_holds_is_not_removed(tmp_path: Path) -> None:
    mine, other = staging.Lease(tmp_path), staging.Lease(tmp_path)
    try:
        shared, alone = _batch(tmp_path / "k1"), _batch(tmp_path / "k2")
        part = _batch(tmp_path / "k1.part0")
        mine.hold("k1")
        mine.hold("k2")
        other.hold("k1")
        removed = staging.remove_batches(tmp_path, [shared, alone, part], mine)
        assert removed == [alone]
        assert shared.is_dir() and part.is_dir() and not alone.exists()
        other.release()
        assert staging.remove_batches(tmp_path, [shared, part], mine) == [shared, part]
    finally:
        staging.release_all()
    assert not list(tmp_path.iterdir())  # the leases are gone with the batches


def test_the_lease_of_a_killed_run_holds_nothing_and_is_removed(tmp_path: Path) -> None:
    """A run killed with its lease: the kernel dropped the flock, so the next clean-up removes both."""
    code = (
        "import sys, time; from pathlib import Path; from flows.pipeline import staging;"
        f"lease = staging.Lease(Path({str(tmp_path)!r})); lease.hold('k1'); print('held', flush=True);"
        "time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        batch = _batch(tmp_path / "k1")
        assert staging.remove_batches(tmp_path, [batch]) == []  # alive: kept
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert staging.remove_batches(tmp_path, [batch]) == [batch]
        assert not list(tmp_path.iterdir())
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_batch_written_twice_keeps_the_first_folder(tmp_path: Path) -> None:
    """Same key, same content: the second writer's folder is dropped, never swapped in under a
    run that may be loading from the first."""
    first = _batch(tmp_path / "k1", "first")
    inode = first.stat().st_ino
    publish_batch(_batch(tmp_path / "k1.tmp-1-a", "second"), first)
    assert first.stat().st_ino == inode and not (tmp_path / "k1.tmp-1-a").exists()
    half = tmp_path / "k2"
    half.mkdir()
    (half / "stg_documents.parquet").write_bytes(b"")  # not a whole batch: replaced
    publish_batch(_batch(tmp_path / "k2.tmp-1-b", "whole"), half)
    assert all((half / f"{name}.parquet").stat().st_size for name in EXTRACT_TABLES)


# --- the writer lock --------------------------------------------------------------------------


def test_a_second_writer_waits_then_says_who_holds_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "w.duckdb"
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with warehouse.writer_lock(target, timeout=5):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(warehouse.WriterLockTimeout) as caught, warehouse.writer_lock(target, timeout=0.3):
            pass
        message = str(caught.value)
        assert f"another run is writing {target}" in message
        assert f"pid {os.getpid()}" in message and "started 20" in message and "waited 0.3 s" in message
        wrapped = WarehouseWriteError(message)
        wrapped.__cause__ = caught.value
        assert is_permanent(wrapped)  # waited already: the load task does not retry
    finally:
        release.set()
        thread.join(10)
    with warehouse.writer_lock(target, timeout=1):  # free again
        pass


def test_the_lock_wait_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(warehouse.LOCK_WAIT_ENV, raising=False)
    assert warehouse.lock_wait() == warehouse.DEFAULT_TIMEOUT
    monkeypatch.setenv(warehouse.LOCK_WAIT_ENV, "2.5")
    assert warehouse.lock_wait() == 2.5
    monkeypatch.setenv(warehouse.LOCK_WAIT_ENV, "soon")
    with pytest.raises(ValueError, match="TAIZHANG_LOCK_WAIT"):
        warehouse.lock_wait()


# --- two real runs at once --------------------------------------------------------------------

MISSING = "No files found"


def _started_together(pairs: list[tuple[Path, Path]], homes: list[Path]) -> list[tuple[int, str]]:
    """Start one run per (folder, warehouse) at once; (exit code, output) of each.

    The runs must overlap, or the test proves nothing: the run that loads second must have
    compared its folder with the warehouse (and so extracted what it loads) before the other's
    load committed and cleaned up. On a busy machine one run can start so much later that it
    does not; so the test holds the writer lock until both have compared, and the loads wait.
    """
    from tests.test_lifecycle import COMPARED, LOADED, cleaned_up, finish, start_run, wait_for_line

    runs: list = []
    with cleaned_up(runs):
        with contextlib.ExitStack() as held:
            for target in sorted({target for _, target in pairs}):
                held.enter_context(warehouse.writer_lock(target, timeout=10))
            for (folder, target), home in zip(pairs, homes, strict=True):
                runs.append(start_run(folder, target, home))
            for run in runs:
                wait_for_line(run, COMPARED)
        results = [(finish(run), run.output(400)) for run in runs]
        compared = [min((at for at, line in run.lines if COMPARED in line), default=None) for run in runs]
        loaded = [min((at for at, line in run.lines if LOADED in line), default=None) for run in runs]
        first = min(range(len(runs)), key=lambda i: loaded[i] or float("inf"))
        later = compared[1 - first]
        assert later is not None and loaded[first] is not None, results
        assert later < loaded[first], "the runs did not overlap"
        return results


def _check_pair(results: list[tuple[int, str]]) -> None:
    for code, output in results:
        assert MISSING not in output, output[-3000:]
        assert code == 0 or "another run is writing" in output, f"exit {code}\n{output[-3000:]}"
    assert results[0][0] == 0 or results[1][0] == 0


def _flow_run_name(output: str) -> str:
    return next(line.split()[-1] for line in output.splitlines()[::-1] if line.startswith("flow run "))


@pytest.mark.slow
def test_two_runs_at_once_on_one_folder_and_warehouse_end_like_one_run(tmp_path: Path) -> None:
    from tests.test_lifecycle import REPORTS, compare_warehouses, copy_reports, flow_run_states, normal_run

    folder = tmp_path / "reports"
    copy_reports(folder, REPORTS[:4])
    homes = [tmp_path / "home1", tmp_path / "home2"]
    clean = tmp_path / "clean" / "cc.duckdb"
    single = normal_run(folder, clean, homes[0])
    name = _flow_run_name(single.output())
    assert (name, "COMPLETED") in flow_run_states(homes[0]), "the printed name is the flow run's in Prefect"

    target = tmp_path / "wh" / "cc.duckdb"
    results = _started_together([(folder, target), (folder, target)], homes)
    _check_pair(results)
    assert compare_warehouses(target, clean) == []
    staged = target.parent / f".{target.name}.extract"
    assert not list(staged.iterdir()), "staging holds nothing once both runs ended"
    assert sorted(p.name for p in target.parent.iterdir() if not p.name.startswith(".")) == [
        "cc.dq",
        "cc.duckdb",
    ]


@pytest.mark.slow
def test_two_runs_at_once_on_two_folders_end_like_the_two_runs_one_after_the_other(tmp_path: Path) -> None:
    from tests.test_lifecycle import REPORTS, compare_warehouses, copy_reports, normal_run

    first, second = tmp_path / "a", tmp_path / "b"
    copy_reports(first, REPORTS[:3])
    copy_reports(second, REPORTS[3:6])
    homes = [tmp_path / "home1", tmp_path / "home2"]
    target = tmp_path / "wh" / "cc.duckdb"
    _check_pair(_started_together([(first, target), (second, target)], homes))

    clean = tmp_path / "clean" / "cc.duckdb"
    normal_run(first, clean, homes[0])
    normal_run(second, clean, homes[0])
    assert compare_warehouses(target, clean) == []


@pytest.mark.slow
def test_a_run_that_waited_for_the_lock_in_vain_says_who_holds_it(tmp_path: Path) -> None:
    from tests.conftest import SEEDS_RAW
    from tests.test_lifecycle import finish, start_run

    target = tmp_path / "wh" / "cc.duckdb"
    with warehouse.writer_lock(target, timeout=1):
        run = start_run(SEEDS_RAW, target, tmp_path / "home", "--lock-wait", "2")
        code = finish(run)
    output = run.output(200)
    assert code == 1, output
    assert f"another run is writing {target.resolve()}" in output and f"pid {os.getpid()}" in output, output
    assert "waited 2 s" in output and "Retry 1/" not in output  # waited once, not once per retry
    assert not target.exists()
