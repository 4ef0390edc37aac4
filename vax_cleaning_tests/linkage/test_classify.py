"""The cascade, one story per branch: what the site wrote, who is in the registry, what we decide."""

from __future__ import annotations

import unicodedata

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from vax_cleaning.linkage import LinkageSettings
from vax_cleaning.linkage.block import gather_pairs
from vax_cleaning.linkage.classify import candidate_stats, score_pairs
from vax_cleaning.linkage.normalize import record_features, registry_features
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, fixes, link, person, registry, row

HUNG_ID = cccd(1985, "Nam", 123)
HUNG = person(HUNG_ID, "Nguyễn Văn Hùng", "1985-03-04", "Nam", old_id="025123456")
HOA_ID = cccd(1990, "Nữ", 456)
HOA = person(HOA_ID, "Trần Thị Hòa", "1990-12-01", "Nữ")
PEOPLE = registry(HUNG, HOA)


# --- ID found, identity agrees -------------------------------------------------------------


def test_id_name_and_dob_agree_is_verified():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_ID)), PEOPLE)
    assert (row(result)["match_status"], row(result)["person_id"], row(result)["rule"]) == (
        "verified",
        HUNG_ID,
        "ID_MATCH",
    )
    assert row(result)["match_score"] > 0.99
    assert result.corrections.is_empty()


def test_formatting_differences_are_still_verified():
    written = unicodedata.normalize("NFD", "  TRẦN  THỊ HOÀ ")  # case, spaces, NFD, new tone placement
    batch = doses(dose(written, "1990-12-01", None, HOA_ID, id_issue="leading_zero_restored", id_raw="79190000456"))
    result = link(batch, PEOPLE)
    assert row(result)["match_status"] == "verified"
    assert result.corrections.is_empty()


# --- ID found, recording errors corrected --------------------------------------------------


def test_name_without_diacritics_is_corrected_to_registry_spelling():
    result = link(doses(dose("Tran Thi Hoa", "1990-12-01", "Nữ", HOA_ID)), PEOPLE)
    assert row(result)["match_status"] == "corrected"
    assert fixes(result) == {"full_name": ("NAME_NO_DIACRITICS", "auto")}
    assert result.corrections["corrected_value"].to_list() == ["Trần Thị Hòa"]


def test_old_cmnd_is_replaced_by_the_cccd():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", "025123456")), PEOPLE)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)
    assert fixes(result) == {"id_number": ("ID_CMND_TO_CCCD", "auto")}
    fix = result.corrections.row(0, named=True)
    assert (fix["current_value"], fix["corrected_value"]) == ("025123456", HUNG_ID)


def test_day_and_month_swapped_is_corrected():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-04-03", "Nam", HUNG_ID)), PEOPLE)
    assert row(result)["match_status"] == "corrected"
    assert fixes(result) == {"date_of_birth": ("DOB_DAY_MONTH_SWAP", "auto")}
    fix = result.corrections.row(0, named=True)
    assert (fix["current_value"], fix["corrected_value"]) == ("1985-04-03", "1985-03-04")


def test_year_only_dob_is_completed():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985", "Nam", HUNG_ID)), PEOPLE)
    assert fixes(result) == {"date_of_birth": ("DOB_YEAR_ONLY", "auto")}
    assert result.corrections["current_value"].to_list() == ["1985"]


def test_placeholder_first_of_january_is_corrected():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-01-01", "Nam", HUNG_ID)), PEOPLE)
    assert fixes(result) == {"date_of_birth": ("DOB_PLACEHOLDER_0101", "auto")}


def test_wrong_gender_is_corrected():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nữ", HUNG_ID)), PEOPLE)
    assert row(result)["match_status"] == "corrected"
    assert fixes(result) == {"gender": ("GENDER_DIFFERENT", "auto")}


def test_middle_name_missing_is_corrected():
    result = link(doses(dose("Nguyễn Hùng", "1985-03-04", "Nam", HUNG_ID)), PEOPLE)
    assert fixes(result) == {"full_name": ("NAME_MIDDLE_NAME", "auto")}


def test_missing_name_with_id_and_exact_dob_is_filled():
    result = link(doses(dose(None, "1985-03-04", "Nam", HUNG_ID)), PEOPLE)
    assert row(result)["match_status"] == "corrected"
    assert fixes(result) == {"full_name": ("NAME_MISSING", "auto")}


def test_name_typo_and_dob_error_together_are_corrected_with_the_records_own_cccd():
    result = link(doses(dose("Nguyễn Văn Hùnh", "1985-03-14", "Nam", HUNG_ID)), PEOPLE)
    record = row(result)
    assert (record["match_status"], record["person_id"], record["rule"]) == ("corrected", HUNG_ID, "ID_MATCH")
    assert fixes(result) == {"full_name": ("NAME_TYPO", "auto"), "date_of_birth": ("DOB_ONE_DIGIT", "auto")}


def test_name_typo_and_dob_error_together_go_to_review_without_an_exact_cccd():
    near_miss = HUNG_ID[:-1] + str((int(HUNG_ID[-1]) + 1) % 10)  # one digit off: not the record's own card
    result = link(doses(dose("Nguyễn Văn Hùnh", "1985-03-14", "Nam", near_miss)), PEOPLE)
    record = row(result)
    assert (record["match_status"], record["person_id"], record["candidate_person_id"]) == ("review", None, HUNG_ID)
    assert fixes(result)["full_name"] == ("NAME_TYPO", "review")


def test_two_recording_errors_and_a_wrong_gender_stay_in_review():
    result = link(doses(dose("Nguyễn Văn Hùnh", "1985-03-14", "Nữ", HUNG_ID)), PEOPLE)
    assert row(result)["match_status"] == "review"


def test_wrong_birth_year_with_right_day_and_month_is_corrected():
    result = link(doses(dose("Nguyễn Văn Hùng", "1978-03-04", "Nam", HUNG_ID)), PEOPLE)
    assert row(result)["match_status"] == "corrected"
    assert fixes(result) == {"date_of_birth": ("DOB_YEAR_WRONG", "auto")}


def test_id_owner_keeps_its_claim_against_a_look_alike_that_fits_only_slightly_better():
    # 01/01 placeholder with Hùng's ID; a namesake was born 1985-01-11 (one digit from 01/01).
    people = registry(HUNG, person(HUNG_TWO_ID, "Nguyễn Văn Hùng", "1985-01-11", "Nam"))
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-01-01", "Nam", HUNG_ID)), people)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)


def test_id_and_name_agree_but_dob_is_unrelated_goes_to_review():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-11-20", "Nam", HUNG_ID)), PEOPLE)
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "ID_OWNER_MISMATCH")


# --- ID points to somebody else --------------------------------------------------------------

MOTHER_ID = cccd(1962, "Nữ", 777)
SON_ID = cccd(1990, "Nam", 778)
HOME = "Phường Tân Định, Quận 1"
MOTHER = person(MOTHER_ID, "Phạm Thị Xuân", "1962-07-15", "Nữ", address=HOME)
SON = person(SON_ID, "Lê Văn Nam", "1990-02-10", "Nam", address=HOME)


def test_relatives_id_links_to_the_person_named_not_to_the_id_owner():
    batch = doses(dose("Phạm Thị Xuân", "1962-07-15", "Nữ", SON_ID))
    result = link(batch, registry(MOTHER, SON))
    record = row(result)
    assert record["person_id"] == MOTHER_ID
    assert record["match_status"] == "corrected" and record["rule"] == "CANDIDATE_MATCH"
    assert record["id_embedded_level"] == "both_disagree"
    assert fixes(result) == {"id_number": ("ID_OTHER_PERSON", "auto")}


def test_housemates_id_links_even_a_household_registered_in_another_province():
    # Mother and son live in Hà Nội; the mother was vaccinated in province 79 with her son's ID.
    mother = person(
        MOTHER_ID, "Phạm Thị Xuân", "1962-07-15", "Nữ", province="01", address="Phường Láng Hạ, Quận Đống Đa"
    )
    son = person(SON_ID, "Lê Văn Nam", "1990-02-10", "Nam", province="01", address="Phường Láng Hạ, Quận Đống Đa")
    result = link(doses(dose("Phạm Thị Xuân", "1962-07-15", "Nữ", SON_ID)), registry(mother, son))
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", MOTHER_ID)


def test_relatives_id_is_never_corrected_to_its_owner():
    result = link(doses(dose("Phạm Thị Xuân", "1962-07-15", "Nữ", SON_ID)), registry(SON))
    assert row(result)["person_id"] is None
    assert row(result)["match_status"] in ("review", "unmatched")


def test_id_typo_hitting_another_real_person_finds_the_right_one():
    neighbour = person(cccd(1985, "Nam", 124), "Đỗ Minh Tuấn", "1971-05-30", "Nam")
    result = link(
        doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", cccd(1985, "Nam", 124))), registry(HUNG, neighbour)
    )
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)
    assert fixes(result) == {"id_number": ("ID_NEAR_MISS", "auto")}


def test_id_with_swapped_digits_not_in_registry_is_corrected():
    swapped = HUNG_ID[:-2] + HUNG_ID[-1] + HUNG_ID[-2]
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", swapped)), PEOPLE)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)
    assert row(result)["id_level"] == "near_miss"


# --- twins and common names ----------------------------------------------------------------

MAI_ID, LAN_ID = cccd(2003, "Nữ", 11), cccd(2003, "Nữ", 12)
TWINS = registry(  # one household: the twins and their mother
    person(MAI_ID, "Trần Thị Mai", "2003-06-09", "Nữ", address=HOME),
    person(LAN_ID, "Trần Thị Lan", "2003-06-09", "Nữ", address=HOME),
    person(cccd(1975, "Nữ", 13), "Trần Thị Hạnh", "1975-01-20", "Nữ", address=HOME),
)


def test_twins_each_with_own_id_are_verified():
    batch = doses(dose("Trần Thị Mai", "2003-06-09", "Nữ", MAI_ID), dose("Trần Thị Lan", "2003-06-09", "Nữ", LAN_ID))
    result = link(batch, TWINS)
    assert result.matched["match_status"].to_list() == ["verified", "verified"]
    assert result.matched["person_id"].to_list() == [MAI_ID, LAN_ID]


def test_twin_without_id_is_linked_by_given_name():
    result = link(doses(dose("Trần Thị Lan", "2003-06-09", "Nữ")), TWINS)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", LAN_ID)
    assert row(result)["candidate_count"] >= 2  # the sister was considered too


def test_twin_written_with_her_sisters_id_goes_to_review():
    result = link(doses(dose("Trần Thị Mai", "2003-06-09", "Nữ", LAN_ID)), TWINS)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("review", None)


def test_id_owner_with_a_typo_loses_to_a_look_alike_who_fits_exactly():
    people = registry(
        person(MAI_ID, "Phạm Thị Lan", "2003-06-09", "Nữ"), person(LAN_ID, "Phạm Thị Lân", "2003-06-09", "Nữ")
    )
    result = link(doses(dose("Phạm Thị Lan", "2003-06-09", "Nữ", LAN_ID)), people)
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "ID_CONFLICT")


HUNG_TWO_ID = cccd(1985, "Nam", 999, province="001")
TWO_HUNGS = registry(HUNG, person(HUNG_TWO_ID, "Nguyễn Văn Hùng", "1985-03-04", "Nam", province="01"))


def test_common_name_collision_without_id_goes_to_review():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), TWO_HUNGS)
    record = row(result)
    assert (record["match_status"], record["person_id"], record["rule"]) == ("review", None, "AMBIGUOUS_NAME_DOB")
    assert record["candidate_count"] == 2
    assert record["candidate_person_id"] in (HUNG_ID, HUNG_TWO_ID)


def test_common_name_collision_is_settled_by_an_exact_id():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_TWO_ID)), TWO_HUNGS)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("verified", HUNG_TWO_ID)


# --- candidate search without ID -----------------------------------------------------------


def test_no_id_unique_exact_name_and_dob_is_linked():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), PEOPLE)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)
    assert fixes(result) == {"id_number": ("ID_MISSING", "auto")}


def test_unrecoverable_scientific_notation_id_is_replaced():
    batch = doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", id_issue="scientific_notation", id_raw="7.9085E+10"))
    result = link(batch, PEOPLE)
    assert fixes(result) == {"id_number": ("ID_UNRECOVERABLE", "auto")}
    assert result.corrections["current_value"].to_list() == ["7.9085E+10"]


def test_no_id_and_name_typo_goes_to_review_with_review_corrections():
    result = link(doses(dose("Nguyễn Văn Hùnh", "1985-03-04", "Nam")), PEOPLE)
    assert (row(result)["match_status"], row(result)["candidate_person_id"]) == ("review", HUNG_ID)
    assert fixes(result)["full_name"] == ("NAME_TYPO", "review")


def test_no_id_and_wrong_birth_year_still_finds_the_candidate():
    result = link(doses(dose("Nguyễn Văn Hùng", "1984-03-04", "Nam")), PEOPLE)
    assert (row(result)["match_status"], row(result)["candidate_person_id"]) == ("review", HUNG_ID)
    assert row(result)["dob_level"] == "year_off_by_one"


def test_namesake_one_recording_error_away_keeps_a_record_without_id_in_review():
    # Record fits Hùng #1 exactly, but Hùng #2 was born a year later to the day: a likely slip.
    people = registry(HUNG, person(HUNG_TWO_ID, "Nguyễn Văn Hùng", "1986-03-04", "Nam"))
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), people)
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "LOW_MARGIN")
    assert row(result)["candidate_person_id"] == HUNG_ID


def test_look_alike_one_letter_away_keeps_a_record_without_id_in_review():
    people = registry(HUNG, person(HUNG_TWO_ID, "Nguyễn Văn Dũng", "1985-03-04", "Nam"))
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), people)
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "LOW_MARGIN")


def test_namesake_one_slip_away_in_another_province_does_not_block_the_link():
    people = registry(HUNG, person(HUNG_TWO_ID, "Nguyễn Văn Hùng", "1986-03-04", "Nam", province="01"))
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), people)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)
    assert row(result)["residence_level"] == "same_province"


def test_exact_candidate_elsewhere_and_local_namesake_one_slip_away_is_review():
    people = registry(
        person(HUNG_ID, "Nguyễn Văn Hùng", "1985-03-04", "Nam", province="01"),
        person(HUNG_TWO_ID, "Nguyễn Văn Hùng", "1986-03-04", "Nam"),
    )
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), people)
    assert row(result)["match_status"] == "review"


def test_namesake_with_an_unrelated_birth_date_does_not_block_the_link():
    people = registry(HUNG, person(HUNG_TWO_ID, "Nguyễn Văn Hùng", "1979-09-27", "Nam"))
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), people)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)


def test_name_common_in_its_birth_year_is_not_linked_on_name_and_dob_alone():
    # Ten Hùngs born in 1985: if the writer is missing from the registry (often the case for
    # people without an ID), a namesake sharing the birth date is too likely.
    namesakes = [
        person(cccd(1985, "Nam", 900 + i), "Nguyễn Văn Hùng", f"1985-0{5 + i % 5}-{15 + i}", "Nam") for i in range(9)
    ]
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), registry(HUNG, *namesakes))
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "MAYBE_UNREGISTERED")
    assert row(result)["candidate_person_id"] == HUNG_ID


def test_candidate_living_elsewhere_is_not_linked_on_name_and_dob_alone():
    people = registry(person(HUNG_ID, "Nguyễn Văn Hùng", "1985-03-04", "Nam", province="01"))
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam")), people)
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "MAYBE_UNREGISTERED")


def test_a_near_miss_id_links_even_a_common_name():
    namesakes = [
        person(cccd(1985, "Nam", 900 + i), "Nguyễn Văn Hùng", f"1985-0{5 + i % 5}-{15 + i}", "Nam") for i in range(9)
    ]
    people = registry(HUNG, *namesakes)
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_ID[:-1] + "9")), people)
    assert (row(result)["match_status"], row(result)["person_id"]) == ("corrected", HUNG_ID)


def test_a_made_up_id_that_fits_the_writer_is_evidence_against_a_namesake():
    # The CCCD encodes 1985 and male like the record, belongs to nobody: probably the writer's own.
    result = link(doses(dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", cccd(1985, "Nam", 555555))), PEOPLE)
    assert (row(result)["match_status"], row(result)["candidate_person_id"]) == ("review", HUNG_ID)


def test_nobody_plausible_is_unmatched():
    result = link(doses(dose("Lê Văn Tám", "1970-05-05", "Nam"), dose("Nguyễn Văn Hùng", "1985-03-20", "Nam")), PEOPLE)
    assert result.matched["match_status"].to_list() == ["unmatched", "unmatched"]
    assert result.matched["match_score"].to_list() == [None, None]
    assert result.matched["rule"].to_list() == ["NO_CANDIDATE", "NO_PLAUSIBLE_CANDIDATE"]


def test_oversized_block_is_not_linked_through_search():
    result = link(doses(dose("Nguyễn Văn Hùng", "1985", "Nam")), TWO_HUNGS, LinkageSettings(max_block_size=1))
    assert (row(result)["match_status"], row(result)["rule"]) == ("review", "BLOCK_TOO_LARGE")


def test_small_chunks_give_the_same_answer():
    batch = doses(
        dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_ID),
        dose("Tran Thi Hoa", "1990-12-01", "Nữ"),
        dose("Lê Văn Tám", "1970-05-05", "Nam"),
    )
    whole, chunked = link(batch, PEOPLE), link(batch, PEOPLE, LinkageSettings(chunk_size=1, search_chunk_size=1))
    assert whole.matched.equals(chunked.matched)
    assert whole.corrections.sort("source_row", "field").equals(chunked.corrections.sort("source_row", "field"))


def test_every_record_appears_exactly_once_even_for_an_empty_batch():
    empty = doses(dose("x", None)).head(0)
    result = link(empty, PEOPLE)
    assert result.matched.is_empty() and result.corrections.is_empty()


# --- duplicates ----------------------------------------------------------------------------


def test_same_dose_twice_in_a_batch_keeps_the_smallest_row():
    batch = doses(
        dose("Tran Thi Hoa", "1990-12-01", "Nữ", HOA_ID, file="79/b.csv"),
        dose("Trần Thị Hòa", "1990-12-01", "Nữ", HOA_ID, file="79/a.csv"),
        dose("Trần Thị Hòa", "1990-12-01", "Nữ", HOA_ID, file="79/a.csv", on="2021-09-01", dose_number=2),
    )
    result = link(batch, PEOPLE)
    copy = row(result, 1, "79/b.csv")
    assert (copy["match_status"], copy["person_id"]) == ("duplicate", HOA_ID)
    assert (copy["duplicate_of_file"], copy["duplicate_of_row"]) == ("79/a.csv", 1)
    assert row(result, 1, "79/a.csv")["match_status"] == "verified"
    assert row(result, 2, "79/a.csv")["match_status"] == "verified"
    assert result.corrections.is_empty()  # the duplicate's corrections are not applied


def test_duplicates_across_provinces_both_ways():
    """Hùng's dose was already linked in Hà Nội under a smaller key; Hòa's copy in province 80 sorts after ours."""
    other = pl.DataFrame(
        {
            "source_file": ["01/early.csv", "80/late.csv"],
            "source_row": [7, 3],
            "person_id": [HUNG_ID, HOA_ID],
            "vaccine_code": ["AZ", "AZ"],
        }
    ).with_columns(vaccination_date=pl.date(2021, 8, 1))
    batch = doses(
        dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_ID), dose("Trần Thị Hòa", "1990-12-01", "Nữ", HOA_ID)
    )
    result = link(batch, PEOPLE, other_linked=other)
    hung, hoa = row(result, 1), row(result, 2)
    assert (hung["match_status"], hung["duplicate_of_file"], hung["duplicate_of_row"]) == (
        "duplicate",
        "01/early.csv",
        7,
    )
    assert hoa["match_status"] == "verified"
    assert result.superseded.to_dicts() == [
        {"source_file": "80/late.csv", "source_row": 3, "duplicate_of_file": "79/site1.csv", "duplicate_of_row": 2}
    ]


# --- the per-record statistics the decision reads ----------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),  # id_exact
            st.booleans(),  # fit
            st.booleans(),  # gate
            st.booleans(),  # id_evidence
            st.booleans(),  # dob_explained
            st.one_of(st.none(), st.floats(-30, 30)),  # evidence_weight
            st.floats(-30, 30),  # weight
        ),
        min_size=1,
        max_size=12,
    )
)
def test_one_pair_per_record_gives_the_statistics_grouping_gives(pairs):
    # the ID phase's settled records have one pair each and skip the group_by: the decision must not notice
    single = pl.DataFrame(
        [(rec, 100 + rec, *pair) for rec, pair in enumerate(pairs)],
        schema={
            "_rec": pl.UInt32, "_reg": pl.UInt32, "id_exact": pl.Boolean, "fit": pl.Boolean, "gate": pl.Boolean,
            "id_evidence": pl.Boolean, "dob_explained": pl.Boolean, "evidence_weight": pl.Float64,
            "weight": pl.Float64,
        },
        orient="row",
    )  # fmt: skip
    two_pairs = single.head(1).with_columns(_rec=pl.lit(len(pairs), pl.UInt32))  # one record of two pairs: grouped
    grouped = candidate_stats(pl.concat([single, two_pairs, two_pairs])).filter(pl.col("_rec") < len(pairs))
    assert candidate_stats(single).sort("_rec").equals(grouped.sort("_rec"))


def test_one_pair_per_record_is_weighed_as_grouping_weighs_it():
    # the ID phase weighs its one-owner records without windows over _rec: the weights and flags must not change
    lan = person(cccd(1988, "Nữ", 124), "Lê Thị Lan", "1988-05-06", "Nữ", address="12 Lê Lợi, Phường 1, Quận 1")
    hoa = person(HOA_ID, "Trần Thị Hòa", "1990-12-01", "Nữ", address="5 Trần Phú, Phường 2, Quận 3")
    people = registry_features(registry(HUNG, hoa, lan))
    records = record_features(
        doses(
            dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_ID, row=1),  # own ID, all agree
            dose("Nguyen Van Hung", "1985-01-01", "Nam", HUNG_ID, row=2),  # own ID, two weak fields
            dose("Trần Thị Hòa", "1990-12-01", "Nữ", HUNG_ID, row=3),  # somebody else's ID
            dose("Lê Thị Lan", "1988-05-06", "Nữ", "025123456", row=4),  # a CMND, not hers
            dose("Nguyễn Văn Hùng", "1985-03-04", "Nam", HUNG_ID[:-1] + "4", row=5),  # one digit off
            dose("Trần Thị Hoà", "1991-12-01", None, None, row=6),  # no ID
        )
    )
    pairs = pl.DataFrame(
        {"_rec": [0, 1, 2, 3, 4, 5], "_reg": [0, 0, 1, 2, 0, 1]}, schema={"_rec": pl.UInt32, "_reg": pl.UInt32}
    )
    gathered = gather_pairs(pairs, records, people)
    grouped = score_pairs(gathered, LinkageSettings())
    assert score_pairs(gathered, LinkageSettings(), one_per_record=True).equals(grouped)
