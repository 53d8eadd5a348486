"""What a text says about progress: the statuses of ``seeds/measure_status.csv``, matched as words.

Grain: helpers only. ``status_hits`` gives one row per status phrase found in a text,
``decide`` one status per key.

Why words and not substrings: 推进中欧班列 holds 推进中, 而已 holds 已, 为了 holds 了,
完成情况 holds 完成. Each CSV row is a pattern with its boundary: ``not_before`` is tested
on the clause up to the match (from the last ，。；：！？ or line break), ``not_after`` on
the rest of the clause after it, and a match stands only when neither matches. A boundary
rule, not jieba: the words in question are short and their false readings are few and
listable, the rule is the same in every thread (jieba's dictionary is shared and grows
while the metric extractor runs), and it stays a Polars expression.

Which status wins. A ``whole`` row (the text says the measure or its problem is complete
as a whole: 已全部整改完成, 均已整改到位, 完成情况：已完成。) wins over every other word,
so 持续推进…已全部整改完成 is 已完成. Otherwise the least advanced status stated wins, by
the CSV's ``priority``: 正在推进 (1) < 持续推进 (2) < 基本完成 (3) < 已完成 (5), so
6个问题中2个已完成，1个正在推进 is 正在推进. A past action (已 + verb, verb + 了, 印发《…》,
a count of what was done, 截至… figures) is the ``done`` evidence: a measure that reports
only what it did, and says nothing is still under way, is 已完成.
"""

from __future__ import annotations

import polars as pl

from transforms.spans import find_spans

# Characters that end a clause, for the context a boundary is tested on.
CLAUSE_END = "，,。；;：:！？!?\n"
# Which signals share a regex pass (see ``status_hits``); a signal not named gets its own.
_PASSES = (("whole", "progress", "basic"), ("ongoing",), ("done",))
# How far a boundary looks on either side of a match: a long clause, not the whole text.
_WINDOW = 64
HIT_SCHEMA = {
    "key": pl.String,
    "priority": pl.Int32,
    "status": pl.String,
    "phrase": pl.String,
    "pos": pl.Int64,
}


def status_hits(frame: pl.DataFrame, key: str, text: str, rules: pl.DataFrame) -> pl.DataFrame:
    """Every status phrase of ``frame[text]`` that stands as a word: ``key, priority, status, phrase, pos``.

    ``rules`` is ``seeds/measure_status.csv`` (``signal, status, priority, pattern,
    not_before, not_after``). Three regex passes over the texts, not one per CSV row.
    """
    source = frame.select(pl.col(key).cast(pl.String).alias("key"), pl.col(text).alias("_text")).filter(
        pl.col("_text").is_not_null()
    )
    parts = [pl.DataFrame(schema=HIT_SCHEMA)]
    if source.height == 0:
        return parts[0]
    # Three regex passes, not one: in one alternation of them all, the leftmost match hides an
    # overlapping later one, so 持续推进 (ongoing) would hide the 推进中 of 持续推进中, and a
    # 2个已完成 its boundary rejects would hide the 已 (done) inside it. The statements of
    # progress, completion and near-completion do not overlap one another.
    for signals in _PASSES:
        group = rules.filter(pl.col("signal").is_in(signals))
        if group.height:
            parts.append(_pass(source, group.to_dicts()))
    rest = rules.filter(~pl.col("signal").is_in([s for p in _PASSES for s in p]))
    if rest.height:
        parts.append(_pass(source, rest.to_dicts()))
    return pl.concat(parts)


def _pass(source: pl.DataFrame, rows: list[dict]) -> pl.DataFrame:
    alternation = "|".join(f"(?:{r['pattern']})" for r in rows)
    hits = find_spans(source, "_text", alternation, keep=["key"])
    if hits.height == 0:
        return pl.DataFrame(schema=HIT_SCHEMA)
    # The boundary is tested on the clause around the match, read from a short window.
    window = _WINDOW
    start = pl.col("start").cast(pl.Int64)
    hits = hits.join(source, on="key").with_columns(
        pl.col("_text")
        .str.slice(pl.max_horizontal(start - window, pl.lit(0)), pl.min_horizontal(start, pl.lit(window)))
        .str.extract(f"([^{CLAUSE_END}]*)$", 1)
        .alias("_before"),
        pl.col("_text")
        .str.slice(pl.col("end"), window)
        .str.extract(f"^([^{CLAUSE_END}]*)", 1)
        .alias("_after"),
    )
    # The row whose pattern the match is: the first that matches it whole, as the
    # alternation itself chose.
    rule = pl.coalesce(
        [
            pl.when(pl.col("match").str.contains(f"^(?:{r['pattern']})$")).then(pl.lit(i))
            for i, r in enumerate(rows)
        ]
    )
    hits = hits.with_columns(rule.alias("_rule"))
    stands = []
    for i, r in enumerate(rows):
        ok = pl.lit(True)
        if r["not_before"]:
            ok = ok & ~pl.col("_before").str.contains(r["not_before"])
        if r["not_after"]:
            ok = ok & ~pl.col("_after").str.contains(r["not_after"])
        stands.append(pl.when(pl.col("_rule") == i).then(ok))
    return hits.filter(pl.coalesce(stands).fill_null(False)).select(
        "key",
        pl.col("_rule")
        .replace_strict(dict(enumerate(int(r["priority"]) for r in rows)), return_dtype=pl.Int32)
        .alias("priority"),
        pl.col("_rule")
        .replace_strict(dict(enumerate(r["status"] for r in rows)), return_dtype=pl.String)
        .alias("status"),
        pl.col("match").alias("phrase"),
        pl.col("start").cast(pl.Int64).alias("pos"),
    )


def decide(hits: pl.DataFrame) -> pl.DataFrame:
    """One row per key: ``key, status, status_phrase``, the lowest priority (a whole completion
    first, then the least advanced), the earliest phrase among equals."""
    return (
        hits.sort(["key", "priority", "pos"])
        .group_by("key", maintain_order=True)
        .agg(pl.col("status").first(), pl.col("phrase").first().alias("status_phrase"))
    )
