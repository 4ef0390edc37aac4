"""Eligibility: enough distinct vaccination dates for the primary series of the first vaccine."""

from __future__ import annotations

from datetime import date

import polars as pl

from vax_cleaning.linkage import passport_ready


def linked(*doses: tuple[str, str, int, str] | tuple[str, str, int, str, str]) -> pl.DataFrame:
    """(person_id, vaccination_date, dose_number, vaccine_code[, match_status]) rows."""
    rows = [
        {
            "person_id": d[0],
            "vaccination_date": date.fromisoformat(d[1]),
            "dose_number": d[2],
            "vaccine_code": d[3],
            "match_status": d[4] if len(d) > 4 else "verified",
        }
        for d in doses
    ]
    return pl.DataFrame(rows)


def eligibility(frame: pl.DataFrame) -> dict[str, tuple[int, bool]]:
    return {r["person_id"]: (r["doses_linked"], r["eligible"]) for r in passport_ready(frame).iter_rows(named=True)}


def test_two_doses_of_a_two_dose_vaccine_on_distinct_dates():
    assert eligibility(linked(("A", "2021-08-01", 1, "AZ"), ("A", "2021-09-01", 2, "AZ"))) == {"A": (2, True)}


def test_two_records_on_the_same_day_count_as_one_date():
    assert eligibility(linked(("A", "2021-08-01", 1, "AZ"), ("A", "2021-08-01", 2, "AZ"))) == {"A": (2, False)}


def test_single_dose_vaccine():
    assert eligibility(linked(("A", "2021-08-01", 1, "JJ"))) == {"A": (1, True)}


def test_mixed_schedule_counts():
    assert eligibility(linked(("A", "2021-08-01", 1, "AZ"), ("A", "2021-10-01", 2, "PF"))) == {"A": (2, True)}


def test_series_length_comes_from_the_earliest_dose():
    # Abdala (3 doses) first, then Pfizer: two dates are not enough.
    frame = linked(("A", "2021-08-01", 1, "AB"), ("A", "2021-09-01", 2, "PF"))
    assert eligibility(frame) == {"A": (2, False)}


def test_same_day_tie_broken_by_lower_dose_number():
    # Same first day: Janssen dose 1 beats Abdala dose 2, so one date suffices.
    frame = linked(("A", "2021-08-01", 2, "AB"), ("A", "2021-08-01", 1, "JJ"))
    assert eligibility(frame) == {"A": (2, True)}


def test_same_day_and_dose_number_tie_broken_by_vaccine_code():
    # AB sorts before JJ: Abdala's three doses are required.
    frame = linked(("A", "2021-08-01", 1, "JJ"), ("A", "2021-08-01", 1, "AB"), ("A", "2021-09-01", 2, "AB"))
    assert eligibility(frame) == {"A": (3, False)}


def test_only_verified_and_corrected_doses_count():
    frame = linked(
        ("A", "2021-08-01", 1, "AZ", "corrected"),
        ("A", "2021-09-01", 2, "AZ", "duplicate"),
        ("A", "2021-10-01", 2, "AZ", "review"),
        ("B", "2021-08-01", 1, "JJ", "duplicate"),
    )
    assert eligibility(frame) == {"A": (1, False)}
