"""Prefect's embedded server, started as ``taizhang run`` starts instead of when the flow first needs it.

Without ``PREFECT_API_URL``, Prefect runs a flow against a temporary server of its own: the
first time the flow's client needs the API, ``SubprocessASGIServer`` (a singleton) starts
``python -m uvicorn --factory prefect.server.api.server:create_app`` on a free port of
127.0.0.1, waits for ``/api/health`` and stops it at exit. That start takes 6-13 s, and the
flow's process only gets to it after importing Prefect and the flow (about 6 s) and then
Prefect's server module (2-3 s, in the flow's process too): measured on this 2-core machine,
an empty folder's run only began 19-20 s after the command started.

``launch`` starts that same server process (the same command and environment, so the same
server) as the command starts, before anything heavy is imported; ``adopt`` waits for it to
answer and hands it to Prefect's singleton just before the flow runs, so the flow's client
finds it running and uses it: it is still Prefect's embedded mode, begun earlier. Its start
overlaps the imports. Measured on an empty folder: 29-32 s before, 23-24 s after.

Whenever the early server is not the one Prefect would use, it is stopped and Prefect is left
to do what it does without it: a ``PREFECT_API_URL`` in the environment (nothing is
launched) or in the active profile (seen once Prefect is imported), a server that exits or
does not answer in time (Prefect then starts its own, and reports its own error), or a
singleton that is already running. The process is stopped at exit, after Prefect's log and
event workers have drained (its handler is registered before Prefect's), and on Linux it is
also told to stop if the command dies without running its exit handlers.

Sensitive to the pinned Prefect (3.8): the command line and environment are Prefect's
``SubprocessASGIServer._run_uvicorn_command``, and ``adopt`` sets the singleton's ``port``,
``server_process`` and ``running``. ``tests/test_prefect_server.py`` pins both.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What Prefect's SubprocessASGIServer adds to the environment of its server process.
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
DEFAULT_TIMEOUT = 120.0  # seconds; PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS when set


@dataclass
class EarlyServer:
    """A server process started by ``launch``."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def stop(self) -> None:
        """Terminate the process (kill it after 5 s), unless it has ended."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Linux: SIGTERM the server when the process that launched it dies (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def command(port: int) -> list[str]:
    """The command line of Prefect's embedded server (``SubprocessASGIServer._run_uvicorn_command``)."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("prefect")
    app_dir = str(Path(spec.origin).parent.parent)
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        app_dir,
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]


def launch() -> EarlyServer | None:
    """Start Prefect's embedded server process now; None when the environment names a server.

    Call it before importing Prefect: its exit handler then runs after Prefect's own.
    Never raises: a server that cannot be started is left for Prefect to start.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    try:
        port = _free_port()
        process = subprocess.Popen(
            command(port),
            env={**os.environ, **SERVER_ENV},
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            # Its own process group: Ctrl-C on the terminal reaches the run, which records its
            # cancellation through this server before stopping it.
            process_group=0,
        )
    except (OSError, ModuleNotFoundError):
        return None
    server = EarlyServer(process, port)
    atexit.register(server.stop)
    return server


def _healthy(server: EarlyServer, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:  # it exited: a port taken meanwhile, a broken database
            return False
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{server.api_url}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return True
        time.sleep(0.1)
    return False


def adopt(server: EarlyServer | None) -> bool:
    """Wait for the early server and make it Prefect's embedded server; True if it now is.

    Call it after importing Prefect and before the flow runs. When it returns False the
    early server has been stopped and Prefect starts its own when the flow needs it (or uses
    the server its settings name).
    """
    if server is None:
        return False
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():  # the active profile names a server: the flow will use that one
        server.stop()
        return False
    # Prefect's server module (2-3 s to import here) while the server itself is still starting.
    from prefect.server.api.server import SubprocessASGIServer

    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT)
    if not _healthy(server, timeout):
        server.stop()
        return False
    embedded = SubprocessASGIServer()  # the singleton the flow's client asks for
    if embedded.running:
        server.stop()
        return False
    embedded.port = server.port
    embedded.server_process = server.process
    embedded.running = True
    return True


@contextlib.contextmanager
def without_heartbeats() -> Iterator[None]:
    """Turn Prefect's flow-run heartbeats off inside the block when the server is embedded.

    Embedded: no ``PREFECT_API_URL`` names a server (``launch``/``adopt``, or Prefect's own
    temporary server). A heartbeat tells a server that a run's process is alive, so that it
    can mark the runs of a process that died as crashed. An embedded server lives and dies with
    this process, so no one could ever read one; but Prefect 3.8's heartbeat thread sleeps in
    steps of one second and the flow engine joins it as the run ends, which added 0.4-0.9 s to
    the end of every run (measured on an empty folder's run and on 100 MB). With a real server
    heartbeats stay as configured.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    updates = {} if PREFECT_API_URL.value() else {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(updates):
        yield
