"""The field mix: errors as the 2022 clean-up met them, harder than the standard mix.

The standard mix draws each error per record and rarely two in one record. The field differs
(measured on an independent Vietnamese test set, issue #12): a site typed a person's profile wrong
once and every dose of that person at that site repeats it; records carry two errors more often;
twins, namesakes in other communes and provinces, relatives' and other real people's IDs are common;
people missing from the registry write a relative's ID. `FIELD_RATES` and `FIELD_POPULATION` are
the knobs; `repeat_profile_errors` and `other_person_ids` add the person-level kinds.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from vax_cleaning.generate.errors import (
    IDENTITY_ERROR_RATES,
    apply_dob_errors,
    apply_name_errors,
    patch,
    pick,
    stochastic_round,
)

MIXES = ("standard", "field")
"""`vax-cleaning generate --mix`: the project's original error model, or the harder field mix."""

FIELD_RATES: dict[str, float] = {
    **IDENTITY_ERROR_RATES,
    "blank_id": 0.020,
    "scientific_notation": 0.008,
    "relative_id": 0.010,
    "wrong_birth_year": 0.010,
    "name_typo": 0.012,
    "missing_middle_name": 0.008,
    "partial_diacritics": 0.010,
    "placeholder_dob": 0.008,
    "id_digit_typo": 0.010,
}
"""Per-record error rates of the field mix (the standard kinds, more often)."""

FIELD_COMBINED_SHARE = 0.30
"""Share of erroneous records with a second error of another field (standard mix: 0.08)."""

FIELD_POPULATION = {"twin_share": 0.15, "collision_share": 0.04, "absent_relative_id_share": 0.3}
"""Population knobs of the field mix: more twins, more registry namesakes, absent people using a relative's ID."""

PROFILE_ERROR_SHARE = 0.06
"""People whose profile a site typed wrong once: every record of theirs at that site repeats the error."""

PROFILE_KINDS = (
    "name_typo",
    "missing_middle_name",
    "no_diacritics",
    "wrong_birth_year",
    "placeholder_dob",
    "day_month_swap",
)
"""The errors a mistyped profile carries."""

OTHER_PERSON_ID_RATE = 0.004
"""Records carrying another real registry person's CCCD (a typo that hit a real person's number)."""

_PROFILE_COLUMNS = ("family", "middle", "given", "birth_year", "birth_month", "birth_day")


def repeat_profile_errors(rng: np.random.Generator, records: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """Damage one record per chosen (person, site) and copy its identity to the person's other records there.

    Returns the records and, per record, the profile error kind it carries ('' for none).
    """
    registered = records.filter("in_registry")
    people = registered["person_key"].unique(maintain_order=True).to_numpy()
    chosen_people = pick(rng, np.arange(len(people)), stochastic_round(rng, PROFILE_ERROR_SHARE * len(people)))
    kind_of_person = dict(zip(people[chosen_people], rng.choice(PROFILE_KINDS, len(chosen_people)), strict=True))
    site_of_person = (
        records.filter(pl.col("person_key").is_in(list(kind_of_person)))
        .group_by("person_key")
        .agg(pl.col("site_no").first())
    )
    keys = pl.DataFrame({"person_key": list(kind_of_person), "profile_kind": list(kind_of_person.values())})
    at_site = (
        records.select("person_key", "site_no")
        .with_row_index("row")
        .join(site_of_person, on=["person_key", "site_no"], how="inner")
        .join(keys, on="person_key", how="inner")
    )
    eligible = _eligible_for(records, at_site)
    at_site = at_site.filter(pl.Series(eligible[at_site["row"].to_numpy()]))
    first = at_site.group_by("person_key", maintain_order=True).agg(pl.col("row").min(), pl.col("profile_kind").first())
    chosen = {kind: np.zeros(len(records), dtype=bool) for kind in (*IDENTITY_ERROR_RATES, *PROFILE_KINDS)}
    for row, kind in first.select("row", "profile_kind").iter_rows():
        chosen[kind][row] = True
    damaged = apply_dob_errors(rng, apply_name_errors(rng, records, chosen), chosen)
    source = damaged[first["row"].to_numpy()].select("person_key", *_PROFILE_COLUMNS)
    rows = at_site.join(first.select("person_key"), on="person_key").sort("row")
    copied = rows.join(source, on="person_key", how="left").sort("row")
    for column in _PROFILE_COLUMNS:
        values = records[column].clone().scatter(copied["row"].to_numpy(), copied[column].cast(records[column].dtype))
        records = records.with_columns(values.alias(column))
    kinds = np.full(len(records), "", dtype=object)
    kinds[copied["row"].to_numpy()] = copied.join(keys, on="person_key", how="left")["profile_kind"].to_numpy()
    return records, kinds


def _eligible_for(records: pl.DataFrame, at_site: pl.DataFrame) -> np.ndarray:
    """Per record, whether its person's profile kind can apply (a swap needs day <= 12 and day != month, ...)."""
    month, day = records["birth_month"].to_numpy(), records["birth_day"].to_numpy()
    full = ~records["birth_month"].is_null().to_numpy()
    ok = np.ones(len(records), dtype=bool)
    kind = np.full(len(records), "", dtype=object)
    kind[at_site["row"].to_numpy()] = at_site["profile_kind"].to_numpy()
    swap = kind == "day_month_swap"
    ok[swap] = full[swap] & (np.nan_to_num(day[swap], nan=99) <= 12) & (day[swap] != month[swap])
    middle = kind == "missing_middle_name"
    ok[middle] = records["middle"].to_numpy()[middle] != ""
    placeholder = kind == "placeholder_dob"
    ok[placeholder] = full[placeholder] & ~((month[placeholder] == 1) & (day[placeholder] == 1))
    return ok


def other_person_ids(rng: np.random.Generator, records: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """A few registered people's records carry another registered person's CCCD (never their household's)."""
    candidates = np.flatnonzero(
        (records["in_registry"] & records["id_text"].is_not_null() & (records["id_text"].str.len_chars() == 12))
        .fill_null(False)
        .to_numpy()
    )
    chosen = pick(rng, candidates, stochastic_round(rng, OTHER_PERSON_ID_RATE * len(records)))
    donors = rng.choice(candidates, len(chosen))
    own = records["true_person_id"].to_numpy()
    relative = records["relative_person_id"].to_numpy()
    keep = (own[donors] != own[chosen]) & (relative[chosen] != own[donors])
    chosen, donors = chosen[keep], donors[keep]
    mask = np.zeros(len(records), dtype=bool)
    mask[chosen] = True
    ids = records["true_person_id"].gather(donors)
    records = records.with_columns(records["id_text"].clone().scatter(chosen, ids).alias("id_text"))
    return records, mask


def absent_relative_ids(
    rng: np.random.Generator, records: pl.DataFrame, share: float
) -> tuple[pl.DataFrame, np.ndarray]:
    """People missing from the registry who write a registered relative's CCCD on every record."""
    absent = records.filter(~pl.col("in_registry") & pl.col("relative_person_id").is_not_null())
    people = absent["person_key"].unique(maintain_order=True).to_numpy()
    chosen = set(people[pick(rng, np.arange(len(people)), stochastic_round(rng, share * len(people)))])
    mask = records["person_key"].is_in(list(chosen)).to_numpy() & ~records["in_registry"].to_numpy()
    mask &= records["relative_person_id"].is_not_null().to_numpy()
    return patch(records, mask, lambda sub: {"id_text": pl.col("relative_person_id")}), mask


def with_extra_kinds(records: pl.DataFrame, extra: dict[str, np.ndarray]) -> pl.DataFrame:
    """Append kind names to `error_kinds` where each mask is set (a kind is listed once)."""
    for kind, mask in extra.items():
        add = pl.lit(pl.Series(mask))
        records = records.with_columns(
            error_kinds=pl.when(add & ~pl.col("error_kinds").list.contains(kind))
            .then(pl.col("error_kinds").list.concat(pl.lit([kind])))
            .otherwise("error_kinds")
        )
    return records


ADDRESS_VARIANTS = {"no_diacritics": 0.25, "abbreviated": 0.20, "elsewhere": 0.12}
"""How the field writes the address on a dose record (the rest: as registered, or blank): without
diacritics, with abbreviations ('P.', 'Q.', 'X.', 'H.'), or where the person lives or works (another
household's address of the same vaccination province)."""

_ABBREVIATIONS = (("Phường ", "P."), ("Quận ", "Q."), ("Xã ", "X."), ("Huyện ", "H."), ("Thị trấn ", "TT."))


def vary_addresses(rng: np.random.Generator, records: pl.DataFrame) -> pl.DataFrame:
    """Addresses as written in the field: the registry's text is rarely copied exactly (see ADDRESS_VARIANTS)."""
    from vax_cleaning.generate.text import strip_diacritics

    n = len(records)
    draw = rng.random(n)
    cut = np.cumsum(list(ADDRESS_VARIANTS.values()))
    variant = np.searchsorted(cut, draw, side="right")  # 0 no diacritics, 1 abbreviated, 2 elsewhere, 3 as registered
    abbreviated = pl.col("address")
    for long, short in _ABBREVIATIONS:
        abbreviated = abbreviated.str.replace_all(long, short, literal=True)
    province = records["province_code"].to_numpy()
    elsewhere = records["address"].to_numpy().copy()
    for code in np.unique(province):  # another address of the same province (a few provinces per run)
        rows = np.flatnonzero(province == code)
        elsewhere[rows] = elsewhere[rows][rng.permutation(len(rows))]
    which = pl.lit(pl.Series(variant))
    return records.with_columns(
        address=pl.when(pl.col("address").is_null())
        .then(None)
        .when(which == 0)
        .then(strip_diacritics(pl.col("address")))
        .when(which == 1)
        .then(abbreviated)
        .when(which == 2)
        .then(pl.lit(pl.Series(elsewhere, dtype=pl.String)))
        .otherwise("address")
    )
