"""Extract batches shared between runs: which batch folders a run still needs (issue 29).

The extract tasks write each batch to ``<staging>/<batch key>/``, named by content (the
documents and the code version, ``etl.batches``), so that a run that failed after extracting
finds its batches again when re-run, and two runs over the same documents share them. A run
removes the batches it loaded once its load has committed, and the batches older than itself
(``etl.clean_staging``). Two runs at once on one warehouse used to break on that: the run that
loaded first deleted the batch folder the other was about to load (``IO Error: No files found
that match the pattern …/stg_documents.parquet``).

So each run holds a *lease* on the batches it uses: a file ``<staging>/.lease-<pid>-<random>``
listing their keys, ``flock``-ed by the run for as long as it lives. A run cleaning up removes
no folder that another live run's lease names. The kernel drops the ``flock`` when a process
dies, so the lease of a killed run holds nothing: the next run's clean-up removes it and, as
before, the batches the killed run left. Taking a batch into a lease and cleaning up both
happen under an ``flock`` on the staging folder itself, so a run never learns of a batch
between another run's look at the leases and its removal of the folders: a batch taken
before the clean-up looked is kept; one taken after finds its folder gone and is extracted
again (``etl.extract_batches``' ``runner``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

_PREFIX = ".lease-"
# The leases this process holds, released when its runs end (or fail: the flow's hooks).
_held: list[Lease] = []


@contextmanager
def _guard(staging: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the staging folder: leases are read and written under it."""
    fd = os.open(staging, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Lease:
    """A run's hold on the batch folders it uses in a shared staging folder."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self.path = staging / f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.keys: set[str] = set()
        with _guard(staging):  # nobody sees the file before it is locked (``held_by_others``)
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # held until released, or until this process dies
        _held.append(self)

    def hold(self, key: str) -> None:
        """Name ``key`` in the lease before its folder is looked at, used or written."""
        if self._fd is None or key in self.keys:
            return
        with _guard(self.staging):
            os.write(self._fd, f"{key}\n".encode())
        self.keys.add(key)

    def release(self) -> None:
        """Drop the lease: the batches it named may now be removed by whoever cleans up."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        with contextlib.suppress(ValueError):
            _held.remove(self)


def release_all() -> None:
    """Release every lease this process holds (a run's end, or a flow hook after a failure)."""
    for lease in list(_held):
        lease.release()


def held_by_others(staging: Path, mine: Lease | None = None) -> set[str]:
    """The batch keys other live runs' leases name; leases of dead runs are removed. Call it
    under ``_guard``."""
    keys: set[str] = set()
    for path in staging.glob(f"{_PREFIX}*"):
        if mine is not None and path == mine.path:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # its run is alive: it still needs these
                keys.update(os.pread(fd, 1 << 20, 0).decode(errors="replace").split())
                continue
            with contextlib.suppress(OSError):  # its run is gone
                path.unlink()
        finally:
            os.close(fd)
    return keys


def _needed(name: str, keys: set[str]) -> bool:
    """Whether a folder is a held batch, or a part of one (``<key>.part<i>``, ``<key>.tmp-…``)."""
    return name.split(".", 1)[0] in keys


def remove_batches(staging: Path, folders: Iterable[Path], mine: Lease | None = None) -> list[Path]:
    """Remove ``folders`` of ``staging`` that no other live run's lease names; return those removed."""
    removed = []
    with _guard(staging):
        keep = held_by_others(staging, mine)
        for folder in folders:
            if _needed(folder.name, keep):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
