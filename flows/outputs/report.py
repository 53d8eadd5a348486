"""A static HTML report of the warehouse, for people who would rather look than write SQL.

``build_report`` writes ``index.html`` (counts, charts, the list of documents
with each one's largest money figures) and one ``doc-<document_id>.html`` per
document: its full text with every extracted figure highlighted where it stands
(hover shows the ``title``, a click opens a panel with value, unit, metric,
as-of and section), the ledger of items and measures with their status, a table
of the figures, and charts.

Why it is built this way:

- **Pages from templates.** The pages are Jinja2 templates in ``templates/``
  (``base.html`` the frame, ``index.html``, ``document.html``, ``text.html`` the
  highlighted text, ``macros.html``), with the CSS and the script beside them.
  This module reads the warehouse and hands the templates plain values; the
  charts are SVG drawn here, in Python.
- **Offline and self-contained.** Every page carries its CSS, its one small
  script and its charts inline, and links only to its sibling pages, so the
  folder can be zipped, mailed and opened from ``file://`` on a machine without
  internet. A Content-Security-Policy meta tag forbids any network load, as a
  guard against a later edit adding one.
- **Hostile text stays text.** Documents come from web pages. Autoescaping is
  on for every template, so every string from the warehouse (text, titles,
  metrics, ids) is escaped with quotes, whether it lands in an element or an
  attribute; nothing from the warehouse is marked safe. The only markup handed
  to the templates ready-made is this module's script and the SVG of the
  charts, built with ``Markup.format``, which escapes every value put into it.
  The script builds its panel with ``textContent`` only; and the CSP allows
  exactly one script, by its SHA-256, so even a mistake in escaping could not
  run injected script or inline event handlers.
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

The browser test (``tests/test_report.py``, with ``tests/browser.py``) renders
the pages in headless Chromium; nothing here drives a browser.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

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


# Autoescaping is on for the pages (.html) and off only for the CSS and the script, which hold no data.
# A None prints as nothing, as an empty cell (not as "None").
_ENV = Environment(
    loader=PackageLoader("flows.outputs", "templates"),
    autoescape=select_autoescape(
        enabled_extensions=("html",), disabled_extensions=("css", "js"), default_for_string=True, default=True
    ),
    undefined=StrictUndefined,
    finalize=lambda value: "" if value is None else value,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# The page's one script, with the panel's rows written into it; the CSP allows it by its hash.
_SCRIPT = _ENV.get_template("panel.js").render(
    fields="[" + ",".join(f"['{k}','{label}']" for k, label in PANEL_FIELDS) + "]"
)
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)


def _render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(context)


def _render_page(template: str, title: str, here: str = "", **context: Any) -> str:
    """A whole page: ``template`` extends ``base.html``, which puts the CSP, CSS and script around it."""
    # The script is this module's own text (never data) and must stay byte for byte as hashed in the CSP.
    return _render(template, title=title, here=here, csp=CSP, script=Markup(_SCRIPT), **context)


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
    con = wh.connect_sealed(Path(warehouse))  # reads the warehouse and no other file
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
    for concept_id, rows in data.series.items():
        pages[concept_page_name(concept_id)] = _concept_page(rows, generated)
    for stale in [*out.glob("doc-*.html"), *out.glob("concept-*.html")]:
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


def concept_page_name(concept_id: str) -> str:
    """The file name of a metric concept's page (``dim_metric`` ids are snake case)."""
    return f"concept-{re.sub(r'[^0-9A-Za-z_-]', '_', concept_id)}.html"


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
    series: dict[str, list[Row]]  # v_metric_series rows by metric concept


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
        SELECT d.document_id, d.file_name, d.title, d.publisher, d.publish_date, d.genre,
               d.region_province, d.region_city, d.region_district, d.char_count,
               r.text, coalesce(r.is_current, FALSE) AS is_current
        FROM dim_document d
        LEFT JOIN (
            SELECT document_id,
                   arg_max(text, (removed_at IS NULL, ingested_at)) AS text,
                   bool_or(removed_at IS NULL) AS is_current
            FROM raw_documents GROUP BY document_id
        ) r USING (document_id)
        ORDER BY d.file_name, d.document_id
        """,
    )
    facts = _rows(
        con,
        """
        SELECT m.metric_id, m.document_id, m.start_char, m.end_char, m.text, m.number, m.unit, m.kind,
               m.approx, m.change, m.metric, m.borderline, m.unit_canonical, m.value_canonical,
               m.as_of, m.period, m.as_of_source, m.section_path, s.heading_text AS section_heading,
               m.measure_id, ms.headline AS measure_headline
        FROM fct_metric m
        LEFT JOIN dim_section s ON s.section_id = m.section_id
        LEFT JOIN fct_measure ms ON ms.measure_id = m.measure_id
        ORDER BY m.document_id, m.start_char, m.end_char
        """,
    )
    headings = _rows(
        con, "SELECT document_id, heading_start_char AS s, heading_end_char AS e FROM dim_section"
    )
    boilerplate = _rows(
        con,
        "SELECT document_id, start_char AS s, end_char AS e FROM stg_sentences WHERE is_boilerplate",
    )
    items = _rows(
        con,
        """
        SELECT item_id, document_id, parent_item_id, item_kind, category, marker, problem_text,
               opinion_text, section_path, start_char, end_char
        FROM fct_rectification_item ORDER BY document_id, start_char, item_id
        """,
    )
    measures = _rows(
        con,
        """
        SELECT measure_id, item_id, document_id, ordinal, headline, status, status_phrase,
               start_char, end_char, metric_count
        FROM fct_measure ORDER BY document_id, start_char, measure_id
        """,
    )

    series: dict[str, list[Row]] = defaultdict(list)
    has_series = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'v_metric_series'"
    ).fetchall()[0][0]
    if has_series:  # a warehouse written before the metric concepts has none
        for r in _rows(
            con,
            """
            SELECT v.metric_concept_id, v.concept_name_zh, v.concept_name_en, v.region, v.report_year,
                   v.period, v.as_of, v.value_type, v.value, v.unit, v.change, v.metric, v.text,
                   v.document_id, v.start_char, v.end_char, d.file_name
            FROM v_metric_series v JOIN dim_document d USING (document_id)
            ORDER BY v.metric_concept_id, v.region NULLS LAST, v.report_year, d.file_name, v.start_char
            """,
        ):
            series[r["metric_concept_id"]].append(r)

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
        series=dict(series),
    )


# --------------------------------------------------------------------------------------------------
# Formatting


def esc(value: object) -> Markup:
    """Escape anything for an element or a quoted attribute (quotes included), as the templates do."""
    return escape("" if value is None else str(value))


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


def _money_entries(facts: Sequence[Row], limit: int, page: str = "") -> list[dict[str, Any]]:
    """Each of ``largest_money`` as written, linked to its place in the text, with metric and date.

    ``page`` is the document's page for links from the index ('' on the page itself).
    """
    entries = []
    for f in largest_money(facts, limit):
        change = CHANGE_WORDS.get(f["change"] or "", "").split(" ")[0]
        entries.append(
            {
                "href": f"{page}#{_fig_id(f)}",
                "canonical": f"{fmt_number(f['value_canonical'])} {f['unit_canonical']}",
                "text": f["text"],
                "metric": f["metric"] or "（未识别指标 metric not found）",
                "notes": [x for x in (_when(f), change) if x],
            }
        )
    return entries


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


def _mark(f: Row) -> dict[str, Any]:
    """What the opening ``<mark>`` of a figure carries: id, kind, colour, tooltip and data attributes."""
    attrs = _figure_attrs(f)
    labels = dict(PANEL_FIELDS)
    return {
        "id": _fig_id(f),
        "kind": _css_ident(f["kind"]),
        "colour": _kind_colour(f["kind"]),
        "tip": "\n".join(f"{labels[k]}: {v}" for k, v in attrs.items() if v and k != "text"),
        "data": [(k, v) for k, v in attrs.items() if v],
    }


# --------------------------------------------------------------------------------------------------
# The text with its figures in place

_CLOSE = {"kind": "close"}


def render_text(
    text: str,
    figures: Sequence[Row],
    headings: Sequence[tuple[int, int]] = (),
    boilerplate: Sequence[tuple[int, int]] = (),
    anchors: dict[int, list[str]] | None = None,
) -> str:
    """The escaped text (HTML) with one ``<mark class="fig">`` per figure, at its offsets.

    Always exactly one mark per figure, so the page can be checked against
    ``fct_metric``. Figures do not overlap in practice; if two ever did, the
    later one is clipped to start where the earlier ends (an empty mark, shown
    as a dot, when nothing is left). Headings are bold and page furniture is
    grey, as spans inside the segments, so the markup stays well nested.
    ``anchors`` are ids placed at offsets (where items and measures start) so
    the ledger can link into the text.
    """
    return _render("text.html", tokens=_text_tokens(text, figures, headings, boilerplate, anchors))


def _text_tokens(
    text: str,
    figures: Sequence[Row],
    headings: Sequence[tuple[int, int]],
    boilerplate: Sequence[tuple[int, int]],
    anchors: dict[int, list[str]] | None,
) -> list[dict[str, Any]]:
    """What ``text.html`` writes, in order: text (with its classes), anchors, marks opened and closed."""
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
    tokens: list[dict[str, Any]] = []
    open_until: int | None = None
    for i, p in enumerate(points):
        if open_until is not None and p >= open_until:
            tokens.append(_CLOSE)
            open_until = None
        tokens.extend({"kind": "anchor", "id": a} for a in anchors.get(p, []))
        for s, e, f in starts.get(p, []):
            tokens.append({"kind": "open", "figure": _mark(f)})
            if e == s:
                tokens.append(_CLOSE)
            else:
                open_until = e
        if i + 1 < len(points):
            classes = [c for c, runs in (("hd", heading_runs), ("bp", bp_runs)) if inside(runs, p)]
            tokens.append({"kind": "text", "text": text[p : points[i + 1]], "classes": " ".join(classes)})
    if open_until is not None:
        tokens.append(_CLOSE)
    return tokens


# --------------------------------------------------------------------------------------------------
# Charts: inline SVG, drawn here. Every piece is ``Markup.format``, which escapes each value put into it,
# so a label from the warehouse is text in the SVG as it is everywhere else.

_MUTED = "#656d76"  # --muted in report.css


def _svg_text(
    x: float, y: float, s: object, anchor: str = "start", size: int = 12, fill: str = "#1f2328"
) -> Markup:
    return Markup('<text x="{:.1f}" y="{:.1f}" font-size="{}" text-anchor="{}" fill="{}">{}</text>').format(
        x, y, size, anchor, fill, s
    )


def _svg_open(title: str, width: int, height: int) -> list[Markup]:
    """The opening of a chart: its size, its accessible name and its title, drawn at the top left."""
    return [
        Markup('<svg width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" aria-label="{2}">').format(
            width, height, title
        ),
        Markup("<title>{}</title>").format(title),
        _svg_text(4, 18, title, size=14),
    ]


def _svg_close(parts: list[Markup]) -> Markup:
    return Markup('<div class="chart">{}</svg></div>').format(Markup("").join(parts))


def _svg_legend(entries: Sequence[tuple[str, str]], y: float) -> list[Markup]:
    """A row of coloured squares with their names, spaced by the width of each name."""
    parts = []
    x = 4.0
    for name, colour in entries:
        parts.append(
            Markup('<rect x="{:.1f}" y="{:.1f}" width="11" height="11" rx="2" fill="{}"/>').format(
                x, y, colour
            )
        )
        parts.append(_svg_text(x + 15, y + 10, name, size=11, fill=_MUTED))
        x += 22 + 7 * len(name) + 6 * sum(1 for ch in name if ord(ch) > 0x2E80)
    return parts


def _clip_label(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def hbar_chart(
    title: str,
    rows: Sequence[tuple[str, float, str]],
    fmt: Callable[[float], str] = fmt_number,
    width: int = 600,
    label_width: int = 210,
    legend: Sequence[tuple[str, str]] = (),
    note: str = "",
    label_limit: int = 26,
) -> Markup:
    """Horizontal bars: (label, value, colour) per row, the value printed after each bar."""
    bar_h, gap, top = 18, 6, 30
    legend_h = 20 if legend else 0
    note_h = 18 if note else 0
    height = top + legend_h + len(rows) * (bar_h + gap) + note_h + 10
    vmax = max([v for _, v, _ in rows] + [0]) or 1
    plot_w = width - label_width - 90
    parts = _svg_open(title, width, height)
    y = top
    if legend:
        parts += _svg_legend(legend, y)
        y += legend_h
    if not rows:
        parts.append(_svg_text(4, y + 14, "（无数据 / no data）", fill=_MUTED))
    for label, value, colour in rows:
        w = max(plot_w * value / vmax, 1.0 if value else 0.0)
        parts.append(_svg_text(label_width - 6, y + 13, _clip_label(label, label_limit), anchor="end"))
        parts.append(
            Markup(
                '<rect x="{}" y="{:.1f}" width="{:.1f}" height="{}" rx="2" fill="{}">'
                "<title>{}: {}</title></rect>"
            ).format(label_width, y, w, bar_h, colour, label, fmt(value))
        )
        parts.append(_svg_text(label_width + w + 5, y + 13, fmt(value), fill=_MUTED))
        y += bar_h + gap
    if note:
        parts.append(_svg_text(4, y + 12, note, size=11, fill=_MUTED))
    return _svg_close(parts)


def stacked_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str]],
    values: dict[tuple[str, str], float],
    width: int = 600,
    label_width: int = 150,
) -> Markup:
    """Horizontal stacked bars: one bar per category, one segment per series (name, colour)."""
    bar_h, gap, top, legend_h = 20, 6, 30, 22
    height = top + legend_h + max(len(categories), 1) * (bar_h + gap) + 10
    totals = {c: sum(values.get((c, s), 0) for s, _ in series) for c in categories}
    vmax = max([*totals.values(), 0]) or 1
    plot_w = width - label_width - 60
    parts = _svg_open(title, width, height) + _svg_legend(series, top)
    y = top + legend_h
    if not categories:
        parts.append(_svg_text(4, y + 14, "（无数据 / no data）", fill=_MUTED))
    for c in categories:
        parts.append(_svg_text(label_width - 6, y + 14, _clip_label(c, 20), anchor="end"))
        x = float(label_width)
        for name, colour in series:
            v = values.get((c, name), 0)
            if not v:
                continue
            w = plot_w * v / vmax
            parts.append(
                Markup(
                    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}" fill="{}">'
                    "<title>{} · {}: {}</title></rect>"
                ).format(x, y, w, bar_h, colour, c, name, fmt_number(v))
            )
            x += w
        parts.append(_svg_text(x + 5, y + 14, fmt_number(totals[c]), fill=_MUTED))
        y += bar_h + gap
    return _svg_close(parts)


def _facts_chart(facts: Sequence[Row], title: str, top: int = 16) -> Markup:
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


def _money_chart(data: ReportData, top: int = 15) -> Markup:
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


def _measures_chart(data: ReportData, document_id: str | None = None) -> Markup:
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
# Pages: the values each template shows


def _status_badge(status: str | None) -> dict[str, str]:
    s = status or NO_STATUS
    return {"name": s, "colour": STATUS_COLOURS.get(s, OTHER_COLOUR), "english": STATUS_ENGLISH.get(s, s)}


def _doc_label(doc: Row) -> str:
    return doc["title"] or doc["file_name"]


def _doc_meta(doc: Row) -> list[str]:
    """File, publisher, date, region and genre, whichever the document has (shown joined by ' · ')."""
    region = "".join(
        dict.fromkeys(x for x in (doc["region_province"], doc["region_city"], doc["region_district"]) if x)
    )
    parts = [doc["file_name"], doc["publisher"], _iso(doc["publish_date"]), region, doc["genre"]]
    return [p for p in parts if p]


def _index_page(data: ReportData, warehouse: Path, generated: str) -> str:
    all_facts = [f for fs in data.facts.values() for f in fs]
    n_items = sum(1 for its in data.items.values() for it in its if it["item_kind"] == "problem")
    n_measures = sum(len(ms) for ms in data.measures.values())
    documents = []
    for d in data.documents:
        facts = data.facts.get(d["document_id"], [])
        page = page_name(d["document_id"])
        documents.append(
            {
                "href": page,
                "file_name": d["file_name"],
                "removed": not d["is_current"],
                "title": d["title"],
                "publisher": d["publisher"],
                "date": _iso(d["publish_date"]),
                "genre": d["genre"],
                "facts": len(facts),
                "problems": sum(
                    1 for it in data.items.get(d["document_id"], []) if it["item_kind"] == "problem"
                ),
                "measures": len(data.measures.get(d["document_id"], [])),
                "money": _money_entries(facts, INDEX_MONEY, page),
            }
        )
    return _render_page(
        "index.html",
        "台账报告 / taizhang report",
        warehouse=warehouse,
        generated=generated,
        cards=[
            ("文档 documents", fmt_number(len(data.documents))),
            ("指标事实 facts", fmt_number(len(all_facts))),
            ("整改问题 items", fmt_number(n_items)),
            ("整改措施 measures", fmt_number(n_measures)),
        ],
        documents=documents,
        concepts=[
            {
                "href": concept_page_name(concept_id),
                "name": f"{rows[0]['concept_name_zh']} / {rows[0]['concept_name_en']}",
                "values": len(rows),
                "documents": len({r["document_id"] for r in rows}),
            }
            for concept_id, rows in sorted(data.series.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
        charts=[
            _facts_chart(all_facts, "事实：类别 · 单位 / facts by kind and unit"),
            _money_chart(data),
            _measures_chart(data),
        ],
    )


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
    tokens = None
    if doc["text"] is not None:
        headings, boilerplate = data.headings.get(doc_id, []), data.boilerplate.get(doc_id, [])
        tokens = _text_tokens(doc["text"], facts, headings, boilerplate, anchors)
    charts = [_facts_chart(facts, "本文事实：类别 · 单位 / facts by kind and unit")]
    if measures:
        charts.append(_measures_chart(data, doc_id))
    return _render_page(
        "document.html",
        _doc_label(doc),
        here=_doc_label(doc),
        label=_doc_label(doc),
        removed=not doc["is_current"],
        meta=_doc_meta(doc),
        cards=[
            ("指标事实 facts", fmt_number(len(facts))),
            ("整改问题 items", fmt_number(sum(1 for it in items if it["item_kind"] == "problem"))),
            ("整改措施 measures", fmt_number(len(measures))),
            ("金额数字 money figures", fmt_number(sum(1 for f in facts if f["kind"] == "money"))),
            ("字数 characters", fmt_number(doc["char_count"])),
        ],
        largest=_money_entries(facts, PAGE_MONEY),
        legend=[(k, _kind_colour(k)) for k in sorted({f["kind"] or "other" for f in facts})],
        tokens=tokens,
        ledger=_ledger(items, measures, facts),
        figures=[_figure_row(f) for f in facts],
        charts=charts,
        document_id=doc_id,
        generated=generated,
        neighbours=[
            {"href": page_name(other["document_id"]), "name": other["file_name"], "arrow": arrow}
            for other, arrow in ((prev_doc, "←"), (next_doc, "→"))
            if other
        ],
    )


def _concept_page(rows: Sequence[Row], generated: str) -> str:
    """One metric concept across documents: a table of its values, each linked to its highlighted
    sentence on the document's page, and a chart of the values in the concept's commonest unit."""
    first = rows[0]
    label = f"{first['concept_name_zh']} / {first['concept_name_en']}"
    values = [
        {
            "href": f"{page_name(r['document_id'])}#{_fig_id(r)}",
            "text": r["text"],
            "file_name": r["file_name"],
            "region": r["region"],
            "year": r["report_year"],
            "when": _when(r),
            "value_type": r["value_type"],
            "value": fmt_number(r["value"]),
            "unit": r["unit"],
            "change": CHANGE_WORDS.get(r["change"] or "", "").split(" ")[0],
            "metric": r["metric"],
        }
        for r in rows
    ]
    units = Counter(r["unit"] for r in rows if r["value"] is not None)
    unit = units.most_common(1)[0][0] if units else ""
    bars = [
        (
            f"{r['region'] or r['file_name']} {r['report_year'] or ''} {r['value_type'] or ''}".strip(),
            float(r["value"]),
            _kind_colour(None),
        )
        for r in rows
        if r["unit"] == unit and r["value"] is not None
    ][:40]
    chart = hbar_chart(f"{label} ({unit})", bars, note="" if len(bars) < 40 else "前40个 / first 40 values")
    return _render_page(
        "concept.html",
        label,
        here=label,
        label=label,
        cards=[
            ("数值 values", fmt_number(len(rows))),
            ("文档 documents", fmt_number(len({r["document_id"] for r in rows}))),
        ],
        values=values,
        chart=chart,
        generated=generated,
    )


def _jump(f: Row) -> dict[str, str]:
    """A link to a figure in the text (the ``jump`` macro)."""
    return {"id": _fig_id(f), "text": f["text"]}


def _ledger(items: Sequence[Row], measures: Sequence[Row], facts: Sequence[Row]) -> list[dict[str, Any]]:
    """Items in text order, each with its measures, their status and the figures inside them."""
    by_item: dict[str, list[Row]] = defaultdict(list)
    for m in measures:
        by_item[m["item_id"]].append(m)
    figs: dict[str, list[Row]] = defaultdict(list)
    for f in facts:
        if f["measure_id"]:
            figs[f["measure_id"]].append(f)
    rows = []
    for it in items:
        group = it["item_kind"] == "problem_group"
        rows.append(
            {
                "group": group,
                "category": it["category"],
                "item_link": {"id": _anchor_id("t-item", it["item_id"]), "text": it["marker"] or "↗"},
                "problem": it["problem_text"],
                "no_status": _status_badge(None),
                "measures": [
                    {
                        "ordinal": m["ordinal"],
                        "link": {"id": _anchor_id("t-measure", m["measure_id"]), "text": m["headline"]},
                        "status": _status_badge(m["status"]),
                        "figures": [_jump(f) for f in figs.get(m["measure_id"], [])],
                    }
                    for m in ([] if group else by_item.get(it["item_id"], []))
                ],
            }
        )
    return rows


def _figure_row(f: Row) -> dict[str, str]:
    """A row of the table of figures."""
    a = _figure_attrs(f)
    return {
        **_jump(f),
        "number": fmt_number(f["number"]),
        **{k: a[k] for k in ("unit", "metric", "asof", "section")},
    }
