"""Typed parsing of export cells as polars expressions: dates, IDs, gender, vaccine, dose number."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

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


def with_birth_date(frame: FrameT, cell: str, run_year: int) -> FrameT:
    """date_of_birth ('yyyy-mm-dd' or year alone 'yyyy', never invented as 1 January) and its parts, from text `cell`.

    In stages: the date is parsed once and its parts read from the parsed column (as expressions over the parse,
    each part would parse the text again: ~5x slower on millions of rows). A column named date_of_birth is replaced.
    """
    staged = frame.with_columns(
        _full=calendar_date(pl.col(cell)), _year_only=pl.col(cell).str.extract(_YEAR, 1).cast(pl.Int32)
    ).with_columns(_year=pl.coalesce(pl.col("_full").dt.year().cast(pl.Int32), pl.col("_year_only")))
    plausible = pl.col("_year").is_between(EARLIEST_BIRTH_YEAR, run_year)
    return staged.with_columns(
        pl.when(plausible)
        .then(pl.coalesce(pl.col("_full").cast(pl.String), pl.col("_year_only").cast(pl.String)))
        .alias("date_of_birth"),
        pl.when(plausible).then(pl.col("_year")).alias("birth_year"),
        pl.when(plausible).then(pl.col("_full").dt.month().cast(pl.Int32)).alias("birth_month"),
        pl.when(plausible).then(pl.col("_full").dt.day().cast(pl.Int32)).alias("birth_day"),
    ).drop("_full", "_year_only", "_year")


def with_id(frame: FrameT, cell: str) -> FrameT:
    """id_number (12-digit CCCD or 9-digit CMND), id_kind and id_issue from text `cell`; never 'repairs' a lossy value.

    Excel drops every leading zero: a CCCD born in provinces 01-09 starts '00' and comes back with
    10 digits, any other CCCD with 11, a CMND starting with 0 with 8. Padding those is safe; a value
    in scientific notation has lost digits and is flagged, never guessed. In stages, like `with_birth_date`.
    """
    cell_value = pl.col(cell).str.replace(r"^(\d{6,12})\.0+$", "${1}")  # a number a spreadsheet wrote as 79123456789.0
    staged = frame.with_columns(_cell=cell_value).with_columns(
        _digits=pl.col("_cell").str.replace_all(_ID_PUNCTUATION, ""),
        _scientific=pl.col("_cell").str.contains(_SCIENTIFIC),
    )
    digits, is_scientific = pl.col("_digits"), pl.col("_scientific")
    length = pl.when(~is_scientific & digits.str.contains(r"^\d+$")).then(digits.str.len_chars())
    kind = pl.when(length.is_between(10, 12)).then(pl.lit("cccd")).when(length.is_between(8, 9)).then(pl.lit("cmnd"))
    staged = staged.with_columns(_length=length, id_kind=kind)
    kind, length = pl.col("id_kind"), pl.col("_length")
    full_length = pl.when(kind == "cccd").then(12).otherwise(9)
    issue = (
        pl.when(pl.col("_cell").is_null())
        .then(pl.lit("missing"))
        .when(is_scientific)
        .then(pl.lit("scientific_notation"))
        .when(kind.is_null())
        .then(pl.lit("malformed"))
        .when(length < full_length)
        .then(pl.lit("leading_zero_restored"))
    )
    return staged.with_columns(
        id_number=pl.when(kind.is_not_null()).then(digits.str.zfill(full_length)), id_issue=issue
    ).drop("_cell", "_digits", "_scientific", "_length")


def gender(cell: pl.Expr) -> pl.Expr:
    """'Nam'/'Nữ' from the spellings seen in exports; anything else is unknown (NULL), not an error."""
    return cell.str.to_lowercase().replace_strict(GENDER_VALUES, default=None, return_dtype=pl.String)


def dose_number(cell: pl.Expr) -> pl.Expr:
    """Integer dose number; '2.0' from spreadsheets counts, other text is NULL."""
    return cell.str.extract(r"^(\d{1,3})(?:\.0+)?$", 1).cast(pl.Int32)
