"""``dim_document``: one row per document, with what the text says about where and what it is.

Grain: one row per distinct document (content hash), as in ``stg_documents``.
Title, publisher and publish date are taken from ``stg_documents`` (rules over the
text). This module adds the region the report is *about* and its genre, again from
the text only, never from file names.

Region. The header, the title and the publisher line, names the issuing body
(中共廊坊市委, 中共天津市滨海新区委员会, 滨海新区关于…), and the issuing body's
territory is what a report is about. The chain province → city → district is read off
the header with the names in ``seeds/regions.csv`` and the suffix rules of
``seeds/region_suffixes.csv`` (省/自治区/市/自治州/地区/盟 → 新区/区/县/旗). A city
without its province (中共岳阳市委) takes the province from ``regions.csv``. When the
header names no province, the body decides: the province-level name mentioned most
often, and only a 省 or 自治区 when the text speaks of its 省委 or 全省 (a report to a
province's inspectors is not about Beijing, however often Beijing is named). A
province-level municipality (天津市) is its own city, so ``region_city`` repeats it and
a district (滨海新区) sits directly below.

A report of a national body (国务院, 全国人民代表大会: the ``national`` rows of
``seeds/document_structure.csv``) is about the whole country: the provinces its body names
(台湾, 香港) are not its region, which stays null. The file name is the last resort
(``2026_某省_政府工作报告.txt``).

Genre. ``seeds/genre_rules.csv`` scores each genre: a rule adds its weight when its
pattern occurs at least ``min_count`` times in the title or the text. The best score
wins if it reaches 2, else the genre is ``other``; a text that decides nothing then
takes the genre its file name names, by the title rules.

Each field says where it came from, as ``as_of_source`` does for a figure: ``region_source``
is the source of the title or publisher that named the place, ``body`` or ``file``;
``genre_source`` is the title's source when a title rule counted, else ``body`` or ``file``;
``none`` when nothing decided (no region, genre ``other``).
"""

from __future__ import annotations

import polars as pl

from transforms.ledger_text import alternation
from transforms.spans import find_spans
from transforms.stg_documents import HEADER_FIELDS
from transforms.stg_documents import alternation as structure_alternation

_MIN_GENRE_SCORE = 2
_HEAD_CHARS = 3000  # where a report's title block is looked for


def _file_stem() -> pl.Expr:
    """The file name without its extension, separators as spaces: what a file name can say."""
    return pl.col("file_name").str.replace(r"\.[^.]*$", "").str.replace_all(r"[_\s]+", " ")


def _suffixes(region_suffixes: pl.DataFrame, level: str) -> str:
    words = region_suffixes.filter(pl.col("level") == level)["suffix"].to_list()
    return alternation(words)


def _header_regions(
    stg_docs: pl.DataFrame, regions: pl.DataFrame, region_suffixes: pl.DataFrame
) -> pl.DataFrame:
    """Province, city and district named by the title and publisher (the issuing body)."""
    provinces = regions.filter(pl.col("level") == "province")
    prefectures = regions.filter(pl.col("level") == "prefecture")
    prov_alt = alternation([*provinces["name"], *provinces["short_name"]])
    city_alt = alternation(prefectures["name"])
    city_sfx = _suffixes(region_suffixes, "city")
    dist_sfx = _suffixes(region_suffixes, "district")
    org_end = r"(?:委员会|委|人民政府|政府|关于|纪委|党委|\s|$)"
    header = pl.concat_str(
        [pl.col("title").fill_null(""), pl.col("publisher").fill_null("")], separator="\n"
    ).str.replace_all("中共", "")
    short_to_full = dict(zip(provinces["short_name"], provinces["name"], strict=True))
    province_raw = header.str.extract(f"({prov_alt})", 1)
    # The city: a prefecture from the CSV, or any X市/州/盟 right after a named province.
    city_named = header.str.extract(f"({city_alt})", 1)
    city_after_prov = header.str.extract(f"(?:{prov_alt})([^\\s关于委的省]{{2,5}}?(?:{city_sfx}))", 1)
    # The district: right after the province or city, or opening the header line (滨海新区关于…).
    district = header.str.extract(
        f"(?:^|\\n|{prov_alt}|{city_alt}|[^\\s关于委的省]{{2,5}}?(?:{city_sfx}))"
        f"([^\\s关于委的省市]{{2,5}}?(?:{dist_sfx})){org_end}",
        1,
    )
    in_title = pl.col("title").fill_null("").str.contains(f"{prov_alt}|{city_alt}")
    out = stg_docs.select(
        "document_id",
        pl.when(in_title)
        .then(pl.col("title_source"))
        .otherwise(pl.col("publisher_source"))
        .alias("_h_source"),
        province_raw.replace(short_to_full).alias("_h_province"),
        pl.coalesce(city_named, city_after_prov).alias("_h_city"),
        district.alias("_h_district"),
    )
    # A district that is in fact a city or a province (廊坊市 at the head of 中共廊坊市委) is not one.
    not_district = pl.col("_h_district").is_in(regions["name"].implode()) | (
        pl.col("_h_district") == pl.col("_h_city")
    )
    return out.with_columns(
        pl.when(not_district.fill_null(False))
        .then(None)
        .otherwise(pl.col("_h_district"))
        .alias("_h_district")
    )


def _body_province(documents: pl.DataFrame, regions: pl.DataFrame) -> pl.DataFrame:
    """The province-level unit the body names most often (only 省/自治区 where the text has 省委/全省)."""
    provinces = regions.filter(pl.col("level") == "province")
    mentions = find_spans(documents, "text", alternation(provinces["short_name"]), keep=["document_id"])
    counts = (
        mentions.join(
            provinces.select(pl.col("short_name").alias("match"), pl.col("name").alias("province"), "kind"),
            on="match",
            how="inner",
        )
        .group_by(["document_id", "province", "kind"])
        .len()
        .join(
            documents.select(
                "document_id", pl.col("text").str.contains("省委|全省|省级").alias("_has_province")
            ),
            on="document_id",
        )
        .filter(~pl.col("_has_province") | pl.col("kind").is_in(["省", "自治区"]))
        .sort(["document_id", "len", "province"], descending=[False, True, False])
    )
    top = counts.group_by("document_id", maintain_order=True).agg(
        pl.col("province").first().alias("_b_province"),
        pl.col("len").first().alias("_n1"),
        pl.col("len").get(1, null_on_oob=True).alias("_n2"),
    )
    # A tie is no answer.
    return top.select(
        "document_id",
        pl.when(pl.col("_n2").is_null() | (pl.col("_n1") > pl.col("_n2")))
        .then(pl.col("_b_province"))
        .alias("_b_province"),
    )


def _genre_scores(frame: pl.DataFrame, genre_rules: pl.DataFrame, title: pl.Expr) -> pl.DataFrame:
    """Per document and genre: the summed weight of the rules that hold, and whether a title rule did."""
    scores = []
    for rule in genre_rules.iter_rows(named=True):  # a few CSV rows → one expression each
        col = title if rule["scope"] == "title" else pl.col("text")
        hit = col.str.count_matches(rule["pattern"]).fill_null(0) >= rule["min_count"]
        scores.append(
            pl.when(hit)
            .then(pl.lit(rule["weight"]))
            .otherwise(0)
            .alias(f"{rule['genre']}|{rule['scope']}|{len(scores)}")
        )
    scored = frame.select("document_id", *scores).unpivot(index="document_id", variable_name="rule")
    parts = pl.col("rule").str.split("|")
    return (
        scored.with_columns(parts.list.get(0).alias("genre"), (parts.list.get(1) == "title").alias("_title"))
        .group_by(["document_id", "genre"])
        .agg(
            pl.col("value").sum().alias("score"),
            (pl.col("_title") & (pl.col("value") > 0)).any().alias("by_title"),
        )
        .sort(["document_id", "score", "genre"], descending=[False, True, False])
        .group_by("document_id", maintain_order=True)
        .agg(pl.col("genre", "score", "by_title").first())
    )


def _genre(documents: pl.DataFrame, stg_docs: pl.DataFrame, genre_rules: pl.DataFrame) -> pl.DataFrame:
    """``genre`` and ``genre_source``: by the title and text, else by the title rules on the file name."""
    frame = documents.select("document_id", "text", "file_name").join(
        stg_docs.select("document_id", "title", "title_source"), on="document_id"
    )
    by_text = _genre_scores(frame, genre_rules, pl.col("title").fill_null(""))
    title_rules = genre_rules.filter(pl.col("scope") == "title")
    by_file = _genre_scores(frame, title_rules, _file_stem()).select(
        "document_id", pl.col("genre").alias("_f_genre"), pl.col("score").alias("_f_score")
    )
    decided = pl.col("score") >= _MIN_GENRE_SCORE
    from_file = ~decided & (pl.col("_f_score") >= _MIN_GENRE_SCORE)
    return (
        frame.select("document_id", "title_source")
        .join(by_text, on="document_id", how="left")
        .join(by_file, on="document_id", how="left")
        .select(
            "document_id",
            pl.when(decided)
            .then(pl.col("genre"))
            .when(from_file)
            .then(pl.col("_f_genre"))
            .otherwise(pl.lit("other"))
            .alias("genre"),
            pl.when(decided & pl.col("by_title"))
            .then(pl.col("title_source"))
            .when(decided)
            .then(pl.lit("body"))
            .when(from_file)
            .then(pl.lit("file"))
            .otherwise(pl.lit("none"))
            .alias("genre_source"),
        )
    )


def _national(docs: pl.DataFrame, stg_docs: pl.DataFrame, structure: pl.DataFrame) -> pl.DataFrame:
    """Whether a national body issued the report: its publisher or title, or the congress of its
    delivery line (——…在第十四届全国人民代表大会…上), names one."""
    national = structure_alternation(structure, "national")
    occasion = structure_alternation(structure, "occasion")
    occasion_line = pl.col("text").str.head(_HEAD_CHARS).str.extract(f"(?m)((?:{occasion}).*)$", 1)
    delivered_to = docs.select(
        "document_id", occasion_line.str.contains(national).alias("_delivered_national")
    )
    named = pl.concat_str([pl.col("publisher").fill_null(""), pl.col("title").fill_null("")], separator="\n")
    return (
        stg_docs.select("document_id", named.str.contains(national).alias("_named_national"))
        .join(delivered_to, on="document_id", how="left")
        .select(
            "document_id",
            (pl.col("_named_national") | pl.col("_delivered_national").fill_null(False)).alias("_national"),
        )
    )


def _file_regions(docs: pl.DataFrame, regions: pl.DataFrame) -> pl.DataFrame:
    """The province, or the city and its province, that the file name names (2026_某省_….txt)."""
    provinces = regions.filter(pl.col("level") == "province")
    prefectures = regions.filter(pl.col("level") == "prefecture")
    short_to_full = dict(zip(provinces["short_name"], provinces["name"], strict=True))
    city_to_province = dict(zip(prefectures["name"], prefectures["province"], strict=True))
    stem = _file_stem()
    city = stem.str.extract(f"({alternation(prefectures['name'])})", 1)
    province = stem.str.extract(f"({alternation([*provinces['name'], *provinces['short_name']])})", 1)
    return docs.select(
        "document_id",
        pl.coalesce(
            province.replace(short_to_full), city.replace_strict(city_to_province, default=None)
        ).alias("_f_province"),
        city.alias("_f_city"),
    )


def dim_document(
    documents: pl.DataFrame,
    stg_docs: pl.DataFrame,
    regions: pl.DataFrame,
    region_suffixes: pl.DataFrame,
    genre_rules: pl.DataFrame,
    structure: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per document: identity, header fields, region and genre, each with its source.

    ``documents`` is ``raw_documents`` (``document_id, file_name, text`` and optionally
    ``content_sha256``); ``stg_docs`` is ``stg_documents``. The reference frames are
    ``seeds/regions.csv``, ``seeds/region_suffixes.csv``, ``seeds/genre_rules.csv`` and
    ``seeds/document_structure.csv`` (``structure``: without it no body is known to be
    national, so a national report takes the province its body names most).

    Columns: see ``DIM_DOCUMENT_COLUMNS``.
    """
    docs = documents.unique("document_id", keep="first", maintain_order=True)
    prefecture_province = regions.filter(pl.col("level") == "prefecture").select(
        pl.col("name").alias("_h_city"), pl.col("province").alias("_c_province")
    )
    kinds = regions.filter(pl.col("level") == "province").select(
        pl.col("name").alias("region_province"), pl.col("kind").alias("_kind")
    )
    sha = pl.col("content_sha256") if "content_sha256" in docs.columns else pl.lit(None, dtype=pl.String)
    national = (
        _national(docs, stg_docs, structure)
        if structure is not None
        else stg_docs.select("document_id", pl.lit(False).alias("_national"))
    )
    header = pl.col("_h_province").is_not_null() | pl.col("_c_province").is_not_null()
    body = pl.col("_b_province").is_not_null() & ~pl.col("_national")
    by_file = pl.col("_f_province").is_not_null() & ~pl.col("_national")
    out = (
        stg_docs.select("document_id", *STG_FIELDS, "char_count")
        .join(
            docs.select("document_id", "file_name", sha.alias("content_sha256")), on="document_id", how="left"
        )
        .join(_header_regions(stg_docs, regions, region_suffixes), on="document_id", how="left")
        .join(prefecture_province, on="_h_city", how="left")
        .join(_body_province(docs, regions), on="document_id", how="left")
        .join(_file_regions(docs, regions), on="document_id", how="left")
        .join(national, on="document_id", how="left")
        .join(_genre(docs, stg_docs, genre_rules), on="document_id", how="left")
        .with_columns(
            pl.when(header)
            .then(pl.coalesce("_h_province", "_c_province"))
            .when(body)
            .then(pl.col("_b_province"))
            .when(by_file)
            .then(pl.col("_f_province"))
            .alias("region_province"),
            pl.when(header)
            .then(pl.col("_h_source"))
            .when(body)
            .then(pl.lit("body"))
            .when(by_file)
            .then(pl.lit("file"))
            .otherwise(pl.lit("none"))
            .alias("region_source"),
            pl.when(header)
            .then(pl.col("_h_city"))
            .when(~body & by_file)
            .then(pl.col("_f_city"))
            .alias("_city"),
        )
        .join(kinds, on="region_province", how="left")
        .with_columns(
            pl.when(pl.col("_kind") == "直辖市")
            .then(pl.col("region_province"))
            .otherwise(pl.col("_city"))
            .alias("region_city"),
            pl.col("_h_district").alias("region_district"),
        )
    )
    return out.with_columns(
        pl.col("genre").fill_null("other"), pl.col("genre_source").fill_null("none")
    ).select(DIM_DOCUMENT_COLUMNS)


# The header fields dim_document takes from stg_documents, with their sources.
STG_FIELDS = HEADER_FIELDS
DIM_DOCUMENT_COLUMNS = (
    "document_id",
    *STG_FIELDS,
    "region_province",
    "region_city",
    "region_district",
    "region_source",
    "genre",
    "genre_source",
    "file_name",
    "content_sha256",
    "char_count",
)
