"""Which task runner the flow's tasks run on: threads, a process pool or a Dask cluster.

``task_runner(spec)`` turns a short spec (the CLI's ``--runner``, or ``$TAIZHANG_TASK_RUNNER``)
into a Prefect task runner; the flow is defined once and a run picks its runner with
``etl.with_options(task_runner=task_runner(spec))``. Only ``task.submit()`` / ``task.map()``
go to the runner: a task called directly runs in the flow's own process whatever the runner.

Specs (timings: the seeds' 5 documents x 10 as 50 extract tasks, 2 cores, 22.6 s one by one):

- ``threads`` (the default): a thread pool of one thread per core; 12-14 s. Most of extract
  is Polars, which releases the GIL, so threads overlap well even though jieba's tagging
  holds it. Nothing to start, one process, and a run whose tasks are all cached costs nothing.
- ``sequential``: one thread, one task at a time; the reference the others must equal.
- ``processes``: Prefect's process pool (``spawn``), one process per core; 14-18 s. Each
  worker is a fresh interpreter that imports Prefect, Polars, the transforms and jieba's
  dictionary before its first task (2-4 s, even when every task turns out to be cached).
- ``dask``: a temporary ``distributed.LocalCluster`` of one single-threaded worker process
  per core, started on the first submitted task (2-4 s) and closed when the flow run ends;
  20-21 s. It is the way to more cores than one machine has.
- ``dask://host:port`` or ``tcp://host:port`` (also ``tls://``): an existing Dask cluster's
  scheduler. Its workers must be able to import ``flows`` and ``transforms`` (same checkout,
  same virtual environment), reach the same Prefect API, and, for cached tasks, write the
  same result storage (``PREFECT_LOCAL_STORAGE_PATH`` on a shared disk, or a storage block).

Process-based runners run the task engine in other processes, and those must report to the
flow's Prefect API. With no ``PREFECT_API_URL`` Prefect starts an embedded server on demand,
and every worker process would start one of its own (5-7 s each, on the same SQLite
database). So the process and Dask runners below point ``PREFECT_API_URL`` at the flow's
embedded server while they are open; with a real server (or the test harness) the URL is
already set and they change nothing. Task run states, logs and cached results then behave
as with threads: cached results are written by the worker that ran the task.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

ENV_VAR = "TAIZHANG_TASK_RUNNER"
DEFAULT_SPEC = "threads"
SPECS = ("threads", "sequential", "processes", "dask", "dask://host:port", "tcp://host:port")
_ADDRESS_SCHEMES = ("dask", "tcp", "tls")


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask, which a container may narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def task_runner(spec: str | None = None) -> TaskRunner[Any]:
    """The task runner named by ``spec``, or by ``$TAIZHANG_TASK_RUNNER`` when spec is None.

    An empty spec (or unset variable) means ``threads``: the fastest here (see the module
    doc), it starts nothing, and the results are the same on every runner.

    Raises:
        ValueError: the spec names no runner (the message says which ones exist).
    """
    source = "task runner"
    if spec is None:
        spec = os.environ.get(ENV_VAR, "")
        source = f"${ENV_VAR}"
    text = spec.strip()
    kind = text.lower() or DEFAULT_SPEC
    workers = cpu_count()
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "sequential":  # one task at a time: the reference the parallel runners must equal
        return ThreadPoolTaskRunner(max_workers=1)
    if kind == "processes":
        return ProcessTaskRunner(max_workers=workers)
    if kind == "dask":
        from flows.pipeline.dask_runner import DaskRunner

        return DaskRunner(
            cluster_class="distributed.LocalCluster", cluster_kwargs=local_cluster_kwargs(workers)
        )
    scheme, sep, rest = text.partition("://")
    if sep and scheme.lower() in _ADDRESS_SCHEMES:
        host, colon, port = rest.rpartition(":")
        if not (host and colon and port.isdigit()) or "/" in rest:
            raise ValueError(
                f"{source} {spec!r}: a Dask scheduler address is {scheme}://host:port, e.g. tcp://10.0.0.5:8786"
            )
        from flows.pipeline.dask_runner import DaskRunner

        # dask:// is our name for Dask's default protocol, tcp://.
        return DaskRunner(address=f"tcp://{rest}" if scheme.lower() == "dask" else text)
    raise ValueError(f"{source} {spec!r} is not a task runner; use one of: {', '.join(SPECS)}")


def local_cluster_kwargs(workers: int) -> dict[str, Any]:
    """``LocalCluster`` arguments: one single-threaded worker process per core.

    Parallelism comes from the processes (jieba holds the GIL; each worker's Polars gets its
    share of the cores, see ``_open_for_workers``). ``:0`` puts the
    scheduler's HTTP endpoint (the dashboard, when bokeh is installed) on a free port instead
    of 8787, so two runs at once do not collide. The memory limit is Dask's ``auto``: the
    machine's memory split between the workers; a worker past 95 % of it is restarted.
    """
    return {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": ":0",
        "memory_limit": "auto",
    }


def _open_for_workers(stack: ExitStack, workers: int, extra_env: dict[str, str] | None = None) -> None:
    """Set up this process so that worker processes started from it work like the flow.

    - ``PREFECT_API_URL`` names the API this process talks to (see the module doc). This is
      called when a flow run opens its task runner, after the flow created its run through the
      API: with no URL set that started the embedded server, and ``SubprocessASGIServer()``
      returns that same running server.
    - Worker processes inherit the environment when they start (on the first submitted task):
      ``POLARS_MAX_THREADS`` gives each its share of the cores, since Polars would otherwise
      start a thread per core in every worker; a value already set is kept.

    Both are undone when ``stack`` closes.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    if not PREFECT_API_URL.value():
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()
        server.start()  # a no-op when it runs already
        # No UI URL is derived from it: the embedded server serves no UI, and Prefect would
        # print a "View at" link to a page that is not there.
        stack.enter_context(temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_UI_URL: ""}))
    env = {"POLARS_MAX_THREADS": str(max(1, cpu_count() // workers)), **(extra_env or {})}
    for name, value in env.items():
        if name not in os.environ:
            os.environ[name] = value
            stack.callback(os.environ.pop, name, None)


class _WorkerSetup:
    """Opens ``_prepare``'s settings before the runner starts its workers, and undoes them after."""

    def _prepare(self, stack: ExitStack) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self._opened = ExitStack()
        try:
            self._prepare(self._opened)
            return super().__enter__()  # type: ignore[misc]
        except BaseException:
            self._opened.close()
            raise

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)  # type: ignore[misc]
        finally:
            self._opened.close()


_IN_WORKER = "TAIZHANG_POOL_WORKER"  # set in pool workers: see ProcessTaskRunner.__enter__


def warm_worker() -> None:
    """Each pool worker's initializer: import the flow's module and load jieba's dictionary.

    That is 2-4 s per fresh interpreter, which the first extract task would otherwise pay.
    A failure is left for that task to raise, where Prefect reports it: an initializer that
    raised would break the whole pool.
    """
    os.environ[_IN_WORKER] = "1"
    from flows.pipeline.lifeline import die_with_parent

    die_with_parent()  # a killed run must not leave its workers behind
    try:
        import jieba

        import flows.pipeline.etl  # noqa: F401 - what unpickling the extract task imports anyway
        from flows.warehouse.ledger_reference import load_ledger_reference
        from flows.warehouse.reference import load_reference

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        load_reference()
        load_ledger_reference()
    except Exception as exc:
        logging.getLogger(__name__).debug("warming up a worker failed: %s", exc)


def _nothing() -> None:
    """A task for a fresh pool: submitting it makes the pool start a worker."""


class ProcessTaskRunner(_WorkerSetup, ProcessPoolTaskRunner):
    """Prefect's process pool, set up for its workers (see ``_open_for_workers``), started early.

    A process pool starts a worker only when a task is submitted, and a fresh worker spends
    2-4 s importing before its first task. The flow opens its task runner as the run starts,
    so this one starts every worker then (``warm_worker``), and their start-up overlaps with
    the flow reading the input folder.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers=max_workers, initializer=warm_worker)

    def _prepare(self, stack: ExitStack) -> None:
        _open_for_workers(stack, self._max_workers)

    def __enter__(self) -> Any:
        runner = super().__enter__()
        executor = getattr(self, "_executor", None)  # Prefect's ProcessPoolExecutor, once entered
        # A task running in a worker enters a copy of the flow's runner too (Prefect rebuilds
        # the flow run's context there); that copy runs nothing, so it must start no workers.
        if executor is not None and not os.environ.get(_IN_WORKER):
            for _ in range(self._max_workers):
                executor.submit(_nothing)
        return runner
