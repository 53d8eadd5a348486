"""The array Viterbi gives jieba's own part-of-speech decisions, probabilities included."""

from __future__ import annotations

import re
from pathlib import Path

import jieba.posseg
import pytest
from jieba.posseg.viterbi import viterbi as jieba_viterbi

from tests.conftest import SEEDS_RAW
from transforms.pos_viterbi import Viterbi, install

MODEL = (jieba.posseg.char_state_tab_P, jieba.posseg.start_P, jieba.posseg.trans_P, jieba.posseg.emit_P)
GOLD_TEXTS = Path(__file__).parent / "gold" / "texts"


def _runs() -> list[str]:
    """Runs of Han characters (what jieba's HMM is given) from the seeds and the gold excerpts."""
    runs: set[str] = set()
    for path in [*sorted(SEEDS_RAW.glob("*.txt")), *sorted(GOLD_TEXTS.glob("*.txt"))]:
        text = path.read_text(encoding="utf-8")
        runs.update(re.findall(r"[\u4e00-\u9fff]{1,12}", text))
    return sorted(runs)


def test_routes_and_probabilities_equal_jiebas_on_every_run_of_the_dev_texts() -> None:
    fast = Viterbi(*MODEL)
    runs = _runs()
    assert len(runs) > 3000
    for run in runs:
        assert fast(run) == jieba_viterbi(run, *MODEL), run


@pytest.mark.parametrize("run", ["乾", "〇〇", "犇犇犇", "鱻龘", "的的的的的的的的的的的的的的的的的的的的"])
def test_rare_and_repeated_characters_and_ties_go_as_in_jieba(run: str) -> None:
    assert Viterbi(*MODEL)(run) == jieba_viterbi(run, *MODEL)


def test_install_takes_over_only_from_jiebas_own_function() -> None:
    own = jieba.posseg.viterbi
    try:
        jieba.posseg.viterbi = jieba_viterbi
        assert install(jieba.posseg) and isinstance(jieba.posseg.viterbi, Viterbi)
        assert install(jieba.posseg)  # already installed: kept
        jieba.posseg.viterbi = lambda *args: (0.0, [])  # someone else's: left alone
        assert not install(jieba.posseg)
    finally:
        jieba.posseg.viterbi = own


def test_the_tagger_gives_the_same_words_and_tags_with_either() -> None:
    text = "截至2021年10月，共制定整改措施328条，协议投资额1975亿元，同比增长11%，新增学位5490个。"
    own = jieba.posseg.viterbi
    try:
        jieba.posseg.viterbi = jieba_viterbi
        expected = [(p.word, p.flag) for p in jieba.posseg.lcut(text)]
        jieba.posseg.viterbi = Viterbi(*MODEL)
        assert [(p.word, p.flag) for p in jieba.posseg.lcut(text)] == expected
    finally:
        jieba.posseg.viterbi = own
