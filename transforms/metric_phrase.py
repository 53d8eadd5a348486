"""The metric phrase: the shortest noun phrase naming what a number measures.

This is the one place that leaves Polars for Python, because jieba's POS tagger
is a Python library: it runs only on two short windows per mention (the clause
before the number and the words after its unit), never on whole documents.

Rules (the annotation guide's, made operational), tried in this order:
1. a noun phrase right after the unit (``制定328条整改措施`` → 整改措施), skipping a
   second count of a compound (``5方面24项重点任务`` → 重点任务) and a relative
   clause ending in 的 (``40名表现突出的学员`` → 学员);
2. the noun phrase ending just before the number, after skipping the verbs and
   adverbs that lead up to it (``协议投资额1975亿元``, ``累计完成…企业注册154个``);
3. a verbal noun after or before the number (``4次巡视``, ``完成投资151亿元``);
4. the metric of the previous figure in the same sentence, for a change or a
   ratio without a noun of its own (``产值2227亿元，同比增长11%`` → 产值).
A quoted term (“举一反三”整改事项) is one token, and a word followed by a noun
suffix from ``seeds/noun_suffixes.txt`` becomes one noun (对接+会 → 对接会).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from functools import lru_cache

import polars as pl

from transforms import pos_viterbi
from transforms.reference import Reference

_STOP = re.compile(r"[，,。；;：:！？!?（）()【】\[\]\s、]")
# A clause for 分别: its subject is a list, so 、 does not end it (小麦、玉米产量分别达…).
_CLAUSE_STOP = re.compile(r"[，,。；;：:！？!?【】\[\]\s]")
_RIGHT_WINDOW = 22
_LEFT_WINDOW = 30
_NUMERAL_UNIT = re.compile(
    r"^(?:、|至|到|-|—|~|～)?[0-9０-９.．零〇一二两三四五六七八九十百千万亿余多]+[^\s0-9０-９、]{1,2}?(?=[^0-9０-９]|$)"
)
# 突破百万吨大关, 迈上万亿元台阶: the noun after the amount frames it; what it measures is before.
_FRAME = re.compile(r"^(?:大关|台阶|关口|量级|规模以上)")
# A number followed by these is predicative (200个以上): its noun stands before it.
_PREDICATIVE = re.compile(r"^(?:以上|以下|左右|以内|及以上|及以下|上下)")
# Words between a metric and its number that qualify the number, not the metric:
# 标准提高到每人每年640元, 数量比2020年翻一番, 折合人民币1,260万元.
_CLAUSE_TAIL = re.compile(
    r"(?:(?:每人|人均|每户|户均|每年|每月|每天|月人均|年人均|月均|年均)+"
    r"|(?:比|较|与|从|由|到|至)?(?:(?:[0-9０-９]{4}|[〇零一二三四五六七八九]{4})年(?:底|末)?|上年|去年|同期)(?:相比|的)?|人民币)+$"
)
# 较去年同期提高12个百分点, 较“十三五”末改善, 较成立时增加: the comparison base is not what changed.
_COMPARISON = re.compile(
    r"(?:较|比|与|同比)(?:(?:[0-9０-９]{4}|[〇零一二三四五六七八九]{4})年|上年|去年|上年同期|去年同期|同期|“[^”]{1,8}”(?:末|初|期间)?)(?:相比)?"
    r"|较[\u4e00-\u9fff]{1,4}?时"
)
# A parenthetical aside inside a noun phrase: 试点县（市、区）, 联络员(信息员).
_ASIDE = re.compile(r"（[^（）]{0,12}）|\([^()]{0,12}\)")
# Words that qualify the number, not the thing measured: never the head of a metric phrase.
_ADVERBIAL = frozenset(
    {"年均", "人均", "月人均", "年人均", "月均", "户均", "累计", "同比", "共计", "合计", "分别", "均", "全年"}
)
_PLACE = re.compile(r"(?:区|县|市|镇|乡|街道|村|城|省|州|盟|旗)$")
# Tags of a real noun: the head of a metric phrase.
_CORE = {
    "n",
    "nr",
    "nr1",
    "nr2",
    "nrj",
    "nrf",
    "ns",
    "nsf",
    "nt",
    "nz",
    "nl",
    "ng",
    "j",
    "l",
    "eng",
    "QUOTE",
    "NS",
}
# Tags that may sit inside a noun phrase, before its head (重点, 新建, 优质, 全区, 见习).
_INSIDE = {*_CORE, "vn", "an", "a", "b", "s", "f", "h", "k", "m", "g"}
_SKIP = {
    "v",
    "vd",
    "vi",
    "d",
    "p",
    "u",
    "uj",
    "ul",
    "uz",
    "ug",
    "uv",
    "ud",
    "c",
    "r",
    "y",
    "ad",
    "f",
    "t",
    "zg",
    "vn",
}
# 占14%, 占比达12%: the number is a share of what stands before 占.
_SHARE = re.compile(r"(?:占|占比)(?:到|达|为|达到)?(?:(?:[0-9０-９]{4}|[〇零一二三四五六七八九]{4})年)?$")
# Scope and manner adverbs that jieba may tag as nouns (全部/n, 全力/n): they begin the predicate.
_SCOPE_WORDS = frozenset(
    {"全部", "全力", "全面", "均", "都", "已", "已经", "正在", "先后", "分别", "共", "累计", "基本"}
)
# Tags of a clause that has a verb but no noun of its own (共, 已, 下发, 参训).
_VERBAL = frozenset({"v", "vd", "vi", "vn", "d", "p", "u", "ul", "uz", "ad"})
_QUOTED = re.compile(r"“[^”]*”|‘[^’]*’|\"[^\"]*\"")
# Tags that are never the noun after a classifier.
_NOT_A_NOUN = frozenset({"v", "vd", "vn", "d", "p", "c", "u", "uj", "ul", "r", "m", "q", "x", "y", "f"})
# Verbs that say nothing of what is measured (达到2,860家): never a metric on their own.
_GENERIC_VERBS = frozenset(
    {"达到", "完成", "实现", "突破", "超过", "累计", "共计", "合计", "为", "有", "是", "达"}
)
_WEAK = {"同比", "比上年", "较上年", "人均", "年均", "其中", "全年", "累计", "共计", "合计", "部分"}

Terms = tuple[tuple[str, int, str], ...]


# A thread that warms the tagger (``warm_tagger``) and an extract thread must not both add words
# to jieba's one dictionary, nor tag with it half-built: the first caller builds it, the
# others wait.
_tagger_lock = threading.Lock()


def _tagger(terms: Terms):
    with _tagger_lock:
        return _built_tagger(terms)


@lru_cache(maxsize=1)
def _built_tagger(terms: Terms):
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    for word, freq, tag in terms:
        jieba.add_word(word, freq=freq, tag=tag)
    pos_viterbi.install(jieba.posseg)  # the same tags, computed over arrays: the hot loop
    return jieba.posseg


def _tokens(text: str, terms: Terms, suffixes: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """POS tokens of a short window, remembered: see ``_window_tagger``."""
    return _window_tagger(terms, suffixes)(text)


@lru_cache(maxsize=4)
def _window_tagger(terms: Terms, suffixes: frozenset[str]) -> Callable[[str], tuple[tuple[str, str], ...]]:
    """``_tag_window`` with a memory of the windows already tagged, per word list.

    Why: POS tagging is the extractor's one slow step (jieba's HMM runs at about 90 k
    characters a second), and windows repeat: the same clause is read for the figure
    after it and the one before, and reports reuse the same phrases (同比增长, 整改措施,
    制定…条) in every issue. The memory is bounded (least recently used windows go), and
    keyed by the window's text only, since the word lists are fixed per tagger.
    """

    @lru_cache(maxsize=200_000)
    def tag(text: str) -> tuple[tuple[str, str], ...]:
        return tuple(_tag_window(text, terms, suffixes))

    return tag


def _tag_window(text: str, terms: Terms, suffixes: frozenset[str]) -> list[tuple[str, str]]:
    """POS tokens of a short window: quotations stay one token, noun suffixes glue on."""
    posseg = _tagger(terms)
    raw: list[tuple[str, str]] = []
    pos = 0
    for m in _QUOTED.finditer(text):
        raw.extend((p.word, p.flag) for p in posseg.lcut(text[pos : m.start()]) if p.word)
        raw.append((m.group(0), "QUOTE"))
        pos = m.end()
    raw.extend((p.word, p.flag) for p in posseg.lcut(text[pos:]) if p.word)
    heads = tuple(x for x in suffixes if len(x) > 1)
    out: list[tuple[str, str]] = []
    for word, tag in raw:
        if tag == "eng" and out and out[-1][0].isdigit():
            out[-1] = (out[-1][0] + word, "nz")  # 5G, 4K: a code is one noun, not a count
            continue
        if tag not in _CORE and len(word) > 1 and word.endswith(heads):
            tag = "NS"  # 试点单位 tagged v by jieba is still a noun: it ends in a noun head
        if word in suffixes and out and out[-1][1] in {*_INSIDE, "v"} and not out[-1][0][-1:].isdigit():
            out[-1] = (out[-1][0] + word, "NS")
        else:
            out.append((word, tag))
    return out


def _agreeing(
    phrase: str, window: str, heads: tuple[str, ...], terms: Terms, suffixes: frozenset[str]
) -> str:
    """``phrase`` read on over a verb to the noun its classifier counts, when it does not end in
    one itself: 3名违规[使用]公车干部 counts 干部 (名 counts people), 300亿元产业[引导]基金 is a
    fund (元 counts money), 4次理论[学习]中心组会议 are meetings (``seeds/unit_heads.csv``).
    Without a head of the right kind within reach the phrase stays as it was."""
    if not heads or phrase.endswith(heads) or not window.startswith(phrase):
        return phrase
    taken = ""
    bridged = 0
    for word, tag in _tokens(window[len(phrase) :], terms, suffixes):
        if word in _SCOPE_WORDS or word in _NOT_HEAD_VERBS:
            break
        if tag in _CORE or tag in {"vn", "b", "a", "s", "g"}:
            taken += word
        elif tag in {"v", "d", "p"} and bridged < 2 and len(taken) <= 2:
            taken += word
            bridged += 1
        else:
            break
        if (phrase + taken).endswith(heads) and tag in _CORE:
            return phrase + taken if len(phrase + taken) <= _LONGEST else phrase
    return phrase


def _right_phrase(after: str, terms: Terms, suffixes: frozenset[str], verbal: bool) -> str | None:
    window = after[:_RIGHT_WINDOW]
    if _PREDICATIVE.match(window) or _FRAME.match(window):
        return None
    skip = _NUMERAL_UNIT.match(window)
    if skip:  # compound count: 5方面24项重点任务, 四方面、29项整改任务 → look past 24项
        window = window[skip.end() :]
    window = _STOP.split(window, maxsplit=1)[0]
    skip = _NUMERAL_UNIT.match(window)
    if skip:  # compound count: 5方面24项重点任务 → look past 24项
        window = window[skip.end() :]
    if not window:
        return None
    phrase: list[tuple[str, str]] = []
    toks = _tokens(window, terms, suffixes)
    for i, (word, tag) in enumerate(toks):
        has_core = any(t in _CORE for _, t in phrase)
        if word in _SCOPE_WORDS:
            break  # 重点工程全部按期完工: a scope adverb (jieba: 全部/n) starts the predicate
        if (
            word == "及"
            and phrase
            and not has_core
            and i + 1 < len(toks)
            and toks[i + 1][0] in {"以上", "以下"}
        ):
            phrase.append((word, tag))  # 三级及以上医院: a grade with its bound stays inside the noun
            continue
        if word in {"以上", "以下"} and phrase and phrase[-1][0] == "及":
            phrase.append((word, "b"))
            continue
        if (
            has_core
            and tag in {"s", "an"}
            and i + 1 < len(toks)
            and toks[i + 1][1] in _CORE
            and toks[i + 1][0] not in _SCOPE_WORDS
        ):
            phrase.append((word, tag))  # 城市地下管廊: a modifier between nouns stays inside the noun
            continue
        if tag in _CORE or (tag in _INSIDE and not has_core) or (tag == "v" and not has_core):
            phrase.append((word, tag))
        elif word == "的":
            if phrase and all(t in _CORE and t not in {"l", "i"} for _, t in phrase):
                break  # 35个特色产业集群的规划: a noun before 的 owns what follows; it is the phrase
            phrase = []  # a relative clause: what follows 的 is the noun phrase
        elif tag in {"vn"} and has_core:
            phrase.append((word, tag))
        else:
            break
    if (
        phrase
        and "".join(w for w, _ in phrase) == window
        and all(t not in {"v", "vn", "d"} for _, t in phrase)
    ):
        return window  # after a classifier comes its noun, even when jieba mistags it (三张清单: 清单/a)
    if not phrase and not verbal and 0 < len(window) <= 2 and toks and toks[0][1] not in _NOT_A_NOUN:
        return window  # 156个村（社区）: a one-character noun jieba tags oddly (村/zg)
    if not phrase and not verbal and toks and len(toks[0][0]) == 1 and toks[0][1] in {"zg", "ng", "g"}:
        return toks[0][0]  # 在120个乡开展试点: the same, before the verb
    while phrase and phrase[-1][1] not in (_CORE | {"vn"}):
        phrase.pop()
    while phrase and phrase[0][1] == "v":
        phrase.pop(0)
    if not phrase:
        if verbal:  # 4次巡视: the action itself is what was counted
            first = _tokens(window, terms, suffixes)[:1]
            return first[0][0] if first and first[0][1] in {"v", "vn"} and len(first[0][0]) > 1 else None
        return None
    if not verbal and not any(t in _CORE for _, t in phrase):
        return None
    if phrase[0][1] == "m":
        return None
    return "".join(w for w, _ in phrase)


def _left_phrase(
    before: str,
    terms: Terms,
    suffixes: frozenset[str],
    verbal: bool,
    cross: bool = False,
    vn_head: bool = True,
) -> str | None:
    parts = _STOP.split(_ASIDE.sub("", before[-_LEFT_WINDOW - 12 :])[-_LEFT_WINDOW:])
    clause = parts[-1]
    if cross:
        # 成立街镇招商专班，共30人; 编印操作指南，发放500余册: a clause with no noun of its own
        # counts the noun that closes the clause before it
        if len(parts) < 2 or any(t not in _VERBAL for _, t in _tokens(clause, terms, suffixes)):
            return None
        clause = parts[-2]
    clause = _COMPARISON.sub("", _CLAUSE_TAIL.sub("", clause))
    toks = _tokens(clause, terms, suffixes)
    if verbal:  # 完成混改出让出清110家: the run of verbs and nouns before the number
        run: list[str] = []
        for word, tag in reversed(toks):
            if tag in {"v", "vn", "l", "j", "NS"} or tag in _CORE:
                run.insert(0, word)
                if len(run) == 4:
                    break
            elif run or tag not in {"d", "p", "u", "uj", "ul"}:
                break
        text = "".join(run)
        return text if len(text) >= 2 and text not in _GENERIC_VERBS else None
    k = len(toks) - 1
    heads = _CORE | {"vn"} if vn_head else _CORE
    while k >= 0 and (toks[k][1] not in heads or toks[k][0] in _GENERIC_VERBS or toks[k][0] in _ADVERBIAL):
        word, tag = toks[k]
        if tag in {"mq", "x"} or (
            tag in {"m", "q"} and re.search(r"[0-9０-９零〇一二两三四五六七八九十百千万亿]", word)
        ):
            return None
        if len(toks) - k > 6:
            return None
        k -= 1
    if k < 0:
        return None
    end = k + 1
    while end < len(toks) and toks[end][1] == "vn" and toks[end][0] not in _GENERIC_VERBS:
        end += 1  # 意向投资: a verbal noun right after the head (but not 突破 in 总里程突破8000公里)
    run = end
    while (
        run < len(toks)
        and run - end < 2
        and toks[run][1] in {"v", "vn"}
        and len(toks[run][0]) == 2
        and toks[run][0] not in _NOT_HEAD_VERBS
        and toks[run][0] not in _ADVERBIAL
    ):
        run += 1
    if end == k + 1 and run > end and all(w in _ADVERBIAL or w in _NOT_HEAD_VERBS for w, _ in toks[run:]):
        # 旅游收入63.2亿元, 环境联合执法50余次: the words right before the number belong to the
        # phrase, whatever jieba's tag, when nothing but adverbs and governing verbs follows them
        end = run
    elif (
        end == k + 1
        and end + 2 == len(toks)
        and toks[end][0] == "的"
        and toks[end + 1][1] in {"v", "vn"}
        and len(toks[end + 1][0]) == 2
        and toks[end + 1][0] not in _NOT_HEAD_VERBS
    ):
        end += 2  # 用于教育的支出2100亿元: the word after 的 heads the phrase
    start = k
    while start - 1 >= 0 and _extends(toks[start - 1]):
        start -= 1
    # 回迁安置房: a one-character head takes the verbs that make it a compound noun
    while (
        len("".join(w for w, _ in toks[start : k + 1])) < 2 and start - 1 >= 0 and toks[start - 1][1] == "v"
    ):
        start -= 1
    start = _bridged_start(toks, start, end, k + 1)
    while start < k and len(re.sub(r"[“”‘’\"]", "", "".join(w for w, _ in toks[start:end]))) > _LONGEST:
        start += 1  # 全省新开工农村供水保障配套基础设施项目: the head's nearest words name it
    phrase = "".join(w for w, _ in toks[start:end])
    if len(phrase) < 2 or phrase in _WEAK:
        return None
    if not cross and all(t in _INSIDE or t in _BRIDGE for _, t in toks[:start]):
        return _coordinated(before, "".join(w for w, _ in toks[:end]), terms, suffixes) or phrase
    return phrase


# What makes a list before the number one subject: 重点水利工程、污水处理等项目; A、B、C占16%;
# A、B零售额合计增长. Without these the last item alone is the subject (建成A、B 1200个 is about B).
_LIST_SUBJECT = re.compile(r"等[\u4e00-\u9fff]{0,6}$|(?:占|合计|共计|总计|均)")


def _coordinated(before: str, tail: str, terms: Terms, suffixes: frozenset[str]) -> str | None:
    """A noun phrase that is the last item of a list joined by 、 takes the whole list, when the
    clause says the items are counted together (``_LIST_SUBJECT``): the items before it are
    taken whole while they are noun phrases, and the first one from its noun on (支持重点节能
    工程 → 重点节能工程)."""
    clause = _CLAUSE_STOP.split(_ASIDE.sub("", before[-_LEFT_WINDOW - 12 :]))[-1]
    items = clause.split("、")
    if len(items) < 2 or not _LIST_SUBJECT.search(items[-1]):
        return None
    taken: list[str] = [tail]
    for item in reversed(items[:-1]):
        toks = _tokens(item, terms, suffixes)
        if toks and all(t in _INSIDE or t in _BRIDGE for _, t in toks) and toks[0][1] not in {"v", "p", "d"}:
            taken.insert(0, item)
            continue
        head = _left_phrase(item, terms, suffixes, verbal=False)
        if head:
            taken.insert(0, head)
        break
    joined = "、".join(taken)
    return joined if len(taken) > 1 and len(joined) <= _LONGEST_LIST else None


# Words that may join two nouns inside one noun phrase: 机场[吞吐]能力, 工程[承包]合同额,
# 群众[反映集中]问题, 教育[的]支出.
_BRIDGE = frozenset({"v", "p", "c", "i", "l", "u", "d", "ad"})
# Verbs that govern the number rather than name what it measures: the head is before them.
_NOT_HEAD_VERBS = _GENERIC_VERBS | frozenset(
    {
        "增长",
        "增加",
        "提高",
        "上升",
        "下降",
        "减少",
        "降低",
        "回落",
        "压减",
        "提升",
        "改善",
        "新增",
        "占",
        "增至",
        "降至",
        "稳定",
        "保持",
        "超",
        "逾",
        "约",
        "近",
        "接近",
        "分别",
    }
)
_BRIDGE_MAX = 3
# Verbs that never stand inside a noun phrase: the clause's own predicate (累计 and kin may).
_PREDICATES = _GENERIC_VERBS - {"累计", "共计", "合计"}
_VAGUE_LEN = 3
# A metric phrase longer than this is a clause, not a name: it is cut from its left.
_LONGEST = 12
# A list subject longer than this names a category after its examples (A、B、C等清洁能源装机):
# the phrase after 等 is the name.
_LONGEST_LIST = 20
# A ratio names its numerator and denominator before it: 数字经济核心产业增加值占GDP比重.
_RATIO_HEADS = ("比重", "比例", "占比", "份额")


# Grade and class words inside a noun: 区属一级公路, 示范级数字车间, 零碳园区, 服务类项目.
_GRADE = re.compile(r"^(?:[零一二三四五六七八九十]级|零|类|级)$")


def _extends(tok: tuple[str, str]) -> bool:
    """Whether a token may stand before the head inside a noun phrase (not a count: 3个, 两项)."""
    word, tag = tok
    return (tag in _INSIDE and tag != "m") or (tag in {"m", "q"} and _GRADE.match(word) is not None)


def _bridged_start(toks: tuple[tuple[str, str], ...], start: int, end: int, head_end: int) -> int:
    """Where a short, vague noun phrase (能力, 合同额, 覆盖率) begins once it reaches over up to three
    words (verbs, adverbs, prepositions, 和) that stand between nouns: the measured thing is often a noun
    phrase with a verb inside (机场吞吐能力, 境外工程承包合同额), and a phrase cut at that verb names
    only its last noun. A bridge that no noun precedes is the clause's own verb and stays out; so
    does one with a generic verb (实现, 完成), and a phrase of four characters or more is taken to
    be specific already (the verb before 规范性文件 in 清理规范性文件 is the predicate)."""
    ratio = toks[end - 1][0].endswith(_RATIO_HEADS) if end > 0 else False

    def vague() -> bool:  # the head noun's length, without the verbs around it (投入+运营)
        first = start
        while first < head_end - 1 and toks[first][1] in _BRIDGE and toks[first][1] not in _CORE:
            first += 1
        return ratio or len("".join(w for w, _ in toks[first:head_end])) <= _VAGUE_LEN

    while start > 0 and vague():
        j = start - 1
        while (
            j >= 0
            and start - j <= _BRIDGE_MAX
            and toks[j][1] in _BRIDGE
            and toks[j][1] not in _CORE
            and toks[j][0] not in _PREDICATES
        ):
            j -= 1
        if (
            j == start - 1
            and toks[start][1] in _BRIDGE
            and toks[start][0] not in _PREDICATES
            and toks[j][1] in _CORE
        ):
            pass  # the phrase already begins with its verb (用于教育): the noun before it joins
        elif j == start - 1 or j < 0 or toks[j][1] not in _CORE:
            return start
        start = j
        while start - 1 >= 0 and _extends(toks[start - 1]):
            start -= 1
    return start


def genre_terms(ref: Reference) -> Terms:
    """The genre's words for jieba's dictionary, as the tagger is keyed: ``(word, freq, tag)``."""
    return tuple(
        (str(w), int(f), str(t)) for w, f, t in ref.genre_terms.select("word", "freq", "tag").iter_rows()
    )


def warm_tagger(ref: Reference) -> None:
    """Load jieba's dictionary, the genre's words and the POS model now (about 1 s), ahead of
    the first extraction, for a caller that has idle time to spend (see ``flows.warehouse.tables``)."""
    _tagger(genre_terms(ref)).lcut("预热")


def metric_phrases(c: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """Add ``metric`` to candidate mentions (needs ``sentence_id``, ``start``, ``before_text``,
    ``after_text``, ``change``, ``kind``)."""
    terms = genre_terms(ref)
    suffixes = frozenset(ref.noun_suffixes["suffix"].to_list())
    c = c.sort(["sentence_id", "start"])
    rows = c.select(
        "sentence_id", "start", "end", "before_text", "after_text", "change", "kind", "written", "noun_side"
    ).iter_rows()
    heads_by: dict[str, tuple[str, ...]] = {}
    for applies_to, head in ref.unit_heads.select("applies_to", "head").iter_rows():
        heads_by[applies_to] = (*heads_by.get(applies_to, ()), head)
    metrics: list[str | None] = []
    prev_sentence: str | None = None
    prev_metric: str | None = None
    prev_unit: str | None = None
    prev_end = -1000
    for sentence_id, start, end, before, after, change, kind, written, noun_side in rows:
        if sentence_id != prev_sentence:
            prev_metric, prev_unit, prev_end = None, None, -1000
            by_unit: dict[str, str] = {}
        # 完成整改42条，完成率91.3%，其余4条正在推进: inherit from the last figure in the same unit
        same_unit = by_unit.get(written or "")
        before, after = before or "", after or ""
        close_prev = prev_metric is not None and start - prev_end <= 12
        inherits = (change is not None or kind == "percent") and prev_metric is not None
        # units.csv says on which side a unit's noun stands: 800名干部 (after), 干部800人次 (before).
        # The other side is read only when needed: phrase-finding is this loop's main cost.
        breakdown = bool(prev_metric) and written == prev_unit  # 其中经开区172名 may follow
        if noun_side == "before":
            left = _left_phrase(before, terms, suffixes, verbal=False)
            metric = left or _right_phrase(after, terms, suffixes, verbal=False)
            from_left = metric is not None and metric == left
        else:
            # 占总人口65%的地区: what follows a share's 的 is what has the share, not what it measures;
            # 投资410亿元16个项目: a sum followed by a count is the sum of what stands before it
            right = (
                None
                if (kind == "percent" and after.startswith("的"))
                or (kind == "money" and _NUMERAL_UNIT.match(after))
                else _right_phrase(after, terms, suffixes, verbal=False)
            )
            if right:
                heads = heads_by.get(written or "", ()) or heads_by.get(kind or "", ())
                right = _agreeing(
                    right, _STOP.split(after[:_RIGHT_WINDOW], maxsplit=1)[0], heads, terms, suffixes
                )
                metric = right
                from_left = (
                    breakdown
                    and _PLACE.search(metric) is not None
                    and metric == _left_phrase(before, terms, suffixes, verbal=False)
                )
            else:
                left = _left_phrase(before, terms, suffixes, verbal=False)
                metric = right or left
                from_left = metric is not None and metric == left
        if from_left and breakdown and _PLACE.search(metric):
            metric = prev_metric  # 党建服务专员911名，其中经开区172名: a breakdown by place
        share = _SHARE.search(before)
        if share and kind == "percent" and not from_left:
            # 脱贫攻坚占18%: a share names the part before 占, whether a noun or an activity
            head = before[: share.start()]
            metric = (
                _left_phrase(head, terms, suffixes, verbal=False)
                or _left_phrase(head, terms, suffixes, verbal=True)
                or metric
            )
        if metric is None and (inherits or close_prev):
            metric = prev_metric if (inherits or prev_unit == written or same_unit is None) else same_unit
        if metric is None:
            metric = _left_phrase(before, terms, suffixes, verbal=False, cross=True)
        if metric is None:
            metric = _right_phrase(after, terms, suffixes, verbal=True) or _left_phrase(
                before, terms, suffixes, verbal=True
            )
        if metric is None:
            metric = prev_metric
        metrics.append(metric)
        prev_sentence, prev_metric, prev_unit, prev_end = sentence_id, metric or prev_metric, written, end
        if metric:
            by_unit[written or ""] = metric
    metrics = _respectively(c, metrics, terms, suffixes)
    return c.with_columns(pl.Series("metric", metrics, dtype=pl.String))


_LIST_GAPS = frozenset({"、", "和", "及", "与", "以及"})


def _respectively(
    c: pl.DataFrame, metrics: list[str | None], terms: Terms, suffixes: frozenset[str]
) -> list[str | None]:
    """分别: ``A、B分别增长4.2%和5.9%`` gives A to the first number and B to the second;
    ``A达到…，B…，分别增长4.1%和8.3%`` gives the list the metrics of the figures before it."""
    out = list(metrics)
    rows = list(c.select("sentence_id", "start", "end", "before_text").iter_rows())
    i = 0
    while i < len(rows):
        j = i
        while (
            j + 1 < len(rows) and rows[j + 1][0] == rows[i][0] and rows[j + 1][3][rows[j][2] :] in _LIST_GAPS
        ):
            j += 1
        k = j - i + 1
        clause = _CLAUSE_STOP.split(rows[i][3][-_LEFT_WINDOW - 10 :])[-1]
        if k >= 2 and "分别" in clause:
            subject = clause.split("分别")[0]
            parts = [p for p in re.split(r"[、和及与]", subject) if p]
            if len(parts) == k:
                names = [_list_item(p, terms, suffixes) for p in parts]
                out[i : j + 1] = names
            elif not _left_phrase(subject, terms, suffixes, verbal=False):
                before = [out[t] for t in range(i) if rows[t][0] == rows[i][0] and out[t] is not None]
                if len(before) >= k:
                    out[i : j + 1] = before[-k:]
        i = j + 1
    return out


def _list_item(item: str, terms: Terms, suffixes: frozenset[str]) -> str:
    """One item of a list subject (交通事故起数、受伤人数分别下降…): the whole item when it is a
    noun phrase, else the noun phrase it ends with (实现A、B → A)."""
    toks = _tokens(_COMPARISON.sub("", _CLAUSE_TAIL.sub("", item)), terms, suffixes)
    if toks and _extends(toks[0]) and all(_extends(t) or t[1] in _BRIDGE for t in toks):
        return "".join(w for w, _ in toks)
    return _left_phrase(item, terms, suffixes, verbal=False) or item


def implied_units(c: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """A bare amount with a multiplier takes its unit from the head of the noun after it, and that
    noun is what it measures (``implied_metric``):
    ``3200万农牧民受益`` → 人, ``新增85万户用户`` → 户 (``seeds/implied_units.csv``).

    Why jieba: the head is the last word of the noun phrase (新型职业农民 → 民, 家庭用户 → 户), and a
    character test alone would read 500万生产… as people. Only the few rows with a multiplier and
    no unit are tagged, on the short window up to the next punctuation."""
    need = pl.col("written").is_null() & pl.col("mult").is_not_null()
    rows = c.filter(need).select("sentence_id", "start", "s_text", "end").unique(["sentence_id", "start"])
    if rows.height == 0:
        return c.with_columns(pl.lit(None, dtype=pl.String).alias("implied_metric"))
    heads = sorted(
        zip(ref.implied_units["head"], ref.implied_units["unit"], strict=True), key=lambda t: -len(t[0])
    )
    terms = genre_terms(ref)
    suffixes = frozenset(ref.noun_suffixes["suffix"].to_list())
    found: list[tuple[str, int, str]] = []
    for sentence_id, start, text, end in rows.iter_rows():
        window = _STOP.split(text[end : end + _RIGHT_WINDOW // 2], maxsplit=1)[0]
        run: list[str] = []
        for word, tag in _tokens(window, terms, suffixes) if window else ():
            if tag not in _CORE and tag not in {"NS", "a", "an", "b", "vn"}:
                break
            run.append(word)
        if run:
            unit = next((u for h, u in heads if run[-1].endswith(h)), None)
            if unit:
                found.append((sentence_id, start, unit, "".join(run)))
    if not found:
        return c.with_columns(pl.lit(None, dtype=pl.String).alias("implied_metric"))
    implied = pl.DataFrame(
        found,
        schema={
            "sentence_id": pl.String,
            "start": c.schema["start"],
            "_implied": pl.String,
            "implied_metric": pl.String,
        },
        orient="row",
    )
    return (
        c.join(implied, on=["sentence_id", "start"], how="left")
        .with_columns(pl.coalesce("written", "_implied").alias("written"))
        .drop("_implied")
    )
