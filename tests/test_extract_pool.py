"""Extraction in worker processes under the run's memory ceiling (``flows.pipeline.extract_pool``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import polars as pl
import psutil
import pytest

from flows.pipeline import extract_pool
from flows.pipeline.extract_pool import ExtractPool, MemoryCeilingExceeded, parse_memory, tree_rss
from tests.conftest import SEEDS_RAW, doc_frame

SMALL = "截至2021年10月，共制定整改措施32条，完成投资12.5亿元，同比增长11%。\n"
SMALL_FIGURES = ["32条", "12.5亿元", "11%"]  # the three figures SMALL writes


def _tables(folder: str) -> dict[str, pl.DataFrame]:
    return {p.stem: pl.read_parquet(p) for p in sorted(Path(folder).glob("*.parquet"))}


def test_memory_limits_read_as_a_person_writes_them() -> None:
    assert parse_memory("4GB") == 4_000_000_000
    assert parse_memory("1500 MB") == 1_500_000_000
    assert parse_memory("2GiB") == 2 * 1024**3
    assert parse_memory("123") == 123
    assert parse_memory("50%") == extract_pool.machine_memory() // 2
    for bad in ("lots", "0%", "120%", "4 GBytes"):
        with pytest.raises(ValueError, match="memory limit"):
            parse_memory(bad)


def test_the_default_ceiling_is_half_the_machine_and_the_variable_overrides_it(monkeypatch) -> None:
    monkeypatch.delenv(extract_pool.ENV_VAR, raising=False)
    assert extract_pool.memory_ceiling() == extract_pool.machine_memory() // 2
    monkeypatch.setenv(extract_pool.ENV_VAR, "3GB")
    assert extract_pool.memory_ceiling() == 3_000_000_000
    assert extract_pool.memory_ceiling("1GB") == 1_000_000_000  # the run's own setting wins


def test_a_batch_extracts_the_same_in_a_worker_as_in_this_process(tmp_path: Path) -> None:
    docs = doc_frame({"a.txt": SMALL, "b.txt": (SEEDS_RAW / sorted(os.listdir(SEEDS_RAW))[0]).read_text()})
    here = extract_pool.write_batch("here", docs, str(tmp_path))
    pool = ExtractPool(1, 10**15)
    try:
        there = pool.run("there", docs, str(tmp_path))
    finally:
        pool.close()
    assert there["rows"] == here["rows"]
    mine, theirs = _tables(here["dir"]), _tables(there["dir"])
    assert (
        mine["fct_metric"].filter(pl.col("doc") == "a.txt").sort("start_char")["text"].to_list()
        == SMALL_FIGURES
    )
    assert mine.keys() == theirs.keys()
    for name, frame in mine.items():
        assert frame.equals(theirs[name]), name


def test_a_worker_over_the_ceiling_is_stopped_with_a_reason_and_the_next_batch_extracts(
    tmp_path: Path,
) -> None:
    """The ceiling is set below what the run's processes already hold: the first batch's worker
    is the only busy one, so it is stopped; the pool then starts another for the next batch."""
    docs = doc_frame({"a.txt": SMALL})
    pool = ExtractPool(1, 10**15)
    try:
        pool.run("warm", docs, str(tmp_path))
        pool.ceiling = sum(tree_rss(psutil.Process()).values()) // 2
        with pytest.raises(MemoryCeilingExceeded, match="more memory than the run's ceiling"):
            pool.run("over", doc_frame({"big.txt": SMALL * 20_000}), str(tmp_path))
        pool.ceiling = 10**15
        assert pool.run("after", docs, str(tmp_path))["rows"]["fct_metric"] == len(SMALL_FIGURES)
    finally:
        pool.close()
    assert not [p for p in psutil.Process().children(recursive=True) if "extract" in " ".join(p.cmdline())]


def test_a_worker_killed_while_idle_is_replaced_for_the_next_batch(tmp_path: Path) -> None:
    docs = doc_frame({"a.txt": SMALL})
    pool = ExtractPool(1, 10**15)
    try:
        pool.run("first", docs, str(tmp_path))
        (idle,) = pool._all
        idle.process.kill()
        idle.process.join(5)
        assert pool.run("second", docs, str(tmp_path))["rows"]["fct_metric"] == len(SMALL_FIGURES)
        assert pool._all and pool._all[0] is not idle
    finally:
        pool.close()


def test_a_task_waiting_for_a_worker_is_released_when_the_pool_closes(tmp_path: Path) -> None:
    """A cancelled run closes the pool: a batch still waiting for a free worker must not wait for ever."""
    import threading

    pool = ExtractPool(1, 10**15)
    errors: list[BaseException] = []

    def extract(key: str) -> None:
        try:
            pool.run(key, doc_frame({"a.txt": SMALL * 2_000}), str(tmp_path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=extract, args=(k,), daemon=True) for k in ("busy", "waiting")]
    threads[0].start()
    deadline = time.monotonic() + 60
    while not any(w.busy for w in pool._all) and time.monotonic() < deadline:
        time.sleep(0.05)
    threads[1].start()  # the only worker is busy: this one waits for it
    time.sleep(0.5)
    pool.close()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert len(errors) == 2


def test_scratch_folders_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = psutil.Popen(["true"])
    dead.wait()
    (tmp_path / f"k1.tmp-{dead.pid}-abcd1234").mkdir()
    (tmp_path / f"k2.tmp-{os.getppid()}-abcd1234").mkdir()  # a live process's: another run's
    (tmp_path / "k3").mkdir()  # a finished batch: not scratch
    removed = extract_pool.clean_staging(tmp_path)
    assert [p.name for p in removed] == [f"k1.tmp-{dead.pid}-abcd1234"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"k2.tmp-{os.getppid()}-abcd1234", "k3"]


@pytest.mark.flow
def test_documents_over_the_ceiling_are_quarantined_with_the_reason_and_load_once_it_is_raised(
    prefect_harness: None, tmp_path: Path
) -> None:
    """Nothing lost: a run whose ceiling no extraction fits in completes, every document in
    quarantine with the reason; the next run, with room, loads them."""
    from flows.pipeline.etl import etl

    folder, target = tmp_path / "in", tmp_path / "w.duckdb"
    folder.mkdir()
    (folder / "a.txt").write_text(SMALL)
    (folder / "b.txt").write_text(SMALL.replace("32", "33"))
    summary = etl(input_dir=str(folder), warehouse_path=str(target), memory_limit="1MB")
    assert summary["loaded"] and summary["quarantined"] == 2
    with duckdb.connect(str(target), read_only=True) as con:
        reasons = con.execute("SELECT source_path, reason FROM quarantine ORDER BY 1").fetchall()
        assert [Path(p).name for p, _ in reasons] == ["a.txt", "b.txt"]
        assert all("memory than the run's ceiling of 1 MB" in r for _, r in reasons)
        assert con.execute("SELECT count(*) FROM fct_metric").fetchone() == (0,)
    summary = etl(input_dir=str(folder), warehouse_path=str(target))
    assert summary["quarantined"] == 0 and summary["new"] + summary["changed"] == 2
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT document_id) FROM fct_metric").fetchone() == (2,)
