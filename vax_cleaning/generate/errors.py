"""Identity errors in accepted dose records: the name, birth-date and ID mistakes the 2022 clean-up met."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import polars as pl

from vax_cleaning.generate.text import (
    by_vocabulary,
    flip_tone_style,
    has_diacritics,
    strip_diacritics,
    tone_style_ambiguous,
)

IDENTITY_ERROR_RATES: dict[str, float] = {
    # name
    "no_diacritics": 0.022,  # whole name in ASCII, Đ -> D
    "partial_diacritics": 0.006,  # one word of the name without diacritics
    "tone_placement": 0.006,  # 'Hòa' <-> 'Hoà', 'Thủy' <-> 'Thuỷ' (formatting only)
    "case_spacing": 0.012,  # UPPER/lower case, doubled or outer spaces (formatting only)
    "name_typo": 0.008,  # one character substituted, deleted or doubled
    "missing_middle_name": 0.004,
    # date of birth
    "day_month_swap": 0.004,  # only where day <= 12
    "wrong_birth_year": 0.005,  # off by 1..10 years
    "placeholder_dob": 0.004,  # 01/01 with the right year
    "year_only_dob": 0.004,  # the year alone
    # ID number
    "id_digit_typo": 0.006,
    "id_transposition": 0.004,  # two adjacent digits swapped
    "id_punctuation": 0.003,  # '079 123 456 789', '079.123.456.789' (formatting only)
    "old_id_instead": 0.006,  # the person's 9-digit CMND instead of the CCCD
    "lost_leading_zero": 0.004,  # leading zeros dropped as Excel does (11 digits; 10 for 00x IDs); numeric-ID xlsx files add ~1%
    "scientific_notation": 0.003,  # '7.91235E+10' in csv (digits lost)
    "blank_id": 0.009,
    "relative_id": 0.003,  # a household member's CCCD with the record's own name and birth date
    # person
    "not_in_registry": 0.010,  # share of vaccinated people absent from the registry (all their records)
}
"""Share of accepted original records carrying each identity error kind (ground truth `error_kinds`).

About 12.5% of accepted originals carry at least one kind; COMBINED_ERROR_SHARE of each kind's
records carry it as a second kind of another field. Duplicates copy their original's kinds (plus
`case_spacing` when re-typed in capitals)."""

ERROR_FIELD: dict[str, str] = {
    "no_diacritics": "name",
    "partial_diacritics": "name",
    "tone_placement": "name",
    "case_spacing": "name",
    "name_typo": "name",
    "missing_middle_name": "name",
    "day_month_swap": "dob",
    "wrong_birth_year": "dob",
    "placeholder_dob": "dob",
    "year_only_dob": "dob",
    "id_digit_typo": "id",
    "id_transposition": "id",
    "id_punctuation": "id",
    "old_id_instead": "id",
    "lost_leading_zero": "id",
    "scientific_notation": "id",
    "blank_id": "id",
    "relative_id": "id",
    "not_in_registry": "person",
}
"""The field each kind damages; a record never gets two kinds of the same field."""

COMBINED_ERROR_SHARE = 0.08
"""Share of erroneous records that carry a second error kind (of another field)."""

RECORD_KINDS = tuple(k for k in IDENTITY_ERROR_RATES if ERROR_FIELD[k] != "person")
"""Kinds drawn per record (not_in_registry is a property of the person)."""

TYPO_LETTERS = np.array(list("aăâeêioôơuưynhtcgml"), dtype=object)


def eligibility(records: pl.DataFrame) -> dict[str, np.ndarray]:
    """Which records each error kind can apply to (a swap needs day <= 12, a CMND must exist...)."""
    month, day = pl.col("birth_month"), pl.col("birth_day")
    full_dob = month.is_not_null()
    has_card = pl.col("id_text").is_not_null() & (pl.col("id_text").str.len_chars() == 12)
    parts = ("family", "middle", "given")
    accented = {c: pl.lit(by_vocabulary(records[c], has_diacritics)) for c in parts}
    ambiguous = {c: pl.lit(by_vocabulary(records[c], tone_style_ambiguous)) for c in ("middle", "given")}
    n_accented = pl.sum_horizontal(v.cast(pl.Int32) for v in accented.values())
    exprs = {
        "no_diacritics": n_accented >= 1,
        "partial_diacritics": n_accented >= 2,
        "tone_placement": ambiguous["middle"] | ambiguous["given"],
        "case_spacing": pl.lit(True),
        "name_typo": pl.col("given").str.len_chars() >= 2,
        "missing_middle_name": pl.col("middle") != "",
        "day_month_swap": full_dob & (day <= 12) & (day != month),
        "wrong_birth_year": pl.lit(True),
        "placeholder_dob": ~(full_dob & (month == 1) & (day == 1)),
        "year_only_dob": full_dob,
        "id_digit_typo": has_card,
        "id_transposition": has_card,
        "id_punctuation": has_card,
        "old_id_instead": pl.col("old_id").is_not_null(),
        "lost_leading_zero": has_card & pl.col("id_text").str.starts_with("0") & ~pl.col("ids_as_numbers"),
        "scientific_notation": has_card & (pl.col("fmt") == "csv"),
        "blank_id": has_card,
        "relative_id": pl.col("relative_person_id").is_not_null(),
    }
    table = records.select(**{k: (v & pl.col("in_registry")).fill_null(False) for k, v in exprs.items()})
    return {k: table[k].to_numpy() for k in table.columns}


def stochastic_round(rng: np.random.Generator, value: float) -> int:
    """Round so that the expected value is exact (small runs still see rare kinds)."""
    return int(np.floor(value) + (rng.random() < value - np.floor(value)))


def pick(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    """count distinct indices from pool, uniformly."""
    count = min(count, len(pool))
    if count == 0:
        return pool[:0]
    return pool[np.argpartition(rng.random(len(pool)), count - 1)[:count]]


def choose_error_kinds(
    rng: np.random.Generator,
    eligible: dict[str, np.ndarray],
    rates: Mapping[str, float],
    combined_share: float = COMBINED_ERROR_SHARE,
) -> dict[str, np.ndarray]:
    """Per kind, a mask of the records that get it: exact shares, scarce kinds served first."""
    n = len(next(iter(eligible.values())))
    kinds = [k for k in RECORD_KINDS if rates.get(k, 0) > 0]
    fields = sorted({ERROR_FIELD[k] for k in kinds})
    field_of = {k: fields.index(ERROR_FIELD[k]) for k in kinds}
    order = sorted(kinds, key=lambda k: -rates[k] / max(1, int(eligible[k].sum())))
    primary = np.full(n, -1)
    chosen = {k: np.zeros(n, dtype=bool) for k in kinds}
    for kind in order:
        count = stochastic_round(rng, rates[kind] * n * (1 - combined_share))  # the rest comes as second kinds
        picked = pick(rng, np.flatnonzero(eligible[kind] & (primary < 0)), count)
        chosen[kind][picked] = True
        primary[picked] = field_of[kind]
    second = np.zeros(n, dtype=bool)
    for kind in order:
        pool = np.flatnonzero(eligible[kind] & (primary >= 0) & (primary != field_of[kind]) & ~second)
        picked = pick(rng, pool, stochastic_round(rng, rates[kind] * n * combined_share))
        chosen[kind][picked] = True
        second[picked] = True
    return chosen


def patch(frame: pl.DataFrame, mask: np.ndarray, compute: Callable[[pl.DataFrame], dict[str, pl.Expr]]) -> pl.DataFrame:
    """Recompute some columns on the masked rows only (errors touch ~1% of rows each)."""
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return frame
    sub = frame[rows]
    new = sub.select(**compute(sub))
    return frame.with_columns(frame[c].clone().scatter(rows, new[c].cast(frame[c].dtype)) for c in new.columns)


def typo(text: pl.Expr, position: pl.Expr, letter: pl.Expr, operation: pl.Expr) -> pl.Expr:
    """One-character typo at `position`: 0 substitute, 1 delete, 2 double the letter."""
    head, char, tail = text.str.slice(0, position), text.str.slice(position, 1), text.str.slice(position + 1)
    doubled = head + char + char + tail
    result = (
        pl.when(operation == 0)
        .then(head + letter + tail)
        .when((operation == 1) & (text.str.len_chars() >= 3))
        .then(head + tail)
        .otherwise(doubled)
    )
    return pl.when(result == text).then(doubled).otherwise(result)


def name_typo(rng: np.random.Generator) -> Callable[[pl.DataFrame], dict[str, pl.Expr]]:
    """Typo in the given name (mostly) or the family name."""

    def compute(sub: pl.DataFrame) -> dict[str, pl.Expr]:
        k = len(sub)
        in_given = pl.lit(pl.Series(rng.random(k) < 0.7))
        target = pl.when(in_given).then(pl.col("given")).otherwise(pl.col("family"))
        length = target.str.len_chars()
        position = (1 + (pl.lit(pl.Series(rng.random(k))) * (length - 1)).floor()).cast(pl.Int64)
        letter = pl.lit(pl.Series(TYPO_LETTERS[rng.integers(0, len(TYPO_LETTERS), k)], dtype=pl.String))
        changed = typo(target, position, letter, pl.lit(pl.Series(rng.integers(0, 3, k))))
        return {
            "given": pl.when(in_given).then(changed).otherwise("given"),
            "family": pl.when(in_given).then("family").otherwise(changed),
        }

    return compute


def partial_diacritics(rng: np.random.Generator) -> Callable[[pl.DataFrame], dict[str, pl.Expr]]:
    """Strip the diacritics of one (accented) word group of the name, keep the others."""
    parts = ("family", "middle", "given")

    def compute(sub: pl.DataFrame) -> dict[str, pl.Expr]:
        accented = sub.select(has_diacritics(pl.col(c)) for c in parts).to_numpy()
        target = np.argmax(accented * rng.random(accented.shape), axis=1)
        which = pl.lit(pl.Series(target))
        return {c: pl.when(which == i).then(strip_diacritics(pl.col(c))).otherwise(c) for i, c in enumerate(parts)}

    return compute


def case_spacing(rng: np.random.Generator) -> Callable[[pl.DataFrame], dict[str, pl.Expr]]:
    """UPPER case (most common), lower case, doubled inner spaces or outer spaces."""

    def compute(sub: pl.DataFrame) -> dict[str, pl.Expr]:
        variant = pl.lit(pl.Series(rng.choice(4, len(sub), p=[0.45, 0.15, 0.2, 0.2])))
        name = pl.col("full_name")
        return {
            "full_name": pl.when(variant == 0)
            .then(name.str.to_uppercase())
            .when(variant == 1)
            .then(name.str.to_lowercase())
            .when(variant == 2)
            .then(name.str.replace_all(" ", "  ", literal=True))
            .otherwise(pl.lit(" ") + name + pl.lit("  "))
        }

    return compute


def apply_name_errors(rng: np.random.Generator, records: pl.DataFrame, chosen: dict[str, np.ndarray]) -> pl.DataFrame:
    """Damage the name parts, assemble full_name, then apply case/spacing noise."""
    strip_all = lambda sub: {c: strip_diacritics(pl.col(c)) for c in ("family", "middle", "given")}  # noqa: E731
    records = patch(records, chosen["no_diacritics"], strip_all)
    records = patch(records, chosen["partial_diacritics"], partial_diacritics(rng))
    records = patch(
        records,
        chosen["tone_placement"],
        lambda sub: {"middle": flip_tone_style(pl.col("middle")), "given": flip_tone_style(pl.col("given"))},
    )
    records = patch(records, chosen["name_typo"], name_typo(rng))
    records = patch(records, chosen["missing_middle_name"], lambda sub: {"middle": pl.lit("")})
    records = records.with_columns(full_name=assemble_name())
    return patch(records, chosen["case_spacing"], case_spacing(rng))


def assemble_name() -> pl.Expr:
    """'family middle given', without a double space when there is no middle name."""
    return pl.concat_str(["family", "middle", "given"], separator=" ").str.replace_all("  ", " ", literal=True)


def wrong_year(rng: np.random.Generator) -> Callable[[pl.DataFrame], dict[str, pl.Expr]]:
    """Birth year off by 1..10 (down if up would be in the future); 29 Feb becomes 28 Feb."""

    def compute(sub: pl.DataFrame) -> dict[str, pl.Expr]:
        k = len(sub)
        delta = pl.lit(pl.Series(rng.integers(1, 11, k) * rng.choice([-1, 1], k)))
        year = pl.col("birth_year") + delta
        year = pl.when(year > 2010).then(pl.col("birth_year") - delta.abs()).otherwise(year)
        leap_day = (pl.col("birth_month") == 2) & (pl.col("birth_day") == 29)
        return {"birth_year": year, "birth_day": pl.when(leap_day).then(28).otherwise("birth_day")}

    return compute


def apply_dob_errors(rng: np.random.Generator, records: pl.DataFrame, chosen: dict[str, np.ndarray]) -> pl.DataFrame:
    """Damage the written birth date."""
    records = patch(
        records,
        chosen["day_month_swap"],
        lambda sub: {"birth_month": pl.col("birth_day"), "birth_day": pl.col("birth_month")},
    )
    records = patch(records, chosen["wrong_birth_year"], wrong_year(rng))
    records = patch(records, chosen["placeholder_dob"], lambda sub: {"birth_month": pl.lit(1), "birth_day": pl.lit(1)})
    return patch(
        records,
        chosen["year_only_dob"],
        lambda sub: {"birth_month": pl.lit(None, pl.Int32), "birth_day": pl.lit(None, pl.Int32)},
    )


def digit_matrix(ids: pl.Series) -> np.ndarray:
    """12-digit strings -> (n, 12) uint8 digits."""
    return np.frombuffer("".join(ids.to_list()).encode("ascii"), dtype=np.uint8).reshape(-1, 12) - 48


def from_digits(digits: np.ndarray) -> pl.Series:
    """(n, 12) digits -> 12-digit strings."""
    return pl.Series((digits + 48).astype(np.uint8).view("S12").ravel()).cast(pl.String)


def digit_typo(rng: np.random.Generator) -> Callable[[pl.DataFrame], dict[str, pl.Expr]]:
    """One digit of the ID replaced by another."""

    def compute(sub: pl.DataFrame) -> dict[str, pl.Expr]:
        digits = digit_matrix(sub["id_text"])
        rows, position = np.arange(len(sub)), rng.integers(0, 12, len(sub))
        digits[rows, position] = (digits[rows, position] + rng.integers(1, 10, len(sub))) % 10
        return {"id_text": pl.lit(from_digits(digits))}

    return compute


def transposition(rng: np.random.Generator) -> Callable[[pl.DataFrame], dict[str, pl.Expr]]:
    """Two adjacent, different digits of the ID swapped."""

    def compute(sub: pl.DataFrame) -> dict[str, pl.Expr]:
        digits = digit_matrix(sub["id_text"])
        differs = digits[:, :-1] != digits[:, 1:]
        position = np.argmax(differs * rng.random(differs.shape), axis=1)
        rows = np.arange(len(sub))
        left = digits[rows, position].copy()
        digits[rows, position] = digits[rows, position + 1]
        digits[rows, position + 1] = left
        return {"id_text": pl.lit(from_digits(digits))}

    return compute


def punctuation(rng: np.random.Generator) -> Callable[[pl.DataFrame], dict[str, pl.Expr]]:
    """'079 123 456 789' or '079.123.456.789'."""

    def compute(sub: pl.DataFrame) -> dict[str, pl.Expr]:
        separator = pl.lit(pl.Series(np.where(rng.random(len(sub)) < 0.6, " ", "."), dtype=pl.String))
        text = pl.col("id_text")
        groups = [text.str.slice(i, 3) for i in (0, 3, 6, 9)]
        return {"id_text": pl.concat_str([groups[0], separator, groups[1], separator, groups[2], separator, groups[3]])}

    return compute


def scientific(sub: pl.DataFrame) -> dict[str, pl.Expr]:
    """What Excel shows for a long number in General format: '7.91235E+10'."""
    value = sub["id_text"].cast(pl.Int64).cast(pl.Float64).to_numpy()
    exponent = np.floor(np.log10(value)).astype(np.int64)
    mantissa = np.round(value / 10.0**exponent, 5)
    carry = mantissa >= 10
    mantissa, exponent = np.where(carry, mantissa / 10, mantissa), exponent + carry
    text = pl.Series(mantissa).cast(pl.String).str.replace(r"\.0$", "")
    return {"id_text": pl.lit(text) + pl.lit("E+") + pl.lit(pl.Series(exponent)).cast(pl.String).str.zfill(2)}


def apply_id_errors(rng: np.random.Generator, records: pl.DataFrame, chosen: dict[str, np.ndarray]) -> pl.DataFrame:
    """Damage the written ID number."""
    records = patch(records, chosen["id_digit_typo"], digit_typo(rng))
    records = patch(records, chosen["id_transposition"], transposition(rng))
    records = patch(records, chosen["id_punctuation"], punctuation(rng))
    records = patch(records, chosen["old_id_instead"], lambda sub: {"id_text": pl.col("old_id")})
    records = patch(
        records, chosen["lost_leading_zero"], lambda sub: {"id_text": pl.col("id_text").str.strip_chars_start("0")}
    )
    records = patch(records, chosen["scientific_notation"], scientific)
    records = patch(records, chosen["blank_id"], lambda sub: {"id_text": pl.lit(None, pl.String)})
    return patch(records, chosen["relative_id"], lambda sub: {"id_text": pl.col("relative_person_id")})


def inject_identity_errors(
    rng: np.random.Generator,
    records: pl.DataFrame,
    rates: Mapping[str, float] = IDENTITY_ERROR_RATES,
    combined_share: float = COMBINED_ERROR_SHARE,
) -> pl.DataFrame:
    """Apply identity errors to accepted records; adds full_name and the `error_kinds` list."""
    chosen = choose_error_kinds(rng, eligibility(records), rates, combined_share)
    for kind in RECORD_KINDS:
        chosen.setdefault(kind, np.zeros(len(records), dtype=bool))
    records = apply_name_errors(rng, records, chosen)
    records = apply_dob_errors(rng, records, chosen)
    records = apply_id_errors(rng, records, chosen)
    chosen["not_in_registry"] = ~records["in_registry"].to_numpy()
    return records.with_columns(error_kinds=kinds_lists(chosen))


def kinds_lists(chosen: dict[str, np.ndarray]) -> pl.Series:
    """Per record, the list of its error kinds (built once per distinct combination, then joined)."""
    kinds = list(chosen)
    bits = np.zeros(len(chosen[kinds[0]]), dtype=np.int64)
    for position, kind in enumerate(kinds):
        bits |= chosen[kind].astype(np.int64) << position
    combinations = np.unique(bits)
    lookup = pl.DataFrame(
        {
            "bits": combinations,
            "error_kinds": [[k for i, k in enumerate(kinds) if c >> i & 1] for c in combinations.tolist()],
        },
        schema={"bits": pl.Int64, "error_kinds": pl.List(pl.String)},
    )
    return pl.DataFrame({"bits": bits}).join(lookup, on="bits", how="left", maintain_order="left")["error_kinds"]
