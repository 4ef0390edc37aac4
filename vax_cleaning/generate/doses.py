"""Dose schedules: how many doses each vaccinated person got, which vaccines, when and where."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from vax_cleaning.generate import names
from vax_cleaning.generate.people import KIDS_CAMPAIGN_START
from vax_cleaning.reference import CAMPAIGN_START, vaccines

CAMPAIGN_DAY0 = np.datetime64(CAMPAIGN_START, "D")
"""Day 0 of all day offsets in this module."""

PRIMARY_VACCINE_SHARES: dict[str, float] = {
    "AZ": 0.38,
    "PF": 0.25,
    "SP": 0.18,
    "MD": 0.12,
    "AB": 0.03,
    "SV": 0.015,
    "HV": 0.01,
    "JJ": 0.01,
    "CX": 0.005,
}
"""Vaccine of the first dose, adults (AstraZeneca and Sinopharm came first in Vietnam)."""

CHILD_VACCINE_SHARES: dict[str, float] = {"PF": 0.88, "MD": 0.12}
"""Vaccine of the first dose for 12-17 year-olds."""

BOOSTER_VACCINE_SHARES: dict[str, float] = {"PF": 0.50, "MD": 0.35, "AZ": 0.10, "SP": 0.05}
"""Vaccines of booster doses: mostly mRNA, hence many mixed schedules."""

PLANNED_DOSES: dict[int, float] = {1: 0.10, 2: 0.45, 3: 0.37, 4: 0.08}
"""How many doses a person would get if time allowed (later ones cut by `today`)."""

MIXED_SECOND_DOSE_SHARE = 0.04
"""Primary series finished with another vaccine (AZ then Pfizer, in 2021)."""

EXTRA_GAP_DAYS: dict[str, int] = {
    "AZ": 56,
    "PF": 20,
    "MD": 20,
    "SP": 14,
    "SV": 10,
    "AB": 7,
    "HV": 10,
    "JJ": 0,
    "CX": 10,
}
"""Spread beyond min_interval_days between primary doses (AZ's second dose came 4-12 weeks later)."""

BOOSTER_START = date(2021, 11, 20)
FOURTH_DOSE_START = date(2022, 4, 20)
LOT_PREFIX: dict[str, str] = {
    "AZ": "ABV",
    "PF": "FK",
    "MD": "30",
    "SP": "2021",
    "SV": "II",
    "AB": "AB",
    "HV": "HV",
    "JJ": "XD",
    "CX": "CX",
}
"""Lot number prefixes, by vaccine, so lots look like the ones printed on vials."""

MAX_DOSES = 4


def day_offset(day: date) -> int:
    """Days since the campaign start."""
    return int((np.datetime64(day, "D") - CAMPAIGN_DAY0).astype(int))


def draw_codes(rng: np.random.Generator, shares: dict[str, float], n: int, codes: list[str]) -> np.ndarray:
    """Indexes into `codes` drawn with the given shares."""
    keys = list(shares)
    p = np.array([shares[k] for k in keys])
    index = np.array([codes.index(k) for k in keys])
    return index[rng.choice(len(keys), n, p=p / p.sum())]


def first_dose_days(rng: np.random.Generator, child: np.ndarray, today: int) -> np.ndarray:
    """Day of the first dose: a few priority groups early, the mass campaign mid/late 2021."""
    n = len(child)
    band = rng.choice(4, n, p=[0.06, 0.60, 0.24, 0.10])
    low = np.array([0, 120, 240, 330])[band]
    high = np.array([120, 240, 330, today])[band]
    adult = rng.uniform(low, np.maximum(high, low + 1))
    kids_start = day_offset(KIDS_CAMPAIGN_START)
    kids = rng.uniform(kids_start, max(kids_start + 1, min(today, kids_start + 180)), n)
    return np.minimum(np.where(child, kids, adult), today).astype(np.int64)


def vaccine_matrix(
    rng: np.random.Generator, child: np.ndarray, codes: list[str], primary_doses: np.ndarray
) -> np.ndarray:
    """Vaccine (index into codes) of each dose position: primary series, then boosters."""
    n = len(child)
    first = np.where(
        child, draw_codes(rng, CHILD_VACCINE_SHARES, n, codes), draw_codes(rng, PRIMARY_VACCINE_SHARES, n, codes)
    )
    series = primary_doses[first]
    matrix = np.empty((n, MAX_DOSES), dtype=np.int64)
    for k in range(MAX_DOSES):
        booster = draw_codes(rng, BOOSTER_VACCINE_SHARES, n, codes)
        matrix[:, k] = np.where(k < series, first, booster)
    mixed = (series == 2) & (rng.random(n) < MIXED_SECOND_DOSE_SHARE)
    matrix[mixed, 1] = draw_codes(rng, {"PF": 0.7, "MD": 0.3}, int(mixed.sum()), codes)
    return matrix


def dose_days(
    rng: np.random.Generator,
    first: np.ndarray,
    vaccine: np.ndarray,
    primary_doses: np.ndarray,
    min_interval: np.ndarray,
    extra_gap: np.ndarray,
) -> np.ndarray:
    """Day of each dose position, respecting min_interval_days and the booster campaign dates."""
    n = len(first)
    days = np.empty((n, MAX_DOSES), dtype=np.int64)
    days[:, 0] = first
    series = primary_doses[vaccine[:, 0]]
    for k in range(1, MAX_DOSES):
        previous, current = vaccine[:, k - 1], vaccine[:, k]
        minimum = np.maximum(min_interval[previous], min_interval[current])
        primary_gap = minimum + (rng.random(n) * (extra_gap[previous] + 1)).astype(np.int64)
        booster_gap = np.where(k == series, rng.integers(90, 200, n), rng.integers(120, 180, n))
        floor = np.where(k == series, day_offset(BOOSTER_START), day_offset(FOURTH_DOSE_START))
        booster_day = np.maximum(days[:, k - 1] + np.maximum(booster_gap, minimum), floor)
        days[:, k] = np.where(k < series, days[:, k - 1] + primary_gap, booster_day)
    return days


def build_doses(rng: np.random.Generator, vaccinated: pl.DataFrame, today: date) -> pl.DataFrame:
    """One row per dose actually given: person_row, province_code, vaccine_code, dose_number, vaccination_date."""
    table = vaccines()
    codes = table["code"].to_list()
    primary_doses = table["primary_series_doses"].to_numpy().astype(np.int64)
    min_interval = table["min_interval_days"].to_numpy().astype(np.int64)
    extra_gap = np.array([EXTRA_GAP_DAYS.get(c, 10) for c in codes])
    n = len(vaccinated)
    child = vaccinated["dob"].to_numpy() > np.datetime64("2003-10-20", "D")
    today_day = day_offset(today)
    vaccine = vaccine_matrix(rng, child, codes, primary_doses)
    days = dose_days(rng, first_dose_days(rng, child, today_day), vaccine, primary_doses, min_interval, extra_gap)
    planned = np.array(list(PLANNED_DOSES))[rng.choice(len(PLANNED_DOSES), n, p=list(PLANNED_DOSES.values()))]
    given = (np.arange(MAX_DOSES)[None, :] < planned[:, None]) & (days <= today_day)
    person_index, position = np.nonzero(given)
    return pl.DataFrame(
        {
            "person_row": vaccinated["person_row"].to_numpy()[person_index],
            "province_code": vaccinated["vacc_province"].to_numpy()[person_index],
            "vaccine_code": np.array(codes, dtype=object)[vaccine[person_index, position]],
            "dose_number": (position + 1).astype(np.int32),
            "vaccination_date": CAMPAIGN_DAY0 + days[person_index, position].astype("timedelta64[D]"),
        },
        schema_overrides={"province_code": pl.String, "vaccine_code": pl.String},
    )


def site_names(rng: np.random.Generator, province_code: str, n_sites: int) -> list[str]:
    """Plausible vaccination site names for one province (distinct)."""
    urban = province_code in names.URBAN_PROVINCES
    result: list[str] = []
    while len(result) < n_sites:
        pattern = names.SITE_PATTERNS[rng.integers(len(names.SITE_PATTERNS))]
        name = pattern.format(
            commune_kind="Phường" if urban else "Xã",
            district_kind="Quận" if urban else "Huyện",
            commune=names.COMMUNES[rng.integers(len(names.COMMUNES))],
            district=names.DISTRICTS[rng.integers(len(names.DISTRICTS))],
        )
        if name not in result:
            result.append(name)
    return result


def assign_sites(rng: np.random.Generator, doses: pl.DataFrame) -> pl.DataFrame:
    """Add site_no and facility: people go back to their usual site, sometimes elsewhere."""
    site_no = np.zeros(len(doses), dtype=np.int32)
    facility = np.empty(len(doses), dtype=object)
    province = doses["province_code"].to_numpy()
    person = doses["person_row"].to_numpy()
    for code in sorted(set(province.tolist())):
        rows = np.flatnonzero(province == code)
        n_sites = int(np.clip(round(len(rows) / 12_000), 4, 60))
        weights = 1.0 / np.arange(1, n_sites + 1) ** 0.7
        weights /= weights.sum()
        usual_site = rng.choice(n_sites, int(person.max()) + 1, p=weights)[person[rows]]
        other = rng.choice(n_sites, len(rows), p=weights)
        site_no[rows] = np.where(rng.random(len(rows)) < 0.7, usual_site, other) + 1
        facility[rows] = np.array(site_names(rng, code, n_sites), dtype=object)[site_no[rows] - 1]
    return doses.with_columns(site_no=pl.Series(site_no), facility=pl.Series(facility, dtype=pl.String))


def lot_numbers(rng: np.random.Generator, doses: pl.DataFrame, blank_share: float = 0.03) -> pl.Series:
    """Lot number per dose, shared by doses of a vaccine given at a site in the same month."""
    vaccine_index = {code: i for i, code in enumerate(vaccines()["code"])}
    key = (
        doses["site_no"].to_numpy().astype(np.int64) * 37
        + doses["vaccination_date"].dt.month().to_numpy().astype(np.int64) * 101
        + doses["province_code"].cast(pl.Int64).to_numpy() * 7
        + doses["vaccine_code"].replace_strict(vaccine_index, return_dtype=pl.Int64).to_numpy() * 1009
    )
    number = pl.Series((key * 2654435761 % 9000 + 1000).astype(np.int64)).cast(pl.String)
    prefix = doses["vaccine_code"].replace_strict(LOT_PREFIX, return_dtype=pl.String)
    blank = pl.Series(rng.random(len(doses)) < blank_share)
    return pl.select(lot_number=pl.when(~blank).then(prefix + number)).to_series()
