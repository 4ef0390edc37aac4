"""People outrank the machine: review decisions judged by the contract's rules (2.4), then honoured by the linkage."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from vax_cleaning.ingest.reviews import DECISION_ROW_SCHEMA
from vax_cleaning.linkage import link_doses
from vax_cleaning.linkage.decisions import linkage_instructions, settle_decisions
from vax_cleaning.vocabulary import Decision
from vax_cleaning_tests.linkage.stories import cccd, dose, doses, fixes, person, registry, row

SNAPSHOT = date(2022, 6, 15)
TODAY = date(2022, 6, 30)

LAN_ID = cccd(1990, "Nữ", 11)
LAN_SISTER_ID = cccd(1990, "Nữ", 12)
TUAN_ID = cccd(1978, "Nam", 21)
PEOPLE = registry(
    person(LAN_ID, "Lê Thị Lan", "1990-05-02", "Nữ", address="Phường 1, Quận 3"),
    person(LAN_SISTER_ID, "Lê Thị Lan", "1990-05-02", "Nữ", province="01", address="Xã Đông Anh, Huyện Đông Anh"),
    person(TUAN_ID, "Võ Minh Tuấn", "1978-11-20", "Nam"),
)
BATCH = doses(
    dose("Lê Thị Lan", "1990-05-02", "Nữ", None),  # row 1: two registry namesakes -> review (AMBIGUOUS_NAME_DOB)
    dose("Võ Minh Tuấn", "1978-11-20", "Nam", TUAN_ID),  # row 2: verified by ID
    dose(
        "Đặng Văn Khoa", "1960-01-01", "Nam", None, on="2021-11-01", dose_number=3
    ),  # row 3: nobody like him -> unmatched
    dose("Vo Minh Tuan", "1978", "Nam", TUAN_ID, on="2021-09-01", dose_number=2),  # row 4: corrected by ID
)
RECORDS = BATCH.select("source_file", "source_row")


def decision(
    source_row: int, value: str, person_id: str | None = None, decided_on: str = "25/06/2022",
    reviewer: str | None = "Công an phường 1", source_file: str = "79/site1.csv", review_row: int = 1,
) -> dict:  # fmt: skip
    """One row as a reviewer writes it (every cell text)."""
    return {
        "review_file": "79/ra_soat.csv", "review_row": review_row, "field_count_problem": None,
        "source_file": source_file, "source_row": str(source_row), "decision": value, "person_id": person_id,
        "reviewer": reviewer, "decided_on": decided_on,
    }  # fmt: skip


def settle(*rows: dict, snapshot: date = SNAPSHOT) -> pl.DataFrame:
    numbered = [{**r, "review_row": i + 1} for i, r in enumerate(rows)]
    frame = pl.DataFrame(numbered, schema=DECISION_ROW_SCHEMA)
    return settle_decisions(frame, "79", RECORDS, PEOPLE.select("person_id"), snapshot, TODAY)


def outcomes(settled: pl.DataFrame) -> list[tuple[str, str | None]]:
    return list(zip(settled["outcome"], settled["reason_code"], strict=True))


def linked_with(*rows: dict, snapshot: date = SNAPSHOT):
    return link_doses(BATCH, PEOPLE, reviews=linkage_instructions(settle(*rows, snapshot=snapshot)))


# --- judging decision rows --------------------------------------------------------------------


def test_vietnamese_and_canonical_values_are_the_same_decision():
    settled = settle(decision(1, "Đúng người", LAN_ID), decision(3, "NOT_IN_REGISTRY"))
    assert settled["decision"].to_list() == ["link", "not_in_registry"]
    assert outcomes(settled) == [("applied", None), ("applied", None)]


@pytest.mark.parametrize(
    ("row_", "reason"),
    [
        (decision(1, "Đúng người", LAN_ID, source_file="01/site1.csv"), "wrong_province"),
        (decision(9, "Đúng người", LAN_ID), "unknown_record"),
        (decision(1, "Đúng người", "079190999999"), "unknown_person"),
        (decision(1, "Đúng người", None), "person_missing"),
        (decision(1, "Không phải người này", "12345"), "person_malformed"),
        (decision(1, "Đúng người", LAN_ID, reviewer=None), "reviewer_missing"),
        (decision(1, "Đúng người", LAN_ID, decided_on=None), "date_missing"),
        (decision(1, "Đúng người", LAN_ID, decided_on="hôm qua"), "date_unparseable"),
        (decision(1, "Đúng người", LAN_ID, decided_on="01/07/2030"), "date_in_future"),
        (decision(1, "Có lẽ", LAN_ID), "unknown_decision"),
    ],
)
def test_a_decision_that_breaks_a_rule_is_rejected_with_the_reason(row_, reason):
    settled = settle(row_)
    assert outcomes(settled) == [("rejected", reason)]
    assert settled["reason"][0]
    assert LAN_ID not in settled["reason"][0]  # reasons never quote personal data


def test_two_different_decisions_on_one_day_conflict_and_neither_applies():
    settled = settle(decision(1, "Đúng người", LAN_ID), decision(1, "Đúng người", LAN_SISTER_ID))
    assert outcomes(settled) == [("conflict", "same_day_conflict")] * 2
    result = linked_with(decision(1, "Đúng người", LAN_ID), decision(1, "Đúng người", LAN_SISTER_ID))
    assert (row(result, 1)["match_status"], row(result, 1)["rule"]) == ("review", "REVIEW_CONFLICT")


def test_the_same_decision_written_twice_is_no_conflict():
    settled = settle(decision(1, "Đúng người", LAN_ID), decision(1, "Đúng người", LAN_ID))
    assert outcomes(settled) == [("applied", None)] * 2


def test_the_later_decision_wins():
    settled = settle(
        decision(1, "Đúng người", LAN_SISTER_ID, decided_on="20/06/2022"),  # a mistake ...
        decision(1, "Đúng người", LAN_ID, decided_on="26/06/2022"),  # ... put right a week later
    )
    assert outcomes(settled) == [("superseded", "later_decision"), ("applied", None)]


def test_not_this_person_holds_for_good_beside_a_later_decision():
    settled = settle(
        decision(1, "Không phải người này", LAN_SISTER_ID, decided_on="20/06/2022"),
        decision(1, "Chưa có trong CSDL dân cư", decided_on="26/06/2022"),
    )
    assert outcomes(settled) == [("applied", None), ("applied", None)]


def test_not_in_registry_lapses_once_a_newer_snapshot_is_in_force():
    nir = decision(3, "Chưa có trong CSDL dân cư", decided_on="20/06/2022")
    assert outcomes(settle(nir)) == [("applied", None)]
    assert outcomes(settle(nir, snapshot=date(2022, 6, 25))) == [("stale", "newer_snapshot")]


def test_a_link_goes_stale_when_the_person_left_a_newer_snapshot():
    departed = cccd(1950, "Nam", 99)
    link = decision(3, "Đúng người", departed, decided_on="20/06/2022")
    assert outcomes(settle(link, snapshot=date(2022, 6, 25))) == [("stale", "person_left_registry")]
    assert outcomes(settle(link)) == [("rejected", "unknown_person")]  # decided against this very snapshot


# --- the linkage honours them -----------------------------------------------------------------


def test_without_decisions_the_machine_decides():
    result = link_doses(BATCH, PEOPLE)
    assert [row(result, i)["match_status"] for i in (1, 2, 3, 4)] == ["review", "verified", "unmatched", "corrected"]
    assert set(result.matched["decided_by"]) == {"machine"}


def test_a_link_by_a_reviewer_links_the_record_and_says_who_decided():
    result = linked_with(decision(1, "Đúng người", LAN_ID))
    lan = row(result, 1)
    assert (lan["match_status"], lan["person_id"], lan["rule"], lan["decided_by"]) == (
        "corrected", LAN_ID, "REVIEW_LINK", "review")  # fmt: skip
    assert fixes(result, 1) == {"id_number": ("ID_MISSING", "confirmed")}  # the passport carries her ID


def test_a_reviewer_confirming_the_machines_link_leaves_it_verified():
    result = linked_with(decision(2, "Đúng người", TUAN_ID))
    tuan = row(result, 2)
    assert (tuan["match_status"], tuan["person_id"], tuan["rule"], tuan["decided_by"]) == (
        "verified", TUAN_ID, "REVIEW_LINK", "review")  # fmt: skip


def test_a_reviewer_link_with_recording_errors_is_corrected_with_confirmed_corrections():
    result = linked_with(decision(3, "Đúng người", TUAN_ID))  # Đặng Văn Khoa is in truth Võ Minh Tuấn (renamed)
    khoa = row(result, 3)
    assert (khoa["match_status"], khoa["person_id"], khoa["decided_by"]) == ("corrected", TUAN_ID, "review")
    assert {field: action for field, (_, action) in fixes(result, 3).items()} == {
        "full_name": "confirmed", "date_of_birth": "confirmed", "id_number": "confirmed"}  # fmt: skip


def test_not_in_registry_keeps_the_record_unmatched():
    result = linked_with(decision(1, "Chưa có trong CSDL dân cư"))
    lan = row(result, 1)
    assert (lan["match_status"], lan["person_id"], lan["rule"], lan["decided_by"]) == (
        "unmatched", None, "REVIEW_NOT_IN_REGISTRY", "review")  # fmt: skip


def test_not_this_person_undoes_an_automatic_link_and_it_is_never_made_again():
    result = linked_with(decision(2, "Không phải người này", TUAN_ID))  # a citizen: "this dose is not mine"
    tuan = row(result, 2)
    assert tuan["match_status"] in ("review", "unmatched")
    assert tuan["person_id"] is None and tuan["candidate_person_id"] != TUAN_ID
    assert fixes(result, 2) == {}
    # dose 2 of the same person is untouched
    assert row(result, 4)["person_id"] == TUAN_ID


def test_ruling_out_one_namesake_never_auto_links_the_other():
    result = linked_with(decision(1, "Không phải người này", LAN_SISTER_ID))
    lan = row(result, 1)
    assert (lan["match_status"], lan["candidate_person_id"]) == ("review", LAN_ID)
    assert lan["decided_by"] == "machine"


def test_duplicate_detection_runs_over_records_people_linked():
    batch = pl.concat([BATCH, doses(dose("Lê T. Lan", "1990-05-02", "Nữ", None, row=5))])  # dose 1 recorded twice
    rows = [{**decision(r, "Đúng người", LAN_ID), "review_row": r} for r in (1, 5)]
    settled = settle_decisions(pl.DataFrame(rows, schema=DECISION_ROW_SCHEMA), "79", batch.select("source_file", "source_row"),
                               PEOPLE.select("person_id"), SNAPSHOT, TODAY)  # fmt: skip
    result = link_doses(batch, PEOPLE, reviews=linkage_instructions(settled))
    assert [row(result, 1)["match_status"], row(result, 5)["match_status"]] == ["corrected", "duplicate"]
    assert row(result, 5)["person_id"] == LAN_ID


def test_decision_vocabulary_has_three_values():
    assert [d.value for d in Decision] == ["link", "not_in_registry", "not_this_person"]
