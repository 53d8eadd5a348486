"""The extractor on the dev gold, scored by the reference scorer and by `taizhang eval`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import extract_rows
from flows.evaluate import load_jsonl, score
from tests.conftest import GOLD_DEV, SEEDS_RAW, TESTS_DIR


@pytest.fixture(scope="module")
def predictions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = extract_rows([SEEDS_RAW])
    out = tmp_path_factory.mktemp("pred") / "pred.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return out


def test_reference_scorer_gives_the_issue_targets_on_the_dev_gold(predictions: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(TESTS_DIR / "gold" / "score.py"), str(GOLD_DEV), str(predictions), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    s = json.loads(out.stdout)
    assert s["value_unit"]["f1"] >= 0.99
    assert s["strict_span"]["f1"] >= 0.98
    assert s["value_unit_metric"]["f1"] >= 0.90
    assert s["approx_accuracy"] >= 0.97
    assert s["change_accuracy"] >= 0.97


def test_own_evaluator_agrees_with_the_reference_scorer(predictions: Path) -> None:
    gold = [g for f in sorted(GOLD_DEV.glob("*.jsonl")) for g in load_jsonl(f)]
    s = score(gold, load_jsonl(predictions))
    assert s.prf("value_unit")[2] >= 0.99
    assert s.prf("value_unit_metric")[2] >= 0.90
