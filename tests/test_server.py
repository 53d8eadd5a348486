"""End to end the way operators run it: a real ``prefect server``, ``taizhang serve``, the REST API.

The test starts ``prefect server start`` on a free port of 127.0.0.1 with a throw-away
``PREFECT_HOME``, starts ``taizhang serve`` against it, finds both deployments through the
API (schedule, parameter schema with descriptions), starts the on-demand one exactly as the
UI's run form does, waits for Completed, then checks the warehouse and the run's artifacts.

Every process it starts is stopped in the fixture's ``finally``: ``serve`` first (SIGINT, as
Ctrl-C; a ``serve`` left running after its server is gone hangs), then the server's process
group; then ``ps`` must show none of them left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.conftest import SEEDS_RAW

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent  # the venv's bin: `prefect` and `taizhang` sit beside python
CRON = "0 6 * * *"
SERVER_START_TIMEOUT = 120.0
DEPLOYMENTS_TIMEOUT = 90.0
RUN_TIMEOUT = 240.0
STOP_TIMEOUT = 30.0
PARAMETERS = ("input_dir", "warehouse_path", "full_refresh", "stages")


@dataclass
class Stack:
    """A running server and ``serve`` process, and where their files are."""

    api: str
    tmp: Path
    env: dict[str, str]
    server: subprocess.Popen[bytes]
    server_log: Path
    serve: subprocess.Popen[bytes] | None = None
    serve_log: Path | None = None

    def logs(self) -> str:
        """The tail of both processes' output, for failure messages."""
        parts = []
        for name, log in (("prefect server", self.server_log), ("taizhang serve", self.serve_log)):
            if log is not None and log.exists():
                text = log.read_text(encoding="utf-8", errors="replace")
                parts.append(f"--- {name} ({log}) ---\n{text[-4000:]}")
        return "\n".join(parts)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(prefect_home: Path, api: str) -> dict[str, str]:
    """This process's environment without any Prefect settings, plus a private server's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.pop("TAIZHANG_WAREHOUSE", None)
    env.update(
        {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_API_URL": api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start a command in its own process group (session), output to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_for(what: str, check: Callable[[], Any], timeout: float, stack: Stack, interval: float = 1.0) -> Any:
    """Call ``check`` until it returns something truthy; fail if a child died or time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        for name, proc in (("prefect server", stack.server), ("taizhang serve", stack.serve)):
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"{name} exited ({proc.returncode}) while waiting for {what}\n{stack.logs()}")
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{stack.logs()}")
        time.sleep(interval)


def process_table() -> dict[int, tuple[int, int, str]]:
    """``pid -> (ppid, pgid, command line)`` of every live (not zombie) process, from ``ps``."""
    out = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,pgid=,stat=,args="], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    table = {}
    for line in out.splitlines():
        pid, ppid, pgid, stat, *args = line.split(None, 4)
        if not stat.startswith("Z"):
            table[int(pid)] = (int(ppid), int(pgid), args[0] if args else "")
    return table


def descendants(roots: set[int]) -> set[int]:
    """The given processes and every live process below them."""
    table = process_table()
    found, frontier = set(roots), list(roots)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _, _) in table.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group."""
    return [pid for pid, (_, group, _) in process_table().items() if group == pgid]


def stop(proc: subprocess.Popen[bytes], first: signal.Signals) -> bool:
    """Signal a process and wait; then SIGTERM, at last SIGKILL, whatever is left of its group.

    True if the process ended within ``STOP_TIMEOUT`` of the first signal.
    """
    if proc.poll() is None:
        proc.send_signal(first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT)
    clean = proc.poll() is not None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None and not group_members(proc.pid):
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (proc.poll() is None or group_members(proc.pid)):
            time.sleep(0.2)
    proc.wait(timeout=5)
    return clean


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A private ``prefect server`` and ``taizhang serve``; both stopped, in that order, afterwards."""
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = child_env(tmp / "prefect-home", api)
    (tmp / "prefect-home").mkdir()
    (tmp / "inbox").mkdir()
    server = start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        tmp,
        tmp / "server.log",
    )
    running = Stack(api=api, tmp=tmp, env=env, server=server, server_log=tmp / "server.log")
    ours: set[int] = {server.pid}
    try:
        wait_for(
            "the server's /api/health",
            lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200,
            SERVER_START_TIMEOUT,
            running,
        )
        running.serve_log = tmp / "serve.log"
        running.serve = start(
            [
                str(BIN / "taizhang"),
                "serve",
                "--inbox",
                str(tmp / "inbox"),
                "--warehouse",
                str(tmp / "wh.duckdb"),
                "--cron",
                CRON,
            ],
            env,
            tmp,
            running.serve_log,
        )
        ours.add(running.serve.pid)
        yield running
    finally:
        ours |= descendants(ours)
        problems = []
        try:
            # serve first: stopped after its server is gone, it hangs (and SIGINT is Ctrl-C).
            if running.serve is not None and not stop(running.serve, signal.SIGINT):
                problems.append(f"taizhang serve did not exit within {STOP_TIMEOUT:.0f} s of SIGINT")
        finally:
            stop(server, signal.SIGTERM)
        left = {pid: cmd for pid, (_, pgid, cmd) in process_table().items() if pid in ours or pgid in ours}
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if left:
            problems.append(f"processes left running after teardown: {left}")
        assert not problems, "\n".join([*problems, running.logs()])


def read_deployments(stack: Stack) -> dict[str, dict[str, Any]]:
    """Deployments of the ``etl`` flow by name, through ``POST /deployments/filter``."""
    response = httpx.post(
        f"{stack.api}/deployments/filter",
        json={"flows": {"name": {"any_": ["etl"]}}},
        timeout=10,
    )
    response.raise_for_status()
    return {d["name"]: d for d in response.json()}


def test_serve_registers_a_scheduled_and_an_on_demand_deployment_with_a_described_form(
    stack: Stack,
) -> None:
    """Both deployments exist; the scheduled one has the cron; the run form describes each parameter."""

    def both() -> dict[str, dict[str, Any]] | None:
        found = read_deployments(stack)
        return found if {"inbox-scheduled", "on-demand"} <= set(found) else None

    found = wait_for("both deployments", both, DEPLOYMENTS_TIMEOUT, stack)
    scheduled, on_demand = found["inbox-scheduled"], found["on-demand"]

    crons = [s["schedule"].get("cron") for s in scheduled["schedules"] if s["active"]]
    assert crons == [CRON]
    response = httpx.get(f"{stack.api}/deployments/{scheduled['id']}/schedules", timeout=10)
    response.raise_for_status()
    assert [s["schedule"]["cron"] for s in response.json()] == [CRON]
    assert [s["schedule"].get("timezone") for s in response.json()] == ["Asia/Shanghai"]
    assert scheduled["parameters"]["input_dir"] == str((stack.tmp / "inbox").resolve())
    assert not on_demand["schedules"]

    for deployment in (scheduled, on_demand):
        properties = deployment["parameter_openapi_schema"]["properties"]
        assert set(PARAMETERS) <= set(properties), properties
        for name in PARAMETERS:
            assert properties[name].get("description"), f"{deployment['name']}: {name} has no description"
    assert on_demand["parameters"]["warehouse_path"] == str(stack.tmp / "wh.duckdb")


def test_an_on_demand_run_started_like_the_ui_completes_loads_the_warehouse_and_leaves_artifacts(
    stack: Stack,
) -> None:
    """Create a run as the UI's run form does, wait for Completed, check rows and artifacts."""
    found = wait_for(
        "the on-demand deployment",
        lambda: read_deployments(stack).get("on-demand"),
        DEPLOYMENTS_TIMEOUT,
        stack,
    )
    inbox = stack.tmp / "raw"
    if not inbox.exists():
        shutil.copytree(SEEDS_RAW, inbox)
    target = stack.tmp / "ondemand.duckdb"

    # What the UI's "Custom run" form posts: the deployment's parameters with the edits on top.
    body = {
        "state": {"type": "SCHEDULED", "message": "Run from the Prefect UI"},
        "parameters": {
            **found["parameters"],
            "input_dir": str(inbox),
            "warehouse_path": str(target),
            "full_refresh": False,
        },
        "enforce_parameter_schema": found["enforce_parameter_schema"],
    }
    url = f"{stack.api}/deployments/{found['id']}/create_flow_run"
    response = httpx.post(url, json=body, timeout=10)
    for _ in range(5):  # 503: the server's SQLite is busy (the scheduled run writes too); retry
        if response.status_code != 503:
            break
        time.sleep(2)
        response = httpx.post(url, json=body, timeout=10)
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]

    def finished() -> dict[str, Any] | None:
        run = httpx.get(f"{stack.api}/flow_runs/{run_id}", timeout=10).json()
        state = run.get("state") or {}
        if state.get("type") in {"FAILED", "CRASHED", "CANCELLED"}:
            pytest.fail(f"flow run ended {state['type']}: {state.get('message')}\n{stack.logs()}")
        return run if state.get("type") == "COMPLETED" else None

    run = wait_for("the on-demand flow run to complete", finished, RUN_TIMEOUT, stack, interval=2.0)
    assert run["name"].startswith("etl-raw-")
    assert run["parameters"]["input_dir"] == str(inbox)

    with duckdb.connect(str(target), read_only=True) as con:
        documents = con.execute("SELECT count(*) FROM stg_documents").fetchone()
        facts = con.execute("SELECT doc, start_char, text FROM fct_metric").fetchall()
    assert documents is not None and documents[0] == 5
    # The served run wrote the facts the seeds give when this process builds them.
    from flows.pipeline.etl import build_tables
    from flows.warehouse.ingest import read_folder

    built = build_tables(read_folder(SEEDS_RAW)[0])["fct_metric"].select("doc", "start_char", "text")
    assert sorted(facts) == sorted(built.iter_rows())

    response = httpx.post(
        f"{stack.api}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [run_id]}}},
        timeout=10,
    )
    response.raise_for_status()
    by_key = {a["key"]: a for a in response.json()}
    assert {"etl-summary", "etl-problems"} <= set(by_key), sorted(by_key, key=str)
    assert by_key["etl-summary"]["type"] == "table"
    assert by_key["etl-problems"]["type"] == "markdown"
