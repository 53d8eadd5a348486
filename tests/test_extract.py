"""The extractor: each form of the genre pinned with a tiny sentence, what must not be
extracted, hand-written cases in other provinces' styles, and arbitrary text."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.quality.evaluate import metric_agrees
from tests.conftest import TESTS_DIR, extract


def _one(text: str) -> dict[str, object]:
    got = extract(text)
    assert len(got) == 1, got
    return got[0]


def _values(text: str) -> list[tuple[str, float, str]]:
    return [(str(m["text"]), float(m["number"]), str(m["unit"])) for m in extract(text)]  # type: ignore[arg-type]


def test_multiplier_is_applied_to_number_and_not_kept_in_unit() -> None:
    m = _one("盘活闲置房产13.79万平方米。")
    assert (m["text"], m["number"], m["unit"], m["kind"]) == ("13.79万平方米", 137900, "平方米", "area")


def test_money_in_yi_yuan_and_yuan_renminbi() -> None:
    assert _values("协议投资额1975亿元，注册资本3.4亿元人民币。") == [
        ("1975亿元", 197500000000, "元"),
        ("3.4亿元人民币", 340000000, "元"),
    ]


def test_canonical_value_goes_through_the_unit_factor() -> None:
    m = _one("全年营造林17.1万亩。")
    assert m["unit_canonical"] == "平方米"
    assert m["value_canonical"] == pytest.approx(171000 * 10000 / 15)


def test_fullwidth_digits_and_thousands_separators() -> None:
    assert _values("排查隐患１２３处，发放贷款1，234万元，新建1,500套。") == [
        ("１２３处", 123, "处"),
        ("1，234万元", 12340000, "元"),
        ("1,500套", 1500, "套"),
    ]


def test_chinese_numeral_counts() -> None:
    assert _values("举办两期培训班，形成一百二十项清单，组织三千五百人参加。") == [
        ("两期", 2, "期"),
        ("一百二十项", 120, "项"),
        ("三千五百人", 3500, "人"),
    ]


def test_percent_forms_including_percentage_points_and_baifenzhi() -> None:
    assert _values("增长6.5%，提高1.2个百分点，占百分之十五。") == [
        ("6.5%", 6.5, "%"),
        ("1.2个百分点", 1.2, "个百分点"),
        ("百分之十五", 15, "%"),
    ]


def test_ranges_are_two_mentions_and_the_head_takes_the_unit() -> None:
    assert _values("每村配备2-3名网格员，划分5~8个网格，抽调2至3名骨干。") == [
        ("2", 2, "名"),
        ("3名", 3, "名"),
        ("5", 5, "个"),
        ("8个", 8, "个"),
        ("2", 2, "名"),
        ("3名", 3, "名"),
    ]


def test_compound_counts_are_one_mention_per_unit() -> None:
    assert _values("明确5方面24项重点任务。") == [("5方面", 5, "方面"), ("24项", 24, "项")]


def test_a_list_sharing_one_unit_gives_each_number_the_unit() -> None:
    assert _values("三地面积分别为10.6万、3.8万、3.3万平方公里。") == [
        ("10.6万", 106000, "平方公里"),
        ("3.8万", 38000, "平方公里"),
        ("3.3万平方公里", 33000, "平方公里"),
    ]


def test_approx_markers_before_inside_and_after() -> None:
    got = extract("投资约180亿元，企业900余家，开展50多次，保持200个以上，控制在55人以下，不少于2名。")
    assert [m["approx"] for m in got] == [
        "about",
        "more_than",
        "more_than",
        "more_than",
        "less_than",
        "at_least",
    ]
    assert got[1]["text"] == "900余家"


def test_change_verbs_give_increase_and_decrease_but_new_counts_are_levels() -> None:
    got = extract("产值同比增长11%，下降11.9%，新增13家企业，增加学位450个，提高到95%。")
    assert [(m["text"], m["change"]) for m in got] == [
        ("11%", "increase"),
        ("11.9%", "decrease"),
        ("13家", None),
        ("450个", "increase"),
        ("95%", None),
    ]


def test_one_change_verb_governs_a_whole_list() -> None:
    got = extract("各项指标分别增长4.2%、5.9%和6.3%。")
    assert [m["change"] for m in got] == ["increase", "increase", "increase"]


@pytest.mark.parametrize(
    "text",
    [
        "截至2021年10月，召开会议。",  # dates
        "市委第九轮巡视，十一届市委。",  # ordinals
        "一是加强学习。（一）提高站位。1.针对问题",  # numbering
        "建设5G网络，PM2.5浓度，B1线开通。",  # codes
        "落实“十四五”规划和“1+3+4”产业体系，“90后”干部。",  # short quoted names
        "印发《三年行动计划（2021-2023年）》。",  # titles
        "落实一岗双责，做到两个维护。",  # slogans
        "电话022-12388，地址人民路1060号C908房间。",  # contacts and addresses
        "市十二届人大三次会议召开。",  # session numbering
    ],
)
def test_things_that_are_not_quantities_are_not_extracted(text: str) -> None:
    assert extract(text) == []


def test_metric_phrase_after_the_classifier_or_before_the_number() -> None:
    got = extract("制定328条整改措施，协议投资额1975亿元。")
    assert [m["metric"] for m in got] == ["整改措施", "协议投资额"]


def test_a_growth_rate_takes_the_metric_that_grew() -> None:
    got = extract("战略性新兴产业完成产值2227亿元，同比增长11%。")
    assert got[1]["metric"] == got[0]["metric"]
    assert "产值" in str(got[1]["metric"])


def test_as_of_comes_from_jiezhi_else_from_the_period_else_none() -> None:
    got = extract(
        "截至2021年10月，完成21家。\n截至2022年2月10日，走访221次。\n2021年前三季度，收入395.77亿元。\n召开3次会议。"
    )
    assert [(m["as_of"], m["as_of_source"]) for m in got] == [
        (dt.date(2021, 10, 31), "sentence"),
        (dt.date(2022, 2, 10), "sentence"),
        (dt.date(2021, 9, 30), "period"),
        (None, "none"),
    ]
    assert got[2]["period"] == "2021年前三季度"


def _cases() -> list[dict[str, object]]:
    path = TESTS_DIR / "fixtures" / "extract_cases.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: str(c["id"]))
def test_hand_written_cases_from_other_provinces_and_work_reports(case: dict[str, object]) -> None:
    got = extract(str(case["text"]))
    want = [
        (
            m["text"],
            pytest.approx(float(m["number"])),
            str(m["unit"]).replace("％", "%"),
            m["approx"],
            m["change"],
        )
        for m in case["mentions"]  # type: ignore[union-attr]
    ]
    have = [(m["text"], m["number"], m["unit"], m["approx"], m["change"]) for m in got]
    assert have == want, case.get("note")


def test_metric_phrases_on_hand_written_cases_agree_at_least_85_percent() -> None:
    agree = total = 0
    for case in _cases():
        got = {str(m["text"]): m for m in extract(str(case["text"]))}
        for m in case["mentions"]:  # type: ignore[union-attr]
            if m.get("metric") and m["text"] in got:
                total += 1
                agree += metric_agrees(got[m["text"]]["metric"], m["metric"])
    # Every one of the fixture's 391 mentions that name a metric is found (the test above pins
    # the mentions); how many metric phrases agree is the extractor's quality, a floor.
    assert total == 391
    assert agree / total >= 0.85


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
    | st.text(
        alphabet="0123456789１２三十百千万亿余多个项名%％元亿-、，。“”《》第约近增长下降\n ", max_size=80
    )
)
def test_arbitrary_text_never_raises_and_offsets_slice_back(text: str) -> None:
    for m in extract(text):
        assert text[m["start_char"] : m["end_char"]] == m["text"]  # type: ignore[misc]
        assert m["unit"] is not None and m["number"] is not None


def test_traditional_chinese_numerals_units_and_multipliers() -> None:
    assert _values("建成3個中心，投資1.5億元，兩萬人參與，整改問題12項。") == [
        ("3個", 3, "個"),
        ("1.5億元", 150000000, "元"),
        ("兩萬人", 20000, "人"),
        ("12項", 12, "項"),
    ]
