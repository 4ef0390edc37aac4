"""Garbage rows: records the contract says must be rejected (blank, wrong field count, bad dates...)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from vax_cleaning.generate.errors import pick, stochastic_round
from vax_cleaning.generate.files import deal
from vax_cleaning.generate.records import TRUTH_COLUMNS
from vax_cleaning.reference import CAMPAIGN_START

GARBAGE_RATE = 0.005
"""Garbage rows per accepted original record."""

GARBAGE_KINDS: dict[str, int] = {
    "blank": 4,
    "field_count": 4,
    "vaccination_date_unparseable": 3,
    "vaccination_date_out_of_range": 3,
    "unknown_vaccine": 3,
    "dose_number_out_of_range": 3,
}
"""Relative frequency of each kind; the kind is the ground truth's `expected_rejection`."""

UNPARSEABLE_DATES: tuple[str, ...] = (
    "32/13/2021",
    "không rõ",
    "??/??/2021",
    "",
    "31/02/2021",
    "2021-13-45",
    "15/8",
    "x",
)
UNKNOWN_VACCINES: tuple[str, ...] = ("Không rõ", "Novavax", "Sinovac", "CoronaVac", "Corbevax", "Vắc xin khác", "?")


def out_of_range_dates(rng: np.random.Generator, written: pl.Series, today: date) -> pl.Series:
    """Dates before the campaign, after the run day, or with a mistyped year (2012, 2202)."""
    k = len(written)
    start = date.fromisoformat(CAMPAIGN_START)
    before = np.datetime64(start - timedelta(days=1), "D") - rng.integers(0, 400, k).astype("timedelta64[D]")
    after = np.datetime64(today + timedelta(days=1), "D") + rng.integers(0, 300, k).astype("timedelta64[D]")
    mistyped = written.dt.replace(year=pl.Series(np.where(rng.random(k) < 0.5, 2012, 2202), dtype=pl.Int32))
    choice = rng.choice(3, k, p=[0.4, 0.4, 0.2])
    shifted = pl.Series(np.where(choice == 0, before, after)).cast(pl.Date)
    return pl.select(
        pl.when(pl.lit(pl.Series(choice == 2))).then(pl.lit(mistyped)).otherwise(pl.lit(shifted))
    ).to_series()


def make_garbage(
    rng: np.random.Generator, records: pl.DataFrame, today: date, rate: float = GARBAGE_RATE
) -> pl.DataFrame:
    """Extra rows that must be rejected; each copies a real record of its file and breaks one thing."""
    n = len(records)
    templates = np.sort(pick(rng, np.arange(n), stochastic_round(rng, rate * n)))
    rows = records[templates]
    k = len(rows)
    deck = tuple(kind for kind, weight in GARBAGE_KINDS.items() for _ in range(weight))
    kinds = np.array(deal(rng, deck, k), dtype=object)
    xlsx = rows["fmt"].to_numpy() == "xlsx"
    kinds[xlsx & (kinds == "field_count")] = "dose_number_out_of_range"  # xlsx rows cannot be short or long
    kind = pl.lit(pl.Series(kinds, dtype=pl.String))
    delta = np.where(rng.random(k) < 0.6, -rng.integers(1, 4, k), 1).astype(np.int8)
    bad_dates = pl.Series(
        np.array(UNPARSEABLE_DATES, dtype=object)[rng.integers(0, len(UNPARSEABLE_DATES), k)], dtype=pl.String
    )
    unknown = pl.Series(
        np.array(UNKNOWN_VACCINES, dtype=object)[rng.integers(0, len(UNKNOWN_VACCINES), k)], dtype=pl.String
    )
    return rows.with_columns(
        rec_id=pl.int_range(pl.len(), dtype=pl.Int64) + records["rec_id"].max() + n + 1,  # after any duplicate
        expected_rejection=kind,
        field_delta=pl.when(kind == "field_count").then(pl.lit(pl.Series(delta))).otherwise(pl.lit(0, pl.Int8)),
        vdate_text=pl.when(kind == "vaccination_date_unparseable").then(pl.lit(bad_dates)),
        vdate_written=pl.when(kind == "vaccination_date_out_of_range")
        .then(pl.lit(out_of_range_dates(rng, rows["vdate_written"], today)))
        .otherwise("vdate_written"),
        vaccine_text=pl.when(kind == "unknown_vaccine").then(pl.lit(unknown)).otherwise("vaccine_text"),
        dose_written=pl.when(kind == "dose_number_out_of_range")
        .then(pl.lit(pl.Series(np.where(rng.random(k) < 0.5, 0, 7), dtype=pl.Int32)))
        .otherwise("dose_written"),
        error_kinds=pl.lit([], pl.List(pl.String)),
        duplicate_of=pl.lit(None, pl.Int64),
        **{c: pl.lit(None, records.schema[c]) for c in TRUTH_COLUMNS},
    )
