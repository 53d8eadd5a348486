"""Benchmark the taizhang pipeline on real reports and on a synthetic corpus built from the seeds.

    .venv/bin/python benchmarks/bench.py --mb 100 [--corpus DIR] [--runner processes|dask|threads]
        [--also-mb 200] [--work /tmp/taizhang-bench] [--keep]

With ``--corpus DIR`` (by default ``../shared/corpus/work-reports/`` beside the repository,
when that folder exists: 96 real government work reports, 4.7 MB, no text repeated; ``--corpus ''``
skips it) the script first measures that folder, lines prefixed ``real``: the bare bound, the
empty-folder run, ``taizhang run`` end to end (MB/s with start-up included, and net of
start-up: the median empty-folder run of the same invocation subtracted), peak RSS of all the
run's processes, and ``taizhang extract`` alone on the folder (one process: no Prefect, no
workers; MB/s with its start-up included, and its peak RSS). These are the figures to plan a real
archive with. The empty-folder run (step 5 below) comes first, shared by both corpora.

The synthetic corpus stays for scale and memory figures (``--mb 0`` skips it); for it, the
script prints one line per figure:

1. A deterministic corpus of about ``--mb`` MB of UTF-8 text is built from the
   seeds: their paragraphs recombined into new documents, with the figures in them
   perturbed and new file names.
2. A bare lower bound is timed: reading and decoding every file, plus one Polars
   regex scan for digits.
3. The full flow is run (`taizhang run`, embedded Prefect, in a child process so
   that peak RSS is its own). The script reports the wall seconds per stage,
   MB/s, characters/s, facts/s, peak RSS (the flow's process, its task-runner
   workers, its checker process and the embedded server, summed, sampled every
   0.1 s), CPU seconds per process (the flow's, the checker's and any worker
   processes', the server's), and the run's time as a multiple of the bound. The
   checks run in the checker process while extracting (``flows.quality.checker``): stage
   ``extract`` is the time until the last batch is extracted, checks of the earlier
   chunks included, and ``validate`` only what is left after it (the last chunk,
   the small tables held until then, the data docs). CPU seconds over cores is what
   the run would take were every core busy all the time; the gap to the wall time is
   what runs on one core alone (start-up, the last checks, the load).
4. The same run is repeated with nothing changed, and then with 1% of the files
   changed.
5. Runs on an empty folder measure the fixed start-up (after one warm-up run, since
   a fresh Prefect home migrates its database on first use): the median of
   ``--startup-runs`` (3) runs, each printed.
6. With ``--also-mb``, a second corpus of that size gets a full run into a fresh
   warehouse, and the growth of peak RSS between the two sizes is printed.

Mind what the synthetic corpus is: paragraphs of five reports, recombined. Phrases
repeat far more than in a real archive, so the extractor's memory of tagged windows
(``transforms.metric_phrase``) hits far more often; the script also prints the
extractor's speed on the seeds themselves, distinct text and a cold memory, which is
the figure to plan a real archive with.

This is a script, not a test: tests assert behaviour, this prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil  # comes with distributed (prefect-dask); sums the RSS of the flow and its workers

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds" / "raw"
REAL = REPO.parent / "shared" / "corpus" / "work-reports"  # 96 real work reports, when present
DIGIT = re.compile(r"[0-9]")


def build_corpus(out: Path, mb: float, seed: int = 20261123) -> tuple[int, int]:
    """Write about ``mb`` MB of documents to ``out``; return (files, bytes). Deterministic."""
    rng = random.Random(seed)
    paragraphs = [
        p for f in sorted(SEEDS.glob("*.txt")) for p in f.read_text(encoding="utf-8").split("\n") if p.strip()
    ]
    heads = [p for p in paragraphs if len(p) < 60]
    bodies = [p for p in paragraphs if len(p) >= 60]
    out.mkdir(parents=True, exist_ok=True)
    target, total, n = int(mb * 1_000_000), 0, 0
    while total < target:
        parts = [rng.choice(heads)]
        size = rng.randint(8_000, 40_000)
        while sum(len(p.encode()) for p in parts) < size:
            body = rng.choice(bodies)
            shift = rng.randint(1, 9)
            parts.append(DIGIT.sub(lambda m, s=shift: str((int(m.group()) + s) % 10), body))
        text = "\n\n".join(parts) + "\n"
        path = out / f"report_{n:06d}.txt"
        path.write_text(text, encoding="utf-8")
        total += len(text.encode())
        n += 1
    return n, total


def folder_size(folder: Path) -> tuple[int, int]:
    """Files and bytes of a folder, every file below it (as the flow reads it: ``read_folder``)."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def lower_bound(folder: Path) -> tuple[float, int]:
    """Read and decode every file, then one Polars regex scan for digits: the machine's floor."""
    import polars as pl

    start = time.perf_counter()
    texts = [p.read_bytes().decode("utf-8") for p in sorted(folder.rglob("*.txt"))]
    frame = pl.DataFrame({"text": texts})
    frame.select(pl.col("text").str.extract_all(r"[0-9]+").list.len().sum())
    return time.perf_counter() - start, sum(len(t) for t in texts)


def extractor_speed() -> tuple[float, int]:
    """Seconds and characters of ``extract_documents`` on the seeds: distinct text, cold memory."""
    code = (
        "import time; from pathlib import Path; from flows.warehouse.ingest import read_folder; "
        "from flows.warehouse.tables import extract_documents; "
        "from transforms.metric_phrase import _built_tagger; "
        "raw, _ = read_folder(Path('seeds/raw')); "
        "_built_tagger.cache_clear(); import jieba; jieba.initialize(); "
        "t = time.perf_counter(); extract_documents(raw); "
        "print(time.perf_counter() - t, raw['text'].str.len_chars().sum())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    secs, chars = out.stdout.split()[-2:]
    return float(secs), int(chars)


def _kind(proc: psutil.Process, flow_pid: int) -> str:
    """Which part of a run a process is: the flow, Prefect's server, or the others (the checker
    process and the extract workers, or the processes runner's workers: all spawned alike)."""
    if proc.pid == flow_pid:
        return "flow"
    return "server" if "uvicorn" in " ".join(proc.cmdline()) else "checker+workers"


class _Sampler:
    """Peak RSS (summed over the run's processes) and CPU seconds per process, sampled.

    Cheap on purpose, since the run should have the machine's cores to itself: listing the
    process tree (a scan of every process on the machine) and reading command lines ten times
    a second cost about 4 ms a tick. The tree is listed once a second (the run's processes
    start once each, and live for seconds at least) and each process's kind is read once:
    about 0.6 ms a tick (measured with five processes in the tree).
    """

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.procs: dict[int, tuple[psutil.Process, str]] = {pid: (self.root, "flow")}
        self.cpu: dict[tuple[str, int], float] = {}
        self.peak = 0
        self.ticks = 0

    def sample(self) -> None:
        if self.ticks % 10 == 0:
            with contextlib.suppress(psutil.Error):
                for child in self.root.children(recursive=True):
                    if child.pid not in self.procs:
                        with contextlib.suppress(psutil.Error):
                            self.procs[child.pid] = (child, _kind(child, self.root.pid))
        self.ticks += 1
        total = 0
        for pid, (p, kind) in list(self.procs.items()):
            try:
                with p.oneshot():
                    total += p.memory_info().rss
                    times = p.cpu_times()
            except psutil.Error:  # a worker that just ended: its last 0.1 s is not counted
                del self.procs[pid]
                continue
            self.cpu[(kind, pid)] = times.user + times.system
        self.peak = max(self.peak, total)


def run_flow(folder: Path, warehouse: Path, home: Path, runner: str) -> dict[str, object]:
    """Run the flow in a child process; return its summary with wall time, peak RSS and CPU seconds."""
    code = (  # as taizhang run does: Prefect's server, the checker and jieba's load start first
        "import json,sys; from flows import cli; from flows.pipeline import prefect_server; "
        "cli.skip_teardown_at_exit(); "
        "server = prefect_server.launch(); "
        "from flows.quality import checker; from flows.warehouse import tables; checker.start(); "
        "from flows.pipeline import extract_pool\n"
        "if sys.argv[3] in ('', 'threads'): extract_pool.prestart(extract_pool.memory_ceiling())\n"
        "else: tables.warm_extractor_in_background()\n"
        "from flows.pipeline.etl import etl; prefect_server.adopt(server)\n"
        "with prefect_server.without_heartbeats():\n"
        "    s = etl(input_dir=sys.argv[1], warehouse_path=sys.argv[2])\n"
        "print('SUMMARY ' + json.dumps(s)); cli.set_exit_code(0)"
    )
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # as taizhang run sets it
        "TAIZHANG_TASK_RUNNER": runner,
    }
    log = warehouse.with_suffix(".log")  # files, not pipes: a full pipe would stall the flow's logging
    start = time.perf_counter()
    with log.open("w") as err, log.with_suffix(".out").open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", code, str(folder), str(warehouse), runner],
            stdout=out,
            stderr=err,
            env=env,
            cwd=REPO,
        )
        sampler = _watch(child)
        peak, cpu = sampler.peak, sampler.cpu
    wall = time.perf_counter() - start
    stdout, stderr = log.with_suffix(".out").read_text(), log.read_text()
    if child.returncode != 0:
        raise SystemExit(f"flow failed:\n{stderr[-3000:]}")
    line = next(ln for ln in stdout.splitlines() if ln.startswith("SUMMARY "))
    summary = json.loads(line[len("SUMMARY ") :])
    summary["wall"] = wall
    summary["peak_rss_mb"] = peak / 2**20
    by_kind: dict[str, float] = {}
    for (kind, _), seconds in cpu.items():
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    summary["cpu_seconds"] = by_kind
    return summary


def _watch(child: subprocess.Popen[bytes]) -> _Sampler:
    """Sample a child's process tree ten times a second until it exits."""
    sampler = _Sampler(child.pid)
    while child.poll() is None:
        sampler.sample()
        time.sleep(0.1)
    return sampler


def run_extract(folder: Path, output: Path) -> dict[str, float]:
    """``taizhang extract FOLDER --output FILE`` in a child process, start-up included: wall
    seconds, peak RSS and CPU seconds (one process: the command extracts in its own process)."""
    code = "import sys; from flows.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    log = output.with_suffix(".log")
    start = time.perf_counter()
    with log.open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", code, "extract", str(folder), "--output", str(output)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=REPO,
        )
        sampler = _watch(child)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"taizhang extract failed:\n{log.read_text()[-3000:]}")
    with output.open(encoding="utf-8") as f:
        rows = sum(1 for _ in f)
    return {
        "wall": wall,
        "peak_rss_mb": sampler.peak / 2**20,
        "cpu": sum(sampler.cpu.values()),
        "processes": len(sampler.cpu),
        "rows": rows,
    }


def report(name: str, s: dict[str, object], mb: float, chars: int, bound: float, startup: float) -> None:
    wall = float(s["wall"])  # type: ignore[arg-type]
    print(f"{name}: wall seconds                {wall:.1f}")
    for stage, secs in dict(s["stage_seconds"]).items():  # type: ignore[call-overload]
        print(f"{name}: stage {stage:<10} seconds     {secs:.2f}")
    print(f"{name}: MB/s (start-up included)    {mb / wall:.3f}")
    print(f"{name}: characters/s                {chars / wall:,.0f}")
    print(f"{name}: facts/s                     {int(s['facts']) / wall:,.0f}")  # type: ignore[call-overload]
    print(f"{name}: peak RSS MB (with workers)  {float(s['peak_rss_mb']):.0f}")  # type: ignore[arg-type]
    cpu = dict(s["cpu_seconds"])  # type: ignore[call-overload]
    kinds = [kind for kind in ("flow", "checker+workers", "server") if kind in cpu]
    parts = "  ".join(f"{kind} {cpu[kind]:.1f}" for kind in kinds)
    print(f"{name}: CPU seconds {sum(cpu.values()):.1f} ({parts}; {os.cpu_count()} cores)")
    print(f"{name}: wall minus start-up         {wall - startup:.1f}")
    print(f"{name}: multiple of bare bound      {wall / bound:.0f}x")
    print(
        f"{name}: documents {s['documents']} new {s['new']} changed {s['changed']} "
        f"unchanged {s['unchanged']} (not read {s.get('not_read', 0)}) facts {s['facts']} cached tasks "
        f"{s['extract_tasks_cached']}/{s['extract_tasks']}"
    )


def measure_real(
    folder: Path, work: Path, home: Path, runner: str, startup: float, startup_cpu: float
) -> None:
    """The run and the extractor alone on a folder of real reports (``real:`` lines)."""
    files, size = folder_size(folder)
    mb = size / 1_000_000
    print(f"real: folder {folder}")
    print(f"real: documents {files} MB {mb:.2f}")
    bound, chars = lower_bound(folder)
    print(f"real: bound: read+decode+regex seconds {bound:.2f} ({mb / bound:.0f} MB/s)")
    run = run_flow(folder, work / "real.duckdb", home, runner)
    report("real", run, mb, chars, bound, startup)
    net = float(run["wall"]) - startup  # type: ignore[arg-type]
    net_rate = f"{mb / net:.3f}" if net > 0 else "n/a (the run was not slower than an empty one)"
    print(f"real: MB/s net of start-up        {net_rate}")
    # Under load wall seconds swing by tens of seconds; CPU seconds hardly do. The run's CPU net of
    # the empty run's, over the cores, is what the work itself would take with the cores to itself.
    net_cpu = sum(dict(run["cpu_seconds"]).values()) - startup_cpu  # type: ignore[call-overload]
    cores = os.cpu_count() or 1
    rate = f"{mb / net_cpu:.3f} MB per CPU-second, {mb * cores / net_cpu:.2f} MB/s on {cores} busy cores"
    print(f"real: CPU seconds net of start-up {net_cpu:.1f} ({rate})" if net_cpu > 0 else "")
    ex = run_extract(folder, work / "real-extract.jsonl")
    print(f"real-extract: wall seconds         {ex['wall']:.1f} (start-up included)")
    print(f"real-extract: MB/s                 {mb / ex['wall']:.3f}")
    print(f"real-extract: characters/s         {chars / ex['wall']:,.0f}")
    print(f"real-extract: CPU seconds          {ex['cpu']:.1f} ({ex['processes']:.0f} process(es))")
    print(f"real-extract: peak RSS MB          {ex['peak_rss_mb']:.0f}")
    print(f"real-extract: mentions             {ex['rows']:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=20.0, help="corpus size in MB of UTF-8 text")
    parser.add_argument("--work", type=Path, default=Path("/tmp/taizhang-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the corpus and warehouse")
    parser.add_argument(
        "--runner",
        default=os.environ.get("TAIZHANG_TASK_RUNNER") or "threads",
        help="task runner for the flow (flows.pipeline.runners): threads, processes, dask, tcp://host:port",
    )
    parser.add_argument("--also-mb", type=float, help="a second, larger corpus: the growth of peak RSS")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=REAL if REAL.is_dir() else None,
        help=f"a folder of real reports to measure first (default: {REAL} when present; '' skips it)",
    )
    parser.add_argument(
        "--startup-runs",
        type=int,
        default=3,
        help="empty-folder runs; their median is the start-up subtracted from every run (default 3)",
    )
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    corpus, empty, home = args.work / "corpus", args.work / "empty", args.work / "prefect-home"
    empty.mkdir(parents=True)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, runner {args.runner}")
    secs, seed_chars = extractor_speed()
    print(f"extractor on the seeds (distinct text, one core): characters/s {seed_chars / secs:,.0f}")

    # A fresh PREFECT_HOME migrates its database once: warm it up first.
    run_flow(empty, args.work / "warmup.duckdb", home, args.runner)
    empties = [
        run_flow(empty, args.work / f"empty{i}.duckdb", home, args.runner)
        for i in range(max(1, args.startup_runs))
    ]
    walls = sorted(float(e["wall"]) for e in empties)  # type: ignore[arg-type]
    cpus = sorted(sum(dict(e["cpu_seconds"]).values()) for e in empties)  # type: ignore[call-overload]
    startup = walls[len(walls) // 2]  # the median: one run under load can be seconds off
    startup_cpu = cpus[len(cpus) // 2]
    runs = ", ".join(f"{w:.1f}" for w in walls)
    print(f"start-up: empty-folder run seconds {startup:.1f} (median of {len(walls)}: {runs})")
    listed = ", ".join(f"{c:.1f}" for c in cpus)
    print(f"start-up: empty-folder run CPU seconds {startup_cpu:.1f} (median of {len(cpus)}: {listed})")
    if args.corpus and str(args.corpus) not in ("", "."):
        measure_real(args.corpus, args.work, home, args.runner, startup, startup_cpu)
    if args.mb <= 0:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
        return
    files, size = build_corpus(corpus, args.mb)
    mb = size / 1_000_000
    print(f"corpus: documents {files}")
    print(f"corpus: MB {mb:.1f}")
    bound, chars = lower_bound(corpus)
    print(f"bound: read+decode+regex seconds {bound:.2f} ({mb / bound:.0f} MB/s)")
    warehouse = args.work / "taizhang.duckdb"
    full = run_flow(corpus, warehouse, home, args.runner)
    report("full", full, mb, chars, bound, startup)
    again = run_flow(corpus, warehouse, home, args.runner)
    report("unchanged", again, mb, chars, bound, startup)
    base = float(full["wall"]) - startup  # type: ignore[arg-type]
    share = (float(again["wall"]) - startup) / base  # type: ignore[arg-type]
    print(f"unchanged: share of full run (start-up subtracted) {share:.0%}")
    rng = random.Random(7)
    victims = rng.sample(sorted(corpus.glob("*.txt")), max(1, files // 100))
    for v in victims:
        v.write_text(v.read_text(encoding="utf-8") + "\n补充：新增12家企业。\n", encoding="utf-8")
    changed = run_flow(corpus, warehouse, home, args.runner)
    report("1pct-changed", changed, mb, chars, bound, startup)
    share = (float(changed["wall"]) - startup) / base  # type: ignore[arg-type]
    print(f"1pct-changed: share of full run (start-up subtracted) {share:.0%}")
    if args.also_mb:
        big = args.work / "corpus-big"
        files2, size2 = build_corpus(big, args.also_mb, seed=20261124)
        mb2 = size2 / 1_000_000
        print(f"corpus2: documents {files2} MB {mb2:.1f}")
        large = run_flow(big, args.work / "big.duckdb", home, args.runner)
        bound2, chars2 = lower_bound(big)
        report("full2", large, mb2, chars2, bound2, startup)
        growth = float(large["peak_rss_mb"]) / float(full["peak_rss_mb"]) - 1  # type: ignore[arg-type]
        print(f"full2: peak RSS growth {mb:.0f} MB -> {mb2:.0f} MB {growth:.0%}")
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
