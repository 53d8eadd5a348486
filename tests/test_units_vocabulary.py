"""The unit vocabulary (seeds/units.csv) is complete against its sources and consistent.

Every word that jieba's dictionary tags as a quantifier (``q``) and every word of JioNLP's
quantifier lexicon is either a unit or listed, with a reason, in seeds/units_excluded.csv;
see seeds/sources/README.md for the sources and the ``source`` column.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jieba
import polars as pl
import pytest

from tests.conftest import REPO_ROOT, extract

SEEDS = REPO_ROOT / "seeds"
SOURCES = {"grammar", "si", "market", "imperial", "currency", "jieba_q", "jionlp", "seed"}


@cache
def units() -> pl.DataFrame:
    return pl.read_csv(SEEDS / "units.csv", schema_overrides={"factor": pl.Float64})


@cache
def excluded() -> pl.DataFrame:
    return pl.read_csv(SEEDS / "units_excluded.csv")


def known_kinds() -> set[str]:
    suite = json.loads((REPO_ROOT / "expectations" / "dim_unit.json").read_text(encoding="utf-8"))
    (kinds,) = [
        e["kwargs"]["value_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "kind"
    ]
    return set(kinds)


def jieba_quantifiers() -> set[str]:
    lines = (Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8").splitlines()
    return {parts[0] for parts in (line.split() for line in lines) if parts[2:3] == ["q"]}


def jionlp_quantifiers() -> set[str]:
    lines = (SEEDS / "sources" / "jionlp_quantifiers_stat.txt").read_text(encoding="utf-8").splitlines()
    return {line.split("\t")[0] for line in lines if line.strip()}


def covered() -> set[str]:
    return set(units()["written"]) | set(excluded()["word"])


def test_the_sources_are_read() -> None:
    # jieba 0.42.1 (pinned) tags 232 words q; the JioNLP file has 207 lines, one word each.
    assert len(jieba_quantifiers()) == 232 and {"个", "公里", "美元"} <= jieba_quantifiers()
    assert len(jionlp_quantifiers()) == 207 and {"元", "个", "平方米"} <= jionlp_quantifiers()


def test_every_jieba_quantifier_is_a_unit_or_excluded_with_a_reason() -> None:
    assert sorted(jieba_quantifiers() - covered()) == []


def test_every_jionlp_quantifier_is_a_unit_or_excluded_with_a_reason() -> None:
    assert sorted(jionlp_quantifiers() - covered()) == []


def test_excluded_words_have_a_reason_and_are_not_units() -> None:
    ex = excluded()
    assert ex.columns == ["word", "reason"]
    assert ex["word"].is_duplicated().sum() == 0
    assert ex.filter(pl.col("reason").is_null() | (pl.col("reason").str.len_chars() < 10)).height == 0
    assert sorted(set(ex["word"]) & set(units()["written"])) == []


def test_every_unit_has_a_known_kind_a_positive_factor_and_a_source() -> None:
    u = units()
    assert u.columns == ["written", "unit", "canonical", "kind", "factor", "noun_side", "source"]
    assert u.null_count().sum_horizontal().item() == 0
    assert sorted(set(u["kind"]) - known_kinds()) == []
    assert u.filter(pl.col("factor") <= 0).height == 0
    assert set(u["noun_side"]) <= {"after", "before"}
    sources = {s for row in u["source"] for s in row.split("+")}
    assert sorted(sources - SOURCES) == []


def test_written_forms_are_unique() -> None:
    assert units().filter(pl.col("written").is_duplicated())["written"].to_list() == []


def test_one_canonical_unit_is_one_kind() -> None:
    kinds = units().group_by("canonical").agg(pl.col("kind").unique().alias("kinds"))
    assert kinds.filter(pl.col("kinds").list.len() > 1).rows() == []


def test_every_spelling_of_a_unit_converts_alike_and_a_canonical_unit_to_itself() -> None:
    u = units()
    variants = u.group_by("unit").agg(pl.struct("canonical", "kind", "factor").n_unique().alias("n"))
    assert variants.filter(pl.col("n") > 1)["unit"].to_list() == []
    to_itself = (pl.col("unit") == pl.col("canonical")) & (pl.col("factor") != 1)
    assert u.filter(to_itself)["written"].to_list() == []


def test_the_existing_rows_of_the_seeds_keep_their_values() -> None:
    u = {r["written"]: r for r in units().iter_rows(named=True)}
    assert (u["亩"]["canonical"], u["亩"]["factor"]) == ("平方米", pytest.approx(10000 / 15))
    assert (u["人次"]["noun_side"], u["名"]["canonical"], u["‰"]["factor"]) == ("before", "人", 0.1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("出台地方性法规3部。", [("3部", 3, "部", "count")]),
        ("运动员获得金牌12枚。", [("12枚", 12, "枚", "count")]),
        ("个人所得税税率由五档简并为两档。", [("五档", 5, "档", "count"), ("两档", 2, "档", "count")]),
        ("全年发电量120亿度。", [("120亿度", 12_000_000_000, "度", "energy")]),
        ("棉花产量达到2000万担。", [("2000万担", 20_000_000, "担", "mass")]),
        ("铁路货物周转量达到300亿吨公里。", [("300亿吨公里", 30_000_000_000, "吨公里", "other")]),
        ("航班起降8万架次。", [("8万架次", 80_000, "架次", "count")]),
        ("增速连续6个季度居前列。", [("6个季度", 6, "个季度", "duration")]),
    ],
)
def test_units_from_the_sources_are_extracted(text: str, expected: list[tuple[str, float, str, str]]) -> None:
    assert [(m["text"], m["number"], m["unit"], m["kind"]) for m in extract(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "两岸同胞心连心。",
        "上午十点召开会议。",
        "各地区四面八方支援灾区。",
        "坚持两手抓、两手都要硬。",
        "中柬泰三方会晤取得成果。",
        "省市县三级联动。",
        "庆祝建党100周年。",
        "加快汽车零部件产业发展。",
        "推进六盘山保护。",
    ],
)
def test_excluded_classifiers_make_no_mention(text: str) -> None:
    assert extract(text) == []
