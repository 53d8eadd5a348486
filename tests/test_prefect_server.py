"""How `taizhang run` starts and ends: the embedded server started early, no teardown at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.pipeline import prefect_server
from tests.conftest import REPO_ROOT

# Launch, import Prefect, adopt, run a flow; print the early server's pid and what the client used.
CHILD = """
from flows.pipeline import prefect_server
server = prefect_server.launch()
from prefect import flow, get_client
adopted = prefect_server.adopt(server)

@flow
def hello() -> int:
    return 42

assert hello() == 42
with get_client(sync_client=True) as client:
    used = str(client.api_url).rstrip("/")
print("RESULT", adopted, server.process.pid, server.api_url, used, flush=True)
"""


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def _run_child(code: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``code`` (a CHILD) with a throw-away Prefect home; its output and its RESULT fields."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=_clean_env(tmp_path / "prefect-home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return out, line.split()[1:]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_the_command_is_the_one_prefect_runs_for_its_embedded_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the copy of Prefect's private command line and environment to the installed Prefect."""
    import prefect.server.api.server as prefect_module

    seen: dict[str, object] = {}

    def record(args: list[str], env: dict[str, str], **_: object) -> None:
        seen.update(args=args, env=env)

    monkeypatch.setattr(prefect_module.subprocess, "Popen", record)
    prefect_module.SubprocessASGIServer(port=8123)._run_uvicorn_command()
    prefect_module.SubprocessASGIServer._instances.pop(8123, None)
    assert seen["args"] == prefect_server.command(8123)
    env = seen["env"]
    assert isinstance(env, dict)
    assert {k: env[k] for k in prefect_server.SERVER_ENV} == prefect_server.SERVER_ENV


def test_a_server_named_in_the_environment_means_nothing_is_launched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert prefect_server.launch() is None
    assert prefect_server.adopt(None) is False


@pytest.mark.slow
def test_the_early_server_is_the_one_a_flow_uses_and_it_stops_at_exit(tmp_path: Path) -> None:
    out, (adopted, pid, api_url, used) = _run_child(CHILD, tmp_path)
    assert adopted == "True"
    assert used == api_url  # the flow's client talked to the early server, not a second one
    assert "Starting temporary server" not in out.stderr  # Prefect did not start its own
    deadline = time.monotonic() + 10
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(int(pid)), "the early server outlived the process that launched it"


@pytest.mark.slow
def test_a_server_that_dies_before_answering_leaves_prefect_to_start_its_own(tmp_path: Path) -> None:
    child = CHILD.replace(
        "from prefect import flow, get_client\n",
        "from prefect import flow, get_client\nserver.process.kill(); server.process.wait()\n",
    )
    out, (adopted, _, api_url, used) = _run_child(child, tmp_path)
    assert adopted == "False"
    assert used != api_url
    assert "Starting temporary server" in out.stderr


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("cli.set_exit_code(3); print('buffered', end='')", 3),
        ("cli.set_exit_code(0); print('buffered', end='')", 0),
        ("print('buffered', end=''); raise SystemExit('uncaught')", 1),
    ],
)
def test_skipping_teardown_keeps_the_exit_code_and_flushes_output(body: str, code: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", f"from flows import cli; cli.skip_teardown_at_exit(); {body}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (out.returncode, out.stdout) == (code, "buffered")


def test_flow_runs_send_no_heartbeats_to_an_embedded_server_only(prefect_harness: None) -> None:
    """An embedded server dies with the process: heartbeats are off; a real server keeps them."""
    from prefect import flow
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    @flow
    def frequency() -> int | None:
        return get_current_settings().flows.heartbeat_frequency

    configured = get_current_settings().flows.heartbeat_frequency
    assert configured is not None
    with prefect_server.without_heartbeats():  # the harness's server is named: a real one
        assert frequency() == configured
    with temporary_settings(restore_defaults={PREFECT_API_URL}), prefect_server.without_heartbeats():
        assert get_current_settings().flows.heartbeat_frequency is None  # embedded
    assert get_current_settings().flows.heartbeat_frequency == configured
