"""Scoring extracted mentions against gold files (the rules of tests/gold/README.md).

A prediction is paired with the gold mention of the same document whose span
overlaps it most (one to one). ``value_unit``: same number (relative tolerance
1e-6) and unit (平米 = 平方米, ％ = %, 元人民币 = 元); ``strict_span``: and the same
offsets; ``value_unit_metric``: and metric phrases that contain one another or
whose character sets have a Dice coefficient of at least 0.6. Borderline gold
mentions are neither rewarded nor penalised.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

UNIT_ALIASES = {"平米": "平方米", "％": "%", "元人民币": "元"}


def _unit(u: object) -> str:
    s = str(u or "")
    return UNIT_ALIASES.get(s, s)


def _same_value(a: object, b: object) -> bool:
    try:
        x, y = float(a), float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))


def metric_agrees(a: object, b: object) -> bool:
    """Containment either way, or character-set Dice >= 0.6."""
    x, y = str(a or ""), str(b or "")
    if not x or not y:
        return False
    if x in y or y in x:
        return True
    sx, sy = set(x), set(y)
    return 2 * len(sx & sy) / (len(sx) + len(sy)) >= 0.6


@dataclass
class Score:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, object]] = field(default_factory=list)

    def prf(self, name: str) -> tuple[float, float, float]:
        tp, pred, gold = self.counts[f"{name}_tp"], self.counts["pred"], self.counts["gold"]
        p = tp / pred if pred else 0.0
        r = tp / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def accuracy(self, name: str) -> float:
        n = self.counts["value_unit_tp"]
        return self.counts[f"{name}_ok"] / n if n else 0.0


def load_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score(gold: list[dict[str, object]], pred: list[dict[str, object]]) -> Score:
    """Pair and count, as the reference scorer does; collect errors by kind."""
    s = Score()
    gold_by_doc: dict[str, list[dict[str, object]]] = defaultdict(list)
    for g in gold:
        gold_by_doc[str(g["doc"])].append(g)
    pred_by_doc: dict[str, list[dict[str, object]]] = defaultdict(list)
    for p in pred:
        if str(p["doc"]) in gold_by_doc:
            pred_by_doc[str(p["doc"])].append(p)
    for doc, golds in gold_by_doc.items():
        preds = pred_by_doc.get(doc, [])
        pairs: list[tuple[int, int, int]] = []
        for i, p in enumerate(preds):
            for j, g in enumerate(golds):
                ov = min(int(p["end"]), int(g["end"])) - max(int(p["start"]), int(g["start"]))  # type: ignore[arg-type]
                if ov > 0:
                    pairs.append((ov, i, j))
        pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
        used_p: set[int] = set()
        used_g: set[int] = set()
        matched: list[tuple[dict[str, object], dict[str, object]]] = []
        for _, i, j in pairs:
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
            vu = _same_value(p.get("number"), g.get("number")) and _unit(p.get("unit")) == _unit(
                g.get("unit")
            )
            if not vu:
                s.errors.append({"kind": "wrong_value", "gold": g, "pred": p})
                continue
            s.counts["value_unit_tp"] += 1
            if int(p["start"]) == int(g["start"]) and int(p["end"]) == int(g["end"]):  # type: ignore[arg-type]
                s.counts["strict_span_tp"] += 1
            else:
                s.errors.append({"kind": "wrong_span", "gold": g, "pred": p})
            if metric_agrees(p.get("metric"), g.get("metric")):
                s.counts["value_unit_metric_tp"] += 1
                s.counts["metric_ok"] += 1
            else:
                s.errors.append({"kind": "wrong_metric", "gold": g, "pred": p})
            for name in ("approx", "change"):
                if p.get(name) == g.get(name):
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


def report(s: Score, max_errors: int = 20) -> str:
    """The scores as text, then the errors grouped by kind."""
    lines = [f"gold {s.counts['gold']}  predicted {s.counts['pred']}"]
    for name in ("detection", "value_unit", "strict_span", "value_unit_metric"):
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
