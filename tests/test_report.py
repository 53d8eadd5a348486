"""The HTML report: complete, offline, every figure highlighted in place, and safe from hostile text."""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from html.parser import HTMLParser
from itertools import combinations
from pathlib import Path

import duckdb
import pytest

from flows.outputs import report
from tests import browser
from tests.test_views import seed_warehouse_path

HOSTILE = (
    '关于“<script>alert(1)</script>”问题的通报" onmouseover="alert(2)\n'
    "发布日期：2022年8月4日\n"
    "一、总体情况\n"
    "截至2021年10月，协议投资额1975亿元<img src=x onerror=alert(3)>，"
    '新增学位5490个" onmouseover="alert(4)"，制定整改措施328条\'><svg onload=alert(5)>。\n'
    "<script>document.documentElement.appendChild(document.createElement('pwned-marker'))</script>\n"
)
# Two work reports with money: one with a from/to pair of one metric (外贸进出口总额), one without.
MONEY_DOCS = {
    "a.txt": "甲省2025年政府工作报告\n一、2025年工作回顾\n"
    "2025年，全省地区生产总值达到1.2万亿元。外贸进出口总额从3000亿元增加到4500亿元。\n",
    "b.txt": "乙市2025年政府工作报告\n一、2025年工作回顾\n"
    "全年一般公共预算收入850亿元，固定资产投资600亿元。\n",
}


class Page(HTMLParser):
    """The parts of a page the tests look at: marks with their text, scripts, attributes, links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[dict[str, str]] = []
        self.mark_texts: list[str] = []
        self.scripts: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.tags: Counter[str] = Counter()
        self._in_mark = 0
        self._in_script = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for k, v in attrs:
            self.attributes.append((tag, k, v or ""))
        a = {k: v or "" for k, v in attrs}
        if tag == "mark" and "fig" in a.get("class", "").split():
            self.marks.append(a)
            self._in_mark += 1
            self._text = []
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self._in_mark:
            self._in_mark -= 1
            self.mark_texts.append("".join(self._text))
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_mark:
            self._text.append(data)
        if self._in_script:
            self.scripts[-1] += data


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def csp(page: Page) -> str:
    """The page's Content-Security-Policy, as the browser reads it."""
    metas = [v for tag, k, v in page.attributes if tag == "meta" and k == "content" and "default-src" in v]
    assert len(metas) == 1
    return metas[0]


def rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def seed_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_warehouse_path(tmp_path_factory)


@pytest.fixture(scope="module")
def seed_report(seed_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report.build_report(seed_warehouse, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def hostile_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.pipeline.etl import build_tables
    from flows.warehouse import store as warehouse
    from flows.warehouse.ingest import read_folder

    folder = tmp_path_factory.mktemp("hostile_raw")
    (folder / "hostile<b>.txt").write_text(HOSTILE, encoding="utf-8")
    raw, quarantine = read_folder(folder)
    assert raw.height == 1 and quarantine.height == 0
    assert "<script>" in raw["text"][0]  # stored as text, not reduced as HTML
    target = tmp_path_factory.mktemp("hostile_wh") / "taizhang.duckdb"
    warehouse.load(target, build_tables(raw), {})
    return target


@pytest.fixture(scope="module")
def hostile_report(hostile_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report.build_report(hostile_warehouse, tmp_path_factory.mktemp("hostile_report"))


@pytest.fixture(scope="module")
def money_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.pipeline.etl import build_tables
    from flows.warehouse import store as warehouse
    from flows.warehouse.ingest import read_folder

    folder = tmp_path_factory.mktemp("money_raw")
    for name, text in MONEY_DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    raw, _ = read_folder(folder)
    target = tmp_path_factory.mktemp("money_wh") / "taizhang.duckdb"
    warehouse.load(target, build_tables(raw), {})
    return target


def test_the_report_has_an_index_and_a_page_per_seed_document(
    seed_warehouse: Path, seed_report: Path
) -> None:
    assert seed_report.name == "index.html"
    index = seed_report.read_text(encoding="utf-8")
    docs = rows(seed_warehouse, "SELECT document_id, file_name, title FROM dim_document")
    assert len(docs) == 5
    for document_id, file_name, title in docs:
        page = seed_report.parent / report.page_name(document_id)
        assert page.exists(), file_name
        assert f'href="{report.page_name(document_id)}"' in index
        assert file_name in index
        assert report.esc(title) in page.read_text(encoding="utf-8")
    assert index.count("<svg") == 3  # facts by kind and unit, money by document, measures


def test_the_report_is_offline_and_self_contained(seed_report: Path) -> None:
    pages = sorted(seed_report.parent.glob("*.html"))
    assert len(pages) == 6 + len(list(seed_report.parent.glob("concept-*.html")))
    for path in pages:
        text = path.read_text(encoding="utf-8")
        page = parse(path)
        for tag, name, value in page.attributes:
            if name in ("src", "href", "action", "srcset", "poster", "data"):
                assert not re.match(r"\s*(https?:)?//", value, re.I), f"{path.name}: <{tag} {name}={value!r}>"
                assert not value.strip().lower().startswith("javascript:"), path.name
        assert page.tags["link"] == 0 and page.tags["iframe"] == 0 and page.tags["img"] == 0
        assert "@import" not in text and not re.search(r"url\(\s*['\"]?(https?:)?//", text)
        assert "default-src 'none'" in csp(page)  # the CSP forbids any network load


def test_every_fact_is_highlighted_once_at_its_offsets(seed_warehouse: Path, seed_report: Path) -> None:
    facts = rows(
        seed_warehouse,
        "SELECT document_id, start_char, end_char, text FROM fct_metric ORDER BY document_id, start_char",
    )
    by_doc: dict[str, list[tuple[int, int, str]]] = {}
    for doc, s, e, t in facts:
        by_doc.setdefault(doc, []).append((s, e, t))
    for (document_id,) in rows(seed_warehouse, "SELECT document_id FROM dim_document"):
        page = parse(seed_report.parent / report.page_name(document_id))
        expected = by_doc.get(document_id, [])
        assert len(page.marks) == len(expected), document_id
        assert page.mark_texts == [t for _, _, t in expected]
        assert [m["id"] for m in page.marks] == [f"f-{s}-{e}" for s, e, _ in expected]
        for m in page.marks:
            assert m["data-value"] and m["data-unit"] and m["title"]


def test_each_metric_concept_has_a_page_of_its_values_linked_to_their_highlighted_figures(
    seed_warehouse: Path, seed_report: Path
) -> None:
    series = rows(
        seed_warehouse,
        "SELECT metric_concept_id, document_id, start_char, end_char, text FROM v_metric_series",
    )
    concepts = {c for c, *_ in series}
    assert concepts  # the seeds state counts of 整改措施 and 反馈问题, which the concept list holds
    assert {"rectification_measures", "feedback_problems"} <= concepts
    pages = {p.name for p in seed_report.parent.glob("concept-*.html")}
    assert pages == {report.concept_page_name(c) for c in concepts}
    index = seed_report.read_text(encoding="utf-8")
    for concept in concepts:
        page = seed_report.parent / report.concept_page_name(concept)
        links = [v for tag, k, v in parse(page).attributes if tag == "a" and k == "href" and "#f-" in v]
        mine = [(d, s, e, t) for c, d, s, e, t in series if c == concept]
        assert sorted(links) == sorted(f"{report.page_name(d)}#f-{s}-{e}" for d, s, e, _ in mine)
        for document_id, start, end, text in mine:  # each link lands on the figure, highlighted
            doc_page = parse(seed_report.parent / report.page_name(document_id))
            marks = {m["id"]: t for m, t in zip(doc_page.marks, doc_page.mark_texts, strict=True)}
            assert marks[f"f-{start}-{end}"] == text
        assert "<svg" in page.read_text(encoding="utf-8")
        assert f'href="{report.concept_page_name(concept)}"' in index
    assert '<a href="concept-rectification_measures.html">整改措施' in index


def test_a_figure_carries_value_unit_metric_as_of_and_section(
    seed_warehouse: Path, seed_report: Path
) -> None:
    (doc, s, e) = rows(
        seed_warehouse, "SELECT document_id, start_char, end_char FROM fct_metric WHERE text = '1975亿元'"
    )[0]
    page = parse(seed_report.parent / report.page_name(doc))
    mark = next(m for m in page.marks if m["id"] == f"f-{s}-{e}")
    assert mark["data-value"].startswith("197,500,000,000")
    assert mark["data-unit"] == "元"
    assert mark["data-metric"] == "协议投资额"
    assert mark["data-asof"].startswith("2021-10-31")
    assert "二/（一）/1" in mark["data-section"]
    assert "协议投资额" in mark["title"] and "2021-10-31" in mark["title"]


def test_the_ledger_lists_items_and_measures_with_status(seed_warehouse: Path, seed_report: Path) -> None:
    doc, measures = rows(
        seed_warehouse,
        "SELECT document_id, count(*) FROM fct_measure GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )[0]
    text = (seed_report.parent / report.page_name(doc)).read_text(encoding="utf-8")
    ledger = text[text.index('id="ledger"') : text.index('id="figures"')]
    assert ledger.count('class="status"') >= measures
    assert "正在推进" in ledger and "已完成" in ledger
    for (measure_id,) in rows(
        seed_warehouse, f"SELECT measure_id FROM fct_measure WHERE document_id = '{doc}'"
    ):
        anchor = report._anchor_id("t-measure", measure_id)
        assert f'href="#{anchor}"' in ledger and f'id="{anchor}"' in text


def test_hostile_text_is_escaped_and_cannot_run(hostile_warehouse: Path, hostile_report: Path) -> None:
    (document_id,) = rows(hostile_warehouse, "SELECT document_id FROM dim_document")[0]
    (facts,) = rows(hostile_warehouse, "SELECT count(*) FROM fct_metric")[0]
    assert facts >= 3
    for path in (hostile_report, hostile_report.parent / report.page_name(document_id)):
        text = path.read_text(encoding="utf-8")
        page = parse(path)
        # The only script is the report's own, and the CSP allows that one by its hash.
        assert page.scripts == [report._SCRIPT]
        digest = hashlib.sha256(report._SCRIPT.encode()).digest()
        assert f"script-src 'sha256-{base64.b64encode(digest).decode()}'" in csp(page)
        assert not [a for a in page.attributes if a[1].lower().startswith("on")], "an event handler got in"
        assert page.tags["img"] == 0 and page.tags["svg"] <= 3 and "pwned-marker" not in page.tags
        assert "<script>alert" not in text and "<img src=x" not in text
    # The file name "hostile<b>.txt" is text in the overview's table and its money chart (SVG): the only
    # <b> elements are the four cards'.
    assert "hostile&lt;b&gt;.txt" in hostile_report.read_text(encoding="utf-8")
    assert parse(hostile_report).tags["b"] == 4
    doc_page = (hostile_report.parent / report.page_name(document_id)).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc_page
    assert "&#34; onmouseover=&#34;alert(2)" in doc_page  # markupsafe's spelling of &quot;
    assert len(parse(hostile_report.parent / report.page_name(document_id)).marks) == facts


def test_the_templates_escape_everything_and_mark_nothing_safe() -> None:
    """Autoescaping does the escaping: it is on for the pages, and no template turns it off or marks a
    value safe (the only markup handed in ready-made is the report's own script and the charts' SVG,
    which is built escaped)."""
    folder = Path(report.__file__).parent / "templates"
    pages = sorted(p.name for p in folder.glob("*.html"))
    assert pages == ["base.html", "concept.html", "document.html", "index.html", "macros.html", "text.html"]
    for name in pages:
        assert report._ENV.autoescape(name) is True  # select_autoescape for .html
        text = (folder / name).read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|markup", text, re.I), name
    assert report.esc('<a title="x">') == "&lt;a title=&#34;x&#34;&gt;"  # quotes too, as autoescaping


def _sum_spellings(value: float) -> set[str]:
    """The ways the report could print a sum of money (commas left out): 145000000000, 1450亿, 1.95万亿."""
    spellings = {report.fmt_number(value), report.fmt_chinese(value), f"{value / 1e8:.8g}亿"}
    if value >= 1e12:
        spellings.add(f"{value / 1e12:.8g}万亿")
    return {x.replace(",", "") for x in spellings}


def test_no_page_shows_a_sum_of_money_figures(money_warehouse: Path, tmp_path: Path) -> None:
    index = report.build_report(money_warehouse, tmp_path / "r")
    money = rows(money_warehouse, "SELECT document_id, value_canonical FROM fct_metric WHERE kind = 'money'")
    assert len(money) == 5  # 1.2万亿, 3000亿 and 4500亿 (one pair), 850亿, 600亿
    singles = {v for _, v in money}
    sums = {sum(v for _, v in combo) for n in range(2, len(money) + 1) for combo in combinations(money, n)}
    assert not sums & singles  # so that a sum on a page cannot be a figure shown alone
    pages = [index, *(index.parent / report.page_name(d) for d in {d for d, _ in money})]
    for path in pages:
        text = path.read_text(encoding="utf-8").replace(",", "")
        for total in sums:
            for spelling in _sum_spellings(total):
                assert spelling not in text, f"{path.name} shows the sum {spelling}"
    cards = re.findall(r"<div class='card'><b>([^<]*)</b><span>([^<]*)</span>", index.read_text("utf-8"))
    assert cards == [
        ("2", "文档 documents"),
        ("5", "指标事实 facts"),
        ("0", "整改问题 items"),
        ("0", "整改措施 measures"),
    ]


def test_each_document_lists_its_largest_money_figure_of_each_metric_with_its_date(
    money_warehouse: Path, tmp_path: Path
) -> None:
    index = report.build_report(money_warehouse, tmp_path / "r")
    overview = index.read_text(encoding="utf-8")
    largest = rows(
        money_warehouse,
        "SELECT document_id, metric, arg_max(text, value_canonical), arg_max(start_char, value_canonical),"
        " arg_max(end_char, value_canonical), arg_max(as_of, value_canonical), count(*)"
        " FROM fct_metric WHERE kind = 'money' GROUP BY ALL",
    )
    assert sorted(n for *_, n in largest) == [1, 1, 1, 2]  # the from/to pair is one metric
    for doc, metric, text, start, end, as_of, _ in largest:
        page = report.page_name(doc)
        doc_page = (index.parent / page).read_text(encoding="utf-8")
        for html, href in ((overview, f"{page}#f-{start}-{end}"), (doc_page, f"#f-{start}-{end}")):
            entry = re.search(
                rf'<li><a class="jump" href="{re.escape(href)}"[^>]*>([^<]*)</a>(.*?)</li>', html
            )
            assert entry, (metric, text)
            assert entry[1] == text and f'class="metric">{metric}<' in entry[2]
            assert as_of is None or as_of.isoformat() in entry[2]
    # The smaller end of the pair is not listed: one figure per metric.
    (start, end) = rows(
        money_warehouse, "SELECT start_char, end_char FROM fct_metric WHERE text = '3000亿元'"
    )[0]
    assert f'#f-{start}-{end}"' not in overview.split('id="charts"')[0].split("<tbody>")[1]


def test_largest_money_ranks_other_currencies_apart_and_keeps_figures_without_a_metric() -> None:
    def fig(start: int, value: float, unit: str, metric: str | None) -> dict[str, object]:
        return {
            "kind": "money",
            "start_char": start,
            "value_canonical": value,
            "unit_canonical": unit,
            "metric": metric,
        }

    facts = [
        fig(0, 5e9, "美元", "实际使用外资"),
        fig(10, 2e8, "元", None),
        fig(20, 3e8, "元", None),
        fig(30, 1e8, "元", "收入"),
        {"kind": "count", "start_char": 40, "value_canonical": 9e12, "unit_canonical": "个", "metric": "x"},
    ]
    assert [f["start_char"] for f in report.largest_money(facts, 10)] == [20, 10, 30, 0]
    assert [f["start_char"] for f in report.largest_money(facts, 2)] == [20, 10]


def test_render_text_keeps_one_mark_per_figure_even_when_spans_overlap() -> None:
    def fig(s: int, e: int, text: str) -> dict[str, object]:
        return {
            "start_char": s,
            "end_char": e,
            "text": text,
            "number": 1.0,
            "unit": "个",
            "kind": "count",
            "approx": None,
            "change": None,
            "metric": "<b>",
            "borderline": False,
            "unit_canonical": "个",
            "value_canonical": 1.0,
            "as_of": None,
            "period": None,
            "as_of_source": "none",
            "section_path": None,
            "section_heading": None,
            "measure_headline": None,
        }

    text = "共<3个>与3个项目"
    out = report.render_text(text, [fig(2, 4, "3个"), fig(3, 5, "个>"), fig(3, 4, "个"), fig(6, 8, "3个")])
    page = Page()
    page.feed(out)
    assert len(page.marks) == 4
    assert "<3" not in out and "共&lt;" in out and 'data-metric="&lt;b&gt;"' in out
    assert re.sub(r"<[^>]+>", "", out).replace("&lt;", "<").replace("&gt;", ">") == text


def test_the_report_reads_the_warehouse_read_only(seed_warehouse: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(seed_warehouse.read_bytes()).hexdigest()
    reader = duckdb.connect(str(seed_warehouse), read_only=True)  # an analyst holds it open
    try:
        index = report.build_report(seed_warehouse, tmp_path / "r")
    finally:
        reader.close()
    assert index.exists()
    assert hashlib.sha256(seed_warehouse.read_bytes()).hexdigest() == before
    (tmp_path / "r" / "doc-gone.html").write_text("stale", encoding="utf-8")
    report.build_report(seed_warehouse, tmp_path / "r")
    assert not (tmp_path / "r" / "doc-gone.html").exists()


def test_the_default_folder_is_report_beside_the_warehouse() -> None:
    assert report.default_report_dir(Path("warehouse/taizhang.duckdb")) == Path("warehouse/report")


def _panel(dom: str) -> str:
    """The figure panel as the browser left it (its opening tag and what the script put in it)."""
    panel = dom[dom.index('<aside id="panel"') :]
    return panel[: panel.index("</aside>")]


def _with_script(page: Path, script: str, out: Path, *, allow: bool) -> Path:
    """A copy of ``page`` with one more inline script at the end; ``allow`` adds its hash to the CSP."""
    text = page.read_text(encoding="utf-8")
    if allow:
        ours = f"sha256-{report._SCRIPT_HASH}"
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert text.count(ours) == 1
        text = text.replace(ours, f"{ours}' 'sha256-{digest}")  # a bare ' is fine inside content="…"
    assert text.count("</body>") == 1
    out.write_text(text.replace("</body>", f"<script>{script}</script></body>"), encoding="utf-8")
    return out


@pytest.mark.slow
@pytest.mark.skipif(
    not browser.CHROMIUM.exists(),
    reason="headless Chromium is not installed (apt-get install -y chromium; CI does)",
)
def test_chromium_renders_the_figures_and_runs_no_injected_script(
    seed_warehouse: Path, seed_report: Path, hostile_warehouse: Path, hostile_report: Path, tmp_path: Path
) -> None:
    (doc, s, e, n) = rows(
        seed_warehouse,
        "SELECT document_id, start_char, end_char, (SELECT count(*) FROM fct_metric f"
        " WHERE f.document_id = m.document_id) FROM fct_metric m WHERE text = '1975亿元'",
    )[0]
    page = seed_report.parent / report.page_name(doc)
    # The DOM after the page's script ran: opening a figure by its #id fills the panel, which
    # proves the script runs under the page's CSP and shows value, metric and as-of.
    dom = browser.dump_dom(page.as_uri() + f"#f-{s}-{e}")
    assert len(re.findall(r'<mark class="fig\b', dom)) == n
    panel = _panel(dom)
    assert panel.startswith('<aside id="panel" class="open">')
    for shown in ("197,500,000,000", "协议投资额", "2021-10-31", "元"):
        assert shown in panel, shown

    # A click (a real DOM event) opens the panel for the figure clicked. The click comes from a
    # second inline script, which runs only once the CSP lists its hash beside the report's own.
    click = f"document.getElementById('f-{s}-{e}').click();"
    panel = _panel(browser.dump_dom(_with_script(page, click, tmp_path / "click.html", allow=True).as_uri()))
    assert panel.startswith('<aside id="panel" class="open">')
    assert "协议投资额" in panel and "197,500,000,000" in panel
    panel = _panel(
        browser.dump_dom(_with_script(page, click, tmp_path / "blocked.html", allow=False).as_uri())
    )
    assert panel.startswith('<aside id="panel">') and "协议投资额" not in panel  # the CSP blocked it

    # The hostile document: shown as text, and none of its scripts or handlers ran.
    (hostile_doc,) = rows(hostile_warehouse, "SELECT document_id FROM dim_document")[0]
    (facts,) = rows(hostile_warehouse, "SELECT count(*) FROM fct_metric")[0]
    dom = browser.dump_dom((hostile_report.parent / report.page_name(hostile_doc)).as_uri())
    assert "<pwned-marker" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", dom)
    assert len(re.findall(r'<mark class="fig\b', dom)) == facts >= 3
    # Its file name "hostile<b>.txt" is in the overview's table and money chart, as text: the only
    # <b> elements are the four cards'.
    dom = browser.dump_dom(hostile_report.as_uri())
    assert "hostile&lt;b&gt;.txt" in dom and dom.count("<b>") == 4

    # The overview as rendered: its cards are the four counts, with no money total, and each
    # document's money is a list of single figures with their metrics.
    dom = browser.dump_dom(seed_report.as_uri())
    cards = re.findall(r'<div class="card"><b>[^<]*</b><span>([^<]*)</span></div>', dom)
    assert cards == ["文档 documents", "指标事实 facts", "整改问题 items", "整改措施 measures"]
    listed = [re.sub(r"<[^>]+>", "", li) for li in re.findall(r"<li>(.*?)</li>", dom)]
    assert any(li.startswith("1975亿元") and "协议投资额" in li for li in listed), listed

    # Screenshots of the top of the overview and of the document (--screenshot paints no scrolled
    # page): the page's own dark header across the top (not an error page or a blank one), and on
    # the document, its figures' kind colours (legend and highlights).
    header = (0x24, 0x29, 0x2F)
    for url, colours in ((seed_report.as_uri(), ()), (page.as_uri(), ("money", "count", "percent"))):
        shot = browser.read_png(browser.screenshot(url, tmp_path / "shot.png", 1400, 1000))
        assert (shot.width, shot.height) == (1400, 1000)
        assert {shot.pixel(x, 8) for x in range(0, 1400, 50)} == {header}, url
        seen = shot.colours()
        assert len(seen) > 200, url  # text, cards, tables: not a blank page
        for kind in colours:
            assert tuple(bytes.fromhex(report.KIND_COLOURS[kind][1:])) in seen, kind
