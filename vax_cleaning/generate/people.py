"""Synthetic population: households, true identities, CCCD/CMND numbers and the national registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from vax_cleaning.generate import names
from vax_cleaning.generate.text import by_vocabulary, to_main_vowel_style
from vax_cleaning.reference import provinces

HOUSEHOLD_SIZES: dict[int, float] = {1: 0.06, 2: 0.20, 3: 0.25, 4: 0.25, 5: 0.14, 6: 0.10}
"""Share of households by number of members."""

KIDS_CAMPAIGN_START = date(2021, 10, 20)
"""Children 12-17 were vaccinated from late October 2021."""

ELIGIBLE_BORN_BY = np.datetime64("2009-10-20", "D")
"""Born by this day: 12 years old when the children's campaign began."""

ROLE_HEAD, ROLE_SPOUSE, ROLE_CHILD, ROLE_ELDER = 0, 1, 2, 3


@dataclass(frozen=True)
class PopulationParams:
    """Knobs of the population; defaults follow the 2022 clean-up's experience."""

    extra_share: float = 0.20  # people beyond the vaccinated ones (children under 12, unvaccinated), before clones
    absent_share: float = 0.01  # vaccinated people missing from the registry
    absent_blank_id_share: float = 0.4  # of absent people: no ID written at all (else a made-up CCCD)
    old_id_share: float = 0.40  # adults still holding a 9-digit CMND
    year_only_before: int = 1950  # born before this year: registry may hold the year alone
    year_only_share: float = 0.30
    twin_share: float = 0.08  # households with two children having twins
    collision_share: float = 0.015  # extra registry people sharing name+DOB with a vaccinated person
    foreign_home_share: float = 0.10  # households registered in a province outside the request
    cross_province_share: float = 0.08  # vaccinated in another requested province than home
    born_elsewhere_share: float = 0.15  # CCCD birth-province differs from home province
    main_vowel_style_share: float = 0.30  # registry names written 'Hoà' rather than 'Hòa'
    phone_share: float = 0.80


def province_weights(codes: list[str]) -> np.ndarray:
    """Population-proportional probabilities for the given province codes."""
    table = dict(zip(provinces()["code"], provinces()["population_2022_thousands"], strict=True))
    weights = np.array([table[code] for code in codes], dtype=float)
    return weights / weights.sum()


def draw_home_provinces(rng: np.random.Generator, n: int, requested: list[str], foreign_share: float) -> np.ndarray:
    """Home province per household: mostly requested ones, some registered elsewhere."""
    others = [code for code in provinces()["code"] if code not in requested]
    home = np.array(requested, dtype=object)[rng.choice(len(requested), n, p=province_weights(requested))]
    if others:
        foreign = rng.random(n) < foreign_share
        home[foreign] = np.array(others, dtype=object)[
            rng.choice(len(others), int(foreign.sum()), p=province_weights(others))
        ]
    return home


def draw_addresses(rng: np.random.Generator, home: np.ndarray) -> pl.Series:
    """'Xã …, Huyện …' (or 'Phường …, Quận …' in cities) per household."""
    n = len(home)
    city = np.isin(home, list(names.URBAN_PROVINCES))
    urban = rng.random(n) < np.where(city, 0.75, 0.2)
    commune_kind = np.where(urban, "Phường", "Xã")
    district_kind = np.where(urban, np.where(city, "Quận", "Thị xã"), "Huyện")
    communes = np.array(names.COMMUNES, dtype=object)[rng.integers(0, len(names.COMMUNES), n)]
    districts = np.array(names.DISTRICTS, dtype=object)[rng.integers(0, len(names.DISTRICTS), n)]
    frame = pl.DataFrame(
        {"ck": commune_kind, "c": communes, "dk": district_kind, "d": districts},
        schema={"ck": pl.String, "c": pl.String, "dk": pl.String, "d": pl.String},
    )
    return frame.select(address=pl.format("{} {}, {} {}", "ck", "c", "dk", "d"))["address"]


def draw_household_sizes(rng: np.random.Generator, n_people: int) -> np.ndarray:
    """Household sizes adding up to about n_people."""
    sizes_, probabilities = zip(*HOUSEHOLD_SIZES.items(), strict=True)
    mean = float(np.dot(sizes_, probabilities))
    sizes = np.array(sizes_)[rng.choice(len(sizes_), int(n_people / mean * 1.1) + 10, p=probabilities)]
    return sizes[: int(np.searchsorted(np.cumsum(sizes), n_people)) + 1]


def member_layout(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(household index, position in household, role) per person; elders close big households."""
    household = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    position = np.arange(len(household)) - starts[household]
    size = sizes[household]
    role = np.full(len(household), ROLE_CHILD)
    role[position == 0] = ROLE_HEAD
    role[position == 1] = ROLE_SPOUSE
    role[(size >= 5) & (position == size - 1)] = ROLE_ELDER
    return household, position, role


def draw_genders(rng: np.random.Generator, role: np.ndarray, household: np.ndarray) -> np.ndarray:
    """True for male: heads mostly men, spouses the opposite of the head."""
    male = rng.random(len(role)) < 0.5
    head_male = rng.random(household.max() + 1) < 0.8
    male[role == ROLE_HEAD] = head_male[household[role == ROLE_HEAD]]
    male[role == ROLE_SPOUSE] = ~head_male[household[role == ROLE_SPOUSE]]
    male[role == ROLE_ELDER] = rng.random(int((role == ROLE_ELDER).sum())) < 0.4
    return male


def draw_ages(
    rng: np.random.Generator,
    role: np.ndarray,
    household: np.ndarray,
    sizes: np.ndarray,
    male: np.ndarray,
) -> np.ndarray:
    """Age in years (float) at the snapshot, consistent within the household."""
    n_households = len(sizes)
    band = rng.choice(3, n_households, p=[0.45, 0.40, 0.15])
    low, high = np.array([26, 45, 65])[band], np.array([45, 65, 86])[band]
    head_age = np.where(sizes == 1, rng.uniform(18, 92, n_households), rng.uniform(low, high))
    base = head_age[household]
    n = len(role)
    age = base.copy()
    spouse_gap = rng.uniform(0, 7, n)
    head_male = male[np.searchsorted(household, household)]  # first member of each household
    age = np.where(role == ROLE_SPOUSE, base + np.where(head_male, -spouse_gap, spouse_gap), age)
    child = base - rng.uniform(20, 38, n)
    child = np.where(child < 0.5, rng.uniform(0.5, 10, n), child)
    age = np.where(role == ROLE_CHILD, child, age)
    age = np.where(role == ROLE_ELDER, np.minimum(base + rng.uniform(20, 32, n), 99.5), age)
    return np.clip(age, 0.3, 99.5)


def birth_dates(age: np.ndarray, reference: date) -> np.ndarray:
    """Birth date (datetime64[D]) of people of the given age on the reference day."""
    return np.datetime64(reference, "D") - np.round(age * 365.2425).astype("timedelta64[D]")


def make_twins(
    rng: np.random.Generator,
    dob: np.ndarray,
    role: np.ndarray,
    position: np.ndarray,
    household: np.ndarray,
    share: float,
) -> np.ndarray:
    """Mark second children who are twins of the first child (same birth date); returns the mask."""
    first_child = (role == ROLE_CHILD) & (position == 2)
    second_child = (role == ROLE_CHILD) & (position == 3)
    households_with_two = household[second_child]
    twins_households = households_with_two[rng.random(len(households_with_two)) < share]
    twin = second_child & np.isin(household, twins_households)
    sibling = np.flatnonzero(first_child & np.isin(household, twins_households))
    dob[twin] = dob[sibling]
    return twin


def draw_family_names(
    rng: np.random.Generator, role: np.ndarray, household: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """Children carry their father's family name, the head's father the head's; spouses keep their own."""
    family = names.draw(rng, names.FAMILY_NAMES, len(role))
    head = np.searchsorted(household, household)  # index of the household's first member
    head_male = male[head]
    spouse = np.minimum(head + 1, len(role) - 1)
    father_family = np.where(head_male, family[head], family[spouse])
    children = role == ROLE_CHILD
    family[children] = father_family[children]
    grandfather = (role == ROLE_ELDER) & male & head_male
    family[grandfather] = family[head][grandfather]
    return family


def draw_given_names(rng: np.random.Generator, male: np.ndarray, twin: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """Given names by gender; never the same as the last middle word, nor as a twin's."""
    given = names.draw_by_gender(rng, male, names.MALE_GIVEN, names.FEMALE_GIVEN)
    last_middle = last_word(middle)
    twin_index = np.flatnonzero(twin)
    for _ in range(20):
        clash = np.union1d(np.flatnonzero(given == last_middle), twin_index[given[twin_index] == given[twin_index - 1]])
        if len(clash) == 0:
            break
        given[clash] = names.draw_by_gender(rng, male[clash], names.MALE_GIVEN, names.FEMALE_GIVEN)
    return given


def last_word(texts: np.ndarray) -> np.ndarray:
    """Last space-separated word of each text (vectorized through polars)."""
    return pl.Series(texts, dtype=pl.String).str.split(" ").list.last().to_numpy()


def unique_codes(rng: np.random.Generator, prefix: np.ndarray, digits: int) -> np.ndarray:
    """prefix * 10**digits + random suffix, redrawn until every code is unique."""
    scale = 10**digits
    codes = prefix.astype(np.int64) * scale + rng.integers(0, scale, len(prefix))
    for _ in range(100):
        order = np.argsort(codes, kind="stable")
        repeated = np.zeros(len(codes), dtype=bool)
        repeated[order[1:]] = codes[order[1:]] == codes[order[:-1]]
        if not repeated.any():
            return codes
        codes[repeated] = prefix[repeated] * scale + rng.integers(0, scale, int(repeated.sum()))
    raise RuntimeError("could not draw unique identification numbers")


def cccd_numbers(
    rng: np.random.Generator, birth_province: np.ndarray, male: np.ndarray, birth_year: np.ndarray
) -> pl.Series:
    """12-digit CCCD: 0+birth province, gender/century digit, 2-digit year, 6 random digits."""
    century = np.where(birth_year >= 2000, 2, 0) + np.where(male, 0, 1)
    prefix = birth_province.astype(np.int64) * 1000 + century * 100 + birth_year % 100
    codes = unique_codes(rng, prefix, 6)
    return pl.Series(codes).cast(pl.String).str.zfill(12)


def cmnd_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    """Unique 9-digit old ID numbers (CMND), first digit 1-3."""
    codes = unique_codes(rng, rng.integers(1, 4, n), 8)
    return pl.Series(codes).cast(pl.String)


def phone_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    """Vietnamese 10-digit mobile numbers (09x, 03x, 08x, 07x)."""
    second = np.array([9, 3, 8, 7])[rng.choice(4, n, p=[0.45, 0.3, 0.15, 0.1])]
    codes = second.astype(np.int64) * 10**8 + rng.integers(0, 10**8, n)
    return pl.Series(codes).cast(pl.String).str.zfill(10)


def choose_vaccinated(rng: np.random.Generator, dob: np.ndarray, n_vaccinated: int) -> np.ndarray:
    """Pick exactly n_vaccinated people among those old enough (12+ when children's campaign began)."""
    eligible = np.flatnonzero(dob <= ELIGIBLE_BORN_BY)
    if len(eligible) < n_vaccinated:
        raise ValueError("population too small for the requested number of vaccinated persons")
    mask = np.zeros(len(dob), dtype=bool)
    mask[rng.choice(eligible, n_vaccinated, replace=False)] = True
    return mask


def vaccination_provinces(
    rng: np.random.Generator, home: np.ndarray, requested: list[str], cross_share: float
) -> np.ndarray:
    """Where each person got their doses: home if requested (mostly), else a requested province."""
    n = len(home)
    where = np.array(requested, dtype=object)[rng.choice(len(requested), n, p=province_weights(requested))]
    at_home = np.isin(home, requested)
    where[at_home] = home[at_home]
    if len(requested) > 1:
        moved = at_home & (rng.random(n) < cross_share)
        for code in requested:
            others = [c for c in requested if c != code]
            sel = moved & (home == code)
            where[sel] = np.array(others, dtype=object)[
                rng.choice(len(others), int(sel.sum()), p=province_weights(others))
            ]
    return where


def collision_clones(rng: np.random.Generator, people: pl.DataFrame, share: float, n_vaccinated: int) -> pl.DataFrame:
    """Unrelated registry people with the same name, birth date and gender as a vaccinated person."""
    candidates = people.filter(pl.col("vaccinated") & pl.col("in_registry") & ~pl.col("dob_year_only"))
    k = min(len(candidates), round(share * n_vaccinated))
    picked = candidates[np.sort(rng.choice(len(candidates), k, replace=False))]
    all_codes = provinces()["code"].to_list()
    new_home = np.array(all_codes, dtype=object)[rng.choice(len(all_codes), k, p=province_weights(all_codes))]
    same = new_home == picked["home_province"].to_numpy()
    new_home[same] = np.where(picked["home_province"].to_numpy()[same] == "01", "79", "01")
    return picked.with_columns(
        collides_with=pl.col("person_key"),
        home_province=pl.Series(new_home, dtype=pl.String),
        address=draw_addresses(rng, new_home),
        household=pl.lit(-1, pl.Int64),
        role=pl.lit(ROLE_HEAD),
        vaccinated=pl.lit(False),
        vacc_province=pl.lit(None, pl.String),
        twin=pl.lit(False),
    )


def person_keys() -> pl.Expr:
    """Stable key of every generated person ('T0000042'), registered or not: the row number."""
    return pl.format("T{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(7))


def build_population(
    rng: np.random.Generator,
    n_vaccinated: int,
    requested: list[str],
    reference: date,
    params: PopulationParams = PopulationParams(),
) -> pl.DataFrame:
    """Every generated person with true identity, household, IDs, and vaccination/registry status."""
    n_people = int(np.ceil(n_vaccinated * (1 + params.extra_share))) + 20
    for _ in range(10):
        sizes = draw_household_sizes(rng, n_people)
        household, position, role = member_layout(sizes)
        male = draw_genders(rng, role, household)
        dob = birth_dates(draw_ages(rng, role, household, sizes, male), reference)
        eligible = int((dob <= ELIGIBLE_BORN_BY).sum())
        if eligible >= n_vaccinated:
            break
        n_people = int(n_people * 1.1) + 20
    twin = make_twins(rng, dob, role, position, household, params.twin_share)
    birth_year = dob.astype("datetime64[Y]").astype(int) + 1970
    young = birth_year >= 1995
    home = draw_home_provinces(rng, len(sizes), requested, params.foreign_home_share)
    vaccinated = choose_vaccinated(rng, dob, n_vaccinated)
    middle = names.draw_middle_names(rng, male, young)
    n = len(role)
    people = pl.DataFrame(
        {
            "household": household.astype(np.int64),
            "position": position.astype(np.int32),
            "role": role.astype(np.int32),
            "male": male,
            "dob": dob,
            "family": draw_family_names(rng, role, household, male),
            "middle": middle,
            "given": draw_given_names(rng, male, twin, middle),
            "home_province": home[household],
            "twin": twin,
            "vaccinated": vaccinated,
        },
        schema_overrides={"family": pl.String, "middle": pl.String, "given": pl.String, "home_province": pl.String},
    )
    people = people.with_columns(
        address=draw_addresses(rng, home)[household],
        person_key=person_keys(),
        in_registry=~(pl.col("vaccinated") & pl.lit(pl.Series(rng.random(n) < params.absent_share))),
        dob_year_only=pl.Series((birth_year < params.year_only_before) & (rng.random(n) < params.year_only_share)),
        vacc_province=pl.when("vaccinated").then(
            pl.Series(
                vaccination_provinces(rng, home[household], requested, params.cross_province_share),
                dtype=pl.String,
            )
        ),
        collides_with=pl.lit(None, pl.String),
    )
    people = pl.concat([people, collision_clones(rng, people, params.collision_share, n_vaccinated)])
    return finish_identities(rng, people, reference, params)


def finish_identities(
    rng: np.random.Generator, people: pl.DataFrame, reference: date, params: PopulationParams
) -> pl.DataFrame:
    """Add the fields that need the final person list: keys, IDs, phones, relatives, names."""
    n = len(people)
    all_codes = provinces()["code"].to_list()
    home = people["home_province"].to_numpy()
    born_elsewhere = rng.random(n) < params.born_elsewhere_share
    birth_province = np.where(
        born_elsewhere,
        np.array(all_codes, dtype=object)[rng.choice(len(all_codes), n, p=province_weights(all_codes))],
        home,
    )
    twin = np.flatnonzero(people["twin"].to_numpy())
    birth_province[twin] = birth_province[twin - 1]  # twins were born in the same place (sibling row above)
    birth_year = people["dob"].dt.year().to_numpy()
    adult = people["dob"].to_numpy() <= np.datetime64(reference.replace(year=reference.year - 18), "D")
    has_old_id = pl.lit(pl.Series(adult & (rng.random(n) < params.old_id_share)))
    has_phone = pl.lit(pl.Series(rng.random(n) < params.phone_share))
    style = rng.random(n) < params.main_vowel_style_share
    clone = np.flatnonzero(people["collides_with"].is_not_null().to_numpy())
    style[clone] = style[people["collides_with"].gather(clone).str.slice(1).cast(pl.Int64).to_numpy()]
    people = people.with_columns(
        person_key=person_keys(),
        household=pl.when(pl.col("household") >= 0)
        .then("household")
        .otherwise(pl.col("household").max() + pl.int_range(pl.len()) + 1),
        birth_province=pl.Series(birth_province, dtype=pl.String),
        card_id=cccd_numbers(rng, birth_province.astype(np.int64), people["male"].to_numpy(), birth_year),
        old_id=pl.when(has_old_id).then(pl.lit(cmnd_numbers(rng, n))),
        phone=pl.when(has_phone).then(pl.lit(phone_numbers(rng, n))),
        main_vowel_style=pl.Series(style),
        absent_blank_id=pl.lit(pl.Series(rng.random(n) < params.absent_blank_id_share)) & ~pl.col("in_registry"),
    )
    people = people.with_columns(
        household_id=pl.format("H{}", pl.col("household").cast(pl.String).str.zfill(7)),
        middle=pl.when("main_vowel_style")
        .then(by_vocabulary(people["middle"], to_main_vowel_style))
        .otherwise("middle"),
        given=pl.when("main_vowel_style").then(by_vocabulary(people["given"], to_main_vowel_style)).otherwise("given"),
        gender=pl.when("male").then(pl.lit("Nam")).otherwise(pl.lit("Nữ")),
        birth_year=pl.col("dob").dt.year().cast(pl.Int32),
        birth_month=pl.when(~pl.col("dob_year_only")).then(pl.col("dob").dt.month().cast(pl.Int32)),
        birth_day=pl.when(~pl.col("dob_year_only")).then(pl.col("dob").dt.day().cast(pl.Int32)),
    )
    people = people.with_columns(
        full_name=pl.concat_str(["family", "middle", "given"], separator=" ").str.replace_all("  ", " ", literal=True),
        person_id=pl.when("in_registry").then("card_id"),
        date_of_birth=pl.when("dob_year_only")
        .then(pl.col("birth_year").cast(pl.String))
        .otherwise(pl.col("dob").dt.strftime("%Y-%m-%d")),
    )
    return people.with_columns(relative_person_id=relative_ids(people))


def relative_ids(people: pl.DataFrame) -> pl.Series:
    """Registry ID of the next member of the same household (None when alone or not registered)."""
    household = people["household"].to_numpy()
    order = np.argsort(household, kind="stable")
    sorted_household = household[order]
    starts = np.searchsorted(sorted_household, sorted_household, side="left")
    ends = np.searchsorted(sorted_household, sorted_household, side="right")
    rank = np.arange(len(order)) - starts
    size = ends - starts
    next_sorted = starts + (rank + 1) % size
    relative = np.empty(len(order), dtype=np.int64)
    relative[order] = order[next_sorted]
    alone = relative == np.arange(len(order))
    return people["person_id"].gather(relative).scatter(np.flatnonzero(alone), None).alias("relative_person_id")


def registry_frame(people: pl.DataFrame) -> pl.DataFrame:
    """The registry snapshot as the contract defines it (section 2.2), sorted by person_id."""
    return (
        people.filter("in_registry")
        .select(
            "person_id",
            "old_id",
            "full_name",
            "date_of_birth",
            "gender",
            province_code="home_province",
            address="address",
        )
        .sort("person_id")
    )


def persons_truth(people: pl.DataFrame) -> pl.DataFrame:
    """Ground-truth persons: true identity of everyone generated."""
    return people.select(
        "person_id",
        "full_name",
        "date_of_birth",
        "gender",
        true_person_key="person_key",
        province_code="home_province",
        household_id="household_id",
        old_id="old_id",
        birth_province_code="birth_province",
        in_registry="in_registry",
        vaccinated="vaccinated",
        vaccination_province_code="vacc_province",
        twin="twin",
        collides_with="collides_with",
    )
