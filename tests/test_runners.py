"""The task runner a run picks (flows/pipeline/runners.py): spec parsing, the same results on every runner."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from flows.pipeline.dask_runner import DaskRunner
from flows.pipeline.runners import ENV_VAR, ProcessTaskRunner, cpu_count, task_runner


@pytest.mark.parametrize("spec", ["threads", " Threads ", ""])
def test_threads_is_a_thread_pool_of_one_thread_per_core(spec: str) -> None:
    runner = task_runner(spec)
    assert type(runner) is ThreadPoolTaskRunner
    assert runner._max_workers == cpu_count()


def test_processes_is_prefects_process_pool_of_one_process_per_core() -> None:
    runner = task_runner("processes")
    assert isinstance(runner, ProcessPoolTaskRunner) and isinstance(runner, ProcessTaskRunner)
    assert runner._max_workers == cpu_count()


def test_dask_is_a_local_cluster_of_single_threaded_worker_processes() -> None:
    runner = task_runner("dask")
    assert isinstance(runner, DaskTaskRunner) and isinstance(runner, DaskRunner)
    assert runner.address is None
    assert runner.cluster_class == "distributed.LocalCluster"
    assert runner.cluster_kwargs["n_workers"] == cpu_count()
    assert runner.cluster_kwargs["threads_per_worker"] == 1
    assert runner.cluster_kwargs["processes"] is True


@pytest.mark.parametrize(
    ("spec", "address"),
    [
        ("dask://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
        ("tcp://scheduler:8786", "tcp://scheduler:8786"),
        ("tls://scheduler.example.org:8786", "tls://scheduler.example.org:8786"),
        ("DASK://[::1]:8786", "tcp://[::1]:8786"),
    ],
)
def test_an_address_connects_to_an_existing_scheduler(spec: str, address: str) -> None:
    runner = task_runner(spec)
    assert isinstance(runner, DaskRunner)
    assert runner.address == address
    assert runner.cluster_class is None and runner.cluster_kwargs == {}


def test_the_environment_variable_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "dask")
    assert isinstance(task_runner(), DaskTaskRunner)
    assert type(task_runner("threads")) is ThreadPoolTaskRunner  # an explicit spec wins
    monkeypatch.delenv(ENV_VAR)
    assert type(task_runner()) is ThreadPoolTaskRunner


@pytest.mark.parametrize("spec", ["thread", "ray", "dask:8786", "http://scheduler:8786"])
def test_a_bad_spec_says_which_runners_exist(spec: str) -> None:
    listed = r"is not a task runner; use one of: threads, sequential, processes, dask, "
    with pytest.raises(ValueError, match=listed):
        task_runner(spec)


@pytest.mark.parametrize("spec", ["tcp://scheduler", "dask://:8786", "tcp://scheduler:port", "tcp://h:1/x"])
def test_a_bad_address_says_what_an_address_looks_like(spec: str) -> None:
    with pytest.raises(ValueError, match=r"a Dask scheduler address is \w+://host:port"):
        task_runner(spec)


def test_a_bad_environment_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "gpu")
    with pytest.raises(ValueError, match=rf"^\${ENV_VAR} 'gpu' is not a task runner"):
        task_runner()


@flow(name="toy-runners")
def toy(n: int, key: str) -> dict[str, object]:
    """Submit ``n`` tasks that return Polars frames; gather them in submission order."""
    futures = [frame.submit(i, pl.DataFrame({"x": list(range(i + 1))})) for i in range(n)]
    cached = [kept.submit(key, i) for i in range(n)]
    return {
        "frames": pl.concat([f.result() for f in futures]),
        "cached": pl.concat([f.result()["t"] for f in cached]),
        "states": [f.state.name for f in cached],
        "pids": {f.result()["pid"][0] for f in futures},
    }


@task
def frame(i: int, xs: pl.DataFrame) -> pl.DataFrame:
    """A frame in, a frame out; the worker's pid tells where it ran."""
    out = xs.select(pl.lit(i).alias("i"), "x", (pl.col("x") ** 2).alias("y"), pl.lit("台账").alias("s"))
    return out.with_columns(pl.lit(os.getpid()).alias("pid"))


@task(cache_key_fn=lambda _, p: f"toy-runners-{p['key']}-{p['i']}", persist_result=True)
def kept(key: str, i: int) -> dict[str, pl.DataFrame]:
    """A cached task, keyed like the flow's extract: a dict of frames, stored on first run."""
    return {"t": pl.DataFrame({"i": [i], "words": [["台州", "整改"][i % 2]]})}


@pytest.mark.parametrize("spec", ["threads", "processes", "dask", "tcp://127.0.0.1:8786"])
def test_a_run_picks_its_runner_and_the_flow_keeps_its_own(spec: str) -> None:
    runner = task_runner(spec)
    picked = toy.with_options(task_runner=runner)
    assert picked.task_runner is runner
    assert toy.task_runner is not runner
    # Each flow run opens a duplicate of the flow's runner: it must stay ours, with our settings.
    copy = runner.duplicate()
    assert type(copy) is type(runner) and copy == runner


@pytest.mark.slow
@pytest.mark.flow
def test_every_runner_gives_the_same_results(prefect_harness: None, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    n = 4
    results = {}
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "storage"}):
        for spec in ("threads", "processes", "dask"):
            key = uuid.uuid4().hex  # a fresh cache per runner: the first run computes, the second reads
            first = toy.with_options(task_runner=task_runner(spec))(n, key)
            second = toy.with_options(task_runner=task_runner(spec))(n, key)
            assert first["states"] == ["Completed"] * n, spec
            assert second["states"] == ["Cached"] * n, spec
            assert_frame_equal(first["cached"], second["cached"])
            if spec != "threads":  # the tasks ran in worker processes
                assert os.getpid() not in first["pids"], spec
            results[spec] = first
        assert len(list((tmp_path / "storage").iterdir())) == 3 * n  # the workers wrote the storage

    for spec in ("processes", "dask"):
        assert_frame_equal(results[spec]["frames"].drop("pid"), results["threads"]["frames"].drop("pid"))
        assert_frame_equal(results[spec]["cached"], results["threads"]["cached"])
    assert results["threads"]["frames"]["i"].to_list() == [i for i in range(n) for _ in range(i + 1)]


def _imported(module: str) -> bool:
    """Run in a pool worker: whether ``module`` was imported there."""
    import sys

    return module in sys.modules


@pytest.mark.slow
@pytest.mark.flow
def test_process_workers_import_the_flow_module_as_they_start(prefect_harness: None) -> None:
    """The flow's module names itself (runners does not import it: no import circle), and each
    worker imports it as it starts rather than on its first task."""
    import flows.pipeline.etl  # noqa: F401 - it registers itself as it is imported
    from flows.pipeline.runners import WORKER_IMPORTS

    assert WORKER_IMPORTS == ["flows.pipeline.etl"]
    with task_runner("processes") as runner:
        # A plain function, not a task: nothing in it or its module imports the flow.
        assert runner._executor.submit(_imported, "flows.pipeline.etl").result(timeout=300)


@pytest.mark.slow
@pytest.mark.flow
def test_the_etl_flow_gives_the_same_warehouse_on_every_runner(prefect_harness: None, tmp_path: Path) -> None:
    """The seeds in small batches (several extract tasks) on each runner, against one at a time."""
    from flows.pipeline.etl import etl
    from flows.warehouse import store as warehouse
    from tests.conftest import SEEDS_RAW

    sums = {}
    for spec in ("sequential", "threads", "processes", "dask"):
        target = tmp_path / spec / "wh.duckdb"  # its own extract folder, so its own cache keys
        summary = etl.with_options(task_runner=task_runner(spec))(
            input_dir=str(SEEDS_RAW), warehouse_path=str(target), batch_mb=0.02
        )
        assert summary["extract_tasks"] >= 3 and summary["extract_tasks_cached"] == 0, spec
        sums[spec] = warehouse.checksums(target, current_only=True)
    assert sums["threads"] == sums["sequential"]
    assert sums["processes"] == sums["sequential"]
    assert sums["dask"] == sums["sequential"]


def test_thread_timeout_notice_is_dropped_and_other_task_warnings_kept() -> None:
    """Prefect's per-task "timeout in a worker thread" notice is filtered; nothing else is."""
    import inspect
    import logging

    import prefect.task_engine

    from flows.pipeline import etl

    # The notice as Prefect 3.8 writes it (two string literals joined): pinned, so an upgrade that
    # rewords it shows here rather than as 14 warnings a run.
    source = inspect.getsource(prefect.task_engine).replace('"\n                        "', "")
    assert etl._THREAD_TIMEOUT_NOTICE in source

    def record(msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("prefect.task_runs", logging.WARNING, __file__, 1, msg, args, None)

    notice = record(etl._THREAD_TIMEOUT_NOTICE + " thread.", 1800)
    other = record("batch %s failed", "b1")
    logger = logging.getLogger("prefect.task_runs")
    assert not logger.filter(notice)
    assert logger.filter(other)
