"""A static HTML report of the warehouse, for people who would rather look than write SQL.

``build_report`` writes ``index.html`` (counts, charts, the list of documents
with each one's largest money figures) and one ``doc-<document_id>.html`` per
document: its full text with every extracted figure highlighted where it stands
(hover shows the ``title``, a click opens a panel with value, unit, metric,
as-of and section), the ledger of items and measures with their status, a table
of the figures, and charts.

Why it is built this way:

- **Offline and self-contained.** Every page carries its CSS, its one small
  script and its charts (SVG drawn here in Python) inline, and links only to
  its sibling pages, so the folder can be zipped, mailed and opened from
  ``file://`` on a machine without internet. A Content-Security-Policy meta tag
  forbids any network load, as a guard against a later edit adding one.
- **Hostile text stays text.** Documents come from web pages. Every string from
  the warehouse (text, titles, metrics, ids) goes through ``html.escape`` with
  quotes, whether it lands in an element or an attribute; the script builds its
  panel with ``textContent`` only; and the CSP allows exactly one script, by
  its SHA-256, so even a mistake in escaping could not run injected script or
  inline event handlers.
- **Offsets, not search.** Figures are placed by their code-point offsets into
  ``raw_documents.text`` (the same offsets the warehouse guarantees), so a
  figure that occurs twice in a sentence is highlighted where it was extracted.
- **Read-only.** The warehouse is opened read-only, so the report can be built
  while analysts hold the file open, and never changes it.
- **Nothing unlike is added up.** The money figures of a document are stocks
  and flows of different metrics and years, targets beside actuals, and both
  ends of one change (从29.9万亿元增加到38.7万亿元); their sum means nothing (the
  old headline added 96 work reports up to 70,302,581.96亿元). So the cards
  are counts (documents, figures, items, measures), and money is shown figure by
  figure: each document's largest, each with its metric and its as-of or period.
  The only sums left are counts of rows, which are always the same quantity.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.warehouse import store as wh

Row = dict[str, Any]

KIND_COLOURS = {
    "count": "#4e79a7",
    "money": "#e15759",
    "percent": "#59a14f",
    "area": "#76b7b2",
    "length": "#edc948",
    "mass": "#b07aa1",
    "volume": "#9c755f",
    "concentration": "#ff9da7",
    "power": "#f28e2b",
    "energy": "#f28e2b",
    "duration": "#bab0ac",
    "age": "#bab0ac",
}
OTHER_COLOUR = "#8c8c8c"
# How many of a document's largest money figures the index's table and the document's page show.
INDEX_MONEY = 3
PAGE_MONEY = 6
NO_STATUS = "未说明"
STATUS_ORDER = ("已完成", "已整改到位", "基本完成", "正在推进", "持续推进", NO_STATUS)
STATUS_COLOURS = {
    "已完成": "#2e7d32",
    "已整改到位": "#1b5e20",
    "基本完成": "#66bb6a",
    "正在推进": "#f9a825",
    "持续推进": "#1e88e5",
    NO_STATUS: "#8c959f",
}
STATUS_ENGLISH = {
    "已完成": "completed",
    "已整改到位": "rectified",
    "基本完成": "mostly completed",
    "正在推进": "in progress",
    "持续推进": "ongoing",
    NO_STATUS: "not stated",
}
APPROX_WORDS = {"about": "约 about", "more_than": "超过 more than", "at_least": "不少于 at least"}
APPROX_WORDS["less_than"] = "不到 less than"
CHANGE_WORDS = {"increase": "增长 increase", "decrease": "下降 decrease"}

# The panel's rows: data attribute → label. The script reads them in this order.
PANEL_FIELDS = (
    ("text", "原文 figure"),
    ("value", "数值 value"),
    ("unit", "单位 unit"),
    ("canonical", "规范值 canonical"),
    ("metric", "指标 metric"),
    ("asof", "截至 as of"),
    ("period", "期间 period"),
    ("approx", "约数 approx"),
    ("change", "变化 change"),
    ("kind", "类别 kind"),
    ("section", "章节 section"),
    ("measure", "措施 measure"),
)

SCRIPT = """
(function () {
  var fields = %s;
  var panel = document.getElementById('panel');
  var body = document.getElementById('panel-body');
  function show(mark) {
    var old = document.querySelectorAll('mark.fig.sel');
    for (var i = 0; i < old.length; i++) old[i].classList.remove('sel');
    mark.classList.add('sel');
    body.textContent = '';
    var dl = document.createElement('dl');
    for (var j = 0; j < fields.length; j++) {
      var v = mark.getAttribute('data-' + fields[j][0]);
      if (!v) continue;
      var dt = document.createElement('dt'); dt.textContent = fields[j][1];
      var dd = document.createElement('dd'); dd.textContent = v;
      dl.appendChild(dt); dl.appendChild(dd);
    }
    body.appendChild(dl);
    panel.classList.add('open');
  }
  document.addEventListener('click', function (e) {
    var m = e.target.closest ? e.target.closest('mark.fig') : null;
    if (m) { show(m); history.replaceState(null, '', '#' + m.id); }
  });
  document.addEventListener('keydown', function (e) {
    var m = document.activeElement;
    if (e.key === 'Enter' && m && m.matches && m.matches('mark.fig')) show(m);
    if (e.key === 'Escape') panel.classList.remove('open');
  });
  document.getElementById('panel-close').addEventListener('click', function () {
    panel.classList.remove('open');
  });
  function fromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var m = id ? document.getElementById(id) : null;
    if (m && m.matches('mark.fig')) show(m);
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""
_SCRIPT = SCRIPT % ("[" + ",".join(f"['{k}','{label}']" for k, label in PANEL_FIELDS) + "]")
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)

CSS = """
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.6;
  font-family: system-ui, -apple-system, "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
    "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; font-size: 15px; }
header.top { background: #24292f; color: #fff; padding: 10px 24px; display: flex; gap: 18px;
  align-items: baseline; position: sticky; top: 0; z-index: 2; white-space: nowrap; }
header.top .here { font-weight: 600; color: #ffd43b; flex: 1 1 auto; min-width: 0; overflow: hidden;
  text-overflow: ellipsis; }
header.top nav { flex: none; }
header.top a { color: #fff; text-decoration: none; }
header.top .brand { font-weight: 700; font-size: 17px; }
header.top nav a { margin-right: 14px; opacity: .85; }
main { max-width: 1320px; margin: 0 auto; padding: 12px 24px 48px; }
h1 { font-size: 22px; margin: 10px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h2, .anchor { scroll-margin-top: 60px; }
.meta { color: var(--muted); margin: 0 0 8px; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; color: #fff;
  background: #6e7781; margin-left: 6px; vertical-align: middle; }
.cards { display: flex; gap: 10px; flex-wrap: wrap; margin: 8px 0; }
.card { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; }
.card b { font-size: 18px; display: block; }
.card span { color: var(--muted); font-size: 12px; }
.charts { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--soft); position: sticky; top: 44px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.group td { background: #eef3f8; font-weight: 600; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 18px; align-items: start; }
.doctext { white-space: pre-wrap; word-break: break-word; font-size: 16px; line-height: 1.9;
  border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; background: #fff; }
.doctext .hd { font-weight: 700; }
.doctext .bp { color: #8b949e; }
mark.fig { background: color-mix(in srgb, var(--k, #8c8c8c) 24%, white);
  border-bottom: 2px solid var(--k, #8c8c8c); padding: 0 1px; border-radius: 2px; cursor: pointer;
  color: inherit; scroll-margin-top: 35vh; }
mark.fig:hover, mark.fig:focus { background: color-mix(in srgb, var(--k, #8c8c8c) 45%, white);
  outline: none; }
mark.fig.sel { background: #ffd43b; box-shadow: 0 0 0 2px #f08c00; }
mark.fig:empty::after { content: "•"; }
.legend { display: flex; gap: 12px; flex-wrap: wrap; font-size: 13px; color: var(--muted);
  margin: 4px 0 8px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px;
  vertical-align: -1px; }
aside#panel { position: sticky; top: 60px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--soft); padding: 10px 12px; font-size: 14px; }
aside#panel h3 { margin: 0 0 6px; font-size: 15px; }
aside#panel .hint { color: var(--muted); }
aside#panel.open .hint { display: none; }
aside#panel dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; }
aside#panel dt { color: var(--muted); white-space: nowrap; }
aside#panel dd { margin: 0; word-break: break-word; }
#panel-close { float: right; border: 0; background: none; cursor: pointer; font-size: 16px; }
.status { display: inline-block; border-radius: 10px; padding: 0 7px; font-size: 12px; color: #fff;
  white-space: nowrap; }
.figs a { margin-right: 6px; white-space: nowrap; }
ul.money { list-style: none; margin: 0; padding: 0; }
ul.money li { white-space: nowrap; }
ul.money a { font-variant-numeric: tabular-nums; margin-right: 4px; }
ul.money .when { color: var(--muted); font-size: 12px; margin-left: 4px; }
.largest { margin: 4px 0 0; }
.largest h3 { font-size: 14px; margin: 0 0 2px; color: var(--muted); font-weight: 600; }
.largest ul.money li { display: inline-block; margin-right: 18px; }
a.jump { color: inherit; }
footer { color: var(--muted); font-size: 12px; margin-top: 36px; }
@media (max-width: 900px) { .layout { grid-template-columns: 1fr; } aside#panel { position: static; } }
"""


def default_report_dir(warehouse: Path) -> Path:
    """``report/`` beside the warehouse file: ``warehouse/report/`` for the default warehouse."""
    return Path(warehouse).parent / "report"


def build_report(warehouse: Path, out_dir: Path | None = None) -> Path:
    """Write the report of ``warehouse`` into ``out_dir`` and return the path of its ``index.html``.

    ``out_dir`` defaults to ``report/`` beside the warehouse (``warehouse/report/``).
    Pages of documents that are no longer in the warehouse are removed, so the
    folder always matches the warehouse it was built from.
    """
    out = Path(out_dir) if out_dir is not None else default_report_dir(warehouse)
    con = wh.connect(Path(warehouse), read_only=True)
    try:
        data = _load(con)
    finally:
        con.close()
    out.mkdir(parents=True, exist_ok=True)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pages = {}
    for i, doc in enumerate(data.documents):
        prev_doc = data.documents[i - 1] if i > 0 else None
        next_doc = data.documents[i + 1] if i + 1 < len(data.documents) else None
        pages[page_name(doc["document_id"])] = _document_page(data, doc, prev_doc, next_doc, generated)
    for stale in out.glob("doc-*.html"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        (out / name).write_text(text, encoding="utf-8")
    index = out / "index.html"
    index.write_text(_index_page(data, Path(warehouse), generated), encoding="utf-8")
    return index


def page_name(document_id: str) -> str:
    """The file name of a document's page (ids are hex; anything else is replaced, to be safe)."""
    return f"doc-{re.sub(r'[^0-9A-Za-z_-]', '_', document_id)}.html"


# --------------------------------------------------------------------------------------------------
# Reading the warehouse


@dataclass
class ReportData:
    """Everything the pages show, read in one read-only session."""

    documents: list[Row]
    facts: dict[str, list[Row]]
    headings: dict[str, list[tuple[int, int]]]
    boilerplate: dict[str, list[tuple[int, int]]]
    items: dict[str, list[Row]]
    measures: dict[str, list[Row]]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    rel = con.sql(sql)
    cols = list(rel.columns)
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _by_document(rows: Iterable[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[r["document_id"]].append(r)
    return out


def _load(con: duckdb.DuckDBPyConnection) -> ReportData:
    documents = _rows(
        con,
        """
        select d.document_id, d.file_name, d.title, d.publisher, d.publish_date, d.genre,
               d.region_province, d.region_city, d.region_district, d.char_count,
               r.text, coalesce(r.is_current, false) as is_current
        from dim_document d
        left join (
            select document_id,
                   arg_max(text, (removed_at is null, ingested_at)) as text,
                   bool_or(removed_at is null) as is_current
            from raw_documents group by document_id
        ) r using (document_id)
        order by d.file_name, d.document_id
        """,
    )
    facts = _rows(
        con,
        """
        select m.metric_id, m.document_id, m.start_char, m.end_char, m.text, m.number, m.unit, m.kind,
               m.approx, m.change, m.metric, m.borderline, m.unit_canonical, m.value_canonical,
               m.as_of, m.period, m.as_of_source, m.section_path, s.heading_text as section_heading,
               m.measure_id, ms.headline as measure_headline
        from fct_metric m
        left join dim_section s on s.section_id = m.section_id
        left join fct_measure ms on ms.measure_id = m.measure_id
        order by m.document_id, m.start_char, m.end_char
        """,
    )
    headings = _rows(
        con, "select document_id, heading_start_char as s, heading_end_char as e from dim_section"
    )
    boilerplate = _rows(
        con,
        "select document_id, start_char as s, end_char as e from stg_sentences where is_boilerplate",
    )
    items = _rows(
        con,
        """
        select item_id, document_id, parent_item_id, item_kind, category, marker, problem_text,
               opinion_text, section_path, start_char, end_char
        from fct_rectification_item order by document_id, start_char, item_id
        """,
    )
    measures = _rows(
        con,
        """
        select measure_id, item_id, document_id, ordinal, headline, status, status_phrase,
               start_char, end_char, metric_count
        from fct_measure order by document_id, start_char, measure_id
        """,
    )

    def ranges(rows: list[Row]) -> dict[str, list[tuple[int, int]]]:
        out: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for r in rows:
            out[r["document_id"]].append((int(r["s"]), int(r["e"])))
        return out

    return ReportData(
        documents=documents,
        facts=_by_document(facts),
        headings=ranges(headings),
        boilerplate=ranges(boilerplate),
        items=_by_document(items),
        measures=_by_document(measures),
    )


# --------------------------------------------------------------------------------------------------
# Formatting


def esc(value: object) -> str:
    """Escape anything for an element or a quoted attribute (quotes included): the one way in."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_number(x: float | int | None) -> str:
    """1975.0 → '1,975'; 4.25 → '4.25'; big money also gets 亿/万 so that it reads at a glance."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4f}".rstrip("0").rstrip(".")


def fmt_chinese(x: float) -> str:
    """197500000000 → '1975亿'; 53000 → '5.3万'; 1.349e14 → '134.9万亿': as the reports write them."""
    if abs(x) >= 1e12:
        return f"{fmt_number(round(x / 1e12, 2))}万亿"
    if abs(x) >= 1e8:
        return f"{fmt_number(round(x / 1e8, 2))}亿"
    if abs(x) >= 1e4:
        return f"{fmt_number(round(x / 1e4, 2))}万"
    return fmt_number(x)


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def largest_money(facts: Iterable[Row], limit: int) -> list[Row]:
    """A document's largest money figures, at most ``limit``, the largest of each metric only.

    This replaces a sum, which added unlike quantities (see the module docstring).
    One figure per metric, so that the two ends of a from/to pair, or a figure
    restated in a summary, do not fill every place with one quantity; a figure
    without a metric is its own. 元 comes first, as the reports count in it;
    figures in other currencies are ranked only against their own currency.
    """
    money = sorted(
        (f for f in facts if f["kind"] == "money"),
        key=lambda f: (
            f["unit_canonical"] != "元",
            f["unit_canonical"],
            -(f["value_canonical"] or 0.0),
            int(f["start_char"]),
        ),
    )
    seen: set[tuple[str, str]] = set()
    out: list[Row] = []
    for f in money:
        key = (f["unit_canonical"], f["metric"] or f"@{f['start_char']}")
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
        if len(out) == limit:
            break
    return out


def _when(f: Row) -> str:
    """A figure's as-of date and its period, whichever it has ('2025-12-31 · 2025年')."""
    return " · ".join(x for x in (_iso(f["as_of"]), f["period"] or "") if x)


def _money_list(facts: Sequence[Row], limit: int, page: str = "") -> str:
    """Each of ``largest_money`` as written, linked to its place in the text, with metric and date.

    ``page`` is the document's page for links from the index ('' on the page itself).
    """
    entries = []
    for f in largest_money(facts, limit):
        canonical = f"{fmt_number(f['value_canonical'])} {f['unit_canonical']}"
        change = CHANGE_WORDS.get(f["change"] or "", "").split(" ")[0]
        details = [
            f'<span class="metric">{esc(f["metric"] or "（未识别指标 metric not found）")}</span>',
            *(f'<span class="when">{esc(x)}</span>' for x in (_when(f), change) if x),
        ]
        entries.append(
            f'<li><a class="jump" href="{esc(page)}#{esc(_fig_id(f))}" title="{esc(canonical)}">'
            f"{esc(f['text'])}</a> {' '.join(details)}</li>"
        )
    return f'<ul class="money">{"".join(entries)}</ul>' if entries else ""


def _kind_colour(kind: str | None) -> str:
    return KIND_COLOURS.get(kind or "", OTHER_COLOUR)


def _css_ident(value: str | None) -> str:
    return re.sub(r"[^a-z0-9_-]", "_", (value or "other").lower())


def _fig_id(f: Row) -> str:
    return f"f-{int(f['start_char'])}-{int(f['end_char'])}"


def _anchor_id(prefix: str, key: str) -> str:
    return f"{prefix}-{re.sub(r'[^0-9A-Za-z_-]', '_', key)}"


def _figure_attrs(f: Row) -> dict[str, str]:
    """The data the panel and the tooltip show for one figure, as plain strings."""
    unit = f["unit"] or ""
    canonical = ""
    if f["value_canonical"] is not None and (
        f["unit_canonical"] != unit or f["value_canonical"] != f["number"]
    ):
        canonical = f"{fmt_number(f['value_canonical'])} {f['unit_canonical']}"
    value = fmt_number(f["number"])
    if f["number"] is not None and abs(f["number"]) >= 1e4:
        value += f"（{fmt_chinese(f['number'])}）"
    asof = _iso(f["as_of"])
    if asof and f["as_of_source"]:
        asof += f" ({f['as_of_source']})"
    section = _section_label(f["section_path"], f["section_heading"])
    return {
        "text": f["text"] or "",
        "value": value,
        "unit": unit,
        "canonical": canonical,
        "metric": f["metric"] or "",
        "asof": asof,
        "period": f["period"] or "",
        "approx": APPROX_WORDS.get(f["approx"] or "", f["approx"] or ""),
        "change": CHANGE_WORDS.get(f["change"] or "", f["change"] or ""),
        "kind": (f["kind"] or "") + (" (borderline)" if f["borderline"] else ""),
        "section": section,
        "measure": f["measure_headline"] or "",
    }


def _section_label(path: str | None, heading: str | None) -> str:
    """'二/（一）/1 · 1.针对…' for a nested section; the heading alone at the top (it holds the marker)."""
    heading = _clip_label(heading or "", 60)
    if path and "/" in path:
        return f"{path} · {heading}" if heading else path
    return heading or path or ""


def _mark_open(f: Row) -> str:
    attrs = _figure_attrs(f)
    labels = dict(PANEL_FIELDS)
    tip = "\n".join(f"{labels[k]}: {v}" for k, v in attrs.items() if v and k != "text")
    data = " ".join(f'data-{k}="{esc(v)}"' for k, v in attrs.items() if v)
    kind = _css_ident(f["kind"])
    return (
        f'<mark class="fig k-{kind}" id="{esc(_fig_id(f))}" tabindex="0" '
        f'style="--k:{_kind_colour(f["kind"])}" title="{esc(tip)}" {data}>'
    )


# --------------------------------------------------------------------------------------------------
# The text with its figures in place


def render_text(
    text: str,
    figures: Sequence[Row],
    headings: Sequence[tuple[int, int]] = (),
    boilerplate: Sequence[tuple[int, int]] = (),
    anchors: dict[int, list[str]] | None = None,
) -> str:
    """The escaped text with one ``<mark class="fig">`` per figure, at its offsets.

    Always exactly one mark per figure, so the page can be checked against
    ``fct_metric``. Figures do not overlap in practice; if two ever did, the
    later one is clipped to start where the earlier ends (an empty mark, shown
    as a dot, when nothing is left). Headings are bold and page furniture is
    grey, as spans inside the segments, so the markup stays well nested.
    ``anchors`` are ids placed at offsets (where items and measures start) so
    the ledger can link into the text.
    """
    n = len(text)
    anchors = anchors or {}
    placed: list[tuple[int, int, Row]] = []
    last_end = 0
    for f in sorted(figures, key=lambda r: (int(r["start_char"]), int(r["end_char"]))):
        s = min(max(int(f["start_char"]), last_end, 0), n)
        e = min(max(int(f["end_char"]), s), n)
        placed.append((s, e, f))
        last_end = max(last_end, e)

    bounds = {0, n}
    for s, e, _ in placed:
        bounds.update((s, e))
    clipped_h = [(min(max(s, 0), n), min(max(e, 0), n)) for s, e in headings]
    clipped_b = [(min(max(s, 0), n), min(max(e, 0), n)) for s, e in boilerplate]
    for s, e in (*clipped_h, *clipped_b):
        bounds.update((s, e))
    bounds.update(p for p in anchors if 0 <= p <= n)
    points = sorted(bounds)

    def covered(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        merged: list[tuple[int, int]] = []
        for s, e in sorted(r for r in ranges if r[1] > r[0]):
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return merged

    heading_runs, bp_runs = covered(clipped_h), covered(clipped_b)

    def inside(runs: list[tuple[int, int]], p: int) -> bool:
        i = bisect_right(runs, (p, n + 1)) - 1
        return i >= 0 and runs[i][0] <= p < runs[i][1]

    starts: dict[int, list[tuple[int, int, Row]]] = defaultdict(list)
    for s, e, f in placed:
        starts[s].append((s, e, f))
    out: list[str] = []
    open_until: int | None = None
    for i, p in enumerate(points):
        if open_until is not None and p >= open_until:
            out.append("</mark>")
            open_until = None
        out.extend(f'<span class="anchor" id="{esc(a)}"></span>' for a in anchors.get(p, []))
        for s, e, f in starts.get(p, []):
            out.append(_mark_open(f))
            if e == s:
                out.append("</mark>")
            else:
                open_until = e
        if i + 1 < len(points):
            seg = text[p : points[i + 1]]
            classes = [c for c, runs in (("hd", heading_runs), ("bp", bp_runs)) if inside(runs, p)]
            out.append(f'<span class="{" ".join(classes)}">{esc(seg)}</span>' if classes else esc(seg))
    if open_until is not None:
        out.append("</mark>")
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Charts: inline SVG


def _svg_text(
    x: float, y: float, s: str, anchor: str = "start", size: int = 12, fill: str = "#1f2328"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
        f"{esc(s)}</text>"
    )


def _clip_label(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def hbar_chart(
    title: str,
    rows: Sequence[tuple[str, float, str]],
    fmt: Any = fmt_number,
    width: int = 600,
    label_width: int = 210,
    legend: Sequence[tuple[str, str]] = (),
    note: str = "",
    label_limit: int = 26,
) -> str:
    """Horizontal bars: (label, value, colour) per row, the value printed after each bar."""
    bar_h, gap, top = 18, 6, 30
    legend_h = 20 if legend else 0
    note_h = 18 if note else 0
    height = top + legend_h + len(rows) * (bar_h + gap) + note_h + 10
    vmax = max([v for _, v, _ in rows] + [0]) or 1
    plot_w = width - label_width - 90
    parts = [
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        _svg_text(4, 18, title, size=14, fill="#1f2328"),
    ]
    y = top
    if legend:
        x = 4.0
        for name, colour in legend:
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="11" height="11" rx="2" fill="{colour}"/>')
            parts.append(_svg_text(x + 15, y + 10, name, size=11, fill="#656d76"))
            x += 22 + 7 * len(name) + 6 * sum(1 for ch in name if ord(ch) > 0x2E80)
        y += legend_h
    if not rows:
        parts.append(_svg_text(4, y + 14, "（无数据 / no data）", fill="#656d76"))
    for label, value, colour in rows:
        w = max(plot_w * value / vmax, 1.0 if value else 0.0)
        parts.append(_svg_text(label_width - 6, y + 13, _clip_label(label, label_limit), anchor="end"))
        parts.append(
            f'<rect x="{label_width}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" rx="2" fill="{colour}">'
            f"<title>{esc(label)}: {esc(fmt(value))}</title></rect>"
        )
        parts.append(_svg_text(label_width + w + 5, y + 13, fmt(value), fill="#656d76"))
        y += bar_h + gap
    if note:
        parts.append(_svg_text(4, y + 12, note, size=11, fill="#656d76"))
    parts.append("</svg>")
    return f'<div class="chart">{"".join(parts)}</div>'


def stacked_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: dict[tuple[str, str], float],
    width: int = 600,
    label_width: int = 150,
) -> str:
    """Horizontal stacked bars: one bar per category, one segment per series (name, colour)."""
    bar_h, gap, top, legend_h = 20, 6, 30, 22
    height = top + legend_h + max(len(categories), 1) * (bar_h + gap) + 10
    totals = {c: sum(values.get((c, s), 0) for s, _ in series) for c in categories}
    vmax = max([*totals.values(), 0]) or 1
    plot_w = width - label_width - 60
    parts = [
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        _svg_text(4, 18, title, size=14),
    ]
    x = 4.0
    for name, colour in series:
        parts.append(f'<rect x="{x:.1f}" y="{top}" width="11" height="11" rx="2" fill="{colour}"/>')
        parts.append(_svg_text(x + 15, top + 10, name, size=11, fill="#656d76"))
        x += 22 + 7 * len(name) + 6 * sum(1 for ch in name if ord(ch) > 0x2E80)
    y = top + legend_h
    if not categories:
        parts.append(_svg_text(4, y + 14, "（无数据 / no data）", fill="#656d76"))
    for c in categories:
        parts.append(_svg_text(label_width - 6, y + 14, _clip_label(c, 20), anchor="end"))
        x = float(label_width)
        for name, colour in series:
            v = values.get((c, name), 0)
            if not v:
                continue
            w = plot_w * v / vmax
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                f"<title>{esc(c)} · {esc(name)}: {fmt_number(v)}</title></rect>"
            )
            x += w
        parts.append(_svg_text(x + 5, y + 14, fmt_number(totals[c]), fill="#656d76"))
        y += bar_h + gap
    parts.append("</svg>")
    return f'<div class="chart">{"".join(parts)}</div>'


def _facts_chart(facts: Sequence[Row], title: str, top: int = 16) -> str:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for f in facts:
        counts[(f["kind"] or "other", f["unit"] or "")] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [(f"{k} · {u}", float(n), _kind_colour(k)) for (k, u), n in ranked[:top]]
    rest = sum(n for _, n in ranked[top:])
    if rest:
        rows.append((f"其他 other ({len(ranked) - top})", float(rest), OTHER_COLOUR))
    kinds = sorted({k for (k, _), _ in ranked[:top]})
    return hbar_chart(title, rows, legend=[(k, _kind_colour(k)) for k in kinds])


def _money_chart(data: ReportData, top: int = 15) -> str:
    """The largest money figures in 元 of all documents, one bar each: a ranking, never a sum.

    Each document gives at most its largest figure of each metric (``largest_money``), so one
    report's from/to pair or restatements do not take every bar.
    """
    figures = [
        (f, d["file_name"])
        for d in data.documents
        for f in largest_money(data.facts.get(d["document_id"], []), limit=top)
        if f["unit_canonical"] == "元"
    ]
    figures.sort(key=lambda fd: -(fd[0]["value_canonical"] or 0.0))
    rows = []
    for f, file_name in figures[:top]:
        when = _when(f)
        label = f"{f['metric'] or '?'} · {file_name}" + (f" · {when}" if when else "")
        rows.append((label, f["value_canonical"] or 0.0, KIND_COLOURS["money"]))
    return hbar_chart(
        "最大的金额数字（元） / the largest money figures, in 元",
        rows,
        fmt=lambda v: f"{fmt_chinese(v)}元",
        label_width=380,
        width=820,
        label_limit=42,
        note="每条是一个数字，不是合计。Each bar is one figure as written, never a sum.",
    )


def _measures_chart(data: ReportData, document_id: str | None = None) -> str:
    categories: dict[str, str] = {}
    for items in data.items.values():
        for it in items:
            categories[it["item_id"]] = it["category"] or "other"
    values: dict[tuple[str, str], float] = defaultdict(float)
    for doc_id, measures in data.measures.items():
        if document_id is not None and doc_id != document_id:
            continue
        for m in measures:
            values[(categories.get(m["item_id"], "other"), m["status"] or NO_STATUS)] += 1
    order = {c: i for i, c in enumerate(("具体问题", "举一反三", "推动改革促进发展", "专题报告"))}
    cats = sorted({c for c, _ in values}, key=lambda c: (order.get(c, 99), c))
    statuses = [s for s in STATUS_ORDER if any(values.get((c, s)) for c in cats)]
    statuses += sorted({s for _, s in values} - set(statuses))
    series = [(s, STATUS_COLOURS.get(s, OTHER_COLOUR)) for s in statuses]
    return stacked_chart("整改措施：类别 × 进展 / measures by category and status", cats, series, values)


# --------------------------------------------------------------------------------------------------
# Pages


def _page(title: str, body: str, nav: str, here: str = "") -> str:
    """A whole page: CSP first, then inline CSS, a sticky header naming the page, the body, the script."""
    here_html = f'<span class="here">{esc(here)}</span>' if here else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>"
        '<header class="top"><a class="brand" href="index.html">台账 taizhang</a>'
        f"{here_html}<nav>{nav}</nav></header>"
        f"<main>{body}</main><script>{_SCRIPT}</script></body></html>\n"
    )


def _status_badge(status: str | None) -> str:
    s = status or NO_STATUS
    colour = STATUS_COLOURS.get(s, OTHER_COLOUR)
    return (
        f'<span class="status" style="background:{colour}" title="{esc(STATUS_ENGLISH.get(s, s))}">'
        f"{esc(s)}</span>"
    )


def _doc_label(doc: Row) -> str:
    return doc["title"] or doc["file_name"]


def _doc_meta(doc: Row) -> str:
    region = "".join(
        dict.fromkeys(x for x in (doc["region_province"], doc["region_city"], doc["region_district"]) if x)
    )
    parts = [doc["file_name"], doc["publisher"], _iso(doc["publish_date"]), region, doc["genre"]]
    return " · ".join(esc(p) for p in parts if p)


def _cards(pairs: Sequence[tuple[str, str]]) -> str:
    inner = "".join(f"<div class='card'><b>{esc(v)}</b><span>{esc(k)}</span></div>" for k, v in pairs)
    return f'<div class="cards">{inner}</div>'


def _index_page(data: ReportData, warehouse: Path, generated: str) -> str:
    all_facts = [f for fs in data.facts.values() for f in fs]
    n_items = sum(1 for its in data.items.values() for it in its if it["item_kind"] == "problem")
    n_measures = sum(len(ms) for ms in data.measures.values())
    body = [
        "<h1>台账报告 / warehouse report</h1>",
        f'<p class="meta">{esc(warehouse)} · {esc(generated)}</p>',
        _cards(
            [
                ("文档 documents", fmt_number(len(data.documents))),
                ("指标事实 facts", fmt_number(len(all_facts))),
                ("整改问题 items", fmt_number(n_items)),
                ("整改措施 measures", fmt_number(n_measures)),
            ]
        ),
        '<h2 id="documents">文档 / documents</h2>',
        "<table><thead><tr><th>文件 file</th><th>标题 title</th><th>发布 publisher</th><th>日期 date</th>"
        "<th>体裁 genre</th><th class='num'>事实 facts</th><th class='num'>事项 items</th>"
        "<th class='num'>措施 measures</th><th>最大金额 largest money figures</th></tr></thead><tbody>",
    ]
    for d in data.documents:
        facts = data.facts.get(d["document_id"], [])
        items = sum(1 for it in data.items.get(d["document_id"], []) if it["item_kind"] == "problem")
        removed = "" if d["is_current"] else '<span class="badge">已移除 removed</span>'
        body.append(
            f'<tr><td><a href="{esc(page_name(d["document_id"]))}">{esc(d["file_name"])}</a>{removed}</td>'
            f'<td><a href="{esc(page_name(d["document_id"]))}">{esc(d["title"] or "")}</a></td>'
            f"<td>{esc(d['publisher'] or '')}</td><td>{esc(_iso(d['publish_date']))}</td>"
            f"<td>{esc(d['genre'] or '')}</td><td class='num'>{len(facts)}</td>"
            f"<td class='num'>{items}</td><td class='num'>{len(data.measures.get(d['document_id'], []))}</td>"
            f"<td>{_money_list(facts, INDEX_MONEY, page_name(d['document_id']))}</td></tr>"
        )
    body.append("</tbody></table>")
    body.append('<h2 id="charts">图表 / charts</h2><div class="charts">')
    body.append(_facts_chart(all_facts, "事实：类别 · 单位 / facts by kind and unit"))
    body.append(_money_chart(data))
    body.append(_measures_chart(data))
    body.append("</div>")
    body.append(
        "<footer>每个文档页显示全文，数字高亮；悬停看摘要，点击看详情。"
        "Each document page shows its full text with every extracted figure highlighted: "
        "hover for a summary, click for details.</footer>"
    )
    nav = '<a href="#documents">文档 documents</a><a href="#charts">图表 charts</a>'
    return _page("台账报告 / taizhang report", "".join(body), nav)


def _document_page(
    data: ReportData, doc: Row, prev_doc: Row | None, next_doc: Row | None, generated: str
) -> str:
    doc_id = doc["document_id"]
    facts = data.facts.get(doc_id, [])
    items = data.items.get(doc_id, [])
    measures = data.measures.get(doc_id, [])
    anchors: dict[int, list[str]] = defaultdict(list)
    for it in items:
        anchors[int(it["start_char"])].append(_anchor_id("t-item", it["item_id"]))
    for m in measures:
        anchors[int(m["start_char"])].append(_anchor_id("t-measure", m["measure_id"]))
    removed = "" if doc["is_current"] else '<span class="badge">已移除 removed</span>'
    body = [
        f"<h1>{esc(_doc_label(doc))}{removed}</h1>",
        f'<p class="meta">{_doc_meta(doc)}</p>',
        _cards(
            [
                ("指标事实 facts", fmt_number(len(facts))),
                ("整改问题 items", fmt_number(sum(1 for it in items if it["item_kind"] == "problem"))),
                ("整改措施 measures", fmt_number(len(measures))),
                ("金额数字 money figures", fmt_number(sum(1 for f in facts if f["kind"] == "money"))),
                ("字数 characters", fmt_number(doc["char_count"])),
            ]
        ),
        _largest_money_block(facts),
        '<h2 id="text">全文 / full text</h2>',
        _kind_legend(facts),
        '<div class="layout">',
    ]
    if doc["text"] is None:
        body.append('<div class="doctext">（原文不在仓库中 / the text is not in the warehouse）</div>')
    else:
        body.append(
            '<div class="doctext" id="doctext">'
            + render_text(
                doc["text"],
                facts,
                data.headings.get(doc_id, []),
                data.boilerplate.get(doc_id, []),
                anchors,
            )
            + "</div>"
        )
    body.append(
        '<aside id="panel"><button id="panel-close" type="button" aria-label="close">×</button>'
        "<h3>数字详情 / figure</h3>"
        '<p class="hint">点击高亮的数字查看详情。Click a highlighted figure to see its value, unit, metric, '
        'as-of date and section.</p><div id="panel-body"></div></aside></div>'
    )
    body.append(_ledger(items, measures, facts))
    body.append(_figure_table(facts))
    body.append('<h2 id="charts">图表 / charts</h2><div class="charts">')
    body.append(_facts_chart(facts, "本文事实：类别 · 单位 / facts by kind and unit"))
    if measures:
        body.append(_measures_chart(data, doc_id))
    body.append("</div>")
    body.append(f"<footer>{esc(doc_id)} · {esc(generated)}</footer>")
    nav = [
        '<a href="index.html">总览 overview</a>',
        '<a href="#text">全文 text</a>',
        '<a href="#ledger">台账 ledger</a>',
        '<a href="#figures">数字 figures</a>',
        '<a href="#charts">图表 charts</a>',
    ]
    for other, arrow in ((prev_doc, "←"), (next_doc, "→")):
        if other:
            href, name = esc(page_name(other["document_id"])), esc(other["file_name"])
            nav.append(f'<a href="{href}" title="{name}">{arrow}</a>')
    return _page(_doc_label(doc), "".join(body), "".join(nav), here=_doc_label(doc))


def _largest_money_block(facts: Sequence[Row]) -> str:
    """Under the cards: the document's largest money figures, where a total used to be."""
    listed = _money_list(facts, PAGE_MONEY)
    if not listed:
        return ""
    return (
        '<div class="largest"><h3>最大金额（各指标取最大，不合计） / largest money figures, '
        f"the largest of each metric, never added up</h3>{listed}</div>"
    )


def _kind_legend(facts: Sequence[Row]) -> str:
    kinds = sorted({f["kind"] or "other" for f in facts})
    inner = "".join(f'<span><i style="background:{_kind_colour(k)}"></i>{esc(k)}</span>' for k in kinds)
    return f'<div class="legend">{inner}</div>'


def _fig_link(f: Row) -> str:
    return f'<a class="jump" href="#{esc(_fig_id(f))}">{esc(f["text"])}</a>'


def _ledger(items: Sequence[Row], measures: Sequence[Row], facts: Sequence[Row]) -> str:
    """Items in text order, each with its measures, their status and the figures inside them."""
    out = ['<h2 id="ledger">整改台账 / ledger of items and measures</h2>']
    if not items:
        out.append('<p class="meta">本文没有整改事项。This document has no rectification items.</p>')
        return "".join(out)
    by_item: dict[str, list[Row]] = defaultdict(list)
    for m in measures:
        by_item[m["item_id"]].append(m)
    figs: dict[str, list[Row]] = defaultdict(list)
    for f in facts:
        if f["measure_id"]:
            figs[f["measure_id"]].append(f)
    out.append(
        "<table><thead><tr><th>类别 category</th><th>事项 item</th><th class='num'>#</th>"
        "<th>措施 measure</th><th>进展 status</th><th>数字 figures</th></tr></thead><tbody>"
    )
    for it in items:
        target = _anchor_id("t-item", it["item_id"])
        link = f'<a class="jump" href="#{esc(target)}">{esc(it["marker"] or "↗")}</a>'
        problem = esc(it["problem_text"] or "")
        if it["item_kind"] == "problem_group":
            category = esc(it["category"])
            out.append(f'<tr class="group"><td>{category}</td><td colspan="5">{link} {problem}</td></tr>')
            continue
        ms = by_item.get(it["item_id"], [])
        head = f"<td>{esc(it['category'])}</td><td>{link} {problem}</td>"
        if not ms:
            out.append(f"<tr>{head}<td></td><td></td><td>{_status_badge(None)}</td><td></td></tr>")
            continue
        for i, m in enumerate(ms):
            cells = head if i == 0 else "<td></td><td></td>"
            anchor = _anchor_id("t-measure", m["measure_id"])
            figures = "".join(_fig_link(f) for f in figs.get(m["measure_id"], []))
            out.append(
                f"<tr>{cells}<td class='num'>{esc(m['ordinal'])}</td>"
                f'<td><a class="jump" href="#{esc(anchor)}">{esc(m["headline"] or "")}</a></td>'
                f"<td>{_status_badge(m['status'])}</td><td class='figs'>{figures}</td></tr>"
            )
    out.append("</tbody></table>")
    return "".join(out)


def _figure_table(facts: Sequence[Row]) -> str:
    out = [
        '<h2 id="figures">数字 / figures</h2>',
        "<table><thead><tr><th>原文 figure</th><th class='num'>数值 value</th><th>单位 unit</th>"
        "<th>指标 metric</th><th>截至 as of</th><th>章节 section</th></tr></thead><tbody>",
    ]
    for f in facts:
        a = _figure_attrs(f)
        out.append(
            f"<tr><td>{_fig_link(f)}</td><td class='num'>{esc(fmt_number(f['number']))}</td>"
            f"<td>{esc(a['unit'])}</td><td>{esc(a['metric'])}</td><td>{esc(a['asof'])}</td>"
            f"<td>{esc(a['section'])}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)
