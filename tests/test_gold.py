"""The extractor on the 13 dev gold documents, scored by the reference scorer and by `taizhang eval`.

The targets are those of issue 22, held with the reference scorer ``tests/gold/score.py``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import eval_text_paths, extract_rows, main
from flows.quality.evaluate import PRF_NAMES, load_gold, load_jsonl, metric_agrees, score
from tests.conftest import GOLD_DEV, GOLD_SCORER, GOLD_TEXTS, SEEDS_RAW

GOLD_DOCS = sorted({str(g["doc"]) for g in load_gold(GOLD_DEV)})


@pytest.fixture(scope="module")
def predictions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = extract_rows([SEEDS_RAW, GOLD_TEXTS])
    out = tmp_path_factory.mktemp("pred") / "pred.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return out


def reference(predictions: Path, doc: str | None = None) -> dict:
    """The reference scorer's JSON summary, of every gold document or of one."""
    cmd = [sys.executable, str(GOLD_SCORER), str(GOLD_DEV), str(predictions), "--json"]
    out = subprocess.run(
        [*cmd, *(["--docs", doc] if doc else [])], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def pooled(predictions: Path) -> dict:
    return reference(predictions)


@pytest.fixture(scope="module")
def per_doc(predictions: Path) -> dict[str, dict]:
    return {doc: reference(predictions, doc) for doc in GOLD_DOCS}


def test_dev_gold_is_the_five_seeds_and_eight_work_report_excerpts() -> None:
    assert len(list(GOLD_DEV.glob("*.jsonl"))) == 13
    assert [d[:3] for d in GOLD_DOCS] == ["000", "001", "002", "003", "004", *map(str, range(101, 109))]


def test_every_gold_mention_slices_back_from_its_text() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in [*SEEDS_RAW.iterdir(), *GOLD_TEXTS.iterdir()]}
    assert set(GOLD_DOCS) <= set(texts), set(GOLD_DOCS) - set(texts)
    bad = [g for g in load_gold(GOLD_DEV) if texts[str(g["doc"])][g["start"] : g["end"]] != g["text"]]  # type: ignore[misc]
    assert not bad, bad[:5]


@pytest.mark.parametrize(
    ("figure", "target"),
    [
        ("value_unit", 0.99),
        ("strict_span", 0.98),
        ("value_unit_metric", 0.92),
        ("approx_accuracy", 0.98),
        ("change_accuracy", 0.98),
    ],
)
def test_reference_scorer_meets_the_issue_target_on_the_13_dev_documents(
    pooled: dict, figure: str, target: float
) -> None:
    assert pooled["documents"] == 13
    got = pooled[figure]["f1"] if isinstance(pooled[figure], dict) else pooled[figure]
    assert got >= target, f"{figure} {got:.4f} < {target}"


def test_every_dev_document_has_value_unit_f1_of_at_least_0_95(per_doc: dict[str, dict]) -> None:
    low = {doc: s["value_unit"]["f1"] for doc, s in per_doc.items() if s["value_unit"]["f1"] < 0.95}
    assert not low, f"value_unit F1 below 0.95: {low}"


def test_own_evaluator_gives_the_reference_scorer_figures_per_document(
    predictions: Path, per_doc: dict[str, dict]
) -> None:
    ours = score(load_gold(GOLD_DEV), load_jsonl(predictions))
    assert sorted(ours.docs) == GOLD_DOCS
    for doc, ref in per_doc.items():
        assert ours.docs[doc].figures() == ref, doc


def test_own_evaluator_gives_the_reference_scorer_figures_pooled(predictions: Path, pooled: dict) -> None:
    assert score(load_gold(GOLD_DEV), load_jsonl(predictions)).figures() == pooled


def test_macro_figures_are_the_mean_of_the_reference_per_document_figures(
    predictions: Path, per_doc: dict[str, dict]
) -> None:
    macro = score(load_gold(GOLD_DEV), load_jsonl(predictions)).macro_figures()
    assert macro["documents"] == 13
    for name in PRF_NAMES:
        for k in ("precision", "recall", "f1"):
            mean = sum(s[name][k] for s in per_doc.values()) / len(per_doc)
            assert macro[name][k] == pytest.approx(mean, abs=1e-4), (name, k)  # type: ignore[index]
    for name in ("approx_accuracy", "change_accuracy", "metric_accuracy"):
        mean = sum(s[name] for s in per_doc.values()) / len(per_doc)
        assert macro[name] == pytest.approx(mean, abs=1e-4), name


def test_own_evaluator_agrees_with_the_reference_scorer_on_crafted_cases(tmp_path: Path) -> None:
    """A tie between two overlaps, unit aliases, an empty approx, a doc given as a path,
    a clause for a metric, a borderline gold, a prediction without offsets, a spurious one."""
    gold = [
        {"doc": "a.txt", "start": 0, "end": 4, "text": "12万元", "number": 120000, "unit": "元",
         "approx": None, "change": None, "metric": "资金", "borderline": False},
        {"doc": "a.txt", "start": 4, "end": 8, "text": "3平米", "number": 3, "unit": "平米",
         "approx": None, "change": None, "metric": "面积", "borderline": False},
        {"doc": "a.txt", "start": 10, "end": 12, "text": "5个", "number": 5, "unit": "个",
         "approx": None, "change": None, "metric": "项目", "borderline": True},
        {"doc": "a.txt", "start": 14, "end": 18, "text": "40万元", "number": 400000, "unit": "元",
         "approx": None, "change": None, "metric": "衔接资金", "borderline": False},
    ]  # fmt: skip
    pred = [
        {"doc": "dir/a.txt", "start": 2, "end": 6, "number": 3, "unit": "平方米",
         "approx": "", "metric": "面积"},
        {"doc": "a.txt", "start": 14, "end": 18, "number": 400000, "unit": "元人民币",
         "metric": "用于乡村振兴的衔接资金"},
        {"doc": "a.txt", "start": 10, "end": 12, "number": 5, "unit": "个"},
        {"doc": "a.txt", "start": None, "end": 3, "number": 1, "unit": "个"},
        {"doc": "a.txt", "start": 20, "end": 22, "number": 7, "unit": "人"},
    ]  # fmt: skip
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / "a.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gold), encoding="utf-8")
    (tmp_path / "pred.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pred), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(GOLD_SCORER), str(tmp_path / "gold"), str(tmp_path / "pred.jsonl"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    ref = json.loads(out.stdout)
    assert ref["value_unit"]["tp"] == 2  # the tie goes to the later gold mention, 3平米
    assert ref["value_unit_metric"]["tp"] == 1
    assert score(gold, pred).figures() == ref  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gold", "pred", "agree"),
    [
        ("高新技术产业产值占规上工业比重", "比重", False),  # a fragment
        ("衔接资金", "用于乡村振兴的衔接资金", False),  # a clause around it
        ("衔接资金", "乡村振兴衔接资金", True),  # half as long or more
        ("县（市、区）", "县", True),  # the aside dropped
        ("“十四五”规划目标任务", "十四五规划目标任务", True),  # quotation marks dropped
        ("进出口总额", "出口总额", True),
        ("粮食产量", "产量粮食", True),  # Dice of the character sets
        ("", "产量", False),
    ],
)
def test_metric_rule_is_the_reference_scorers(gold: str, pred: str, agree: bool) -> None:
    spec = importlib.util.spec_from_file_location("gold_score", GOLD_SCORER)
    assert spec and spec.loader
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    assert ref.metric_match(gold, pred) is agree
    assert metric_agrees(gold, pred) is agree
    assert metric_agrees(pred, gold) is agree


def test_eval_reads_the_seeds_and_the_texts_beside_the_gold_by_default() -> None:
    assert eval_text_paths(GOLD_DEV) == [SEEDS_RAW, GOLD_TEXTS]


def test_eval_json_has_every_document_the_macro_and_the_pooled_figures(
    capsys: pytest.CaptureFixture[str], predictions: Path, pooled: dict, per_doc: dict[str, dict]
) -> None:
    """``taizhang eval`` extracts the same texts as ``predictions``: its figures are the reference
    scorer's on those predictions, each document's and pooled, and its macro their mean."""
    assert main(["eval", str(GOLD_DEV), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(out["documents"]) == GOLD_DOCS
    assert out["documents"] == per_doc
    assert out["pooled"] == pooled
    assert out["macro"] == score(load_gold(GOLD_DEV), load_jsonl(predictions)).macro_figures()


def test_eval_prints_a_row_per_document_then_macro_and_pooled(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(GOLD_DEV), "--errors", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["document", "gold", "pred"]
    assert [line.split()[0] for line in lines[1:14]] == GOLD_DOCS
    assert lines[14].startswith("macro (13 documents)")
    assert lines[15].startswith("pooled")
