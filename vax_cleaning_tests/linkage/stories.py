"""Tiny builders so each linkage test reads like a story: who is in the registry, what the site wrote."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from vax_cleaning.linkage import LinkageResult, LinkageSettings, link_doses


def _parts(dob: str | None) -> tuple[int | None, int | None, int | None]:
    """'1985-03-04' -> (1985, 3, 4); '1985' -> (1985, None, None)."""
    if dob is None:
        return None, None, None
    if len(dob) == 4:
        return int(dob), None, None
    year, month, day = dob.split("-")
    return int(year), int(month), int(day)


def person(
    person_id: str,
    full_name: str,
    dob: str,
    gender: str,
    old_id: str | None = None,
    province: str = "79",
    address: str | None = None,
) -> dict[str, Any]:
    """One registry person (address: commune, district of permanent residence)."""
    year, month, day = _parts(dob)
    return {
        "person_id": person_id,
        "old_id": old_id,
        "full_name": full_name,
        "date_of_birth": dob,
        "birth_year": year,
        "birth_month": month,
        "birth_day": day,
        "gender": gender,
        "province_code": province,
        "address": address,
    }


def registry(*people: dict[str, Any]) -> pl.DataFrame:
    """A registry snapshot frame."""
    return pl.DataFrame(
        list(people),
        schema_overrides={
            "old_id": pl.String,
            "address": pl.String,
            "birth_year": pl.Int32,
            "birth_month": pl.Int32,
            "birth_day": pl.Int32,
        },
    )


def dose(
    full_name: str | None,
    dob: str | None,
    gender: str | None = None,
    id_number: str | None = None,
    *,
    vaccine: str = "AZ",
    on: str = "2021-08-01",
    dose_number: int = 1,
    file: str = "79/site1.csv",
    row: int | None = None,
    id_issue: str | None = None,
    id_raw: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """One dose record as ingestion delivers it."""
    year, month, day = _parts(dob)
    kind = {12: "cccd", 9: "cmnd"}.get(len(id_number)) if id_number else None
    return {
        "source_file": file,
        "source_row": row,
        "province_code": file.split("/")[0],
        "full_name": full_name,
        "date_of_birth": dob,
        "birth_year": year,
        "birth_month": month,
        "birth_day": day,
        "gender": gender,
        "id_number": id_number,
        "id_kind": kind,
        "id_issue": id_issue if id_issue else (None if id_number else "missing"),
        "id_raw": id_raw if id_raw is not None else id_number,
        "vaccine_code": vaccine,
        "dose_number": dose_number,
        "vaccination_date": date.fromisoformat(on),
        "phone": phone,
    }


def doses(*records: dict[str, Any]) -> pl.DataFrame:
    """A dose batch; rows without an explicit source_row are numbered 1, 2, ... per file."""
    counters: dict[str, int] = {}
    rows = []
    for record in records:
        counters[record["source_file"]] = counters.get(record["source_file"], 0) + 1
        rows.append({**record, "source_row": record["source_row"] or counters[record["source_file"]]})
    return pl.DataFrame(
        rows,
        schema_overrides={
            "source_row": pl.Int32,
            "birth_year": pl.Int32,
            "birth_month": pl.Int32,
            "birth_day": pl.Int32,
            "dose_number": pl.Int32,
            "full_name": pl.String,
            "date_of_birth": pl.String,
            "gender": pl.String,
            "id_number": pl.String,
            "id_kind": pl.String,
            "id_issue": pl.String,
            "id_raw": pl.String,
            "phone": pl.String,
        },
    )


def link(
    batch: pl.DataFrame,
    people: pl.DataFrame,
    settings: LinkageSettings | None = None,
    other_linked: pl.DataFrame | None = None,
    baseline: LinkageSettings | None = None,
) -> LinkageResult:
    """Run the linkage."""
    return link_doses(batch, people, settings, other_linked, baseline=baseline)


def row(result: LinkageResult, source_row: int = 1, source_file: str = "79/site1.csv") -> dict[str, Any]:
    """The matched row of one record, as a dict."""
    found = result.matched.filter((pl.col("source_file") == source_file) & (pl.col("source_row") == source_row))
    assert found.height == 1
    return found.row(0, named=True)


def fixes(result: LinkageResult, source_row: int = 1, source_file: str = "79/site1.csv") -> dict[str, tuple[str, str]]:
    """field -> (rule, action) of one record's corrections."""
    found = result.corrections.filter((pl.col("source_file") == source_file) & (pl.col("source_row") == source_row))
    return {r["field"]: (r["rule"], r["action"]) for r in found.iter_rows(named=True)}


def cccd(year: int, gender: str, serial: int, province: str = "079") -> str:
    """A well-formed CCCD: province, century+gender digit, 2-digit birth year, 6-digit serial."""
    digit = (year // 100 - 19) * 2 + (1 if gender == "Nữ" else 0)
    return f"{province}{digit}{year % 100:02d}{serial:06d}"
