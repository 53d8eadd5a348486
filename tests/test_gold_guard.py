"""No rule or list names a figure, phrase or sentence of a gold file (issue 22).

The extractor must generalise: every file under ``seeds/`` (except the seed texts in
``seeds/raw/``) and every ``transforms/*.py`` is scanned for what only the gold of the
work-report excerpts 101-108 could have taught it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from flows.quality.evaluate import load_jsonl
from tests.conftest import GOLD_DEV, GOLD_TEXTS, REPO_ROOT

WINDOW = 12  # characters of a gold sentence that no rule file may hold


def rule_files() -> list[Path]:
    seeds = REPO_ROOT / "seeds"
    listed = [p for p in seeds.rglob("*") if p.is_file() and (seeds / "raw") not in p.parents]
    return sorted([*listed, *(REPO_ROOT / "transforms").glob("*.py")])


@cache
def rule_texts() -> dict[str, str]:
    return {
        str(p.relative_to(REPO_ROOT)): p.read_text(encoding="utf-8", errors="replace") for p in rule_files()
    }


def held_out_gold() -> list[dict[str, object]]:
    return [g for f in sorted(GOLD_DEV.glob("1[0-9][0-9]_*.jsonl")) for g in load_jsonl(f)]


def named_in_rules(strings: set[str]) -> list[tuple[str, str]]:
    return sorted((path, s) for path, text in rule_texts().items() for s in strings if s in text)


def figure_pattern(figure: str) -> re.Pattern[str]:
    """The figure as a whole number: 75亿元 is not named by 1975亿元."""
    digit = "0-9０-９"
    head = f"(?<![{digit}.．])" if figure[0].isdigit() else ""
    tail = f"(?![{digit}])" if figure[-1].isdigit() else ""
    return re.compile(head + re.escape(figure) + tail)


def gold_sentence_windows() -> set[str]:
    """Every 12-character window, without whitespace, of a sentence that holds a gold mention."""
    windows: set[str] = set()
    by_doc: dict[str, list[tuple[int, int]]] = {}
    for g in held_out_gold():
        by_doc.setdefault(str(g["doc"]), []).append((int(g["start"]), int(g["end"])))  # type: ignore[call-overload]
    for doc, spans in by_doc.items():
        text = (GOLD_TEXTS / doc).read_text(encoding="utf-8")
        for m in re.finditer(r"[^。！？!?\n]+[。！？!?]?", text):
            if any(s < m.end() and e > m.start() for s, e in spans):
                sentence = m.group()
                windows.update(
                    w
                    for w in (sentence[i : i + WINDOW] for i in range(len(sentence) - WINDOW + 1))
                    if not any(c.isspace() for c in w)
                )
    return windows


def test_the_guard_sees_the_eight_held_out_gold_files_and_the_rule_files() -> None:
    assert {str(g["doc"])[:3] for g in held_out_gold()} == {str(n) for n in range(101, 109)}
    assert any(p.name == "units.csv" for p in rule_files())
    assert any(p.name == "fct_metric.py" for p in rule_files())
    assert not any("raw" in p.relative_to(REPO_ROOT).parts for p in rule_files())


def test_a_figure_is_matched_as_a_whole_number() -> None:
    assert figure_pattern("75亿元").search("投资75亿元")
    assert not figure_pattern("75亿元").search("协议投资额1975亿元")
    assert not figure_pattern("2.75亿元").search("12.75亿元")
    assert not figure_pattern("2026").search("20261")


def test_no_seed_list_or_transform_names_a_gold_figure() -> None:
    figures = {
        str(g["text"])
        for g in held_out_gold()
        if len(str(g["text"])) >= 4 and any(c.isdigit() for c in str(g["text"]))
    }
    found = sorted(
        (path, f) for path, text in rule_texts().items() for f in figures if figure_pattern(f).search(text)
    )
    assert not found, f"gold figures of 101-108 named in rules: {found}"


# Names of the national statistical bulletin's headline indicators, in jieba's user dictionary
# (seeds/genre_terms.txt) since 2026-11-23, before the gold of 101-108 existed: vocabulary that
# keeps jieba from splitting 社会消费品零售总额, not a rule fitted to those files. The list is
# closed: a gold phrase added to any rule file after that date fails the test.
PRE_GOLD_VOCABULARY = frozenset(
    {
        ("seeds/genre_terms.txt", "一般公共预算收入"),
        ("seeds/genre_terms.txt", "人均可支配收入"),
        ("seeds/genre_terms.txt", "固定资产投资"),
        ("seeds/genre_terms.txt", "地区生产总值"),
        ("seeds/genre_terms.txt", "城镇新增就业"),
        ("seeds/genre_terms.txt", "居民人均可支配收入"),
        ("seeds/genre_terms.txt", "常住人口城镇化率"),
        ("seeds/genre_terms.txt", "社会消费品零售总额"),
        ("seeds/genre_terms.txt", "科技型中小企业"),
        # The headline indicators issue 27 itself names, as the metric concepts' names and aliases.
        *(
            (f"seeds/{name}", phrase)
            for name in ("metric_concepts.csv", "metric_concept_aliases.csv")
            for phrase in (
                "一般公共预算收入",
                "人均可支配收入",
                "固定资产投资",
                "地区生产总值",
                "城镇新增就业",
                "实际使用外资",
                "居民人均可支配收入",
                "社会消费品零售总额",
            )
        ),
    }
)


def test_no_seed_list_or_transform_names_a_gold_metric_phrase() -> None:
    phrases = {str(g["metric"]) for g in held_out_gold() if len(str(g.get("metric") or "")) >= 6}
    found = [hit for hit in named_in_rules(phrases) if hit not in PRE_GOLD_VOCABULARY]
    assert not found, f"gold metric phrases of 101-108 named in rules: {found}"


def test_no_seed_list_or_transform_quotes_a_gold_sentence() -> None:
    windows = gold_sentence_windows()
    found = sorted(
        {
            (path, text[i : i + WINDOW])
            for path, text in rule_texts().items()
            for i in range(len(text) - WINDOW + 1)
            if text[i : i + WINDOW] in windows
        }
    )
    assert not found, f"12-character windows of gold sentences of 101-108 found in rules: {found}"
