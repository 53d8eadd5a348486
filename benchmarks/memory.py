"""Peak memory and time of the extraction on one document of a given size and line structure.

    .venv/bin/python benchmarks/memory.py [--mb 1 4 12] [--shapes lines one_line ...]
        [--corpus /work/shared/corpus/work-reports ...] [--limit-mb 8000] [--stages]

Each document is the corpus's reports (the ``*.txt`` under every ``--corpus`` folder)
concatenated (repeated when the corpus is smaller) up to ``--mb`` MB of UTF-8, in one of
four shapes:

- ``lines``: as written, with its line breaks;
- ``one_line``: every line break removed, so the whole document is one line;
- ``one_paragraph``: every line break replaced by an ideographic space (U+3000). In this
  code a paragraph is a line (``stg_sentences`` starts a paragraph wherever a line break
  separates two sentences), so this is one paragraph too, but every old line now starts
  with an indent as a paragraph written without breaks would;
- ``no_stop``: ``one_line`` with 。！？；!?; replaced by ，: one line that is one "sentence".

Each (shape, size) runs ``flows.warehouse.tables.extract_documents`` on a one-document frame in a
fresh child process. The child first loads the reference data and jieba, so its baseline
RSS is the interpreter's with everything imported; it prints the baseline, the peak RSS
(``ru_maxrss``) and the seconds. With ``--stages`` it runs the stages of
``extract_documents`` one by one instead (``build_ledger``'s steps each on its own) and
prints, per stage, the seconds and the peak RSS sampled every 10 ms during it. A child whose
RSS passes ``--limit-mb`` is killed and reported as such, so that a quadratic step does not
take the machine down with it.

This is a script, not a test: tests assert behaviour, this prints figures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path("/work/shared/corpus/work-reports")
SHAPES = ("lines", "one_line", "one_paragraph", "no_stop")


def build_text(corpus: list[Path], mb: float, shape: str) -> str:
    """The corpus folders' reports (``*.txt``, sub-folders too) concatenated to ``mb`` MB of UTF-8,
    in ``shape``."""
    reports = [p.read_text(encoding="utf-8") for folder in corpus for p in sorted(folder.rglob("*.txt"))]
    if not reports:
        raise SystemExit(f"no .txt reports in {corpus}")
    target = int(mb * 1_000_000)
    parts: list[str] = []
    size = 0
    i = 0
    while size < target:
        text = reports[i % len(reports)].strip() + "\n\n"
        parts.append(text)
        size += len(text.encode("utf-8"))
        i += 1
    text = "".join(parts)
    if shape == "one_line":
        text = text.replace("\r", "").replace("\n", "")
    elif shape == "one_paragraph":
        text = text.replace("\r", "").replace("\n", "\u3000")
    elif shape == "no_stop":
        text = re.sub(r"[。！？；!?;]", "，", text.replace("\r", "").replace("\n", ""))
    elif shape != "lines":
        raise SystemExit(f"unknown shape {shape}")
    return text


class PeakSampler:
    """The peak RSS of this process, sampled every 10 ms, since the last ``reset``."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.01)

    def reset(self) -> int:
        peak = max(self.peak, self.proc.memory_info().rss)
        self.peak = self.proc.memory_info().rss
        return peak


def child(path: str, stages: bool) -> None:
    """Run the extraction on the text in ``path`` and print one JSON line of figures."""
    import resource

    import polars as pl

    sys.path.insert(0, str(REPO))
    from flows.warehouse.ledger_reference import load_ledger_reference
    from flows.warehouse.reference import load_reference
    from transforms.metric_phrase import warm_tagger

    ref = load_reference()
    ledger_ref = load_ledger_reference()
    warm_tagger(ref)
    text = Path(path).read_text(encoding="utf-8")
    documents = pl.DataFrame({"document_id": ["d0"], "file_name": ["bench.txt"], "text": [text]})
    del text
    baseline = psutil.Process().memory_info().rss
    out: dict[str, object] = {"baseline_mb": round(baseline / 1e6)}
    start = time.perf_counter()
    if stages:
        from transforms.boilerplate import drop_boilerplate, mark_boilerplate
        from transforms.dim_document import dim_document
        from transforms.dim_org_unit import bridge_sentence_org, dim_org_unit, org_mentions
        from transforms.dim_section import assign_section, dim_section
        from transforms.fct_measure import assign_measure, fct_measure
        from transforms.fct_metric import fct_metric
        from transforms.fct_rectification_item import fct_rectification_item
        from transforms.fct_supervision_activity import fct_supervision_activity
        from transforms.stg_documents import stg_documents
        from transforms.stg_sentences import stg_sentences
        from transforms.temporal import flow_time

        sampler = PeakSampler()
        figures: dict[str, list[float]] = {}

        def stage(name: str, fn, *args):  # type: ignore[no-untyped-def]
            sampler.reset()
            t = time.perf_counter()
            result = fn(*args)
            figures[name] = [round(time.perf_counter() - t, 2), round(sampler.reset() / 1e6)]
            # The process's peak so far: it rises in the stage that set it (sampling can miss a spike).
            maxrss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)
            line = {"stage": name, "s": figures[name][0], "peak_mb": figures[name][1], "maxrss_mb": maxrss}
            print(json.dumps(line), flush=True)
            return result

        docs = stage("stg_documents", stg_documents, documents, ledger_ref.document_structure)
        sentences = stage("stg_sentences", stg_sentences, documents)
        facts = stage("fct_metric", fct_metric, sentences, docs, ref)
        # build_ledger's steps one by one, in its order (transforms/ledger.py).
        r = ledger_ref
        dim_doc = stage(
            "dim_document",
            dim_document,
            documents,
            docs,
            r.regions,
            r.region_suffixes,
            r.genre_rules,
            r.document_structure,
        )
        marked = stage("mark_boilerplate", mark_boilerplate, sentences, r.boilerplate_patterns, docs)
        sections = stage("dim_section", dim_section, documents, marked, r.heading_patterns)
        items = stage(
            "fct_rectification_item", fct_rectification_item, documents, marked, sections, r.item_patterns
        )
        clean = stage("drop_boilerplate", drop_boilerplate, facts, marked)
        measures = stage(
            "fct_measure", fct_measure, documents, items, r.item_patterns, r.measure_status, clean, sections
        )
        mentions = stage(
            "org_mentions",
            org_mentions,
            marked,
            dim_doc,
            r.org_patterns,
            r.org_trim_words,
            r.org_levels,
            r.regions,
            r.org_false_names,
        )
        stage(
            "fct_supervision_activity",
            fct_supervision_activity,
            marked,
            mentions,
            r.supervision_terms,
            dim_doc,
        )
        stage("dim_org_unit", dim_org_unit, mentions)
        stage("bridge_sentence_org", bridge_sentence_org, mentions)
        placed = stage("assign_section", assign_section, marked, sections)
        facts = stage(
            "assign_measure", lambda f: assign_measure(assign_section(f, sections), measures), clean
        )
        stage(
            "flow_time",
            flow_time,
            facts,
            placed,
            sections,
            dim_doc,
            ref.time_frames,
            ref.plan_periods,
            ref.target_words,
        )
        out["stages"] = figures
        out["rows"] = {
            "stg_sentences": sentences.height,
            "fct_metric": facts.height,
            "dim_section": sections.height,
            "fct_rectification_item": items.height,
        }
    else:
        from flows.warehouse.tables import extract_documents

        tables = extract_documents(documents)
        out["rows"] = {k: v.height for k, v in tables.items() if k in ("stg_sentences", "fct_metric")}
        out["rows"]["fct_rectification_item"] = tables["fct_rectification_item"].height
        out["rows"]["fct_measure"] = tables["fct_measure"].height
    out["seconds"] = round(time.perf_counter() - start, 2)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)
    print(json.dumps(out), flush=True)


def run_one(text: str, stages: bool, limit_mb: float) -> dict[str, object]:
    """Run ``child`` on ``text`` in a fresh process, killing it above ``limit_mb`` of RSS."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write(text)
        path = f.name
    cmd = [sys.executable, __file__, "--child", path] + (["--stages"] if stages else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    watched = psutil.Process(proc.pid)
    killed = False
    peak = 0
    while proc.poll() is None:
        try:
            rss = watched.memory_info().rss
        except psutil.NoSuchProcess:
            break
        peak = max(peak, rss)
        if rss > limit_mb * 1e6:
            proc.kill()
            killed = True
            break
        time.sleep(0.05)
    stdout = proc.communicate()[0]
    Path(path).unlink()
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    result: dict[str, object] = lines[-1] if lines and "stage" not in lines[-1] else {}
    if stages:
        result["stage_lines"] = [x for x in lines if "stage" in x]
    if killed:
        result["killed_above_mb"] = limit_mb
        result["sampled_peak_mb"] = round(peak / 1e6)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, nargs="+", default=[1, 4, 12])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    parser.add_argument("--corpus", type=Path, nargs="+", default=[CORPUS])
    parser.add_argument("--limit-mb", type=float, default=8000)
    parser.add_argument("--stages", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.stages)
        return
    for mb in args.mb:
        for shape in args.shapes:
            text = build_text(args.corpus, mb, shape)
            result = run_one(text, args.stages, args.limit_mb)
            head = f"{shape:14s} {mb:5g} MB ({len(text):,} chars)"
            if "killed_above_mb" in result:
                print(f"{head}: KILLED above {args.limit_mb:g} MB RSS", flush=True)
            else:
                print(
                    f"{head}: baseline {result.get('baseline_mb')} MB, peak {result.get('peak_mb')} MB,"
                    f" {result.get('seconds')} s, rows {result.get('rows')}",
                    flush=True,
                )
            for line in result.get("stage_lines", []):  # type: ignore[union-attr]
                print(
                    f"    {line['stage']:24s} {line['s']:7.2f} s  peak {line['peak_mb']:6d} MB"
                    f"  process peak so far {line['maxrss_mb']:6d} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
