"""``fct_metric.metric_concept_id`` and ``metric_concept_score``: each fact mapped to ``dim_metric``.

Why a separate step: the metric phrase is written however the author wrote it (GDP in
several spellings); comparing documents needs the concept. The step runs after ``fct_metric`` is complete
and only adds two columns, so the extractor (and its gold score) is untouched.

How a phrase is matched, on the short metric phrase only (never the sentence):

1. the phrase is cleaned of scope prefixes and of the verbs around the quantity
   (``seeds/metric_concept_words.csv``, role ``strip``: 全省, 累计, 增长, 迈上 …);
2. a concept is a candidate only when its unit family is the fact's (``fct_metric.kind``, the
   ``kind`` of ``seeds/units.csv``): this is what sends a % after 增长 to the growth concept and
   a 元 amount to the level, since the two share their aliases;
3. an alias found in the cleaned phrase scores the share of the phrase it covers (1.0 when it is
   the whole phrase); otherwise, when every jieba word of the alias is a word of the phrase or inside one
   (城镇调查失业率 and 城镇失业率调查 read the same), the words' share scores, discounted;
4. a phrase with a ``block`` word outside the alias (a share of GDP, a contribution rate, the
   ocean economy)
   names something else than the concept: no candidate;
5. a concept of kind ``change`` needs a change: the fact's ``change`` or a growth word in the phrase
   (年均增速); without one the score is halved, as a bare % beside a level is rarely its growth;
6. an average over a plan period (role ``average``: 年均增长5.7%, in the phrase or in the few
   characters before the number) is not the year's growth: a change concept X becomes
   ``X_annual_average`` when dim_metric has it, else the fact stays unmapped; the
   ``_annual_average`` concepts are never chosen otherwise;
7. the best candidate wins (ties: the longer alias, then the seed's order); below ``THRESHOLD``
   the fact stays unmapped (null), which is better than a wrong key in a conformed dimension.

Phrases repeat a lot (GDP in every report), so matching runs once per distinct
(phrase, unit family, has-change) and is joined back: Python only on a few thousand short strings.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from transforms.dim_metric import concept_aliases
from transforms.metric_phrase import warm_tagger
from transforms.reference import Reference

# A mapping below this share of the phrase is a guess: a sub-region's GDP phrase covers the GDP alias
# by about half and is a sub-region's figure, not the report region's.
THRESHOLD = 0.6
# A word match (not a substring) is weaker evidence than the alias written out.
WORD_DISCOUNT = 0.85
# A change concept matched without any sign of a change.
NO_CHANGE_FACTOR = 0.5
_GROWTH_HINTS = ("增", "涨", "降", "速", "幅", "提高", "下降", "减少")
AVERAGE_SUFFIX = "_annual_average"
# How far before the number an averaging word (年均) still governs it: 年均增长5.7%.
_LEFT = 8
_CLAUSE_END = r"^.*[，,。；;：:、（）()]"


def _clean(phrase: str, strip: tuple[str, ...]) -> str:
    """The phrase without scope prefixes and verbs around the quantity (longest word first)."""
    text = phrase.replace(" ", "").replace("\u3000", "")
    changed = True
    while changed and text:
        changed = False
        for word in strip:
            if text.startswith(word) and len(text) > len(word):
                text, changed = text[len(word) :], True
            elif text.endswith(word) and len(text) > len(word):
                text, changed = text[: -len(word)], True
    return text


def _words(text: str) -> frozenset[str]:
    import jieba

    return frozenset(w for w in jieba.lcut(text, HMM=False) if w.strip())


@lru_cache(maxsize=1)
def _alias_words(aliases: tuple[str, ...]) -> dict[str, frozenset[str]]:
    return {a: _words(a) for a in aliases}


def _best(
    phrase: str | None,
    family: str | None,
    has_change: bool,
    average: bool,
    candidates: list[tuple[str, str, str, int]],
    strip: tuple[str, ...],
    block: tuple[str, ...],
    words_of: dict[str, frozenset[str]],
) -> tuple[str | None, float | None]:
    """The concept and score of one distinct phrase (see the module docstring)."""
    if not phrase or not family:
        return None, None
    clean = _clean(phrase, strip)
    if not clean:
        return None, None
    growth_word = any(h in phrase for h in _GROWTH_HINTS)
    phrase_words: str | None = None  # the phrase's words joined by a separator no alias holds
    best: tuple[float, int, int, str] | None = None
    for concept_id, alias, concept_kind, order in candidates:
        if concept_id.endswith(AVERAGE_SUFFIX):
            continue
        if alias in clean:
            rest = clean.replace(alias, "\x00")
            score = len(alias) / len(clean)
        else:
            if phrase_words is None:
                phrase_words = "\x01".join(_words(clean))
            needed = words_of.get(alias, frozenset())
            # a word of the alias is a word of the phrase or inside one: jieba keeps a compound
            # of the genre's dictionary whole, so the alias's 生产总值 sits inside the phrase's word
            # (one substring search over the joined words: a match cannot span the separator)
            if not needed or not all(w in phrase_words for w in needed):
                continue
            rest = clean
            for w in needed:
                rest = rest.replace(w, "\x00")
            score = WORD_DISCOUNT * sum(len(w) for w in needed) / len(clean)
        if any(b in rest for b in block):
            continue
        if concept_kind == "change" and not (has_change or growth_word):
            score *= NO_CHANGE_FACTOR
        key = (round(score, 6), len(alias), -order, concept_id)
        if best is None or key > best:
            best = key
    if best is None or best[0] < THRESHOLD:
        return None, None
    concept = best[3]
    if average and any(c == concept and k == "change" for c, _, k, _ in candidates):
        averaged = concept + AVERAGE_SUFFIX
        if not any(c == averaged for c, *_ in candidates):
            return None, None
        concept = averaged
    return concept, min(best[0], 1.0)


def _words_table(ref_words: pl.DataFrame, role: str) -> tuple[str, ...]:
    words = ref_words.filter(pl.col("role") == role)["word"].to_list()
    return tuple(sorted(set(words), key=len, reverse=True))


def map_concepts(
    facts: pl.DataFrame,
    dim: pl.DataFrame,
    concept_words: pl.DataFrame,
    ref: Reference,
    sentences: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``facts`` (``fct_metric``) with ``metric_concept_id`` and ``metric_concept_score`` added.

    ``dim`` is ``dim_metric``; ``concept_words`` is ``seeds/metric_concept_words.csv``; ``ref``
    gives jieba the genre's words, so that phrases are cut as the extractor cuts them;
    ``sentences`` (``stg_sentences``), when given, supplies the words just before each number
    (an averaging 年均 stands there, not in the metric phrase)."""
    out_schema = {"metric_concept_id": pl.String(), "metric_concept_score": pl.Float64()}
    if facts.height == 0:
        return facts.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in out_schema.items())
    table = concept_aliases(dim).with_row_index("order")
    by_family: dict[str, list[tuple[str, str, str, int]]] = {}
    for concept_id, family, concept_kind, alias, order in table.select(
        "metric_concept_id", "unit_family", "concept_kind", "alias", "order"
    ).iter_rows():
        by_family.setdefault(family, []).append((concept_id, alias, concept_kind, int(order)))
    strip = _words_table(concept_words, "strip")
    block = _words_table(concept_words, "block")
    averaging = _words_table(concept_words, "average")
    facts = _with_average(facts, sentences, averaging)
    warm_tagger(ref)  # jieba with the genre's words, built once and shared with the extractor
    words_of = _alias_words(tuple(sorted(set(table["alias"].to_list()))))
    keys = (
        facts.select("metric", "kind", pl.col("change").is_not_null().alias("_has_change"), "_average")
        .unique()
        .filter(pl.col("metric").is_not_null())
    )
    ids: list[str | None] = []
    scores: list[float | None] = []
    for phrase, family, has_change, average in keys.iter_rows():
        concept, score = _best(
            phrase, family, has_change, average, by_family.get(family, []), strip, block, words_of
        )
        ids.append(concept)
        scores.append(score)
    mapped = keys.with_columns(
        pl.Series("metric_concept_id", ids, dtype=pl.String),
        pl.Series("metric_concept_score", scores, dtype=pl.Float64).round(3),
    )
    return (
        facts.with_columns(pl.col("change").is_not_null().alias("_has_change"))
        .join(mapped, on=["metric", "kind", "_has_change", "_average"], how="left", nulls_equal=False)
        .drop("_has_change", "_average")
        .with_columns(pl.col(c).cast(t) for c, t in out_schema.items())
    )


def _with_average(
    facts: pl.DataFrame, sentences: pl.DataFrame | None, words: tuple[str, ...]
) -> pl.DataFrame:
    """``_average``: an averaging word in the metric phrase or in the clause just before the number."""
    pattern = "|".join(words) if words else "\x00"
    in_phrase = pl.col("metric").fill_null("").str.contains(pattern)
    if sentences is None or sentences.height == 0:
        return facts.with_columns(in_phrase.alias("_average"))
    sent = sentences.select("sentence_id", pl.col("start_char").alias("_s_start"), pl.col("text").alias("_s"))
    offset = pl.col("start_char") - pl.col("_s_start")
    left = (
        pl.col("_s")
        .str.slice(pl.max_horizontal(offset - _LEFT, pl.lit(0)), pl.min_horizontal(offset, pl.lit(_LEFT)))
        .str.replace(_CLAUSE_END, "")
    )
    return (
        facts.join(sent, on="sentence_id", how="left")
        .with_columns((in_phrase | left.fill_null("").str.contains(pattern)).alias("_average"))
        .drop("_s_start", "_s")
    )
