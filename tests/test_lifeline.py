"""A child that watches its parent leaves when the parent is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

# The parent starts a spawn child that calls die_with_parent, prints the child's pid, then sleeps.
PARENT = textwrap.dedent(
    """
    import multiprocessing, sys, time

    def child(watch):
        if watch:
            from flows.pipeline.lifeline import die_with_parent
            die_with_parent()
        time.sleep(120)

    if __name__ == "__main__":
        p = multiprocessing.get_context("spawn").Process(target=child, args=(sys.argv[1] == "watch",))
        p.start()
        print(p.pid, flush=True)
        time.sleep(120)
    """
)


def _orphan_alive_after_kill(tmp_path, mode: str) -> bool:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    parent = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE, text=True, env=env)
    child = psutil.Process(int(parent.stdout.readline()))  # type: ignore[union-attr]
    time.sleep(1.0)  # the child has imported flows.pipeline.lifeline and is watching
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    try:
        child.wait(timeout=5)
        return False
    except psutil.TimeoutExpired:
        child.kill()
        return True


def test_a_watching_child_exits_when_its_parent_is_killed(tmp_path) -> None:
    assert not _orphan_alive_after_kill(tmp_path, "watch")


def test_an_unwatched_child_outlives_a_killed_parent(tmp_path) -> None:
    """The control: without the watch the child stays, re-parented to init (what the issue saw)."""
    assert _orphan_alive_after_kill(tmp_path, "plain")


def test_the_main_process_has_no_parent_to_watch() -> None:
    from flows.pipeline.lifeline import die_with_parent

    assert die_with_parent() is False
