"""Typed parsing of export cells as polars expressions: dates, IDs, gender, vaccine, dose number."""

from __future__ import annotations

import polars as pl

_DMY = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$"
_YMD = r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00:00(?:\.0+)?)?$"
_YEAR = r"^(\d{4})$"
_SCIENTIFIC = r"^\d+(?:[.,]\d+)?[eE]\+?\d+$"
_ID_PUNCTUATION = r"[\s.\-,_/]"
EARLIEST_BIRTH_YEAR = 1900
"""Birth years before this are typing errors, not people."""

GENDER_VALUES = {"nam": "Nam", "m": "Nam", "1": "Nam", "nữ": "Nữ", "nu": "Nữ", "f": "Nữ", "0": "Nữ"}
"""Accepted spellings (case-folded) of the two registry genders."""


def calendar_date(cell: pl.Expr) -> pl.Expr:
    """DATE from dd/mm/yyyy (also d/m, '-' or '.') or yyyy-mm-dd; NULL when absent or not a real day."""
    dmy, ymd = cell.str.extract_groups(_DMY), cell.str.extract_groups(_YMD)
    iso = pl.coalesce(
        pl.format(
            "{}-{}-{}", dmy.struct.field("3"), dmy.struct.field("2").str.zfill(2), dmy.struct.field("1").str.zfill(2)
        ),
        pl.format(
            "{}-{}-{}", ymd.struct.field("1"), ymd.struct.field("2").str.zfill(2), ymd.struct.field("3").str.zfill(2)
        ),
    )
    return iso.str.to_date("%Y-%m-%d", strict=False)


def birth_date_columns(cell: pl.Expr, run_year: int) -> list[pl.Expr]:
    """date_of_birth ('yyyy-mm-dd' or year alone 'yyyy', never invented as 1 January) and its parts."""
    full = calendar_date(cell)
    year_only = cell.str.extract(_YEAR, 1).cast(pl.Int32)
    year = pl.coalesce(full.dt.year().cast(pl.Int32), year_only)
    plausible = year.is_between(EARLIEST_BIRTH_YEAR, run_year)
    return [
        pl.when(plausible)
        .then(pl.coalesce(full.dt.strftime("%Y-%m-%d"), year_only.cast(pl.String)))
        .alias("date_of_birth"),
        pl.when(plausible).then(year).alias("birth_year"),
        pl.when(plausible).then(full.dt.month().cast(pl.Int32)).alias("birth_month"),
        pl.when(plausible).then(full.dt.day().cast(pl.Int32)).alias("birth_day"),
    ]


def id_columns(cell: pl.Expr) -> list[pl.Expr]:
    """id_number (12-digit CCCD or 9-digit CMND), id_kind and id_issue; never 'repairs' a lossy value.

    Excel drops every leading zero: a CCCD born in provinces 01-09 starts '00' and comes back with
    10 digits, any other CCCD with 11, a CMND starting with 0 with 8. Padding those is safe; a value
    in scientific notation has lost digits and is flagged, never guessed.
    """
    cell = cell.str.replace(r"^(\d{6,12})\.0+$", "${1}")  # a number written by a spreadsheet as 79123456789.0
    digits = cell.str.replace_all(_ID_PUNCTUATION, "")
    is_scientific = cell.str.contains(_SCIENTIFIC)
    length = pl.when(~is_scientific & digits.str.contains(r"^\d+$")).then(digits.str.len_chars())
    kind = pl.when(length.is_between(10, 12)).then(pl.lit("cccd")).when(length.is_between(8, 9)).then(pl.lit("cmnd"))
    full_length = pl.when(kind == "cccd").then(12).otherwise(9)
    issue = (
        pl.when(cell.is_null())
        .then(pl.lit("missing"))
        .when(is_scientific)
        .then(pl.lit("scientific_notation"))
        .when(kind.is_null())
        .then(pl.lit("malformed"))
        .when(length < full_length)
        .then(pl.lit("leading_zero_restored"))
    )
    number = pl.when(kind.is_not_null()).then(digits.str.zfill(full_length))
    return [number.alias("id_number"), kind.alias("id_kind"), issue.alias("id_issue")]


def gender(cell: pl.Expr) -> pl.Expr:
    """'Nam'/'Nữ' from the spellings seen in exports; anything else is unknown (NULL), not an error."""
    return cell.str.to_lowercase().replace_strict(GENDER_VALUES, default=None, return_dtype=pl.String)


def dose_number(cell: pl.Expr) -> pl.Expr:
    """Integer dose number; '2.0' from spreadsheets counts, other text is NULL."""
    return cell.str.extract(r"^(\d{1,3})(?:\.0+)?$", 1).cast(pl.Int32)
