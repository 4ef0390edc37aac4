"""Parsing rules for dates, IDs, gender and dose numbers, one readable example each."""

from datetime import date

import polars as pl
import pytest

from vax_cleaning.ingest import fields


def parse_birth(cell: str | None) -> dict:
    written = pl.DataFrame({"cell": [cell]}, schema={"cell": pl.String})
    return fields.with_birth_date(written, "cell", 2022).drop("cell").row(0, named=True)


def parse_id(cell: str | None) -> dict:
    written = pl.DataFrame({"cell": [cell]}, schema={"cell": pl.String})
    return fields.with_id(written, "cell").select("id_number", "id_kind", "id_issue").row(0, named=True)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("15/08/2021", date(2021, 8, 15)),
        ("5/8/2021", date(2021, 8, 5)),
        ("15-08-2021", date(2021, 8, 15)),
        ("15.08.2021", date(2021, 8, 15)),
        ("2021-08-15", date(2021, 8, 15)),
        ("2021-08-15 00:00:00", date(2021, 8, 15)),
        ("31/02/2021", None),
        ("15/13/2021", None),
        ("ngày 15", None),
        ("2021", None),
    ],
)
def test_vaccination_date_formats(cell, expected):
    assert pl.select(fields.calendar_date(pl.lit(cell))).item() == expected


def test_birth_date_year_alone_stays_year_alone():
    assert parse_birth("1948") == {"date_of_birth": "1948", "birth_year": 1948, "birth_month": None, "birth_day": None}


def test_birth_date_full():
    assert parse_birth("02/09/1945")["date_of_birth"] == "1945-09-02"


def test_impossible_birth_year_is_unknown_not_an_error():
    assert parse_birth("12/05/2090")["date_of_birth"] is None


@pytest.mark.parametrize(
    "cell, number, kind, issue",
    [
        ("079080001234", "079080001234", "cccd", None),
        ("079 080 001 234", "079080001234", "cccd", None),
        ("079.080.001.234", "079080001234", "cccd", None),
        ("79080001234", "079080001234", "cccd", "leading_zero_restored"),
        ("79080001234.0", "079080001234", "cccd", "leading_zero_restored"),
        ("1195000001", "001195000001", "cccd", "leading_zero_restored"),
        ("7.90800E+10", None, None, "scientific_notation"),
        ("7,9080E+10", None, None, "scientific_notation"),
        ("025123456", "025123456", "cmnd", None),
        ("25123456", "025123456", "cmnd", "leading_zero_restored"),
        ("12345", None, None, "malformed"),
        ("CCCD 0790", None, None, "malformed"),
        (None, None, None, "missing"),
    ],
)
def test_id_cleaning_never_invents_digits(cell, number, kind, issue):
    assert parse_id(cell) == {"id_number": number, "id_kind": kind, "id_issue": issue}


@pytest.mark.parametrize(
    "cell, expected",
    [("Nam", "Nam"), ("nữ", "Nữ"), ("M", "Nam"), ("F", "Nữ"), ("1", "Nam"), ("0", "Nữ"), ("?", None), (None, None)],
)
def test_gender_spellings(cell, expected):
    assert pl.select(fields.gender(pl.lit(cell, pl.String))).item() == expected


@pytest.mark.parametrize("cell, expected", [("2", 2), ("2.0", 2), ("mũi 2", None), ("", None)])
def test_dose_number(cell, expected):
    assert pl.select(fields.dose_number(pl.lit(cell))).item() == expected
