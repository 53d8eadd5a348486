"""Scoring extracted mentions against gold files (the rules of tests/gold/README.md).

A port of the reference scorer ``tests/gold/score.py``: the same pairs, counts and
figures, plus the errors by kind and the scores of each document.

A prediction is paired with the gold mention of the same document whose span
overlaps it most (one to one). ``value_unit``: same number (relative tolerance
1e-6) and unit (平米 = 平方米, ％ = %, 元人民币 = 元); ``strict_span``: and the same
offsets; ``value_unit_metric``: and metric phrases that agree (see
``metric_agrees``). Borderline gold mentions are neither rewarded nor penalised.

Each document is scored on its own (``Score.docs``); the pooled (micro) figures
count every document's mentions together, and the macro figures are the mean of
the documents' figures, so that a regression on one genre shows.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

UNIT_ALIASES = {"平米": "平方米", "％": "%", "元人民币": "元", "人民币": "元"}
PRF_NAMES = ("detection", "value_unit", "strict_span", "value_unit_metric")
ACCURACY_NAMES = ("approx", "change", "metric")

# A parenthetical aside (no nested brackets) or a quotation mark.
_ASIDE = re.compile(r"[（(][^（）()]*[）)]|[“”\"‘’「」《》]")


def _unit(u: object) -> str:
    s = "" if u is None else str(u).strip()
    return UNIT_ALIASES.get(s, s)


def _same_value(a: object, b: object) -> bool:
    try:
        x, y = float(a), float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))


def _bare(phrase: str) -> str:
    """The phrase without parenthetical asides and quotation marks: 县（市、区） -> 县."""
    return _ASIDE.sub("", phrase).strip() or phrase


def metric_agrees(a: object, b: object) -> bool:
    """Two metric phrases agree, by the reference scorer's rule (symmetric).

    Both are stripped of parenthetical asides and quotation marks. Then one must
    contain the other with the shorter at least half as long as the longer (a
    fragment such as 比重 for 高新技术产业产值占规上工业比重, or a whole clause,
    does not count), or their character sets must have a Dice coefficient of at
    least 0.6.
    """
    x, y = str(a or "").strip(), str(b or "").strip()
    if not x or not y:
        return False
    x, y = _bare(x), _bare(y)
    short, long_ = sorted((x, y), key=len)
    if short and short in long_ and 2 * len(short) >= len(long_):
        return True
    sx, sy = set(x), set(y)
    return 2 * len(sx & sy) / (len(sx) + len(sy)) >= 0.6


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


@dataclass
class Score:
    """Counts and errors; for a whole gold set, also each document's own ``Score``."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, object]] = field(default_factory=list)
    docs: dict[str, Score] = field(default_factory=dict)
    doc: str | None = None  # set on the score of one document

    def prf(self, name: str) -> tuple[float, float, float]:
        """Pooled (micro) precision, recall and F1 of ``name`` (one of ``PRF_NAMES``)."""
        tp, pred, gold = self.counts[f"{name}_tp"], self.counts["pred"], self.counts["gold"]
        p = tp / pred if pred else 0.0
        r = tp / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def accuracy(self, name: str) -> float:
        """Share of the value_unit pairs whose ``name`` (approx, change, metric) is right."""
        n = self.counts["value_unit_tp"]
        return self.counts[f"{name}_ok"] / n if n else 0.0

    def _macro_docs(self) -> list[Score]:
        # A document with neither gold nor predicted mentions has no precision or recall.
        return [d for d in self.docs.values() if d.counts["gold"] or d.counts["pred"]]

    def macro_prf(self, name: str) -> tuple[float, float, float]:
        """Mean over documents of their precision, recall and F1."""
        per_doc = [d.prf(name) for d in self._macro_docs()]
        return (
            _mean([p for p, _, _ in per_doc]),
            _mean([r for _, r, _ in per_doc]),
            _mean([f for _, _, f in per_doc]),
        )

    def macro_accuracy(self, name: str) -> float:
        """Mean over documents of their accuracy (0 for a document with no value_unit pair)."""
        return _mean([d.accuracy(name) for d in self._macro_docs()])

    def figures(self) -> dict[str, object]:
        """The pooled figures, with the reference scorer's keys and rounding."""
        out: dict[str, object] = {
            "documents": 1 if self.doc is not None else len(self.docs),
            "gold_mentions": self.counts["gold"],
            "predicted_mentions": self.counts["pred"],
        }
        for name in PRF_NAMES:
            p, r, f = self.prf(name)
            out[name] = {
                "precision": round(p, 4),
                "recall": round(r, 4),
                "f1": round(f, 4),
                "tp": self.counts[f"{name}_tp"],
            }
        for name in ACCURACY_NAMES:
            out[f"{name}_accuracy"] = round(self.accuracy(name), 4)
        return out

    def macro_figures(self) -> dict[str, object]:
        """The macro figures (means of the documents' figures), rounded as the reference does."""
        out: dict[str, object] = {"documents": len(self._macro_docs())}
        for name in PRF_NAMES:
            p, r, f = self.macro_prf(name)
            out[name] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}
        for name in ACCURACY_NAMES:
            out[f"{name}_accuracy"] = round(self.macro_accuracy(name), 4)
        return out

    def to_json(self) -> dict[str, object]:
        """Each document's figures, the macro figures, the pooled figures and error counts."""
        return {
            "documents": {doc: d.figures() for doc, d in sorted(self.docs.items())},
            "macro": self.macro_figures(),
            "pooled": self.figures(),
            "errors_by_kind": dict(sorted(Counter(str(e["kind"]) for e in self.errors).items())),
        }


def load_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_gold(gold_dir: Path) -> list[dict[str, object]]:
    """Every mention of the ``*.jsonl`` files of a gold folder."""
    return [g for f in sorted(gold_dir.glob("*.jsonl")) for g in load_jsonl(f)]


def _span(p: dict[str, object]) -> tuple[int, int] | None:
    try:
        return int(p["start"]), int(p["end"])  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError):
        return None


def _score_document(doc: str, golds: list[dict[str, object]], preds: list[dict[str, object]]) -> Score:
    s = Score(doc=doc)
    spans = [_span(p) for p in preds]
    # Candidate pairs as the reference builds and orders them: (overlap, gold index, pred index),
    # largest first, ties to the later gold and prediction.
    cands: list[tuple[int, int, int]] = []
    for j, g in enumerate(golds):
        gs, ge = int(g["start"]), int(g["end"])  # type: ignore[call-overload]
        for i, (ps, pe) in enumerate(spans):  # type: ignore[misc]
            ov = min(ge, pe) - max(gs, ps)
            if ov > 0:
                cands.append((ov, j, i))
    cands.sort(reverse=True)
    used_p: set[int] = set()
    used_g: set[int] = set()
    matched: list[tuple[dict[str, object], dict[str, object]]] = []
    for _, j, i in cands:
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        matched.append((preds[i], golds[j]))
    for p, g in matched:
        if g.get("borderline"):
            continue
        s.counts["pred"] += 1
        s.counts["gold"] += 1
        s.counts["detection_tp"] += 1
        vu = _same_value(p.get("number"), g.get("number")) and _unit(p.get("unit")) == _unit(g.get("unit"))
        if not vu:
            s.errors.append({"kind": "wrong_value", "gold": g, "pred": p})
            continue
        s.counts["value_unit_tp"] += 1
        if _span(p) == (int(g["start"]), int(g["end"])):  # type: ignore[call-overload]
            s.counts["strict_span_tp"] += 1
        else:
            s.errors.append({"kind": "wrong_span", "gold": g, "pred": p})
        if metric_agrees(g.get("metric"), p.get("metric")):
            s.counts["value_unit_metric_tp"] += 1
            s.counts["metric_ok"] += 1
        else:
            s.errors.append({"kind": "wrong_metric", "gold": g, "pred": p})
        for name in ("approx", "change"):
            if (g.get(name) or None) == (p.get(name) or None):
                s.counts[f"{name}_ok"] += 1
            else:
                s.errors.append({"kind": f"wrong_{name}", "gold": g, "pred": p})
    for i, p in enumerate(preds):
        if i not in used_p:
            s.counts["pred"] += 1
            s.errors.append({"kind": "spurious", "pred": p})
    for j, g in enumerate(golds):
        if j not in used_g and not g.get("borderline"):
            s.counts["gold"] += 1
            s.errors.append({"kind": "missed", "gold": g})
    return s


def score(gold: list[dict[str, object]], pred: list[dict[str, object]]) -> Score:
    """Pair and count, as the reference scorer does, document by document; pool the counts.

    Only the documents of the gold are scored; a prediction's ``doc`` is matched by its
    base name, and a prediction without integer offsets is ignored, as in the reference.
    """
    gold_by_doc: dict[str, list[dict[str, object]]] = defaultdict(list)
    for g in gold:
        gold_by_doc[str(g["doc"])].append(g)
    pred_by_doc: dict[str, list[dict[str, object]]] = defaultdict(list)
    for p in pred:
        doc = os.path.basename(str(p.get("doc", "")))
        if doc in gold_by_doc and _span(p) is not None:
            pred_by_doc[doc].append(p)
    s = Score()
    for doc in sorted(gold_by_doc):
        d = _score_document(doc, gold_by_doc[doc], pred_by_doc.get(doc, []))
        s.docs[doc] = d
        s.counts.update(d.counts)
        s.errors.extend(d.errors)
    return s


def _row(label: str, gold: str, pred: str, vu: tuple[float, float, float], rest: list[float], w: int) -> str:
    cells = [f"{x:.3f}" for x in vu] + [f"{x:.3f}" for x in rest]
    return f"{label:<{w}} {gold:>5} {pred:>5} " + "  ".join(f"{c:>7}" for c in cells)


def table(s: Score) -> str:
    """One row per document, then the macro average and the pooled (micro) figures."""
    w = max([24, *(len(doc) for doc in s.docs)])
    head = ["vu P", "vu R", "vu F1", "span F1", "vum F1", "approx", "change"]
    lines = [f"{'document':<{w}} {'gold':>5} {'pred':>5} " + "  ".join(f"{h:>7}" for h in head)]

    def rest(x: Score, macro: bool) -> list[float]:
        if macro:
            return [
                x.macro_prf("strict_span")[2],
                x.macro_prf("value_unit_metric")[2],
                x.macro_accuracy("approx"),
                x.macro_accuracy("change"),
            ]
        return [
            x.prf("strict_span")[2],
            x.prf("value_unit_metric")[2],
            x.accuracy("approx"),
            x.accuracy("change"),
        ]

    for doc, d in sorted(s.docs.items()):
        lines.append(
            _row(doc, str(d.counts["gold"]), str(d.counts["pred"]), d.prf("value_unit"), rest(d, False), w)
        )
    n = len(s._macro_docs())
    lines.append(_row(f"macro ({n} documents)", "", "", s.macro_prf("value_unit"), rest(s, True), w))
    lines.append(
        _row("pooled", str(s.counts["gold"]), str(s.counts["pred"]), s.prf("value_unit"), rest(s, False), w)
    )
    lines.append("vu: value_unit; span: strict_span; vum: value_unit_metric; approx, change: accuracy")
    return "\n".join(lines)


def report(s: Score, max_errors: int = 20) -> str:
    """Each document's scores, the macro and pooled rows, the pooled scores, then the errors by kind."""
    lines = [table(s), "", f"pooled: gold {s.counts['gold']}  predicted {s.counts['pred']}"]
    for name in PRF_NAMES:
        p, r, f = s.prf(name)
        lines.append(f"{name:<18} P {p:.3f}  R {r:.3f}  F1 {f:.3f}")
    lines.append(
        f"approx accuracy {s.accuracy('approx'):.3f}  change accuracy {s.accuracy('change'):.3f}  "
        f"metric accuracy {s.accuracy('metric'):.3f}"
    )
    by_kind: dict[str, list[dict[str, object]]] = defaultdict(list)
    for e in s.errors:
        by_kind[str(e["kind"])].append(e)
    lines.append("errors by kind: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(by_kind.items())))
    for kind, errs in sorted(by_kind.items()):
        for e in errs[:max_errors]:
            g, p = e.get("gold") or {}, e.get("pred") or {}
            lines.append(
                f"  {kind:<13} {g.get('doc') or p.get('doc')}  gold={g.get('text')!s:<10} "
                f"{g.get('number')} {g.get('unit')} m={g.get('metric')}  |  pred={p.get('text')!s:<10} "
                f"{p.get('number')} {p.get('unit')} m={p.get('metric')} "
                f"a={p.get('approx')} c={p.get('change')}"
            )
    return "\n".join(lines)
