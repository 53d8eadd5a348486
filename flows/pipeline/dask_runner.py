"""The Dask task runner (``--runner dask`` or a scheduler address), in a module of its own.

It is imported only when a run asks for Dask: prefect-dask imports Dask's ``distributed``
(0.7 s), which a run on threads or processes has no use for. ``flows.pipeline.runners`` builds it.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack

from prefect_dask import DaskTaskRunner

from flows.pipeline.worker_setup import WorkerSetup, cpu_count, open_for_workers


class DaskRunner(WorkerSetup, DaskTaskRunner):
    """prefect-dask's runner, set up for its workers (``open_for_workers``), Dask's logs quiet.

    A LocalCluster logs a dozen INFO lines per worker at start and stop, which Prefect's
    console handler prints. Its scheduler and nannies run in this process, whose
    ``distributed`` logger is turned down while the runner is open; its workers are new
    processes, which take their level from ``DASK_LOGGING__DISTRIBUTED`` when they start.
    The environment reaches only a LocalCluster's workers: a remote cluster keeps its own.
    """

    def _prepare(self, stack: ExitStack) -> None:
        from prefect.settings import PREFECT_API_URL

        if self.address and not PREFECT_API_URL.value():
            self.logger.warning(
                "PREFECT_API_URL is not set: the Dask workers at %s report task runs to this "
                "machine's embedded Prefect server, which only workers on this machine can reach",
                self.address,
            )
        workers = int(self.cluster_kwargs.get("n_workers") or cpu_count())
        open_for_workers(stack, workers, {"DASK_LOGGING__DISTRIBUTED": "warning"})
        quiet = logging.getLogger("distributed")
        stack.callback(quiet.setLevel, quiet.level)
        quiet.setLevel(logging.WARNING)
