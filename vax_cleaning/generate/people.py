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
    communes = pl.Series(names.COMMUNES, dtype=pl.String).gather(rng.integers(0, len(names.COMMUNES), n))
    districts = pl.Series(names.DISTRICTS, dtype=pl.String).gather(rng.integers(0, len(names.DISTRICTS), n))
    frame = pl.DataFrame({"urban": urban, "city": city, "c": communes, "d": districts})
    commune_kind = pl.when("urban").then(pl.lit("Phường")).otherwise(pl.lit("Xã"))
    district_kind = pl.when(~pl.col("urban")).then(pl.lit("Huyện")).when("city").then(pl.lit("Quận"))
    return frame.select(
        address=pl.format("{} {}, {} {}", commune_kind, "c", district_kind.otherwise(pl.lit("Thị xã")), "d")
    )["address"]


def draw_household_sizes(rng: np.random.Generator, n_people: int) -> np.ndarray:
    """Household sizes adding up to about n_people."""
    sizes_, probabilities = zip(*HOUSEHOLD_SIZES.items(), strict=True)
    mean = float(np.dot(sizes_, probabilities))
    sizes = np.array(sizes_)[rng.choice(len(sizes_), int(n_people / mean * 1.1) + 10, p=probabilities)]
    return sizes[: int(np.searchsorted(np.cumsum(sizes), n_people)) + 1]


def exact_household_sizes(rng: np.random.Generator, n_people: int) -> np.ndarray:
    """Household sizes adding up to exactly n_people (the last household is cut short), for a registry of given size."""
    sizes = draw_household_sizes(rng, n_people)
    while sizes.sum() < n_people:  # practically never: the draw has a 10% margin
        sizes = np.concatenate([sizes, draw_household_sizes(rng, n_people - int(sizes.sum()))])
    sizes[-1] -= sizes.sum() - n_people
    return sizes


@dataclass(frozen=True)
class Households:
    """Everyone's household, place in it, role, gender and birth date: what every other draw builds on."""

    sizes: np.ndarray
    household: np.ndarray
    position: np.ndarray
    role: np.ndarray
    male: np.ndarray
    dob: np.ndarray


def household_members(rng: np.random.Generator, sizes: np.ndarray, reference: date) -> Households:
    """Members of households of the given sizes, with genders and birth dates consistent within each household."""
    household, position, role = member_layout(sizes)
    male = draw_genders(rng, role, household)
    dob = birth_dates(draw_ages(rng, role, household, sizes, male), reference)
    return Households(sizes, household, position, role, male, dob)


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


def birth_years(dob: np.ndarray) -> np.ndarray:
    """Calendar year of datetime64[D] birth dates."""
    return dob.astype("datetime64[Y]").astype(int) + 1970


def year_only_births(rng: np.random.Generator, birth_year: np.ndarray, params: PopulationParams) -> np.ndarray:
    """Old people whose registry entry holds the birth year alone, as many old paper records did."""
    return (birth_year < params.year_only_before) & (rng.random(len(birth_year)) < params.year_only_share)


def adults(dob: np.ndarray, reference: date) -> np.ndarray:
    """18 or older on the reference day: only adults were issued the old 9-digit CMND."""
    return dob <= np.datetime64(reference.replace(year=reference.year - 18), "D")


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


def draw_names(
    rng: np.random.Generator, members: Households, twin: np.ndarray, young: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(family, middle, given) names: family names passed down the household, middle names by generation."""
    middle = names.draw_middle_names(rng, members.male, young)
    family = draw_family_names(rng, members.role, members.household, members.male)
    return family, middle, draw_given_names(rng, members.male, twin, middle)


def last_word(texts: np.ndarray) -> np.ndarray:
    """Last space-separated word of each text, found once per distinct text (names come from small vocabularies)."""
    series = pl.Series(texts, dtype=pl.String)
    vocabulary = series.unique(maintain_order=True)
    index = series.replace_strict(vocabulary, pl.int_range(len(vocabulary), eager=True), return_dtype=pl.Int64)
    return vocabulary.str.split(" ").list.last().to_numpy()[index.to_numpy()]


def unique_codes(
    rng: np.random.Generator, prefix: np.ndarray, digits: int, used: np.ndarray | None = None
) -> np.ndarray:
    """prefix * 10**digits + random suffix, redrawn until every code is unique and none is in the sorted `used`."""
    scale = 10**digits
    codes = prefix.astype(np.int64) * scale + rng.integers(0, scale, len(prefix))
    for _ in range(100):
        repeated = taken_codes(codes, used)
        if not repeated.any():
            return codes
        codes[repeated] = prefix[repeated] * scale + rng.integers(0, scale, int(repeated.sum()))
    raise RuntimeError("could not draw unique identification numbers")


def taken_codes(codes: np.ndarray, used: np.ndarray | None) -> np.ndarray:
    """Codes repeating an earlier code of the array, or one of the sorted `used` codes (to be redrawn)."""
    order = stable_order(codes)
    ordered = codes[order]
    repeated = np.zeros(len(codes), dtype=bool)
    repeated[order[1:]] = ordered[1:] == ordered[:-1]
    if used is not None and len(used):
        repeated[order] |= in_sorted(ordered, used)  # sorted queries keep the binary searches cache-friendly
    return repeated


def stable_order(codes: np.ndarray) -> np.ndarray:
    """np.argsort(codes, kind="stable"), twice as fast: one unstable sort of (code, row) packed into an int64."""
    shift = len(codes).bit_length()
    if len(codes) == 0 or codes.min() < 0 or int(codes.max()) >= 1 << (62 - shift):
        return np.argsort(codes, kind="stable")
    return np.argsort((codes << shift) | np.arange(len(codes)))


def in_sorted(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Which values occur in the sorted (non-empty) table, without a Python set of 100 M numbers."""
    at = np.minimum(np.searchsorted(table, values), len(table) - 1)
    return table[at] == values


def merge_sorted(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The sorted union of a sorted table and new codes (timsort merges the two runs in linear time)."""
    return np.sort(np.concatenate([table, np.sort(codes)]), kind="stable")


@dataclass
class UsedIds:
    """ID numbers already given out in the snapshot, as sorted int64 arrays: compact enough for 100 M people."""

    cards: np.ndarray  # CCCD
    old_ids: np.ndarray  # CMND

    @classmethod
    def of(cls, people: pl.DataFrame) -> UsedIds:
        """Every CCCD of the population (registered or not: absent people write theirs) and every CMND held."""
        cards = people["card_id"].cast(pl.Int64).to_numpy()
        old_ids = people["old_id"].drop_nulls().cast(pl.Int64).to_numpy()
        return cls(np.sort(cards), np.sort(old_ids))

    def add(self, cards: np.ndarray, old_ids: np.ndarray) -> None:
        """Record newly given numbers, so later draws avoid them."""
        self.cards = merge_sorted(self.cards, cards)
        self.old_ids = merge_sorted(self.old_ids, old_ids)


def cccd_codes(
    rng: np.random.Generator,
    birth_province: np.ndarray,
    male: np.ndarray,
    birth_year: np.ndarray,
    used: np.ndarray | None = None,
) -> np.ndarray:
    """CCCD numbers as integers: birth province, gender/century digit, 2-digit year, 6 random digits."""
    century = np.where(birth_year >= 2000, 2, 0) + np.where(male, 0, 1)
    prefix = birth_province.astype(np.int64) * 1000 + century * 100 + birth_year % 100
    return unique_codes(rng, prefix, 6, used)


def cccd_numbers(
    rng: np.random.Generator, birth_province: np.ndarray, male: np.ndarray, birth_year: np.ndarray
) -> pl.Series:
    """12-digit CCCD: 0+birth province, gender/century digit, 2-digit year, 6 random digits."""
    return cccd_text(cccd_codes(rng, birth_province, male, birth_year))


def cccd_text(codes: np.ndarray) -> pl.Series:
    """CCCD numbers as the 12 digits people write (leading zero kept)."""
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
        members = household_members(rng, draw_household_sizes(rng, n_people), reference)
        eligible = int((members.dob <= ELIGIBLE_BORN_BY).sum())
        if eligible >= n_vaccinated:
            break
        n_people = int(n_people * 1.1) + 20
    household, role, male, dob = members.household, members.role, members.male, members.dob
    twin = make_twins(rng, dob, role, members.position, household, params.twin_share)
    birth_year = birth_years(dob)
    home = draw_home_provinces(rng, len(members.sizes), requested, params.foreign_home_share)
    vaccinated = choose_vaccinated(rng, dob, n_vaccinated)
    family, middle, given = draw_names(rng, members, twin, birth_year >= 1995)
    n = len(role)
    people = pl.DataFrame(
        {
            "household": household.astype(np.int64),
            "position": members.position.astype(np.int32),
            "role": role.astype(np.int32),
            "male": male,
            "dob": dob,
            "family": family,
            "middle": middle,
            "given": given,
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
        dob_year_only=pl.Series(year_only_births(rng, birth_year, params)),
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
    home = people["home_province"].to_numpy()
    birth_province = draw_birth_provinces(rng, home, people["twin"].to_numpy(), params.born_elsewhere_share)
    birth_year = people["dob"].dt.year().to_numpy()
    adult = adults(people["dob"].to_numpy(), reference)
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
        person_id=pl.when("in_registry").then("card_id"),
    )
    people = written_identity(people)
    return people.with_columns(relative_person_id=relative_ids(people))


def draw_birth_provinces(rng: np.random.Generator, home: np.ndarray, twin: np.ndarray, share: float) -> np.ndarray:
    """Province of birth (the CCCD's first digits): mostly home, some born elsewhere; twins share their sibling's."""
    n = len(home)
    all_codes = provinces()["code"].to_list()
    born_elsewhere = rng.random(n) < share
    birth_province = np.where(
        born_elsewhere,
        np.array(all_codes, dtype=object)[rng.choice(len(all_codes), n, p=province_weights(all_codes))],
        home,
    )
    twins = np.flatnonzero(twin)
    birth_province[twins] = birth_province[twins - 1]  # twins were born in the same place (sibling row above)
    return birth_province


def written_identity(people: pl.DataFrame) -> pl.DataFrame:
    """Name, gender and birth date as the registry writes them: some names in the main-vowel style, some years alone."""
    people = people.with_columns(
        middle=pl.when("main_vowel_style")
        .then(by_vocabulary(people["middle"], to_main_vowel_style))
        .otherwise("middle"),
        given=pl.when("main_vowel_style").then(by_vocabulary(people["given"], to_main_vowel_style)).otherwise("given"),
        gender=pl.when("male").then(pl.lit("Nam")).otherwise(pl.lit("Nữ")),
        birth_year=pl.col("dob").dt.year().cast(pl.Int32),
        birth_month=pl.when(~pl.col("dob_year_only")).then(pl.col("dob").dt.month().cast(pl.Int32)),
        birth_day=pl.when(~pl.col("dob_year_only")).then(pl.col("dob").dt.day().cast(pl.Int32)),
    )
    return people.with_columns(
        full_name=pl.concat_str(["family", "middle", "given"], separator=" ").str.replace_all("  ", " ", literal=True),
        date_of_birth=pl.when("dob_year_only")
        .then(pl.col("birth_year").cast(pl.String))
        .otherwise(pl.col("dob").dt.strftime("%Y-%m-%d")),
    )


def registry_people(
    rng: np.random.Generator, n: int, reference: date, params: PopulationParams, used: UsedIds
) -> pl.DataFrame:
    """Registry rows (contract 2.2) of n more people with no dose records, sorted by person_id as the main file."""
    people = with_new_ids(rng, people_without_doses(rng, n, reference, params), reference, params, used)
    people = people.sort("card")  # sorting the integers is faster than sorting the texts
    return registry_columns(written_identity(people.with_columns(person_id=cccd_text(people["card"].to_numpy()))))


def people_without_doses(rng: np.random.Generator, n: int, reference: date, params: PopulationParams) -> pl.DataFrame:
    """n people in households as the population's, with homes all over the country (by population), no vaccination."""
    members = household_members(rng, exact_household_sizes(rng, n), reference)
    twin = make_twins(rng, members.dob, members.role, members.position, members.household, params.twin_share)
    birth_year = birth_years(members.dob)
    home_of_household = draw_home_provinces(rng, len(members.sizes), provinces()["code"].to_list(), 0.0)
    home = home_of_household[members.household]
    family, middle, given = draw_names(rng, members, twin, birth_year >= 1995)
    return pl.DataFrame(
        {
            "male": members.male,
            "dob": members.dob,
            "family": family,
            "middle": middle,
            "given": given,
            "home_province": home,
            "address": draw_addresses(rng, home_of_household)[members.household],
            "dob_year_only": year_only_births(rng, birth_year, params),
            "birth_province": draw_birth_provinces(rng, home, twin, params.born_elsewhere_share).astype(np.int64),
            "main_vowel_style": rng.random(n) < params.main_vowel_style_share,
        },
        schema_overrides={"family": pl.String, "middle": pl.String, "given": pl.String, "home_province": pl.String},
    )


def with_new_ids(
    rng: np.random.Generator, people: pl.DataFrame, reference: date, params: PopulationParams, used: UsedIds
) -> pl.DataFrame:
    """A CCCD (`card`) for everyone and a CMND for some adults, unique over `used`, which then records them."""
    dob = people["dob"].to_numpy()
    has_old_id = adults(dob, reference) & (rng.random(len(people)) < params.old_id_share)
    male, birth_province = people["male"].to_numpy(), people["birth_province"].to_numpy()
    cards = cccd_codes(rng, birth_province, male, birth_years(dob), used.cards)
    old_ids = np.zeros(len(people), dtype=np.int64)
    old_ids[has_old_id] = unique_codes(rng, rng.integers(1, 4, int(has_old_id.sum())), 8, used.old_ids)
    used.add(cards, old_ids[has_old_id])
    return people.with_columns(
        card=pl.Series(cards), old_id=pl.when(pl.Series(has_old_id)).then(pl.Series(old_ids).cast(pl.String))
    )


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
    return registry_columns(people.filter("in_registry")).sort("person_id")


def registry_columns(people: pl.DataFrame) -> pl.DataFrame:
    """The contract's registry columns (section 2.2) of the given people, in their order."""
    return people.select(
        "person_id",
        "old_id",
        "full_name",
        "date_of_birth",
        "gender",
        province_code="home_province",
        address="address",
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
