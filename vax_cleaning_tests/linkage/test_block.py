"""Blocking finds the person despite one recording error, and keeps blocks bounded."""

from __future__ import annotations

import polars as pl
import pytest

from vax_cleaning.linkage.block import blocked_pairs, build_block_index
from vax_cleaning.linkage.normalize import record_features, registry_features
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, person, registry

TRUE_ID = cccd(1985, "Nam", 123456)
PEOPLE = registry_features(
    registry(
        person(TRUE_ID, "Nguyễn Văn Hùng", "1985-03-04", "Nam", old_id="025123456"),
        person(cccd(1960, "Nữ", 1), "Lê Thị Bé", "1960", "Nữ"),
    )
)


def found(*records: dict) -> list[bool]:
    """For each record: is registry person 0 among its candidates?"""
    candidates = blocked_pairs(record_features(doses(*records)), build_block_index(PEOPLE, 100))
    hits = set(candidates.pairs.filter(pl.col("_reg") == 0)["_rec"].to_list())
    return [i in hits for i in range(len(records))]


@pytest.mark.parametrize(
    ("name", "dob"),
    [
        ("Nguyen Van Hung", "1985-03-14"),  # wrong day
        ("Nguyễn Văn Hùng", "1985-08-04"),  # wrong month
        ("Nguyễn Văn Hùng", "1985-04-03"),  # swapped
        ("Nguyễn Văn Hùng", "1986-03-04"),  # wrong year
        ("Nguyễn Văn Hùng", "1985"),  # year only
        ("Nguyễn Văn Hùng", "1985-01-01"),  # placeholder
        ("Nguyễn Hùng", "1985-03-04"),  # middle name missing
        ("Nguyễn Vân Hùng", "1985-03-04"),  # typo in the middle name
        ("Nguyễn Văn Hùnh", "1985-03-04"),  # typo in the given name
        ("Ngyễn Văn Hùng", "1985-03-04"),  # typo in the family name
    ],
)
def test_one_error_in_name_or_dob_still_finds_the_person(name, dob):
    assert found(dose(name, dob)) == [True]


def test_every_single_digit_typo_and_adjacent_swap_of_the_id_is_found():
    variants = []
    for i in range(12):
        variants.append(TRUE_ID[:i] + str((int(TRUE_ID[i]) + 1) % 10) + TRUE_ID[i + 1 :])
    for i in range(11):
        if TRUE_ID[i] != TRUE_ID[i + 1]:
            variants.append(TRUE_ID[:i] + TRUE_ID[i + 1] + TRUE_ID[i] + TRUE_ID[i + 2 :])
    old = "025123456"
    variants += [old[:i] + str((int(old[i]) + 1) % 10) + old[i + 1 :] for i in range(9)]
    # Name and DOB unrelated, so only the ID windows can find the person.
    assert all(found(*(dose("Trịnh Công Sơn", "1939-02-28", None, v) for v in variants)))


def test_registry_year_only_person_is_found_from_a_full_date():
    candidates = blocked_pairs(record_features(doses(dose("Lê Thị Bé", "1960-05-06"))), build_block_index(PEOPLE, 100))
    assert candidates.pairs["_reg"].to_list() == [1]


def test_oversized_block_is_flagged_not_expanded():
    people = registry_features(
        registry(*(person(cccd(1985, "Nam", i), "Nguyễn Văn Hùng", f"1985-0{1 + i}-0{1 + i}", "Nam") for i in range(3)))
    )
    candidates = blocked_pairs(record_features(doses(dose("Nguyễn Văn Hùng", "1985"))), build_block_index(people, 2))
    assert candidates.pairs.is_empty()
    assert candidates.truncated["_rec"].to_list() == [0]
