"""Names, IDs and CCCD contents in comparable form."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest

from vax_cleaning.linkage.normalize import (
    canonical_name,
    cccd_birth_year,
    cccd_gender,
    has_diacritics,
    id_kind,
    name_key,
    name_tokens,
)


def canon(text: str | None) -> str | None:
    return pl.select(canonical_name(pl.lit(text, pl.String))).item()


def key(text: str) -> str | None:
    return pl.select(name_key(canonical_name(pl.lit(text)))).item()


def test_canonical_name_ignores_case_spacing_and_unicode_form():
    assert canon("  NGUYỄN   Văn\tHùng ") == "nguyễn văn hùng"
    assert canon(unicodedata.normalize("NFD", "Nguyễn Văn Hùng")) == canon("Nguyễn Văn Hùng")


@pytest.mark.parametrize(
    ("new_style", "old_style"),
    [("Hoà", "Hòa"), ("Thuỷ", "Thủy"), ("khoẻ", "khỏe"), ("Lê Thị Thuý Hoà", "Lê Thị Thúy Hòa"), ("Hoạ", "Họa")],
)
def test_both_tone_placements_give_one_canonical_name(new_style, old_style):
    assert canon(new_style) == canon(old_style) == unicodedata.normalize("NFC", old_style.lower())


@pytest.mark.parametrize("unchanged", ["Hoàng", "Quý", "Quỳnh", "Khuyến", "Hoài", "Thuận"])
def test_tone_placement_rule_leaves_other_syllables_alone(unchanged):
    assert canon(unchanged) == unchanged.lower()


def test_empty_name_is_null():
    assert canon("   ") is None
    assert canon(None) is None


def test_name_key_drops_diacritics_and_folds_d_with_stroke():
    assert key("Đặng Thị Thủy") == "dang thi thuy"
    assert key(unicodedata.normalize("NFD", "ĐỖ ĐỨC ĐẠT")) == "do duc dat"
    assert key("H'Hen Niê") == "h hen nie"


def test_has_diacritics():
    assert pl.select(has_diacritics(pl.lit("tran thi hoa"))).item() is False
    assert pl.select(has_diacritics(pl.lit("trần thị hòa"))).item() is True


def test_name_tokens_family_middle_given():
    frame = pl.DataFrame({"key": ["nguyen van thanh hung", "lan", "le an"]})
    tokens = frame.select(**name_tokens(pl.col("key"))).to_dicts()
    assert tokens[0] == {"family_key": "nguyen", "middle_key": "van thanh", "given_key": "hung", "name_token_count": 4}
    assert tokens[1] == {"family_key": "lan", "middle_key": "", "given_key": "lan", "name_token_count": 1}
    assert tokens[2]["middle_key"] == "" and tokens[2]["given_key"] == "an"


def test_id_kind_by_length():
    ids = pl.Series(["079085000123", "025123456", "7908500012", "07908500012x", None])
    assert pl.select(id_kind(pl.lit(ids))).to_series().to_list() == ["cccd", "cmnd", None, None, None]


@pytest.mark.parametrize(
    ("cccd", "year", "gender"),
    [
        ("079085000123", 1985, "Nam"),
        ("001190000001", 1990, "Nữ"),
        ("001203000001", 2003, "Nam"),
        ("048305123456", 2005, "Nữ"),
    ],
)
def test_cccd_embeds_birth_year_and_gender(cccd, year, gender):
    assert pl.select(cccd_birth_year(pl.lit(cccd))).item() == year
    assert pl.select(cccd_gender(pl.lit(cccd))).item() == gender
