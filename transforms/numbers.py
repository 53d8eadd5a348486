"""Reading the numbers of the genre: Arabic (ASCII or full-width) and Chinese numerals.

Arabic numbers are parsed vectorised (``arabic_value``). Chinese numerals are few
and repetitive in a corpus, so ``chinese_value`` is a small exact parser applied
to the *distinct* numeral strings only (see ``fct_metric``).
"""

from __future__ import annotations

import polars as pl

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_LARGE = {"万": 10_000, "亿": 100_000_000, "萬": 10_000, "億": 100_000_000}  # simplified and traditional

_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)} | {"．": ".", "・": "."}


def chinese_value(numeral: str) -> float | None:
    """Value of a Chinese numeral such as 三千五百, 十四, 两, 一百二十, 两千万; None if malformed.

    Handles the forms reports use: a leading 十 (十四 = 14), 两 for two, 零 as a
    place holder and the large units 万/亿 (also stacked: 万亿).
    """
    if not numeral:
        return None
    if "点" in numeral:  # 四点二 = 4.2: an integer part and decimal digits read one by one
        whole, _, frac = numeral.partition("点")
        head = chinese_value(whole) if whole else 0.0
        if head is None or not frac or any(ch not in _DIGITS for ch in frac):
            return None
        return float(f"{int(head)}." + "".join(str(_DIGITS[ch]) for ch in frac))
    total = 0
    section = 0  # value below the current 万/亿 group
    digit: int | None = None
    for ch in numeral:
        if ch in _DIGITS:
            if digit is not None and digit != 0 and _DIGITS[ch] != 0:
                return None  # two digits in a row (三四) is a range, not a number
            digit = _DIGITS[ch]
        elif ch in _SMALL:
            section += (1 if digit is None else digit) * _SMALL[ch]
            digit = None
        elif ch in _LARGE:
            section += digit or 0
            if section == 0 and total == 0:
                section = 1
            if ch in "亿億" or section == 0:
                total = (total + section) * _LARGE[ch]
            else:
                total += section * _LARGE[ch]
            section = 0
            digit = None
        else:
            return None
    return float(total + section + (digit or 0))


def arabic_value(expr: pl.Expr) -> pl.Expr:
    """Float value of an Arabic numeral string: full-width digits, 1,234 / 1，234 separators, decimals."""
    return (
        expr.str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))
        .str.replace_all(r"[,，]", "")
        .cast(pl.Float64, strict=False)
    )
