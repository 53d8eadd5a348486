"""``fct_metric``: one row per quantity mention, as defined by the annotation guide.

Grain: one row per mention (a range or a compound count gives one row per
number). Recipe, all vectorised over every sentence at once:

1. candidates: one regex (built from ``seeds/units.csv`` and
   ``seeds/multipliers.csv``) finds every number with its optional multiplier,
   inner 余/多 and unit, with offsets (``transforms.spans``);
2. exclusions: ordinals (第…), codes glued to Latin letters (5G, PM2.5, B1线),
   calendar years, anything inside a book title 《…》, a short quoted name
   (“十四五”, “4个300”) or a slogan from ``seeds/non_facts.csv``;
3. ranges (2-3名, 2至3名) and lists sharing one unit (10.6万、3.8万平方公里):
   a bare number takes the unit of the number it is joined to;
4. values: multipliers applied, Chinese numerals read, units joined to
   ``dim_unit`` for the canonical value;
5. qualifiers (approx, change) from the words around the mention
   (``seeds/qualifiers.csv``);
6. the metric phrase from jieba on a short window (``transforms.metric_phrase``);
7. temporal context from the sentence (``transforms.temporal``).
"""

from __future__ import annotations

import re

import polars as pl

from transforms.metric_phrase import implied_units, metric_phrases
from transforms.numbers import arabic_value, chinese_value
from transforms.reference import Reference
from transforms.spans import find_spans
from transforms.temporal import sentence_time

ARABIC = r"[0-9０-９]+(?:[,，][0-9０-９]{3})*(?:[.．][0-9０-９]+)?"
# Text converted from PDF puts a space between every digit (3 4 7 2 亿美元, 1 2 ．5 ％): single
# digits joined by one space each, with an optional spaced decimal part.
_SP = r"[ \u3000]"
SPACED_ARABIC = rf"[0-9０-９](?:{_SP}[0-9０-９])+(?:{_SP}?[.．]{_SP}?[0-9０-９]+)?"
CHINESE = r"[零〇一二两兩三四五六七八九十百千万亿萬億]+"
_MULT_CHARS = "万亿千百萬億"
# Characters that join a bare number to the next one in a range or a list.
RANGE_JOINERS = ("-", "－", "—", "–", "~", "～", "〜", "至", "到")
LIST_JOINERS = ("、",)
# A short quotation is a name or a slogan (“十四五”, “4个300”, “90后”); a long one is reported speech.
SHORT_QUOTE = r"(?:“[^”“\n]{1,30}”){2,}|“[^”“\n]{1,10}”|‘[^’‘\n]{1,10}’|\"[^\"\n]{1,10}\"|「[^」\n]{1,10}」"
BOOK_TITLE = r"《[^》\n]*》|〈[^〉\n]*〉"

METRIC_COLUMNS = [
    "metric_id",
    "document_id",
    "sentence_id",
    "doc",
    "start_char",
    "end_char",
    "text",
    "number",
    "unit",
    "kind",
    "approx",
    "change",
    "metric",
    "borderline",
    "unit_canonical",
    "value_canonical",
    "as_of",
    "period",
    "as_of_source",
]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def mention_pattern(ref: Reference) -> str:
    """The candidate regex. Units that begin with a multiplier character (千瓦, 千米, 百分点)
    are tried first as whole units, so 300千瓦 is 300 千瓦, not 300千 with unit 瓦."""
    written = ref.units["written"].to_list()
    mult_units = [u for u in written if u[0] in _MULT_CHARS]
    mults = _alternation(ref.multipliers["written"].to_list())
    inner = _alternation(ref.words("approx", "inside"))
    # 400多万只, 8200多亿元: 多/余 may stand before the multiplier as well as after it (10万余件).
    # One optional space before a multiplier or unit, for text converted from PDF (8 6 个月).
    return (
        rf"百分之(?P<pct>{ARABIC}|{CHINESE}(?:点[零〇一二三四五六七八九]+)?)"
        r"|翻(?P<fan>[一两二三四五])番"  # 翻一番 = 2 倍, 翻两番 = 4 倍
        r"|(?P<cheng>[一二三四五六七八九])成"  # 五成 = 50 %
        # 六十四万千瓦: a Chinese numeral gives back a 千/百 that begins a unit (tried before the
        # general form, whose numeral would keep the 千 and leave 瓦 without a unit)
        rf"|(?P<numk>{CHINESE})(?P<unit_k>{_alternation(mult_units)})"
        rf"|(?P<num>{SPACED_ARABIC}|{ARABIC}|{CHINESE}(?:点[零〇一二三四五六七八九]+)?)"
        rf"(?:{_SP}?(?P<unit_m>{_alternation(mult_units)})"
        rf"|(?:{_SP}?(?P<inner0>{inner})(?P<mult0>{mults})|{_SP}?(?P<mult1>{mults}))?"
        rf"(?P<inner1>{inner})?(?:{_SP}?(?P<unit_p>{_alternation(written)}))?)"
    )


def _masks(sentences: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """Spans inside which no number is a fact: book titles, short quotes, slogans."""
    slogans = _alternation(ref.non_facts["phrase"].to_list())
    pattern = f"{BOOK_TITLE}|{SHORT_QUOTE}" + (f"|{slogans}" if slogans else "")
    return find_spans(sentences, "text", pattern, keep=["sentence_id"]).select(
        "sentence_id", pl.col("start").alias("m_start"), pl.col("end").alias("m_end")
    )


def _candidates(sentences: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    pattern = mention_pattern(ref)
    spans = find_spans(sentences, "text", pattern, keep=["sentence_id"])
    groups = pl.col("match").str.extract_groups(f"^(?:{pattern})$")
    return (
        spans.with_columns(groups.alias("g"))
        .unnest("g")
        .join(
            sentences.select("sentence_id", "document_id", pl.col("text").alias("s_text")), on="sentence_id"
        )
        .with_columns(
            pl.coalesce("num", "numk", "pct", "fan", "cheng").str.replace_all(_SP, "").alias("numeral"),
            pl.coalesce("mult0", "mult1").alias("mult"),
            pl.coalesce("inner0", "inner1").alias("inner"),
            pl.when(pl.col("pct").is_not_null() | pl.col("cheng").is_not_null())
            .then(pl.lit("%"))
            .when(pl.col("fan").is_not_null())
            .then(pl.lit("倍"))
            .otherwise(pl.coalesce("unit_k", "unit_m", "unit_p"))
            .alias("written"),
            # Context, clipped to the sentence: what stands just before and after the match (spaces
            # before a number dropped: 下降 3.2% in text converted from PDF).
            pl.col("s_text")
            .str.slice(
                pl.max_horizontal(pl.col("start") - 12, pl.lit(0)), pl.col("start").clip(upper_bound=12)
            )
            .str.strip_chars_end(" \u3000")
            .alias("left"),
            pl.col("s_text").str.slice(pl.col("end"), 8).alias("right"),
        )
    )


def _drop_non_facts(c: pl.DataFrame, masks: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """Apply the exclusion rules of the guide that can be read off the characters around a number."""
    is_chinese = pl.col("numeral").str.contains(f"^{CHINESE}$") & (
        pl.col("num").is_not_null() | pl.col("numk").is_not_null()
    )
    only_multiplier = pl.col("numeral").str.contains(f"^[{_MULT_CHARS}]+$")
    # 突破百亿元, 超百万吨, 近千家: a bare magnitude word is an amount after a bound: a bound word of
    # qualifiers.csv of two characters or more, or 近/逾/超 (one-character 约 is 签约 in 签约亿元以上项目)
    bounds = [w for w in ref.words("approx", "before") if len(w) >= 2] + ["近", "逾", "超"]
    approx_before = pl.col("left").str.contains(f"(?:{_alternation(bounds)})$")
    written = pl.col("written").fill_null("")
    ordinal = (
        pl.col("left").str.contains(r"(?:第|星期|礼拜|No\.?)\s*$")
        # 区委十三轮巡察, 巡视五组, 二期工程, 十二届人大三次会议: numerals that number rather than count
        | (is_chinese & pl.col("left").str.contains(r"[委视察查]$") & written.is_in(["轮", "届", "组", "次"]))
        | (
            is_chinese
            & ~pl.col("numeral").str.starts_with("两")
            & (written == "期")
            & pl.col("right").str.contains(r"^(?:工程|项目|建设|用地|工作)")
        )
        | (is_chinese & pl.col("left").str.contains(r"届[^，,。；;]{0,4}$"))
        # 七成员单位, 三成立: 成 that belongs to the next word
        | (pl.col("cheng").is_not_null() & pl.col("right").str.contains(r"^[员立本果效绩熟功就为交型品]"))
    )
    # 过去五年, 今后五年, 极不寻常的五年: a time frame, not a measured duration
    time_frame = (written == "年") & (
        pl.col("left").str.contains(r"(?:过去|今后|未来|这|那|前|后|的|近)$")
        | pl.col("right").str.contains(r"^(?:来|以来|中|间|里|是|制|一贯)")
        # 五年提升行动, 九年义务教育, 五年累计…: a Chinese-numeral span of years that runs straight
        # into the next word qualifies it; a measured duration ends its phrase (延长五年，, 五年以上)
        | (
            is_chinese
            & pl.col("right").str.contains(r"^[\u4e00-\u9fff]")
            & ~pl.col("right").str.contains(f"^{CHINESE}")
            & ~pl.col("right").str.contains(r"^(?:以上|以下|左右|之久|有余|了)")
        )
    )
    glued_to_code = pl.col("left").str.contains(r"[A-Za-z._·•/\\#＃]$") | (
        pl.col("written").is_null() & pl.col("right").str.contains(r"^[A-Za-z+＋]")
    )
    calendar_year = pl.col("written").is_in(["年", "天"]) & pl.col("numeral").str.contains(
        r"^(?:19|20)[0-9]{2}$"
    )
    calendar_year = calendar_year | (pl.col("written") == "年") & (
        pl.col("numeral").str.contains(r"^[0-9０-９]{3,}$")
        | pl.col("right").str.contains(r"^[月度底初末中级份前后以来]")
    )
    c = c.filter(
        ~ordinal.fill_null(False)
        & ~glued_to_code.fill_null(False)
        & ~calendar_year.fill_null(False)
        & ~time_frame.fill_null(False)
        & ~(is_chinese & (pl.col("numeral") == "一") & (written != "倍")).fill_null(False)
        # 零部件, 零排放, 零容忍: a bare 零 is a word of its own, never a count
        & ~(is_chinese & pl.col("numeral").is_in(["零", "〇"])).fill_null(False)
        & ~(is_chinese & only_multiplier & pl.col("inner").is_null() & ~approx_before).fill_null(False)
    )
    c = _drop_parallel_phrases(c, is_chinese)
    masked = (
        c.select("sentence_id", "start", "end")
        .join(masks, on="sentence_id")
        .filter((pl.col("start") < pl.col("m_end")) & (pl.col("end") > pl.col("m_start")))
        .select("sentence_id", "start")
        .unique()
    )
    return c.join(masked, on=["sentence_id", "start"], how="anti")


def _drop_parallel_phrases(c: pl.DataFrame, is_chinese: pl.Expr) -> pl.DataFrame:
    """两个市场、两种资源; 两个中心、两个基地: the same Chinese numeral repeated over a parallel pair
    of short nouns is a fixed phrase, not two counts (the guide's "numeral in a fixed phrase")."""
    c = c.sort(["sentence_id", "start"]).with_columns(is_chinese.fill_null(False).alias("_cn_num"))
    pair = (
        pl.col("_cn_num")
        & pl.col("_cn_num").shift(-1).over("sentence_id")
        & (pl.col("numeral") == pl.col("numeral").shift(-1).over("sentence_id"))
        & pl.col("gap").shift(-1).over("sentence_id").str.contains(r"^[\u4e00-\u9fff]{1,4}[、和与及]$")
        & pl.col("written").is_not_null()
        & pl.col("written").shift(-1).over("sentence_id").is_not_null()
    ).fill_null(False)
    c = c.with_columns(pair.alias("_pair"))
    return c.filter(~(pl.col("_pair") | pl.col("_pair").shift(1).over("sentence_id").fill_null(False))).drop(
        "_cn_num", "_pair"
    )


def _inherit_units(c: pl.DataFrame) -> pl.DataFrame:
    """Bare numbers joined by a range or list joiner to a later number take its unit (and
    multiplier when they have none): 2-3名 → 2 名, 3 名; 10.6万、3.3万平方公里 → both 平方公里.
    A chain whose first number was an ordinal never reaches here, because its head was dropped
    and the gap to the next candidate is then not a bare joiner."""
    c = c.sort(["sentence_id", "start"]).with_columns(
        pl.col("gap").shift(-1).over("sentence_id").alias("next_gap"),
        pl.col("start").shift(-1).over("sentence_id").alias("next_start"),
    )
    joined = pl.col("next_gap").is_in([*RANGE_JOINERS, *LIST_JOINERS]) & (
        pl.col("next_start") == pl.col("end") + 1
    )
    c = c.with_columns(
        pl.when(pl.col("written").is_null() & joined)
        .then(None)
        .otherwise(pl.col("written"))
        .alias("written"),
        (pl.col("written").is_null() & joined).alias("bare_joined"),
        pl.col("next_gap").is_in(list(RANGE_JOINERS)).alias("range_head"),
    )
    # Fill each bare, joined number from the next number in the chain (backward fill within runs).
    c = c.with_columns(
        pl.when(pl.col("bare_joined") | pl.col("written").is_not_null())
        .then(pl.col("written"))
        .otherwise(pl.lit("\x00"))
        .alias("_w"),
        pl.when(pl.col("bare_joined")).then(None).otherwise(pl.col("mult").fill_null("")).alias("_m"),
    )
    c = c.with_columns(
        pl.col("_w").backward_fill().over("sentence_id").alias("_w"),
        pl.col("_m").backward_fill().over("sentence_id").alias("_m_next"),
    )
    return c.with_columns(
        pl.when(pl.col("bare_joined") & (pl.col("_w") != "\x00"))
        .then(pl.col("_w"))
        .otherwise(pl.col("written"))
        .alias("written"),
        pl.when(pl.col("bare_joined") & pl.col("mult").is_null())
        .then(pl.col("_m_next").replace("", None))
        .otherwise(pl.col("mult"))
        .alias("mult"),
    ).filter(pl.col("written").is_not_null() & (pl.col("written") != "\x00"))


def _values(c: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    chinese = (
        c.filter(pl.col("numeral").str.contains(f"^{CHINESE}(?:点[零〇一二三四五六七八九]+)?$"))["numeral"]
        .unique()
        .to_list()
    )
    cn_map = pl.DataFrame(
        {"numeral": chinese, "_cn": [chinese_value(s) for s in chinese]},
        schema={"numeral": pl.String, "_cn": pl.Float64},
    )
    return (
        c.join(cn_map, on="numeral", how="left")
        .join(
            ref.multipliers.select(pl.col("written").alias("mult"), pl.col("factor").alias("_mf")),
            on="mult",
            how="left",
        )
        .with_columns(
            pl.when(pl.col("fan").is_not_null())
            .then(pl.lit(2.0).pow(pl.col("_cn")))  # 翻两番: doubled twice
            .when(pl.col("cheng").is_not_null())
            .then(pl.col("_cn") * 10)  # 五成: five tenths
            .otherwise(pl.coalesce(arabic_value(pl.col("numeral")), "_cn") * pl.col("_mf").fill_null(1.0))
            .alias("number")
        )
        .filter(pl.col("number").is_not_null())
        .join(ref.units.rename({"factor": "_uf", "canonical": "unit_canonical"}), on="written", how="left")
        .with_columns((pl.col("number") * pl.col("_uf")).alias("value_canonical"))
    )


def _qualifiers(c: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """approx from the words right before/after the mention or inside it; change from a change
    verb that governs the number (same clause, at most a short noun in between, not 增加到/提高至)."""

    def table(field: str, position: str) -> list[tuple[str, str]]:
        q = ref.qualifiers.filter((pl.col("field") == field) & (pl.col("position") == position))
        return sorted(zip(q["word"], q["value"], strict=True), key=lambda t: len(t[0]), reverse=True)

    approx = pl.when(pl.col("inner").is_not_null()).then(
        pl.lit(dict(table("approx", "inside")).get("余", "more_than"))
    )
    # Words that, glued before a qualifier, make it part of another word (签约, 节约, 最近, 附近).
    for word, value in table("approx", "before"):
        blocked = r"[签节制预公条合违履缔特和大]$" if word.startswith("约") else r"[最附邻就亲接贴靠]$"
        left_of_word = pl.col("left").str.head(pl.col("left").str.len_chars() - len(word))
        direct = pl.col("left").str.ends_with(word) & ~(
            pl.lit(len(word) == 1) & left_of_word.str.contains(blocked)
        )
        if len(word) >= 2:
            # 至少建成1所, 不少于配备2名: a two-character verb may stand between bound and number
            direct = direct | pl.col("left").str.contains(rf"{re.escape(word)}[\u4e00-\u9fff]{{1,2}}$")
        approx = approx.when(direct).then(pl.lit(value))
    for word, value in table("approx", "after"):
        approx = approx.when(pl.col("right").str.starts_with(word)).then(pl.lit(value))
    increase = [w for w, v in table("change", "before") if v == "increase"]
    decrease = [w for w, v in table("change", "before") if v == "decrease"]
    tail = r"(?:了|约|近|超过|逾|达)?[^，,。；;：:、\s到至为达的是0-9０-９]{0,8}$"
    change = (
        pl.when(pl.col("left").str.contains(rf"(?:^|[^新])(?:{_alternation(decrease)}){tail}"))
        .then(pl.lit("decrease"))
        .when(pl.col("left").str.contains(rf"(?:^|[^新])(?:{_alternation(increase)}){tail}"))
        .then(pl.lit("increase"))
    )
    c = c.with_columns(
        approx.otherwise(None).alias("approx"),
        pl.when(pl.col("fan").is_not_null()).then(pl.lit("increase")).otherwise(change).alias("change"),
    )
    # 分别增长4.2%、5.9%和6.3%; 增长5%-7%: one verb governs every number of a list or range.
    prev_end = pl.col("end").shift(1).over("sentence_id")
    joined = pl.col("gap").is_in(
        [*LIST_JOINERS, *RANGE_JOINERS, "和", "及", "与", "以及", "，分别", "、分别"]
    ) & (prev_end + pl.col("gap").str.len_chars() == pl.col("start"))
    c = c.sort(["sentence_id", "start"])
    for _ in range(4):  # a list of up to five numbers
        c = c.with_columns(
            pl.when(pl.col("change").is_null() & joined.fill_null(False))
            .then(pl.col("change").shift(1).over("sentence_id"))
            .otherwise(pl.col("change"))
            .alias("change")
        )
    return c


def fct_metric(sentences: pl.DataFrame, documents: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """Extract every quantity mention of ``sentences`` (``stg_sentences``) as ``fct_metric`` rows.

    ``documents`` is ``stg_documents`` (for the file name and the publish date, the fallback
    as-of date)."""
    if sentences.height == 0:
        return pl.DataFrame(schema=_schema())
    c = _candidates(sentences, ref)
    c = _drop_non_facts(c, _masks(sentences, ref), ref)
    c = implied_units(c, ref)
    c = _inherit_units(c)
    c = _values(c, ref)
    c = _qualifiers(c, ref)
    c = c.with_columns(
        pl.col("s_text").str.slice(0, pl.col("start")).str.strip_chars_end(" \u3000").alias("before_text"),
        pl.col("s_text").str.slice(pl.col("end")).alias("after_text"),
    )
    c = metric_phrases(c, ref)
    c = c.with_columns(pl.coalesce("implied_metric", "metric").alias("metric"))
    # The head of a range or list measures what its tail measures (2至3名专职网格员).
    c = c.sort(["sentence_id", "start"]).with_columns(
        pl.when(pl.col("bare_joined"))
        .then(pl.col("metric").shift(-1).over("sentence_id"))
        .otherwise(pl.col("metric"))
        .alias("metric")
    )
    times = sentence_time(sentences)
    out = (
        c.join(sentences.select("sentence_id", pl.col("start_char").alias("s_start")), on="sentence_id")
        .join(times, on="sentence_id", how="left")
        .join(
            documents.select("document_id", pl.col("file_name").alias("doc"), "publish_date"),
            on="document_id",
            how="left",
        )
        .with_columns(
            (pl.col("s_start") + pl.col("start")).alias("start_char"),
            (pl.col("s_start") + pl.col("end")).alias("end_char"),
            pl.col("match").alias("text"),
            pl.col("kind").fill_null("other"),
            pl.col("written").alias("written"),
            (pl.col("written").is_in(["年", "周年"]) | pl.col("unit").is_null()).alias("borderline"),
            pl.coalesce("as_of", "publish_date").alias("as_of"),
            pl.when(pl.col("as_of").is_not_null())
            .then(pl.col("as_of_source"))
            .when(pl.col("publish_date").is_not_null())
            .then(pl.lit("document"))
            .otherwise(pl.lit("none"))
            .alias("as_of_source"),
        )
        .with_columns(
            (
                pl.col("document_id")
                + ":"
                + pl.col("start_char").cast(pl.String)
                + "-"
                + pl.col("end_char").cast(pl.String)
            ).alias("metric_id")
        )
        .sort(["document_id", "start_char"])
    )
    return out.select(METRIC_COLUMNS).cast(_schema())


def _schema() -> dict[str, pl.DataType]:
    return {
        "metric_id": pl.String(),
        "document_id": pl.String(),
        "sentence_id": pl.String(),
        "doc": pl.String(),
        "start_char": pl.Int64(),
        "end_char": pl.Int64(),
        "text": pl.String(),
        "number": pl.Float64(),
        "unit": pl.String(),
        "kind": pl.String(),
        "approx": pl.String(),
        "change": pl.String(),
        "metric": pl.String(),
        "borderline": pl.Boolean(),
        "unit_canonical": pl.String(),
        "value_canonical": pl.Float64(),
        "as_of": pl.Date(),
        "period": pl.String(),
        "as_of_source": pl.String(),
    }
