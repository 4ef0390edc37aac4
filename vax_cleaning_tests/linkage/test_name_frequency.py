"""A rare full name agreeing weighs more than Nguyễn Văn Hùng: the registry's own name counts (term frequency)."""

import polars as pl

from vax_cleaning.linkage.normalize import MIN_PEOPLE_FOR_NAME_SHARE
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, link, person, registry, row

THAO_ID = cccd(1985, "Nữ", 5)
THAO = person(THAO_ID, "Tôn Nữ Diệu Thảo", "1985-07-09", "Nữ")
HUNG_ID = cccd(1985, "Nam", 6)
HUNG = person(HUNG_ID, "Nguyễn Văn Hùng", "1985-07-09", "Nam")


def city(*people: dict) -> pl.DataFrame:
    """A registry large enough for name counts to mean something: 300 other Nguyễn Văn Hùng, and filler people."""
    hungs = [
        person(cccd(1950 + i % 50, "Nam", 1000 + i), "Nguyễn Văn Hùng", f"{1950 + i % 50}-03-0{1 + i % 9}", "Nam")
        for i in range(300)
    ]
    filler = [
        person(cccd(1960 + i % 40, "Nữ", 5000 + i), f"Lê Thị Mai {i}", f"{1960 + i % 40}-05-1{i % 9}", "Nữ")
        for i in range(MIN_PEOPLE_FOR_NAME_SHARE)
    ]
    return registry(*people, *hungs, *filler)


def test_a_rare_name_with_day_and_month_swapped_links_without_an_id():
    # -20 + 10.5 (exact name) + 2.6 (1 of 10,302 people) + 7 (swapped) + 1 + 3 = 4.1: score 0.94
    result = link(doses(dose("Tôn Nữ Diệu Thảo", "1985-09-07", "Nữ")), city(THAO, HUNG))
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", THAO_ID)


def test_a_common_name_with_day_and_month_swapped_stays_in_review():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-09-07", "Nam")), city(THAO, HUNG))
    assert row(result)["person_id"] is None


def test_a_small_registry_keeps_the_hand_set_weights():
    # Three people say nothing about how common a name is: the rare name gains nothing.
    result = link(doses(dose("Tôn Nữ Diệu Thảo", "1985-09-07", "Nữ")), registry(THAO, HUNG))
    assert row(result)["match_status"] == "review"


def test_a_two_word_name_never_gains_from_its_rarity():
    # "Nguyễn Hằng" is rare in the registry, but written names of two words mostly lost their middle name.
    hang_id = cccd(1982, "Nữ", 7)
    people = city(person(hang_id, "Nguyễn Hằng", "1982-05-03", "Nữ"))
    result = link(doses(dose("Nguyễn Hằng", "1982-03-05", "Nữ")), people)
    assert row(result)["match_status"] == "review"
