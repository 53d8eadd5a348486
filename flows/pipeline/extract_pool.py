"""Extraction in worker processes, under the run's memory ceiling.

Why processes: a document whose extraction runs away (a quadratic step nobody found yet, a
shape of text nobody tried) must fail alone, with a reason, while the other documents load;
and a cancelled run must stop within seconds. Neither can be done to a thread: a Polars
call cannot be interrupted, and memory a thread took cannot be taken back. A process can be
killed, and its memory is returned at once.

How: the flow opens an ``ExtractPool`` (``opened``) for the run; the ``extract`` task, when it
runs in the flow's process (the default thread runner), hands its batch to an idle worker
(``run``) and waits. Workers are fresh interpreters (``spawn``) that warm up as they start
(Polars, the transforms, jieba's dictionary: 2-4 s, spent while the flow reads its folder),
write the batch's tables as Parquet (``write_batch``) and return the row counts; they die
with the run (``flows.pipeline.lifeline``). At most one worker per core, started only as batches need
them: a run of one batch starts one.

A watchdog samples the resident memory of the run's process tree (this process, the
checker, the workers, the embedded server) every ``SAMPLE_SECONDS``. Above the ceiling it
kills the busy worker that holds the most, and the batch it ran raises
``MemoryCeilingExceeded``; the ``extract`` task then extracts that batch's documents one by one
(``extract_alone``) and reports the one that needs more than the ceiling alone, which the
flow quarantines with the reason. The ceiling is ``TAIZHANG_MEMORY_LIMIT`` or the run's
``memory_limit`` (``4GB``, ``1500MB``, ``40%``), by default half of the machine's memory
(of the container's limit, when that is lower).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import queue
import re
import shutil
import threading
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import polars as pl
import psutil

ENV_VAR = "TAIZHANG_MEMORY_LIMIT"
DEFAULT_SHARE = 0.5  # of the machine's memory: room for the rest of a shared server
SAMPLE_SECONDS = 0.2  # memory grows at most ~0.5 GB in that time (the worst runaway measured: 0.3 GB/s)
log = logging.getLogger(__name__)


class MemoryCeilingExceeded(RuntimeError):
    """A worker was stopped because the run went over its memory ceiling; the message says so."""


class WorkerDied(RuntimeError):
    """A worker process ended while extracting, not killed by the watchdog (a crash, a signal)."""


# ----------------------------------------------------------------------------- the ceiling


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's limit if lower."""
    total = int(psutil.virtual_memory().total)
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            text = Path(limit_file).read_text().strip()
            if text.isdigit():
                total = min(total, int(text))
    return total


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|[kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_memory(spec: str) -> int:
    """``4GB``, ``1500MB``, ``2GiB``, ``40%`` (of ``machine_memory``) or a number of bytes, as bytes.

    Raises:
        ValueError: the text is none of these (the message gives examples).
    """
    m = _SIZE.match(spec)
    if not m:
        raise ValueError(f"memory limit {spec!r}: write it as 4GB, 1500MB or 40% (of the machine's memory)")
    number, unit = float(m.group(1)), (m.group(2) or "").lower()
    if unit == "%":
        if not 0 < number <= 100:
            raise ValueError(f"memory limit {spec!r}: a share of the machine's memory is between 0 and 100%")
        return int(machine_memory() * number / 100)
    base = 1024 ** "bkmgt".index(unit[0]) if "i" in unit else _UNITS[unit.rstrip("b") or unit]
    return int(number * base)


def memory_ceiling(spec: str | None = None) -> int:
    """The run's ceiling in bytes: ``spec``, else ``$TAIZHANG_MEMORY_LIMIT``, else half the memory."""
    text = spec or os.environ.get(ENV_VAR, "")
    return parse_memory(text) if text.strip() else int(machine_memory() * DEFAULT_SHARE)


def human(n: float) -> str:
    """Bytes as a person reads them: 1.9 GB, 640 MB."""
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def tree_rss(root: psutil.Process) -> dict[int, int]:
    """Resident bytes of ``root`` and every process below it, by pid (ended ones left out)."""
    out: dict[int, int] = {}
    with contextlib.suppress(psutil.Error):
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                out[proc.pid] = int(proc.memory_info().rss)
    return out


# ----------------------------------------------------------------------------- one batch


def write_batch(bucket_key: str, documents: pl.DataFrame, out_dir: str) -> dict[str, Any]:
    """Extract one batch and write its tables as Parquet to ``out_dir/<bucket_key>/``.

    The folder appears whole or not at all (written aside, then renamed), so a cached result
    never points at half a batch. The scratch folder's name carries the writer's pid, so that
    a later run can tell the scratch of a killed writer (``clean_staging``).
    """
    from flows.warehouse.tables import EXTRACT_TABLES, extract_documents

    folder = Path(out_dir) / bucket_key
    tables = extract_documents(documents)
    scratch = folder.with_name(f"{bucket_key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    scratch.mkdir(parents=True)
    for name in EXTRACT_TABLES:
        tables[name].write_parquet(scratch / f"{name}.parquet")
    publish_batch(scratch, folder)
    return {
        "dir": str(folder),
        "rows": {name: tables[name].height for name in EXTRACT_TABLES},
        "bytes": int(documents["text"].str.len_bytes().sum() or 0),
        "failed": {},
    }


def publish_batch(scratch: Path, folder: Path) -> None:
    """Rename a batch's scratch folder to its name. Another run may have written the same batch
    (same key: same documents, same code) a moment ago and be loading from it: its complete
    folder is kept as it is, never removed and replaced, and the scratch goes."""
    from flows.warehouse.tables import EXTRACT_TABLES

    try:
        scratch.rename(folder)  # also over an empty folder
        return
    except OSError:
        if all((folder / f"{name}.parquet").is_file() for name in EXTRACT_TABLES):
            shutil.rmtree(scratch, ignore_errors=True)
            return
    shutil.rmtree(folder, ignore_errors=True)  # not a whole batch: replaced
    scratch.rename(folder)


def merge_batches(parts: list[dict[str, Any]], folder: Path, documents: pl.DataFrame) -> dict[str, Any]:
    """One batch folder from the folders of parts of it (``extract_alone``); the parts are removed.

    With no part (every document failed) the folder holds each table with no rows.
    """
    from flows.warehouse.tables import EXTRACT_TABLES, empty_table, merge_org_units

    scratch = folder.with_name(f"{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    scratch.mkdir(parents=True)
    rows = {}
    for name in EXTRACT_TABLES:
        frames = [pl.read_parquet(Path(p["dir"]) / f"{name}.parquet") for p in parts]
        if not frames:
            table = empty_table(name)
        elif name == "dim_org_unit":
            table = merge_org_units(frames)
        else:
            table = pl.concat(frames, how="vertical_relaxed")
        table.write_parquet(scratch / f"{name}.parquet")
        rows[name] = table.height
    publish_batch(scratch, folder)
    for p in parts:
        shutil.rmtree(p["dir"], ignore_errors=True)
    return {"dir": str(folder), "rows": rows, "bytes": int(documents["text"].str.len_bytes().sum() or 0)}


def clean_staging(out_dir: Path) -> list[Path]:
    """Remove the scratch folders (``*.tmp-<pid>-*``) of writers that are no longer alive.

    A run killed while a batch was being written leaves its scratch folder; the next run
    removes it. A scratch folder of a live process (a run going on beside this one) is kept.
    """
    removed = []
    for path in out_dir.glob("*.tmp-*"):
        pid_text = path.name.rpartition(".tmp-")[2].split("-")[0]
        if pid_text.isdigit() and psutil.pid_exists(int(pid_text)) and int(pid_text) != os.getpid():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


# ----------------------------------------------------------------------------- the pool


def _serve(conn: Connection) -> None:  # pragma: no cover - runs in the worker process
    """A worker's life: warm up, then extract the batches it is sent until its pipe closes."""
    from flows.pipeline.lifeline import die_with_parent

    die_with_parent()
    with contextlib.suppress(Exception):  # a failed warm-up is raised again by the first batch
        import flows.warehouse.tables  # noqa: F401 - the transforms
        from flows.warehouse.ledger_reference import load_ledger_reference
        from flows.warehouse.reference import load_reference
        from transforms.metric_phrase import warm_tagger

        warm_tagger(load_reference())
        load_ledger_reference()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", write_batch(*job)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    busy: bool = False
    killed_for: str | None = None


@dataclass
class ExtractPool:
    """Worker processes for ``write_batch`` under a memory ceiling (see the module doc)."""

    workers: int
    ceiling: int
    _idle: queue.SimpleQueue[_Worker] = field(default_factory=queue.SimpleQueue)
    _all: list[_Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._watchdog = threading.Thread(target=self._watch, name="memory-watchdog", daemon=True)
        self._watchdog.start()

    def start_one(self) -> None:
        """Start a worker now, if fewer than ``workers`` are alive (it warms up meanwhile)."""
        with self._lock:
            if len(self._all) >= self.workers:
                return
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=_serve, args=(child,), name="taizhang-extract", daemon=True
            )
            process.start()
            child.close()
            worker = _Worker(process, parent)
            self._all.append(worker)
        self._idle.put(worker)

    def run(self, bucket_key: str, documents: pl.DataFrame, out_dir: str) -> dict[str, Any]:
        """``write_batch`` in a worker; waits for it.

        Raises:
            MemoryCeilingExceeded: the watchdog stopped the worker (the message says why).
            WorkerDied: the worker ended otherwise.
            RuntimeError: the extraction raised (its message and traceback).
        """
        while True:
            if self._stop.is_set():  # closed while this task waited for a worker
                raise RuntimeError("the extract pool is closed: the run is stopping")
            if self._idle.empty():
                self.start_one()
            try:
                worker = self._idle.get(timeout=0.2)
            except queue.Empty:
                continue
            if worker.process.is_alive():
                break
            self._forget(worker)  # ended while idle (killed from outside): take another
            worker.process.join(1)
        worker.busy = True
        try:
            worker.conn.send((bucket_key, documents, out_dir))
            while True:
                if worker.conn.poll(0.1):
                    reply = worker.conn.recv()
                    break
                if not worker.process.is_alive():
                    raise EOFError
        except (EOFError, OSError):
            self._forget(worker)
            worker.process.join(2)  # reaped, not left a zombie
            if worker.killed_for:
                raise MemoryCeilingExceeded(worker.killed_for) from None
            raise WorkerDied(
                f"the extract worker ended while extracting (exit code {worker.process.exitcode})"
            ) from None
        except BaseException:  # a timeout or a cancellation: the batch is abandoned, not left running
            self._forget(worker)
            worker.process.kill()
            worker.process.join(2)
            raise
        worker.busy = False
        self._idle.put(worker)
        if reply[0] == "ok":
            return reply[1]
        raise RuntimeError(f"{reply[1]}\n(in the extract worker)\n{reply[2]}")

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        with contextlib.suppress(Exception):
            worker.conn.close()

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(SAMPLE_SECONDS):
            if not any(w.busy for w in self._all):
                continue  # nothing to stop: no need to read the tree (it scans every process)
            rss = tree_rss(me)
            total = sum(rss.values())
            if total <= self.ceiling:
                continue
            with self._lock:
                busy = [w for w in self._all if w.busy and w.killed_for is None and w.process.pid in rss]
            if not busy:
                continue
            victim = max(busy, key=lambda w: rss[w.process.pid])
            victim.killed_for = (
                f"extraction needed more memory than the run's ceiling of {human(self.ceiling)}: "
                f"its worker held {human(rss[victim.process.pid])} and the run {human(total)} when it was "
                f"stopped (raise the ceiling with --memory-limit or ${ENV_VAR})"
            )
            log.warning("memory ceiling: %s", victim.killed_for)
            with contextlib.suppress(Exception):
                victim.process.kill()

    def shrink(self, keep: int) -> None:
        """Stop idle workers beyond ``keep``: once a run has extracted, their memory (about
        250 MB each, jieba's dictionary and the transforms' caches) is the checks' and the load's."""
        while True:
            with self._lock:
                if len(self._all) <= keep:
                    return
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            self._forget(worker)
            worker.process.kill()
            worker.process.join(2)

    def close(self) -> None:
        """Stop every worker now (a batch being extracted is abandoned)."""
        self._stop.set()
        with self._lock:
            workers, self._all = list(self._all), []
        for w in workers:
            with contextlib.suppress(Exception):
                w.conn.close()
            with contextlib.suppress(Exception):
                w.process.kill()
        for w in workers:
            w.process.join(2)


_shared: ExtractPool | None = None  # kept warm across the runs of one process (tests, a served flow)
_current: ExtractPool | None = None  # the pool of the run going on, while it extracts
_shared_lock = threading.Lock()


def shared(workers: int, ceiling: int) -> ExtractPool:
    """This process's pool, with the given size and ceiling (made, or made again after ``stop``)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._stop.is_set():
            _shared = ExtractPool(workers, ceiling)
        _shared.workers, _shared.ceiling = workers, ceiling
        return _shared


def prestart(ceiling: int) -> None:
    """Start one worker now, so that it warms up while the run starts (``taizhang run``)."""
    from flows.pipeline.runners import cpu_count

    shared(cpu_count(), ceiling).start_one()


def current() -> ExtractPool | None:
    """The pool of the run going on in this process, if any (the extract task uses it)."""
    return _current


# Workers kept after a run's extraction: one, warm for the next run of a long-lived process (a
# test session, an in-process caller); ``taizhang run`` sets 0, since its process ends with the run.
KEEP_WARM = 1


@contextlib.contextmanager
def opened(workers: int, ceiling: int) -> Iterator[ExtractPool]:
    """This process's pool as ``current`` for one run's extraction; ``KEEP_WARM`` workers stay after."""
    global _current
    pool = shared(workers, ceiling)
    _current = pool
    try:
        yield pool
    finally:
        _current = None
        pool.shrink(KEEP_WARM)


def stop() -> None:
    """Kill the pool's workers at once (a run being cancelled; the process's exit)."""
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.close()


atexit.register(stop)
