"""One test per comparison level: what the site wrote vs what the registry says."""

from __future__ import annotations

from enum import unique
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from vax_cleaning.linkage.block import gather_pairs
from vax_cleaning.linkage.compare import (
    LEVEL_COLUMNS,
    DobLevel,
    GenderLevel,
    IdEmbeddedLevel,
    IdLevel,
    Level,
    NameLevel,
    ResidenceLevel,
    check_levels,
    compare_pairs,
    comparison,
    id_embedded_level,
    maybe_one_edit_apart,
)
from vax_cleaning.linkage.normalize import record_features, registry_features
from vax_cleaning_tests.linkage.stories import dose, doses, person, registry

PERSON_ID = "079085000123"


def levels(
    written_name: str | None = "Nguyễn Văn Hùng",
    written_dob: str | None = "1985-03-04",
    written_gender: str | None = "Nam",
    written_id: str | None = PERSON_ID,
    *,
    name: str = "Nguyễn Văn Hùng",
    dob: str = "1985-03-04",
    gender: str = "Nam",
    old_id: str | None = "025123456",
    province: str = "79",
) -> dict[str, str]:
    """Levels of the pair (record as written, registry person)."""
    records = record_features(doses(dose(written_name, written_dob, written_gender, written_id)))
    people = registry_features(registry(person(PERSON_ID, name, dob, gender, old_id=old_id, province=province)))
    pairs = pl.DataFrame({"_rec": [0], "_reg": [0]}, schema={"_rec": pl.UInt32, "_reg": pl.UInt32})
    row = compare_pairs(gather_pairs(pairs, records, people), typo_max_edits=1, typo_min_similarity=0.85).row(
        0, named=True
    )
    return {
        "name": NameLevel(row["name_level"]).label,
        "dob": DobLevel(row["dob_level"]).label,
        "gender": GenderLevel(row["gender_level"]).label,
        "residence": ResidenceLevel(row["residence_level"]).label,
        "id": IdLevel(row["id_level"]).label,
    }


# --- names ---------------------------------------------------------------------------------


def test_name_exact_up_to_formatting_and_tone_placement():
    assert levels("TRẦN THỊ HOÀ", name="Trần Thị Hòa")["name"] == "exact"


def test_name_exact_without_diacritics():
    assert levels("Nguyen Van Hung")["name"] == "exact_without_diacritics"


def test_name_with_wrong_diacritics_is_a_typo():
    assert levels("Nguyễn Văn Hưng")["name"] == "typo"


def test_name_one_letter_typo():
    assert levels("Nguyễn Văn Hừng")["name"] == "typo"
    assert levels("Nguyen Van Hunh")["name"] == "typo"


def test_short_name_needs_higher_similarity_for_a_typo():
    assert levels("Lê An", name="Lê Anh")["name"] == "different"


def test_two_edits_are_a_different_name_not_a_typo():
    assert levels("Nguyễn Thị Anh", name="Nguyễn Thị Vân")["name"] == "different"


def test_middle_name_missing():
    assert levels("Nguyễn Hùng")["name"] == "middle_name_missing"
    assert levels("Nguyễn Thị Hà", name="Nguyễn Thị Thu Hà")["name"] == "middle_name_missing"


def test_name_different():
    assert levels("Nguyễn Văn Minh")["name"] == "different"
    assert levels("Trần Văn Hùng Anh")["name"] == "different"


def test_name_null():
    assert levels(None)["name"] == "null"


# --- dates of birth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "registered", "level"),
    [
        ("1985-03-04", "1985-03-04", "exact"),
        ("1985", "1985", "exact"),
        ("1985", "1985-03-04", "year_only_agrees"),
        ("1985-03-04", "1985", "year_only_agrees"),
        ("1985-04-03", "1985-03-04", "day_month_swapped"),
        ("1985-03-14", "1985-03-04", "one_digit_off"),
        ("1995-03-04", "1985-03-04", "one_digit_off"),
        ("1986-03-04", "1985-03-04", "year_off_by_one"),
        ("1990-03-04", "1989-03-04", "year_off_by_one"),
        ("1986", "1985-03-04", "year_off_by_one"),
        ("1985-01-01", "1985-03-04", "placeholder_0101"),
        ("1978-03-04", "1985-03-04", "year_differs"),
        ("1985-11-20", "1985-03-04", "different"),
        ("1984-01-01", "1985-03-04", "different"),
        (None, "1985-03-04", "null"),
    ],
)
def test_dob_levels(written, registered, level):
    assert levels(written_dob=written, dob=registered)["dob"] == level


# --- gender and IDs ------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "level"), [("Nam", "agree"), ("Nữ", "disagree"), (None, "null")])
def test_gender_levels(written, level):
    assert levels(written_gender=written)["gender"] == level


@pytest.mark.parametrize(("province", "level"), [("79", "same_province"), ("01", "other_province")])
def test_residence_levels(province, level):
    assert levels(province=province)["residence"] == level  # the dose was given in province 79


@pytest.mark.parametrize(
    ("written", "level"),
    [
        (PERSON_ID, "exact_cccd"),
        ("025123456", "exact_cmnd"),
        ("079085000124", "near_miss"),  # one wrong digit
        ("079085001023", "near_miss"),  # two adjacent digits swapped
        ("025123465", "near_miss"),
        ("079085999999", "different"),
        (None, "null"),
    ],
)
def test_id_levels(written, level):
    assert levels(written_id=written)["id"] == level


def _one_edit(text: str, position: int, digit: str, swap: bool) -> str:
    """`text` with one digit replaced, or two adjacent digits swapped."""
    position %= len(text) - 1
    if swap:
        return text[:position] + text[position + 1] + text[position] + text[position + 2 :]
    return text[:position] + digit + text[position + 1 :]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([9, 12]),
            st.integers(0, 10**12 - 1),
            st.integers(0, 11),
            st.sampled_from("0123456789"),
            st.booleans(),  # swap two adjacent digits instead of replacing one
            st.booleans(),  # compare with an unrelated ID instead
            st.integers(0, 10**12 - 1),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_ids_one_edit_apart_are_never_ruled_out_before_their_distance(cases):
    # the prefilter skips the distance only where it cannot be 1: a near miss must never be lost to it
    written, registered = [], []
    for length, number, position, digit, swap, unrelated, other in cases:
        text = f"{number % 10**length:0{length}d}"
        written.append(text)
        registered.append(f"{other % 10**length:0{length}d}" if unrelated else _one_edit(text, position, digit, swap))
    kept = maybe_one_edit_apart(pl.Series(written), pl.Series(registered)).to_list()
    for left, right, keep in zip(written, registered, kept, strict=True):
        assert keep or OSA.distance(left, right) != 1, (left, right)


def test_most_unrelated_ids_are_ruled_out_before_their_distance():
    kept = maybe_one_edit_apart(
        pl.Series(["079085000123"] * 3), pl.Series(["079085000124", "079185000123", "001190432187"])
    )
    assert kept.to_list() == [True, True, False]


def test_cmnd_cannot_be_compared_with_a_person_without_old_id():
    assert levels(written_id="025123456", old_id=None)["id"] == "null"


@pytest.mark.parametrize(
    ("written_dob", "written_gender", "level"),
    [
        ("1985-03-04", "Nam", IdEmbeddedLevel.AGREES),
        ("1960-03-04", "Nam", IdEmbeddedLevel.YEAR_DISAGREES),
        ("1985-03-04", "Nữ", IdEmbeddedLevel.GENDER_DISAGREES),
        ("1960-03-04", "Nữ", IdEmbeddedLevel.BOTH_DISAGREE),
        (None, "Nữ", IdEmbeddedLevel.GENDER_DISAGREES),  # no DOB written: only the gender is compared
        ("1960", None, IdEmbeddedLevel.YEAR_DISAGREES),
        ("1985", None, IdEmbeddedLevel.AGREES),
        (None, None, IdEmbeddedLevel.NULL),
    ],
)
def test_cccd_embedded_year_and_gender_vs_record(written_dob, written_gender, level):
    records = record_features(doses(dose("Nguyễn Thị Lan", written_dob, written_gender, PERSON_ID)))
    assert records.select(id_embedded_level()).item() == level


# --- the comparisons' shape (Splink: null, exact, weaker levels, else) ----------------------


@pytest.mark.parametrize("levels", list(LEVEL_COLUMNS.values()), ids=list(LEVEL_COLUMNS))
def test_levels_are_listed_null_first_then_exact_and_else_last(levels):
    check_levels(levels)  # also checked at import
    members = list(levels)
    assert (members[0].label, members[0]) == ("null", -1)
    assert members[1] == max(members) and members[-1] == 0
    assert levels.else_level() is members[-1]
    assert len({member.label for member in members}) == len(members)


def test_a_level_enum_out_of_shape_is_refused():
    @unique
    class Shuffled(Level):
        EXACT = 2
        NULL = -1
        NEAR = 1
        DIFFERENT = 0

    with pytest.raises(TypeError, match="Shuffled: the first level must be NULL = -1"):
        check_levels(Shuffled)


def test_a_comparison_must_give_every_level_but_else_in_order():
    with pytest.raises(ValueError, match=r"GenderLevel conditions must be given for \['null', 'agree'\]"):
        comparison(GenderLevel, {GenderLevel.NULL: pl.lit(False)})  # agree forgotten
    with pytest.raises(ValueError, match="IdLevel conditions must be given"):
        comparison(IdLevel, {IdLevel.NULL: pl.lit(False), IdLevel.NEAR_MISS: pl.lit(False),
                             IdLevel.EXACT_CMND: pl.lit(False), IdLevel.EXACT_CCCD: pl.lit(False)})  # fmt: skip


def test_first_level_that_holds_wins_else_the_else_level():
    frame = pl.DataFrame({"a": [None, 1, 2, 3]})
    level = comparison(
        ResidenceLevel,
        {ResidenceLevel.NULL: pl.col("a").is_null(), ResidenceLevel.SAME_PROVINCE: pl.col("a") >= 2},
    )
    assert frame.select(level).to_series().to_list() == [-1, 0, 1, 1]


def test_readme_names_every_level_by_its_label():
    readme = (Path(__file__).parents[2] / "vax_cleaning" / "linkage" / "README.md").read_text()
    section = readme.split("## Comparison levels")[1].split("\n## ")[0]
    for levels in LEVEL_COLUMNS.values():
        for member in levels:
            assert f"`{member.label}`" in section, (levels.__name__, member.label)
