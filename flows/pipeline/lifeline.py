"""Child processes that die with their parent, however the parent dies.

A process started with ``multiprocessing`` (the checker, the process runner's workers, the
extract workers) outlives a parent killed with SIGKILL or by the kernel's OOM killer: it is
re-parented to init and stays, holding its memory (measured: six killed runs left six
checkers of about 340 MB each). ``atexit`` handlers and ``daemon=True`` only help when the
parent exits normally.

``die_with_parent`` makes the child watch its parent instead: ``multiprocessing`` gives every
child the read end of a pipe whose write end only the parent holds
(``multiprocessing.parent_process().sentinel``), and that end becomes readable when the
parent's process ends, whatever ended it. A daemon thread waits on it and leaves at once.
This is a watchdog on a pipe, not ``PR_SET_PDEATHSIG``: that signal follows the parent
*thread* that started the child (a pool's worker may be started from a task's thread that
ends long before the run), and exists only on Linux. Dask's local workers have the same
watchdog built in (``distributed.process``); Prefect's embedded server is started by
``flows.pipeline.prefect_server`` with ``PR_SET_PDEATHSIG`` from the main thread.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading

EXIT_CODE = 70  # what an orphaned child exits with (EX_SOFTWARE): its parent is gone


def die_with_parent() -> bool:
    """In a ``multiprocessing`` child: exit as soon as the parent process ends.

    Returns whether a watch was started (False in a process that no ``multiprocessing``
    parent started, such as the main process).
    """
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is None:
        return False

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(EXIT_CODE)  # no clean-up: there is nobody left to hand anything to

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
    # Ctrl-C on a terminal signals the whole process group: the parent decides what stops
    # (``flows.pipeline.stopping``), and a child interrupted on its own would only print a traceback.
    with contextlib.suppress(ValueError):  # not the child's main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return True
