"""The rectification ledger (整改台账) in one call: every ledger table from the staging frames.

Grain: none of its own; ``build_ledger`` returns one frame per ledger table, in the
order they depend on each other. It exists so the flow (and the tests) wire the
ledger the same way: boilerplate first, because no heading, item, measure,
organisation or fact may come from it; sections before items, because an item's
scope ends at its section; items before measures; and organisations before
supervision activities.
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

from transforms.boilerplate import drop_boilerplate, mark_boilerplate
from transforms.dim_document import dim_document
from transforms.dim_org_unit import bridge_sentence_org, dim_org_unit, org_mentions
from transforms.dim_section import assign_section, dim_section
from transforms.fct_measure import assign_measure, fct_measure
from transforms.fct_rectification_item import fct_rectification_item
from transforms.fct_supervision_activity import fct_supervision_activity


class LedgerFrames(Protocol):
    """The reference frames the ledger needs (``flows.ledger_reference.LedgerReference`` has them)."""

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


def build_ledger(
    documents: pl.DataFrame,
    stg_docs: pl.DataFrame,
    sentences: pl.DataFrame,
    ref: LedgerFrames,
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
    dim_doc = dim_document(docs, stg_docs, ref.regions, ref.region_suffixes, ref.genre_rules)
    marked = mark_boilerplate(sentences, ref.boilerplate_patterns, stg_docs)
    sections = dim_section(docs, marked, ref.heading_patterns)
    items = fct_rectification_item(docs, marked, sections, ref.item_patterns)
    clean_facts = drop_boilerplate(facts, marked) if facts is not None else None
    measures = fct_measure(docs, items, ref.item_patterns, ref.measure_status, clean_facts)
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
