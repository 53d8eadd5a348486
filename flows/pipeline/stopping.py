"""Stopping a run on SIGTERM or SIGINT: within seconds, the warehouse as it was, recorded as cancelled.

SIGTERM is what a container runtime, systemd and Prefect's cancellation send; SIGINT is
Ctrl-C. Python's defaults are to die at once (SIGTERM: no record of the run, Prefect shows it
running for ever) or to raise ``KeyboardInterrupt`` and then wait for every thread, an
extract batch in the middle of a Polars call included (measured: 16 s).

``install`` (``taizhang run`` calls it first) makes either signal:

1. kill the extract workers and the checker process at once (``flows.pipeline.extract_pool``,
   ``flows.quality.checker``): the threads waiting for them return, and nothing keeps working for
   a run that is over;
2. raise ``RunStopped`` in the main thread, where the flow runs: the flow unwinds, and a
   load that has not committed stops before its commit (it writes a copy of the warehouse,
   which the next load removes), so the warehouse is as it was;
3. arm a backstop: if the process has not ended ``GRACE_SECONDS`` later (a thread stuck in
   native code), it records the cancellation and leaves with ``os._exit``.

``record_cancelled`` then sets the Prefect flow run's state to Cancelled with the signal's
name (Prefect's own handling marks it Crashed), and the command exits with 128 + the
signal's number, as a shell reports a process ended by it. A second signal while stopping
leaves at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType

GRACE_SECONDS = 7.0  # the issue allows 10 s from the signal to the end of the process

_flow_run_id: str | None = None
_stopping: signal.Signals | None = None
_recorded = threading.Lock()


class RunStopped(BaseException):
    """The run was stopped by a signal (raised in the main thread by ``install``'s handler)."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum)
        super().__init__(f"stopped by {self.signal.name}")


def note_flow_run(flow_run_id: object) -> None:
    """The flow run going on in this process (``etl`` tells it), for ``record_cancelled``."""
    global _flow_run_id
    _flow_run_id = str(flow_run_id) if flow_run_id else None


_installed = False


def install() -> None:
    """Handle SIGTERM and SIGINT as the module doc says (main thread only; a no-op elsewhere)."""
    global _installed
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    _installed = True


def take_over() -> None:
    """In the flow: handle SIGTERM here again, if ``install`` was called in this process.

    Prefect's flow engine puts its own SIGTERM handler in place while the flow runs; it
    raises an exception that unwinds the flow first and reaches ours only after Prefect's task
    runner has waited for every extract thread, i.e. for the batches in the workers. Ours
    kills the workers first. A flow run that Prefect's runner started (a deployment) keeps
    Prefect's handler: cancelling from the UI is then Prefect's own (state Cancelled).
    """
    if _installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _stopping
    if _stopping is not None:  # a second signal: leave now
        os._exit(128 + signum)
    _stopping = signal.Signals(signum)
    print(f"\n{_stopping.name}: stopping the run (the warehouse is left as it was) …", file=sys.stderr)
    stop_children()
    backstop = threading.Timer(GRACE_SECONDS, _leave, args=(signum,))
    backstop.daemon = True
    backstop.start()
    raise RunStopped(signum)


def stop_children() -> None:
    """Kill the extract workers and the checker process of this process's run, now."""
    from flows.pipeline import extract_pool
    from flows.quality import checker

    with contextlib.suppress(Exception):
        extract_pool.stop()
    with contextlib.suppress(Exception):
        checker.kill()


def stopping() -> signal.Signals | None:
    """The signal that is stopping this process's run, if one is."""
    return _stopping


def record_cancelled(signum: int) -> bool:
    """Set the flow run's state to Cancelled, naming the signal; True if it was recorded."""
    if _flow_run_id is None or not _recorded.acquire(blocking=False):
        return False
    try:
        from prefect.client.orchestration import get_client
        from prefect.states import Cancelled

        name = signal.Signals(signum).name
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(
                _flow_run_id,
                Cancelled(message=f"cancelled by {name}: the run stopped, the warehouse was not changed"),
                force=True,
            )
        return True
    except Exception as exc:  # the server may be gone already: the exit code still says it
        print(f"could not record the cancellation in Prefect: {exc}", file=sys.stderr)
        return False


def _leave(signum: int) -> None:
    """The backstop: the run did not end in time after the signal."""
    print(f"the run did not stop within {GRACE_SECONDS:.0f} s of the signal: leaving now", file=sys.stderr)
    record_cancelled(signum)
    with contextlib.suppress(Exception):
        sys.stderr.flush()
        sys.stdout.flush()
    os._exit(128 + signum)
