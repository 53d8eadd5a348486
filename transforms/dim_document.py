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

Genre. ``seeds/genre_rules.csv`` scores each genre: a rule adds its weight when its
pattern occurs at least ``min_count`` times in the title or the text. The best score
wins if it reaches 2, else the genre is ``other``.
"""

from __future__ import annotations

import polars as pl

from transforms.ledger_text import alternation
from transforms.spans import find_spans

_MIN_GENRE_SCORE = 2


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
    out = stg_docs.select(
        "document_id",
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


def _genre(documents: pl.DataFrame, stg_docs: pl.DataFrame, genre_rules: pl.DataFrame) -> pl.DataFrame:
    frame = documents.select("document_id", "text").join(
        stg_docs.select("document_id", "title"), on="document_id"
    )
    scores = []
    for rule in genre_rules.iter_rows(named=True):  # a few CSV rows → one expression each
        col = pl.col("title").fill_null("") if rule["scope"] == "title" else pl.col("text")
        hit = col.str.count_matches(rule["pattern"]) >= rule["min_count"]
        scores.append(
            pl.when(hit).then(pl.lit(rule["weight"])).otherwise(0).alias(f"{rule['genre']}|{len(scores)}")
        )
    scored = frame.select("document_id", *scores).unpivot(index="document_id", variable_name="rule")
    best = (
        scored.with_columns(pl.col("rule").str.split("|").list.first().alias("genre"))
        .group_by(["document_id", "genre"])
        .agg(pl.col("value").sum().alias("score"))
        .sort(["document_id", "score", "genre"], descending=[False, True, False])
        .group_by("document_id", maintain_order=True)
        .agg(pl.col("genre").first(), pl.col("score").first())
    )
    return best.select(
        "document_id",
        pl.when(pl.col("score") >= _MIN_GENRE_SCORE)
        .then(pl.col("genre"))
        .otherwise(pl.lit("other"))
        .alias("genre"),
    )


def dim_document(
    documents: pl.DataFrame,
    stg_docs: pl.DataFrame,
    regions: pl.DataFrame,
    region_suffixes: pl.DataFrame,
    genre_rules: pl.DataFrame,
) -> pl.DataFrame:
    """One row per document: identity, header fields, region and genre.

    ``documents`` is ``raw_documents`` (``document_id, file_name, text`` and optionally
    ``content_sha256``); ``stg_docs`` is ``stg_documents``. The reference frames are
    ``seeds/regions.csv``, ``seeds/region_suffixes.csv`` and ``seeds/genre_rules.csv``.

    Columns: document_id, title, publisher, publish_date, region_province, region_city,
    region_district, genre, file_name, content_sha256, char_count.
    """
    docs = documents.unique("document_id", keep="first", maintain_order=True)
    prefecture_province = regions.filter(pl.col("level") == "prefecture").select(
        pl.col("name").alias("_h_city"), pl.col("province").alias("_c_province")
    )
    kinds = regions.filter(pl.col("level") == "province").select(
        pl.col("name").alias("region_province"), pl.col("kind").alias("_kind")
    )
    sha = pl.col("content_sha256") if "content_sha256" in docs.columns else pl.lit(None, dtype=pl.String)
    out = (
        stg_docs.select("document_id", "title", "publisher", "publish_date", "char_count")
        .join(
            docs.select("document_id", "file_name", sha.alias("content_sha256")), on="document_id", how="left"
        )
        .join(_header_regions(stg_docs, regions, region_suffixes), on="document_id", how="left")
        .join(prefecture_province, on="_h_city", how="left")
        .join(_body_province(docs, regions), on="document_id", how="left")
        .join(_genre(docs, stg_docs, genre_rules), on="document_id", how="left")
        .with_columns(pl.coalesce("_h_province", "_c_province", "_b_province").alias("region_province"))
        .join(kinds, on="region_province", how="left")
        .with_columns(
            pl.when(pl.col("_kind") == "直辖市")
            .then(pl.col("region_province"))
            .otherwise(pl.col("_h_city"))
            .alias("region_city"),
            pl.col("_h_district").alias("region_district"),
        )
    )
    return out.select(
        "document_id",
        "title",
        "publisher",
        "publish_date",
        "region_province",
        "region_city",
        "region_district",
        pl.col("genre").fill_null("other"),
        "file_name",
        "content_sha256",
        "char_count",
    )
