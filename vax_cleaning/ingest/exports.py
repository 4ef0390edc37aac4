"""A province's dose exports: every landed file read, typed, and split into accepted and rejected records."""

from __future__ import annotations

import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from vax_cleaning.ingest import fields
from vax_cleaning.ingest.files import SUPPORTED_SUFFIXES, RawRecords, UnreadableFileError, read_records
from vax_cleaning.ingest.headers import EXPORT_COLUMNS, REQUIRED_COLUMNS
from vax_cleaning.reference import CAMPAIGN_START, alias_key, province_names, vaccine_aliases

ACCEPTED_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int32(),
    "province_code": pl.String(),
    "full_name": pl.String(),
    "date_of_birth": pl.String(),
    "birth_year": pl.Int32(),
    "birth_month": pl.Int32(),
    "birth_day": pl.Int32(),
    "date_of_birth_raw": pl.String(),
    "gender": pl.String(),
    "id_number": pl.String(),
    "id_kind": pl.String(),
    "id_issue": pl.String(),
    "id_raw": pl.String(),
    "phone": pl.String(),
    "address": pl.String(),
    "vaccine_code": pl.String(),
    "vaccine_raw": pl.String(),
    "dose_number": pl.Int32(),
    "vaccination_date": pl.Date(),
    "lot_number": pl.String(),
    "facility": pl.String(),
}
"""Columns of `raw_dose_exports` (docs/internal-tables.md)."""

REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_row": pl.Int32(),
    "province_code": pl.String(),
    "reason_code": pl.String(),
    "reason": pl.String(),
}
"""Columns of `rejected_rows`: the contract's three plus the province and a stable reason code."""

FILE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "province_code": pl.String(),
    "format": pl.String(),
    "records": pl.Int64(),
    "accepted": pl.Int64(),
    "rejected": pl.Int64(),
    "problem": pl.String(),
}
"""Per-file inventory, so a data officer can see what each landed file contributed."""

READER_THREADS = min(8, 2 * (os.cpu_count() or 1))
"""Files read at once: one file's Python decoding overlaps others' polars work (measured best at 2 per core)."""


@dataclass(frozen=True)
class ProvinceExports:
    """Result of ingesting one province: accepted records, rejected records, and a per-file inventory."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame
    files: pl.DataFrame


def source_file_name(path: Path, exports_dir: Path) -> str:
    """Contract identity: path relative to exports/, '/' separators, NFC."""
    return unicodedata.normalize("NFC", path.relative_to(exports_dir).as_posix())


def export_files(exports_dir: Path, province_code: str) -> tuple[list[Path], list[Path]]:
    """(supported files, other files) directly under exports/<PP>/, in a stable order."""
    folder = exports_dir / province_code
    if not folder.is_dir():
        return [], []
    entries = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    supported = [p for p in entries if p.suffix.lower() in SUPPORTED_SUFFIXES]
    return supported, [p for p in entries if p not in supported]


def unknown_province_folders(exports_dir: Path) -> list[str]:
    """Folders under exports/ that are not one of the 63 province codes (their files belong to no province)."""
    if not exports_dir.is_dir():
        return []
    return sorted(p.name for p in exports_dir.iterdir() if p.is_dir() and p.name not in province_names())


def provinces_with_exports(exports_dir: Path) -> list[str]:
    """Province codes that have at least one landed file."""
    return [code for code in province_names() if export_files(exports_dir, code)[0]]


def ingest_province(exports_dir: Path, province_code: str, today: date) -> ProvinceExports:
    """Read every export file of the province; one unreadable file never loses the others."""
    files, others = export_files(exports_dir, province_code)
    with ThreadPoolExecutor(max_workers=READER_THREADS) as pool:  # decoding holds the GIL, polars work does not
        per_file = list(pool.map(lambda path: _ingest_file(path, exports_dir, province_code, today), files))
    inventory = [row for _, _, row in per_file]
    for path in others:
        inventory.append(
            _inventory_row(
                source_file_name(path, exports_dir),
                province_code,
                path.suffix,
                0,
                0,
                0,
                "unsupported file type: not ingested",
            )
        )
    return ProvinceExports(
        accepted=pl.concat([pl.DataFrame(schema=ACCEPTED_SCHEMA), *(accepted for accepted, _, _ in per_file)]),
        rejected=pl.concat([pl.DataFrame(schema=REJECTED_SCHEMA), *(rejected for _, rejected, _ in per_file)]),
        files=pl.concat([pl.DataFrame(schema=FILE_SCHEMA), *inventory]),
    )


def _ingest_file(
    path: Path, exports_dir: Path, province_code: str, today: date
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(accepted, rejected, inventory row) of one file; an unreadable file is one rejection, not an exception."""
    source_file = source_file_name(path, exports_dir)
    try:
        raw = read_records(path)
    except UnreadableFileError as error:
        return (
            pl.DataFrame(schema=ACCEPTED_SCHEMA),
            _whole_file_rejection(source_file, province_code, str(error)),
            _inventory_row(source_file, province_code, path.suffix, 0, 0, 1, str(error)),
        )
    accepted, rejected = classify_records(raw, source_file, province_code, today)
    inventory = _inventory_row(
        source_file, province_code, raw.encoding, raw.frame.height, accepted.height, rejected.height, None
    )
    return accepted, rejected, inventory


def classify_records(
    raw: RawRecords, source_file: str, province_code: str, today: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type every record, then split: a record is rejected for the first contract reason that applies."""
    missing = [c for c in EXPORT_COLUMNS if c not in raw.columns]
    typed = (
        raw.frame.rename({"row_number": "source_row"})
        .with_columns([pl.lit(None, pl.String).alias(c) for c in missing])
        .with_columns(
            source_file=pl.lit(source_file),
            province_code=pl.lit(province_code),
            parsed_vaccination_date=fields.calendar_date(pl.col("vaccination_date")),
            parsed_dose_number=fields.dose_number(pl.col("dose_number")),
            alias_key=alias_key(pl.col("vaccine")),
        )
        .join(vaccine_aliases(), on="alias_key", how="left")
        .with_columns(_rejection(missing, today))
    )
    rejected = typed.filter(pl.col("reason_code").is_not_null()).select(list(REJECTED_SCHEMA))
    accepted = typed.filter(pl.col("reason_code").is_null()).select(
        "source_file",
        "source_row",
        "province_code",
        "full_name",
        *fields.birth_date_columns(pl.col("date_of_birth"), today.year),
        *fields.id_columns(pl.col("id_number")),
        date_of_birth_raw="date_of_birth",
        gender=fields.gender(pl.col("gender")),
        id_raw="id_number",
        phone="phone",
        address="address",
        vaccine_code="vaccine_code",
        vaccine_raw="vaccine",
        dose_number="parsed_dose_number",
        vaccination_date="parsed_vaccination_date",
        lot_number="lot_number",
        facility="facility",
    )
    return accepted.select(list(ACCEPTED_SCHEMA)).cast(ACCEPTED_SCHEMA), rejected.sort("source_row").cast(
        REJECTED_SCHEMA
    )


def _rejection(missing_columns: list[str], today: date) -> list[pl.Expr]:
    """reason_code and a human-readable reason (no personal data: only non-identifying fields are quoted)."""
    missing_required = [c for c in REQUIRED_COLUMNS if c in missing_columns]
    vaccination = pl.col("parsed_vaccination_date")
    rules: list[tuple[pl.Expr, str, pl.Expr]] = [
        (pl.col("is_blank"), "blank", pl.lit("blank record")),
        (
            pl.col("n_fields") != pl.col("header_width"),
            "field_count",
            pl.format("row has {} fields, header has {}", "n_fields", "header_width"),
        ),
        (
            pl.lit(bool(missing_required)),
            "missing_column",
            pl.lit(f"file header has no {', '.join(missing_required)} column"),
        ),
        (vaccination.is_null(), "vaccination_date_unparseable", pl.lit("vaccination date missing or not a date")),
        (
            vaccination < date.fromisoformat(CAMPAIGN_START),
            "vaccination_date_out_of_range",
            pl.lit(f"vaccination date before the campaign began ({CAMPAIGN_START})"),
        ),
        (vaccination > today, "vaccination_date_out_of_range", pl.lit("vaccination date after the day of the run")),
        (
            pl.col("vaccine_code").is_null(),
            "unknown_vaccine",
            pl.format("vaccine '{}' matches no name or alias", pl.col("vaccine").fill_null("")),
        ),
        (
            ~pl.col("parsed_dose_number").is_between(1, 6).fill_null(False),
            "dose_number_out_of_range",
            pl.format("dose number '{}' is not 1..6", pl.col("dose_number").fill_null("")),
        ),
    ]
    code, reason = pl.when(rules[0][0]).then(pl.lit(rules[0][1])), pl.when(rules[0][0]).then(rules[0][2])
    for condition, rule_code, text in rules[1:]:
        code, reason = code.when(condition).then(pl.lit(rule_code)), reason.when(condition).then(text)
    return [code.otherwise(None).alias("reason_code"), reason.otherwise(None).alias("reason")]


def _whole_file_rejection(source_file: str, province_code: str, problem: str) -> pl.DataFrame:
    """An unreadable file is one rejected entry (source_row 0 = the whole file) telling the site to re-export."""
    return pl.DataFrame(
        {
            "source_file": [source_file],
            "source_row": [0],
            "province_code": [province_code],
            "reason_code": ["unreadable_file"],
            "reason": [f"file could not be read ({problem}); ask the site to re-export it"],
        },
        schema=REJECTED_SCHEMA,
    )


def _inventory_row(
    source_file: str,
    province_code: str,
    file_format: str,
    records: int,
    accepted: int,
    rejected: int,
    problem: str | None,
) -> pl.DataFrame:
    """One line of the per-file inventory."""
    return pl.DataFrame(
        {
            "source_file": [source_file],
            "province_code": [province_code],
            "format": [file_format],
            "records": [records],
            "accepted": [accepted],
            "rejected": [rejected],
            "problem": [problem],
        },
        schema=FILE_SCHEMA,
    )
