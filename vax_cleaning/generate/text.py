"""Vietnamese text transforms: diacritics, tone-mark placement, cp1258-ready decomposition."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache

import polars as pl

TONE_MARKS: dict[str, str] = {
    "grave": "\u0300",
    "acute": "\u0301",
    "tilde": "\u0303",
    "hook": "\u0309",
    "dot": "\u0323",
}
"""The five Vietnamese tone marks as combining characters."""

_TONED: dict[str, dict[str, str]] = {
    vowel: {name: unicodedata.normalize("NFC", vowel + mark) for name, mark in TONE_MARKS.items()} for vowel in "aeouy"
}

VIETNAMESE_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
"""Lower-case Vietnamese alphabet (without tones)."""


def strip_diacritics(text: pl.Expr) -> pl.Expr:
    """Write a name the way a keyboard without Vietnamese input would: 'Đặng Thị Thủy' -> 'Dang Thi Thuy'."""
    return (
        text.str.normalize("NFD")
        .str.replace_all(r"\p{Mn}", "")
        .str.replace_all("Đ", "D", literal=True)
        .str.replace_all("đ", "d", literal=True)
    )


def has_diacritics(text: pl.Expr) -> pl.Expr:
    """True where stripping diacritics would change the text."""
    return strip_diacritics(text) != text


def _tone_pairs() -> list[tuple[str, str, str]]:
    """(first-vowel pattern, main-vowel replacement, reverse pattern) for oa/oe/uy syllable ends."""
    pairs: list[tuple[str, str, str]] = []
    for tone in TONE_MARKS:
        for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
            pairs.append((_TONED[first][tone] + second, first + _TONED[second][tone], tone))
    return pairs


def to_main_vowel_style(text: pl.Expr) -> pl.Expr:
    """'Hòa' -> 'Hoà', 'Thủy' -> 'Thuỷ' (tone on the main vowel); 'Quý' is left alone."""
    for first_style, main_style, _ in _tone_pairs():
        text = text.str.replace_all(f"([^qQ]){first_style}\\b", f"${{1}}{main_style}")
    return text


def to_first_vowel_style(text: pl.Expr) -> pl.Expr:
    """'Hoà' -> 'Hòa', 'Thuỷ' -> 'Thủy' (tone on the first vowel of oa/oe/uy)."""
    for first_style, main_style, _ in _tone_pairs():
        text = text.str.replace_all(f"([^qQ]){main_style}\\b", f"${{1}}{first_style}")
    return text


def tone_style_ambiguous(text: pl.Expr) -> pl.Expr:
    """True where a word ends in a toned oa/oe/uy, whose tone placement varies between writers."""
    alternatives = "|".join(f"{a}|{b}" for a, b, _ in _tone_pairs())
    return text.str.contains(f"[^qQ]({alternatives})\\b")


def flip_tone_style(text: pl.Expr) -> pl.Expr:
    """Swap the tone placement convention of every oa/oe/uy syllable in the text."""
    main = to_main_vowel_style(text)
    return pl.when(main != text).then(main).otherwise(to_first_vowel_style(text))


@cache
def cp1258_table() -> dict[int, str]:
    """Precomposed toned letter -> base letter + combining tone, the form Windows-1258 can encode."""
    table: dict[int, str] = {}
    tones = set(TONE_MARKS.values())
    for letter in VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper():
        for mark in tones:
            composed = unicodedata.normalize("NFC", letter + mark)
            if len(composed) != 1:
                continue
            decomposed = unicodedata.normalize("NFD", composed)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
            table[ord(composed)] = base + "".join(c for c in decomposed if c in tones)
    return table


def by_vocabulary(series: pl.Series, transform: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """Apply a costly text transform once per distinct value (names come from small vocabularies)."""
    vocabulary = series.unique(maintain_order=True).to_frame("value")
    mapped = vocabulary.with_columns(result=transform(pl.col("value")))
    joined = series.to_frame("value").join(mapped, on="value", how="left", maintain_order="left", nulls_equal=True)
    return joined["result"].alias(series.name)


def decompose_for_cp1258(text: pl.Expr) -> pl.Expr:
    """Vectorized form of the cp1258 decomposition (tones as combining marks), for whole columns."""
    table = cp1258_table()
    return text.str.replace_many([chr(k) for k in table], list(table.values()))
