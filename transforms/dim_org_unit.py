"""``dim_org_unit`` and ``bridge_sentence_org``: the bodies a text names, one row per body.

Grain: ``org_mentions`` has one row per mention of a body in a sentence;
``dim_org_unit`` one row per distinct body (``org_id`` = first 16 hex digits of the
SHA-256 of its normalised name); ``bridge_sentence_org`` one row per mention, keyed
to the sentence and the body.

Finding names. ``seeds/org_patterns.csv`` lists each kind of body as a pattern over a
few placeholders: ``{place}`` (a name from ``seeds/regions.csv``, or two characters and
an administrative marker from ``seeds/org_levels.csv``: 武清区, 滨海新区, 廊坊市),
``{lvl}`` (a bare 省/市/区/县/镇/乡, as in 市纪委监委), ``{host}`` (what a 派驻组 is
posted to), ``{stem}`` (a department's stem: 科技局, 规划和自然资源局), ``{name}`` (any
run of name characters) and ``{placename}`` (a province or prefecture short name, for
state-owned 集团). Chinese has no spaces, so where a name's left edge is open
(companies, schools, hospitals: ``needs_boundary``) the name must follow punctuation or
one of the verbs and prepositions of ``seeds/org_trim_words.csv`` (深入, 赴, 对, 的…),
which are not part of it. Earlier rows win where two patterns start at the same place.
What the patterns took in front of a name is then trimmed with jieba's dictionary: a
two-character stem before 区/县/市 must be a proper noun (召开区委 is 召开 + 区委), and a
run-on name loses its leading verbs and adverbs. A name made only of common words
(公办幼儿园) names a kind of body, not a body, and goes, as do the look-alikes of
``seeds/org_false_names.csv`` (布局, 举办, 办公…).

Normalising. The same body is written many ways: 中共廊坊市委 / 廊坊市委 / 市委,
中共天津市滨海新区委员会 / 区委, 市纪委监委驻市科技局纪检监察组 / 驻市科技局纪检监察组.
So 中共 is dropped, 委员会 becomes 委, a province before a city or district is dropped,
and a name that opens with a bare 省/市/区/县 is completed: 省 and 市 by the document's
own province and city (``dim_document``); 区/县/镇/乡 by the document's district when its
marker fits, else by the latest fully named body of the same kind earlier in the document
(红桥区纪委监委 … 区纪委监委), else by any body of that level named earlier in the same
paragraph (长安区纪委监委督促区教育局). A 派驻组 is its commission + 驻 + its host, each
completed the same way, a bare host taking its commission's place; a short form
(驻市科技局纪检监察组) takes the commission of the latest full form with the same host. A
name that cannot be completed stays as written (``qualified`` false). A party department's
parent is the committee its name opens with (廊坊市委组织部 → 廊坊市委).

Level comes from the administrative marker of the body's place (省, 市, 区县, 乡镇街道;
a province-level municipality counts as 市, which is what its own texts call it); a
body with no place is ``other``.
"""

from __future__ import annotations

import hashlib
import re
from types import ModuleType

import polars as pl

from transforms.ledger_text import NAME_BOUNDARY, alternation
from transforms.spans import find_spans

MENTION_COLUMNS = [
    "sentence_id",
    "document_id",
    "start_char",
    "end_char",
    "mention_text",
    "org_id",
    "name",
    "type",
    "level",
    "qualified",
    "parent_name",
]
_LVL = "[省市区县镇乡]"


def _pieces(regions: pl.DataFrame, org_levels: pl.DataFrame, trim_words: pl.DataFrame) -> dict[str, str]:
    markers = alternation(org_levels.filter(pl.col("standalone") != "true")["marker"])
    zones = org_levels.filter(pl.col("standalone") == "true")["marker"]
    # Names of two characters and a marker (廊坊市, 河北省) are matched by the generic rule; only the
    # others (石家庄市, 黑龙江省, 延边朝鲜族自治州…) need listing, which keeps the regex small and fast.
    marker_list = sorted(org_levels["marker"], key=len, reverse=True)
    long_names = [
        n for n in regions["name"] if not any(n.endswith(m) and len(n) - len(m) == 2 for m in marker_list)
    ]
    region_names = alternation([*long_names, *zones])
    short_names = alternation(regions["short_name"])
    stop = "的和与及等在对向将把从被了是为"
    trims = alternation(trim_words["word"])
    return {
        "place": f"(?:{region_names}|[\\u4e00-\\u9fa5]{{2}}(?:{markers}))",
        "region_names": region_names,
        "lvl": _LVL,
        "host": f"[^{NAME_BOUNDARY}{stop.replace('和', '')}]{{1,20}}?",
        "unit": f"[^{NAME_BOUNDARY}]{{2,16}}?",
        "stem": f"[^{NAME_BOUNDARY}\\d委{stop}][^{NAME_BOUNDARY}\\d委{stop.replace('和', '')}]{{0,6}}?",
        "name": f"[^\\s，,。；;、：:“”‘’《》【】！？!?\\d{stop}]{{2,16}}",
        "placename": f"(?:{short_names})",
        "tail": f"[^{NAME_BOUNDARY}\\d{stop}]{{0,6}}?",
        "prefix": f"(?:(?:^|[{NAME_BOUNDARY}])(?:{trims})*|(?:{trims})+)",
        "markers": alternation(org_levels["marker"]),
    }


def _fill(pattern: str, pieces: dict[str, str]) -> str:
    for key, value in pieces.items():
        pattern = pattern.replace("{" + key + "}", value)
    return pattern


def _combined(org_patterns: pl.DataFrame, pieces: dict[str, str]) -> tuple[str, list[str]]:
    """One regex with a named group per CSV row: ``PREFIX? (g0|g1…) | PREFIX (gk|…)``."""
    open_rows, closed_rows, types = [], [], []
    for i, row in enumerate(org_patterns.iter_rows(named=True)):
        group = f"(?P<g{i}>{_fill(row['pattern'], pieces)})"
        (closed_rows if row["needs_boundary"] else open_rows).append(group)
        types.append(row["type"])
    prefix = pieces["prefix"]
    parts = []
    if open_rows:
        parts.append(f"(?:{prefix})?(?:{'|'.join(open_rows)})")
    if closed_rows:
        parts.append(f"(?:{prefix})(?:{'|'.join(closed_rows)})")
    return "|".join(parts), types


def _sha16(names: pl.Series) -> pl.Series:
    return names.map_elements(
        lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest()[:16], return_dtype=pl.String
    )


def _split_place(unit: pl.Expr, pieces: dict[str, str]) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """``(place, bare, core)`` of a name: 武清区|纪委监委, 市|纪委监委, or no place at all."""
    place = unit.str.extract(f"^((?:{pieces['place']})+)", 1)
    bare = pl.when(place.is_null()).then(unit.str.extract(f"^({_LVL})", 1))
    head_len = pl.coalesce(place, bare, pl.lit("")).str.len_chars()
    return place, bare, unit.str.slice(head_len)


def _qualify(parts: pl.DataFrame, docs: pl.DataFrame, pieces: dict[str, str], provinces: str) -> pl.DataFrame:
    """Complete each part (``unit``) with a place: ``qualified_unit``, ``resolved_place``."""
    place, bare, core = _split_place(pl.col("unit"), pieces)
    out = (
        parts.with_columns(place.alias("_place"), bare.alias("_bare"), core.alias("_core"))
        .with_columns(
            # A province in front of a city or district adds nothing: 天津市滨海新区 → 滨海新区.
            pl.col("_place")
            .str.replace(f"^(?:{provinces})(?P<rest>{pieces['place']})", "${rest}")
            .alias("_place"),
        )
        .with_columns(pl.coalesce(pl.col("_place").str.slice(-1, 1), pl.col("_bare")).alias("_lvl"))
        .join(docs, on="document_id", how="left")
        .sort(["document_id", "start_char"])
        .with_columns(
            pl.col("_place").forward_fill().over(["document_id", "_core", "_lvl"]).alias("_latest"),
            # Any body of the same level named earlier in the paragraph: 长安区纪委监委督促区教育局.
            pl.col("_place").forward_fill().over(["document_id", "paragraph_index", "_lvl"]).alias("_nearby"),
        )
    )
    district_fits = pl.col("region_district").str.ends_with(pl.col("_bare"))
    # 新区区委 in a 滨海新区 report: a place that abbreviates the document's district is that district.
    shortened = pl.col("_place").str.slice(0, pl.col("_place").str.len_chars() - 1)
    abbreviates = (pl.col("_place").str.len_chars() >= 3) & (
        pl.col("region_district").str.ends_with(pl.col("_place"))
        | pl.col("region_district").str.ends_with(shortened)
    )
    resolved = (
        pl.when(abbreviates.fill_null(False))
        .then(pl.col("region_district"))
        .when(pl.col("_place").is_not_null())
        .then(pl.col("_place"))
        .when(pl.col("_bare") == "省")
        .then(pl.coalesce("region_province", "_latest"))
        .when(pl.col("_bare") == "市")
        .then(pl.coalesce("region_city", "_latest"))
        .when(pl.col("_bare").is_not_null())
        .then(pl.coalesce(pl.when(district_fits).then(pl.col("region_district")), "_latest", "_nearby"))
    )
    return out.with_columns(resolved.alias("resolved_place")).with_columns(
        pl.when(pl.col("resolved_place").is_not_null())
        .then(pl.col("resolved_place") + pl.col("_core"))
        .otherwise(pl.col("unit"))
        .alias("qualified_unit"),
        (pl.col("resolved_place").is_not_null() | pl.col("_bare").is_null()).alias("_ok"),
    )


# jieba's tags for proper nouns: a place stem or a name must carry one of these to count.
_PROPER = frozenset({"ns", "nr", "nz", "nt", "nrt", "nrfg", "j"})
# Tokens that can open a name: proper nouns, numerals (第五中心医院), foreign words.
_NAME_LIKE = _PROPER | {"m", "eng", "x"}
_LEAD_DROP_SINGLE = frozenset({"d", "p", "c", "u", "uj", "r"})
# A name made only of common words (公办幼儿园, 义务教育学校) names a kind of body, not a body.
_GENERIC = frozenset({"n", "vn", "v", "a", "b", "l", "d", "ad", "f"})


def _posseg() -> ModuleType:
    import logging

    import jieba
    import jieba.posseg

    from transforms import pos_viterbi

    jieba.setLogLevel(logging.WARNING)
    pos_viterbi.install(jieba.posseg)
    return jieba.posseg


def _junk_stems(stems: list[str], trim_words: set[str], known: set[str]) -> list[str]:
    """Two-character stems before 区/县/市… that are no place: 召开区委 is 召开 + 区委."""
    tags = _posseg().dt.word_tag_tab
    return [s for s in stems if s in trim_words or (tags.get(s) not in _PROPER and s not in known)]


def _name_edges(names: list[str], trim_words: set[str]) -> pl.DataFrame:
    """For run-on names (companies, schools…): leading characters to drop, and whether a name is left."""
    posseg = _posseg()
    rows = []
    for name in names:  # distinct candidate names only: a few hundred at most
        tokens = posseg.lcut(name)
        drop = 0
        # Words go from the front while a proper noun or numeral still follows (指导|北大研究院); a
        # single-character verb stays (合景泰富 is a name, not 合 + 景泰富).
        while (
            len(tokens) > 1
            and tokens[0].flag not in _NAME_LIKE
            and (
                len(tokens[0].word) > 1 or tokens[0].flag in _LEAD_DROP_SINGLE or tokens[0].word in trim_words
            )
            and any(t.flag in _NAME_LIKE for t in tokens[1:])
        ):
            drop += len(tokens[0].word)
            tokens = tokens[1:]
        generic = all(t.flag in _GENERIC for t in tokens)
        rows.append((name, drop, not generic))
    return pl.DataFrame(
        rows, schema={"mention_text": pl.String, "_drop": pl.Int64, "_keep": pl.Boolean}, orient="row"
    )


def _clean_names(
    found: pl.DataFrame,
    org_patterns: pl.DataFrame,
    org_false_names: pl.DataFrame | None,
    org_trim_words: pl.DataFrame,
    regions: pl.DataFrame,
    pieces: dict[str, str],
) -> pl.DataFrame:
    """Trim what the patterns took in front of a name, and drop what is no name at all."""
    place_types = set(org_patterns.filter(pl.col("pattern").str.contains("{place}", literal=True))["type"])
    run_on_types = set(org_patterns.filter(pl.col("needs_boundary"))["type"])
    region_start = pl.col("mention_text").str.contains(f"^(?:{pieces['region_names']})")
    stem = pl.col("mention_text").str.extract(f"^([\\u4e00-\\u9fa5]{{2}})(?:{pieces['markers']})", 1)
    found = found.with_columns(
        pl.when(pl.col("type").is_in(sorted(place_types)) & ~region_start).then(stem).alias("_stem")
    )
    stems = found["_stem"].drop_nulls().unique().to_list()
    junk = _junk_stems(stems, set(org_trim_words["word"]), set(regions["short_name"]))
    found = found.with_columns(
        pl.when(pl.col("_stem").is_in(junk)).then(2).otherwise(0).cast(pl.Int64).alias("_drop_stem")
    )
    run_on = found.filter(pl.col("type").is_in(sorted(run_on_types)))["mention_text"].unique().to_list()
    edges = (
        _name_edges(run_on, set(org_trim_words["word"]))
        if run_on
        else pl.DataFrame(schema={"mention_text": pl.String, "_drop": pl.Int64, "_keep": pl.Boolean})
    )
    found = (
        found.join(edges, on="mention_text", how="left")
        .with_columns(
            (pl.col("_drop_stem") + pl.col("_drop").fill_null(0)).alias("_cut"),
        )
        .filter(pl.col("_keep").fill_null(True))
        .with_columns(
            pl.col("mention_text").str.slice(pl.col("_cut")).alias("mention_text"),
            (pl.col("start_char") + pl.col("_cut")).alias("start_char"),
        )
    )
    if org_false_names is not None and org_false_names.height:
        false_re = "|".join(f"(?:{p})" for p in org_false_names["pattern"])
        with_next = pl.col("mention_text") + pl.col("_next").fill_null("")
        found = found.filter(
            ~with_next.str.contains(false_re) & ~pl.col("mention_text").str.contains(false_re)
        )
    return found.filter(pl.col("mention_text").str.len_chars() >= 2).select(
        "sentence_id", "document_id", "start_char", "end_char", "mention_text", "type"
    )


_OPTIONAL_TAIL = re.compile(r"\(\?:[^()]*\)\?$")
_GROUP_TAIL = re.compile(r"\(\?:([^()]*)\)$")
_LITERAL_TAIL = re.compile(r"[\u4e00-\u9fff]+$")
_PLAIN = re.compile(r"^[\u4e00-\u9fff]+$")


def _required_literals(template: str) -> list[str] | None:
    """Words one of which every match of an ``org_patterns.csv`` row must contain, or None.

    Read off the row's last mandatory element: a trailing group of plain words
    (``{name}(?:大学|学院)`` → 大学, 学院) or a trailing run of characters (``纪检监察组``),
    after dropping optional trailing groups (``政府(?:办公室)?`` → 政府). A sentence holding
    none of them cannot match, so filtering on them first changes no result; the regex
    engine's search over these patterns' long character classes is slow, a substring
    search is not. Rows of any other shape are searched in full (None).
    """
    while _OPTIONAL_TAIL.search(template):
        template = _OPTIONAL_TAIL.sub("", template)
    group = _GROUP_TAIL.search(template)
    if group:
        words = group.group(1).split("|")
        return words if all(_PLAIN.match(w) for w in words) else None
    tail = _LITERAL_TAIL.search(template)
    return [tail.group(0)] if tail else None


def _leftmost_first(frame: pl.DataFrame, org_patterns: pl.DataFrame, pieces: dict[str, str]) -> pl.DataFrame:
    """The matches one regex of all CSV rows would give, found row by row.

    A single alternation of every row is correct but slow (its automaton outgrows the regex
    engine's cache), so each row is matched on its own and the overlaps are settled as
    leftmost-first would settle them: the earliest start wins, then the earlier CSV row,
    and a match is kept only when it starts after every kept match before it. That last
    rule is applied until nothing changes (a handful of rounds: overlaps chain briefly).
    """
    keep = ["sentence_id", "document_id", "start_char", "_sentence"]
    found = []
    for i in range(org_patterns.height):  # one regex per CSV row, a few dozen at most
        single, _ = _combined(org_patterns.slice(i, 1), pieces)
        rows = frame
        literals = _required_literals(org_patterns["pattern"][i])
        if literals:  # a plain substring search first: most sentences name no body of this kind
            rows = frame.filter(pl.col("text").str.contains_any(literals))
        found.append(find_spans(rows, "text", single, keep=keep).with_columns(pl.lit(i).alias("_row")))
    spans = (
        pl.concat(found)
        .sort(["sentence_id", "start", "_row"])
        .unique(["sentence_id", "start"], keep="first", maintain_order=True)
        # Sorted by sentence, so a run id numbers the sentences: grouping on it is cheaper than
        # on the id's text.
        .with_columns(pl.col("sentence_id").rle_id().alias("_sid"), pl.lit(True).alias("_kept"))
    )
    # Only sentences where a match starts inside an earlier one need the rounds below; in the
    # rest every match is kept. They are a small share, and the rounds run on them alone.
    overlaps = (pl.col("start") < pl.col("end").cum_max().shift(1).over("_sid")).any().over("_sid")
    spans = spans.with_columns(overlaps.fill_null(False).alias("_overlaps"))
    clear, tangled = spans.filter(~pl.col("_overlaps")), spans.filter(pl.col("_overlaps"))
    for _ in range(tangled.height):  # converges long before; bounded for safety
        before = pl.when(pl.col("_kept")).then(pl.col("end")).shift(1).cum_max().forward_fill().over("_sid")
        kept = tangled.with_columns((before.is_null() | (pl.col("start") >= before)).alias("_next"))
        if kept["_next"].equals(kept["_kept"]):
            break
        tangled = kept.drop("_kept").rename({"_next": "_kept"})
    return (
        pl.concat([clear, tangled.filter(pl.col("_kept")).select(clear.columns)])
        .sort(["_sid", "start"])
        .drop("_kept", "_sid", "_overlaps")
    )


def _empty_mentions() -> pl.DataFrame:
    """The mention table with no rows, typed as a full one is (offsets integers, the flag a
    boolean), so that a batch naming no body still concatenates and loads with the others."""
    return pl.DataFrame(
        schema={
            c: pl.Int64 if c.endswith("_char") else pl.Boolean if c == "qualified" else pl.String
            for c in MENTION_COLUMNS
        }
    )


def _match_spans(sentences: pl.DataFrame, org_patterns: pl.DataFrame, pieces: dict[str, str]) -> pl.DataFrame:
    """Every match of the patterns in the sentences worth reading, settled leftmost-first.

    Boilerplate is skipped (page furniture names no body acting in the text), except a photo
    caption, which reports who did what (▲市纪委监委驻市教育局纪检监察组赴…). The sentence is
    kept as ``_sentence`` beside the searched ``text`` so the character after a match can be
    read later.
    """
    usable = sentences
    if "is_boilerplate" in sentences.columns:
        usable = sentences.filter(
            ~pl.col("is_boilerplate") | (pl.col("boilerplate_reason") == "photo_caption")
        )
    return _leftmost_first(
        usable.rename({"text": "_sentence"}).with_columns(pl.col("_sentence").alias("text")),
        org_patterns,
        pieces,
    )


def _named_spans(spans: pl.DataFrame, org_patterns: pl.DataFrame, pieces: dict[str, str]) -> pl.DataFrame:
    """The name inside each match, with its type and document offsets, in match order.

    The name is the match less the words the pattern took in front of it: each match is split
    by its own row's pattern (one capture group), which is far cheaper for the regex engine
    than capturing with all rows at once. ``_next`` (the character after the name) is kept for
    ``_clean_names``'s false-name check.
    """
    types = [str(t) for t in org_patterns["type"]]
    named = []
    for (row,), part in spans.with_row_index("_order").partition_by("_row", as_dict=True).items():
        single, _ = _combined(org_patterns.slice(int(row), 1), pieces)
        named.append(
            part.with_columns(
                pl.col("match").str.extract(f"^(?:{single})$", 1).alias("mention_text"),
                pl.lit(types[int(row)]).alias("type"),
            )
        )
    return (
        pl.concat(named)
        .sort("_order")
        .with_columns(
            # The character after the name tells 办公 from 办, 局长 from 局.
            pl.col("_sentence").str.slice(pl.col("end"), 1).alias("_next"),
        )
        .drop_nulls("mention_text")
        .select(
            "sentence_id",
            "document_id",
            (
                pl.col("start_char") + pl.col("end") - pl.col("mention_text").str.len_chars().cast(pl.Int64)
            ).alias("start_char"),
            (pl.col("start_char") + pl.col("end")).alias("end_char"),
            "mention_text",
            "type",
            "_next",
        )
    )


def _split_posted(found: pl.DataFrame) -> pl.DataFrame:
    """The written name tidied (``_tidy``), and a 派驻组 split into commission and host.

    Tidying (中共 off, 委员会 → 委, brackets full-width) makes the spellings of one body agree
    before any completing. A 派驻组 names two bodies (市纪委监委驻市科技局纪检监察组: the
    commission ``_parent`` and the host ``_host``), and each is completed with a place on its
    own, so the two are taken apart here.
    """
    tidy = (
        pl.col("mention_text")
        .str.replace(r"^中共", "")
        .str.replace(r"委员会$", "委")
        .str.replace_all(r"\(", "（")
        .str.replace_all(r"\)", "）")
    )
    found = found.with_columns(tidy.alias("_tidy"))
    posted = pl.col("_tidy").str.extract_groups(r"^(?P<parent>.*?)驻(?P<host>.+)纪检监察组$")
    return found.with_columns(posted.alias("_posted")).with_columns(
        pl.when(pl.col("type") == "派驻纪检监察组")
        .then(pl.col("_posted").struct.field("parent"))
        .alias("_parent"),
        pl.when(pl.col("type") == "派驻纪检监察组")
        .then(pl.col("_posted").struct.field("host"))
        .alias("_host"),
    )


def _place_parts(found: pl.DataFrame) -> pl.DataFrame:
    """One row per name to complete with a place (``unit``), tagged by the ``part`` it is.

    A body other than a 派驻组 is one part (``whole``); a 派驻组 gives its commission
    (``parent``, when written) and its host (``host``). Stacking them lets ``_qualify``
    complete all of them in one vectorised pass, with the mention's document, paragraph and
    offset for finding the latest or nearby body of the same level.
    """
    context = ("mention_key", "document_id", "paragraph_index", "start_char")
    return pl.concat(
        [
            found.filter(pl.col("type") != "派驻纪检监察组").select(
                *context, pl.lit("whole").alias("part"), pl.col("_tidy").alias("unit")
            ),
            found.filter((pl.col("_parent") != "") & pl.col("_parent").is_not_null()).select(
                *context, pl.lit("parent").alias("part"), pl.col("_parent").alias("unit")
            ),
            found.drop_nulls("_host").select(
                *context, pl.lit("host").alias("part"), pl.col("_host").alias("unit")
            ),
        ]
    )


# What the pivot of the qualified parts must hold even when no mention gave a part of that kind
# (a batch without a 派驻组 has no parent or host columns), so the steps after it can name them.
_WIDE_COLUMNS = (
    "qualified_unit_whole",
    "qualified_unit_parent",
    "qualified_unit_host",
    "resolved_place_whole",
    "resolved_place_parent",
    "resolved_place_host",
    "_ok_whole",
    "_ok_parent",
    "_ok_host",
    "_bare_host",
    "_core_host",
)


def _qualified_parts(
    parts: pl.DataFrame, dim_documents: pl.DataFrame, regions: pl.DataFrame, pieces: dict[str, str]
) -> pl.DataFrame:
    """Each part completed with a place, back to one row per mention (``mention_key``).

    The parts are qualified as one long frame, then pivoted wide (``qualified_unit_whole``,
    ``resolved_place_host``…) so that a 派驻组's commission and host sit side by side for the
    steps that combine them. Columns no part filled are added as nulls.
    """
    docs = dim_documents.select("document_id", "region_province", "region_city", "region_district")
    provinces = alternation(regions.filter(pl.col("level") == "province")["name"])
    q = _qualify(parts, docs, pieces, provinces)
    wide = q.select("mention_key", "part", "qualified_unit", "resolved_place", "_ok", "_bare", "_core").pivot(
        on="part", index="mention_key", values=["qualified_unit", "resolved_place", "_ok", "_bare", "_core"]
    )
    for col in _WIDE_COLUMNS:
        if col not in wide.columns:
            wide = wide.with_columns(
                pl.lit(None, dtype=pl.Boolean if col.startswith("_ok") else pl.String).alias(col)
            )
    return wide


def _posted_commission(found: pl.DataFrame) -> pl.DataFrame:
    """A 派驻组's host completed from its commission, and its commission (``_commission``).

    A bare host (驻区教育局) is in its commission's place (红桥区纪委监委 → 红桥区教育局). A
    short form (驻市科技局纪检监察组) names no commission: it takes that of the latest full form
    with the same host in the document, else the commission of the host's own place. ``found``
    must be in document order, since "latest" is read off it.
    """
    parent_fits = pl.col("resolved_place_parent").str.ends_with(pl.col("_bare_host"))
    found = found.with_columns(
        pl.when(parent_fits.fill_null(False))
        .then(pl.col("resolved_place_parent") + pl.col("_core_host"))
        .otherwise(pl.col("qualified_unit_host"))
        .alias("qualified_unit_host"),
        pl.when(parent_fits.fill_null(False))
        .then(pl.col("resolved_place_parent"))
        .otherwise(pl.col("resolved_place_host"))
        .alias("resolved_place_host"),
    )
    return found.with_columns(
        pl.col("qualified_unit_parent")
        .forward_fill()
        .over(["document_id", "qualified_unit_host"])
        .alias("_latest_parent")
    ).with_columns(
        pl.coalesce(
            "qualified_unit_parent",
            "_latest_parent",
            pl.when(pl.col("resolved_place_host").is_not_null()).then(
                pl.col("resolved_place_host") + "纪委监委"
            ),
        ).alias("_commission")
    )


def _normalised(found: pl.DataFrame, pieces: dict[str, str]) -> pl.DataFrame:
    """The mention's ``name``, ``qualified``, ``parent_name`` and the place its level is read off.

    A 派驻组 is rebuilt as commission + 驻 + host + 纪检监察组, qualified when its commission is
    known and its host could be completed; any other body is its completed ``whole`` part. A
    party department's parent is the committee its name opens with. A 派驻组's level is read
    off its commission's place (else its host's): it belongs to the commission that posts it.
    """
    posted_name = pl.col("_commission").fill_null("") + "驻" + pl.col("qualified_unit_host") + "纪检监察组"
    is_posted = pl.col("type") == "派驻纪检监察组"
    return found.with_columns(
        pl.when(is_posted).then(posted_name).otherwise(pl.col("qualified_unit_whole")).alias("name"),
        pl.when(is_posted)
        .then(pl.col("_commission").is_not_null() & pl.col("_ok_host").fill_null(True))
        .otherwise(pl.col("_ok_whole"))
        .fill_null(False)
        .alias("qualified"),
        pl.when(is_posted)
        .then(pl.col("_commission"))
        .when(pl.col("type") == "党委部门")
        .then(pl.col("qualified_unit_whole").str.extract("^(.*?委).", 1))
        .alias("parent_name"),
        pl.when(is_posted)
        .then(
            pl.coalesce(
                pl.col("_commission").str.extract(f"^((?:{pieces['place']})+)", 1),
                pl.col("resolved_place_host"),
            )
        )
        .otherwise(pl.col("resolved_place_whole"))
        .alias("_level_place"),
    )


def _with_level(found: pl.DataFrame, org_levels: pl.DataFrame, pieces: dict[str, str]) -> pl.DataFrame:
    """``level``: the tier of government a body belongs to, read off the administrative marker
    that ends its place (武清区 → 区县); a body with no place is ``other``."""
    levels = org_levels.select(pl.col("marker").alias("_marker"), pl.col("level"))
    return (
        found.with_columns(pl.col("_level_place").str.extract(f"({pieces['markers']})$", 1).alias("_marker"))
        .join(levels, on="_marker", how="left")
        .with_columns(pl.col("level").fill_null("other"))
    )


def org_mentions(
    sentences: pl.DataFrame,
    dim_documents: pl.DataFrame,
    org_patterns: pl.DataFrame,
    org_trim_words: pl.DataFrame,
    org_levels: pl.DataFrame,
    regions: pl.DataFrame,
    org_false_names: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per body named in a sentence, with its normalised name and ``org_id``.

    ``sentences`` is ``stg_sentences`` (boilerplate rows other than photo captions are
    skipped when marked); ``dim_documents`` supplies ``region_province``, ``region_city``,
    ``region_district`` for completing bare names. The other frames are the CSVs named in
    the module docstring; ``org_false_names`` (``seeds/org_false_names.csv``) drops words
    that only look like names (布局, 举办, 办公…).

    Columns: sentence_id, document_id, start_char, end_char (document offsets of the name as
    written), mention_text, org_id, name (normalised), type, level, qualified, parent_name.
    """
    pieces = _pieces(regions, org_levels, org_trim_words)
    spans = _match_spans(sentences, org_patterns, pieces)
    if spans.height == 0:
        return _empty_mentions()
    named = _named_spans(spans, org_patterns, pieces)
    found = (
        _clean_names(named, org_patterns, org_false_names, org_trim_words, regions, pieces)
        .join(sentences.select("sentence_id", "paragraph_index"), on="sentence_id", how="left")
        .with_row_index("mention_key")
    )
    found = _split_posted(found)
    wide = _qualified_parts(_place_parts(found), dim_documents, regions, pieces)
    # In document order from here: a short 派驻 form looks back for the latest full one.
    found = found.join(wide, on="mention_key", how="left").sort(["document_id", "start_char"])
    found = _posted_commission(found)
    found = _with_level(_normalised(found, pieces), org_levels, pieces)
    ids = found.select(pl.col("name").unique()).with_columns(_sha16(pl.col("name")).alias("org_id"))
    return found.join(ids, on="name", how="left").select(MENTION_COLUMNS).sort(["document_id", "start_char"])


def dim_org_unit(mentions: pl.DataFrame) -> pl.DataFrame:
    """One row per body: org_id, name, type, level, parent_org_id, mention_count, document_count.

    ``parent_org_id`` links a 派驻组 to its commission and a party department to its
    committee when that parent is itself named somewhere in the corpus.
    """
    orgs = (
        mentions.group_by("org_id")
        .agg(
            pl.col("name").first(),
            pl.col("type").mode().sort().first(),
            pl.col("level").mode().sort().first(),
            pl.col("parent_name").drop_nulls().first(),
            pl.len().alias("mention_count"),
            pl.col("document_id").n_unique().alias("document_count"),
        )
        .sort("name")
    )
    parents = orgs.select(pl.col("name").alias("parent_name"), pl.col("org_id").alias("parent_org_id"))
    return orgs.join(parents, on="parent_name", how="left").select(
        "org_id", "name", "type", "level", "parent_org_id", "mention_count", "document_count"
    )


def bridge_sentence_org(mentions: pl.DataFrame) -> pl.DataFrame:
    """One row per mention: sentence_id, document_id, org_id, start_char, end_char, mention_text."""
    return mentions.select("sentence_id", "document_id", "org_id", "start_char", "end_char", "mention_text")
