"""Comparison levels per field, Splink style: each pair of (record, registry person) gets one level per field.

A comparison is an enum of levels (`NameLevel`, `DobLevel`, ...) plus the expression that picks
one. Like a Splink comparison, the levels are listed in the order they are tested: the null level
first (a side is missing), then exact agreement, then ever weaker or more specific explanations,
and last the *else* level, taken when nothing above holds. Each level carries its label (the
lowercase member name): the text of `matched_records.name_level` etc., of charts, of reviewers'
workbooks, and the key of its weight in `settings.LinkageSettings` -- spelled nowhere else.

The pair frame has the record's columns prefixed ``r_`` and the registry person's prefixed ``p_``
(see `block.gather_pairs`). String distances are computed for whole candidate-pair arrays with
`rapidfuzz.process.cpdist`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, unique
from typing import TypeVar

import numpy as np
import polars as pl
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist


class Level(IntEnum):
    """Base of the level enums: one comparison's levels, in the order they are tested.

    Declaration order is evaluation order (Splink's comparison levels): `NULL` first, then the
    exact level, then weaker or more specific explanations, the else level last; the first level
    whose condition holds is the pair's level (see `comparison`). Values are fixed integers,
    stored in pair frames and compared with ``>=``: -1 = null, 0 = else, higher = stronger
    agreement. The label is the lowercase member name.
    """

    @property
    def label(self) -> str:
        """Label shown in outputs (e.g. 'exact_without_diacritics')."""
        return self.name.lower()

    @classmethod
    def labels(cls) -> dict[int, str]:
        """int -> label, for turning a level column into text."""
        return {int(member): member.label for member in cls}

    @classmethod
    def else_level(cls) -> Level:
        """The level taken when no other level's condition holds (the last one declared)."""
        return list(cls)[-1]


L = TypeVar("L", bound=Level)


@unique
class NameLevel(Level):
    """Full name of the record vs the registry person."""

    NULL = -1
    """Either name is missing."""
    EXACT = 4
    """Equal canonical names (case, spaces, Unicode form and tone placement do not count)."""
    EXACT_WITHOUT_DIACRITICS = 3
    """Equal diacritic-free keys, the record typed without any diacritics."""
    TYPO = 2
    """Keys within `typo_max_edits` OSA edits and `typo_min_similarity`, or equal keys with other diacritics."""
    MIDDLE_NAME_MISSING = 1
    """Same family and given name, one side's middle names a contiguous part of the other's."""
    DIFFERENT = 0
    """Else."""


@unique
class DobLevel(Level):
    """Date of birth of the record vs the registry person; the most specific explanation first
    (a 01/01 placeholder or a year off by one is often also 'one digit off')."""

    NULL = -1
    """Either birth year is missing."""
    EXACT = 7
    """Same full date, or both year-only with the same year."""
    YEAR_ONLY_AGREES = 6
    """One side has the year only, and the years agree."""
    PLACEHOLDER_0101 = 2
    """Same year, the record written 01/01."""
    DAY_MONTH_SWAPPED = 5
    """Same year, day and month swapped."""
    YEAR_OFF_BY_ONE = 3
    """Years one apart, day and month equal (or not both full dates)."""
    ONE_DIGIT_OFF = 4
    """Full dates differing in one digit of yyyymmdd."""
    YEAR_DIFFERS = 1
    """Day and month right, the year wrong."""
    DIFFERENT = 0
    """Else."""


@unique
class GenderLevel(Level):
    """Gender of the record vs the registry person."""

    NULL = -1
    """Either gender is missing."""
    AGREE = 1
    """Same gender."""
    DISAGREE = 0
    """Else."""


@unique
class ResidenceLevel(Level):
    """Province of the vaccination site vs the person's province of permanent residence."""

    NULL = -1
    """Either province is missing."""
    SAME_PROVINCE = 1
    """Vaccinated in the province of residence."""
    OTHER_PROVINCE = 0
    """Else."""


@unique
class AddressLevel(Level):
    """The address written on the record vs the registry's address of permanent residence (commune, district)."""

    NULL = -1
    """Either address is missing or has no commune and district part."""
    SAME_COMMUNE = 2
    """Same commune and district, up to case, diacritics, administrative words ('Xã', 'P.', 'Huyện') and spacing."""
    SAME_DISTRICT = 1
    """Same district, another commune."""
    DIFFERENT = 0
    """Else."""


@unique
class IdLevel(Level):
    """The record's ID vs the person's person_id (CCCD) or old_id (CMND)."""

    NULL = -1
    """No usable ID on the record, or the person has no ID of that kind."""
    EXACT_CCCD = 3
    """The record's CCCD is the person_id."""
    EXACT_CMND = 2
    """The record's CMND is the person's old_id."""
    NEAR_MISS = 1
    """One OSA edit apart (a wrong digit, two adjacent digits swapped)."""
    DIFFERENT = 0
    """Else."""


@unique
class IdEmbeddedLevel(Level):
    """The birth year and gender written into the record's own CCCD vs the record's DOB and gender."""

    NULL = -1
    """No CCCD birth year, or neither a birth year nor a gender on the record."""
    AGREES = 3
    """Year and gender agree (or the record lacks the one not compared)."""
    YEAR_DISAGREES = 2
    """Only the year disagrees: typically a relative's ID."""
    GENDER_DISAGREES = 1
    """Only the gender disagrees."""
    BOTH_DISAGREE = 0
    """Else."""


LEVEL_COLUMNS: Mapping[str, type[Level]] = {
    "name_level": NameLevel,
    "dob_level": DobLevel,
    "gender_level": GenderLevel,
    "residence_level": ResidenceLevel,
    "address_level": AddressLevel,
    "id_level": IdLevel,
    "id_embedded_level": IdEmbeddedLevel,
}
"""The level columns of `matched_records` and the comparison each one reports."""


def check_levels(levels: type[Level]) -> None:
    """Splink's shape, checked: null (-1) first, the exact (strongest) level second, the else level (0) last."""
    members = list(levels)
    problems = []
    if members[0].name != "NULL" or members[0] != -1:
        problems.append("the first level must be NULL = -1")
    if members[1] != max(members):
        problems.append("the second level must be the strongest (exact) one")
    if members[-1] != 0:
        problems.append("the last (else) level must be 0")
    if problems:
        raise TypeError(f"{levels.__name__}: " + "; ".join(problems))


for _levels in LEVEL_COLUMNS.values():
    check_levels(_levels)
del _levels


def comparison(levels: type[L], conditions: Mapping[L, pl.Expr]) -> pl.Expr:
    """Level expression (Int8) of one comparison: the first level whose condition holds, else the else level.

    `conditions` gives every level but the else level, in the enum's declaration order; checked,
    so a level added to an enum without its condition, or tested out of order, fails here.
    """
    expected = list(levels)[:-1]
    if list(conditions) != expected:
        raise ValueError(
            f"{levels.__name__} conditions must be given for {[level.label for level in expected]} in this order, "
            f"got {[level.label for level in conditions]}"
        )
    (first, condition), *rest = conditions.items()
    expression = pl.when(condition).then(pl.lit(first))
    for level, condition in rest:
        expression = expression.when(condition).then(pl.lit(level))
    return expression.otherwise(pl.lit(levels.else_level())).cast(pl.Int8)


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
    return comparison(
        NameLevel,
        {
            NameLevel.NULL: pl.col("r_name_canon").is_null() | pl.col("p_name_canon").is_null(),
            NameLevel.EXACT: pl.col("r_name_canon") == pl.col("p_name_canon"),
            NameLevel.EXACT_WITHOUT_DIACRITICS: (pl.col("r_name_key") == pl.col("p_name_key"))
            & ~pl.col("r_name_has_diacritics"),
            NameLevel.TYPO: (pl.col("name_distance") <= typo_max_edits) & (similarity >= typo_min_similarity),
            NameLevel.MIDDLE_NAME_MISSING: (pl.col("r_family_key") == pl.col("p_family_key"))
            & (pl.col("r_given_key") == pl.col("p_given_key"))
            & (pl.col("r_name_token_count") != pl.col("p_name_token_count"))
            & middle_omitted,
        },
    )


def _digits_differing(widths: Mapping[str, int]) -> pl.Expr:
    """How many decimal digits of the two birth dates differ (Hamming distance on yyyymmdd), part by part: the
    parts are Int32, and dividing them is ~3x cheaper than dividing one Int64 yyyymmdd (millions of pairs)."""
    return pl.sum_horizontal(
        [
            ((pl.col(f"r_birth_{part}") // 10**k) % 10 != (pl.col(f"p_birth_{part}") // 10**k) % 10).cast(pl.Int32)
            for part, width in widths.items()
            for k in range(width)
        ]
    )


def dob_level() -> pl.Expr:
    """Date-of-birth level, most specific explanation first (`DobLevel`'s order): a 01/01 placeholder
    or a year off by one is also often 'one digit off', but those are the likelier recording errors."""
    ry, rm, rd = (pl.col(f"r_birth_{p}") for p in ("year", "month", "day"))
    py, pm, pd = (pl.col(f"p_birth_{p}") for p in ("year", "month", "day"))
    r_full = rm.is_not_null() & rd.is_not_null()
    p_full = pm.is_not_null() & pd.is_not_null()
    both_full = r_full & p_full
    same_year = ry == py
    return comparison(
        DobLevel,
        {
            DobLevel.NULL: ry.is_null() | py.is_null(),
            DobLevel.EXACT: (both_full & same_year & (rm == pm) & (rd == pd)) | (~r_full & ~p_full & same_year),
            DobLevel.YEAR_ONLY_AGREES: (r_full != p_full) & same_year,
            DobLevel.PLACEHOLDER_0101: both_full & same_year & (rm == 1) & (rd == 1),
            DobLevel.DAY_MONTH_SWAPPED: both_full & same_year & (rm == pd) & (rd == pm),
            DobLevel.YEAR_OFF_BY_ONE: ((ry - py).abs() == 1) & ((both_full & (rm == pm) & (rd == pd)) | ~both_full),
            DobLevel.ONE_DIGIT_OFF: both_full & (_digits_differing({"year": 4, "month": 2, "day": 2}) == 1),
            DobLevel.YEAR_DIFFERS: both_full & (rm == pm) & (rd == pd),
        },
    )


def gender_level() -> pl.Expr:
    """Gender level: agree / disagree / null."""
    return comparison(
        GenderLevel,
        {
            GenderLevel.NULL: pl.col("r_gender").is_null() | pl.col("p_gender").is_null(),
            GenderLevel.AGREE: pl.col("r_gender") == pl.col("p_gender"),
        },
    )


def residence_level() -> pl.Expr:
    """Residence level: most people were vaccinated in their home province, namesakes mostly live elsewhere."""
    return comparison(
        ResidenceLevel,
        {
            ResidenceLevel.NULL: pl.col("r_province_code").is_null() | pl.col("p_province_code").is_null(),
            ResidenceLevel.SAME_PROVINCE: pl.col("r_province_code") == pl.col("p_province_code"),
        },
    )


def address_level() -> pl.Expr:
    """Address level: the place a person writes is usually where they are registered; a namesake rarely shares it."""
    return comparison(
        AddressLevel,
        {
            AddressLevel.NULL: pl.col("r_commune_key").is_null() | pl.col("p_commune_key").is_null(),
            AddressLevel.SAME_COMMUNE: pl.col("r_commune_key") == pl.col("p_commune_key"),
            AddressLevel.SAME_DISTRICT: pl.col("r_district_key") == pl.col("p_district_key"),
        },
    )


def id_comparand() -> pl.Expr:
    """The registry value the record's ID is compared with: person_id for a CCCD, old_id for a CMND."""
    return pl.when(pl.col("r_id_kind") == "cccd").then(pl.col("p_person_id")).otherwise(pl.col("p_old_id"))


def id_level() -> pl.Expr:
    """ID level; needs the pair column `id_distance` (OSA between the record's ID and `id_comparand`)."""
    comparand = id_comparand()
    return comparison(
        IdLevel,
        {
            IdLevel.NULL: pl.col("r_id_number").is_null() | comparand.is_null(),
            IdLevel.EXACT_CCCD: (pl.col("r_id_number") == comparand) & (pl.col("r_id_kind") == "cccd"),
            IdLevel.EXACT_CMND: pl.col("r_id_number") == comparand,
            IdLevel.NEAR_MISS: pl.col("id_distance") == 1,
        },
    )


def id_embedded_level() -> pl.Expr:
    """Record-level check: does the record's CCCD encode the record's own birth year and gender?

    A CCCD whose embedded year contradicts the written DOB is typically a relative's ID.
    Works on record features (no prefix): id_birth_year, id_gender, birth_year, gender.
    """
    year_ok = (pl.col("id_birth_year") == pl.col("birth_year")).fill_null(True)  # a side missing: not a disagreement
    gender_ok = (pl.col("id_gender") == pl.col("gender")).fill_null(True)
    return comparison(
        IdEmbeddedLevel,
        {
            IdEmbeddedLevel.NULL: pl.col("id_birth_year").is_null()
            | (pl.col("birth_year").is_null() & pl.col("gender").is_null()),
            IdEmbeddedLevel.AGREES: year_ok & gender_ok,
            IdEmbeddedLevel.YEAR_DISAGREES: ~year_ok & gender_ok,
            IdEmbeddedLevel.GENDER_DISAGREES: year_ok & ~gender_ok,
        },
    )


ONE_EDIT_GAPS = sorted({m * f * 10**k for m in range(1, 10) for f in (1, 9) for k in range(12)})
"""|a - b| of two equally long digit strings one substitution (m x 10^k) or adjacent swap (9m x 10^k) apart."""


def maybe_one_edit_apart(left: pl.Series, right: pl.Series) -> pl.Series:
    """Could two IDs be one edit apart? Two equally long digit strings can only if their numeric difference is in
    ONE_EDIT_GAPS (necessary, not sufficient: the distance decides): most pairs of different people's IDs are ruled
    out without computing a distance. Other pairs (lengths differ, not digits) are left to the distance."""
    same_length = left.str.len_chars() == right.str.len_chars()
    gap = (left.cast(pl.Int64, strict=False) - right.cast(pl.Int64, strict=False)).abs()
    return pl.select(~same_length | gap.is_null() | gap.is_in(ONE_EDIT_GAPS)).to_series().fill_null(True)


def id_distances(pairs: pl.DataFrame) -> pl.Series:
    """OSA distance (cut at 2) between the record's ID and the person's comparable one (`id_comparand`; needs
    r_id_number, r_id_kind, p_person_id, p_old_id), computed only where they can be one edit apart
    (`maybe_one_edit_apart`): NULL elsewhere and where they are equal, which id_level reads as it reads 2."""
    comparand = pairs.select(id_comparand()).to_series()
    written = pairs["r_id_number"]
    return osa_distance(written, comparand, 1, only=(written != comparand) & maybe_one_edit_apart(written, comparand))


def compare_pairs(pairs: pl.DataFrame, typo_max_edits: int, typo_min_similarity: float) -> pl.DataFrame:
    """Add `name_level`, `dob_level`, `gender_level`, `residence_level`, `id_level` (Int8) to a gathered pair frame.

    The ID distance is computed only where the IDs can be one edit apart (`id_distances`)."""
    r_name, p_name = pairs["r_name_key"], pairs["p_name_key"]
    keys_differ = r_name != p_name
    name_distance = osa_distance(r_name, p_name, typo_max_edits, only=keys_differ)
    id_distance = id_distances(pairs)
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
            address_level=address_level(),
            id_level=id_level(),
        )
        .drop("name_distance", "id_distance")
    )


def level_labels(column: str) -> pl.Expr:
    """Int level column of `LEVEL_COLUMNS` -> its text label, from its enum (NULL stays NULL)."""
    return pl.col(column).replace_strict(LEVEL_COLUMNS[column].labels(), default=None, return_dtype=pl.String)
