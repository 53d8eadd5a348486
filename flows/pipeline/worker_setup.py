"""How this process sets itself up before a task runner starts worker processes from it.

Shared by the process runner (``flows.pipeline.runners``) and the Dask runner
(``flows.pipeline.dask_runner``), which both import it; it imports neither.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from typing import Any


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask, which a container may narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def open_for_workers(stack: ExitStack, workers: int, extra_env: dict[str, str] | None = None) -> None:
    """Set up this process so that worker processes started from it work like the flow.

    - ``PREFECT_API_URL`` names the API this process talks to (see ``flows.pipeline.runners``).
      This is called when a flow run opens its task runner, after the flow created its run
      through the API: with no URL set that started the embedded server, and
      ``SubprocessASGIServer()`` returns that same running server.
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


class WorkerSetup:
    """Opens ``_prepare``'s settings before the runner starts its workers, and undoes them after.

    A mix-in, first in a task runner's bases: ``class R(WorkerSetup, SomeTaskRunner)``.
    """

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
