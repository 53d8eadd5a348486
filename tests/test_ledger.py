"""The ledger transforms on tiny hand-written texts, in styles other than the seeds'.

The report below is written the way a county's 巡察 report reads in another province
(中共XX省XX市XX县委关于…巡察整改进展情况的通报), with full-width punctuation, quoted
problems and a status stated in each clause. The web page wraps a short report in the
furniture of a government site.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows.warehouse.ledger_reference import load_ledger_reference
from tests.conftest import doc_frame, staged_documents
from transforms.boilerplate import drop_boilerplate, mark_boilerplate
from transforms.dim_document import dim_document
from transforms.dim_org_unit import bridge_sentence_org, dim_org_unit, org_mentions
from transforms.dim_section import assign_section, dim_section
from transforms.fct_measure import assign_measure, fct_measure, metric_count
from transforms.fct_rectification_item import fct_rectification_item
from transforms.fct_supervision_activity import fct_supervision_activity
from transforms.ledger import build_ledger
from transforms.spans import find_spans
from transforms.stg_sentences import stg_sentences

COUNTY_REPORT = """中共安徽省六安市霍山县委关于市委第三轮巡察整改进展情况的通报

根据市委统一部署，2022年3月至5月，市委第三巡察组对我县进行了巡察。现将整改进展情况予以公布。

一、整改工作总体情况

县委坚决扛起整改主体责任，共梳理问题15个，制定整改措施48条，已完成整改42条。

二、巡察反馈问题整改落实情况

（一）关于“落实全面从严治党主体责任不到位”问题

1.针对“履行主体责任压力传导层层递减”问题，进行了以下整改。一是压紧压实责任。县委常委会会议专题研究3次，\
已完成责任清单修订。二是强化督导检查。县纪委监委开展专项检查12次，正在推进问题整改。

2.针对干部作风建设方面问题和“持续深化作风建设”整改意见，进行了以下整改。一是开展作风专项整治，查处问题8起。\
二是建立长效机制。出台制度5项，基本完成。

针对“举一反三”整改事项“部分单位制度执行不严”，进行了以下整改。县委办公室会同县委组织部对28个单位开展抽查，已整改到位。

（二）关于“推动高质量发展有短板”问题

1.关于“营商环境仍需优化。巡察指出‘审批时限长’问题”问题。

一是压缩审批时限，审批时限压缩至3个工作日。二是推进“一网通办”，持续推进中。

三、巡察专题报告相关整改事项落实情况

1.针对“推动改革促进发展”整改事项“乡镇财政管理制度不完善”，进行了以下整改。修订完善制度4项。

2.针对人口流失方面问题，进行了以下整改。出台人才引进办法，引进人才120名。

欢迎广大干部群众对巡察整改情况进行监督。联系电话：0564-1234567；邮政信箱：霍山县某路1号；电子邮箱：example@example.cn。

中共霍山县委员会

2022年9月1日
"""

WEB_PAGE = """某某市人民政府门户网站 政务邮箱
当前位置: 首页>政务公开>通知公告
某某县关于县委第二轮巡察整改进展情况的通报
发布日期: 2023-05-06 09:00  来源: 中共某某县委员会
字号:
扫一扫在手机打开当前页
一、整改落实情况
针对“举一反三”整改事项“专项资金监管不严”，进行了以下整改。清理资金账户23个，收回资金150万元。
联系电话：0000-1234567；电子邮箱：a@b.cn。
中共某某县委员会
2023年5月6日
浏览量：1024次
key=1&uid=22&checkdate=2023/5/6 10:00:00&count=35
全国各省市政府网站
重点链接
"""

FEATURE = """强化监督 护航发展

——全市纪检监察机关服务保障重点项目建设

▲市纪委监委驻市教育局纪检监察组赴石家庄市第一中学开展调研监督。

长安区纪委监委深入某某社区开展监督检查，了解惠民政策落实情况。

长安区纪委监委负责同志介绍，今年以来，区纪委监委督促区委组织部、区教育局落实责任，\
走访河北港口集团和石家庄某某科技有限公司。

“我们将持续跟进监督。”驻市教育局纪检监察组负责同志说，小组还到石家庄市第二医院开展专项监督。

本版撰文 本报记者 某某
"""


@pytest.fixture(scope="module")
def ref():
    return load_ledger_reference()


def _staged(texts: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    docs = doc_frame(texts)
    return docs, staged_documents(docs), stg_sentences(docs)


def _sliced(frame: pl.DataFrame, docs: pl.DataFrame, start: str, end: str, text: str) -> None:
    """Every row's offsets slice the document text back to its text column."""
    texts = dict(zip(docs["document_id"], docs["text"], strict=True))
    for row in frame.iter_rows(named=True):
        if row[text] is not None:
            assert texts[row["document_id"]][row[start] : row[end]] == row[text]


# --- dim_document ---------------------------------------------------------------------------


def test_document_region_and_genre_come_from_the_header_of_another_provinces_report(ref) -> None:
    docs, stg, _ = _staged({"a.txt": COUNTY_REPORT})
    d = dim_document(docs, stg, ref.regions, ref.region_suffixes, ref.genre_rules).row(0, named=True)
    assert d["title"] == "中共安徽省六安市霍山县委关于市委第三轮巡察整改进展情况的通报"
    assert d["publisher"] == "中共霍山县委员会"
    assert d["publish_date"] == dt.date(2022, 9, 1)
    assert (d["region_province"], d["region_city"], d["region_district"]) == ("安徽省", "六安市", "霍山县")
    assert d["genre"] == "rectification_report"
    assert d["char_count"] == len(COUNTY_REPORT)


def test_a_city_without_its_province_takes_the_province_from_the_reference_table(ref) -> None:
    text = "中共岳阳市委关于省委第二轮巡视整改进展情况的通报\n\n省委巡视组反馈后，全市上下抓好整改。\n"
    docs, stg, _ = _staged({"b.txt": text})
    d = dim_document(docs, stg, ref.regions, ref.region_suffixes, ref.genre_rules).row(0, named=True)
    assert (d["region_province"], d["region_city"], d["region_district"]) == ("湖南省", "岳阳市", None)


def test_a_feature_is_about_the_province_it_names_most_and_a_municipality_is_its_own_city(ref) -> None:
    text = FEATURE + "重庆是我们的家。重庆各级纪检监察机关。北京来的客人。\n"
    docs, stg, _ = _staged({"f.txt": text, "o.txt": "今天天气很好。\n"})
    d = dim_document(docs, stg, ref.regions, ref.region_suffixes, ref.genre_rules).sort("file_name")
    feature, other = d.rows(named=True)
    assert feature["genre"] == "discipline_feature"
    assert (feature["region_province"], feature["region_city"]) == ("重庆市", "重庆市")
    assert other["genre"] == "other"
    assert other["region_province"] is None


def test_content_hash_is_carried_when_the_input_has_it(ref) -> None:
    docs = doc_frame({"a.txt": COUNTY_REPORT}).with_columns(pl.lit("ab" * 32).alias("content_sha256"))
    d = dim_document(docs, staged_documents(docs), ref.regions, ref.region_suffixes, ref.genre_rules)
    assert d["content_sha256"].to_list() == ["ab" * 32]


# --- boilerplate ------------------------------------------------------------------------------


def test_web_furniture_is_marked_with_its_reason_and_the_report_is_not(ref) -> None:
    _docs, stg, sents = _staged({"page.html": WEB_PAGE})
    marked = mark_boilerplate(sents, ref.boilerplate_patterns, stg)
    assert marked.height == sents.height
    reasons = dict(zip(marked["text"], marked["boilerplate_reason"], strict=True))
    assert reasons["某某市人民政府门户网站 政务邮箱"] == "site_banner"
    assert reasons["当前位置: 首页>政务公开>通知公告"] == "breadcrumb"
    assert reasons["发布日期: 2023-05-06 09:00  来源: 中共某某县委员会"] == "metadata"
    assert reasons["字号:"] == "page_tools"
    assert reasons["扫一扫在手机打开当前页"] == "qr_code"
    assert reasons["联系电话：0000-1234567；电子邮箱：a@b.cn。"] == "contact_footer"
    assert reasons["浏览量：1024次"] == "page_views"
    assert reasons["key=1&uid=22&checkdate=2023/5/6 10:00:00&count=35"] == "cms_residue"
    assert reasons["全国各省市政府网站"] == "link_list"
    assert reasons["重点链接"] == "link_list"
    for kept in (
        "某某县关于县委第二轮巡察整改进展情况的通报",
        "一、整改落实情况",
        "中共某某县委员会",
        "2023年5月6日",
    ):
        assert reasons[kept] is None


def test_a_banner_above_the_title_and_lines_after_the_signature_are_furniture(ref) -> None:
    text = (
        "政府公告\n\n某某市关于巡视整改进展情况的通报\n\n正文说明了整改情况。\n\n"
        "中共某某市委\n\n2022年8月16日\n\n分享到微博\n"
    )
    _docs, stg, sents = _staged({"p.txt": text})
    reasons = dict(
        mark_boilerplate(sents, ref.boilerplate_patterns, stg).select("text", "boilerplate_reason").rows()
    )
    assert reasons["政府公告"] == "pre_title"
    assert reasons["分享到微博"] == "after_signature"
    assert reasons["正文说明了整改情况。"] is None


def test_newspaper_captions_and_bylines_are_marked(ref) -> None:
    _docs, stg, sents = _staged({"f.txt": FEATURE})
    reasons = dict(
        mark_boilerplate(sents, ref.boilerplate_patterns, stg).select("text", "boilerplate_reason").rows()
    )
    assert reasons["▲市纪委监委驻市教育局纪检监察组赴石家庄市第一中学开展调研监督。"] == "photo_caption"
    assert reasons["本版撰文 本报记者 某某"] == "byline"
    assert reasons["长安区纪委监委深入某某社区开展监督检查，了解惠民政策落实情况。"] is None


def test_no_fact_item_or_measure_comes_from_furniture(ref) -> None:
    from flows.warehouse.reference import load_reference
    from transforms.fct_metric import fct_metric

    docs, stg, sents = _staged({"page.html": WEB_PAGE})
    facts = fct_metric(sents, stg, load_reference())
    ledger = build_ledger(docs, stg, sents, ref, facts)
    marked = ledger["stg_sentences"]
    furniture = marked.filter(pl.col("is_boilerplate"))
    kept_facts = ledger["fct_metric"]
    assert kept_facts.join(furniture.select("sentence_id"), on="sentence_id", how="semi").height == 0
    assert drop_boilerplate(facts, marked).height == kept_facts.height
    # The page's one body line writes two figures; 1024次 (浏览量) and count=35 are furniture.
    assert kept_facts.sort("start_char")["text"].to_list() == ["23个", "150万元"]
    # Items and measures lie wholly outside every boilerplate sentence.
    # One item (针对“举一反三”整改事项“专项资金监管不严”) and its one measure, the sentence after it.
    assert ledger["fct_rectification_item"]["problem_text"].to_list() == ["专项资金监管不严"]
    assert ledger["fct_measure"]["text"].to_list() == ["清理资金账户23个，收回资金150万元。"]
    for table in ("fct_rectification_item", "fct_measure"):
        rows = ledger[table]
        overlap = rows.join(
            furniture.select("document_id", "start_char", "end_char"), on="document_id"
        ).filter(
            (pl.col("start_char") < pl.col("end_char_right"))
            & (pl.col("start_char_right") < pl.col("end_char"))
        )
        assert overlap.height == 0, table
    measure = ledger["fct_measure"].row(0, named=True)
    assert measure["text"] == "清理资金账户23个，收回资金150万元。"
    assert measure["metric_count"] == 2


# --- dim_section ------------------------------------------------------------------------------


def test_heading_tree_has_paths_levels_and_nested_spans(ref) -> None:
    docs, stg, sents = _staged({"a.txt": COUNTY_REPORT})
    marked = mark_boilerplate(sents, ref.boilerplate_patterns, stg)
    sections = dim_section(docs, marked, ref.heading_patterns)
    assert sections["path"].to_list() == [
        "一",
        "二",
        "二/（一）",
        "二/（一）/1",
        "二/（一）/2",
        "二/（二）",
        "二/（二）/1",
        "三",
        "三/1",
        "三/2",
    ]
    _sliced(sections, docs, "heading_start_char", "heading_end_char", "heading_text")
    by_path = {r["path"]: r for r in sections.iter_rows(named=True)}
    assert (
        by_path["二/（一）/1"]["heading_text"] == "1.针对“履行主体责任压力传导层层递减”问题，进行了以下整改"
    )
    # A quoted 。 does not end a heading.
    assert by_path["二/（二）/1"]["heading_text"] == "1.关于“营商环境仍需优化。巡察指出‘审批时限长’问题”问题"
    assert by_path["二/（一）"]["parent_section_id"] == by_path["二"]["section_id"]
    assert by_path["二/（一）/2"]["parent_section_id"] == by_path["二/（一）"]["section_id"]
    # A section runs to the next heading of its own or a higher level.
    assert by_path["二/（一）"]["end_char"] == by_path["二/（二）"]["start_char"]
    assert by_path["二/（二）/1"]["end_char"] == by_path["三"]["start_char"]
    assert by_path["三/2"]["end_char"] == len(COUNTY_REPORT)
    assert [by_path[p]["level"] for p in ("一", "二/（一）", "二/（一）/1")] == [1, 2, 3]


def test_an_enumerated_clause_inside_a_paragraph_is_not_a_heading(ref) -> None:
    text = (
        "一、总体情况\n\n(一)提高站位，抓好整改。一是传达部署。2.再研究一次。\n\n"
        "第二部分 下一步\n\n1、继续推进。\n"
    )
    docs, _stg, sents = _staged({"a.txt": text})
    sections = dim_section(docs, sents, ref.heading_patterns)
    assert sections.select("path", "heading_text").rows() == [
        ("一", "一、总体情况"),
        ("一/（一）", "(一)提高站位，抓好整改"),
        ("第二部分", "第二部分 下一步"),
        ("第二部分/1", "1、继续推进"),
    ]
    assert sections["level"].to_list() == [1, 2, 0, 3]


def test_assign_section_puts_each_row_in_its_deepest_section(ref) -> None:
    docs, _stg, sents = _staged({"a.txt": COUNTY_REPORT})
    sections = dim_section(docs, sents, ref.heading_patterns)
    placed = assign_section(sents, sections)
    assert placed.height == sents.height
    assert placed["sentence_id"].to_list() == sents["sentence_id"].to_list()
    paths = dict(zip(placed["text"], placed["section_path"], strict=True))
    assert paths["中共安徽省六安市霍山县委关于市委第三轮巡察整改进展情况的通报"] is None
    assert paths["二是强化督导检查。"] == "二/（一）/1"
    assert paths["出台人才引进办法，引进人才120名。"] == "三/2"


# --- fct_rectification_item and fct_measure ---------------------------------------------------


def _report_ledger(ref):
    docs, stg, sents = _staged({"a.txt": COUNTY_REPORT})
    facts = find_spans(docs, "text", r"[0-9]+(?:次|起|项|个|条|名)", keep=["document_id"]).select(
        "document_id",
        pl.col("start").alias("start_char"),
        pl.col("end").alias("end_char"),
        pl.col("match").alias("text"),
    )
    marked = mark_boilerplate(sents, ref.boilerplate_patterns, stg)
    sections = dim_section(docs, marked, ref.heading_patterns)
    items = fct_rectification_item(docs, marked, sections, ref.item_patterns)
    measures = fct_measure(docs, items, ref.item_patterns, ref.measure_status, facts)
    return docs, facts, sections, items, measures


def test_every_problem_lead_is_an_item_with_its_category_parent_and_offsets(ref) -> None:
    docs, _, _, items, _ = _report_ledger(ref)
    got = items.select("section_path", "item_kind", "category", "problem_text").rows()
    assert got == [
        ("二/（一）", "problem_group", "具体问题", "落实全面从严治党主体责任不到位"),
        ("二/（一）/1", "problem", "具体问题", "履行主体责任压力传导层层递减"),
        ("二/（一）/2", "problem", "具体问题", "干部作风建设方面问题"),
        ("二/（一）/2", "problem", "举一反三", "部分单位制度执行不严"),
        ("二/（二）", "problem_group", "具体问题", "推动高质量发展有短板"),
        ("二/（二）/1", "problem", "具体问题", "营商环境仍需优化。巡察指出‘审批时限长’问题"),
        ("三/1", "problem", "推动改革促进发展", "乡镇财政管理制度不完善"),
        ("三/2", "problem", "专题报告", "人口流失方面问题"),
    ]
    _sliced(items, docs, "start_char", "end_char", "text")
    _sliced(items, docs, "problem_start_char", "problem_end_char", "problem_text")
    groups = dict(zip(items["section_path"], items["item_id"], strict=False))
    parents = items.select("problem_text", "parent_item_id").rows()
    assert parents[1] == ("履行主体责任压力传导层层递减", groups["二/（一）"])
    assert parents[3] == ("部分单位制度执行不严", groups["二/（一）"])
    assert parents[6][1] is None
    assert items.filter(pl.col("category") == "具体问题")["opinion_text"].to_list()[2] == "持续深化作风建设"


def test_every_enumerated_clause_is_a_measure_with_headline_status_and_figures(ref) -> None:
    docs, facts, _, items, measures = _report_ledger(ref)
    _sliced(measures, docs, "start_char", "end_char", "text")
    rows = measures.join(items.select("item_id", "problem_text"), on="item_id").select(
        "problem_text", "ordinal", "enumerated", "headline", "status", "metric_count"
    )
    assert rows.rows() == [
        ("履行主体责任压力传导层层递减", 1, True, "压紧压实责任", "已完成", 1),
        ("履行主体责任压力传导层层递减", 2, True, "强化督导检查", "正在推进", 1),
        # 查处问题8起 and 出台… report what was done: 已完成 (issue 23; they had no status before).
        ("干部作风建设方面问题", 1, True, "开展作风专项整治", "已完成", 1),
        ("干部作风建设方面问题", 2, True, "建立长效机制", "基本完成", 1),
        ("部分单位制度执行不严", 1, False, "县委办公室会同县委组织部对28个单位开展抽查", "已整改到位", 1),
        ("营商环境仍需优化。巡察指出‘审批时限长’问题", 1, True, "压缩审批时限", None, 1),
        ("营商环境仍需优化。巡察指出‘审批时限长’问题", 2, True, "推进“一网通办”", "正在推进", 0),
        ("乡镇财政管理制度不完善", 1, False, "修订完善制度4项", None, 1),
        ("人口流失方面问题", 1, False, "出台人才引进办法", "已完成", 1),
    ]
    # The figure in the general section belongs to no measure; the rest to exactly one.
    placed = assign_measure(facts, measures)
    assert placed.height == facts.height
    unplaced = placed.filter(pl.col("measure_id").is_null())["text"].to_list()
    assert unplaced == ["15个", "48条", "42条"]
    recount = metric_count(measures.drop("metric_count"), facts)
    assert recount["metric_count"].to_list() == measures["metric_count"].to_list()


def test_a_nested_list_stays_inside_its_clause(ref) -> None:
    text = (
        "一、整改情况\n\n1.针对“机制不健全”问题，进行了以下整改。一是建立制度。二是加强培训，其中一是集中培训，"
        "二是专题辅导。三是开展检查。\n"
    )
    docs, _stg, sents = _staged({"a.txt": text})
    sections = dim_section(docs, sents, ref.heading_patterns)
    items = fct_rectification_item(docs, sents, sections, ref.item_patterns)
    measures = fct_measure(docs, items, ref.item_patterns, ref.measure_status)
    assert measures.select("ordinal", "headline").rows() == [
        (1, "建立制度"),
        (2, "加强培训"),
        (3, "开展检查"),
    ]


def test_a_body_without_enumeration_gives_one_measure_per_paragraph(ref) -> None:
    text = "一、整改情况\n\n1.关于“台账不规范”问题。\n\n重新建立台账。\n\n已全部整改完成。\n\n二、下一步\n"
    docs, _stg, sents = _staged({"a.txt": text})
    sections = dim_section(docs, sents, ref.heading_patterns)
    items = fct_rectification_item(docs, sents, sections, ref.item_patterns)
    measures = fct_measure(docs, items, ref.item_patterns, ref.measure_status)
    assert measures.select("ordinal", "enumerated", "text", "status").rows() == [
        (1, False, "重新建立台账。", None),
        (2, False, "已全部整改完成。", "已完成"),
    ]


# --- dim_org_unit and bridge_sentence_org -----------------------------------------------------


def _feature_orgs(ref):
    docs, stg, sents = _staged({"f.txt": FEATURE})
    dim_doc = dim_document(docs, stg, ref.regions, ref.region_suffixes, ref.genre_rules).with_columns(
        pl.lit("河北省").alias("region_province"), pl.lit("石家庄市").alias("region_city")
    )
    marked = mark_boilerplate(sents, ref.boilerplate_patterns, stg)
    mentions = org_mentions(
        marked,
        dim_doc,
        ref.org_patterns,
        ref.org_trim_words,
        ref.org_levels,
        ref.regions,
        ref.org_false_names,
    )
    return docs, marked, dim_doc, mentions


def test_organisations_are_typed_levelled_and_one_row_per_body(ref) -> None:
    _docs, _, _, mentions = _feature_orgs(ref)
    orgs = dim_org_unit(mentions)
    table = {r["name"]: (r["type"], r["level"]) for r in orgs.iter_rows(named=True)}
    assert table["石家庄市纪委监委驻石家庄市教育局纪检监察组"] == ("派驻纪检监察组", "市")
    assert table["长安区纪委监委"] == ("纪委监委", "区县")
    assert table["长安区委组织部"] == ("党委部门", "区县")
    assert table["长安区教育局"] == ("政府部门", "区县")
    assert table["河北港口集团"] == ("国企", "other")
    assert table["石家庄某某科技有限公司"] == ("企业", "other")
    assert table["石家庄市第一中学"] == ("学校", "市")
    assert table["石家庄市第二医院"] == ("医院", "市")
    # 驻市教育局纪检监察组 (short) and the full form in the caption are one body.
    posted = mentions.filter(pl.col("type") == "派驻纪检监察组")
    assert posted["mention_text"].to_list() == ["市纪委监委驻市教育局纪检监察组", "驻市教育局纪检监察组"]
    assert posted["org_id"].n_unique() == 1
    # 区纪委监委 after 长安区纪委监委 is that body.
    assert mentions.filter(pl.col("mention_text") == "区纪委监委")["name"].to_list() == ["长安区纪委监委"]
    assert orgs["org_id"].n_unique() == orgs.height
    assert orgs.filter(pl.col("name") == "长安区纪委监委")["mention_count"].to_list() == [3]
    # A department's parent is its committee when that is named; here it is not.
    assert orgs.filter(pl.col("name") == "长安区委组织部")["parent_org_id"].to_list() == [None]


def test_bridge_links_sentences_to_bodies_with_offsets(ref) -> None:
    docs, marked, _, mentions = _feature_orgs(ref)
    bridge = bridge_sentence_org(mentions)
    assert bridge.columns == [
        "sentence_id",
        "document_id",
        "org_id",
        "start_char",
        "end_char",
        "mention_text",
    ]
    _sliced(bridge, docs, "start_char", "end_char", "mention_text")
    inside = bridge.join(marked.select("sentence_id", "start_char", "end_char"), on="sentence_id")
    assert inside.filter(
        (pl.col("start_char") < pl.col("start_char_right")) | (pl.col("end_char") > pl.col("end_char_right"))
    ).is_empty()


def test_bare_names_take_the_documents_own_place(ref) -> None:
    docs, stg, sents = _staged({"a.txt": COUNTY_REPORT})
    dim_doc = dim_document(docs, stg, ref.regions, ref.region_suffixes, ref.genre_rules)
    mentions = org_mentions(
        sents, dim_doc, ref.org_patterns, ref.org_trim_words, ref.org_levels, ref.regions, ref.org_false_names
    )
    names = dict(zip(mentions["mention_text"], mentions["name"], strict=False))
    assert names["县纪委监委"] == "霍山县纪委监委"
    assert names["县委组织部"] == "霍山县委组织部"
    assert names["中共霍山县委员会"] == "霍山县委"
    assert names["县委"] == "霍山县委"
    assert names["市委"] == "六安市委"
    levels = dict(zip(mentions["name"], mentions["level"], strict=False))
    assert levels["霍山县委"] == "区县"
    assert levels["六安市委"] == "市"


# --- fct_supervision_activity -----------------------------------------------------------------


def test_supervision_activities_name_body_action_and_target(ref) -> None:
    docs, marked, dim_doc, mentions = _feature_orgs(ref)
    acts = fct_supervision_activity(marked, mentions, ref.supervision_terms, dim_doc)
    _sliced(acts, docs, "action_start_char", "action_end_char", "action_text")
    _sliced(acts, docs, "target_start_char", "target_end_char", "target_text")
    rows = acts.select("supervisor_name", "action", "target_text", "in_caption").rows()
    assert rows[0] == ("石家庄市纪委监委驻石家庄市教育局纪检监察组", "调研监督", "石家庄市第一中学", True)
    assert ("长安区纪委监委", "监督检查", "某某社区", False) in rows
    assert ("石家庄市纪委监委驻石家庄市教育局纪检监察组", "专项监督", "石家庄市第二医院", False) in rows
    target_orgs = acts.filter(pl.col("target_text") == "石家庄市第一中学")["target_org_id"].to_list()
    first_school = mentions.filter(pl.col("name") == "石家庄市第一中学")["org_id"].to_list()[0]
    assert target_orgs == [first_school]
    # Only features are read when the documents are given.
    report = dim_doc.with_columns(pl.lit("rectification_report").alias("genre"))
    assert fct_supervision_activity(marked, mentions, ref.supervision_terms, report).is_empty()
