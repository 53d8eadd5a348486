"""Reference data handed to the transforms as frames (loaded from ``seeds/`` by
``flows.warehouse.reference``)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Reference:
    """The genre's dictionaries. Every rule that names a word takes it from here, not from code.

    - ``units``: ``written, unit, canonical, kind, factor, noun_side`` (seeds/units.csv); ``noun_side``
      says where the counted noun usually stands: 800名干部 (after) or 干部800人次 (before)
    - ``multipliers``: ``written, factor`` (seeds/multipliers.csv)
    - ``qualifiers``: ``word, position, field, value`` (seeds/qualifiers.csv)
    - ``non_facts``: ``phrase, reason`` (seeds/non_facts.csv): slogans and names with numerals
    - ``genre_terms``: ``word, freq, tag`` (seeds/genre_terms.txt): jieba user dictionary
    - ``noun_suffixes``: one character a row (seeds/noun_suffixes.txt): 会, 所, 点 … that turn
      the word before them into a noun (对接 + 会 → 对接会)
    - ``implied_units``: ``head, unit, why`` (seeds/implied_units.csv): the unit a bare amount takes
      from the head of the noun after it (3200万农牧民 → 人, 85万家庭用户 → 户)
    - ``unit_heads``: ``applies_to, head, why`` (seeds/unit_heads.csv): how the noun counted by a
      unit (名) or a kind (money) ends, so that 3名违规使用公车干部 reads on to 干部
    - ``time_frames``: ``pattern, first_offset, last_offset, why`` (seeds/time_frames.csv): periods
      relative to a report's year (过去一年 = the year before, 今年 = its own)
    - ``plan_periods``: ``name, first_year, last_year`` (seeds/plan_periods.csv): 十四五 = 2021-2025
    - ``target_words``: ``pattern, why`` (seeds/target_words.csv): a sentence that states an aim
      (预期目标, 力争) gives targets, not actuals
    """

    units: pl.DataFrame
    multipliers: pl.DataFrame
    qualifiers: pl.DataFrame
    non_facts: pl.DataFrame
    genre_terms: pl.DataFrame
    noun_suffixes: pl.DataFrame
    implied_units: pl.DataFrame
    unit_heads: pl.DataFrame
    time_frames: pl.DataFrame
    plan_periods: pl.DataFrame
    target_words: pl.DataFrame

    def words(self, field: str, position: str) -> list[str]:
        """Qualifier words of one field and position, longest first (so 不少于 wins over 少于)."""
        q = self.qualifiers.filter((pl.col("field") == field) & (pl.col("position") == position))
        return sorted(q["word"].to_list(), key=len, reverse=True)
