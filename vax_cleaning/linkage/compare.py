"""Comparison levels per field, Splink style: each pair of (record, registry person) gets one level per field.

Levels are ordered integers (higher = stronger agreement, -1 = a side is missing) with a label
used in charts, in `matched_records` and by reviewers. The pair frame has the record's columns
prefixed ``r_`` and the registry person's prefixed ``p_`` (see `block.gather_pairs`).
String distances are computed for whole candidate-pair arrays with `rapidfuzz.process.cpdist`.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import polars as pl
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist


class Level(IntEnum):
    """Base of the level enums: the label is the lowercase member name."""

    @property
    def label(self) -> str:
        """Label shown in outputs (e.g. 'exact_without_diacritics')."""
        return self.name.lower()

    @classmethod
    def labels(cls) -> dict[int, str]:
        """int -> label, for turning a level column into text."""
        return {int(member): member.label for member in cls}


class NameLevel(Level):
    """Full name of the record vs the registry person."""

    NULL = -1
    DIFFERENT = 0
    MIDDLE_NAME_MISSING = 1
    TYPO = 2
    EXACT_WITHOUT_DIACRITICS = 3
    EXACT = 4


class DobLevel(Level):
    """Date of birth of the record vs the registry person."""

    NULL = -1
    DIFFERENT = 0
    YEAR_DIFFERS = 1
    PLACEHOLDER_0101 = 2
    YEAR_OFF_BY_ONE = 3
    ONE_DIGIT_OFF = 4
    DAY_MONTH_SWAPPED = 5
    YEAR_ONLY_AGREES = 6
    EXACT = 7


class GenderLevel(Level):
    """Gender of the record vs the registry person."""

    NULL = -1
    DISAGREE = 0
    AGREE = 1


class ResidenceLevel(Level):
    """Province of the vaccination site vs the person's province of permanent residence."""

    NULL = -1
    OTHER_PROVINCE = 0
    SAME_PROVINCE = 1


class IdLevel(Level):
    """The record's ID vs the person's person_id (CCCD) or old_id (CMND)."""

    NULL = -1
    DIFFERENT = 0
    NEAR_MISS = 1
    EXACT_CMND = 2
    EXACT_CCCD = 3


class IdEmbeddedLevel(Level):
    """The birth year and gender written into the record's own CCCD vs the record's DOB and gender."""

    NULL = -1
    BOTH_DISAGREE = 0
    GENDER_DISAGREES = 1
    YEAR_DISAGREES = 2
    AGREES = 3


def osa_distance(left: pl.Series, right: pl.Series, cutoff: int, only: pl.Series | None = None) -> pl.Series:
    """Optimal-string-alignment distance per pair (1 substitution, insertion, deletion or adjacent swap = 1).

    Computed in one `cpdist` call over the pair arrays (no Python loop per pair); NULL where a
    side is NULL or `only` is False; distances above `cutoff` come back as `cutoff + 1`
    (we only need to know 'too far').
    """
    wanted = (left.is_not_null() & right.is_not_null()).fill_null(False)
    if only is not None:
        wanted = wanted & only.fill_null(False)
    out = np.full(len(left), np.nan)
    if wanted.any():
        mask = wanted.to_numpy()
        out[mask] = cpdist(
            left.filter(wanted).to_list(),
            right.filter(wanted).to_list(),
            scorer=OSA.distance,
            score_cutoff=cutoff,
            workers=-1,
        )
    return pl.Series(out).fill_nan(None).cast(pl.Int32)


def name_level(typo_max_edits: int, typo_min_similarity: float) -> pl.Expr:
    """Name level; needs the pair column `name_distance` (OSA on the diacritic-free keys).

    `typo`: keys within `typo_max_edits` edits AND similarity 1 - distance/longer length >=
    `typo_min_similarity` (also covers wrong diacritics: equal keys, different canonical names).
    `middle_name_missing`: same family and given name, one middle-name sequence is a
    contiguous part of the other's (``Nguyễn Hùng`` / ``Nguyễn Văn Hùng``).
    """
    longer = pl.max_horizontal(pl.col("r_name_key").str.len_chars(), pl.col("p_name_key").str.len_chars())
    similarity = 1 - pl.col("name_distance") / longer
    r_longer = pl.col("r_name_token_count") > pl.col("p_name_token_count")
    long_middle = pl.when(r_longer).then(pl.col("r_middle_key")).otherwise(pl.col("p_middle_key"))
    short_middle = pl.when(r_longer).then(pl.col("p_middle_key")).otherwise(pl.col("r_middle_key"))
    middle_omitted = (short_middle == "") | pl.concat_str(pl.lit(" "), long_middle, pl.lit(" ")).str.contains(
        pl.concat_str(pl.lit(" "), short_middle, pl.lit(" ")), literal=True
    )
    return (
        pl.when(pl.col("r_name_canon").is_null() | pl.col("p_name_canon").is_null())
        .then(pl.lit(NameLevel.NULL))
        .when(pl.col("r_name_canon") == pl.col("p_name_canon"))
        .then(pl.lit(NameLevel.EXACT))
        .when((pl.col("r_name_key") == pl.col("p_name_key")) & ~pl.col("r_name_has_diacritics"))
        .then(pl.lit(NameLevel.EXACT_WITHOUT_DIACRITICS))
        .when((pl.col("name_distance") <= typo_max_edits) & (similarity >= typo_min_similarity))
        .then(pl.lit(NameLevel.TYPO))
        .when(
            (pl.col("r_family_key") == pl.col("p_family_key"))
            & (pl.col("r_given_key") == pl.col("p_given_key"))
            & (pl.col("r_name_token_count") != pl.col("p_name_token_count"))
            & middle_omitted
        )
        .then(pl.lit(NameLevel.MIDDLE_NAME_MISSING))
        .otherwise(pl.lit(NameLevel.DIFFERENT))
        .cast(pl.Int8)
    )


def _date_number(prefix: str) -> pl.Expr:
    """yyyymmdd as one integer, to count differing digits."""
    return (
        pl.col(f"{prefix}birth_year").cast(pl.Int64) * 10_000
        + pl.col(f"{prefix}birth_month").cast(pl.Int64) * 100
        + pl.col(f"{prefix}birth_day").cast(pl.Int64)
    )


def _digits_differing(left: pl.Expr, right: pl.Expr, width: int = 8) -> pl.Expr:
    """How many of the `width` decimal digits of two numbers differ (Hamming distance on yyyymmdd)."""
    return pl.sum_horizontal(
        [((left // 10**k) % 10 != (right // 10**k) % 10).cast(pl.Int32) for k in range(width)]
    )


def dob_level() -> pl.Expr:
    """Date-of-birth level, most specific explanation first: a 01/01 placeholder or a year off by
    one is also often 'one digit off', but those are the likelier recording errors."""
    ry, rm, rd = (pl.col(f"r_birth_{p}") for p in ("year", "month", "day"))
    py, pm, pd = (pl.col(f"p_birth_{p}") for p in ("year", "month", "day"))
    r_full = rm.is_not_null() & rd.is_not_null()
    p_full = pm.is_not_null() & pd.is_not_null()
    both_full = r_full & p_full
    same_year = ry == py
    return (
        pl.when(ry.is_null() | py.is_null())
        .then(pl.lit(DobLevel.NULL))
        .when((both_full & same_year & (rm == pm) & (rd == pd)) | (~r_full & ~p_full & same_year))
        .then(pl.lit(DobLevel.EXACT))
        .when((r_full != p_full) & same_year)
        .then(pl.lit(DobLevel.YEAR_ONLY_AGREES))
        .when(both_full & same_year & (rm == 1) & (rd == 1))
        .then(pl.lit(DobLevel.PLACEHOLDER_0101))
        .when(both_full & same_year & (rm == pd) & (rd == pm))
        .then(pl.lit(DobLevel.DAY_MONTH_SWAPPED))
        .when(((ry - py).abs() == 1) & ((both_full & (rm == pm) & (rd == pd)) | ~both_full))
        .then(pl.lit(DobLevel.YEAR_OFF_BY_ONE))
        .when(both_full & (_digits_differing(_date_number("r_"), _date_number("p_")) == 1))
        .then(pl.lit(DobLevel.ONE_DIGIT_OFF))
        .when(both_full & (rm == pm) & (rd == pd))
        .then(pl.lit(DobLevel.YEAR_DIFFERS))
        .otherwise(pl.lit(DobLevel.DIFFERENT))
        .cast(pl.Int8)
    )


def gender_level() -> pl.Expr:
    """Gender level: agree / disagree / null."""
    return (
        pl.when(pl.col("r_gender").is_null() | pl.col("p_gender").is_null())
        .then(pl.lit(GenderLevel.NULL))
        .when(pl.col("r_gender") == pl.col("p_gender"))
        .then(pl.lit(GenderLevel.AGREE))
        .otherwise(pl.lit(GenderLevel.DISAGREE))
        .cast(pl.Int8)
    )


def residence_level() -> pl.Expr:
    """Residence level: most people were vaccinated in their home province, namesakes mostly live elsewhere."""
    return (
        pl.when(pl.col("r_province_code").is_null() | pl.col("p_province_code").is_null())
        .then(pl.lit(ResidenceLevel.NULL))
        .when(pl.col("r_province_code") == pl.col("p_province_code"))
        .then(pl.lit(ResidenceLevel.SAME_PROVINCE))
        .otherwise(pl.lit(ResidenceLevel.OTHER_PROVINCE))
        .cast(pl.Int8)
    )


def id_comparand() -> pl.Expr:
    """The registry value the record's ID is compared with: person_id for a CCCD, old_id for a CMND."""
    return pl.when(pl.col("r_id_kind") == "cccd").then(pl.col("p_person_id")).otherwise(pl.col("p_old_id"))


def id_level() -> pl.Expr:
    """ID level; needs the pair column `id_distance` (OSA between the record's ID and `id_comparand`)."""
    comparand = id_comparand()
    return (
        pl.when(pl.col("r_id_number").is_null() | comparand.is_null())
        .then(pl.lit(IdLevel.NULL))
        .when((pl.col("r_id_number") == comparand) & (pl.col("r_id_kind") == "cccd"))
        .then(pl.lit(IdLevel.EXACT_CCCD))
        .when(pl.col("r_id_number") == comparand)
        .then(pl.lit(IdLevel.EXACT_CMND))
        .when(pl.col("id_distance") == 1)
        .then(pl.lit(IdLevel.NEAR_MISS))
        .otherwise(pl.lit(IdLevel.DIFFERENT))
        .cast(pl.Int8)
    )


def id_embedded_level() -> pl.Expr:
    """Record-level check: does the record's CCCD encode the record's own birth year and gender?

    A CCCD whose embedded year contradicts the written DOB is typically a relative's ID.
    Works on record features (no prefix): id_birth_year, id_gender, birth_year, gender.
    """
    year_ok = pl.col("id_birth_year") == pl.col("birth_year")
    gender_ok = pl.col("id_gender") == pl.col("gender")
    return (
        pl.when(pl.col("id_birth_year").is_null() | (pl.col("birth_year").is_null() & pl.col("gender").is_null()))
        .then(pl.lit(IdEmbeddedLevel.NULL))
        .when(year_ok.fill_null(True) & gender_ok.fill_null(True))
        .then(pl.lit(IdEmbeddedLevel.AGREES))
        .when(~year_ok.fill_null(True) & ~gender_ok.fill_null(True))
        .then(pl.lit(IdEmbeddedLevel.BOTH_DISAGREE))
        .when(~year_ok.fill_null(True))
        .then(pl.lit(IdEmbeddedLevel.YEAR_DISAGREES))
        .otherwise(pl.lit(IdEmbeddedLevel.GENDER_DISAGREES))
        .cast(pl.Int8)
    )


def compare_pairs(pairs: pl.DataFrame, typo_max_edits: int, typo_min_similarity: float) -> pl.DataFrame:
    """Add `name_level`, `dob_level`, `gender_level`, `residence_level`, `id_level` (Int8) to a gathered pair frame."""
    keys_differ = pairs["r_name_key"] != pairs["p_name_key"]
    name_distance = osa_distance(pairs["r_name_key"], pairs["p_name_key"], typo_max_edits, only=keys_differ)
    comparand = pairs.select(id_comparand()).to_series()
    id_distance = osa_distance(pairs["r_id_number"], comparand, 1, only=pairs["r_id_number"] != comparand)
    return (
        pairs.with_columns(
            name_distance=pl.when(~keys_differ).then(pl.lit(0, pl.Int32)).otherwise(name_distance),
            id_distance=id_distance,
        )
        .with_columns(
            name_level=name_level(typo_max_edits, typo_min_similarity),
            dob_level=dob_level(),
            gender_level=gender_level(),
            residence_level=residence_level(),
            id_level=id_level(),
        )
        .drop("name_distance", "id_distance")
    )


def level_labels(column: str, levels: type[Level]) -> pl.Expr:
    """Int level column -> its text label (NULL stays NULL)."""
    return pl.col(column).replace_strict(levels.labels(), default=None, return_dtype=pl.String)
