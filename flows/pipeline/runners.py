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

import importlib
import logging
import os
from contextlib import ExitStack
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from flows.pipeline.worker_setup import WorkerSetup, cpu_count, open_for_workers

ENV_VAR = "TAIZHANG_TASK_RUNNER"
DEFAULT_SPEC = "threads"
SPECS = ("threads", "sequential", "processes", "dask", "dask://host:port", "tcp://host:port")
_ADDRESS_SCHEMES = ("dask", "tcp", "tls")


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
    share of the cores, see ``flows.pipeline.worker_setup``). ``:0`` puts the
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


_IN_WORKER = "TAIZHANG_POOL_WORKER"  # set in pool workers: see ProcessTaskRunner.__enter__
# Modules every pool worker imports as it starts (``warm_worker``). The flow's module adds
# itself when it is imported (``flows.pipeline.etl``: unpickling its tasks, and the flow run
# context, imports it in the worker anyway). It names itself here, rather than being imported
# by this module, because it imports this module: the dependency goes one way.
WORKER_IMPORTS: list[str] = []


def import_in_workers(module: str) -> None:
    """Have the process runner's workers import ``module`` as they start (see ``WORKER_IMPORTS``)."""
    if module not in WORKER_IMPORTS:
        WORKER_IMPORTS.append(module)


def warm_worker(*modules: str) -> None:
    """Each pool worker's initializer: import the flow's module (``modules``) and load jieba's dictionary.

    That is 2-4 s per fresh interpreter, which the first extract task would otherwise pay.
    A failure is left for that task to raise, where Prefect reports it: an initializer that
    raised would break the whole pool.
    """
    os.environ[_IN_WORKER] = "1"
    from flows.pipeline.lifeline import die_with_parent

    die_with_parent()  # a killed run must not leave its workers behind
    try:
        import jieba

        for module in modules:  # what unpickling the extract task imports anyway
            importlib.import_module(module)
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


class ProcessTaskRunner(WorkerSetup, ProcessPoolTaskRunner):
    """Prefect's process pool, set up for its workers (``open_for_workers``), started early.

    A process pool starts a worker only when a task is submitted, and a fresh worker spends
    2-4 s importing before its first task. The flow opens its task runner as the run starts,
    so this one starts every worker then (``warm_worker``), and their start-up overlaps with
    the flow reading the input folder.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers=max_workers, initializer=warm_worker)

    def _prepare(self, stack: ExitStack) -> None:
        open_for_workers(stack, self._max_workers)

    def __enter__(self) -> Any:
        self._initargs = tuple(WORKER_IMPORTS)  # the modules known now: the flow's, once imported
        runner = super().__enter__()
        executor = getattr(self, "_executor", None)  # Prefect's ProcessPoolExecutor, once entered
        # A task running in a worker enters a copy of the flow's runner too (Prefect rebuilds
        # the flow run's context there); that copy runs nothing, so it must start no workers.
        if executor is not None and not os.environ.get(_IN_WORKER):
            for _ in range(self._max_workers):
                executor.submit(_nothing)
        return runner
