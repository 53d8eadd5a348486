"""A progress bar for long runs in a terminal: documents done, rate and time left.

It draws only when standard error is a terminal; in CI, in logs and under a
Prefect worker it is silent, so nothing is printed that nobody can see.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Advance(Protocol):
    def __call__(self, documents: int) -> None: ...


# Whether the flow draws its bar (on a terminal only): ``taizhang run`` sets it, since the flow
# runs in its process. Not a flow parameter: a deployment's run has no terminal to draw on.
SHOW = False


@contextmanager
def document_progress(total: int, enabled: bool | None = None) -> Iterator[Advance]:
    """Yield ``advance(n)``; show a bar of ``total`` documents when stderr is a terminal."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show or total == 0:
        yield lambda documents: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("extracting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("documents · {task.fields[rate]} docs/s ·"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("extract", total=total, rate="–")

        def advance(documents: int) -> None:
            bar.advance(task, documents)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:.1f}" if speed else "–")

        yield advance
