"""The rectification ledger (整改台账) in one call: every ledger table from the staging frames.

Grain: none of its own; ``build_ledger`` returns one frame per ledger table, in the
order they depend on each other. It exists so the flow (and the tests) wire the
ledger the same way: boilerplate first, because no heading, item, measure,
organisation or fact may come from it; sections before items, because an item's
scope ends at its section; items before measures; and organisations before
supervision activities.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.boilerplate import drop_boilerplate, mark_boilerplate
from transforms.dim_document import dim_document
from transforms.dim_org_unit import bridge_sentence_org, dim_org_unit, org_mentions
from transforms.dim_section import assign_section, dim_section
from transforms.fct_measure import assign_measure, fct_measure
from transforms.fct_rectification_item import fct_rectification_item
from transforms.fct_supervision_activity import fct_supervision_activity


@dataclass(frozen=True)
class LedgerReference:
    """The ledger's dictionaries, one frame per CSV under ``seeds/``.

    - ``regions``: ``name, short_name, kind, level, province`` (seeds/regions.csv): province-level
      units and prefecture-level cities with their province
    - ``region_suffixes``: ``suffix, level, note`` (seeds/region_suffixes.csv): 省/市/自治区/区/县/旗…
    - ``genre_rules``: ``genre, scope, pattern, min_count, weight`` (seeds/genre_rules.csv)
    - ``document_structure``: ``structure, pattern, why`` (seeds/document_structure.csv): how
      a report's title block, header, signature and opening are laid out
    - ``boilerplate_patterns``: ``reason, scope, pattern`` (seeds/boilerplate_patterns.csv)
    - ``heading_patterns``: ``level, kind, pattern`` (seeds/heading_patterns.csv)
    - ``item_patterns``: ``kind, name, anchor, pattern, category, can_group`` (seeds/item_patterns.csv)
    - ``measure_status``: ``pattern, status, priority`` (seeds/measure_status.csv)
    - ``org_patterns``: ``type, needs_boundary, pattern`` (seeds/org_patterns.csv)
    - ``org_trim_words``: ``word`` (seeds/org_trim_words.csv): verbs and prepositions that
      precede an organisation's name and are not part of it
    - ``org_false_names``: ``pattern, why`` (seeds/org_false_names.csv): words that only look
      like names (布局, 举办, 办公…), matched on the name and the character after it
    - ``org_levels``: ``marker, level`` (seeds/org_levels.csv): the administrative suffix of a
      name's place and the level it gives
    - ``supervision_terms``: ``kind, term, action`` (seeds/supervision_terms.csv)
    """

    regions: pl.DataFrame
    region_suffixes: pl.DataFrame
    genre_rules: pl.DataFrame
    boilerplate_patterns: pl.DataFrame
    heading_patterns: pl.DataFrame
    item_patterns: pl.DataFrame
    measure_status: pl.DataFrame
    org_patterns: pl.DataFrame
    org_trim_words: pl.DataFrame
    org_levels: pl.DataFrame
    org_false_names: pl.DataFrame
    supervision_terms: pl.DataFrame
    document_structure: pl.DataFrame


def build_ledger(
    documents: pl.DataFrame,
    stg_docs: pl.DataFrame,
    sentences: pl.DataFrame,
    ref: LedgerReference,
    facts: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """All ledger tables.

    ``documents`` is ``raw_documents`` (``document_id, file_name, text``, optionally
    ``content_sha256``), ``stg_docs`` is ``stg_documents``, ``sentences`` is
    ``stg_sentences``; ``facts`` (optional) is ``fct_metric``.

    Keys: ``dim_document``, ``stg_sentences`` (with ``is_boilerplate``,
    ``boilerplate_reason``, ``section_id``, ``section_path``), ``dim_section``,
    ``fct_rectification_item``, ``fct_measure``, ``dim_org_unit``, ``bridge_sentence_org``,
    ``fct_supervision_activity``, and with ``facts`` also ``fct_metric`` (boilerplate facts
    dropped; ``section_id``, ``section_path`` and ``measure_id`` added).
    """
    docs = documents.unique("document_id", keep="first", maintain_order=True)
    dim_doc = dim_document(
        docs, stg_docs, ref.regions, ref.region_suffixes, ref.genre_rules, ref.document_structure
    )
    marked = mark_boilerplate(sentences, ref.boilerplate_patterns, stg_docs)
    sections = dim_section(docs, marked, ref.heading_patterns)
    items = fct_rectification_item(docs, marked, sections, ref.item_patterns)
    clean_facts = drop_boilerplate(facts, marked) if facts is not None else None
    measures = fct_measure(docs, items, ref.item_patterns, ref.measure_status, clean_facts, sections)
    mentions = org_mentions(
        marked,
        dim_doc,
        ref.org_patterns,
        ref.org_trim_words,
        ref.org_levels,
        ref.regions,
        ref.org_false_names,
    )
    activities = fct_supervision_activity(marked, mentions, ref.supervision_terms, dim_doc)
    out = {
        "dim_document": dim_doc,
        "stg_sentences": assign_section(marked, sections),
        "dim_section": sections,
        "fct_rectification_item": items,
        "fct_measure": measures,
        "dim_org_unit": dim_org_unit(mentions),
        "bridge_sentence_org": bridge_sentence_org(mentions),
        "fct_supervision_activity": activities,
    }
    if clean_facts is not None:
        out["fct_metric"] = assign_measure(assign_section(clean_facts, sections), measures)
    return out
